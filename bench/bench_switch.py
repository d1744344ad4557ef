"""Switch-cost benchmarks for stacklessxf: the time one switch between two
tasklets takes, against greenlet, generators and asyncio.

    python bench/bench_switch.py

Every measurement is a ping-pong between two sides, and one switch is control
passing from one side to the other, whatever sits in between (the scheduler
loop, the event loop). Each run makes SWITCHES switches:

1. schedule(): two tasklets, each a stackless function looping over
   ``schedule()``; each call hands control to the other tasklet.
2. Channels: two tasklets and two channels; one sends a number on the first
   channel and receives it back on the second, the other receives it and
   sends it back. With the default preference each send or receive that has
   to wait switches to the other tasklet: two switches per round trip.
3. greenlet: two greenlets, each looping over ``other.switch()``.
4. Generator: a loop drives a generator with ``send()``; the generator
   answers with ``yield``. A send is one switch, a yield another: two per
   send.
5. asyncio: two tasks, each looping over ``await asyncio.sleep(0)``; each
   sleep hands control, through the event loop, to the other task.
6. Python floor: the least work any scheduler written in Python does per
   switch, as a reference for the first line. A side "switches" by calling
   a primitive that queues it and returns a marker; the side then saves its
   state in a record and returns; the loop takes the next side and calls it
   with its record. Two calls per switch, and no checks.
7. Where the C extension is built, which makes the scheduler's loop and
   schedule() C code: the first run again with the Python loop.

The floor is a reference for the Python loop; the C loop's switches cost
little more than the floor's, whose loop is Python.

Starting and ending the two sides is outside the count (two or three
switches per run). The runs are interleaved, in an order that rotates
from round to round, and the best time of each over ROUNDS rounds is kept.
"""

import asyncio
import collections
import os
import sys
import time

import greenlet

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import stacklessxf as sx  # noqa: E402
from stacklessxf.runtime import native_loop  # noqa: E402

NATIVE_LOOP = native_loop.available     # the C loop is built and used

SWITCHES = 100_000          # per run; each side makes half of them
ROUNDS = 7
GREENLET_TARGET = 3.0       # schedule() at most this many times greenlet's switch
CHANNEL_TARGET = 2.0        # a channel switch at most this many times greenlet's
ASYNCIO_TARGET = 3.0        # schedule() at least this many times faster than asyncio


# -- stacklessxf --------------------------------------------------------------


@sx.stackless
def yielder(n, done):
    for _ in range(n):
        sx.schedule()
    done.append(n)


@sx.stackless
def pinger(out, back, n, done):
    value = None
    for i in range(n):
        out.send(i)
        value = back.receive()
    done.append(value)


@sx.stackless
def ponger(inp, back, n, done):
    for _ in range(n):
        back.send(inp.receive())
    done.append(n)


def run_schedule(half):
    done = []
    sx.tasklet(yielder)(half, done)
    sx.tasklet(yielder)(half, done)
    start = time.perf_counter()
    sx.run()
    elapsed = time.perf_counter() - start
    check("schedule()", done == [half, half])
    return elapsed


def run_schedule_python_loop(half):
    """The schedule() ping-pong with the scheduler's Python loop, for
    comparison where the C loop is built."""
    native_loop.available = False
    try:
        return run_schedule(half)
    finally:
        native_loop.available = NATIVE_LOOP


def run_channel(half):
    done = []
    there, back = sx.channel(), sx.channel()
    sx.tasklet(pinger)(there, back, half, done)
    sx.tasklet(ponger)(there, back, half, done)
    start = time.perf_counter()
    sx.run()
    elapsed = time.perf_counter() - start
    check("channel", sorted(done) == [half - 1, half])
    return elapsed


# -- greenlet -----------------------------------------------------------------


def run_greenlet(half):
    def left():
        for _ in range(half):
            right.switch()
        return half

    def right():
        for _ in range(half):
            left_side.switch()
        return half

    left_side = greenlet.greenlet(left)
    right = greenlet.greenlet(right)
    start = time.perf_counter()
    result = left_side.switch()     # returns when `left` ends
    elapsed = time.perf_counter() - start
    # `right` is still waiting in its last switch; let it end.
    check("greenlet", result == half and right.switch() == half and right.dead)
    return elapsed


# -- generator ----------------------------------------------------------------


def answerer():
    value = None
    while True:
        value = yield value


def run_generator(half):
    gen = answerer()
    next(gen)
    send = gen.send
    value = None
    start = time.perf_counter()
    for i in range(half):
        value = send(i)
    elapsed = time.perf_counter() - start
    gen.close()
    check("generator", value == half - 1)
    return elapsed


# -- asyncio ------------------------------------------------------------------


