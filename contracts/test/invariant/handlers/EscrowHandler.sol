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
/// ERC-20 and a blacklisting ERC-20, and keeps independent books of every wei that moves.
/// @dev Each action picks its agreement and milestone by a bounded index, scans from there for one the
/// action applies to (using the escrow's views), and returns early when there is none. Actions the
/// handler judged valid must succeed and pay exactly what the handler computed; any deviation is
/// counted in `unexpectedReverts` / `accountingErrors`, which the invariants require to stay zero
/// (assertions inside a handler would be swallowed, since reverting calls are discarded).
contract EscrowHandler is Test {
    /*//////////////////////////////////////////////////////////////
                              CONFIGURATION
    //////////////////////////////////////////////////////////////*/

    uint256 public constant MAX_AGREEMENTS = 12;
    uint256 public constant MAX_MILESTONES = 5;
    uint256 public constant N_ACTORS = 5;

    uint256 internal constant OPEN = 1 << uint8(MilestoneStatus.Open);
    uint256 internal constant SUBMITTED = 1 << uint8(MilestoneStatus.Submitted);
    uint256 internal constant REVISION = 1 << uint8(MilestoneStatus.RevisionRequested);
    uint256 internal constant DISPUTED = 1 << uint8(MilestoneStatus.Disputed);
    uint256 internal constant NOT_FINAL = OPEN | SUBMITTED | REVISION | DISPUTED;

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

    /// @dev One agreement as the invariants see it: what went in and out (as the handler computed it)
    /// and fingerprints of its state. Static fields only, so the whole pool crosses the ABI cheaply
    /// (the invariants run after every call).
    struct Record {
        bytes32 id;
        uint8 tokenIndex;
        uint8 n;
        bool ended;
        /// Final status each milestone was first seen in, four bits each (0 = not final yet).
        uint128 firstFinal;
        uint256 funded;
        uint256 toCreator;
        uint256 toBrand;
        uint256 toArbiter;
        uint256[MAX_MILESTONES] amounts;
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
    /// @dev Calls the rules forbid (on an ended agreement, or a finished milestone) that succeeded.
    uint256 public misuseAccepted;

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
        Terminate,
        ContestTermination,
        FinalizeTermination,
        ResolveTermination,
        ResolveTerminationAfterTimeout,
        TerminateMutually,
        Withdraw,
        Warp,
        Toggle,
        Misuse
    }

    uint256 public constant N_ACTIONS = 23;
    /// @dev How often each action ran against the escrow, and how often it found nothing to act on.
    uint256[N_ACTIONS] public applied;
    uint256[N_ACTIONS] public skipped;
    /// @dev Payouts that were (at least partly) deferred, per token index (ETH, usd, bl).
    uint256[3] public deferrals;

    modifier acts() {
        touched = true;
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

    function createAndFundFull(uint256 seed) external acts {
        _createAgreement(seed, Action.CreateFull);
    }

    function createAndFundPartial(uint256 seed) external acts {
        _createAgreement(seed, Action.CreatePartial);
    }

    function createUnfunded(uint256 seed) external acts {
        _createAgreement(seed, Action.CreateUnfunded);
    }

    function fund(uint256 aSeed, uint256 countSeed, uint256 funderSeed) external acts {
        uint256 count = ids.length;
        for (uint256 j; j < count; ++j) {
            uint256 idx = (aSeed % count + j) % count;
            AgreementState memory s = _last[idx];
            uint256 n = _agreements[idx].milestones.length;
            if (s.status != Status.Active || s.fundedCount == n) continue;
            uint256 k = 1 + countSeed % (n - s.fundedCount);
            Agreement memory a = _agreements[idx];
            address funder = actors[funderSeed % N_ACTORS];
            if (a.token == address(bl) && bl.blocked(funder)) funder = actors[0];
            uint256 amount = _sum(a, s.fundedCount, s.fundedCount + k);
            _give(a.token, funder, amount);
            uint256 before = _bal(a.token, address(escrow));
            vm.prank(funder);
            try escrow.fund{value: a.token == address(0) ? amount : 0}(a, k) {
                _booksFunded(idx, a.token, amount, before);
                _done(Action.Fund, idx);
            } catch {
                _unexpected(Action.Fund);
            }
            return;
        }
        _skip(Action.Fund);
    }

    /*//////////////////////////////////////////////////////////////
                           DELIVERY ACTIONS
    //////////////////////////////////////////////////////////////*/

    function submit(uint256 aSeed, uint256 mSeed) external acts {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, OPEN | REVISION, _canSubmit);
        if (!found) return _skip(Action.Submit);
        Agreement memory a = _agreements[idx];
        vm.prank(a.creator);
        try escrow.submit(a, m, keccak256(abi.encode(idx, m, block.timestamp)), "ipfs://x") {
            _done(Action.Submit, idx);
        } catch {
            _unexpected(Action.Submit);
        }
    }

    function approve(uint256 aSeed, uint256 mSeed) external acts {
        // Mostly approve delivered work, sometimes anything unfinished (disputes are mostly left to
        // the arbiter, so they live long enough to be ruled on).
        uint256 mask = mSeed % 4 == 0 ? NOT_FINAL : SUBMITTED | REVISION;
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, mask, _any);
        if (!found) return _skip(Action.Approve);
        Agreement memory a = _agreements[idx];
        Snap memory snap = _snap(a);
        vm.prank(a.brand);
        try escrow.approve(a, m) {
            _booksPaid(idx, a, snap, a.milestones[m].amount, 0, 0);
            _done(Action.Approve, idx);
        } catch {
            _unexpected(Action.Approve);
        }
    }

    function requestRevision(uint256 aSeed, uint256 mSeed) external acts {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, SUBMITTED, _inReview);
        if (!found) return _skip(Action.RequestRevision);
        Agreement memory a = _agreements[idx];
        vm.prank(a.brand);
        try escrow.requestRevision(a, m, keccak256("revise")) {
            _done(Action.RequestRevision, idx);
        } catch {
            _unexpected(Action.RequestRevision);
        }
    }

    function claimAfterSilence(uint256 aSeed, uint256 mSeed) external acts {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, SUBMITTED, _any);
        if (!found) return _skip(Action.ClaimAfterSilence);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(_since(idx, m)) + a.milestones[m].reviewWindow);
        Snap memory snap = _snap(a);
        vm.prank(a.creator);
        try escrow.claimAfterSilence(a, m) {
            _booksPaid(idx, a, snap, a.milestones[m].amount, 0, 0);
            _done(Action.ClaimAfterSilence, idx);
        } catch {
            _unexpected(Action.ClaimAfterSilence);
        }
    }

    function reclaimAfterDeadline(uint256 aSeed, uint256 mSeed) external acts {
        // Prefer a milestone already past its cutoff; only sometimes jump past one (a long warp
        // ends every other pending submission, so it would keep the sequences shallow).
        (bool found, uint256 idx, uint256 m, MilestoneStatus st) =
            _findMilestone(aSeed, mSeed, OPEN | REVISION, _pastCutoff);
        if (!found && mSeed % 4 == 0) {
            (found, idx, m, st) = _findMilestone(aSeed, mSeed, OPEN | REVISION, _any);
        }
        if (!found) return _skip(Action.ReclaimAfterDeadline);
        Agreement memory a = _agreements[idx];
        _warpPast(_cutoff(idx, m, st));
        Snap memory snap = _snap(a);
        vm.prank(a.brand);
        try escrow.reclaimAfterDeadline(a, m) {
            _booksPaid(idx, a, snap, 0, a.milestones[m].amount, 0);
            _done(Action.ReclaimAfterDeadline, idx);
        } catch {
            _unexpected(Action.ReclaimAfterDeadline);
        }
    }

    /*//////////////////////////////////////////////////////////////
                      DISPUTE AND SETTLEMENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    function dispute(uint256 aSeed, uint256 mSeed, bool byCreator) external acts {
        (bool found, uint256 idx, uint256 m, MilestoneStatus st) =
            _findMilestone(aSeed, mSeed, SUBMITTED | REVISION, _hasArbiter);
        if (!found) return _skip(Action.Dispute);
        Agreement memory a = _agreements[idx];
        // The brand may dispute a submission only within its review window.
        if (st == MilestoneStatus.Submitted && !_inReview(idx, m, st)) byCreator = true;
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.dispute(a, m, keccak256("dispute")) {
            _done(Action.Dispute, idx);
        } catch {
            _unexpected(Action.Dispute);
        }
    }

    function resolveDispute(uint256 aSeed, uint256 mSeed, uint256 bpsSeed) external acts {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, DISPUTED, _any);
        if (!found) return _skip(Action.ResolveDispute);
        Agreement memory a = _agreements[idx];
        uint16 bps = _bps(bpsSeed);
        (uint256 c, uint256 b, uint256 f) = _split(a.milestones[m].amount, a.arbiterFeeBps, bps);
        Snap memory snap = _snap(a);
        vm.prank(a.arbiter);
        try escrow.resolveDispute(a, m, bps) {
            _booksPaid(idx, a, snap, c, b, f);
            _done(Action.ResolveDispute, idx);
        } catch {
            _unexpected(Action.ResolveDispute);
        }
    }

    function resolveDisputeAfterTimeout(uint256 aSeed, uint256 mSeed, bool byCreator) external acts {
        (bool found, uint256 idx, uint256 m,) = _findMilestone(aSeed, mSeed, DISPUTED, _any);
        if (!found) return _skip(Action.ResolveDisputeAfterTimeout);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(_since(idx, m)) + a.arbitrationWindow);
        uint256 amount = a.milestones[m].amount;
        Snap memory snap = _snap(a);
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.resolveDisputeAfterTimeout(a, m) {
            _booksPaid(idx, a, snap, amount / 2, amount - amount / 2, 0);
            _done(Action.ResolveDisputeAfterTimeout, idx);
        } catch {
            _unexpected(Action.ResolveDisputeAfterTimeout);
        }
    }

    function settle(uint256 aSeed, uint256 mSeed, uint256 amountSeed) external acts {
        (bool found, uint256 idx, uint256 m,) =
            _findMilestone(aSeed, mSeed, mSeed % 4 == 0 ? NOT_FINAL : SUBMITTED | REVISION, _any);
        if (!found) return _skip(Action.Settle);
        Agreement memory a = _agreements[idx];
        uint256 amount = a.milestones[m].amount;
        uint256 toCreator = _part(amountSeed, amount);
        uint40 deadline = uint40(block.timestamp + amountSeed % 1 days);
        bytes32 digest = escrow.hashSettlement(ids[idx], m, toCreator, deadline);
        bytes memory bs = _signAs(a.brand, digest);
        bytes memory cs = _signAs(a.creator, digest);
        Snap memory snap = _snap(a);
        vm.prank(actors[amountSeed % N_ACTORS]);
        try escrow.settle(a, m, toCreator, deadline, bs, cs) {
            _booksPaid(idx, a, snap, toCreator, amount - toCreator, 0);
            _done(Action.Settle, idx);
        } catch {
            _unexpected(Action.Settle);
        }
    }

    /*//////////////////////////////////////////////////////////////
                          TERMINATION ACTIONS
    //////////////////////////////////////////////////////////////*/

    function terminate(uint256 aSeed, bool byCreator) external acts {
        if (aSeed % 2 == 0) return _skip(Action.Terminate); // ends agreements: keep it rarer
        (bool found, uint256 idx,) = _findAgreement(aSeed, _isActive);
        if (!found) return _skip(Action.Terminate);
        Agreement memory a = _agreements[idx];
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.terminate(a, keccak256("cause")) {
            _done(Action.Terminate, idx);
        } catch {
            _unexpected(Action.Terminate);
        }
    }

    function contestTermination(uint256 aSeed) external acts {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isContestable);
        if (!found) return _skip(Action.ContestTermination);
        Agreement memory a = _agreements[idx];
        vm.prank(s.terminatedBy == 1 ? a.creator : a.brand);
        try escrow.contestTermination(a) {
            _done(Action.ContestTermination, idx);
        } catch {
            _unexpected(Action.ContestTermination);
        }
    }

    function finalizeTermination(uint256 aSeed, uint256 callerSeed) external acts {
        // Prefer a termination whose contest window already closed; only sometimes jump past one
        // (so contests get their chance).
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isUncontestedClosed);
        if (!found && callerSeed % 4 == 0) (found, idx, s) = _findAgreement(aSeed, _isUncontested);
        if (!found) return _skip(Action.FinalizeTermination);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(s.since) + a.contestWindow);
        uint256 stake = _stake(a, s);
        Snap memory snap = _snap(a);
        vm.prank(callerSeed % 2 == 0 ? actors[callerSeed % N_ACTORS] : sink);
        try escrow.finalizeTermination(a) {
            _booksPaid(idx, a, snap, 0, stake, 0);
            _done(Action.FinalizeTermination, idx);
        } catch {
            _unexpected(Action.FinalizeTermination);
        }
    }

    function resolveTermination(uint256 aSeed, uint256 bpsSeed) external acts {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isContested);
        if (!found) return _skip(Action.ResolveTermination);
        Agreement memory a = _agreements[idx];
        uint16 bps = _bps(bpsSeed);
        (uint256 c, uint256 b, uint256 f) = _split(_stake(a, s), a.arbiterFeeBps, bps);
        Snap memory snap = _snap(a);
        vm.prank(a.arbiter);
        try escrow.resolveTermination(a, bps) {
            _booksPaid(idx, a, snap, c, b, f);
            _done(Action.ResolveTermination, idx);
        } catch {
            _unexpected(Action.ResolveTermination);
        }
    }

    function resolveTerminationAfterTimeout(uint256 aSeed, bool byCreator) external acts {
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isContested);
        if (!found) return _skip(Action.ResolveTerminationAfterTimeout);
        Agreement memory a = _agreements[idx];
        _warpPast(uint256(s.since) + a.arbitrationWindow);
        uint256 stake = _stake(a, s);
        Snap memory snap = _snap(a);
        vm.prank(byCreator ? a.creator : a.brand);
        try escrow.resolveTerminationAfterTimeout(a) {
            _booksPaid(idx, a, snap, stake / 2, stake - stake / 2, 0);
            _done(Action.ResolveTerminationAfterTimeout, idx);
        } catch {
            _unexpected(Action.ResolveTerminationAfterTimeout);
        }
    }

    function terminateMutually(uint256 aSeed, uint256 amountSeed) external acts {
        if (aSeed % 2 == 0) return _skip(Action.TerminateMutually); // ends agreements: keep it rarer
        (bool found, uint256 idx, AgreementState memory s) = _findAgreement(aSeed, _isLive);
        if (!found) return _skip(Action.TerminateMutually);
        Agreement memory a = _agreements[idx];
        uint256 stake = _stake(a, s);
        uint256 toCreator = _part(amountSeed, stake);
        uint40 deadline = uint40(block.timestamp + amountSeed % 1 days);
        bytes32 digest = escrow.hashMutualTermination(ids[idx], toCreator, deadline);
        bytes memory bs = _signAs(a.brand, digest);
        bytes memory cs = _signAs(a.creator, digest);
        Snap memory snap = _snap(a);
        vm.prank(actors[amountSeed % N_ACTORS]);
        try escrow.terminateMutually(a, toCreator, deadline, bs, cs) {
            _booksPaid(idx, a, snap, toCreator, stake - toCreator, 0);
            _done(Action.TerminateMutually, idx);
        } catch {
            _unexpected(Action.TerminateMutually);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 MISUSE
    //////////////////////////////////////////////////////////////*/

    /// @dev Tries, as the party otherwise entitled to, an action the rules forbid: any milestone action
    /// on a finished milestone, or on any milestone of an ended agreement, or (ended agreements) a
    /// termination, a funding or a termination ruling. Every one must revert; one that succeeds is
    /// counted and, not being booked, breaks the invariants too.
    function misuse(uint256 aSeed, uint256 mSeed, uint256 kindSeed) external acts {
        (bool found, uint256 idx, uint256 m, bool ended) = _findMisuseTarget(aSeed, mSeed);
        if (!found) return _skip(Action.Misuse);
        Agreement memory a = _agreements[idx];
        uint256 kind = kindSeed % (ended ? 12 : 8);
        bool ok = kind < 8 ? _tryMilestoneAction(a, idx, m, kind) : _tryAgreementAction(a, idx, kind);
        ++applied[uint256(Action.Misuse)];
        if (ok) ++misuseAccepted;
        else touched = false; // reverted: nothing changed
    }

    function _findMisuseTarget(uint256 aSeed, uint256 mSeed)
        internal
        view
        returns (bool found, uint256 idx, uint256 m, bool ended)
    {
        uint256 count = ids.length;
        for (uint256 j; j < count; ++j) {
            idx = (aSeed % count + j) % count;
            AgreementState memory s = _last[idx];
            uint256 n = _agreements[idx].milestones.length;
            ended = s.status == Status.Completed || s.status == Status.Terminated;
            for (uint256 i; i < n; ++i) {
                m = (mSeed % n + i) % n;
                if (
                    ended
                        || (m < s.fundedCount
                            && uint8(_statusAt(s.milestones, m)) >= uint8(MilestoneStatus.Approved))
                ) {
                    return (true, idx, m, ended);
                }
            }
        }
    }

    function _tryMilestoneAction(Agreement memory a, uint256 idx, uint256 m, uint256 kind)
        internal
        returns (bool)
    {
        bool ok;
        if (kind == 0) {
            vm.prank(a.brand);
            try escrow.approve(a, m) {
                ok = true;
            } catch {}
        } else if (kind == 1) {
            uint40 deadline = uint40(block.timestamp);
            bytes32 digest = escrow.hashSettlement(ids[idx], m, 0, deadline);
            bytes memory bs = _signAs(a.brand, digest);
            bytes memory cs = _signAs(a.creator, digest);
            try escrow.settle(a, m, 0, deadline, bs, cs) {
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
        return ok;
    }

    function _tryAgreementAction(Agreement memory a, uint256 idx, uint256 kind) internal returns (bool) {
        bool ok;
        if (kind == 8) {
            vm.prank(a.brand);
            try escrow.terminate(a, bytes32(0)) {
                ok = true;
            } catch {}
        } else if (kind == 9) {
            uint40 deadline = uint40(block.timestamp);
            bytes32 digest = escrow.hashMutualTermination(ids[idx], 0, deadline);
            bytes memory bs = _signAs(a.brand, digest);
            bytes memory cs = _signAs(a.creator, digest);
            try escrow.terminateMutually(a, 0, deadline, bs, cs) {
                ok = true;
            } catch {}
        } else if (kind == 10) {
            uint256 next = _last[idx].fundedCount;
            uint256 amount = next < a.milestones.length ? a.milestones[next].amount : 0;
            _give(a.token, actors[0], amount);
            vm.prank(actors[0]);
            try escrow.fund{value: a.token == address(0) ? amount : 0}(a, 1) {
                ok = true;
            } catch {}
        } else {
            vm.prank(a.creator);
            try escrow.finalizeTermination(a) {
                ok = true;
            } catch {}
            vm.prank(a.arbiter);
            try escrow.resolveTermination(a, 5000) {
                ok = true;
            } catch {}
        }
        return ok;
    }

    /*//////////////////////////////////////////////////////////////
                       WITHDRAWAL, TIME, RECIPIENTS
    //////////////////////////////////////////////////////////////*/

    /// @dev Only `rex` (ETH) and `blockable` (`bl`) are ever paid by deferral, so only they withdraw.
    function withdraw(bool rexFirst) external acts {
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
        ++applied[uint256(Action.Warp)];
    }

    /// @dev Flips whether `rex` accepts ETH, or whether `bl` blocks `blockable`.
    function toggleRecipients(bool flipRex) external {
        touched = false;
        if (flipRex) rex.setAccept(!rex.accept());
        else bl.setBlocked(blockable, !bl.blocked(blockable));
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

    /// @dev keccak256 over the agreement's state and every milestone's status and time. The invariant
    /// test computes the same from the escrow's views.
    function fingerprint(bytes32 id, uint256 n) public view returns (bytes32 h) {
        h = keccak256(abi.encode(escrow.getState(id)));
        for (uint256 m; m < n; ++m) {
            (MilestoneStatus st, uint40 since) = escrow.getMilestone(id, m);
            h = keccak256(abi.encode(h, st, since));
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

    function callSummary() external view returns (uint256[N_ACTIONS] memory, uint256[N_ACTIONS] memory) {
        return (applied, skipped);
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
            "terminate",
            "contestTermination",
            "finalizeTermination",
            "resolveTermination",
            "resolveTerminationAfterTimeout",
            "terminateMutually",
            "withdraw",
            "warp",
            "toggleRecipients",
            "misuse"
        ];
        return names[i];
    }

    /*//////////////////////////////////////////////////////////////
                          PRIVATE: CREATION
    //////////////////////////////////////////////////////////////*/

    function _createAgreement(uint256 seed, Action kind) internal {
        if (ids.length >= MAX_AGREEMENTS) return _skip(kind);
        Agreement memory a = _newAgreement(seed);
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
                return _unexpected(kind);
            }
        } else {
            try escrow.createAndFund{value: a.token == address(0) ? amount : 0}(a, bs, cs, k) returns (
                bytes32 got
            ) {
                if (got != id) ++accountingErrors;
            } catch {
                return _unexpected(kind);
            }
        }
        uint256 idx = _store(a, id);
        if (k > 0) _booksFunded(idx, a.token, amount, before);
        _done(kind, idx);
    }

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
        uint256 feeChoice = (seed >> 32) % 4;
        a.arbiterFeeBps = feeChoice == 0
            ? 0
            : feeChoice == 1 ? 250 : feeChoice == 2 ? 10_000 : uint16((seed >> 40) % 10_001);
        a.contestWindow = uint32((seed >> 56) % 3 days);
        a.arbitrationWindow = uint32(1 + (seed >> 80) % 7 days);
        a.deadline = uint40(block.timestamp + 1 days);
        a.salt = ++_salt;
        uint256 n = 1 + (seed >> 104) % MAX_MILESTONES;
        a.milestones = new Milestone[](n);
        for (uint256 i; i < n; ++i) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            a.milestones[i] = Milestone({
                amount: 1 + (h >> 128) % (10 ** (h % 31)), // log-uniform in [1, 1e30]
                deadline: uint40(block.timestamp + (h >> 8) % 60 days),
                reviewWindow: uint32((h >> 48) % 5 days)
            });
        }
    }

    function _store(Agreement memory a, bytes32 id) internal returns (uint256 idx) {
        idx = ids.length;
        ids.push(id);
        Record storage r = _records.push();
        r.id = id;
        r.tokenIndex = _tokenIndex(a.token);
        r.n = uint8(a.milestones.length);
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
        s.deadline = a.deadline;
        s.salt = a.salt;
        for (uint256 i; i < a.milestones.length; ++i) {
            s.milestones.push(a.milestones[i]);
        }
    }

    /*//////////////////////////////////////////////////////////////
                          PRIVATE: SELECTION
    //////////////////////////////////////////////////////////////*/

    /// @dev From agreement `aSeed` and milestone `mSeed` on, the first funded milestone of an active
    /// agreement whose status is in `mask` and that `ok` accepts.
    function _findMilestone(
        uint256 aSeed,
        uint256 mSeed,
        uint256 mask,
        function(uint256, uint256, MilestoneStatus) internal view returns (bool) ok
    ) internal view returns (bool found, uint256 idx, uint256 m, MilestoneStatus st) {
        uint256 count = ids.length;
        for (uint256 j; j < count; ++j) {
            idx = (aSeed % count + j) % count;
            // The last observed state: invariant 5 checks it equals the escrow's after every call.
            AgreementState memory s = _last[idx];
            uint256 funded = s.fundedCount;
            if (s.status != Status.Active || funded == 0) continue;
            for (uint256 i; i < funded; ++i) {
                m = (mSeed % funded + i) % funded;
                st = _statusAt(s.milestones, m);
                if ((mask >> uint8(st)) & 1 == 1 && ok(idx, m, st)) return (true, idx, m, st);
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

    function _any(uint256, uint256, MilestoneStatus) internal pure returns (bool) {
        return true;
    }

    function _canSubmit(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (bool) {
        return block.timestamp <= _cutoff(idx, m, st);
    }

    function _pastCutoff(uint256 idx, uint256 m, MilestoneStatus st) internal view returns (bool) {
        return block.timestamp > _cutoff(idx, m, st);
    }

    function _inReview(uint256 idx, uint256 m, MilestoneStatus) internal view returns (bool) {
        return block.timestamp <= uint256(_since(idx, m)) + _agreements[idx].milestones[m].reviewWindow;
    }

    function _hasArbiter(uint256 idx, uint256, MilestoneStatus) internal view returns (bool) {
        return _agreements[idx].arbiter != address(0);
    }

    function _isActive(uint256, AgreementState memory s) internal pure returns (bool) {
        return s.status == Status.Active;
    }

    function _isLive(uint256, AgreementState memory s) internal pure returns (bool) {
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

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: RULES AND MATH
    //////////////////////////////////////////////////////////////*/

    function _since(uint256 idx, uint256 m) internal view returns (uint40 since) {
        (, since) = escrow.getMilestone(ids[idx], m);
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

    /// @dev What the agreement still holds: funded milestones not yet final.
    function _stake(Agreement memory a, AgreementState memory s) internal pure returns (uint256 stake) {
        for (uint256 i; i < s.fundedCount; ++i) {
            if (uint8(_statusAt(s.milestones, i)) < uint8(MilestoneStatus.Approved)) {
                stake += a.milestones[i].amount;
            }
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

    /// @dev Milestone transitions the rules allow: forward, into final states, never out of them.
    function _legalMove(MilestoneStatus from, MilestoneStatus to) internal pure returns (bool) {
        if (from == to) return true;
        if (uint8(from) >= uint8(MilestoneStatus.Approved)) return false;
        if (uint8(to) > uint8(MilestoneStatus.Settled)) return false;
        if (from == MilestoneStatus.Open) {
            return to == MilestoneStatus.Submitted || to == MilestoneStatus.Approved
                || to == MilestoneStatus.Reclaimed || to == MilestoneStatus.Settled;
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
            return to == Status.Terminating || to == Status.Completed || to == Status.Terminated;
        }
        if (from == Status.Terminating) return to == Status.Terminated;
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

    /// @dev Checks each party got exactly its part (pushed or deferred) and books the payout.
    function _booksPaid(
        uint256 idx,
        Agreement memory a,
        Snap memory before,
        uint256 toCreator,
        uint256 toBrand,
        uint256 fee
    ) internal {
        address[3] memory who = _who(a);
        uint256[3] memory expected = [toCreator, toBrand, fee];
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
            if ((bal - before.bal[i]) + (claim - before.claim[i]) != expected[i]) ++accountingErrors;
            pushed += bal - before.bal[i];
            deferred += claim - before.claim[i];
        }
        if (_bal(a.token, address(escrow)) + pushed != before.escrowBal) ++accountingErrors;
        if (deferred > 0) ++deferrals[_tokenIndex(a.token)];

        Record storage r = _records[idx];
        r.toCreator += toCreator;
        r.toBrand += toBrand;
        r.toArbiter += fee;
        ghostToCreators[a.token] += toCreator;
        ghostToBrands[a.token] += toBrand;
        ghostToArbiters[a.token] += fee;
        ghostDeferred[a.token] += deferred;
    }

    function _booksFunded(uint256 idx, address token, uint256 amount, uint256 escrowBefore) internal {
        if (_bal(token, address(escrow)) != escrowBefore + amount) ++accountingErrors;
        _records[idx].funded += amount;
        ghostFunded[token] += amount;
    }

    /// @dev Records an applied action and checks the agreement's state moved legally.
    function _done(Action action, uint256 idx) internal {
        ++applied[uint256(action)];
        AgreementState memory s = escrow.getState(ids[idx]);
        AgreementState memory prev = _last[idx];
        if (!_legalStatusMove(prev.status, s.status)) ++illegalTransitions;
        if (s.fundedCount < prev.fundedCount) ++illegalTransitions;
        Record storage r = _records[idx];
        uint256 n = r.n;
        if (uint256(s.milestones) >> (4 * n) != 0) ++illegalTransitions; // bits beyond the last milestone
        uint128 firstFinal = r.firstFinal;
        for (uint256 i; i < n; ++i) {
            MilestoneStatus to = _statusAt(s.milestones, i);
            if (!_legalMove(_statusAt(prev.milestones, i), to)) ++illegalTransitions;
            if (
                uint8(to) >= uint8(MilestoneStatus.Approved)
                    && _statusAt(firstFinal, i) == MilestoneStatus.Open
            ) {
                firstFinal |= uint128(uint256(uint8(to)) << (4 * i));
            }
        }
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
        if (token == address(0)) vm.deal(who, who.balance + amount);
        else if (token == address(usd)) usd.mint(who, amount);
        else bl.mint(who, amount);
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
}
