"""Switching where the interpreter calls stackless code back from C.

A with statement's __enter__ and __exit__ and a class call's __init__ switch
(and pickle, and unwind for depth); every other callback is refused with a
SwitchError naming the C code in the way, before anything changes."""

import os
import pickle
import subprocess
import sys

import pytest

import stacklessxf as sx
from stacklessxf.runtime.stats import reset_stats, stats
from tests import callback_cases as cases

pytestmark = pytest.mark.usefixtures("scheduler_loop")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def clean():
    cases.LOG.clear()
    yield
    cases.LOG.clear()
    assert sx.getruncount() == 1, "a test left runnable tasklets behind"


def ticks_between(log, first, last):
    """The ticker's turns logged between two entries."""
    return [e for e in log[log.index(first):log.index(last)] if e[0] == "tick"]


# -- with -------------------------------------------------------------------

def test_enter_and_exit_switch_and_the_body_goes_on():
    assert cases.run_to_end(cases.with_body, "w", False) == "done"
    log = cases.LOG
    assert [e for e in log if e[0] != "tick"] == [
        ("w", "enter"), ("w", "entered", 0), ("w", "body", "W"), ("w", "body done"),
        ("w", "exit", None), ("w", "exited", 0), ("w", "after")]
    assert ticks_between(log, ("w", "enter"), ("w", "entered", 0))
    assert ticks_between(log, ("w", "exit", None), ("w", "exited", 0))


def test_exit_on_the_exception_path_switches_and_lets_it_through():
    assert cases.run_to_end(cases.with_body, "e", True) == "caught"
    assert [e for e in cases.LOG if e[0] != "tick"][-3:] == [
        ("e", "exit", "ValueError"), ("e", "exited", 0), ("e", "caught", "e")]
    assert ticks_between(cases.LOG, ("e", "exit", "ValueError"), ("e", "exited", 0))


def test_exit_that_suppresses_after_a_switch_suppresses():
    assert cases.run_to_end(cases.with_body, "s", True, True) == "done"
    assert [e for e in cases.LOG if e[0] != "tick"][-3:] == [
        ("s", "exit", "ValueError"), ("s", "exited", 0), ("s", "after")]


def test_with_records_are_named_as_special():
    text = sx.explain(cases.with_body)
    for kind in ("special: `with` enter", "special: `with` exit",
                 "special: `with` exit on error"):
        assert kind in text


@pytest.mark.usefixtures("deep_mode")
@pytest.mark.parametrize("fail", [False, True])
def test_depth_unwinding_inside_enter_and_exit(fail):
    with cases.limit_recursion():
        result = cases.run_to_end(cases.with_body, "d", fail, False, cases.DEPTH)
    assert result == ("caught" if fail else "done")
    assert ("d", "entered", cases.DEPTH) in cases.LOG
    assert ("d", "exited", cases.DEPTH) in cases.LOG


# -- __init__ through a class call --------------------------------------------

@pytest.mark.parametrize("cls", [cases.Point, cases.Point3])
def test_init_that_switches_gives_back_the_object(cls):
    made = cases.run_to_end(cases.construct, cls, 5)
    assert type(made) is cls and made.x == 5
    assert ("made", cls.__name__, 5) in cases.LOG
    assert ticks_between(cases.LOG, ("init", 5), ("init done", 5))


def test_init_called_with_star_args_gives_back_the_object():
    made = cases.run_to_end(cases.construct, cases.Point, 7, 0)
    assert made.x == 7


def test_init_returning_a_value_after_a_switch_is_a_type_error():
    cases.run_to_end(cases.construct_bad, cases.BadInit)
    assert ("refused", "__init__() should return None, not 'int'") in cases.LOG


def test_init_result_check_is_counted_and_named():
    reset_stats()
    cases.run_to_end(cases.construct_positional, cases.Point, 2)
    assert "special: `__init__` result check 1" in stats().format()
    assert "special: `__init__` result check" in sx.explain(cases.Point.__init__)


@pytest.mark.usefixtures("deep_mode")
def test_depth_unwinding_inside_init():
    with cases.limit_recursion():
        made = cases.run_to_end(cases.construct, cases.Point, 1, cases.DEPTH)
    assert made.x == 1 + cases.DEPTH


@pytest.mark.usefixtures("deep_mode")
def test_depth_unwinding_inside_init_outside_tasklets():
    with cases.limit_recursion():
        made = cases.construct_positional(cases.Point3, 3)
        deep_made = cases.construct(cases.Point, 1, cases.DEPTH)
    assert (type(made), made.x) == (cases.Point3, 3)
    assert deep_made.x == 1 + cases.DEPTH


# -- pickling ---------------------------------------------------------------

RESUME_IN_CHILD = """
import pickle, sys
import stacklessxf as sx
from tests import callback_cases as cases
t = pickle.loads(sys.stdin.buffer.read())
t.insert()
sx.run()
print(repr((t._value if not hasattr(t._value, 'x') else ('x', t._value.x),
            [e for e in cases.LOG if e[0] != 'tick'])))
"""


def _resume_in_child(blob):
    done = subprocess.run([sys.executable, "-c", RESUME_IN_CHILD], input=blob,
                          capture_output=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return eval(done.stdout.decode())


def _suspend(function, *args, stop_after):
    """Start ``function(*args)`` in a tasklet and run it until ``stop_after``
    is logged; returns the suspended tasklet."""
    t = sx.tasklet(function)(*args)
    while stop_after not in cases.LOG:
        sx.schedule()
    t.remove()
    return t


@pytest.mark.parametrize("function, args, stop_after, expected", [
    (cases.with_body, ("p", False), ("p", "enter"),
     ("done", [("p", "entered", 0), ("p", "body", "P")])),
    (cases.with_body, ("q", True, True), ("q", "exit", "ValueError"),
     ("done", [("q", "exited", 0), ("q", "after")])),
    (cases.construct_positional, (cases.Point, 4), ("init", 4),
     (("x", 4), [("init done", 4), ("made", "Point", 4)])),
])
def test_suspended_in_a_special_resumes_in_a_fresh_process(function, args, stop_after,
                                                           expected):
    t = _suspend(function, *args, stop_after=stop_after)
    blob = pickle.dumps(t)
    cases.LOG.clear()
    result, log = _resume_in_child(blob)
    assert result == expected[0]
    assert log[:len(expected[1])] == expected[1]
    t.kill()


# -- callbacks that cannot switch -------------------------------------------

@pytest.mark.parametrize("kind, named", [
    ("operator", "an operator method"),
    ("subscript", "a subscript calling __getitem__"),
    ("property", "an attribute read"),
    ("sorted", "sorted (C code)"),
])
def test_other_callbacks_are_refused_before_anything_changes(kind, named):
    cases.run_to_end(cases.refused, kind, cases.Switching())
    log = [e for e in cases.LOG if e[0] != "tick"]
    assert log[0] == ("start", kind)
    assert log[1][:2] == ("refused", kind) and named in log[1][2], log[1]
    assert log[2] == ("goes on", kind)
    # Refused before anything changed: no other tasklet ran in between.
    assert cases.LOG.index(("goes on", kind)) == cases.LOG.index(("start", kind)) + 2
