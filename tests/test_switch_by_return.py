"""Switches that pass the suspended frames by returning a marker rather than
by raising an unwinding: when each way is chosen, and that the frames end
up exactly as if an unwinding had passed them.

Each test runs under both scheduler loops.  The Python check records which
way it chose; the C loop's schedule() takes a tasklet's one frame itself, so
those switches do not reach that check, and the C loop takes the marker
from the first call of a tasklet's function too."""

import functools
import sys

import pytest

import stacklessxf as sx
from stacklessxf.runtime import frames, scheduler
from stacklessxf.versions import current as version
from tests import switch_return_cases as cases


@pytest.fixture(autouse=True)
def ways(scheduler_loop, monkeypatch):
    """How each switch passed the frames, in order: True by returning."""
    cases.LOG.clear()
    seen = []
    check = scheduler._check_can_switch

    def recording(sched, caller_frame):
        by_return = check(sched, caller_frame)
        seen.append(by_return)
        return by_return

    monkeypatch.setattr(scheduler, "_check_can_switch", recording)
    yield seen
    assert sx.getruncount() == 1, "a test left runnable tasklets behind"


def expect(ways, loop, python, c):
    """``ways`` is what the loop the test runs under should have seen."""
    assert ways == (python if loop == "Python loop" else c)


def _probe_frame(*_):
    return frames.called_from_c(sys._getframe())


def test_called_from_c_tells_direct_calls_from_calls_through_c():
    assert _probe_frame() is False
    assert next(map(_probe_frame, (0,))) is True
    assert functools.reduce(lambda _, __: _probe_frame(), (0, 1)) is False
    # A Python function called with f(*args) starts an evaluation loop of
    # its own up to 3.11, and runs in its caller's from 3.12.
    assert _probe_frame(*()) is version.STAR_CALL_IS_ENTRY
    assert frames.calls_run_inline()


def test_first_switch_unwinds_later_ones_return(ways, scheduler_loop):
    # The tasklet's function is first called with f(*args, **kwargs), which
    # C code runs; resumed frames run directly under the trampoline.
    sx.tasklet(cases.shallow)(3)
    sx.run()
    expect(ways, scheduler_loop, python=[False, True, True], c=[])
    assert cases.LOG == [("shallow", 0), ("shallow", 1), ("shallow", 2)]


def test_deep_stack_switches_by_return(ways, scheduler_loop):
    sx.tasklet(cases.deep)("x")
    sx.tasklet(cases.shallow)(3)
    sx.run()
    # Under the Python loop each tasklet's first switch unwinds; every later
    # one returns.  The C loop sees only the deep tasklet's switches.
    if scheduler_loop == "Python loop":
        assert ways[:2] == [False, False] and all(ways[2:])
    else:
        assert ways == [True, True]
    assert ["x", "x"] in cases.LOG


def test_direct_call_switches_by_return(ways, scheduler_loop):
    sx.tasklet(cases.through_plain_call)("y")
    sx.run()
    expect(ways, scheduler_loop, python=[False, True], c=[True])
    assert cases.LOG == ["y"]


def test_star_args_call_switches_by_unwinding_where_c_runs_it(ways, scheduler_loop):
    # f(*args) is run by C code up to 3.11: the callee's frame is not
    # returned through.  From 3.12 the caller's loop runs it directly.
    sx.tasklet(cases.through_star_args)("y")
    sx.run()
    by_return = not version.STAR_CALL_IS_ENTRY
    expect(ways, scheduler_loop, python=[False, by_return], c=[by_return])
    assert cases.LOG == ["y"]


def test_c_code_between_frames_is_refused_not_passed(ways, scheduler_loop):
    # functools.reduce would get the callback's result at the wrong time:
    # the switch is refused, naming it.
    sx.tasklet(cases.through_c_code)(functools.reduce, [1, 2])
    with pytest.raises(sx.SwitchError, match=r"called by reduce \(C code\)"):
        sx.run()
    expect(ways, scheduler_loop, python=[False], c=[])


def test_finally_runs_once_at_the_end_not_at_the_switch(ways, scheduler_loop):
    sx.tasklet(cases.in_finally)("a")
    sx.run()
    expect(ways, scheduler_loop, python=[False, True], c=[])
    assert cases.LOG == [("a", "body"), ("a", "finally")]


def test_with_block_exits_once_at_the_end(ways, scheduler_loop):
    sx.tasklet(cases.in_with)("w")
    sx.run()
    expect(ways, scheduler_loop, python=[False, True], c=[])
    assert cases.LOG == [("w", "enter"), ("w", "body"), ("w", "exit")]


def test_exception_being_handled_stays_with_its_frame(ways, scheduler_loop):
    sx.tasklet(cases.in_except)("e")
    sx.tasklet(cases.exc_info_elsewhere)("other")
    sx.run()
    expect(ways, scheduler_loop, python=[False, False, True], c=[])
    assert cases.LOG == [("other", None), ("e", "ValueError('e')"), ("e", None)]


def test_value_stack_beneath_the_call_is_restored(ways, scheduler_loop):
    sx.tasklet(cases.nested_call_arguments)("n")
    sx.run()
    expect(ways, scheduler_loop, python=[False, True], c=[True])
    assert cases.LOG == [("n", "n!")]


def test_tail_call_switch_counts_a_tail(ways, scheduler_loop):
    sx.reset_stats()
    sx.tasklet(cases.via_tail)("t")
    sx.run()
    expect(ways, scheduler_loop, python=[False, True], c=[True])
    assert cases.LOG == ["t"]
    assert sx.stats().records_elided == 1


@pytest.mark.parametrize("how", ["run", "switch"])
def test_tasklet_run_and_switch_hand_over_by_return(ways, scheduler_loop, how):
    other = sx.tasklet(cases.note)("other").remove()
    runner = sx.tasklet(cases.runs_other)(other, how)
    sx.run()
    expect(ways, scheduler_loop, python=[False, True], c=[True])
    if how == "run":
        assert cases.LOG == ["before", "other", "after"]
    else:  # the switching tasklet is paused until inserted again
        assert cases.LOG == ["before", "other"] and runner.paused
        runner.insert()
        sx.run()
        assert cases.LOG == ["before", "other", "after"]


def test_marker_never_reaches_plain_code():
    sx.tasklet(cases.shallow)(50)
    sx.tasklet(cases.deep)("z")
    assert sx.run() is None
    assert cases.LOG.count(["z", "z"]) == 1
    assert all(isinstance(entry, (tuple, list)) for entry in cases.LOG)


def test_each_tested_call_has_its_own_number():
    from stacklessxf.runtime.trampoline import SUSPENSION_POINTS, TESTED_CALLS
    numbers = [code_id + offset for code_id, points in list(SUSPENSION_POINTS.items())
               if isinstance(points, frozenset) for offset in points]
    assert numbers and len(set(numbers)) == len(numbers)
    assert TESTED_CALLS and TESTED_CALLS <= set(numbers)


def test_a_dead_code_objects_calls_are_forgotten():
    # A code object made later at a dead one's address must not find its
    # suspension points or its tested calls.
    import gc
    from stacklessxf.runtime.trampoline import (SUSPENSION_POINTS, TESTED_CALLS,
                                                register_suspension_points)
    code = compile("f(x)", "<test>", "eval").replace(co_name="dies")
    key = id(code)
    register_suspension_points(code, frozenset({4}), {4})
    assert SUSPENSION_POINTS[key] == {4} and key + 4 in TESTED_CALLS
    del code
    gc.collect()
    assert key not in SUSPENSION_POINTS and key + 4 not in TESTED_CALLS
