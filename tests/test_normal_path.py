"""The normal path's cost, counted: bytecodes executed by a stackless
function that never unwinds, against the plain function it came from.

The transform adds no instruction on that path, except the test of a
call's result for SWITCHED where a switch may arrive, and fib's calls
cannot switch (the depth check lives in the frame allocator, see
runtime/depth.py).  Counting executed instructions is
deterministic, so a regression fails here instead of waiting for a
benchmark run.
"""

import collections
import dis
import sys

from stacklessxf import schedule, stackless


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def sfib(n):
    if n < 2:
        return n
    return sfib(n - 1) + sfib(n - 2)


sfib = stackless(sfib)


def tree(n):
    if n == 0:
        return None
    return (tree(n - 1), tree(n - 1))


def walk(node):
    if node is None:
        return 0
    return 1 + walk(node[0]) + walk(node[1])


@stackless
def swalk(node):
    if node is None:
        return 0
    return 1 + swalk(node[0]) + swalk(node[1])


@stackless
def pause():
    schedule()


@stackless
def pausing_sum(n):
    if n == 0:
        pause()
        return 0
    return n + pausing_sum(n - 1)


def executed(function, *args):
    """(instructions executed, activations) by ``function(*args)``."""
    counts = collections.Counter()

    def tracer(frame, event, arg):
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        counts[event] += 1
        return tracer

    # CPython 3.12 reports a code object's instructions from its second
    # traced run on: the first run only warms the tracing up.
    for _ in range(2):
        counts.clear()
        sys.settrace(tracer)
        try:
            function(*args)
        finally:
            sys.settrace(None)
    return counts["opcode"], counts["call"]


def test_fib_adds_nothing():
    plain, activations = executed(fib, 15)
    transformed, same = executed(sfib, 15)
    assert same == activations
    assert transformed == plain, \
        f"fib(15): {transformed} instructions transformed, {plain} plain"


def test_tree_walk_adds_nothing():
    node = tree(10)
    plain, activations = executed(walk, node)
    transformed, _ = executed(swalk, node)
    assert transformed == plain


class Tally:
    def __init__(self):
        self.total = 0

    def add(self, value):
        self.total += value
        return self.total


def tally_up(tally, n):
    last = 0
    for i in range(n):
        last = tally.add(i)
    return last


def stally_up(tally, n):
    last = 0
    for i in range(n):
        last = tally.add(i)
    return last


stally_up = stackless(stally_up)


def test_method_calls_add_only_the_switch_test():
    """The method of a parameter may switch, so its call tests for SWITCHED
    (four instructions); its callee is still loaded as a method, as the
    plain function does, rather than as a bound method made at every call
    (two instructions more, and an allocation)."""
    calls = 50
    plain, activations = executed(tally_up, Tally(), calls)
    transformed, same = executed(stally_up, Tally(), calls)
    assert same == activations
    assert transformed == plain + 4 * calls, \
        f"{transformed} instructions transformed, {plain} plain"


def test_calls_that_may_switch_are_tested():
    """pausing_sum may switch (through pause), so both its calls test for
    SWITCHED (four instructions each, which the counts above would catch in
    fib or the walk); fib's cannot switch."""
    assert pausing_sum.__stackless__.switch_arrives == {0, 1}
    assert sfib.__stackless__.switch_arrives == frozenset()


def specialized(function, *args):
    """The instructions of ``function``'s code, as the interpreter has
    specialized them after it ran ``function(*args)`` many times."""
    for _ in range(200):
        function(*args)
    return [ins.opname for ins in dis.get_instructions(function, adaptive=True)]


def test_the_interpreter_specializes_transformed_calls_as_it_does_plain_ones():
    # The same count of instructions is not the same cost: where the
    # function's calls stay generic (3.13 gives a function whose code was
    # set no version, and calls of it are not specialized without one),
    # each call takes the interpreter's slow path.
    node = tree(6)
    for plain, transformed, arg in ((fib, sfib, 10), (walk, swalk, node)):
        expected = specialized(plain, arg)
        assert specialized(transformed, arg)[:len(expected)] == expected, transformed.__name__


def test_the_watchdog_variant_and_back_keeps_calls_specialized():
    from stacklessxf.runtime.scheduler import _use_ticked_code
    expected = specialized(fib, 10)
    _use_ticked_code(True)
    _use_ticked_code(False)
    assert specialized(sfib, 10)[:len(expected)] == expected
