// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {console} from "forge-std/console.sol";

import {AgreementState, MilestoneStatus, Status} from "../../src/types/DataTypes.sol";
import {Base} from "../utils/Base.t.sol";
import {EscrowHandler} from "./handlers/EscrowHandler.sol";

/// @notice Invariants of the escrow over random action sequences on many agreements (see README.md).
/// @dev Invariants run after every call, so they are kept cheap: they skip the check when the last call
/// did not reach the escrow (it returned early, or only warped time), read the handler's books in one
/// call, compare with the escrow's views, and call assertEq only when a check fails.
contract PactumEscrowInvariantTest is Base {
    uint256 internal constant N_ACTORS = 5;
    uint256 internal constant N_ACTIONS = 24;
    uint256 internal constant N_ESCROW_ACTIONS = 22;
    /// @dev The least share (percent) of a run's escrow actions that must apply (reach the escrow with
    /// the outcome the rules give). The handler prepares what an action needs when it can, and
    /// measured at the `ci` depth (100 calls) runs apply 96% of them overall, the worst run of a
    /// hundred about 85%; before it prepared anything, about 45%. 70% leaves room for unlucky runs
    /// and still fails a handler that drifted into mostly skipping or mostly reverting.
    uint256 internal constant MIN_APPLIED_PERCENT = 70;

    EscrowHandler internal handler;
    address[3] internal tokens;
    address[N_ACTORS] internal actors; // four keyed EOAs, then the ETH-refusing `rex`

    function setUp() public override {
        super.setUp();
        handler = new EscrowHandler(escrow, usd);
        for (uint256 t; t < 3; ++t) {
            tokens[t] = handler.tokens(t);
        }
        for (uint256 a; a < N_ACTORS; ++a) {
            actors[a] = handler.actors(a);
        }

        bytes4[] memory selectors = new bytes4[](N_ACTIONS);
        selectors[0] = EscrowHandler.createAndFundFull.selector;
        selectors[1] = EscrowHandler.createAndFundPartial.selector;
        selectors[2] = EscrowHandler.createUnfunded.selector;
        selectors[3] = EscrowHandler.fund.selector;
        selectors[4] = EscrowHandler.submit.selector;
        selectors[5] = EscrowHandler.approve.selector;
        selectors[6] = EscrowHandler.requestRevision.selector;
        selectors[7] = EscrowHandler.claimAfterSilence.selector;
        selectors[8] = EscrowHandler.reclaimAfterDeadline.selector;
        selectors[9] = EscrowHandler.dispute.selector;
        selectors[10] = EscrowHandler.resolveDispute.selector;
        selectors[11] = EscrowHandler.resolveDisputeAfterTimeout.selector;
        selectors[12] = EscrowHandler.settle.selector;
        selectors[13] = EscrowHandler.cancelSignatures.selector;
        selectors[14] = EscrowHandler.terminate.selector;
        selectors[15] = EscrowHandler.contestTermination.selector;
        selectors[16] = EscrowHandler.finalizeTermination.selector;
        selectors[17] = EscrowHandler.resolveTermination.selector;
        selectors[18] = EscrowHandler.resolveTerminationAfterTimeout.selector;
        selectors[19] = EscrowHandler.terminateMutually.selector;
        selectors[20] = EscrowHandler.withdraw.selector;
        selectors[21] = EscrowHandler.misuse.selector;
        selectors[22] = EscrowHandler.warp.selector;
        selectors[23] = EscrowHandler.toggleRecipients.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Every property below, checked after every handler call of one campaign. Forge runs a
    /// campaign per `invariant_` function; with seven of them the `ci` profile (1,000 runs of depth
    /// 100) replayed the same handler seven times, about 55 minutes on two cores. One function checks
    /// each property against the same 100,000 calls in the time of one campaign; a failure names its
    /// property in the assertion message.
    function invariant_EscrowProperties() public view {
        _checkEscrowBalanceMatchesHoldings();
        _checkNoAgreementPaysMoreThanFunded();
        _checkEndedAgreementsPaidOutExactly();
        _checkEndedAgreementsNeverChange();
        _checkMilestoneStatusesOnlyMoveForward();
        _checkEarnedStaysEarned();
        _checkEachMilestonePaysItsAmount();
    }

    /// @notice 1. Per token, the escrow's balance is exactly what its agreements still hold (funded
    /// minus paid out) plus what is claimable and not yet withdrawn; the books agree with the escrow's
    /// views (live agreements hold their funded, unfinished milestones) and its claimable balances,
    /// and every payout paid each party exactly its share.
    function _checkEscrowBalanceMatchesHoldings() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        // Every payout the handler made paid each party (pushed or deferred) exactly its share.
        _eq(handler.accountingErrors(), 0, "a payout differed from the rules");
        EscrowHandler.Record[] memory pool = handler.records();
        uint256[3] memory held;
        uint256[3] memory heldByViews;
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            held[r.tokenIndex] += r.funded - _paid(r);
            heldByViews[r.tokenIndex] += _heldByViews(r);
        }
        (uint256[3] memory funded, uint256[3] memory paid, uint256[3] memory outstanding) =
            handler.ghostTotals();
        for (uint256 t; t < 3; ++t) {
            _eq(held[t], heldByViews[t], "books vs escrow views: what agreements hold");
            _eq(funded[t] - paid[t], held[t], "ghost totals vs per-agreement books");
            _eq(
                _tokenBalance(tokens[t], address(escrow)),
                held[t] + outstanding[t],
                "balance != held + claimable"
            );
        }
        // Cross-check with the escrow's claimable balances. Only two accounts can ever be paid by
        // deferral: `rex` in ETH (it refuses ETH while told to) and `blockable` in `bl` (while
        // blocked); the plain stablecoin never refuses a transfer.
        _eq(escrow.claimable(tokens[0], actors[4]), outstanding[0], "ETH claimable != deferred - withdrawn");
        _eq(outstanding[1], 0, "stablecoin payment deferred");
        _eq(
            escrow.claimable(tokens[2], handler.blockable()),
            outstanding[2],
            "bl claimable != deferred - withdrawn"
        );
    }

    /// @notice 2. No agreement pays out more than was funded into it (and it was funded exactly the
    /// amounts of its funded milestones).
    function _checkNoAgreementPaysMoreThanFunded() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        EscrowHandler.Record[] memory pool = handler.records();
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            if (_paid(r) > r.funded) assertLe(_paid(r), r.funded, "paid out more than funded");
            uint256 fundedCount = escrow.getState(r.id).fundedCount;
            uint256 due;
            for (uint256 m; m < fundedCount; ++m) {
                due += r.amounts[m];
            }
            _eq(r.funded, due, "funded != sum of funded milestones");
        }
    }

    /// @notice 3. Every ended agreement (Completed or Terminated) paid out exactly what was funded:
    /// creator payouts + brand refunds + arbiter fees == funded total.
    function _checkEndedAgreementsPaidOutExactly() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        EscrowHandler.Record[] memory pool = handler.records();
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            AgreementState memory s = escrow.getState(r.id);
            if (s.status != Status.Completed && s.status != Status.Terminated) continue;
            _eq(r.toCreator + r.toBrand + r.toArbiter, r.funded, "ended, but payouts != funded");
            if (s.status == Status.Completed) _eq(s.fundedCount, r.n, "completed but not fully funded");
        }
    }

    /// @notice 4. An ended agreement never changes again: its state and every milestone's status and
    /// time are as when it ended; every attempt to act on it (or on a finished milestone) is refused.
    function _checkEndedAgreementsNeverChange() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        _eq(handler.misuseAccepted(), 0, "a forbidden action on an ended agreement or milestone succeeded");
        EscrowHandler.Record[] memory pool = handler.records();
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            if (r.ended) {
                _eq(uint256(_fingerprint(r.id, r.n)), uint256(r.endPrint), "ended agreement changed");
            }
        }
    }

    /// @notice 5. Milestone statuses only move forward, into final states, and never leave one; no
    /// agreement changes except through the actions applied to it; every action valid by the rules
    /// succeeds.
    function _checkMilestoneStatusesOnlyMoveForward() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        _eq(handler.illegalTransitions(), 0, "illegal status transition");
        // Every action the handler judged valid by the rules succeeded.
        _eq(handler.unexpectedReverts(), 0, "a valid action reverted");
        // Every applied action moved the agreement's state nonce by exactly one.
        _eq(handler.nonceErrors(), 0, "state nonce did not move by exactly one");
        EscrowHandler.Record[] memory pool = handler.records();
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            AgreementState memory s = escrow.getState(r.id);
            _eq(uint256(keccak256(abi.encode(s))), uint256(r.lastState), "state changed outside an action");
            for (uint256 m; m < r.n; ++m) {
                uint8 first = _nibble(r.firstFinal, m);
                if (first != 0) _eq(_nibble(s.milestones, m), first, "milestone left a final state");
            }
        }
    }

    /// @notice 6. What the creator earned stays earned. Once a milestone is approved, or its claim has
    /// matured (submitted, and its review window passed in silence), the brand never receives
    /// escrow for it, nothing else takes any of it, and once it is final (or its agreement ended)
    /// the creator has received all of it. The creator alone may put such a payout back in play
    /// (by signing a settlement of it, or by disputing it itself); then only an arbiter's ruling on
    /// that very milestone may take a fee, at most the fee both parties signed. No termination
    /// decides on an earned milestone (it never cancels one), and a dispute timeout or a
    /// termination never pays the arbiter for it.
    /// @dev Would have failed on the escrow before issue 11: a termination's stake was every
    /// unfinished funded milestone and its end ended the agreement, so a claim that had matured
    /// (Submitted, review window over) before the brand terminated went back to the brand on an
    /// uncontested finalize (halved on a timeout, less the arbiter's fee on a ruling), and could no
    /// longer be claimed: the termination's payout exceeds its Open stake, the handler attributes
    /// it over the unfinished milestones, and `brandPaid` of the earned one is > 0 (and
    /// `creatorPaid` < amount once Terminated). A brand's late dispute (allowed before the review
    /// window rule) would have failed it too: the timeout halves an earned, unconsented payout.
    /// Both were checked on mutated copies of the escrow: with the old stake and end, this
    /// invariant fails within a few calls (a termination's ruling charges its fee on a delivered
    /// milestone, or its refund reaches the brand); with the brand's late dispute allowed, it fails
    /// "brand received escrow for an earned milestone" after three calls.
    function _checkEarnedStaysEarned() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        EscrowHandler.Record[] memory pool = handler.records();
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            if (r.earned == 0 && r.toArbiter == 0) continue;
            AgreementState memory s = escrow.getState(r.id);
            bool ended = s.status == Status.Completed || s.status == Status.Terminated;
            for (uint256 m; m < r.n; ++m) {
                uint8 st = _nibble(s.milestones, m);
                uint256 fee = r.arbiterPaid[m];
                // Only an arbiter's ruling on this milestone, or on a termination's stake (the
                // milestone it cancelled), pays the arbiter for it; a ruling at most the signed fee.
                if (fee > 0) {
                    if (st != uint8(MilestoneStatus.Resolved) && st != uint8(MilestoneStatus.Cancelled)) {
                        assertEq(fee, 0, "arbiter paid for a milestone nobody ruled on");
                    }
                    if (st == uint8(MilestoneStatus.Resolved)) {
                        assertLe(fee, r.amounts[m] * r.arbiterFeeBps / 10_000, "fee above the signed rate");
                    }
                }
                if ((r.earned >> m) & 1 == 0) continue;
                if (st == uint8(MilestoneStatus.Cancelled)) {
                    assertTrue(false, "a termination cancelled an earned milestone");
                }
                if ((r.consented >> m) & 1 == 1) continue;
                _eq(r.brandPaid[m], 0, "brand received escrow for an earned milestone");
                _eq(fee, 0, "fee taken from an earned milestone the creator never put in play");
                if (ended || st >= uint8(MilestoneStatus.Approved)) {
                    _eq(r.creatorPaid[m], r.amounts[m], "creator not paid all of an earned milestone");
                }
            }
        }
    }

    /// @notice 7. Every milestone pays out exactly once, exactly its amount: a funded milestone that
    /// is final paid creator + brand + arbiter exactly its amount (a cancelled one through the
    /// termination that decided on it), and any other milestone (unfinished, or never funded)
    /// paid nothing.
    function _checkEachMilestonePaysItsAmount() internal view {
        if (!handler.touched()) return; // the last call changed nothing these read
        EscrowHandler.Record[] memory pool = handler.records();
        for (uint256 i; i < pool.length; ++i) {
            EscrowHandler.Record memory r = pool[i];
            AgreementState memory s = escrow.getState(r.id);
            for (uint256 m; m < r.n; ++m) {
                uint256 paid = r.creatorPaid[m] + r.brandPaid[m] + r.arbiterPaid[m];
                bool finished =
                    m < s.fundedCount && _nibble(s.milestones, m) >= uint8(MilestoneStatus.Approved);
                _eq(paid, finished ? r.amounts[m] : 0, "a milestone paid out other than its amount");
            }
        }
    }

    /// @dev Asserts that most of the run's escrow actions applied (reached the escrow with the outcome
    /// the rules give: a success, or a refusal of a forbidden call), and logs the call summary
    /// (attempted / applied / refused / assists per action) and the ratio; with PACTUM_INVARIANT_LOG
    /// set to a path under this folder, also appends it there.
    function afterInvariant() external {
        (
            uint256[N_ACTIONS] memory attempted,
            uint256[N_ACTIONS] memory applied,
            uint256[N_ACTIONS] memory refused,
            uint256[N_ACTIONS] memory assists
        ) = handler.callSummary();
        string memory path = vm.envOr("PACTUM_INVARIANT_LOG", string(""));
        bool toFile = bytes(path).length != 0;
        uint256 tried;
        uint256 done;
        for (uint256 i; i < N_ACTIONS; ++i) {
            string memory name = handler.actionName(i);
            console.log(string.concat(name, " ", _counts(attempted[i], applied[i], refused[i], assists[i])));
            if (toFile) {
                vm.writeLine(
                    path, string.concat(name, " ", _counts(attempted[i], applied[i], refused[i], assists[i]))
                );
            }
            if (i < N_ESCROW_ACTIONS) {
                tried += attempted[i];
                done += applied[i];
            }
        }
        uint256 created = handler.agreementCount();
        (uint256 deferredEth, uint256 deferredBl) = (handler.deferrals(0), handler.deferrals(2));
        console.log("agreements", created, "closings", handler.closings());
        console.log(
            "actions while ending",
            handler.actionsWhileEnding(),
            "terminations with earned",
            handler.terminationsWithEarned()
        );
        console.log("deferred payouts: ETH", deferredEth, "bl", deferredBl);
        console.log("applied escrow actions", done, "of", tried);
        if (toFile) {
            vm.writeLine(path, string.concat("ratio ", vm.toString(tried), " ", vm.toString(done), " 0 0"));
            vm.writeLine(path, string.concat("agreements ", vm.toString(created), " 0 0 0"));
            vm.writeLine(path, string.concat("closings ", vm.toString(handler.closings()), " 0 0 0"));
            vm.writeLine(
                path,
                string.concat("actionsWhileEnding ", vm.toString(handler.actionsWhileEnding()), " 0 0 0")
            );
            vm.writeLine(
                path,
                string.concat(
                    "terminationsWithEarned ", vm.toString(handler.terminationsWithEarned()), " 0 0 0"
                )
            );
            vm.writeLine(path, string.concat("deferredPayoutsETH ", vm.toString(deferredEth), " 0 0 0"));
            vm.writeLine(path, string.concat("deferredPayoutsBlacklist ", vm.toString(deferredBl), " 0 0 0"));
        }
        // A run of mostly skipped (or mostly reverting) calls would pass every invariant vacuously.
        if (done * 100 < tried * MIN_APPLIED_PERCENT) {
            assertGe(done * 100, tried * MIN_APPLIED_PERCENT, "too few handler calls applied");
        }
    }

    function _counts(uint256 attempted, uint256 applied, uint256 refused, uint256 assists)
        internal
        pure
        returns (string memory)
    {
        return string.concat(
            vm.toString(attempted),
            " ",
            vm.toString(applied),
            " ",
            vm.toString(refused),
            " ",
            vm.toString(assists)
        );
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _paid(EscrowHandler.Record memory r) internal pure returns (uint256) {
        return r.toCreator + r.toBrand + r.toArbiter;
    }

    /// @dev What an agreement still holds according to the escrow's views: its funded milestones not
    /// yet final while it is live (Active, Terminating, or Closing: only delivered milestones are
    /// unfinished then), nothing once it ended.
    function _heldByViews(EscrowHandler.Record memory r) internal view returns (uint256 held) {
        AgreementState memory s = escrow.getState(r.id);
        if (s.status != Status.Active && s.status != Status.Terminating && s.status != Status.Closing) {
            return 0;
        }
        for (uint256 m; m < s.fundedCount; ++m) {
            if (_nibble(s.milestones, m) < uint8(MilestoneStatus.Approved)) held += r.amounts[m];
        }
    }

    /// @dev As `EscrowHandler.fingerprint`, computed here from the escrow's views.
    function _fingerprint(bytes32 id, uint256 n) internal view returns (bytes32 h) {
        h = keccak256(abi.encode(escrow.getState(id)));
        for (uint256 m; m < n; ++m) {
            (MilestoneStatus st, uint40 since, uint8 revisions) = escrow.getMilestone(id, m);
            h = keccak256(abi.encode(h, st, since, revisions));
        }
    }

    function _nibble(uint128 packed, uint256 m) internal pure returns (uint8) {
        return uint8((uint256(packed) >> (4 * m)) & 0xF);
    }

    /// @dev assertEq that costs nothing while the values agree.
    function _eq(uint256 a, uint256 b, string memory message) internal pure {
        if (a != b) assertEq(a, b, message);
    }

    function _tokenBalance(address token, address who) internal view returns (uint256) {
        return token == address(0) ? who.balance : IERC20(token).balanceOf(who);
    }
}
