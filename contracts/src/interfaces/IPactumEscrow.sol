// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Agreement, AgreementState, MilestoneStatus, Permit, TerminationKind} from "../types/DataTypes.sol";
import {IPullPayments} from "./IPullPayments.sol";

/// @title IPactumEscrow
/// @notice Escrow for brand–creator agreements: one immutable deployment holds every agreement.
/// @dev Events carry everything needed to rebuild each agreement's state off chain without a call:
/// `AgreementCreated` carries the whole signed agreement, every later event its id and amounts.
///
/// The rule every action keeps: what a party has earned under the agreement's rules cannot be taken
/// away by the other party's later action, and every wait has an end. A termination applies only to
/// unearned escrow (funded milestones never submitted); a milestone under review, in revision or in
/// dispute keeps its own exits during and after it. Signed settlements and mutual terminations name
/// the state nonce they priced, and either signer can void them first (`cancelSignatures`).
interface IPactumEscrow is IPullPayments {
    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A signed agreement was created. `id` is the EIP-712 digest both parties signed.
    event AgreementCreated(
        bytes32 indexed id, address indexed brand, address indexed creator, Agreement agreement
    );

    /// @notice A party revoked its signature before the agreement was created.
    event AgreementRevoked(bytes32 indexed id, address indexed by);

    /// @notice Milestones [firstMilestone, firstMilestone + count) were funded with `amount`.
    event MilestonesFunded(
        bytes32 indexed id, address indexed funder, uint256 firstMilestone, uint256 count, uint256 amount
    );

    /// @notice The creator submitted a deliverable.
    event DeliverableSubmitted(
        bytes32 indexed id, uint256 indexed milestone, bytes32 contentHash, string uri
    );

    /// @notice The brand asked for a revision of a submitted deliverable.
    event RevisionRequested(bytes32 indexed id, uint256 indexed milestone, bytes32 reasonHash);

    /// @notice The brand approved a milestone; `amount` went to the creator.
    event MilestoneApproved(bytes32 indexed id, uint256 indexed milestone, uint256 amount);

    /// @notice The brand stayed silent past the review window; the creator claimed `amount`.
    event MilestoneClaimed(bytes32 indexed id, uint256 indexed milestone, uint256 amount);

    /// @notice The creator missed the milestone's deadline; `amount` went back to the brand.
    event MilestoneReclaimed(bytes32 indexed id, uint256 indexed milestone, uint256 amount);

    /// @notice A party disputed a milestone.
    event DisputeOpened(
        bytes32 indexed id, uint256 indexed milestone, address indexed by, bytes32 reasonHash
    );

    /// @notice The arbiter ruled on a disputed milestone.
    event DisputeResolved(
        bytes32 indexed id,
        uint256 indexed milestone,
        uint256 creatorAmount,
        uint256 brandAmount,
        uint256 arbiterFee,
        uint16 creatorBps
    );

    /// @notice The arbiter did not rule in time; the milestone was split evenly without a fee.
    event DisputeTimedOut(
        bytes32 indexed id, uint256 indexed milestone, uint256 creatorAmount, uint256 brandAmount
    );

    /// @notice Both parties signed a split of one milestone.
    event MilestoneSettled(
        bytes32 indexed id, uint256 indexed milestone, uint256 creatorAmount, uint256 brandAmount
    );

    /// @notice Every milestone reached a final state: the agreement is `Completed`, or `Terminated`
    /// when a termination had begun or ended before its last milestone did.
    event AgreementCompleted(bytes32 indexed id);

    /// @notice A party ended the agreement for cause; the other may contest until `contestDeadline`.
    event TerminationStarted(
        bytes32 indexed id, address indexed by, bytes32 reasonHash, uint256 contestDeadline
    );

    /// @notice The other party contested the termination; the arbiter decides.
    event TerminationContested(bytes32 indexed id, address indexed by);

    /// @notice A termination ended the agreement. The amounts split its unearned escrow (funded
    /// milestones never submitted); milestones delivered before it run on to their own end.
    event AgreementTerminated(
        bytes32 indexed id,
        TerminationKind kind,
        uint256 creatorAmount,
        uint256 brandAmount,
        uint256 arbiterFee
    );

