"""Memory benchmark for stacklessxf: what a suspended tasklet costs, against
a suspended greenlet and a suspended chain of generators.

    python bench/bench_memory.py          # N = 100,000 units
    python bench/bench_memory.py 5000     # a quick check with fewer

Each *unit* is suspended DEPTH calls deep, every level holding one live value
(its argument) across the call below it:

- stackless: a tasklet running a stackless function that recurses DEPTH
  levels and calls ``schedule()`` at the bottom;
- greenlet: a greenlet running the same function, plain, that switches to
  its parent at the bottom;
- generator: a chain of DEPTH generators, each delegating to the next with
  ``yield from``, the innermost stopped at a ``yield``.

The figure is the memory retained per unit: the difference between before and
after creating and suspending N units, divided by N. It is measured in two
ways:

1. tracemalloc, in this process: every byte allocated through Python's
   allocators and still held. It does not see memory that CPython or an
   extension maps directly from the OS; CPython 3.11 maps the stack of Python
   frames of each greenlet that way (the frames of generators and the records
   of tasklets are ordinary objects).
2. Resident set size, in a fresh subprocess per kind, without tracemalloc:
   the growth of the current RSS, and of the peak RSS over the same starting
   point (VmRSS and VmHWM in /proc/self/status; getrusage's peak for both
   where there is no /proc).

Every kind is warmed up first (a few units created, suspended and finished),
so that one-time costs stay out of the figures. Afterwards every unit is
finished: each tasklet, greenlet and generator chain runs to its end.

Tasklets are created and suspended in batches of BATCH: each batch is made
runnable, main calls ``schedule()`` once, which runs every tasklet of the
batch until its ``schedule()`` and returns when main's turn comes, and the
run count is checked. The suspended tasklets are then taken out of the run
queue (``remove()``) before the next batch, because making a tasklet runnable
checks whether it is already in the queue, which takes time linear in the
queue's length; to finish them they are put back, a batch at a time, and run.
Taken out of the queue, a tasklet keeps exactly the records it had in it.
"""

import gc
import json
import pickle
import os
import resource
import subprocess
import sys
import tracemalloc

import greenlet

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import stacklessxf as sx  # noqa: E402

N = 100_000
DEPTH = 10
BATCH = 1_000
WARMUP = 2 * BATCH
TARGET = 0.5                # stackless/greenlet, bytes per unit
EXPECTED = DEPTH * (DEPTH + 1) // 2     # what each unit computes when it ends


# -- the suspended units --------------------------------------------------------
# The same recursion three times: level `levels` adds itself to what the
# levels below it return, so each level keeps one value across its call.


@sx.stackless
def descend(levels):
    if levels == 1:
        sx.schedule()
        return 1
    return levels + descend(levels - 1)


def plain_descend(levels):
    if levels == 1:
        greenlet.getcurrent().parent.switch()
        return 1
    return levels + plain_descend(levels - 1)


def generator_descend(levels):
    if levels == 1:
        yield
        return 1
    return levels + (yield from generator_descend(levels - 1))


def suspend_tasklets(units, n):
    for start in range(0, n, BATCH):
        batch = [sx.tasklet(descend)(DEPTH) for _ in range(min(BATCH, n - start))]
        sx.schedule()
        if sx.getruncount() != len(batch) + 1:
            raise AssertionError(f"{sx.getruncount() - 1} tasklets runnable after one"
                                 f" round, expected {len(batch)}")
        for task in batch:
            task.remove()   # first in the queue: taken out at once
        units[start:start + len(batch)] = batch


def finish_tasklets(units):
    for start in range(0, len(units), BATCH):
        batch = units[start:start + BATCH]
        for task in batch:
            task.insert()
        sx.run()
        if any(task.alive for task in batch):
            raise AssertionError("a tasklet did not finish")
    if sx.getruncount() != 1:
        raise AssertionError("tasklets left runnable")


def suspend_greenlets(units, n):
    for i in range(n):
        glet = greenlet.greenlet(plain_descend)
        glet.switch(DEPTH)
        units[i] = glet


def finish_greenlets(units):
    for glet in units:
        if glet.switch() != EXPECTED or not glet.dead:
            raise AssertionError("a greenlet did not finish as expected")


def suspend_generators(units, n):
    for i in range(n):
        chain = generator_descend(DEPTH)
        next(chain)
        units[i] = chain


