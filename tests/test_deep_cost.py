"""The cost of deep recursion, counted: bytecodes executed per level by a
stackless function recursing far past the recursion limit, against the
plain function in shallow recursion.

As frames (the default), a level executes what the plain one does.  As
records (``deep_recursion("records")``), each level is called, unwound
into a record once its call is refused, and resumed from the trampoline.
The trampoline's loop is C code and the records' frames are passed by the
C test ``HANDOVER.pass_on``; what is left is the unwinding handler of each
frame and the prologue of its resume entry.  Counting them is
deterministic, so an instruction added there fails here instead of
waiting for a benchmark run (bench/bench_calls.py times the same thing).
"""

import collections
import gc
import sys

import pytest

from stacklessxf import stackless
from stacklessxf.runtime import depth
from tests.test_normal_path import executed


def plain_total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + plain_total(xs, i + 1)


@stackless
def total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + total(xs, i + 1)


# Instructions per level beyond the plain function's: the handler that
# saves the record and passes the Unwind on, and the resume entry's
# prologue; the first frames of each depth unwinding and the trampoline's
# Python code, once per unwinding, add a little (27.9 on 3.11 and 28.5 on
# 3.12 when this was written, from 31.9 and 32.5 with the traceback dropped
# by a store of each frame's own and a SWAP in each record's save; 28.2 on
# 3.13 once its pairs of local loads were put back together, from 30.2).
EXTRA_PER_LEVEL = 29

refusing = pytest.mark.skipif(getattr(depth, "refusal_count", None) is None,
                              reason="the depth extension is not built")


def per_level(function, short, long):
    counts = {}
    for n in (short, long):
        counts[n] = executed(function, list(range(n)), 0)[0]
    return (counts[long] - counts[short]) / (long - short)


def test_two_locals_loaded_together_stay_one_instruction():
    """3.13 loads ``xs`` and ``i`` with one instruction where it can
    (LOAD_FAST_LOAD_FAST); the transformed code does too, so a level that
    does not unwind costs what the plain one does."""
    xs = list(range(40))
    plain, activations = executed(plain_total, xs, 0)
    transformed, same = executed(total, xs, 0)
    assert same == activations
    assert transformed == plain


@refusing
def test_a_level_of_a_deep_recursion_as_frames_executes_what_a_plain_one_does():
    before = depth.refusal_count()
    # No finalizer of an earlier test's garbage may run while counting.
    gc.collect()
    gc.disable()
    try:
        deep = per_level(total, 4000, 8000)
        plain = per_level(plain_total, 200, 400)
    finally:
        gc.enable()
    assert depth.refusal_count() == before
    assert deep == plain


@pytest.mark.usefixtures("deep_records")
@refusing
def test_instructions_per_level_of_a_deep_recursion_as_records():
    before = depth.refusal_count()
    deep = per_level(total, 4000, 8000)
    assert depth.refusal_count() - before >= 2 * 8000 // sys.getrecursionlimit()
    plain = per_level(plain_total, 200, 400)
    assert deep > plain     # every level was counted, resumed ones too
    assert deep <= plain + EXTRA_PER_LEVEL, \
        f"{deep:.2f} instructions per level, plain {plain:.2f}"


@pytest.mark.usefixtures("deep_records")
@refusing
def test_a_trace_function_keeps_tracing_a_deep_recursion():
    """A trace function called while a stackless frame is stopped at a call
    (for its opcode events) is not refused in that call's place: the
    interpreter would drop the trace function that failed."""
    counts = collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        counts[event] += 1
        return tracer

    n = 5000
    before = depth.refusal_count()
    sys.settrace(tracer)
    try:
        got = total(list(range(n)), 0)
        still = sys.gettrace()
    finally:
        sys.settrace(None)
    assert got == n * (n - 1) // 2
    assert still is tracer
    assert depth.refusal_count() > before
    # Every level runs twice, called and resumed from its record, but for
    # those the stack held when the recursion turned back.
    assert counts["call"] >= 2 * n - sys.getrecursionlimit()