    /// @notice A party voided every settlement and mutual termination signed for the agreement's
    /// current state; `nonce` is the state nonce new ones must name.
    event SignaturesCancelled(bytes32 indexed id, address indexed by, uint32 nonce);

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice The agreement's parties are malformed (zero, equal, or the arbiter is a party).
    error Escrow_InvalidParties(address brand, address creator, address arbiter);
    /// @notice The agreement has no milestone, or more than the maximum.
    error Escrow_InvalidMilestoneCount(uint256 count, uint256 max);
    /// @notice A milestone amount is zero.
    error Escrow_ZeroAmount(uint256 milestone);
    /// @notice The arbiter fee is above `MAX_FEE_BPS`, or set without an arbiter.
    error Escrow_InvalidFee(uint16 feeBps);
    /// @notice A review, contest or arbitration window lies outside [`MIN_WINDOW`, `MAX_WINDOW`]
    /// (a contest window without an arbiter may be zero).
    error Escrow_InvalidWindow(uint256 window);
    /// @notice A milestone's deadline has passed already or lies beyond `MAX_TERM` from now.
    error Escrow_InvalidDeadline(uint256 milestone, uint256 deadline);
    /// @notice More revision rounds than `MAX_REVISION_ROUNDS`.
    error Escrow_TooManyRevisionRounds(uint256 rounds);
    /// @notice The token address holds no contract.
    error Escrow_TokenHasNoCode(address token);
    /// @notice The signatures' deadline has passed.
    error Escrow_SignatureExpired(uint256 deadline, uint256 nowTs);
    /// @notice `signer`'s signature does not match the digest.
    error Escrow_InvalidSignature(address signer);
    /// @notice The agreement exists already, or was revoked.
    error Escrow_AlreadyExists(bytes32 id);
    /// @notice The agreement is not in the state this action needs.
    error Escrow_WrongStatus(bytes32 id, uint8 status);
    /// @notice The caller is not the party this action belongs to.
    error Escrow_Unauthorized(address caller);
    /// @notice The milestone index is out of range.
    error Escrow_InvalidMilestone(uint256 milestone, uint256 count);
    /// @notice The milestone is not funded yet.
    error Escrow_NotFunded(uint256 milestone, uint256 fundedCount);
    /// @notice The milestone is not in the state this action needs.
    error Escrow_WrongMilestoneStatus(uint256 milestone, MilestoneStatus status);
    /// @notice Nothing to fund, or more milestones than remain unfunded.
    error Escrow_InvalidFundCount(uint256 count, uint256 remaining);
    /// @notice `fund` named another first milestone than the next unfunded one.
    error Escrow_WrongFirstMilestone(uint256 first, uint256 next);
    /// @notice The ETH sent does not match the amount due.
    error Escrow_WrongValue(uint256 expected, uint256 received);
    /// @notice The token delivered less than was sent (fee-on-transfer tokens are not supported).
    error Escrow_FundingShortfall(uint256 expected, uint256 received);
    /// @notice The submission deadline has passed.
    error Escrow_DeadlinePassed(uint256 deadline);
    /// @notice The submission deadline has not passed yet.
    error Escrow_DeadlineNotPassed(uint256 deadline);
    /// @notice The brand's review window is still open.
    error Escrow_ReviewWindowOpen(uint256 until);
    /// @notice The brand's review window has closed; the creator may claim after silence.
    error Escrow_ReviewWindowClosed(uint256 closedAt);
    /// @notice The agreement names no arbiter.
    error Escrow_NoArbiter();
    /// @notice A basis-point value is above 10,000.
    error Escrow_InvalidBps(uint256 bps);
    /// @notice The arbiter's window to rule is still open.
    error Escrow_ArbitrationWindowOpen(uint256 until);
    /// @notice The arbiter's window to rule has closed; the timeout exit is open instead.
    error Escrow_ArbitrationWindowClosed(uint256 closedAt);
    /// @notice The brand has used every revision round the agreement allows for this milestone.
    error Escrow_NoRevisionsLeft(uint256 milestone, uint256 rounds);
    /// @notice The signed split names another state than the agreement's current one (it changed,
    /// or a signer cancelled, since it was signed).
    error Escrow_StaleNonce(uint32 signed, uint32 current);
    /// @notice The contest window is still open.
    error Escrow_ContestWindowOpen(uint256 until);
    /// @notice The contest window has closed.
    error Escrow_ContestWindowClosed(uint256 closedAt);
    /// @notice A split gives the creator more than is at stake.
    error Escrow_SplitTooLarge(uint256 creatorAmount, uint256 available);

