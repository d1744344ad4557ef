"""Pickling benchmark for stacklessxf: what pickling a suspended tasklet costs,
against pickling the values it holds as plain data.

    python bench/bench_pickle.py          # N = 1,000 tasklets
    python bench/bench_pickle.py 500      # a quick check with fewer

Each tasklet runs a stackless function that recurses DEPTH levels and calls
``schedule()`` at the bottom, every level holding its argument and a short
list across the call below it. One measurement is ``pickle.loads(
pickle.dumps(task))`` for each of N such tasklets; the other is the same for
the values their records hold, as plain data: for each tasklet a list with
one tuple per record of the values the record saves. The ratio of the two
times is the cost of the portable form (module, function, fingerprint,
resume point, values by name), of the checks on loading, and of making the
tasklet again. Target: at most 3 times the plain data.

The runs alternate and the best of ROUNDS is kept; times are this
process's CPU time, which other processes on a shared machine disturb less
than the wall clock. Every loaded tasklet is run to its end afterwards and
its result checked.
"""

import os
import pickle
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import stacklessxf as sx  # noqa: E402

N = 1_000
DEPTH = 10
ROUNDS = 15
TARGET = 3.0
RESULTS = []


@sx.stackless
def descend(levels):
    trail = [levels, "x"]
    if levels == 1:
        sx.schedule()
        return 1
    return descend(levels - 1) + len(trail) - 1


def note(result):
    RESULTS.append(result)


@sx.stackless
def unit(levels):
    note(descend(levels))


def suspended_tasklets(n):
    tasks = [sx.tasklet(unit)(DEPTH) for _ in range(n)]
    sx.schedule()
    for task in tasks:
        task.remove()
    return tasks


def plain_values(task):
    return [tuple(frame.slots.values()) for frame in task.frames]


def round_trip(objects):
    """Seconds to dumps+loads every object; the loaded ones are returned."""
    dumps, loads = pickle.dumps, pickle.loads
    start = time.process_time()
    loaded = [loads(dumps(obj)) for obj in objects]
    return time.process_time() - start, loaded


def finish(loaded):
    RESULTS.clear()
    for task in loaded:
        task.insert()
    sx.run()
    expected = DEPTH
    if len(RESULTS) != len(loaded) or set(RESULTS) != {expected}:
        raise AssertionError(f"loaded tasklets computed {sorted(set(RESULTS))[:5]},"
                             f" expected {len(loaded)} times {expected}")


def main(n):
    tasks = suspended_tasklets(n)
    plain = [plain_values(task) for task in tasks]
    frames = len(tasks[0].frames)
    best_tasklets = best_plain = float("inf")
    for _ in range(ROUNDS):
        seconds, loaded = round_trip(tasks)
        best_tasklets = min(best_tasklets, seconds)
        finish(loaded)
        seconds, _ = round_trip(plain)
        best_plain = min(best_plain, seconds)
    finish(tasks)
    ratio = best_tasklets / best_plain
    size = len(pickle.dumps(suspended_tasklets(1)[0]))
    verdict = "ok" if ratio <= TARGET else "ABOVE TARGET"
    print(f"pickle dumps+loads of a tasklet {DEPTH} calls deep ({frames} records) /"
          f" the same values as plain lists and tuples: {ratio:.2f}x"
          f" (target <= {TARGET:.1f}x, {verdict});"
          f" {best_tasklets / n * 1e6:.1f} us vs {best_plain / n * 1e6:.1f} us per tasklet,"
          f" {size} bytes, {size / frames:.0f} bytes per frame")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(f"usage: {sys.argv[0]} [N]   (default {N:,})")
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N)
