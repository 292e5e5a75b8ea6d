// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IPactumEscrow} from "./interfaces/IPactumEscrow.sol";
import {AgreementHashing} from "./libraries/AgreementHashing.sol";
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
/// @dev Storage keeps one slot per agreement (status, funded count, termination data and four bits
/// per milestone) plus one timestamp per milestone once it is submitted. The agreement itself is a
/// commitment: its EIP-712 digest is its id, and every call passes the agreement again, which the
/// contract re-hashes and looks up. Pushed payments that fail are kept for the recipient to withdraw.
contract PactumEscrow is IPactumEscrow, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @inheritdoc IPactumEscrow
    uint256 public constant MAX_MILESTONES = 32;

    /// @inheritdoc IPactumEscrow
    uint256 public constant ETH_PUSH_GAS = 50_000;

    /// @dev Four bits of `MilestoneStatus` per milestone.
    uint256 private constant _NIBBLE = 0xF;

    /// @dev Bit 2 of each of the 32 nibbles of `AgreementState.milestones`.
    uint256 private constant _FINAL_BITS = 0x44444444444444444444444444444444;

    /// @dev Party codes stored in `AgreementState.terminatedBy`.
    uint8 private constant _BRAND = 1;
    uint8 private constant _CREATOR = 2;

    mapping(bytes32 id => AgreementState) private _states;
    mapping(bytes32 id => mapping(uint256 milestone => uint40)) private _since;
    mapping(address token => mapping(address account => uint256)) private _claimable;

    constructor() EIP712("Pactum", "1") {}

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function hashAgreement(Agreement calldata agreement) external view returns (bytes32) {
        return _id(agreement);
    }

    /// @inheritdoc IPactumEscrow
    function hashSettlement(bytes32 id, uint256 milestone, uint256 creatorAmount, uint40 deadline)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(AgreementHashing.hashSettlement(id, milestone, creatorAmount, deadline));
    }

    /// @inheritdoc IPactumEscrow
    function hashMutualTermination(bytes32 id, uint256 creatorAmount, uint40 deadline)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(AgreementHashing.hashMutualTermination(id, creatorAmount, deadline));
    }

    /// @inheritdoc IPactumEscrow
    function getState(bytes32 id) external view returns (AgreementState memory) {
        return _states[id];
    }

    /// @inheritdoc IPactumEscrow
    function getMilestone(bytes32 id, uint256 milestone) external view returns (MilestoneStatus, uint40) {
        return (_milestoneStatus(_states[id], milestone), _since[id][milestone]);
    }

    /// @inheritdoc IPactumEscrow
    function claimable(address token, address account) external view returns (uint256) {
        return _claimable[token][account];
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
        id = _create(agreement, brandSignature, creatorSignature);
    }

    /// @inheritdoc IPactumEscrow
    function createAndFund(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature,
        uint256 fundCount
    ) external payable nonReentrant returns (bytes32 id) {
        id = _create(agreement, brandSignature, creatorSignature);
        uint256 amount = _recordFunding(agreement, id, fundCount);
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
        id = _create(agreement, brandSignature, creatorSignature);
        uint256 amount = _recordFunding(agreement, id, fundCount);
        _permit(agreement.token, amount, permit);
        _pull(agreement.token, amount);
    }

    /// @inheritdoc IPactumEscrow
    function fund(Agreement calldata agreement, uint256 count) external payable nonReentrant {
        uint256 amount = _recordFunding(agreement, _id(agreement), count);
        _pull(agreement.token, amount);
    }

    /// @inheritdoc IPactumEscrow
    function fundWithPermit(Agreement calldata agreement, uint256 count, Permit calldata permit)
        external
        nonReentrant
    {
        uint256 amount = _recordFunding(agreement, _id(agreement), count);
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
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyCreator(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Open && status != MilestoneStatus.RevisionRequested) {
            revert Escrow_WrongMilestoneStatus(milestone, status);
        }
        uint256 cutoff = _submissionCutoff(ms, id, milestone, status);
        if (block.timestamp > cutoff) revert Escrow_DeadlinePassed(cutoff);

        // Effects
        _setMilestoneStatus(s, milestone, MilestoneStatus.Submitted);
        _since[id][milestone] = uint40(block.timestamp);
        emit DeliverableSubmitted(id, milestone, contentHash, uri);
    }

    /// @inheritdoc IPactumEscrow
    function approve(Agreement calldata agreement, uint256 milestone) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyBrand(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (_isFinal(status)) revert Escrow_WrongMilestoneStatus(milestone, status);
        uint256 amount = ms[milestone].amount;

        // Effects
        bool completed = _finishMilestone(ms, s, milestone, MilestoneStatus.Approved);
        emit MilestoneApproved(id, milestone, amount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _push(agreement.token, agreement.creator, amount);
    }

    /// @inheritdoc IPactumEscrow
    function requestRevision(Agreement calldata agreement, uint256 milestone, bytes32 reasonHash)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyBrand(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Submitted) revert Escrow_WrongMilestoneStatus(milestone, status);
        uint256 reviewEnd = uint256(_since[id][milestone]) + ms[milestone].reviewWindow;
        if (block.timestamp > reviewEnd) revert Escrow_ReviewWindowClosed(reviewEnd);

        // Effects
        _setMilestoneStatus(s, milestone, MilestoneStatus.RevisionRequested);
        _since[id][milestone] = uint40(block.timestamp);
        emit RevisionRequested(id, milestone, reasonHash);
    }

    /// @inheritdoc IPactumEscrow
    function claimAfterSilence(Agreement calldata agreement, uint256 milestone) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyCreator(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Submitted) revert Escrow_WrongMilestoneStatus(milestone, status);
        uint256 reviewEnd = uint256(_since[id][milestone]) + ms[milestone].reviewWindow;
        if (block.timestamp <= reviewEnd) revert Escrow_ReviewWindowOpen(reviewEnd);
        uint256 amount = ms[milestone].amount;

        // Effects
        bool completed = _finishMilestone(ms, s, milestone, MilestoneStatus.Claimed);
        emit MilestoneClaimed(id, milestone, amount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _push(agreement.token, agreement.creator, amount);
    }

    /// @inheritdoc IPactumEscrow
    function reclaimAfterDeadline(Agreement calldata agreement, uint256 milestone) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyBrand(agreement);
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Open && status != MilestoneStatus.RevisionRequested) {
            revert Escrow_WrongMilestoneStatus(milestone, status);
        }
        uint256 cutoff = _submissionCutoff(ms, id, milestone, status);
        if (block.timestamp <= cutoff) revert Escrow_DeadlineNotPassed(cutoff);
        uint256 amount = ms[milestone].amount;

        // Effects
        bool completed = _finishMilestone(ms, s, milestone, MilestoneStatus.Reclaimed);
        emit MilestoneReclaimed(id, milestone, amount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _push(agreement.token, agreement.brand, amount);
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
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyParty(agreement);
        if (agreement.arbiter == address(0)) revert Escrow_NoArbiter();
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Submitted && status != MilestoneStatus.RevisionRequested) {
            revert Escrow_WrongMilestoneStatus(milestone, status);
        }
        // Past the review window the creator's claim after silence stands: the brand may no
        // longer turn a submission into a dispute (nor front-run the claim with one).
        if (msg.sender == agreement.brand && status == MilestoneStatus.Submitted) {
            uint256 reviewEnd = uint256(_since[id][milestone]) + ms[milestone].reviewWindow;
            if (block.timestamp > reviewEnd) revert Escrow_ReviewWindowClosed(reviewEnd);
        }

        // Effects
        _setMilestoneStatus(s, milestone, MilestoneStatus.Disputed);
        _since[id][milestone] = uint40(block.timestamp);
        emit DisputeOpened(id, milestone, msg.sender, reasonHash);
    }

    /// @inheritdoc IPactumEscrow
    function resolveDispute(Agreement calldata agreement, uint256 milestone, uint16 creatorBps)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        if (msg.sender != agreement.arbiter) revert Escrow_Unauthorized(msg.sender);
        _requireDisputed(ms, s, milestone);
        if (creatorBps > SplitMath.BPS) revert Escrow_InvalidBps(creatorBps);
        (uint256 toCreator, uint256 toBrand, uint256 fee) =
            SplitMath.split(ms[milestone].amount, agreement.arbiterFeeBps, creatorBps);

        // Effects
        bool completed = _finishMilestone(ms, s, milestone, MilestoneStatus.Resolved);
        emit DisputeResolved(id, milestone, toCreator, toBrand, fee, creatorBps);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _payOut(agreement, toCreator, toBrand, fee);
    }

    /// @inheritdoc IPactumEscrow
    function resolveDisputeAfterTimeout(Agreement calldata agreement, uint256 milestone)
        external
        nonReentrant
    {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        Milestone[] calldata ms = agreement.milestones;
        _onlyParty(agreement);
        _requireDisputed(ms, s, milestone);
        uint256 until = uint256(_since[id][milestone]) + agreement.arbitrationWindow;
        if (block.timestamp <= until) revert Escrow_ArbitrationWindowOpen(until);
        (uint256 toCreator, uint256 toBrand) = SplitMath.half(ms[milestone].amount);

        // Effects
        bool completed = _finishMilestone(ms, s, milestone, MilestoneStatus.TimedOut);
        emit DisputeTimedOut(id, milestone, toCreator, toBrand);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _payOut(agreement, toCreator, toBrand, 0);
    }

    /// @inheritdoc IPactumEscrow
    function settle(
        Agreement calldata agreement,
        uint256 milestone,
        uint256 creatorAmount,
        uint40 deadline,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadActive(agreement);
        if (block.timestamp > deadline) revert Escrow_SignatureExpired(deadline, block.timestamp);
        MilestoneStatus status = _fundedMilestone(agreement.milestones, s, milestone);
        if (_isFinal(status)) revert Escrow_WrongMilestoneStatus(milestone, status);
        uint256 amount = agreement.milestones[milestone].amount;
        if (creatorAmount > amount) revert Escrow_SplitTooLarge(creatorAmount, amount);
        _requireBothSigned(
            agreement,
            _hashTypedDataV4(AgreementHashing.hashSettlement(id, milestone, creatorAmount, deadline)),
            brandSignature,
            creatorSignature
        );

        // Effects
        bool completed = _finishMilestone(agreement.milestones, s, milestone, MilestoneStatus.Settled);
        emit MilestoneSettled(id, milestone, creatorAmount, amount - creatorAmount);
        if (completed) emit AgreementCompleted(id);

        // Interactions
        _payOut(agreement, creatorAmount, amount - creatorAmount, 0);
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
        emit TerminationContested(id, msg.sender);
    }

    /// @inheritdoc IPactumEscrow
    function finalizeTermination(Agreement calldata agreement) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadTerminating(agreement, false);
        uint256 closesAt = uint256(s.since) + agreement.contestWindow;
        if (block.timestamp <= closesAt) revert Escrow_ContestWindowOpen(closesAt);

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.Uncontested, 0, _stake(agreement, s), 0);
    }

    /// @inheritdoc IPactumEscrow
    function resolveTermination(Agreement calldata agreement, uint16 creatorBps) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _loadTerminating(agreement, true);
        if (msg.sender != agreement.arbiter) revert Escrow_Unauthorized(msg.sender);
        if (creatorBps > SplitMath.BPS) revert Escrow_InvalidBps(creatorBps);
        (uint256 toCreator, uint256 toBrand, uint256 fee) =
            SplitMath.split(_stake(agreement, s), agreement.arbiterFeeBps, creatorBps);

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
        (uint256 toCreator, uint256 toBrand) = SplitMath.half(_stake(agreement, s));

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.ArbiterTimeout, toCreator, toBrand, 0);
    }

    /// @inheritdoc IPactumEscrow
    function terminateMutually(
        Agreement calldata agreement,
        uint256 creatorAmount,
        uint40 deadline,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external nonReentrant {
        // Checks
        (bytes32 id, AgreementState storage s) = _load(agreement);
        if (s.status != Status.Active && s.status != Status.Terminating) {
            revert Escrow_WrongStatus(id, uint8(s.status));
        }
        if (block.timestamp > deadline) revert Escrow_SignatureExpired(deadline, block.timestamp);
        uint256 stake = _stake(agreement, s);
        if (creatorAmount > stake) revert Escrow_SplitTooLarge(creatorAmount, stake);
        _requireBothSigned(
            agreement,
            _hashTypedDataV4(AgreementHashing.hashMutualTermination(id, creatorAmount, deadline)),
            brandSignature,
            creatorSignature
        );

        // Effects and interactions
        _endByTermination(agreement, id, s, TerminationKind.Mutual, creatorAmount, stake - creatorAmount, 0);
    }

    /*//////////////////////////////////////////////////////////////
                               WITHDRAWAL
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IPactumEscrow
    function withdraw(address token, address to) external nonReentrant {
        // Checks
        if (to == address(0)) revert Escrow_ZeroRecipient();
        uint256 amount = _claimable[token][msg.sender];
        if (amount == 0) revert Escrow_NothingToWithdraw(token, msg.sender);

        // Effects
        delete _claimable[token][msg.sender];
        emit Withdrawn(token, msg.sender, to, amount);

        // Interactions
        if (token == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE: LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @dev Validates, checks both signatures and records a new agreement as active.
    function _create(Agreement calldata a, bytes calldata brandSignature, bytes calldata creatorSignature)
        private
        returns (bytes32 id)
    {
        // Checks
        _validate(a);
        id = _id(a);
        AgreementState storage s = _states[id];
        if (s.status != Status.None) revert Escrow_AlreadyExists(id);
        _requireBothSigned(a, id, brandSignature, creatorSignature);

        // Effects
        s.status = Status.Active;
        _emitAgreementCreated(id, a);
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
            // Word 10 of the head is the milestones array's offset, relative to `a`; 0x160 means it
            // follows the 11-word head directly.
            if eq(calldataload(add(a, 0x140)), 0x160) {
                // Event data = abi.encode(agreement): the tuple's offset (0x20), then the tuple: 11
                // head words, the array's length n, and n elements of 3 words.
                let n := calldataload(add(a, 0x160))
                let size := add(0x180, mul(n, 0x60))
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

    /// @dev Checks and records the funding of the next `count` milestones; returns the amount due.
    function _recordFunding(Agreement calldata a, bytes32 id, uint256 count)
        private
        returns (uint256 amount)
    {
        // Checks
        AgreementState storage s = _states[id];
        // Both fields read together: one storage read of the slot.
        (Status status, uint256 first) = (s.status, s.fundedCount);
        if (status != Status.Active) revert Escrow_WrongStatus(id, uint8(status));
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

    /// @dev Marks a milestone final; returns whether that completed the agreement (and if so
    /// records it).
    function _finishMilestone(
        Milestone[] calldata ms,
        AgreementState storage s,
        uint256 milestone,
        MilestoneStatus finalStatus
    ) private returns (bool completed) {
        uint128 packed = _withStatus(s.milestones, milestone, finalStatus);
        // Statuses run 0..9 and the final ones are 4..9 (0100..1001): a nibble is final iff its bit 2
        // or bit 3 is set, while 0..3 have neither. Fold bit 3 of every nibble onto its bit 2 and
        // require bit 2 in each of the agreement's nibbles (1..32 of them, checked at creation).
        uint256 used = _FINAL_BITS >> (128 - 4 * ms.length);
        completed = (uint256(packed) | (uint256(packed) >> 1)) & used == used;
        s.milestones = packed;
        if (completed) s.status = Status.Completed;
    }

    /// @dev What the agreement still holds: funded milestones that have not reached a final state.
    function _stake(Agreement calldata a, AgreementState storage s) private view returns (uint256 stake) {
        (uint256 funded, uint128 packed) = (s.fundedCount, s.milestones);
        Milestone[] calldata ms = a.milestones;
        for (uint256 i; i < funded; ++i) {
            if (!_isFinal(_statusAt(packed, i))) stake += ms[i].amount;
        }
    }

    /// @dev Ends the agreement by termination and pays out what it held.
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
        s.status = Status.Terminated;
        emit AgreementTerminated(id, kind, toCreator, toBrand, fee);

        // Interactions
        _payOut(a, toCreator, toBrand, fee);
    }

    /// @dev Pays each party its part; zero parts are skipped.
    function _payOut(Agreement calldata a, uint256 toCreator, uint256 toBrand, uint256 fee) private {
        _push(a.token, a.creator, toCreator);
        _push(a.token, a.brand, toBrand);
        _push(a.token, a.arbiter, fee);
    }

    /// @dev Sends `amount` to `to`; if that fails, keeps it for `to` to withdraw, so no recipient
    /// (reverting, gas-hungry, or blacklisted by the token) can block an agreement.
    function _push(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            // No return data is copied: a recipient cannot make us pay for a large revert payload.
            assembly ("memory-safe") {
                ok := call(ETH_PUSH_GAS, to, amount, 0, 0, 0, 0)
            }
        } else {
            ok = IERC20(token).trySafeTransfer(to, amount);
        }
        if (!ok) {
            _claimable[token][to] += amount;
            emit PaymentDeferred(token, to, amount);
        }
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE: CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev The agreement's well-formedness, checked once at creation; later calls rely on the
    /// digest matching what was checked here.
    function _validate(Agreement calldata a) private view {
        // Each calldata field is read (and range-checked) once, in the order the checks use them.
        (address brand, address creator, address arbiter) = (a.brand, a.creator, a.arbiter);
        if (
            brand == address(0) || creator == address(0) || brand == creator || arbiter == brand
                || arbiter == creator
        ) revert Escrow_InvalidParties(brand, creator, arbiter);
        Milestone[] calldata ms = a.milestones;
        uint256 n = ms.length;
        if (n == 0 || n > MAX_MILESTONES) revert Escrow_InvalidMilestoneCount(n, MAX_MILESTONES);
        for (uint256 i; i < n; ++i) {
            if (ms[i].amount == 0) revert Escrow_ZeroAmount(i);
        }
        uint16 fee = a.arbiterFeeBps;
        if (fee > SplitMath.BPS) revert Escrow_InvalidFee(fee);
        if (arbiter != address(0) && a.arbitrationWindow == 0) revert Escrow_ZeroArbitrationWindow();
        address token = a.token;
        if (token != address(0) && token.code.length == 0) revert Escrow_TokenHasNoCode(token);
        uint40 deadline = a.deadline;
        if (block.timestamp > deadline) revert Escrow_SignatureExpired(deadline, block.timestamp);
    }

    /// @dev A low-s ECDSA signature by the signer's own key counts for any account; otherwise a
    /// contract wallet may vouch for it through EIP-1271. Trying the key first keeps EIP-7702
    /// accounts (code delegated to a contract that may not implement EIP-1271) able to sign with
    /// their key. A contract created by CREATE or CREATE2 has no key, so nothing recovers to it.
    function _requireSignature(address signer, bytes32 digest, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err, bytes32 errArg) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && errArg == 0 && recovered == signer) return;
        if (
            signer.code.length == 0 || !SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature)
        ) {
            revert Escrow_InvalidSignature(signer);
        }
    }

    function _requireBothSigned(
        Agreement calldata a,
        bytes32 digest,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) private view {
        _requireSignature(a.brand, digest, brandSignature);
        _requireSignature(a.creator, digest, creatorSignature);
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

    function _requireDisputed(Milestone[] calldata ms, AgreementState storage s, uint256 milestone)
        private
        view
    {
        MilestoneStatus status = _fundedMilestone(ms, s, milestone);
        if (status != MilestoneStatus.Disputed) revert Escrow_WrongMilestoneStatus(milestone, status);
    }

    /// @dev The last moment a deliverable may be submitted: the deadline, or after a revision
    /// request the later of the deadline and a fresh review window, so a late revision request
    /// cannot run the creator out of time.
    function _submissionCutoff(Milestone[] calldata ms, bytes32 id, uint256 milestone, MilestoneStatus status)
        private
        view
        returns (uint256 cutoff)
    {
        cutoff = ms[milestone].deadline;
        if (status == MilestoneStatus.RevisionRequested) {
            uint256 fresh = uint256(_since[id][milestone]) + ms[milestone].reviewWindow;
            if (fresh > cutoff) cutoff = fresh;
        }
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: MILESTONE BITS
    //////////////////////////////////////////////////////////////*/

    function _milestoneStatus(AgreementState storage s, uint256 milestone)
        private
        view
        returns (MilestoneStatus)
    {
        if (milestone >= MAX_MILESTONES) return MilestoneStatus.Open;
        return _statusAt(s.milestones, milestone);
    }

    function _setMilestoneStatus(AgreementState storage s, uint256 milestone, MilestoneStatus status)
        private
    {
        s.milestones = _withStatus(s.milestones, milestone, status);
    }

    function _statusAt(uint128 packed, uint256 milestone) private pure returns (MilestoneStatus) {
        // Safe: masked to four bits.
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
