"""Native-backend benchmarks for stacklessxf: fib against CPython, numba and
C, the compile time of the native backend, the cost of a native switch
against greenlet, and the cost of a call from Python against numba's.

    python bench/bench_native.py            # fib(30), 100,000 switches per side
    python bench/bench_native.py --quick    # fib(25), 10,000 switches per side

1. fib(FIB_N), the plain recursive ``fib``, computed by:
   - CPython: the function as it is;
   - numba: the same body under ``@numba.njit`` (compiled by a first call
     outside the timing; that call's time is reported as its compile time);
   - C: the same body in C, built with ``gcc -O2`` into a shared library in a
     temporary directory and called once per run through ctypes (one call
     does all the work, so the cost of crossing ctypes does not count);
   - ours: the same body under ``@stackless(backend="native")`` with the
     annotations ``n: int -> int``.
   The runs are interleaved, round after round; CPython runs once per round,
   the compiled ones FAST_REPEATS times, and the best time of each is kept.
   The machine is shared and noisy, so absolute times mean little; the
   ratios between them are what is held to the targets.
2. Native compile time per function (fib, and the pinger of 3), reported
   after the measurements: the wall time of the first call of a freshly
   decorated function (which compiles the specialization for the argument
   types), less the time of the same call once warm.
3. schedule() ping-pong: two tasklets, each running a native function that
   calls ``sx.schedule()`` SWITCHES times in a loop, against two greenlets
   switching to each other SWITCHES times each. One switch is control passing
   from one side to the other; starting and ending the sides is outside the
   count. No target: the figures are reported.
4. A call from Python: CALLS calls of a native function that does almost
   nothing (``add(a: int, b: float) -> float``, and the same body without
   annotations, specialised by its first call) against the same body under
   numba's ``@njit``, from a loop in Python; the time of the same loop calling
   a Python function that returns at once is subtracted from each.  What is
   left is what calling into compiled code costs: choosing the compiled
   version for the arguments, converting them and the result.

A peer that is not available (numba not installed, no gcc, no greenlet) is
reported as skipped.
"""

import argparse
import ctypes
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import stacklessxf as sx  # noqa: E402

FIB_N = 30
FIB_N_QUICK = 25
ROUNDS = 7
ROUNDS_QUICK = 3
FAST_REPEATS = 3            # runs per round of each compiled fib
SWITCHES = 100_000          # per side, per run
SWITCHES_QUICK = 10_000
SWITCH_ROUNDS = 7
SWITCH_ROUNDS_QUICK = 3
CALLS = 200_000             # per run
CALLS_QUICK = 50_000
CALL_ROUNDS = 7
CALL_ROUNDS_QUICK = 3

SPEEDUP_TARGET = 25.0       # CPython time / ours: at least this
NUMBA_TARGET = 1.0          # ours / numba time: at most this
C_TARGET = 2.5              # ours / C time: at most this
CALL_TARGET = 1.0           # ours / numba time per call from Python: at most this

C_SOURCE = """\
#include <stdint.h>

int64_t fib(int64_t n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}
"""


# -- the functions measured ------------------------------------------------
# The same body each time; numba_fib is compiled in setup (its module-level
# name rebound to the compiled function, which the body calls).


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def numba_fib(n):
    if n < 2:
        return n
    return numba_fib(n - 1) + numba_fib(n - 2)


@sx.stackless(backend="native")
def native_fib(n: int) -> int:
    if n < 2:
        return n
    return native_fib(n - 1) + native_fib(n - 2)


@sx.stackless(backend="native")
def native_pinger(n: int) -> int:
    for i in range(n):
        sx.schedule()
    return n


def native_add(a: int, b: float) -> float:
    return a + b


def native_add_unannotated(a, b):
    return a + b


def numba_add(a, b):
    return a + b


def empty_add(a, b):
    return b


native_add = sx.stackless(backend="native")(native_add)
native_add_unannotated = sx.stackless(backend="native")(native_add_unannotated)


