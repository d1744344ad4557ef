"""Where the unwinding guards of a transformed function's calls start.

CPython 3.13 looks the handler of a call whose Python callee failed up at
the code unit *before* the call instruction: a guard whose range starts at
the call is never found for an exception its callee raises, so an unwinding
(a switch, or a depth unwinding) would pass the frame by without saving it.
"""

import dis
import sys

import pytest

from stacklessxf import stackless
from stacklessxf.runtime.records import Unwind
from stacklessxf.versions import current as version

needs_313 = pytest.mark.skipif(not version.HANDLER_AT_UNIT_BEFORE_CALL,
                               reason="this version looks a callee's failure up at the call itself")


def leaf(x):
    return x


@stackless
def calls_of_every_shape(n, items):
    if n == 0:
        return 0
    total = leaf(n) + leaf(n - 1)                           # after BINARY_OP
    total += leaf(leaf(n))                                  # a call's result as argument
    total += leaf(*items)                                   # f(*args)
    total += leaf(x=n)                                      # keywords
    try:
        total += calls_of_every_shape(n - 1, items)         # inside a try block
    except ValueError:
        pass
    return total


@stackless
def adds(a, b):
    try:
        return leaf(a + b)
    except TypeError:
        return "caught"


def _guarded_calls(code):
    entries = dis._parse_exception_table(code)
    listing = list(dis.get_instructions(code))
    first = {ins.offset: ins for ins in listing}
    for ins in listing:
        if "CALL" not in ins.opname:
            continue
        entry = next((e for e in entries if e.start <= ins.offset < e.end), None)
        if entry is None:
            continue
        handler = first.get(entry.target)
        if handler is not None and handler.opname == "LOAD_CONST" and handler.argval is Unwind:
            yield ins, entry


@needs_313
def test_every_guard_covers_the_unit_before_its_call():
    guarded = list(_guarded_calls(calls_of_every_shape.__code__))
    assert len(guarded) >= 6
    for call, entry in guarded:
        assert entry.start <= call.offset - 2, (call.opname, call.positions)


@needs_313
def test_a_guard_taking_in_the_instruction_before_passes_its_exceptions_on():
    # leaf(a + b): the BINARY_OP before the call is inside the call's guard;
    # a TypeError it raises still reaches the enclosing handler.
    assert adds(1, 2) == 3
    assert adds(1, "x") == "caught"


@pytest.mark.usefixtures("deep_mode")
def test_depth_unwinding_through_every_shape_of_call():
    # Deeper than the recursion limit: every frame is saved and resumed.
    depth = sys.getrecursionlimit() * 3
    assert calls_of_every_shape(depth, (1,)) > 0
