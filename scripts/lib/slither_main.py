"""Runs Slither's command line with one fix for a Slither 0.11.6 parsing bug.

Slither merges the `using ... for` directives a contract inherits with `dict.update`, so when two
parents both say `using X for *` only the last parent's library survives. PactumEscrow inherits
EIP712 (`using ShortStrings for *`) and ReentrancyGuardTransient (`using TransientSlot for *`):
without this fix Slither cannot resolve `REENTRANCY_GUARD_STORAGE.asBoolean().tstore(...)`, marks
PactumEscrow "incorrectly constructed" and silently skips its SSA form, which blinds the
data-flow detectors. The fix merges the inherited lists instead of overwriting them.
"""

import sys

from slither.solc_parsing.declarations.contract import ContractSolc

_original = ContractSolc.analyze_using_for


def _analyze_using_for(self: ContractSolc) -> None:
    _original(self)
    using_for = self._contract.using_for
    for father in self._contract.inheritance:
        for key, libraries in father.using_for.items():
            current = using_for.get(key, [])
            missing = [lib for lib in libraries if lib not in current]
            if missing:
                # A new list: the one there may be shared with a parent's dict.
                using_for[key] = list(current) + missing
    self._contract._using_for_complete = None


ContractSolc.analyze_using_for = _analyze_using_for

if __name__ == "__main__":
    from slither.__main__ import main

    sys.exit(main())