def finish_generators(units):
    for chain in units:
        try:
            next(chain)
        except StopIteration as stop:
            if stop.value != EXPECTED:
                raise AssertionError(f"a generator chain returned {stop.value}")
        else:
            raise AssertionError("a generator chain did not finish")


KINDS = {
    "stackless": (suspend_tasklets, finish_tasklets),
    "greenlet": (suspend_greenlets, finish_greenlets),
    "generator": (suspend_generators, finish_generators),
}


def warm_up(kind):
    suspend, finish = KINDS[kind]
    units = [None] * WARMUP
    suspend(units, WARMUP)
    finish(units)


# -- measurement ----------------------------------------------------------------


def traced_bytes_per_unit(kind, n):
    suspend, finish = KINDS[kind]
    warm_up(kind)
    units = [None] * n
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        suspend(units, n)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    finish(units)
    return (after - before) / n


def rss_now_and_peak():
    """Resident set size now and at its highest, in bytes. VmHWM is the peak
    of this process's own memory since it started; getrusage's peak, the
    fallback, can include what the parent held when it started this one."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return (int(fields["VmRSS"].split()[0]) * 1024,
                int(fields["VmHWM"].split()[0]) * 1024)
    except (OSError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak if sys.platform == "darwin" else peak * 1024   # KiB on Linux
        return peak, peak


def rss_measure_here(kind, n):
    """In a fresh process: RSS growth per unit, current and peak."""
    suspend, finish = KINDS[kind]
    warm_up(kind)
    units = [None] * n
    gc.collect()
    before, _ = rss_now_and_peak()
    suspend(units, n)
    gc.collect()
    after, peak = rss_now_and_peak()
    finish(units)
    print(json.dumps({"current": (after - before) / n, "peak": (peak - before) / n}))


def rss_per_unit(kind, n):
    command = [sys.executable, os.path.abspath(__file__), "--rss", kind, str(n)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(n):
    print(f"stacklessxf {sx.__version__}, greenlet {greenlet.__version__},"
          f" Python {sys.version.split()[0]}")
    print(f"memory retained per suspended unit, {n:,} units, each {DEPTH} calls deep"
          f" with one live value per level: (after - before creating and suspending"
          f" them all) / {n:,}")
    print("  tracemalloc: bytes held through Python's allocators, in this process"
          " (does not see the frame stacks CPython maps for each greenlet)")
    print("  RSS: resident set growth, current (VmRSS) and peak (VmHWM) from"
          " /proc/self/status, one fresh subprocess per kind, no tracemalloc")
    rss = {kind: rss_per_unit(kind, n) for kind in KINDS}
    traced = {kind: traced_bytes_per_unit(kind, n) for kind in KINDS}
    for kind in KINDS:
        print(f"{kind:>9}: tracemalloc {traced[kind]:7.0f} B;"
              f" RSS {rss[kind]['current']:7.0f} B (peak {rss[kind]['peak']:7.0f} B)")
    ratio_traced = traced["stackless"] / traced["greenlet"]
    ratio_rss = rss["stackless"]["current"] / rss["greenlet"]["current"]
    print(f"stackless/greenlet: {ratio_traced:.2f}x (target <= {TARGET}x) by tracemalloc;"
          f" {ratio_rss:.2f}x by RSS")
    ratio_traced = traced["stackless"] / traced["generator"]
    ratio_rss = rss["stackless"]["current"] / rss["generator"]["current"]
    print(f"stackless/generator chain: {ratio_traced:.2f}x by tracemalloc;"
          f" {ratio_rss:.2f}x by RSS")
    print(f"all units finished afterwards, {sx.getruncount() - 1} tasklets left runnable")
    size, frames = pickled_size()
    print(f"pickle of one suspended tasklet {DEPTH} calls deep: {size} bytes,"
          f" {frames} records, {size / frames:.0f} bytes per frame")


def pickled_size():
    """Bytes of ``pickle.dumps`` of one tasklet suspended like the others."""
    task = sx.tasklet(descend)(DEPTH)
    sx.schedule()
    task.remove()
    size, frames = len(pickle.dumps(task)), len(task.frames)
    task.insert()
    sx.run()
    return size, frames


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        rss_measure_here(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 2:
        sys.exit(f"usage: {sys.argv[0]} [N]   (default {N:,})")
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else N)