# -- setup of each contender -------------------------------------------------


class Skipped(Exception):
    """A peer that cannot be measured here."""


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def warm_call_seconds(fn, *args, repeats=20):
    return min(timed(fn, *args)[0] for _ in range(repeats))


def timed_first(fn, *args):
    """timed(fn, *args) with the collector off: after numba's import, a
    full collection takes up to a second on a loaded machine, and whether
    one falls inside a first call depends on what ran before, not on the
    compiler."""
    gc.collect()
    gc.disable()
    try:
        return timed(fn, *args)
    finally:
        gc.enable()


def first_call(fn, what):
    """Time the first call fn(1), which compiles, and return
    (first call, first call less a warm one)."""
    elapsed, result = timed_first(fn, 1)
    if result != 1:
        raise AssertionError(f"{what}(1) = {result}, expected 1")
    return elapsed, max(0.0, elapsed - warm_call_seconds(fn, 1))


def setup_numba():
    """The njit-compiled fib and its compile time in seconds."""
    global numba_fib
    try:
        import numba
    except ImportError as exc:
        raise Skipped(f"numba is not installed ({exc}); pip install -e .[bench]") from None
    numba_fib = numba.njit(numba_fib)
    _, compile_s = first_call(numba_fib, "numba fib")
    return numba_fib, compile_s, numba.__version__


