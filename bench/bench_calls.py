"""Call-path benchmarks for stacklessxf: prints one ratio per line, each with
its target.

    python bench/bench_calls.py

1. fib(25) and a walk of a complete binary tree of depth 16: the same
   function, plain and transformed, timed in turn in the same process; the
   ratio of the best times.
2. Recursion 1,000,000 deep through a stackless function, time per call,
   against a plain call of the same function in shallow recursion: as frames
   (the default), and as records (``deep_recursion("records")``: the stack is
   unwound into records and resumed from the trampoline many times on the
   way).
3. Transform time per function over the test corpus: the median time that
   applying @stackless takes, measured during a real import of each corpus
   module.
"""

import functools
import os
import statistics
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import stacklessxf  # noqa: E402
from stacklessxf import stackless  # noqa: E402

FIB_N = 25
FIB_ROUNDS = 7
FIB_TARGET = 1.10
TREE_DEPTH = 16

DEEP_N = 1_000_000
DEEP_ROUNDS = 3
SHALLOW_N = 500
SHALLOW_ROUNDS = 7
SHALLOW_LOOPS = 200
DEEP_TARGET = 2.0

TRANSFORM_TARGET_MS = 5.0


# -- the functions measured ------------------------------------------------
# Each pair has the same body; the plain one is what the transformed one is
# compared against.


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@stackless
def sfib(n):
    if n < 2:
        return n
    return sfib(n - 1) + sfib(n - 2)


def walk(node):
    if node is None:
        return 0
    return 1 + walk(node[0]) + walk(node[1])


@stackless
def swalk(node):
    if node is None:
        return 0
    return 1 + swalk(node[0]) + swalk(node[1])


def tree(depth):
    if depth == 0:
        return None
    return (tree(depth - 1), tree(depth - 1))


def plain_total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + plain_total(xs, i + 1)


@stackless
def total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + total(xs, i + 1)


# -- measurements ------------------------------------------------------------


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def compare(label, plain, transformed, *args):
    expected = plain(*args)
    best_plain = best_stackless = float("inf")
    for _ in range(FIB_ROUNDS):
        # Interleaved, so that a slow patch of the machine hits both sides.
        elapsed, result = timed(plain, *args)
        best_plain = min(best_plain, elapsed)
        elapsed, result = timed(transformed, *args)
        if result != expected:
            raise AssertionError(f"{label} = {result}, expected {expected}")
        best_stackless = min(best_stackless, elapsed)
    ratio = best_stackless / best_plain
    print(
        f"{label} transformed/plain: {ratio:.2f}x (target <= {FIB_TARGET:.2f}x)"
        f"  [plain {best_plain * 1e3:.1f} ms, transformed {best_stackless * 1e3:.1f} ms,"
        f" best of {FIB_ROUNDS}]"
    )


def bench_fib():
    compare(f"fib({FIB_N})", fib, sfib, FIB_N)


def bench_tree_walk():
    compare(f"binary tree walk, depth {TREE_DEPTH}", walk, swalk, tree(TREE_DEPTH))


def deep_per_call(xs, mode):
    expected = sum(xs)
    before = stacklessxf.deep_recursion(mode)
    best = float("inf")
    try:
        for _ in range(DEEP_ROUNDS):
            elapsed, result = timed(total, xs, 0)
            if result != expected:
                raise AssertionError(f"total(...) = {result}, expected {expected}")
            best = min(best, elapsed)
    finally:
        stacklessxf.deep_recursion(before)
    return best / (len(xs) + 1)


def shallow_per_call():
    ys = list(range(SHALLOW_N))
    best = float("inf")
    for _ in range(SHALLOW_ROUNDS):
        start = time.perf_counter()
        for _ in range(SHALLOW_LOOPS):
            result = plain_total(ys, 0)
        best = min(best, time.perf_counter() - start)
    if result != sum(ys):
        raise AssertionError(f"plain_total(...) = {result}, expected {sum(ys)}")
    return best / (SHALLOW_LOOPS * (SHALLOW_N + 1))


def bench_deep():
    xs = list(range(DEEP_N))
    as_frames = deep_per_call(xs, "frames")
    shallow = shallow_per_call()
    as_records = deep_per_call(xs, "records")
    print(
        f"recursion {DEEP_N:,} deep, per call, transformed/plain shallow: "
        f"{as_frames / shallow:.2f}x (target <= {DEEP_TARGET:.0f}x)"
        f"  [{as_frames * 1e9:.0f} ns vs {shallow * 1e9:.0f} ns"
        f" ({SHALLOW_N} deep), result correct]"
    )
    print(
        f"the same as records (deep_recursion('records')): {as_records / shallow:.2f}x"
        f"  [{as_records * 1e9:.0f} ns]"
    )


class DecorationTimer:
    """While active, every application of ``stacklessxf.stackless`` (the name
    a module imports with ``from stacklessxf import stackless``) is timed; the
    transform runs in full when the decorator is applied."""

    def __init__(self):
        self.seconds = []
        self.cpu_seconds = []   # the process' CPU time: the machine's other load left out

    def __enter__(self):
        real = self._real = stacklessxf.stackless

        def timed_stackless(function=None, **options):
            if function is None:
                return functools.partial(timed_stackless, **options)
            start, cpu_start = time.perf_counter(), time.process_time()
            try:
                return real(function, **options)
            finally:
                self.seconds.append(time.perf_counter() - start)
                self.cpu_seconds.append(time.process_time() - cpu_start)

        stacklessxf.stackless = timed_stackless
        return self

    def __exit__(self, *exc_info):
        stacklessxf.stackless = self._real


def bench_transform():
    from tests import differential

    paths = differential.corpus_paths()
    with DecorationTimer() as timer:
        for path in paths:
            differential.unload_module(differential.load_module(path, plain=False))
    ms = [s * 1e3 for s in timer.seconds]
    median = statistics.median(ms)
    cpu_median = statistics.median(s * 1e3 for s in timer.cpu_seconds)
    print(
        f"transform time per function, corpus: median {median:.1f} ms ({cpu_median:.1f} ms CPU)"
        f" (target <= {TRANSFORM_TARGET_MS:.0f} ms)"
        f"  [{len(ms)} functions in {len(paths)} modules, first import of each;"
        f" mean {statistics.mean(ms):.1f} ms, max {max(ms):.1f} ms]"
    )


def main():
    print(f"stacklessxf {stacklessxf.__version__}, Python {sys.version.split()[0]}")
    bench_fib()
    bench_tree_walk()
    bench_deep()
    bench_transform()


if __name__ == "__main__":
    main()