async def sleeper(n):
    for _ in range(n):
        await asyncio.sleep(0)
    return n


async def ping_pong_tasks(half):
    start = time.perf_counter()
    results = await asyncio.gather(sleeper(half), sleeper(half))
    return time.perf_counter() - start, results


def run_asyncio(half):
    loop = asyncio.new_event_loop()
    try:
        elapsed, results = loop.run_until_complete(ping_pong_tasks(half))
    finally:
        loop.close()
    check("asyncio", results == [half, half])
    return elapsed


# -- the least a Python-level scheduler does -------------------------------------

FLOOR_SWITCHED = object()


def floor_switch(queue, side):
    queue.append(side)
    return FLOOR_SWITCHED


def floor_side(record, queue, side, chain):
    """One side, resumed from its record: a loop step, then a switch."""
    iterator = record[1]
    for _ in iterator:
        if floor_switch(queue, side) is FLOOR_SWITCHED:
            chain.append((0, iterator))
            return FLOOR_SWITCHED
    return None


def run_python_floor(half):
    stacks = [[(0, iter(range(half)))], [(0, iter(range(half)))]]
    queue, chain, switches = collections.deque([0, 1]), [], 0
    start = time.perf_counter()
    while queue:
        side = queue.popleft()
        stack = stacks[side]
        if floor_side(stack.pop(), queue, side, chain) is FLOOR_SWITCHED:
            stack.append(chain.pop())
            switches += 1
    elapsed = time.perf_counter() - start
    check("Python floor", switches == 2 * half)
    return elapsed


# -- measurement ----------------------------------------------------------------


def check(what, ok):
    if not ok:
        raise AssertionError(f"{what} ping-pong did not make the switches it should")


RUNS = [
    ("schedule", run_schedule),
    ("channel", run_channel),
    ("greenlet", run_greenlet),
    ("generator", run_generator),
    ("asyncio", run_asyncio),
    ("floor", run_python_floor),
] + ([("schedule, Python loop", run_schedule_python_loop)] if NATIVE_LOOP else [])


def best_per_switch():
    """Nanoseconds per switch, best of ROUNDS interleaved runs, by name."""
    half = SWITCHES // 2
    best = {name: float("inf") for name, _ in RUNS}
    for rnd in range(ROUNDS):
        # Rotate the order, so that no side always follows the same one.
        order = RUNS[rnd % len(RUNS):] + RUNS[:rnd % len(RUNS)]
        for name, run in order:
            best[name] = min(best[name], run(half))
    return {name: seconds / SWITCHES * 1e9 for name, seconds in best.items()}


def main():
    print(f"stacklessxf {sx.__version__}, greenlet {greenlet.__version__},"
          f" Python {sys.version.split()[0]}")
    print("scheduler loop: " + ("C (the _stacklessxf_switch extension)" if NATIVE_LOOP else
                                "Python (the C extension is not built)"))
    print(f"one switch = control passing from one side of a ping-pong to the other;"
          f" {SWITCHES:,} switches per run, best of {ROUNDS} interleaved runs")
    ns = best_per_switch()
    sched, chan, glet = ns["schedule"], ns["channel"], ns["greenlet"]
    gen, aio = ns["generator"], ns["asyncio"]
    print(f"schedule() switch: {sched:.0f} ns; vs greenlet: {sched / glet:.2f}x"
          f" (target <= {GREENLET_TARGET:.0f}x); asyncio/schedule: {aio / sched:.2f}x"
          f" faster (target >= {ASYNCIO_TARGET:.0f}x)")
    print(f"channel switch: {chan:.0f} ns; vs greenlet: {chan / glet:.2f}x"
          f" (target <= {CHANNEL_TARGET:.0f}x); asyncio/channel: {aio / chan:.2f}x faster;"
          f" vs schedule(): {chan / sched:.2f}x")
    print(f"generator switch: {gen:.0f} ns; schedule()/generator: {sched / gen:.2f}x;"
          f" greenlet/generator: {glet / gen:.2f}x")
    floor = ns["floor"]
    print(f"Python floor switch: {floor:.0f} ns; vs greenlet: {floor / glet:.2f}x;"
          f" schedule()/floor: {sched / floor:.2f}x")
    if NATIVE_LOOP:
        slow = ns["schedule, Python loop"]
        print(f"schedule() switch under the Python loop: {slow:.0f} ns; vs greenlet:"
              f" {slow / glet:.2f}x; vs the C loop: {slow / sched:.2f}x")
    print(f"  [per switch: schedule() {sched:.0f} ns, channel {chan:.0f} ns,"
          f" greenlet {glet:.0f} ns, generator {gen:.0f} ns, asyncio {aio:.0f} ns,"
          f" Python floor {floor:.0f} ns]")


if __name__ == "__main__":
    main()