def setup_c(tmpdir):
    """fib from a shared library built with gcc -O2, through ctypes."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise Skipped("gcc not found on PATH")
    source = os.path.join(tmpdir, "fib.c")
    library = os.path.join(tmpdir, "libfib.so")
    with open(source, "w") as f:
        f.write(C_SOURCE)
    subprocess.run([gcc, "-O2", "-shared", "-fPIC", "-o", library, source],
                   check=True)
    c_fib = ctypes.CDLL(library).fib
    c_fib.argtypes = [ctypes.c_int64]
    c_fib.restype = ctypes.c_int64
    version = subprocess.run([gcc, "-dumpfullversion"], capture_output=True,
                             text=True, check=True).stdout.strip()
    return c_fib, version


def setup_native_fib():
    """(first call, compile) seconds of the native fib: its first call
    compiles it."""
    return first_call(native_fib, "native fib")


def setup_native_pinger():
    """(first call, compile) seconds of the native pinger. The first call,
    pinger(0), compiles it and never reaches schedule()."""
    first_s, result = timed_first(native_pinger, 0)
    if result != 0:
        raise AssertionError(f"native pinger(0) = {result}, expected 0")
    return first_s, max(0.0, first_s - warm_call_seconds(native_pinger, 0))


# -- 1. fib ------------------------------------------------------------------


def best_fib_times(contenders, n, rounds):
    """Best seconds of fib(n) for each (name, fn, repeats), interleaved."""
    expected = fib(n)
    best = {name: float("inf") for name, _, _ in contenders}
    for rnd in range(rounds):
        # Rotate the order, so that no contender always follows the same one.
        k = rnd % len(contenders)
        for name, fn, repeats in contenders[k:] + contenders[:k]:
            for _ in range(repeats):
                elapsed, result = timed(fn, n)
                if result != expected:
                    raise AssertionError(f"{name} fib({n}) = {result}, expected {expected}")
                best[name] = min(best[name], elapsed)
    return best


def verdict(ok):
    return "met" if ok else "NOT met"


def bench_fib(n, rounds, tmpdir):
    contenders = [("CPython", fib, 1)]

    try:
        nb_fib, nb_compile_s, nb_version = setup_numba()
    except Skipped as exc:
        print(f"numba: skipped, {exc}")
    else:
        contenders.append(("numba", nb_fib, FAST_REPEATS))
        print(f"numba {nb_version} @njit compile time (first call fib(1),"
              f" less a warm one): {nb_compile_s * 1e3:.0f} ms")

    try:
        c_fib, gcc_version = setup_c(tmpdir)
    except Skipped as exc:
        print(f"C: skipped, {exc}")
    else:
        contenders.append(("C", c_fib, FAST_REPEATS))
        print(f"C: gcc {gcc_version} -O2, shared library called through ctypes")

    native_compile = setup_native_fib()
    contenders.append(("ours", native_fib, FAST_REPEATS))

    best = best_fib_times(contenders, n, rounds)
    ms = {name: seconds * 1e3 for name, seconds in best.items()}
    print(f"fib({n}), best of {rounds} interleaved rounds (compiled ones"
          f" {FAST_REPEATS} runs per round): "
          + ", ".join(f"{name} {ms[name]:.2f} ms" for name, _, _ in contenders))
    for peer in ("numba", "C"):
        if peer in ms:
            print(f"  {peer} vs CPython: {ms['CPython'] / ms[peer]:.1f}x faster")

    ours_ms = ms["ours"]
    speedup = ms["CPython"] / ours_ms
    print(f"fib({n}) ours vs CPython: {speedup:.1f}x faster"
          f" (target >= {SPEEDUP_TARGET:.0f}x): {verdict(speedup >= SPEEDUP_TARGET)}"
          f"  [CPython {ms['CPython']:.1f} ms, ours {ours_ms:.2f} ms]")
    if "numba" in ms:
        ratio = ours_ms / ms["numba"]
        print(f"fib({n}) ours/numba time: {ratio:.2f}x"
              f" (target <= {NUMBA_TARGET:.1f}x): {verdict(ratio <= NUMBA_TARGET)}"
              f"  [numba {ms['numba']:.2f} ms, ours {ours_ms:.2f} ms]")
    if "C" in ms:
        ratio = ours_ms / ms["C"]
        print(f"fib({n}) ours/C time: {ratio:.2f}x"
              f" (target <= {C_TARGET:.1f}x): {verdict(ratio <= C_TARGET)}"
              f"  [C {ms['C']:.2f} ms, ours {ours_ms:.2f} ms]")
    return native_compile


# -- 3. schedule() ping-pong ----------------------------------------------------


def run_native_schedule(pinger, n):
    first, second = sx.tasklet(pinger)(n), sx.tasklet(pinger)(n)
    start = time.perf_counter()
    sx.run()
    elapsed = time.perf_counter() - start
    if first.alive or second.alive or sx.getruncount() != 1:
        raise AssertionError("native schedule() ping-pong: the tasklets did not end")
    return elapsed


def run_greenlet(greenlet_cls, n):
    sides = []

    def play(index):
        other = sides[1 - index]
        for _ in range(n):
            other.switch()
        return index

    sides.append(greenlet_cls(lambda: play(0)))
    sides.append(greenlet_cls(lambda: play(1)))
    start = time.perf_counter()
    ended = sides[0].switch()       # back here when side 0 has made its n
    elapsed = time.perf_counter() - start
    # Side 1 still waits in its last switch; let it end.
    if ended != 0 or sides[1].switch() != 1 or not all(side.dead for side in sides):
        raise AssertionError("greenlet ping-pong did not make the switches it should")
    return elapsed


def bench_switch(n, rounds):
    runs = []
    try:
        import greenlet
    except ImportError as exc:
        print(f"greenlet: skipped, not installed ({exc})")
    else:
        runs.append(("greenlet", lambda: run_greenlet(greenlet.greenlet, n)))
        print(f"greenlet {greenlet.__version__}")

    native_compile = setup_native_pinger()
    runs.append(("ours", lambda: run_native_schedule(native_pinger, n)))
    best = {name: float("inf") for name, _ in runs}
    for rnd in range(rounds):
        k = rnd % len(runs)
        for name, run in runs[k:] + runs[:k]:
            best[name] = min(best[name], run())
    # Each side switches away n times.
    us = {name: seconds / (2 * n) * 1e6 for name, seconds in best.items()}
    print(f"schedule() ping-pong, {2 * n:,} switches per run, best of {rounds}"
          " interleaved runs, per switch: "
          + ", ".join(f"{name} {us[name]:.3f} us" for name, _ in runs))
    if "greenlet" in us:
        print(f"native schedule() switch vs greenlet switch: {us['ours'] / us['greenlet']:.2f}x"
              f"  [ours {us['ours']:.3f} us, greenlet {us['greenlet']:.3f} us; no target]")
    return native_compile


# -- 4. calls from Python ---------------------------------------------------------


def loop_seconds(fn, calls):
    """Seconds of ``calls`` calls fn(i, 0.5) from a Python loop."""
    start = time.perf_counter()
    for i in range(calls):
        fn(i, 0.5)
    return time.perf_counter() - start


def bench_calls(calls, rounds):
    runs = [("empty", empty_add), ("ours", native_add),
            ("ours unannotated", native_add_unannotated)]
    try:
        import numba
    except ImportError as exc:
        print(f"numba: skipped, not installed ({exc})")
    else:
        runs.append(("numba", numba.njit(numba_add)))
    for name, fn in runs:
        if fn(2, 0.5) != 2.5 and name != "empty":
            raise AssertionError(f"{name} add(2, 0.5) = {fn(2, 0.5)}, expected 2.5")
    best = {name: float("inf") for name, _ in runs}
    for rnd in range(rounds):
        k = rnd % len(runs)
        for name, fn in runs[k:] + runs[:k]:
            best[name] = min(best[name], loop_seconds(fn, calls))
    # What a call costs beyond the loop and a call of a Python function.
    us = {name: max(seconds - best["empty"], 0.0) / calls * 1e6
          for name, seconds in best.items() if name != "empty"}
    print(f"call from Python, {calls:,} calls per run, best of {rounds} interleaved runs,"
          f" per call beyond a Python call ({best['empty'] / calls * 1e6:.3f} us): "
          + ", ".join(f"{name} {value:.3f} us" for name, value in us.items()))
    if "numba" in us:
        for name in ("ours", "ours unannotated"):
            ratio = us[name] / us["numba"] if us["numba"] else float("inf")
            print(f"{name} call vs numba @njit dispatch: {ratio:.2f}x"
                  f" (target <= {CALL_TARGET:.1f}x): {verdict(ratio <= CALL_TARGET)}"
                  f"  [ours {us[name]:.3f} us, numba {us['numba']:.3f} us]")


# -- 2. compile time -------------------------------------------------------------


def report_compile(name, times):
    first_s, compile_s = times
    print(f"native compile time, {name}: {compile_s * 1e3:.1f} ms"
          f"  [first call {first_s * 1e3:.1f} ms less a warm one]")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"fib({FIB_N_QUICK}) and {SWITCHES_QUICK:,} switches per"
                             " side, fewer rounds")
    args = parser.parse_args(argv)
    fib_n, rounds = (FIB_N_QUICK, ROUNDS_QUICK) if args.quick else (FIB_N, ROUNDS)
    switches, switch_rounds = ((SWITCHES_QUICK, SWITCH_ROUNDS_QUICK) if args.quick
                               else (SWITCHES, SWITCH_ROUNDS))
    calls, call_rounds = (CALLS_QUICK, CALL_ROUNDS_QUICK) if args.quick else (CALLS, CALL_ROUNDS)

    print(f"stacklessxf {sx.__version__}, Python {sys.version.split()[0]}"
          + (", quick run" if args.quick else ""))
    with tempfile.TemporaryDirectory(prefix="bench_native_") as tmpdir:
        fib_compile = bench_fib(fib_n, rounds, tmpdir)
    pinger_compile = bench_switch(switches, switch_rounds)
    bench_calls(calls, call_rounds)
    report_compile("fib(n: int) -> int", fib_compile)
    report_compile("pinger(n: int) -> int", pinger_compile)


if __name__ == "__main__":
    main()
