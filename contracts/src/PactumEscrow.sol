// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {PullPayments} from "./abstract/PullPayments.sol";
import {IPactumEscrow} from "./interfaces/IPactumEscrow.sol";
import {AgreementHashing} from "./libraries/AgreementHashing.sol";
import {SignatureRules} from "./libraries/SignatureRules.sol";
import {SplitMath} from "./libraries/SplitMath.sol";
import {
    Agreement,
    AgreementState,
    Milestone,
    MilestoneStatus,
    Permit,
    Status,
    TerminationKind
} from "./types/DataTypes.sol";

/// @title PactumEscrow
/// @notice Escrow for brand–creator partnership agreements. One immutable deployment holds every
/// agreement; it has no owner, admin, pause or upgrade path, so nobody but an agreement's own
/// parties (and its arbiter, within the rules both signed) can move that agreement's money.
/// @dev Storage keeps one slot per agreement (status, state nonce, funded count, termination data
/// and four bits per milestone) plus one "clock" word per five milestones (submission/revision/
/// dispute time and revision rounds used, 48 bits each), written when a milestone is first
/// submitted. The agreement itself is a commitment: its EIP-712 digest is its id, and every call
/// passes the agreement again, which the contract re-hashes and looks up. Pushed payments that fail
/// are kept for the recipient to withdraw (`PullPayments`).
///
/// Unsupported tokens: fee-on-transfer tokens are refused at funding (the escrow measures what it
/// received); rebasing tokens are not supported (the escrow pays the amounts signed, so a negative
/// rebase leaves the last payouts short and a positive one strands the surplus); tokens with
/// transfer hooks (ERC-777 style) work, but a transfer gets at most `TOKEN_PUSH_GAS`, and one that
/// needs more is deferred to `withdraw` rather than making the payer's call expensive.
contract PactumEscrow is IPactumEscrow, PullPayments, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MAX_MILESTONES = 32;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MAX_FEE_BPS = 2000;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MIN_WINDOW = 1 hours;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MAX_WINDOW = 90 days;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MAX_REVISION_ROUNDS = 10;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MAX_TERM = 5 * 365 days;

    /// @dev Four bits of `MilestoneStatus` per milestone.
    uint256 private constant _NIBBLE = 0xF;

    /// @dev Bit 2 of each of the 32 nibbles of `AgreementState.milestones`.
    uint256 private constant _FINAL_BITS = 0x44444444444444444444444444444444;

    /// @dev A milestone's clock: 40 bits of time, then 8 bits of revision rounds used; five per word.
    uint256 private constant _CLOCK_BITS = 48;
    uint256 private constant _CLOCKS_PER_WORD = 5;
    uint256 private constant _CLOCK_MASK = (1 << 48) - 1;
    uint256 private constant _TIME_MASK = (1 << 40) - 1;

    /// @dev Party codes stored in `AgreementState.terminatedBy`.
    uint8 private constant _BRAND = 1;
    uint8 private constant _CREATOR = 2;

    mapping(bytes32 id => AgreementState) private _states;
    mapping(bytes32 id => mapping(uint256 word => uint256)) private _clocks;

    constructor() EIP712("Pactum", "1") {}

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function hashAgreement(Agreement calldata agreement) external view returns (bytes32) {
        return _id(agreement);
    }

    /// @inheritdoc IPactumEscrow
    function hashSettlement(
        bytes32 id,
        uint256 milestone,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline
    ) external view returns (bytes32) {
        return _hashTypedDataV4(
            AgreementHashing.hashSettlement(id, milestone, creatorAmount, nonce, deadline)
        );
    }

    /// @inheritdoc IPactumEscrow
    function hashMutualTermination(bytes32 id, uint256 creatorAmount, uint32 nonce, uint40 deadline)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(AgreementHashing.hashMutualTermination(id, creatorAmount, nonce, deadline));
    }

    /// @inheritdoc IPactumEscrow
    function getState(bytes32 id) external view returns (AgreementState memory) {
        return _states[id];
    }

    /// @inheritdoc IPactumEscrow
    function getMilestone(bytes32 id, uint256 milestone)
        external
        view
        returns (MilestoneStatus, uint40, uint8)
    {
        if (milestone >= MAX_MILESTONES) return (MilestoneStatus.Open, 0, 0);
        (uint256 since, uint256 revisions) = _clock(id, milestone);
        // Safe: a clock holds 40 bits of time and 8 bits of rounds.
        // forge-lint: disable-next-line(unsafe-typecast)
        return (_statusAt(_states[id].milestones, milestone), uint40(since), uint8(revisions));
    }

    /*//////////////////////////////////////////////////////////////
                           OFFER AND FUNDING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function create(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external nonReentrant returns (bytes32 id) {
        id = _id(agreement);
        _create(agreement, id, brandSignature, creatorSignature);
    }

    /// @inheritdoc IPactumEscrow
    function createAndFund(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature,
        uint256 fundCount
    ) external payable nonReentrant returns (bytes32 id) {
        id = _createOrAdopt(agreement, brandSignature, creatorSignature);
        uint256 amount = _recordFunding(agreement, id, 0, fundCount);
        _pull(agreement.token, amount);
    }

    /// @inheritdoc IPactumEscrow
    function createAndFundWithPermit(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature,
        uint256 fundCount,
        Permit calldata permit
    ) external nonReentrant returns (bytes32 id) {
        id = _createOrAdopt(agreement, brandSignature, creatorSignature);
        uint256 amount = _recordFunding(agreement, id, 0, fundCount);
        _permit(agreement.token, amount, permit);
        _pull(agreement.token, amount);
    }

    /// @inheritdoc IPactumEscrow
    function fund(Agreement calldata agreement, uint256 first, uint256 count) external payable nonReentrant {
        uint256 amount = _recordFunding(agreement, _id(agreement), first, count);
        _pull(agreement.token, amount);
    }

    /// @inheritdoc IPactumEscrow
    function fundWithPermit(
        Agreement calldata agreement,
        uint256 first,
        uint256 count,
        Permit calldata permit
    ) external nonReentrant {
        uint256 amount = _recordFunding(agreement, _id(agreement), first, count);
        _permit(agreement.token, amount, permit);
        _pull(agreement.token, amount);
    }

    /// @inheritdoc IPactumEscrow
    function revoke(Agreement calldata agreement) external nonReentrant {
        // Checks
        bytes32 id = _id(agreement);
        if (msg.sender != agreement.brand && msg.sender != agreement.creator) {
            revert Escrow_Unauthorized(msg.sender);
        }
        AgreementState storage s = _states[id];
        if (s.status != Status.None) revert Escrow_AlreadyExists(id);

        // Effects
        s.status = Status.Revoked;
        emit AgreementRevoked(id, msg.sender);
    }

    /*//////////////////////////////////////////////////////////////
                                DELIVERY
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function submit(Agreement calldata agreement, uint256 milestone, bytes32 contentHash, string calldata uri)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyCreator(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        // A first submission only while the agreement is active: a termination stops new work, not
        // the revision of work already delivered.
        bool fresh = status == MilestoneStatus.Open && s.status == Status.Active;
        if (!fresh && status != MilestoneStatus.RevisionRequested) {
            revert Escrow_WrongMilestoneStatus(milestone, status);
        }
        (uint256 since, uint256 revisions) = _clock(id, milestone);
        uint256 cutoff = _submissionCutoff(ms[milestone], status, since);
        if (block.timestamp > cutoff) revert Escrow_DeadlinePassed(cutoff);

        // Effects
        _setMilestoneStatus(s, milestone, MilestoneStatus.Submitted);
        _setClock(id, milestone, block.timestamp, revisions);
        emit DeliverableSubmitted(id, milestone, contentHash, uri);
    }

    /// @inheritdoc IPactumEscrow
    function approve(Agreement calldata agreement, uint256 milestone) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyBrand(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (_isFinal(status)) revert Escrow_WrongMilestoneStatus(milestone, status);
        uint256 amount = ms[milestone].amount;

        // Effects
        bool completed = _finishMilestone(agreement, s, milestone, MilestoneStatus.Approved);
        emit MilestoneApproved(id, milestone, amount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _push(id, agreement.token, agreement.creator, amount);
    }

    /// @inheritdoc IPactumEscrow
    function requestRevision(Agreement calldata agreement, uint256 milestone, bytes32 reasonHash)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyBrand(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Submitted) revert Escrow_WrongMilestoneStatus(milestone, status);
        (uint256 since, uint256 revisions) = _clock(id, milestone);
        uint256 reviewEnd = since + ms[milestone].reviewWindow;
        if (block.timestamp > reviewEnd) revert Escrow_ReviewWindowClosed(reviewEnd);
        uint256 rounds = agreement.revisionRounds;
        if (revisions >= rounds) revert Escrow_NoRevisionsLeft(milestone, rounds);

        // Effects
        _setMilestoneStatus(s, milestone, MilestoneStatus.RevisionRequested);
        _setClock(id, milestone, block.timestamp, revisions + 1);
        emit RevisionRequested(id, milestone, reasonHash);
    }

    /// @inheritdoc IPactumEscrow
    function claimAfterSilence(Agreement calldata agreement, uint256 milestone) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyCreator(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Submitted) revert Escrow_WrongMilestoneStatus(milestone, status);
        (uint256 since,) = _clock(id, milestone);
        uint256 reviewEnd = since + ms[milestone].reviewWindow;
        if (block.timestamp <= reviewEnd) revert Escrow_ReviewWindowOpen(reviewEnd);
        uint256 amount = ms[milestone].amount;

        // Effects
        bool completed = _finishMilestone(agreement, s, milestone, MilestoneStatus.Claimed);
        emit MilestoneClaimed(id, milestone, amount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _push(id, agreement.token, agreement.creator, amount);
    }

    /// @inheritdoc IPactumEscrow
    function reclaimAfterDeadline(Agreement calldata agreement, uint256 milestone) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyBrand(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status == MilestoneStatus.Open) {
            // A milestone never submitted is the termination's to decide once one has begun: the
            // creator may no longer submit it, so its deadline passing is no fault of the creator's.
            if (s.status != Status.Active) revert Escrow_WrongStatus(id, uint8(s.status));
        } else if (status != MilestoneStatus.RevisionRequested) {
            revert Escrow_WrongMilestoneStatus(milestone, status);
        }
        (uint256 since,) = _clock(id, milestone);
        uint256 cutoff = _submissionCutoff(ms[milestone], status, since);
        if (block.timestamp <= cutoff) revert Escrow_DeadlineNotPassed(cutoff);
        uint256 amount = ms[milestone].amount;

        // Effects
        bool completed = _finishMilestone(agreement, s, milestone, MilestoneStatus.Reclaimed);
        emit MilestoneReclaimed(id, milestone, amount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _push(id, agreement.token, agreement.brand, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                DISPUTES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function dispute(Agreement calldata agreement, uint256 milestone, bytes32 reasonHash)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        uint8 by = _onlyParty(agreement);
        if (agreement.arbiter == address(0)) revert Escrow_NoArbiter();
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        (uint256 since, uint256 revisions) = _clock(id, milestone);
        if (status == MilestoneStatus.Submitted) {
            // Past the review window the creator's claim after silence stands: the brand may no
            // longer turn a submission into a dispute (nor front-run the claim with one).
            uint256 reviewEnd = since + ms[milestone].reviewWindow;
            if (by == _BRAND && block.timestamp > reviewEnd) revert Escrow_ReviewWindowClosed(reviewEnd);
        } else if (status == MilestoneStatus.RevisionRequested) {
            // Past its resubmission cutoff the brand's reclaim stands: the creator may no longer
            // block it with a dispute.
            uint256 cutoff = _submissionCutoff(ms[milestone], status, since);
            if (by == _CREATOR && block.timestamp > cutoff) revert Escrow_DeadlinePassed(cutoff);
        } else {
            revert Escrow_WrongMilestoneStatus(milestone, status);
        }

        // Effects
        _setMilestoneStatus(s, milestone, MilestoneStatus.Disputed);
        _setClock(id, milestone, block.timestamp, revisions);
        emit DisputeOpened(id, milestone, msg.sender, reasonHash);
    }

    /// @inheritdoc IPactumEscrow
    function resolveDispute(Agreement calldata agreement, uint256 milestone, uint16 creatorBps)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        if (msg.sender != agreement.arbiter) revert Escrow_Unauthorized(msg.sender);
        _requireDisputed(ms, s, milestone);
        _requireArbitrationOpen(agreement, id, milestone);
        if (creatorBps > SplitMath.BPS) revert Escrow_InvalidBps(creatorBps);
        (uint256 toCreator, uint256 toBrand, uint256 fee) =
            SplitMath.split(ms[milestone].amount, agreement.arbiterFeeBps, creatorBps);

        // Effects
        bool completed = _finishMilestone(agreement, s, milestone, MilestoneStatus.Resolved);
        emit DisputeResolved(id, milestone, toCreator, toBrand, fee, creatorBps);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _payOut(agreement, id, toCreator, toBrand, fee);
    }

    /// @inheritdoc IPactumEscrow
    function resolveDisputeAfterTimeout(Agreement calldata agreement, uint256 milestone)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyParty(agreement);
        _requireDisputed(ms, s, milestone);
        (uint256 since,) = _clock(id, milestone);
        uint256 until = since + agreement.arbitrationWindow;
        if (block.timestamp <= until) revert Escrow_ArbitrationWindowOpen(until);
        (uint256 toCreator, uint256 toBrand) = SplitMath.half(ms[milestone].amount);

        // Effects
        bool completed = _finishMilestone(agreement, s, milestone, MilestoneStatus.TimedOut);
        emit DisputeTimedOut(id, milestone, toCreator, toBrand);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _payOut(agreement, id, toCreator, toBrand, 0);
    }

    /// @inheritdoc IPactumEscrow
    function settle(
        Agreement calldata agreement,
        uint256 milestone,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        _requireNonce(s, nonce, deadline);
        uint256 amount = _settleable(agreement.milestones, s, milestone, creatorAmount);
        _requireBothSigned(
            agreement,
            _hashTypedDataV4(AgreementHashing.hashSettlement(id, milestone, creatorAmount, nonce, deadline)),
            brandSignature,
            creatorSignature
        );

        // Effects
        bool completed = _finishMilestone(agreement, s, milestone, MilestoneStatus.Settled);
        emit MilestoneSettled(id, milestone, creatorAmount, amount - creatorAmount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _payOut(agreement, id, creatorAmount, amount - creatorAmount, 0);
    }

    /// @inheritdoc IPactumEscrow
    function cancelSignatures(Agreement calldata agreement) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadLive(agreement);
        _onlyParty(agreement);

        // Effects
        _bumpNonce(s);
        emit SignaturesCancelled(id, msg.sender, s.nonce);
    }

    /*//////////////////////////////////////////////////////////////
                            MORALITY CLAUSE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function terminate(Agreement calldata agreement, bytes32 reasonHash) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        uint8 by = _onlyParty(agreement);

        // Effects
        s.status = Status.Terminating;
        s.terminatedBy = by;
        s.since = uint40(block.timestamp);
        _bumpNonce(s);
        emit TerminationStarted(id, msg.sender, reasonHash, block.timestamp + agreement.contestWindow);
    }

    /// @inheritdoc IPactumEscrow
    function contestTermination(Agreement calldata agreement) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadTerminating(agreement, false);
        uint8 by = _onlyParty(agreement);
        if (by == s.terminatedBy) revert Escrow_Unauthorized(msg.sender);
        if (agreement.arbiter == address(0)) revert Escrow_NoArbiter();
        uint256 closesAt = uint256(s.since) + agreement.contestWindow;
        if (block.timestamp > closesAt) revert Escrow_ContestWindowClosed(closesAt);

        // Effects
        s.contested = true;
        s.since = uint40(block.timestamp);
        _bumpNonce(s);
        emit TerminationContested(id, msg.sender);
    }

    /// @inheritdoc IPactumEscrow
    function finalizeTermination(Agreement calldata agreement) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadTerminating(agreement, false);
        uint256 closesAt = uint256(s.since) + agreement.contestWindow;
        if (block.timestamp <= closesAt) revert Escrow_ContestWindowOpen(closesAt);
        uint256 stake = _unearned(agreement, s);

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.Uncontested, 0, stake, 0);
    }

    /// @inheritdoc IPactumEscrow
    function resolveTermination(Agreement calldata agreement, uint16 creatorBps) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadTerminating(agreement, true);
        if (msg.sender != agreement.arbiter) revert Escrow_Unauthorized(msg.sender);
        uint256 until = uint256(s.since) + agreement.arbitrationWindow;
        if (block.timestamp > until) revert Escrow_ArbitrationWindowClosed(until);
        if (creatorBps > SplitMath.BPS) revert Escrow_InvalidBps(creatorBps);
        uint256 stake = _unearned(agreement, s);
        (uint256 toCreator, uint256 toBrand, uint256 fee) =
            SplitMath.split(stake, agreement.arbiterFeeBps, creatorBps);

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.ArbiterRuling, toCreator, toBrand, fee);
    }

    /// @inheritdoc IPactumEscrow
    function resolveTerminationAfterTimeout(Agreement calldata agreement) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadTerminating(agreement, true);
        _onlyParty(agreement);
        uint256 until = uint256(s.since) + agreement.arbitrationWindow;
        if (block.timestamp <= until) revert Escrow_ArbitrationWindowOpen(until);
        uint256 stake = _unearned(agreement, s);
        (uint256 toCreator, uint256 toBrand) = SplitMath.half(stake);

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.ArbiterTimeout, toCreator, toBrand, 0);
    }

    /// @inheritdoc IPactumEscrow
    function terminateMutually(
        Agreement calldata agreement,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _load(agreement);
        if (s.status != Status.Active && s.status != Status.Terminating) {
            revert Escrow_WrongStatus(id, uint8(s.status));
        }
        _requireNonce(s, nonce, deadline);
        uint256 stake = _unearned(agreement, s);
        if (creatorAmount > stake) revert Escrow_SplitTooLarge(creatorAmount, stake);
        _requireBothSigned(
            agreement,
            _hashTypedDataV4(AgreementHashing.hashMutualTermination(id, creatorAmount, nonce, deadline)),
            brandSignature,
            creatorSignature
        );

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.Mutual, creatorAmount, stake - creatorAmount, 0);
    }

    /*//////////////////////////////////////////////////////////////
                               WITHDRAWAL
    //////////////////////////////////////////////////////////////*/

    /// @notice Withdraws the caller's deferred payments in `token` to `to` (neither zero nor this
    /// escrow).
    /// @param token The token, or zero for ETH.
    /// @param to The recipient.
    function withdraw(address token, address to) external nonReentrant {
        _withdraw(token, to);
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE: LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @dev Validates, checks both signatures and records a new agreement as active.
    function _create(
        Agreement calldata a,
        bytes32 id,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) private {
        // Checks
        _validate(a);
        AgreementState storage s = _states[id];
        if (s.status != Status.None) revert Escrow_AlreadyExists(id);
        _requireBothSigned(a, id, brandSignature, creatorSignature);

        // Effects
        s.status = Status.Active;
        _emitAgreementCreated(id, a);
    }

    /// @dev Creates the agreement, or adopts it when someone else created exactly this agreement
    /// (same id, so the same signed terms) and nothing is funded yet: a front-run `create` must not
    /// make the brand's create-and-fund fail. Any other existing state is refused as before.
    function _createOrAdopt(
        Agreement calldata a,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) private returns (bytes32 id) {
        id = _id(a);
        AgreementState storage s = _states[id];
        (Status status, uint256 funded) = (s.status, s.fundedCount);
        if (status == Status.Active && funded == 0) return id;
        _create(a, id, brandSignature, creatorSignature);
    }

    /// @dev Emits `AgreementCreated(id, a.brand, a.creator, a)`. When the agreement's calldata is in
    /// the canonical ABI layout (the milestones array right after the head, as every encoder writes
    /// it), that calldata is byte for byte the event's data after its leading offset word, so it is
    /// copied as is instead of being re-encoded field by field. Only called after `_validate` (1..32
    /// milestones) and `_id` (which reverts on dirty upper bits), so every word copied is clean.
    /// Any other layout falls back to the compiler's encoder; both give the same log.
    function _emitAgreementCreated(bytes32 id, Agreement calldata a) private {
        bool emitted;
        bytes32 topic0 = AgreementCreated.selector;
        assembly ("memory-safe") {
            // Word 11 of the head is the milestones array's offset, relative to `a`; 0x180 means it
            // follows the 12-word head directly.
            if eq(calldataload(add(a, 0x160)), 0x180) {
                // Event data = abi.encode(agreement): the tuple's offset (0x20), then the tuple: 12
                // head words, the array's length n, and n elements of 3 words.
                let n := calldataload(add(a, 0x180))
                let size := add(0x1a0, mul(n, 0x60))
                // Built in free memory without advancing the free memory pointer.
                let p := mload(0x40)
                mstore(p, 0x20)
                calldatacopy(add(p, 0x20), a, size)
                // Topics: the event signature, id, brand (head word 0), creator (head word 1).
                log4(p, add(size, 0x20), topic0, id, calldataload(a), calldataload(add(a, 0x20)))
                emitted := 1
            }
        }
        if (!emitted) emit AgreementCreated(id, a.brand, a.creator, a);
    }

    /// @dev Checks and records the funding of milestones [first, first + count); returns the amount
    /// due.
    function _recordFunding(Agreement calldata a, bytes32 id, uint256 first, uint256 count)
        private
        returns (uint256 amount)
    {
        // Checks
        AgreementState storage s = _states[id];
        // Both fields read together: one storage read of the slot.
        (Status status, uint256 next) = (s.status, s.fundedCount);
        if (status != Status.Active) revert Escrow_WrongStatus(id, uint8(status));
        if (first != next) revert Escrow_WrongFirstMilestone(first, next);
        Milestone[] calldata ms = a.milestones;
        uint256 remaining = ms.length - first;
        if (count == 0 || count > remaining) revert Escrow_InvalidFundCount(count, remaining);
        uint256 end = first + count;
        for (uint256 i = first; i < end; ++i) {
            amount += ms[i].amount;
        }

        // Effects
        // Safe: first + count <= milestones.length <= MAX_MILESTONES (32), which fits in uint8.
        // forge-lint: disable-next-line(unsafe-typecast)
        s.fundedCount = uint8(end);
        _bumpNonce(s);
        emit MilestonesFunded(id, msg.sender, first, count, amount);
    }

    /// @dev Takes `amount` from the caller and refuses any shortfall.
    function _pull(address token, uint256 amount) private {
        if (token == address(0)) {
            if (msg.value != amount) revert Escrow_WrongValue(amount, msg.value);
            return;
        }
        if (msg.value != 0) revert Escrow_WrongValue(0, msg.value);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert Escrow_FundingShortfall(amount, received);
    }

    /// @dev Applies an EIP-2612 permit. A failure is ignored on purpose: anyone can front-run a
    /// permit from the mempool, after which the allowance is there anyway; if it is not, the
    /// transfer that follows fails with the token's own error.
    function _permit(address token, uint256 amount, Permit calldata p) private {
        if (token == address(0)) revert Escrow_WrongValue(amount, 0);
        try IERC20Permit(token).permit(msg.sender, address(this), amount, p.deadline, p.v, p.r, p.s) {}
            catch {}
    }

    /// @dev Marks a milestone final; returns whether that finished the agreement (and if so records
    /// it: `Completed`, or `Terminated` once a termination has begun).
    function _finishMilestone(
        Agreement calldata a,
        AgreementState storage s,
        uint256 milestone,
        MilestoneStatus finalStatus
    ) private returns (bool completed) {
        uint128 packed = _withStatus(s.milestones, milestone, finalStatus);
        completed = _allFinal(packed, a.milestones.length);
        s.milestones = packed;
        _bumpNonce(s);
        if (completed) s.status = s.status == Status.Active ? Status.Completed : Status.Terminated;
    }

    /// @dev Whether each of the first `n` nibbles is final. Statuses run 0..10 and the final ones
    /// are 4..10 (0100..1010): a nibble is final iff its bit 2 or bit 3 is set, while 0..3 have
    /// neither. Fold bit 3 of every nibble onto its bit 2 and require bit 2 in each of the
    /// agreement's nibbles (1..32 of them, checked at creation).
    function _allFinal(uint128 packed, uint256 n) private pure returns (bool) {
        uint256 used = _FINAL_BITS >> (128 - 4 * n);
        return (uint256(packed) | (uint256(packed) >> 1)) & used == used;
    }

    /// @dev The unearned escrow a termination decides on: the funded milestones never submitted.
    /// Milestones under review, in revision or in dispute are left to their own exits.
    function _unearned(Agreement calldata a, AgreementState storage s) private view returns (uint256 stake) {
        (uint256 funded, uint128 packed) = (s.fundedCount, s.milestones);
        Milestone[] calldata ms = a.milestones;
        for (uint256 i; i < funded; ++i) {
            if (_statusAt(packed, i) == MilestoneStatus.Open) stake += ms[i].amount;
        }
    }

    /// @dev Ends the termination: cancels every milestone never submitted (funded or not), records
    /// the agreement's new status (`Terminated`, or `Closing` while delivered milestones are still
    /// running), then pays out the unearned escrow.
    function _endByTermination(
        Agreement calldata a,
        bytes32 id,
        AgreementState storage s,
        TerminationKind kind,
        uint256 toCreator,
        uint256 toBrand,
        uint256 fee
    ) private {
        // Effects
        uint256 n = a.milestones.length;
        uint128 packed = s.milestones;
        for (uint256 i; i < n; ++i) {
            if (_statusAt(packed, i) == MilestoneStatus.Open) {
                packed = _withStatus(packed, i, MilestoneStatus.Cancelled);
            }
        }
        s.milestones = packed;
        s.status = _allFinal(packed, n) ? Status.Terminated : Status.Closing;
        _bumpNonce(s);
        emit AgreementTerminated(id, kind, toCreator, toBrand, fee);

        // Interactions
        _payOut(a, id, toCreator, toBrand, fee);
    }

    /// @dev Pays each party its part; zero parts are skipped.
    function _payOut(Agreement calldata a, bytes32 id, uint256 toCreator, uint256 toBrand, uint256 fee)
        private
    {
        address token = a.token;
        _push(id, token, a.creator, toCreator);
        _push(id, token, a.brand, toBrand);
        _push(id, token, a.arbiter, fee);
    }

    /// @dev Every change of an agreement's state moves its nonce, which voids the settlements and
    /// mutual terminations signed for the state before. Wraps after 2^32 changes, which would cost
    /// far more gas than any block could ever hold.
    function _bumpNonce(AgreementState storage s) private {
        unchecked {
            s.nonce += 1;
        }
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE: CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev The agreement's well-formedness, checked once at creation; later calls rely on the
    /// digest matching what was checked here. Every wait must have an end and every window room to
    /// act in: windows lie in [MIN_WINDOW, MAX_WINDOW] (without an arbiter the contest window may be
    /// zero: nobody can contest), deadlines lie in the future and within MAX_TERM, the fee is capped
    /// (and zero without an arbiter), and revision rounds are bounded.
    function _validate(Agreement calldata a) private view {
        // Each calldata field is read (and range-checked) once, in the order the checks use them.
        (address brand, address creator, address arbiter) = (a.brand, a.creator, a.arbiter);
        if (
            brand == address(0) || creator == address(0) || brand == creator || arbiter == brand
                || arbiter == creator
        ) revert Escrow_InvalidParties(brand, creator, arbiter);
        _validateMilestones(a.milestones);
        _validateArbitration(arbiter, a.arbiterFeeBps, a.contestWindow, a.arbitrationWindow);
        uint8 rounds = a.revisionRounds;
        if (rounds > MAX_REVISION_ROUNDS) revert Escrow_TooManyRevisionRounds(rounds);
        address token = a.token;
        if (token != address(0) && token.code.length == 0) revert Escrow_TokenHasNoCode(token);
        uint40 signatureDeadline = a.deadline;
        if (block.timestamp > signatureDeadline) {
            revert Escrow_SignatureExpired(signatureDeadline, block.timestamp);
        }
    }

    /// @dev 1..32 milestones, each with an amount, a deadline in the future and within MAX_TERM, and
    /// a usable review window.
    function _validateMilestones(Milestone[] calldata ms) private view {
        uint256 n = ms.length;
        if (n == 0 || n > MAX_MILESTONES) revert Escrow_InvalidMilestoneCount(n, MAX_MILESTONES);
        uint256 latest = block.timestamp + MAX_TERM;
        for (uint256 i; i < n; ++i) {
            Milestone calldata m = ms[i];
            if (m.amount == 0) revert Escrow_ZeroAmount(i);
            uint256 deadline = m.deadline;
            if (deadline <= block.timestamp || deadline > latest) revert Escrow_InvalidDeadline(i, deadline);
            _requireWindow(m.reviewWindow);
        }
    }

    /// @dev With an arbiter: a capped fee and usable contest and arbitration windows. Without one: no
    /// fee (nobody to pay) and a contest window that may be zero (nobody can contest) but ends.
    function _validateArbitration(address arbiter, uint16 fee, uint32 contestWindow, uint32 arbitrationWindow)
        private
        pure
    {
        if (arbiter == address(0)) {
            if (fee != 0) revert Escrow_InvalidFee(fee);
            if (contestWindow > MAX_WINDOW) revert Escrow_InvalidWindow(contestWindow);
        } else {
            if (fee > MAX_FEE_BPS) revert Escrow_InvalidFee(fee);
            _requireWindow(contestWindow);
            _requireWindow(arbitrationWindow);
        }
    }

    function _requireWindow(uint256 window) private pure {
        if (window < MIN_WINDOW || window > MAX_WINDOW) revert Escrow_InvalidWindow(window);
    }

    function _requireBothSigned(
        Agreement calldata a,
        bytes32 digest,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) private view {
        address brand = a.brand;
        if (!SignatureRules.isValidNow(brand, digest, brandSignature)) revert Escrow_InvalidSignature(brand);
        address creator = a.creator;
        if (!SignatureRules.isValidNow(creator, digest, creatorSignature)) {
            revert Escrow_InvalidSignature(creator);
        }
    }

    /// @dev A signed split must name the current state nonce and be used before its deadline.
    function _requireNonce(AgreementState storage s, uint32 nonce, uint40 deadline) private view {
        if (block.timestamp > deadline) revert Escrow_SignatureExpired(deadline, block.timestamp);
        uint32 current = s.nonce;
        if (nonce != current) revert Escrow_StaleNonce(nonce, current);
    }

    function _id(Agreement calldata a) private view returns (bytes32) {
        return _hashTypedDataV4(AgreementHashing.hash(a));
    }

    function _load(Agreement calldata a) private view returns (bytes32 id, AgreementState storage s) {
        id = _id(a);
        s = _states[id];
    }

    function _loadActive(Agreement calldata a) private view returns (bytes32 id, AgreementState storage s) {
        (id, s) = _load(a);
        if (s.status != Status.Active) revert Escrow_WrongStatus(id, uint8(s.status));
    }

    /// @dev An agreement whose milestones can still move: active, terminating, or closing (its
    /// termination decided, delivered milestones still running).
    function _loadLive(Agreement calldata a) private view returns (bytes32 id, AgreementState storage s) {
        (id, s) = _load(a);
        Status status = s.status;
        if (status != Status.Active && status != Status.Terminating && status != Status.Closing) {
            revert Escrow_WrongStatus(id, uint8(status));
        }
    }

    function _loadTerminating(Agreement calldata a, bool contested)
        private
        view
        returns (bytes32 id, AgreementState storage s)
    {
        (id, s) = _load(a);
        if (s.status != Status.Terminating || s.contested != contested) {
            revert Escrow_WrongStatus(id, uint8(s.status));
        }
    }

    function _onlyBrand(Agreement calldata a) private view {
        if (msg.sender != a.brand) revert Escrow_Unauthorized(msg.sender);
    }

    function _onlyCreator(Agreement calldata a) private view {
        if (msg.sender != a.creator) revert Escrow_Unauthorized(msg.sender);
    }

    /// @dev Returns which party the caller is.
    function _onlyParty(Agreement calldata a) private view returns (uint8) {
        if (msg.sender == a.brand) return _BRAND;
        if (msg.sender == a.creator) return _CREATOR;
        revert Escrow_Unauthorized(msg.sender);
    }

    /// @dev Checks the milestone exists and is funded; returns its status.
    function _fundedMilestone(Milestone[] calldata ms, AgreementState storage s, uint256 milestone)
        private
        view
        returns (MilestoneStatus)
    {
        uint256 n = ms.length;
        // Both fields read together: one storage read of the slot.
        (uint256 funded, uint128 packed) = (s.fundedCount, s.milestones);
        if (milestone >= n) revert Escrow_InvalidMilestone(milestone, n);
        if (milestone >= funded) revert Escrow_NotFunded(milestone, funded);
        return _statusAt(packed, milestone);
    }

    /// @dev Checks that a milestone can be settled for `creatorAmount`; returns its amount.
    function _settleable(
        Milestone[] calldata ms,
        AgreementState storage s,
        uint256 milestone,
        uint256 creatorAmount
    ) private view returns (uint256 amount) {
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (_isFinal(status)) revert Escrow_WrongMilestoneStatus(milestone, status);
        amount = ms[milestone].amount;
        if (creatorAmount > amount) revert Escrow_SplitTooLarge(creatorAmount, amount);
    }

    /// @dev The arbiter rules only within its window; after it, only the timeout exit is open.
    function _requireArbitrationOpen(Agreement calldata a, bytes32 id, uint256 milestone) private view {
        (uint256 since,) = _clock(id, milestone);
        uint256 until = since + a.arbitrationWindow;
        if (block.timestamp > until) revert Escrow_ArbitrationWindowClosed(until);
    }

    function _requireDisputed(Milestone[] calldata ms, AgreementState storage s, uint256 milestone)
        private
        view
    {
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Disputed) revert Escrow_WrongMilestoneStatus(milestone, status);
    }

    /// @dev The last moment a deliverable may be submitted: the deadline, or after a revision
    /// request (made at `since`) the later of the deadline and a fresh review window, so a late
    /// revision request cannot run the creator out of time.
    function _submissionCutoff(Milestone calldata m, MilestoneStatus status, uint256 since)
        private
        pure
        returns (uint256 cutoff)
    {
        cutoff = m.deadline;
        if (status == MilestoneStatus.RevisionRequested) {
            uint256 fresh = since + m.reviewWindow;
            if (fresh > cutoff) cutoff = fresh;
        }
    }

    /*//////////////////////////////////////////////////////////////
                     PRIVATE: MILESTONE BITS AND CLOCKS
    //////////////////////////////////////////////////////////////*/

    /// @dev A milestone's clock: when its current phase started and the revision rounds used.
    function _clock(bytes32 id, uint256 milestone) private view returns (uint256 since, uint256 revisions) {
        uint256 field =
            (_clocks[id][milestone / _CLOCKS_PER_WORD] >> ((milestone % _CLOCKS_PER_WORD) * _CLOCK_BITS))
                & _CLOCK_MASK;
        since = field & _TIME_MASK;
        revisions = field >> 40;
    }

    /// @dev Writes a milestone's clock. `since` is a block timestamp (below 2^40 for 34,000 years)
    /// and `revisions` at most MAX_REVISION_ROUNDS, so both fit their bits.
    function _setClock(bytes32 id, uint256 milestone, uint256 since, uint256 revisions) private {
        uint256 shift = (milestone % _CLOCKS_PER_WORD) * _CLOCK_BITS;
        mapping(uint256 => uint256) storage clocks = _clocks[id];
        uint256 word = milestone / _CLOCKS_PER_WORD;
        clocks[word] = (clocks[word] & ~(_CLOCK_MASK << shift)) | ((since | (revisions << 40)) << shift);
    }

    function _setMilestoneStatus(AgreementState storage s, uint256 milestone, MilestoneStatus status)
        private
    {
        s.milestones = _withStatus(s.milestones, milestone, status);
        _bumpNonce(s);
    }

    function _statusAt(uint128 packed, uint256 milestone) private pure returns (MilestoneStatus) {
        // Safe: masked to four bits, and only values 0..10 are ever written.
        // forge-lint: disable-next-line(unsafe-typecast)
        return MilestoneStatus(uint8((uint256(packed) >> (milestone * 4)) & _NIBBLE));
    }

    function _withStatus(uint128 packed, uint256 milestone, MilestoneStatus status)
        private
        pure
        returns (uint128)
    {
        uint256 shift = milestone * 4;
        // milestone < MAX_MILESTONES (32), so the nibble lies within the 128 bits.
        return uint128((uint256(packed) & ~(_NIBBLE << shift)) | (uint256(status) << shift));
    }

    function _isFinal(MilestoneStatus status) private pure returns (bool) {
        return status >= MilestoneStatus.Approved;
    }
}
