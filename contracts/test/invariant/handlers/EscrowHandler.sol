// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

import {PactumEscrow} from "../../../src/PactumEscrow.sol";
import {
    Agreement,
    AgreementState,
    Milestone,
    MilestoneStatus,
    Status
} from "../../../src/types/DataTypes.sol";
import {BlacklistToken, MockStablecoin, RevertingReceiver} from "../../mocks/Mocks.sol";

/// @notice Drives random but mostly valid action sequences over a pool of agreements, in ETH, a plain
/// ERC-20 and a blacklisting ERC-20, and keeps independent books of every wei that moves, per
/// agreement and per milestone.
/// @dev Each action picks its agreement and milestone by a bounded index, scans from there for one the
/// action applies to (using the last observed state), and, when there is none, prepares one where it
/// can (submits a milestone to dispute it, starts a termination to contest it, ...; these steps are
/// counted as `assists`, not as the action). Actions the handler judged valid must succeed and pay
/// exactly what the handler computed; actions it judged forbidden must revert. Any deviation is
/// counted (`unexpectedReverts`, `accountingErrors`, `misuseAccepted`, `illegalTransitions`,
/// `nonceErrors`), and the invariants require the counts to stay zero (assertions inside a handler
/// would be swallowed, since reverting calls are discarded). The handler itself never reverts.
contract EscrowHandler is Test {
    /*//////////////////////////////////////////////////////////////
                              CONFIGURATION
    //////////////////////////////////////////////////////////////*/

    uint256 public constant MAX_AGREEMENTS = 32;
    uint256 public constant MAX_MILESTONES = 5;
    uint256 public constant N_ACTORS = 5;
    /// @dev Revision rounds per agreement are drawn from 0..MAX_ROUNDS: small, so they run out.
    uint256 internal constant MAX_ROUNDS = 3;

    uint256 internal constant OPEN = 1 << uint8(MilestoneStatus.Open);
    uint256 internal constant SUBMITTED = 1 << uint8(MilestoneStatus.Submitted);
    uint256 internal constant REVISION = 1 << uint8(MilestoneStatus.RevisionRequested);
    uint256 internal constant DISPUTED = 1 << uint8(MilestoneStatus.Disputed);
    uint256 internal constant NOT_FINAL = OPEN | SUBMITTED | REVISION | DISPUTED;
    uint256 internal constant IN_FLIGHT = SUBMITTED | REVISION | DISPUTED;

    PactumEscrow public immutable escrow;
    MockStablecoin public immutable usd;
    /// @dev An ERC-20 that can block `blockable`, so token pushes fail and are deferred too.
    BlacklistToken public immutable bl;
    /// @dev Refuses ETH while `accept` is false; signs through a mocked EIP-1271 answer.
    RevertingReceiver public immutable rex;
    /// @dev Withdrawals are sent here (an EOA nobody else pays).
    address public immutable sink;
    /// @dev The actor `bl` may block.
    address public immutable blockable;

    /// @dev Four keyed EOAs, then `rex`. Brands, creators and arbiters are all drawn from here.
    address[] public actors;
    mapping(address actor => uint256 key) internal _keyOf;
    /// @dev ETH (zero), `usd`, `bl`.
    address[] public tokens;

    /*//////////////////////////////////////////////////////////////
                             AGREEMENT POOL
    //////////////////////////////////////////////////////////////*/

    Agreement[] internal _agreements;
    bytes32[] public ids;
    uint256 internal _salt;

    /// @dev One agreement as the invariants see it: what went in and out (measured as balance plus
    /// claimable deltas of each party), per agreement and per milestone, and fingerprints of its
    /// state. Static fields only, so the whole pool crosses the ABI cheaply (the invariants run after
    /// every call).
    struct Record {
        bytes32 id;
        uint8 tokenIndex;
        uint8 n;
        bool ended;
        /// Milestones the creator has earned (bit m): approved, or seen Submitted after its review
        /// window passed in silence (the claim matured).
        uint8 earned;
        /// Earned milestones whose payout the creator itself put back in play afterwards: it signed a
        /// settlement on it, or opened a dispute on it.
        uint8 consented;
        uint16 arbiterFeeBps;
        /// Final status each milestone was first seen in, four bits each (0 = not final yet).
        uint128 firstFinal;
        uint256 funded;
        uint256 toCreator;
        uint256 toBrand;
        uint256 toArbiter;
        uint256[MAX_MILESTONES] amounts;
        /// What each milestone paid the creator, the brand and the arbiter. A milestone action's
        /// payout belongs to its milestone; a termination's payout is for its stake only, so it is
        /// attributed to the Open milestones it cancelled (see `_attributeTermination`).
        uint256[MAX_MILESTONES] creatorPaid;
        uint256[MAX_MILESTONES] brandPaid;
        uint256[MAX_MILESTONES] arbiterPaid;
        /// keccak256 of its `AgreementState` after the last action on it.
        bytes32 lastState;
        /// Its `fingerprint` when it was first seen ended.
        bytes32 endPrint;
    }

    Record[] internal _records;

    /*//////////////////////////////////////////////////////////////
                              GHOST STATE
    //////////////////////////////////////////////////////////////*/

    mapping(address token => uint256) public ghostFunded;
    mapping(address token => uint256) public ghostToCreators;
    mapping(address token => uint256) public ghostToBrands;
    mapping(address token => uint256) public ghostToArbiters;
    mapping(address token => uint256) public ghostDeferred;
    mapping(address token => uint256) public ghostWithdrawn;

    /// @dev Last observed state of each agreement (updated after every action on it); the actions
    /// pick from it, and invariant 5 checks it still matches the escrow.
    mapping(uint256 idx => AgreementState) internal _last;

    /// @dev Whether the last call reached the escrow. A call that returned early (or only moved time or
    /// flipped a recipient) changes nothing the invariants read, so they skip re-checking after it.
    bool public touched;

    uint256 public illegalTransitions;
    uint256 public accountingErrors;
    uint256 public unexpectedReverts;
    /// @dev Calls the rules forbid that succeeded.
    uint256 public misuseAccepted;
    /// @dev Applied actions after which the state nonce had not moved by exactly one.
    uint256 public nonceErrors;

    /*//////////////////////////////////////////////////////////////
                             CALL COUNTERS
    //////////////////////////////////////////////////////////////*/

    enum Action {
        CreateFull,
        CreatePartial,
        CreateUnfunded,
        Fund,
        Submit,
        Approve,
        RequestRevision,
        ClaimAfterSilence,
        ReclaimAfterDeadline,
        Dispute,
        ResolveDispute,
        ResolveDisputeAfterTimeout,
        Settle,
        CancelSignatures,
        Terminate,
        ContestTermination,
        FinalizeTermination,
        ResolveTermination,
        ResolveTerminationAfterTimeout,
        TerminateMutually,
        Withdraw,
        Misuse,
        Warp,
        Toggle
    }

    uint256 public constant N_ACTIONS = 24;
    /// @dev Actions from `Warp` on only move time or flip a recipient: they never reach the escrow and
    /// are left out of the applied ratio.
    uint256 public constant N_ESCROW_ACTIONS = 22;
    /// @dev Per action: handler calls; calls that reached the escrow with the outcome the rules give
    /// (a success, or for a forbidden call a revert); the subset of those that were checked refusals;
    /// calls that found nothing to act on; and preparation steps other actions ran as this action.
    uint256[N_ACTIONS] public attempted;
    uint256[N_ACTIONS] public applied;
    uint256[N_ACTIONS] public refused;
    uint256[N_ACTIONS] public skipped;
    uint256[N_ACTIONS] public assists;
    /// @dev Payouts that were (at least partly) deferred, per token index (ETH, usd, bl).
    uint256[3] public deferrals;
    /// @dev Terminations that ended while some milestone was in flight (the agreement went Closing),
    /// and milestone actions applied while the agreement was Terminating or Closing.
    uint256 public closings;
    uint256 public actionsWhileEnding;
    /// @dev Terminations that ended after a claim had matured (an earned milestone stayed out of it).
    uint256 public terminationsWithEarned;

    modifier acts(Action action) {
        touched = true;
        ++attempted[uint256(action)];
        _;
    }

    /*//////////////////////////////////////////////////////////////
                               SET-UP
    //////////////////////////////////////////////////////////////*/

    constructor(PactumEscrow escrow_, MockStablecoin usd_) {
        escrow = escrow_;
        usd = usd_;
        bl = new BlacklistToken();
        rex = new RevertingReceiver();
        sink = makeAddr("sink");
        string[4] memory names = ["alice", "bob", "carol", "dave"];
        for (uint256 i; i < 4; ++i) {
            (address actor, uint256 key) = makeAddrAndKey(names[i]);
            actors.push(actor);
            _keyOf[actor] = key;
        }
        actors.push(address(rex));
        vm.label(address(rex), "rex");
        blockable = actors[3];
        tokens.push(address(0));
        tokens.push(address(usd));
        tokens.push(address(bl));
        for (uint256 i; i < N_ACTORS; ++i) {
            vm.startPrank(actors[i]);
            usd.approve(address(escrow), type(uint256).max);
            bl.approve(address(escrow), type(uint256).max);
            vm.stopPrank();
        }
    }

    /*//////////////////////////////////////////////////////////////
                           FUNDING ACTIONS
    //////////////////////////////////////////////////////////////*/

    function createAndFundFull(uint256 seed) external acts(Action.CreateFull) {
        _createAgreement(seed, Action.CreateFull, false);
    }

    function createAndFundPartial(uint256 seed) external acts(Action.CreatePartial) {
        _createAgreement(seed, Action.CreatePartial, false);
    }

    function createUnfunded(uint256 seed) external acts(Action.CreateUnfunded) {
        _createAgreement(seed, Action.CreateUnfunded, false);
    }

    /// @dev Funds the next milestones of an active agreement (naming the first one). An agreement
    /// nothing is funded of yet is sometimes funded through `createAndFund` instead, which must adopt
    /// it (someone else created it) without re-checking signatures: none are given.
    function fund(uint256 aSeed, uint256 countSeed, uint256 funderSeed) external acts(Action.Fund) {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isFundable);
        if (!found && _supply(aSeed, countSeed, true)) (found, idx, s) = _findAgreement(aSeed, _isFundable);
        if (!found) return _skip(Action.Fund);
        Agreement memory a = _agreements[idx];
        uint256 first = s.fundedCount;
        uint256 k = 1 + countSeed % (a.milestones.length - first);
        address funder = actors[funderSeed % N_ACTORS];
        if (a.token == address(bl) && bl.blocked(funder)) funder = actors[0];
        uint256 amount = _sum(a, first, first + k);
        _give(a.token, funder, amount);
        uint256 before = _bal(a.token, address(escrow));
        bool adopt = first == 0 && (funderSeed >> 8) % 3 == 0;
        if (!_sendFunding(idx, a, funder, first, k, amount, adopt)) return _unexpected(Action.Fund);
        _booksFunded(idx, a.token, amount, before);
        _done(Action.Fund, idx);
    }

    /// @dev Sends the funding `fund` chose, as `fund` or (adopting) as `createAndFund`; a separate
    /// function only to stay within the stack without the optimizer (coverage builds).
    function _sendFunding(
        uint256 idx,
        Agreement memory a,
        address funder,
        uint256 first,
        uint256 k,
        uint256 amount,
        bool adopt
    ) internal returns (bool ok) {
        uint256 value = a.token == address(0) ? amount : 0;
        vm.prank(funder);
        if (adopt) {
            try escrow.createAndFund{value: value}(a, "", "", k) returns (bytes32 got) {
                ok = got == ids[idx];
                if (!ok) ++accountingErrors;
            } catch {}
        } else {
            try escrow.fund{value: value}(a, first, k) {
                ok = true;
            } catch {}
        }
    }

    /*//////////////////////////////////////////////////////////////
                           DELIVERY ACTIONS
    //////////////////////////////////////////////////////////////*/

    function submit(uint256 aSeed, uint256 mSeed) external acts(Action.Submit) {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, OPEN | REVISION, _canSubmit);
        if (!found && _supply(aSeed, mSeed, false)) {
            (found, idx, m,) = _findMilestone(aSeed, mSeed, OPEN | REVISION, _canSubmit);
        }
        if (!found) return _skip(Action.Submit);
        if (_submit(idx, m)) _done(Action.Submit, idx);
        else _unexpected(Action.Submit);
    }

    function approve(uint256 aSeed, uint256 mSeed) external acts(Action.Approve) {
        // Mostly approve delivered work, sometimes anything unfinished (disputes are mostly left to
        // the arbiter, so they live long enough to be ruled on).
        uint256 mask = mSeed % 4 == 0 ? NOT_FINAL : SUBMITTED | REVISION;
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, mask, _any);
        if (!found) (found, idx, m,) = _findMilestone(aSeed, mSeed, NOT_FINAL, _any);
        if (!found && _supply(aSeed, mSeed, false)) {
            (found, idx, m,) = _findMilestone(aSeed, mSeed, NOT_FINAL, _any);
        }
        if (!found) return _skip(Action.Approve);
        Agreement memory a = _agreements[idx];
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(a.brand);
        try escrow.approve(a, m) {
            _markEarned(idx, m); // approved: earned, and paid in the same call
            _booksMilestone(idx, m, a, snap, a.milestones[m].amount, 0, 0);
            _done(Action.Approve, idx);
        } catch {
            _unexpected(Action.Approve);
        }
    }

    /// @dev Requests a revision of a submission under review (submitting one first when there is
    /// none). Once the agreement's revision rounds are used up for that milestone the request must
    /// be refused.
    function requestRevision(uint256 aSeed, uint256 mSeed) external acts(Action.RequestRevision) {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, SUBMITTED, _inReview);
        if (!found) (found, idx, m) = _prepareSubmitted(aSeed, mSeed, false);
        if (!found) return _skip(Action.RequestRevision);
        Agreement memory a = _agreements[idx];
        (,, uint8 used) = escrow.getMilestone(ids[idx], m);
        bool allowed = used < a.revisionRounds;
        _observe(idx);
        vm.prank(a.brand);
        try escrow.requestRevision(a, m, keccak256("revise")) {
            if (!allowed) return _accepted(Action.RequestRevision, idx);
            (,, uint8 usedAfter) = escrow.getMilestone(ids[idx], m);
            if (usedAfter != used + 1) ++accountingErrors;
            _done(Action.RequestRevision, idx);
        } catch {
            if (allowed) return _unexpected(Action.RequestRevision);
            _refused(Action.RequestRevision);
        }
    }

    function claimAfterSilence(uint256 aSeed, uint256 mSeed) external acts(Action.ClaimAfterSilence) {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, SUBMITTED, _any);
        if (!found) (found, idx, m) = _prepareSubmitted(aSeed, mSeed, false);
        if (!found) return _skip(Action.ClaimAfterSilence);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(_since(idx, m)) + a.milestones[m].reviewWindow);
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(a.creator);
        try escrow.claimAfterSilence(a, m) {
            _booksMilestone(idx, m, a, snap, a.milestones[m].amount, 0, 0);
            _done(Action.ClaimAfterSilence, idx);
        } catch {
            _unexpected(Action.ClaimAfterSilence);
        }
    }

    function reclaimAfterDeadline(uint256 aSeed, uint256 mSeed) external acts(Action.ReclaimAfterDeadline) {
        // Prefer a milestone already past its cutoff; otherwise jump past the earliest cutoff of any
        // (a long warp would end every other pending submission and keep the sequences shallow).
        (bool found, uint256 idx, uint256 m, MilestoneStatus st) =
            _findMilestone(aSeed, mSeed, OPEN | REVISION, _pastCutoff);
        if (!found) (found, idx, m, st) = _earliestCutoff();
        if (!found && _supply(aSeed, mSeed, false)) (found, idx, m, st) = _earliestCutoff();
        if (!found) return _skip(Action.ReclaimAfterDeadline);
        Agreement memory a = _agreements[idx];
        _warpPast(_cutoff(idx, m, st));
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(a.brand);
        try escrow.reclaimAfterDeadline(a, m) {
            _booksMilestone(idx, m, a, snap, 0, a.milestones[m].amount, 0);
            _done(Action.ReclaimAfterDeadline, idx);
        } catch {
            _unexpected(Action.ReclaimAfterDeadline);
        }
    }

    /*//////////////////////////////////////////////////////////////
                      DISPUTE AND SETTLEMENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev Opens a dispute (submitting a milestone first when none is open to one). The brand may
    /// dispute a submission only within its review window, the creator a revision request only until
    /// its resubmission cutoff: such late disputes are tried too, and must be refused.
    function dispute(uint256 aSeed, uint256 mSeed, bool byCreator) external acts(Action.Dispute) {
        (bool found, uint256 idx, uint256 m, MilestoneStatus st) =
            _findMilestone(aSeed, mSeed, SUBMITTED | REVISION, _hasArbiter);
        if (!found) {
            (found, idx, m) = _prepareSubmitted(aSeed, mSeed, true);
            st = MilestoneStatus.Submitted;
        }
        if (!found) return _skip(Action.Dispute);
        bool allowed = st == MilestoneStatus.Submitted
            ? (byCreator || _inReview(idx, m, st))
            : (!byCreator || block.timestamp <= _cutoff(idx, m, st));
        if (!allowed && mSeed % 4 != 0) {
            // Mostly the party that may still dispute does.
            byCreator = !byCreator;
            allowed = true;
        }
        _dispute(idx, m, byCreator, allowed);
    }

    function resolveDispute(uint256 aSeed, uint256 mSeed, uint256 bpsSeed)
        external
        acts(Action.ResolveDispute)
    {
        (bool found, uint256 idx, uint256 m) = _findDisputed(aSeed, mSeed, true);
        if (!found) return _skip(Action.ResolveDispute);
        Agreement memory a = _agreements[idx];
        uint16 bps = _bps(bpsSeed);
        (uint256 c, uint256 b, uint256 f) = _split(a.milestones[m].amount, a.arbiterFeeBps, bps);
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(a.arbiter);
        try escrow.resolveDispute(a, m, bps) {
            _booksMilestone(idx, m, a, snap, c, b, f);
            _done(Action.ResolveDispute, idx);
        } catch {
            _unexpected(Action.ResolveDispute);
        }
    }

    function resolveDisputeAfterTimeout(uint256 aSeed, uint256 mSeed, bool byCreator)
        external
        acts(Action.ResolveDisputeAfterTimeout)
    {
        (bool found, uint256 idx, uint256 m) = _findDisputed(aSeed, mSeed, false);
        if (!found) return _skip(Action.ResolveDisputeAfterTimeout);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(_since(idx, m)) + a.arbitrationWindow);
        uint256 amount = a.milestones[m].amount;
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.resolveDisputeAfterTimeout(a, m) {
            _booksMilestone(idx, m, a, snap, amount / 2, amount - amount / 2, 0);
            _done(Action.ResolveDisputeAfterTimeout, idx);
        } catch {
            _unexpected(Action.ResolveDisputeAfterTimeout);
        }
    }

    /// @dev Both parties sign a split of one unfinished milestone at the current state nonce.
    function settle(uint256 aSeed, uint256 mSeed, uint256 amountSeed) external acts(Action.Settle) {
        (bool found, uint256 idx, uint256 m,) =
            _findMilestone(aSeed, mSeed, mSeed % 4 == 0 ? NOT_FINAL : IN_FLIGHT, _any);
        if (!found) (found, idx, m,) = _findMilestone(aSeed, mSeed, NOT_FINAL, _any);
        if (!found && _supply(aSeed, mSeed, false)) {
            (found, idx, m,) = _findMilestone(aSeed, mSeed, NOT_FINAL, _any);
        }
        if (!found) return _skip(Action.Settle);
        uint256 toCreator = _part(amountSeed, _agreements[idx].milestones[m].amount);
        _settle(
            idx, m, toCreator, uint40(block.timestamp + amountSeed % 1 days), actors[amountSeed % N_ACTORS]
        );
    }

    function _settle(uint256 idx, uint256 m, uint256 toCreator, uint40 deadline, address caller) internal {
        Agreement memory a = _agreements[idx];
        uint256 amount = a.milestones[m].amount;
        (bytes memory bs, bytes memory cs, uint32 nonce) = _signSettlement(idx, m, toCreator, deadline);
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(caller);
        try escrow.settle(a, m, toCreator, nonce, deadline, bs, cs) {
            _records[idx].consented |= uint8(1 << m); // the creator signed this split
            _booksMilestone(idx, m, a, snap, toCreator, amount - toCreator, 0);
            _done(Action.Settle, idx);
        } catch {
            _unexpected(Action.Settle);
        }
    }

    /// @dev Both parties sign a split (a settlement of an unfinished milestone, or a mutual
    /// termination), then one of them cancels signatures: the signed split must now be refused as
    /// stale. Counted applied when the cancel succeeded and the stale split was refused.
    function cancelSignatures(uint256 aSeed, uint256 mSeed, uint256 seed)
        external
        acts(Action.CancelSignatures)
    {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isLive);
        if (!found && _supply(aSeed, mSeed, false)) (found, idx, s) = _findAgreement(aSeed, _isLive);
        if (!found) return _skip(Action.CancelSignatures);
        (bool hasMilestone, uint256 m) = _firstWithMask(idx, s, mSeed, NOT_FINAL);
        // A mutual termination when there is no unfinished milestone to settle (never while Closing:
        // it is refused there anyway), otherwise a settlement half the time.
        bool mutual = !hasMilestone || (seed % 2 == 0 && s.status != Status.Closing);
        _cancelAndReplay(idx, m, mutual, (seed >> 8) % 2 == 0);
    }

    function _cancelAndReplay(uint256 idx, uint256 m, bool mutual, bool byBrand) internal {
        uint40 deadline = uint40(block.timestamp + 1 days);
        bytes memory bs;
        bytes memory cs;
        uint32 nonce;
        if (mutual) (bs, cs, nonce) = _signMutual(idx, 0, deadline);
        else (bs, cs, nonce) = _signSettlement(idx, m, 0, deadline);

        Agreement memory a = _agreements[idx];
        vm.prank(byBrand ? a.brand : a.creator);
        try escrow.cancelSignatures(a) {}
        catch {
            return _unexpected(Action.CancelSignatures);
        }
        // The signed split is now stale and must be refused.
        bool staleAccepted;
        if (mutual) {
            try escrow.terminateMutually(a, 0, nonce, deadline, bs, cs) {
                staleAccepted = true;
            } catch {}
        } else {
            try escrow.settle(a, m, 0, nonce, deadline, bs, cs) {
                staleAccepted = true;
            } catch {}
        }
        if (staleAccepted) ++misuseAccepted;
        ++refused[uint256(Action.CancelSignatures)];
        _done(Action.CancelSignatures, idx);
    }

    /*//////////////////////////////////////////////////////////////
                          TERMINATION ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev Starts a termination. Half the time it targets an agreement with a submission under
    /// review and first lets that review window pass in silence, so the termination runs over a
    /// claim the creator has already earned (the case invariant 6 guards).
    function terminate(uint256 aSeed, bool byCreator) external acts(Action.Terminate) {
        bool found;
        uint256 idx;
        if ((aSeed >> 128) % 2 == 0) {
            uint256 m;
            (found, idx, m,) = _findMilestone(aSeed, aSeed >> 64, SUBMITTED, _inActive);
            if (found) _warpPast(uint256(_since(idx, m)) + _agreements[idx].milestones[m].reviewWindow);
        }
        if (!found) (found, idx,) = _findAgreement(aSeed, _isActiveFunded);
        if (!found) (found, idx,) = _findAgreement(aSeed, _isActive);
        if (!found && _supply(aSeed, 0, false)) (found, idx,) = _findAgreement(aSeed, _isActive);
        if (!found) return _skip(Action.Terminate);
        if (_terminate(idx, byCreator)) _done(Action.Terminate, idx);
        else _unexpected(Action.Terminate);
    }

    function contestTermination(uint256 aSeed) external acts(Action.ContestTermination) {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isContestable);
        if (!found) (found, idx, s) = _prepareTermination(aSeed, false);
        if (!found) return _skip(Action.ContestTermination);
        if (_contest(idx, s)) _done(Action.ContestTermination, idx);
        else _unexpected(Action.ContestTermination);
    }

    function finalizeTermination(uint256 aSeed, uint256 callerSeed)
        external
        acts(Action.FinalizeTermination)
    {
        // Prefer a termination whose contest window already closed; only sometimes jump past one
        // (so contests get their chance).
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isUncontestedClosed);
        if (!found) (found, idx, s) = _findAgreement(aSeed, _isUncontested);
        if (!found) (found, idx, s) = _prepareTermination(aSeed, false);
        if (!found) return _skip(Action.FinalizeTermination);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(s.since) + a.contestWindow);
        _observe(idx);
        uint256 stake = _stake(a, s);
        Snap memory snap = _snap(a);
        vm.prank(callerSeed % 2 == 0 ? actors[callerSeed % N_ACTORS] : sink);
        try escrow.finalizeTermination(a) {
            _booksTermination(idx, a, snap, s, 0, stake, 0);
            _done(Action.FinalizeTermination, idx);
        } catch {
            _unexpected(Action.FinalizeTermination);
        }
    }

    function resolveTermination(uint256 aSeed, uint256 bpsSeed) external acts(Action.ResolveTermination) {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isContestedOpen);
        if (!found) (found, idx, s) = _prepareTermination(aSeed, true);
        if (!found) return _skip(Action.ResolveTermination);
        Agreement memory a = _agreements[idx];
        uint16 bps = _bps(bpsSeed);
        (uint256 c, uint256 b, uint256 f) = _split(_stake(a, s), a.arbiterFeeBps, bps);
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(a.arbiter);
        try escrow.resolveTermination(a, bps) {
            _booksTermination(idx, a, snap, s, c, b, f);
            _done(Action.ResolveTermination, idx);
        } catch {
            _unexpected(Action.ResolveTermination);
        }
    }

    function resolveTerminationAfterTimeout(uint256 aSeed, bool byCreator)
        external
        acts(Action.ResolveTerminationAfterTimeout)
    {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isContested);
        if (!found) (found, idx, s) = _prepareTermination(aSeed, true);
        if (!found) return _skip(Action.ResolveTerminationAfterTimeout);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(s.since) + a.arbitrationWindow);
        _observe(idx);
        uint256 stake = _stake(a, s);
        Snap memory snap = _snap(a);
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.resolveTerminationAfterTimeout(a) {
            _booksTermination(idx, a, snap, s, stake / 2, stake - stake / 2, 0);
            _done(Action.ResolveTerminationAfterTimeout, idx);
        } catch {
            _unexpected(Action.ResolveTerminationAfterTimeout);
        }
    }

    function terminateMutually(uint256 aSeed, uint256 amountSeed) external acts(Action.TerminateMutually) {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isMutualOpen);
        if (!found && _supply(aSeed, amountSeed, false)) {
            (found, idx, s) = _findAgreement(aSeed, _isMutualOpen);
        }
        if (!found) return _skip(Action.TerminateMutually);
        uint256 toCreator = _part(amountSeed, _stake(_agreements[idx], s));
        _terminateMutually(
            idx, s, toCreator, uint40(block.timestamp + amountSeed % 1 days), actors[amountSeed % N_ACTORS]
        );
    }

    function _terminateMutually(
        uint256 idx,
        AgreementState memory s,
        uint256 toCreator,
        uint40 deadline,
        address caller
    ) internal {
        Agreement memory a = _agreements[idx];
        uint256 stake = _stake(a, s);
        (bytes memory bs, bytes memory cs, uint32 nonce) = _signMutual(idx, toCreator, deadline);
        _observe(idx);
        Snap memory snap = _snap(a);
        vm.prank(caller);
        try escrow.terminateMutually(a, toCreator, nonce, deadline, bs, cs) {
            _booksTermination(idx, a, snap, s, toCreator, stake - toCreator, 0);
            _done(Action.TerminateMutually, idx);
        } catch {
            _unexpected(Action.TerminateMutually);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 MISUSE
    //////////////////////////////////////////////////////////////*/

    /// @dev Tries, as the party otherwise entitled to, an action the rules forbid. On a finished
    /// milestone (of any agreement): every milestone action. On an ended agreement, additionally:
    /// terminating, mutual termination, funding, ending a termination, cancelling signatures. While
    /// a termination is pending or closing: terminating again, funding, adopting by createAndFund,
    /// and (pending) a first submission of an Open milestone, or its reclaim past its deadline. On an active agreement: funding from
    /// the wrong first milestone. Every one must revert; one that succeeds is counted and, not
    /// being booked, breaks the other invariants too.
    function misuse(uint256 aSeed, uint256 mSeed, uint256 kindSeed) external acts(Action.Misuse) {
        uint256 count = ids.length;
        for (uint256 j; j < count; ++j) {
            uint256 idx = (aSeed % count + j) % count;
            AgreementState memory s = _last[idx];
            (bool hasFinal, uint256 m) = _firstFinal(idx, s, mSeed);
            uint256 kinds = _misuseKinds(idx, s, hasFinal);
            if (kinds == 0) continue;
            uint256 kind = _pickBit(kinds, kindSeed);
            Agreement memory a = _agreements[idx];
            _observe(idx);
            bool ok = kind < 8 ? _tryMilestoneAction(a, idx, m, kind) : _tryAgreementAction(a, idx, s, kind);
            if (ok) {
                ++misuseAccepted;
                ++skipped[uint256(Action.Misuse)];
            } else {
                _refused(Action.Misuse);
            }
            return;
        }
        _skip(Action.Misuse);
    }

    /// @dev Bit k set: misuse kind k applies to agreement `idx` in state `s`.
    function _misuseKinds(uint256 idx, AgreementState memory s, bool hasFinal)
        internal
        view
        returns (uint256 kinds)
    {
        if (hasFinal) kinds |= 0xFF; // 0..7: milestone actions on a finished milestone
        Status st = s.status;
        bool ended = st == Status.Completed || st == Status.Terminated;
        if (ended) kinds |= (1 << 9) | (1 << 11) | (1 << 12);
        if (st == Status.Closing) kinds |= (1 << 9) | (1 << 11);
        if (ended || st == Status.Terminating || st == Status.Closing) {
            kinds |= (1 << 8) | (1 << 10) | (1 << 14);
        }
        if (st == Status.Terminating) {
            (bool hasOpen,) = _firstWithMask(idx, s, 0, OPEN);
            if (hasOpen) kinds |= (1 << 13) | (1 << 16);
        }
        if (st == Status.Active && s.fundedCount < _agreements[idx].milestones.length) kinds |= 1 << 15;
    }

    function _tryMilestoneAction(Agreement memory a, uint256 idx, uint256 m, uint256 kind)
        internal
        returns (bool ok)
    {
        if (kind == 0) {
            vm.prank(a.brand);
            try escrow.approve(a, m) {
                ok = true;
            } catch {}
        } else if (kind == 1) {
            uint40 deadline = uint40(block.timestamp);
            (bytes memory bs, bytes memory cs, uint32 nonce) = _signSettlement(idx, m, 0, deadline);
            try escrow.settle(a, m, 0, nonce, deadline, bs, cs) {
                ok = true;
            } catch {}
        } else if (kind == 2) {
            vm.prank(a.creator);
            try escrow.submit(a, m, bytes32(0), "") {
                ok = true;
            } catch {}
        } else if (kind == 3) {
            vm.prank(a.creator);
            try escrow.dispute(a, m, bytes32(0)) {
                ok = true;
            } catch {}
        } else if (kind == 4) {
            vm.prank(a.creator);
            try escrow.claimAfterSilence(a, m) {
                ok = true;
            } catch {}
        } else if (kind == 5) {
            vm.prank(a.brand);
            try escrow.reclaimAfterDeadline(a, m) {
                ok = true;
            } catch {}
        } else if (kind == 6) {
            vm.prank(a.arbiter);
            try escrow.resolveDispute(a, m, 5000) {
                ok = true;
            } catch {}
        } else {
            vm.prank(a.creator);
            try escrow.resolveDisputeAfterTimeout(a, m) {
                ok = true;
            } catch {}
        }
    }

    function _tryAgreementAction(Agreement memory a, uint256 idx, AgreementState memory s, uint256 kind)
        internal
        returns (bool ok)
    {
        if (kind == 8) {
            vm.prank(a.brand);
            try escrow.terminate(a, bytes32(0)) {
                ok = true;
            } catch {}
        } else if (kind == 9) {
            uint40 deadline = uint40(block.timestamp);
            (bytes memory bs, bytes memory cs, uint32 nonce) = _signMutual(idx, 0, deadline);
            try escrow.terminateMutually(a, 0, nonce, deadline, bs, cs) {
                ok = true;
            } catch {}
        } else if (kind == 10 || kind == 14 || kind == 15) {
            uint256 next = s.fundedCount;
            uint256 first = kind == 15 ? next + 1 : next;
            uint256 amount = first < a.milestones.length ? a.milestones[first].amount : 0;
            _give(a.token, actors[0], amount);
            uint256 value = a.token == address(0) ? amount : 0;
            vm.prank(actors[0]);
            if (kind == 14) {
                try escrow.createAndFund{value: value}(a, "", "", 1) {
                    ok = true;
                } catch {}
            } else {
                try escrow.fund{value: value}(a, first, 1) {
                    ok = true;
                } catch {}
            }
        } else if (kind == 11) {
            vm.prank(a.creator);
            try escrow.finalizeTermination(a) {
                ok = true;
            } catch {}
            vm.prank(a.arbiter);
            try escrow.resolveTermination(a, 5000) {
                ok = true;
            } catch {}
            vm.prank(a.brand);
            try escrow.resolveTerminationAfterTimeout(a) {
                ok = true;
            } catch {}
        } else if (kind == 12) {
            vm.prank(a.brand);
            try escrow.cancelSignatures(a) {
                ok = true;
            } catch {}
        } else if (kind == 13) {
            // A first submission while a termination is pending.
            (, uint256 m) = _firstWithMask(idx, s, 0, OPEN);
            vm.prank(a.creator);
            try escrow.submit(a, m, bytes32(0), "") {
                ok = true;
            } catch {}
        } else {
            // 16: the brand reclaiming, past its deadline, a milestone never submitted while a
            // termination is pending: the termination decides it (the creator can no longer submit).
            (, uint256 m) = _firstWithMask(idx, s, 0, OPEN);
            _warpPast(a.milestones[m].deadline);
            vm.prank(a.brand);
            try escrow.reclaimAfterDeadline(a, m) {
                ok = true;
            } catch {}
        }
    }

    /*//////////////////////////////////////////////////////////////
                       WITHDRAWAL, TIME, RECIPIENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev Only `rex` (ETH) and `blockable` (`bl`) are ever paid by deferral, so only they withdraw.
    function withdraw(bool rexFirst) external acts(Action.Withdraw) {
        for (uint256 i; i < 2; ++i) {
            (address account, address token) =
                (i == 0) == rexFirst ? (address(rex), address(0)) : (blockable, address(bl));
            uint256 amount = escrow.claimable(token, account);
            if (amount == 0) continue;
            uint256 sinkBefore = _bal(token, sink);
            uint256 escrowBefore = _bal(token, address(escrow));
            vm.prank(account);
            try escrow.withdraw(token, sink) {
                if (
                    _bal(token, sink) != sinkBefore + amount
                        || _bal(token, address(escrow)) + amount != escrowBefore
                        || escrow.claimable(token, account) != 0
                ) ++accountingErrors;
                ghostWithdrawn[token] += amount;
                ++applied[uint256(Action.Withdraw)];
            } catch {
                _unexpected(Action.Withdraw);
            }
            return;
        }
        _skip(Action.Withdraw);
    }

    function warp(uint256 secs) external {
        touched = false;
        vm.warp(block.timestamp + secs % 3 days);
        ++attempted[uint256(Action.Warp)];
        ++applied[uint256(Action.Warp)];
    }

    /// @dev Flips whether `rex` accepts ETH, or whether `bl` blocks `blockable`.
    function toggleRecipients(bool flipRex) external {
        touched = false;
        if (flipRex) rex.setAccept(!rex.accept());
        else bl.setBlocked(blockable, !bl.blocked(blockable));
        ++attempted[uint256(Action.Toggle)];
        ++applied[uint256(Action.Toggle)];
    }

    /*//////////////////////////////////////////////////////////////
                          VIEWS FOR INVARIANTS
    //////////////////////////////////////////////////////////////*/

    function agreementCount() external view returns (uint256) {
        return ids.length;
    }

    function agreement(uint256 idx) external view returns (Agreement memory) {
        return _agreements[idx];
    }

    /// @dev The whole pool's books in one call.
    function records() external view returns (Record[] memory) {
        return _records;
    }

    /// @dev keccak256 over the agreement's state and every milestone's status, time and revision
    /// rounds. The invariant test computes the same from the escrow's views.
    function fingerprint(bytes32 id, uint256 n) public view returns (bytes32 h) {
        h = keccak256(abi.encode(escrow.getState(id)));
        for (uint256 m; m < n; ++m) {
            (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, m);
            h = keccak256(abi.encode(h, st, since, revisions));
        }
    }

    /// @dev Per token (ETH, usd, bl): total funded, total paid out (creators + brands + arbiters),
    /// and deferred but not yet withdrawn.
    function ghostTotals()
        external
        view
        returns (uint256[3] memory funded, uint256[3] memory paid, uint256[3] memory outstanding)
    {
        for (uint256 t; t < 3; ++t) {
            address token = tokens[t];
            funded[t] = ghostFunded[token];
            paid[t] = ghostToCreators[token] + ghostToBrands[token] + ghostToArbiters[token];
            outstanding[t] = ghostDeferred[token] - ghostWithdrawn[token];
        }
    }

    function callSummary()
        external
        view
        returns (
            uint256[N_ACTIONS] memory,
            uint256[N_ACTIONS] memory,
            uint256[N_ACTIONS] memory,
            uint256[N_ACTIONS] memory
        )
    {
        return (attempted, applied, refused, assists);
    }

    function actionName(uint256 i) public pure returns (string memory) {
        string[N_ACTIONS] memory names = [
            "createAndFundFull",
            "createAndFundPartial",
            "createUnfunded",
            "fund",
            "submit",
            "approve",
            "requestRevision",
            "claimAfterSilence",
            "reclaimAfterDeadline",
            "dispute",
            "resolveDispute",
            "resolveDisputeAfterTimeout",
            "settle",
            "cancelSignatures",
            "terminate",
            "contestTermination",
            "finalizeTermination",
            "resolveTermination",
            "resolveTerminationAfterTimeout",
            "terminateMutually",
            "withdraw",
            "misuse",
            "warp",
            "toggleRecipients"
        ];
        return names[i];
    }

    /*//////////////////////////////////////////////////////////////
                   PRIVATE: STEPS SHARED BY ACTIONS
    //////////////////////////////////////////////////////////////*/

    function _submit(uint256 idx, uint256 m) internal returns (bool ok) {
        Agreement memory a = _agreements[idx];
        _observe(idx);
        vm.prank(a.creator);
        try escrow.submit(a, m, keccak256(abi.encode(idx, m, block.timestamp)), "ipfs://x") {
            ok = true;
        } catch {}
    }

    /// @dev Opens a dispute on milestone `m` as the creator or the brand; `allowed` says whether the
    /// rules let that party dispute it now.
    function _dispute(uint256 idx, uint256 m, bool byCreator, bool allowed) internal {
        Agreement memory a = _agreements[idx];
        _observe(idx);
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.dispute(a, m, keccak256("dispute")) {
            if (!allowed) return _accepted(Action.Dispute, idx);
            // The creator disputing a milestone it had earned puts that payout in play itself.
            if (byCreator) _records[idx].consented |= _records[idx].earned & uint8(1 << m);
            _done(Action.Dispute, idx);
        } catch {
            if (allowed) return _unexpected(Action.Dispute);
            _refused(Action.Dispute);
        }
    }

    function _terminate(uint256 idx, bool byCreator) internal returns (bool ok) {
        Agreement memory a = _agreements[idx];
        _observe(idx);
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.terminate(a, keccak256("cause")) {
            ok = true;
        } catch {}
    }

    function _contest(uint256 idx, AgreementState memory s) internal returns (bool ok) {
        Agreement memory a = _agreements[idx];
        _observe(idx);
        vm.prank(s.terminatedBy == 1 ? a.creator : a.brand);
        try escrow.contestTermination(a) {
            ok = true;
        } catch {}
    }

    /// @dev Preparation: submits a funded Open milestone of an active agreement (with an arbiter if
    /// asked) that is still before its deadline. Returns it, now Submitted and in review.
    function _prepareSubmitted(uint256 aSeed, uint256 mSeed, bool needArbiter)
        internal
        returns (bool found, uint256 idx, uint256 m)
    {
        (found, idx, m,) = _findMilestone(aSeed, mSeed, OPEN, needArbiter ? _canSubmitArb : _canSubmit);
        if (!found && _supply(aSeed, mSeed, false)) {
            (found, idx, m,) = _findMilestone(aSeed, mSeed, OPEN, needArbiter ? _canSubmitArb : _canSubmit);
        }
        if (!found) return (false, 0, 0);
        if (!_submit(idx, m)) {
            _unexpected(Action.Submit);
            return (false, 0, 0);
        }
        _assist(Action.Submit, idx);
    }

    /// @dev Preparation: a disputed milestone, opened now from a submission in review (submitting
    /// one first if needed).
    function _prepareDisputed(uint256 aSeed, uint256 mSeed)
        internal
        returns (bool found, uint256 idx, uint256 m)
    {
        (found, idx, m,) = _findMilestone(aSeed, mSeed, SUBMITTED, _inReviewArb);
        if (!found) (found, idx, m) = _prepareSubmitted(aSeed, mSeed, true);
        if (!found) return (false, 0, 0);
        Agreement memory a = _agreements[idx];
        _observe(idx);
        vm.prank(mSeed % 2 == 0 ? a.brand : a.creator);
        try escrow.dispute(a, m, keccak256("dispute")) {
            _assist(Action.Dispute, idx);
        } catch {
            _unexpected(Action.Dispute);
            return (false, 0, 0);
        }
    }

    /// @dev A disputed milestone to end: within its arbitration window if `forArbiter` (preparing one
    /// when there is none), any otherwise.
    function _findDisputed(uint256 aSeed, uint256 mSeed, bool forArbiter)
        internal
        returns (bool found, uint256 idx, uint256 m)
    {
        (found, idx, m,) = _findMilestone(aSeed, mSeed, DISPUTED, forArbiter ? _arbitrationOpen : _any);
        if (!found) (found, idx, m) = _prepareDisputed(aSeed, mSeed);
    }

    /// @dev Preparation: starts a termination of an active agreement with an arbiter (and contests
    /// it if `contest`). Returns its state after.
    function _prepareTermination(uint256 aSeed, bool contest)
        internal
        returns (bool found, uint256 idx, AgreementState memory s)
    {
        (found, idx,) = _findAgreement(aSeed, _isActiveWithArbiter);
        if (!found && _supply(aSeed, 1, false)) (found, idx,) = _findAgreement(aSeed, _isActiveWithArbiter);
        if (!found) return (false, 0, s);
        bool byCreator = aSeed % 2 == 0;
        if (!_terminate(idx, byCreator)) {
            _unexpected(Action.Terminate);
            return (false, 0, s);
        }
        _assist(Action.Terminate, idx);
        s = _last[idx];
        if (!contest) return (true, idx, s);
        if (!_contest(idx, s)) {
            _unexpected(Action.ContestTermination);
            return (false, 0, s);
        }
        _assist(Action.ContestTermination, idx);
        s = _last[idx];
    }

    /*//////////////////////////////////////////////////////////////
                          PRIVATE: SELECTION
    //////////////////////////////////////////////////////////////*/

    /// @dev From agreement `aSeed` and milestone `mSeed` on, the first funded milestone of a live
    /// agreement (Active, Terminating or Closing) whose status is in `mask` and that `ok` accepts.
    /// Half the time agreements whose termination is pending or closing are searched first (pass 0),
    /// so in-flight milestones get acted on while their agreement ends.
    function _findMilestone(
        uint256 aSeed,
        uint256 mSeed,
        uint256 mask,
        function(uint256, uint256, MilestoneStatus) internal view returns (bool) ok
    ) internal view returns (bool found, uint256 idx, uint256 m, MilestoneStatus st) {
        uint256 count = ids.length;
        for (uint256 pass = (mSeed >> 128) % 2; pass < 2; ++pass) {
            for (uint256 j; j < count; ++j) {
                idx = (aSeed % count + j) % count;
                (found, m, st) = _scanMilestones(idx, mSeed, mask, ok, pass == 0);
                if (found) return (true, idx, m, st);
            }
        }
        return (false, 0, 0, MilestoneStatus.Open);
    }

    /// @dev In agreement `idx` (if live, and not Active when `endingOnly`), from `mSeed` on, the first
    /// funded milestone whose status is in `mask` and that `ok` accepts.
    function _scanMilestones(
        uint256 idx,
        uint256 mSeed,
        uint256 mask,
        function(uint256, uint256, MilestoneStatus) internal view returns (bool) ok,
        bool endingOnly
    ) internal view returns (bool, uint256 m, MilestoneStatus st) {
        // The last observed state: invariant 5 checks it equals the escrow's after every call.
        AgreementState memory s = _last[idx];
        uint256 funded = s.fundedCount;
        if (!_live(s.status) || funded == 0 || (endingOnly && s.status == Status.Active)) {
            return (false, 0, MilestoneStatus.Open);
        }
        for (uint256 i; i < funded; ++i) {
            m = (mSeed % funded + i) % funded;
            st = _statusAt(s.milestones, m);
            if ((mask >> uint8(st)) & 1 == 1 && ok(idx, m, st)) return (true, m, st);
        }
        return (false, 0, MilestoneStatus.Open);
    }

    /// @dev Of the funded milestones of live agreements the brand could reclaim once their cutoff
    /// passed (RevisionRequested ones; Open ones only while Active), the one whose cutoff comes first.
    function _earliestCutoff()
        internal
        view
        returns (bool found, uint256 idx, uint256 m, MilestoneStatus st)
    {
        uint256 best = type(uint256).max;
        for (uint256 i; i < ids.length; ++i) {
            AgreementState memory s = _last[i];
            if (!_live(s.status)) continue;
            for (uint256 j; j < s.fundedCount; ++j) {
                MilestoneStatus sj = _statusAt(s.milestones, j);
                if (sj == MilestoneStatus.Open
                        ? s.status != Status.Active
                        : sj != MilestoneStatus.RevisionRequested) {
                    continue;
                }
                uint256 c = _cutoff(i, j, sj);
                if (c < best) (best, found, idx, m, st) = (c, true, i, j, sj);
            }
        }
    }

    function _findAgreement(
        uint256 aSeed,
        function(uint256, AgreementState memory) internal view returns (bool) ok
    ) internal view returns (bool found, uint256 idx, AgreementState memory s) {
        uint256 count = ids.length;
        for (uint256 j; j < count; ++j) {
            idx = (aSeed % count + j) % count;
            s = _last[idx];
            if (ok(idx, s)) return (true, idx, s);
        }
    }

    /// @dev From `mSeed` on, a funded milestone of agreement `idx` whose status is in `mask`.
    function _firstWithMask(uint256, AgreementState memory s, uint256 mSeed, uint256 mask)
        internal
        pure
        returns (bool found, uint256 m)
    {
        uint256 funded = s.fundedCount;
        for (uint256 i; i < funded; ++i) {
            m = (mSeed % funded + i) % funded;
            if ((mask >> uint8(_statusAt(s.milestones, m))) & 1 == 1) return (true, m);
        }
    }

    /// @dev From `mSeed` on, a funded milestone of agreement `idx` in a final status (any milestone
    /// of an ended agreement).
    function _firstFinal(uint256 idx, AgreementState memory s, uint256 mSeed)
        internal
        view
        returns (bool found, uint256 m)
    {
        uint256 n = _agreements[idx].milestones.length;
        bool ended = s.status == Status.Completed || s.status == Status.Terminated;
        for (uint256 i; i < n; ++i) {
            m = (mSeed % n + i) % n;
            if (ended || (m < s.fundedCount && _isFinal(_statusAt(s.milestones, m)))) return (true, m);
        }
    }

    /// @dev The set bit of `bits` chosen by `seed`.
    function _pickBit(uint256 bits, uint256 seed) internal pure returns (uint256) {
        uint256 count;
        for (uint256 k; k < 17; ++k) {
            if ((bits >> k) & 1 == 1) ++count;
        }
        uint256 pick = seed % count;
        for (uint256 k; k < 17; ++k) {
            if ((bits >> k) & 1 == 1) {
                if (pick == 0) return k;
                --pick;
            }
        }
        return 0;
    }

    function _any(uint256, uint256, MilestoneStatus) internal pure returns (bool) {
        return true;
    }

    /// @dev A first submission only while Active; a resubmission in any live status; both until the
    /// milestone's cutoff.
    function _canSubmit(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (bool) {
        if (st == MilestoneStatus.Open && _last[idx].status != Status.Active) return false;
        return block.timestamp <= _cutoff(idx, m, st);
    }

    function _canSubmitArb(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (bool) {
        return _agreements[idx].arbiter != address(0) && _canSubmit(idx, m, st);
    }

    /// @dev Reclaimable now: past its cutoff; an Open milestone only while Active (once a termination
    /// has begun, milestones never submitted are the termination's to decide).
    function _pastCutoff(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (bool) {
        if (st == MilestoneStatus.Open && _last[idx].status != Status.Active) return false;
        return block.timestamp > _cutoff(idx, m, st);
    }

    function _inReview(uint256 idx, uint256 m, MilestoneStatus) internal view returns (bool) {
        return block.timestamp <= uint256(_since(idx, m)) + _agreements[idx].milestones[m].reviewWindow;
    }

    function _inReviewArb(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (bool) {
        return _agreements[idx].arbiter != address(0) && _inReview(idx, m, st);
    }

    function _inActive(uint256 idx, uint256, MilestoneStatus) internal view returns (bool) {
        return _last[idx].status == Status.Active;
    }

    function _hasArbiter(uint256 idx, uint256, MilestoneStatus) internal view returns (bool) {
        return _agreements[idx].arbiter != address(0);
    }

    function _arbitrationOpen(uint256 idx, uint256 m, MilestoneStatus) internal view returns (bool) {
        return block.timestamp <= uint256(_since(idx, m)) + _agreements[idx].arbitrationWindow;
    }

    function _live(Status st) internal pure returns (bool) {
        return st == Status.Active || st == Status.Terminating || st == Status.Closing;
    }

    function _isLive(uint256, AgreementState memory s) internal pure returns (bool) {
        return _live(s.status);
    }

    function _isActive(uint256, AgreementState memory s) internal pure returns (bool) {
        return s.status == Status.Active;
    }

    function _isActiveFunded(uint256, AgreementState memory s) internal pure returns (bool) {
        return s.status == Status.Active && s.fundedCount > 0;
    }

    function _isActiveWithArbiter(uint256 idx, AgreementState memory s) internal view returns (bool) {
        return s.status == Status.Active && s.fundedCount > 0 && _agreements[idx].arbiter != address(0);
    }

    function _isFundable(uint256 idx, AgreementState memory s) internal view returns (bool) {
        return s.status == Status.Active && s.fundedCount < _agreements[idx].milestones.length;
    }

    function _isMutualOpen(uint256, AgreementState memory s) internal pure returns (bool) {
        return s.status == Status.Active || s.status == Status.Terminating;
    }

    function _isContestable(uint256 idx, AgreementState memory s) internal view returns (bool) {
        Agreement storage a = _agreements[idx];
        return s.status == Status.Terminating && !s.contested && a.arbiter != address(0)
            && block.timestamp <= uint256(s.since) + a.contestWindow;
    }

    function _isUncontested(uint256, AgreementState memory s) internal pure returns (bool) {
        return s.status == Status.Terminating && !s.contested;
    }

    function _isUncontestedClosed(uint256 idx, AgreementState memory s) internal view returns (bool) {
        return s.status == Status.Terminating && !s.contested
            && block.timestamp > uint256(s.since) + _agreements[idx].contestWindow;
    }

    function _isContested(uint256, AgreementState memory s) internal pure returns (bool) {
        return s.status == Status.Terminating && s.contested;
    }

    function _isContestedOpen(uint256 idx, AgreementState memory s) internal view returns (bool) {
        return s.status == Status.Terminating && s.contested
            && block.timestamp <= uint256(s.since) + _agreements[idx].arbitrationWindow;
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: RULES AND MATH
    //////////////////////////////////////////////////////////////*/

    function _since(uint256 idx, uint256 m) internal view returns (uint40 since) {
        (, since,) = escrow.getMilestone(ids[idx], m);
    }

    /// @dev The last second the creator may submit (the interface's rule, restated independently).
    function _cutoff(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (uint256 cutoff) {
        Milestone storage ms = _agreements[idx].milestones[m];
        cutoff = ms.deadline;
        if (st == MilestoneStatus.RevisionRequested) {
            uint256 fresh = uint256(_since(idx, m)) + ms.reviewWindow;
            if (fresh > cutoff) cutoff = fresh;
        }
    }

    /// @dev The unearned stake a termination decides on: funded milestones never submitted (Open).
    /// Milestones under review, in revision or in dispute are not part of it.
    function _stake(Agreement memory a, AgreementState memory s) internal pure returns (uint256 stake) {
        for (uint256 i; i < s.fundedCount; ++i) {
            if (_statusAt(s.milestones, i) == MilestoneStatus.Open) stake += a.milestones[i].amount;
        }
    }

    function _split(uint256 amount, uint256 feeBps, uint256 creatorBps)
        internal
        pure
        returns (uint256 toCreator, uint256 toBrand, uint256 fee)
    {
        fee = amount * feeBps / 10_000;
        toCreator = (amount - fee) * creatorBps / 10_000;
        toBrand = amount - fee - toCreator;
    }

    function _bps(uint256 seed) internal pure returns (uint16) {
        uint256 choice = seed % 4;
        return choice == 0 ? 0 : choice == 1 ? 10_000 : uint16((seed >> 8) % 10_001);
    }

    /// @dev A part of `whole`: often an edge (none, all), otherwise anything in between.
    function _part(uint256 seed, uint256 whole) internal pure returns (uint256) {
        uint256 choice = seed % 4;
        if (choice == 0) return 0;
        if (choice == 1) return whole;
        return (seed >> 8) % (whole + 1);
    }

    function _sum(Agreement memory a, uint256 from, uint256 to) internal pure returns (uint256 sum) {
        for (uint256 i = from; i < to; ++i) {
            sum += a.milestones[i].amount;
        }
    }

    function _statusAt(uint128 packed, uint256 m) internal pure returns (MilestoneStatus) {
        return MilestoneStatus(uint8((uint256(packed) >> (m * 4)) & 0xF));
    }

    function _isFinal(MilestoneStatus st) internal pure returns (bool) {
        return uint8(st) >= uint8(MilestoneStatus.Approved);
    }

    /// @dev Milestone transitions the rules allow: forward, into final states, never out of them.
    /// Only a termination's end cancels, and only milestones never submitted.
    function _legalMove(MilestoneStatus from, MilestoneStatus to) internal pure returns (bool) {
        if (from == to) return true;
        if (_isFinal(from)) return false;
        if (uint8(to) > uint8(MilestoneStatus.Cancelled)) return false;
        if (from == MilestoneStatus.Open) {
            return to == MilestoneStatus.Submitted || to == MilestoneStatus.Approved
                || to == MilestoneStatus.Reclaimed || to == MilestoneStatus.Settled
                || to == MilestoneStatus.Cancelled;
        }
        if (from == MilestoneStatus.Submitted) {
            return to == MilestoneStatus.RevisionRequested || to == MilestoneStatus.Disputed
                || to == MilestoneStatus.Approved || to == MilestoneStatus.Claimed
                || to == MilestoneStatus.Settled;
        }
        if (from == MilestoneStatus.RevisionRequested) {
            return to == MilestoneStatus.Submitted || to == MilestoneStatus.Disputed
                || to == MilestoneStatus.Approved || to == MilestoneStatus.Reclaimed
                || to == MilestoneStatus.Settled;
        }
        // Disputed
        return to == MilestoneStatus.Approved || to == MilestoneStatus.Resolved
            || to == MilestoneStatus.TimedOut || to == MilestoneStatus.Settled;
    }

    function _legalStatusMove(Status from, Status to) internal pure returns (bool) {
        if (from == to) return true;
        if (from == Status.None) return to == Status.Active;
        if (from == Status.Active) {
            return to == Status.Terminating || to == Status.Completed || to == Status.Terminated
                || to == Status.Closing;
        }
        if (from == Status.Terminating) return to == Status.Terminated || to == Status.Closing;
        if (from == Status.Closing) return to == Status.Terminated;
        return false;
    }

    /*//////////////////////////////////////////////////////////////
                          PRIVATE: BOOKKEEPING
    //////////////////////////////////////////////////////////////*/

    /// @dev Balances and claimables of creator, brand and arbiter, and the escrow's balance.
    struct Snap {
        uint256[3] bal;
        uint256[3] claim;
        uint256 escrowBal;
    }

    function _who(Agreement memory a) internal pure returns (address[3] memory) {
        return [a.creator, a.brand, a.arbiter];
    }

    function _snap(Agreement memory a) internal view returns (Snap memory s) {
        address[3] memory who = _who(a);
        for (uint256 i; i < 3; ++i) {
            if (who[i] == address(0)) continue;
            s.bal[i] = _bal(a.token, who[i]);
            if (_deferrable(a.token, who[i])) s.claim[i] = escrow.claimable(a.token, who[i]);
        }
        s.escrowBal = _bal(a.token, address(escrow));
    }

    /// @dev Marks as earned every submitted milestone of agreement `idx` whose review window has
    /// passed: the creator's claim after silence has matured. Called before every escrow call on the
    /// agreement, after any warp, so no maturity goes unseen: a milestone's status changes only
    /// through such a call, and time only moves forward.
    function _observe(uint256 idx) internal {
        AgreementState memory s = _last[idx];
        Agreement storage a = _agreements[idx];
        Record storage r = _records[idx];
        for (uint256 m; m < s.fundedCount; ++m) {
            if (_statusAt(s.milestones, m) != MilestoneStatus.Submitted) continue;
            if (block.timestamp > uint256(_since(idx, m)) + a.milestones[m].reviewWindow) {
                r.earned |= uint8(1 << m);
            }
        }
    }

    function _markEarned(uint256 idx, uint256 m) internal {
        _records[idx].earned |= uint8(1 << m);
    }

    /// @dev Checks each party got exactly its expected part (pushed or deferred), books the payout
    /// per token and agreement, and returns what each party actually received.
    function _booksPaid(uint256 idx, Agreement memory a, Snap memory before, uint256[3] memory expected)
        internal
        returns (uint256[3] memory got)
    {
        address[3] memory who = _who(a);
        uint256 pushed;
        uint256 deferred;
        for (uint256 i; i < 3; ++i) {
            if (who[i] == address(0)) {
                if (expected[i] != 0) ++accountingErrors;
                continue;
            }
            uint256 bal = _bal(a.token, who[i]);
            uint256 claim = _deferrable(a.token, who[i]) ? escrow.claimable(a.token, who[i]) : 0;
            if (bal < before.bal[i] || claim < before.claim[i]) {
                ++accountingErrors;
                continue;
            }
            got[i] = (bal - before.bal[i]) + (claim - before.claim[i]);
            if (got[i] != expected[i]) ++accountingErrors;
            pushed += bal - before.bal[i];
            deferred += claim - before.claim[i];
        }
        if (_bal(a.token, address(escrow)) + pushed != before.escrowBal) ++accountingErrors;
        if (deferred > 0) ++deferrals[_tokenIndex(a.token)];

        Record storage r = _records[idx];
        r.toCreator += got[0];
        r.toBrand += got[1];
        r.toArbiter += got[2];
        ghostToCreators[a.token] += got[0];
        ghostToBrands[a.token] += got[1];
        ghostToArbiters[a.token] += got[2];
        ghostDeferred[a.token] += deferred;
    }

    /// @dev Books a milestone action's payout: all of it belongs to milestone `m`.
    function _booksMilestone(
        uint256 idx,
        uint256 m,
        Agreement memory a,
        Snap memory before,
        uint256 toCreator,
        uint256 toBrand,
        uint256 fee
    ) internal {
        uint256[3] memory got = _booksPaid(idx, a, before, [toCreator, toBrand, fee]);
        Record storage r = _records[idx];
        r.creatorPaid[m] += got[0];
        r.brandPaid[m] += got[1];
        r.arbiterPaid[m] += got[2];
        if (_last[idx].status != Status.Active) ++actionsWhileEnding;
    }

    /// @dev Books a termination's end. `s` is the agreement's state just before it.
    function _booksTermination(
        uint256 idx,
        Agreement memory a,
        Snap memory before,
        AgreementState memory s,
        uint256 toCreator,
        uint256 toBrand,
        uint256 fee
    ) internal {
        uint256[3] memory got = _booksPaid(idx, a, before, [toCreator, toBrand, fee]);
        _attributeTermination(idx, a, s, got);
        Record storage r = _records[idx];
        for (uint256 m; m < s.fundedCount; ++m) {
            if ((r.earned >> m) & 1 == 1 && !_isFinal(_statusAt(s.milestones, m))) {
                ++terminationsWithEarned;
                break;
            }
        }
    }

    /// @dev Attributes what a termination actually paid to the milestones it decided on: the funded
    /// Open ones (its stake). The three parts, laid end to end (creator's, brand's, arbiter's), are
    /// cut into consecutive segments of those milestones' amounts, so each cancelled milestone is
    /// attributed exactly its amount when the payout equals the stake. Should a termination pay out
    /// more than that stake (as the escrow once did, taking every unfinished milestone), the
    /// segments run over every unfinished funded milestone instead, so earned milestones it took are
    /// charged with what it paid for them; anything left over lands on the last one.
    function _attributeTermination(
        uint256 idx,
        Agreement memory a,
        AgreementState memory s,
        uint256[3] memory got
    ) internal {
        uint256 total = got[0] + got[1] + got[2];
        uint256 mask = total == _stake(a, s) ? OPEN : NOT_FINAL;
        Record storage r = _records[idx];
        uint256 part; // which of the three parts is being cut
        uint256 left = got[0]; // what is left of it
        uint256 last = type(uint256).max;
        for (uint256 m; m < s.fundedCount; ++m) {
            if ((mask >> uint8(_statusAt(s.milestones, m))) & 1 == 0) continue;
            last = m;
            uint256 need = a.milestones[m].amount;
            while (need > 0 && part < 3) {
                uint256 take = left < need ? left : need;
                if (part == 0) r.creatorPaid[m] += take;
                else if (part == 1) r.brandPaid[m] += take;
                else r.arbiterPaid[m] += take;
                need -= take;
                left -= take;
                if (left == 0 && ++part < 3) left = got[part];
            }
        }
        // Leftovers (a payout larger than every unfinished milestone): onto the last one, or the first.
        if (last == type(uint256).max) last = 0;
        while (part < 3) {
            if (part == 0) r.creatorPaid[last] += left;
            else if (part == 1) r.brandPaid[last] += left;
            else r.arbiterPaid[last] += left;
            if (++part < 3) left = got[part];
        }
    }

    function _booksFunded(uint256 idx, address token, uint256 amount, uint256 escrowBefore) internal {
        if (_bal(token, address(escrow)) != escrowBefore + amount) ++accountingErrors;
        _records[idx].funded += amount;
        ghostFunded[token] += amount;
    }

    /// @dev Records an applied action and checks the agreement's state moved legally.
    function _done(Action action, uint256 idx) internal {
        ++applied[uint256(action)];
        _observeState(idx);
    }

    /// @dev A preparation step another action ran as `action`.
    function _assist(Action action, uint256 idx) internal {
        ++assists[uint256(action)];
        _observeState(idx);
    }

    /// @dev Checks the agreement's state moved legally since last observed (one step: the nonce moved
    /// by exactly one, or was set at creation) and records it.
    function _observeState(uint256 idx) internal {
        AgreementState memory s = escrow.getState(ids[idx]);
        AgreementState memory prev = _last[idx];
        if (!_legalStatusMove(prev.status, s.status)) ++illegalTransitions;
        if (s.fundedCount < prev.fundedCount) ++illegalTransitions;
        uint256 wantNonce = prev.status == Status.None ? (s.fundedCount > 0 ? 1 : 0) : uint256(prev.nonce) + 1;
        if (s.nonce != wantNonce) ++nonceErrors;
        Record storage r = _records[idx];
        uint256 n = r.n;
        if (uint256(s.milestones) >> (4 * n) != 0) ++illegalTransitions; // bits beyond the last milestone
        uint128 firstFinal = r.firstFinal;
        for (uint256 i; i < n; ++i) {
            MilestoneStatus to = _statusAt(s.milestones, i);
            MilestoneStatus from = _statusAt(prev.milestones, i);
            if (!_legalMove(from, to)) ++illegalTransitions;
            // Cancelled only by a termination's end, and only what was never submitted.
            if (to == MilestoneStatus.Cancelled && from != MilestoneStatus.Cancelled) {
                if (prev.status != Status.Active && prev.status != Status.Terminating) ++illegalTransitions;
                if (s.status != Status.Closing && s.status != Status.Terminated) ++illegalTransitions;
            }
            if (_isFinal(to) && _statusAt(firstFinal, i) == MilestoneStatus.Open) {
                firstFinal |= uint128(uint256(uint8(to)) << (4 * i));
            }
        }
        if (s.status == Status.Closing && prev.status != Status.Closing) ++closings;
        r.firstFinal = firstFinal;
        _last[idx] = s;
        r.lastState = keccak256(abi.encode(s));
        if (!r.ended && (s.status == Status.Completed || s.status == Status.Terminated)) {
            r.ended = true;
            r.endPrint = fingerprint(ids[idx], n);
        }
    }

    function _skip(Action action) internal {
        touched = false;
        ++skipped[uint256(action)];
    }

    function _unexpected(Action action) internal {
        ++unexpectedReverts;
        ++skipped[uint256(action)];
    }

    /// @dev A forbidden call was refused, as the rules require: applied, nothing changed.
    function _refused(Action action) internal {
        ++applied[uint256(action)];
        ++refused[uint256(action)];
    }

    /// @dev A forbidden call on agreement `idx` succeeded. Its new state is still recorded, so the
    /// run goes on from what the escrow did (and the other invariants see where it leads).
    function _accepted(Action action, uint256 idx) internal {
        ++misuseAccepted;
        ++skipped[uint256(action)];
        _observeState(idx);
    }

    /// @dev Whether a push of `token` to `who` can fail: only `rex` refuses ETH, only `blockable` can
    /// be blocked by `bl`. (Any other deferral shows up as a payout that did not arrive.)
    function _deferrable(address token, address who) internal view returns (bool) {
        return (token == address(0) && who == address(rex)) || (token == address(bl) && who == blockable);
    }

    function _warpPast(uint256 t) internal {
        if (block.timestamp <= t) vm.warp(t + 1);
    }

    function _tokenIndex(address token) internal view returns (uint8) {
        return token == address(0) ? 0 : token == address(usd) ? 1 : 2;
    }

    function _bal(address token, address who) internal view returns (uint256) {
        return token == address(0) ? who.balance : IERC20(token).balanceOf(who);
    }

    function _give(address token, address who, uint256 amount) internal {
        if (amount == 0) return;
        if (token == address(0)) vm.deal(who, who.balance + amount);
        else if (token == address(usd)) usd.mint(who, amount);
        else bl.mint(who, amount);
    }

    /// @dev Both parties' signatures of a settlement of milestone `m` at the agreement's current
    /// state nonce (read from the escrow, as a client would).
    function _signSettlement(uint256 idx, uint256 m, uint256 toCreator, uint40 deadline)
        internal
        returns (bytes memory bs, bytes memory cs, uint32 nonce)
    {
        nonce = escrow.getState(ids[idx]).nonce;
        bytes32 digest = escrow.hashSettlement(ids[idx], m, toCreator, nonce, deadline);
        bs = _signAs(_agreements[idx].brand, digest);
        cs = _signAs(_agreements[idx].creator, digest);
    }

    function _signMutual(uint256 idx, uint256 toCreator, uint40 deadline)
        internal
        returns (bytes memory bs, bytes memory cs, uint32 nonce)
    {
        nonce = escrow.getState(ids[idx]).nonce;
        bytes32 digest = escrow.hashMutualTermination(ids[idx], toCreator, nonce, deadline);
        bs = _signAs(_agreements[idx].brand, digest);
        cs = _signAs(_agreements[idx].creator, digest);
    }

    /// @dev A signature of `digest` by `signer`: ECDSA for the keyed EOAs; for `rex`, a mocked EIP-1271
    /// answer that accepts exactly this digest with an empty signature.
    function _signAs(address signer, bytes32 digest) internal returns (bytes memory) {
        if (signer == address(rex)) {
            vm.mockCall(
                address(rex),
                abi.encodeCall(IERC1271.isValidSignature, (digest, bytes(""))),
                abi.encode(IERC1271.isValidSignature.selector)
            );
            return "";
        }
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_keyOf[signer], digest);
        return abi.encodePacked(r, s, v);
    }

    /*//////////////////////////////////////////////////////////////
                          PRIVATE: CREATION
    //////////////////////////////////////////////////////////////*/

    /// @dev Creates (and funds all, part or none of) a new agreement; as a preparation step for
    /// another action when `asAssist` (then always with an arbiter). Returns whether it did.
    function _createAgreement(uint256 seed, Action kind, bool asAssist) internal returns (bool) {
        if (ids.length >= MAX_AGREEMENTS) {
            if (!asAssist) _skip(kind);
            return false;
        }
        Agreement memory a = _newAgreement(asAssist ? seed & ~(uint256(3) << 16) : seed);
        uint256 n = a.milestones.length;
        uint256 k = kind == Action.CreateFull ? n : kind == Action.CreatePartial ? 1 + (seed >> 200) % n : 0;
        bytes32 id = escrow.hashAgreement(a);
        bytes memory bs = _signAs(a.brand, id);
        bytes memory cs = _signAs(a.creator, id);
        uint256 amount = _sum(a, 0, k);
        if (k > 0) _give(a.token, a.brand, amount);
        uint256 before = _bal(a.token, address(escrow));

        vm.prank(a.brand);
        if (k == 0) {
            try escrow.create(a, bs, cs) returns (bytes32 got) {
                if (got != id) ++accountingErrors;
            } catch {
                _unexpected(kind);
                return false;
            }
        } else {
            try escrow.createAndFund{value: a.token == address(0) ? amount : 0}(a, bs, cs, k) returns (
                bytes32 got
            ) {
                if (got != id) ++accountingErrors;
            } catch {
                _unexpected(kind);
                return false;
            }
        }
        uint256 idx = _store(a, id);
        if (k > 0) _booksFunded(idx, a.token, amount, before);
        if (asAssist) _assist(kind, idx);
        else _done(kind, idx);
        return true;
    }

    /// @dev Preparation for an action that found nothing to act on: a new agreement (with an
    /// arbiter), fully funded, or unfunded when `unfunded`, while the pool has room.
    function _supply(uint256 aSeed, uint256 mSeed, bool unfunded) internal returns (bool) {
        uint256 seed = uint256(keccak256(abi.encode(aSeed, mSeed, ids.length)));
        return _createAgreement(seed, unfunded ? Action.CreateUnfunded : Action.CreateFull, true);
    }

    /// @dev A random agreement within the escrow's creation bounds: windows in [MIN_WINDOW,
    /// MAX_WINDOW] (the contest window may be zero without an arbiter), the fee at most MAX_FEE_BPS
    /// and zero without an arbiter, deadlines in the future within MAX_TERM, few revision rounds.
    /// Edges (the smallest window, the largest fee, no revision round) come up often.
    function _newAgreement(uint256 seed) internal returns (Agreement memory a) {
        uint256 b = seed % N_ACTORS;
        uint256 c = (b + 1 + (seed >> 8) % (N_ACTORS - 1)) % N_ACTORS;
        a.brand = actors[b];
        a.creator = actors[c];
        uint256 r = (seed >> 16) % 4; // one in four agreements has no arbiter
        if (r < 3) {
            for (uint256 i; i < N_ACTORS; ++i) {
                if (i == b || i == c) continue;
                if (r == 0) {
                    a.arbiter = actors[i];
                    break;
                }
                --r;
            }
        }
        a.token = tokens[(seed >> 24) % 3];
        if (a.token == address(bl) && bl.blocked(a.brand)) a.token = address(usd);
        a.termsHash = keccak256(abi.encode("terms", seed));
        uint256 minWindow = escrow.MIN_WINDOW();
        if (a.arbiter != address(0)) {
            uint256 feeChoice = (seed >> 32) % 4;
            a.arbiterFeeBps = feeChoice == 0
                ? 0
                : feeChoice == 1
                    ? 250
                    : feeChoice == 2 ? uint16(escrow.MAX_FEE_BPS()) : uint16((seed >> 40) % 2001);
            a.contestWindow = uint32(_window(seed >> 56, minWindow, 3 days));
            a.arbitrationWindow = uint32(_window(seed >> 80, minWindow, 7 days));
        } else {
            // No arbiter: nobody can contest, the contest window may be zero; the arbitration window
            // is not checked (it is never used).
            a.contestWindow = uint32((seed >> 56) % 3 days);
            a.arbitrationWindow = uint32((seed >> 80) % 7 days);
        }
        a.revisionRounds = uint8((seed >> 96) % (MAX_ROUNDS + 1));
        a.deadline = uint40(block.timestamp + 1 days);
        a.salt = ++_salt;
        uint256 n = 1 + (seed >> 104) % MAX_MILESTONES;
        a.milestones = new Milestone[](n);
        for (uint256 i; i < n; ++i) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            a.milestones[i] = Milestone({
                amount: 1 + (h >> 128) % (10 ** (h % 31)), // log-uniform in [1, 1e30]
                deadline: uint40(block.timestamp + 1 + (h >> 8) % 60 days),
                reviewWindow: uint32(_window(h >> 48, minWindow, 5 days))
            });
        }
    }

    /// @dev A window in [min, max]: the smallest one in one case of eight, otherwise uniform.
    function _window(uint256 seed, uint256 min, uint256 max) internal pure returns (uint256) {
        if (seed % 8 == 0) return min;
        return min + (seed >> 3) % (max - min + 1);
    }

    function _store(Agreement memory a, bytes32 id) internal returns (uint256 idx) {
        idx = ids.length;
        ids.push(id);
        Record storage r = _records.push();
        r.id = id;
        r.tokenIndex = _tokenIndex(a.token);
        r.n = uint8(a.milestones.length);
        r.arbiterFeeBps = a.arbiterFeeBps;
        for (uint256 i; i < a.milestones.length; ++i) {
            r.amounts[i] = a.milestones[i].amount;
        }
        Agreement storage s = _agreements.push();
        s.brand = a.brand;
        s.creator = a.creator;
        s.arbiter = a.arbiter;
        s.token = a.token;
        s.termsHash = a.termsHash;
        s.arbiterFeeBps = a.arbiterFeeBps;
        s.contestWindow = a.contestWindow;
        s.arbitrationWindow = a.arbitrationWindow;
        s.revisionRounds = a.revisionRounds;
        s.deadline = a.deadline;
        s.salt = a.salt;
        for (uint256 i; i < a.milestones.length; ++i) {
            s.milestones.push(a.milestones[i]);
        }
    }
}