    /*//////////////////////////////////////////////////////////////
                              CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice The most milestones one agreement may have.
    function MAX_MILESTONES() external view returns (uint256);

    /// @notice The highest arbiter fee, in basis points (20%).
    function MAX_FEE_BPS() external view returns (uint256);

    /// @notice The shortest review, contest (with an arbiter) and arbitration window: one hour.
    function MIN_WINDOW() external view returns (uint256);

    /// @notice The longest review, contest and arbitration window: 90 days.
    function MAX_WINDOW() external view returns (uint256);

    /// @notice The most revision rounds per milestone an agreement may allow.
    function MAX_REVISION_ROUNDS() external view returns (uint256);

    /// @notice How far past creation a milestone's deadline may lie: five years of 365 days.
    function MAX_TERM() external view returns (uint256);

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The agreement's id: the EIP-712 digest (this chain, this escrow) both parties sign.
    /// @param agreement The agreement.
    /// @return id The digest.
    function hashAgreement(Agreement calldata agreement) external view returns (bytes32 id);

    /// @notice The EIP-712 digest both parties sign to split one milestone between them.
    /// @param id The agreement's id.
    /// @param milestone The milestone's index.
    /// @param creatorAmount What the creator receives; the brand receives the rest.
    /// @param nonce The agreement's state nonce the split prices (`getState(id).nonce`).
    /// @param deadline Unix time after which the signatures are void.
    /// @return digest The digest.
    function hashSettlement(
        bytes32 id,
        uint256 milestone,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline
    ) external view returns (bytes32 digest);

    /// @notice The EIP-712 digest both parties sign to end the agreement at once.
    /// @param id The agreement's id.
    /// @param creatorAmount What the creator receives of the agreement's unearned escrow.
    /// @param nonce The agreement's state nonce the split prices (`getState(id).nonce`).
    /// @param deadline Unix time after which the signatures are void.
    /// @return digest The digest.
    function hashMutualTermination(bytes32 id, uint256 creatorAmount, uint32 nonce, uint40 deadline)
        external
        view
        returns (bytes32 digest);

    /// @notice The stored state of an agreement.
    /// @param id The agreement's id.
    /// @return state Status, state nonce, funded count, termination data and packed milestone statuses.
    function getState(bytes32 id) external view returns (AgreementState memory state);

    /// @notice One milestone's status, the time its current phase started and the revision rounds used.
    /// @param id The agreement's id.
    /// @param milestone The milestone's index.
    /// @return status The milestone's status.
    /// @return since When it was last submitted, sent back for revision, or disputed (0 if never).
    /// @return revisions How many revisions the brand has asked for.
    function getMilestone(bytes32 id, uint256 milestone)
        external
        view
        returns (MilestoneStatus status, uint40 since, uint8 revisions);

    /*//////////////////////////////////////////////////////////////
                           OFFER AND FUNDING
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a signed agreement without funding it. Anyone may submit it.
    /// @param agreement The agreement both parties signed.
    /// @param brandSignature The brand's signature of `hashAgreement(agreement)` (ECDSA or EIP-1271).
    /// @param creatorSignature The creator's signature of the same digest.
    /// @return id The agreement's id.
    function create(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external returns (bytes32 id);

    /// @notice Creates a signed agreement and funds its first `fundCount` milestones from the caller
    /// (ETH: `msg.value`; ERC-20: `transferFrom` after the caller's approval). If someone created the
    /// same agreement first and nothing is funded yet, it only funds: a front-run `create` cannot
    /// make the brand's transaction fail.
    /// @param agreement The agreement both parties signed.
    /// @param brandSignature The brand's signature.
    /// @param creatorSignature The creator's signature.
    /// @param fundCount How many milestones to fund, in order; all of them funds everything up front.
    /// @return id The agreement's id.
    function createAndFund(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature,
        uint256 fundCount
    ) external payable returns (bytes32 id);

    /// @notice As `createAndFund`, with the caller's EIP-2612 permit for the amount in the same call.
    /// @param agreement The agreement both parties signed.
    /// @param brandSignature The brand's signature.
    /// @param creatorSignature The creator's signature.
    /// @param fundCount How many milestones to fund, in order.
    /// @param permit The caller's permit for this escrow and exactly the amount funded.
    /// @return id The agreement's id.
    function createAndFundWithPermit(
        Agreement calldata agreement,
        bytes calldata brandSignature,
        bytes calldata creatorSignature,
        uint256 fundCount,
        Permit calldata permit
    ) external returns (bytes32 id);

    /// @notice Funds milestones [first, first + count) from the caller; `first` must be the next
    /// unfunded one, so a transaction cannot fund other milestones than its sender priced. Only while
    /// the agreement is active. Refunds always go to the brand.
    /// @param agreement The agreement.
    /// @param first The first milestone to fund: the agreement's funded count.
    /// @param count How many milestones to fund, in order.
    function fund(Agreement calldata agreement, uint256 first, uint256 count) external payable;

    /// @notice As `fund`, with the caller's EIP-2612 permit for the amount in the same call.
    /// @param agreement The agreement.
    /// @param first The first milestone to fund.
    /// @param count How many milestones to fund.
    /// @param permit The caller's permit for this escrow and exactly the amount funded.
    function fundWithPermit(
        Agreement calldata agreement,
        uint256 first,
        uint256 count,
        Permit calldata permit
    ) external;

    /// @notice Revokes the caller's signature of a not-yet-created agreement: it can never be created.
    /// @param agreement The agreement; the caller must be its brand or creator.
    function revoke(Agreement calldata agreement) external;

    /*//////////////////////////////////////////////////////////////
                                DELIVERY
    //////////////////////////////////////////////////////////////*/

    /// @notice The creator submits a funded milestone's deliverable before its deadline; after a
    /// revision request, until the later of the deadline and the end of a new review window. Once a
    /// termination has begun, only a milestone in revision may be submitted (again).
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    /// @param contentHash Hash of the deliverable's content.
    /// @param uri Where the deliverable can be seen.
    function submit(Agreement calldata agreement, uint256 milestone, bytes32 contentHash, string calldata uri)
        external;

    /// @notice The brand approves a funded milestone (submitted or not), paying the creator.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    function approve(Agreement calldata agreement, uint256 milestone) external;

    /// @notice The brand asks for a revision of a submitted deliverable within its review window, at
    /// most `revisionRounds` times per milestone.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    /// @param reasonHash Hash of the brand's written reasons.
    function requestRevision(Agreement calldata agreement, uint256 milestone, bytes32 reasonHash) external;

    /// @notice The creator claims a submitted milestone after the brand's review window passed in silence.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    function claimAfterSilence(Agreement calldata agreement, uint256 milestone) external;

    /// @notice The brand takes back a funded milestone whose deliverable was not submitted in time.
    /// Once a termination has begun, only a milestone in revision (which the creator could still
    /// resubmit) can be reclaimed: milestones never submitted are the termination's to decide.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    function reclaimAfterDeadline(Agreement calldata agreement, uint256 milestone) external;

    /*//////////////////////////////////////////////////////////////
                                DISPUTES
    //////////////////////////////////////////////////////////////*/

    /// @notice Brand or creator disputes a submitted (or revision-requested) milestone. The brand
    /// may dispute a submission only within its review window; the creator a revision request only
    /// until its resubmission cutoff.
    /// @param agreement The agreement; it must name an arbiter.
    /// @param milestone The milestone's index.
    /// @param reasonHash Hash of the written reasons.
    function dispute(Agreement calldata agreement, uint256 milestone, bytes32 reasonHash) external;

    /// @notice The arbiter splits a disputed milestone within its arbitration window: its fee first,
    /// then `creatorBps` of the rest to the creator and the remainder to the brand.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    /// @param creatorBps The creator's share of what remains after the fee, in basis points.
    function resolveDispute(Agreement calldata agreement, uint256 milestone, uint16 creatorBps) external;

    /// @notice Once the arbitration window has passed without a ruling, either party splits the
    /// disputed milestone evenly, without an arbiter fee.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    function resolveDisputeAfterTimeout(Agreement calldata agreement, uint256 milestone) external;

    /// @notice Splits one funded, unfinished milestone as both parties signed; no arbiter needed.
    /// @param agreement The agreement.
    /// @param milestone The milestone's index.
    /// @param creatorAmount What the creator receives; the brand receives the rest.
    /// @param nonce The state nonce both signed; any state change since voids the signatures.
    /// @param deadline Unix time after which the signatures are void.
    /// @param brandSignature The brand's signature of `hashSettlement(...)`.
    /// @param creatorSignature The creator's signature of the same digest.
    function settle(
        Agreement calldata agreement,
        uint256 milestone,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external;

    /// @notice Voids every settlement and mutual termination signed for the agreement's current
    /// state, so a signer never leaves the other an option open until the signatures' deadline.
    /// @param agreement The agreement; the caller must be its brand or creator.
    function cancelSignatures(Agreement calldata agreement) external;

    /*//////////////////////////////////////////////////////////////
                            MORALITY CLAUSE
    //////////////////////////////////////////////////////////////*/

    /// @notice Brand or creator ends the agreement for cause; the other party may contest within
    /// the contest window. Only unearned escrow is at stake: milestones submitted, in revision or in
    /// dispute keep their own exits, and funding and new submissions stop.
    /// @param agreement The agreement.
    /// @param reasonHash Hash of the written cause.
    function terminate(Agreement calldata agreement, bytes32 reasonHash) external;

    /// @notice The party that did not start the termination contests it; the arbiter decides.
    /// @param agreement The agreement; it must name an arbiter.
    function contestTermination(Agreement calldata agreement) external;

    /// @notice After an uncontested contest window, ends the termination: the unearned escrow goes
    /// back to the brand. Anyone may call.
    /// @param agreement The agreement.
    function finalizeTermination(Agreement calldata agreement) external;

    /// @notice The arbiter rules on a contested termination within its arbitration window: its fee
    /// first, then `creatorBps` of the rest of the unearned escrow to the creator, the remainder to
    /// the brand.
    /// @param agreement The agreement.
    /// @param creatorBps The creator's share after the fee, in basis points.
    function resolveTermination(Agreement calldata agreement, uint16 creatorBps) external;

    /// @notice Once the arbitration window has passed after a contest without a ruling, either
    /// party ends the termination with the unearned escrow split evenly, without an arbiter fee.
    /// @param agreement The agreement.
    function resolveTerminationAfterTimeout(Agreement calldata agreement) external;

    /// @notice Ends the agreement at once as both parties signed: `creatorAmount` of its unearned
    /// escrow to the creator, the rest to the brand; delivered milestones run on.
    /// @param agreement The agreement.
    /// @param creatorAmount What the creator receives.
    /// @param nonce The state nonce both signed; any state change since voids the signatures.
    /// @param deadline Unix time after which the signatures are void.
    /// @param brandSignature The brand's signature of `hashMutualTermination(...)`.
    /// @param creatorSignature The creator's signature of the same digest.
    function terminateMutually(
        Agreement calldata agreement,
        uint256 creatorAmount,
        uint32 nonce,
        uint40 deadline,
        bytes calldata brandSignature,
        bytes calldata creatorSignature
    ) external;
}
