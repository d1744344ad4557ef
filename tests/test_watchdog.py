"""run(ticks): the watchdog interrupts busy stackless tasklets."""

import os
import pickle
import subprocess
import sys

import pytest

import stacklessxf as sx
from tests import watchdog_cases as cases

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def clean():
    cases.OUT.clear()
    yield
    cases.OUT.clear()
    assert sx.getruncount() == 1


def test_busy_loop_is_interrupted_and_taken_from_the_queue():
    t = sx.tasklet(cases.counter)("a")
    interrupted = sx.run(100)
    assert interrupted is t and t.alive and not t.scheduled and t.paused
    assert cases.OUT == [f"a {n}" for n in range(10, 100, 10)]
    assert t.frames[0].slots["n"] == 99
    assert sx.run(50) is None       # nothing is runnable
    t.insert()
    again = sx.run(50)
    assert again is t and cases.OUT[-1] == "a 140"
    t.kill()
    assert not t.alive


def test_watchdog_code_is_only_used_while_it_runs():
    plain_code = cases.counter.__code__
    t = sx.tasklet(cases.counter)("b")
    sx.run(10)
    assert cases.counter.__code__ is plain_code
    t.kill()


def test_calls_count_as_ticks():
    t = sx.tasklet(cases.recursive_busy)(100_000)
    assert sx.run(500) is t
    depth = len(t.frames)
    assert 400 <= depth <= 500
    t.insert()
    assert sx.run() is None
    assert not t.alive and t._value == 100_000


def test_run_finishing_before_the_budget_returns_none():
    sx.tasklet(cases.finite)(10)
    assert sx.run(10_000) is None
    assert cases.OUT == [45]


def test_plain_frames_are_never_interrupted():
    """Ticks inside a stackless function called by a plain one cannot stop
    the tasklet there; it is interrupted at its next stackless tick."""
    t = sx.tasklet(cases.busy_through_plain_frame)(50)
    assert sx.run(5) is None     # every later tick falls inside the plain loop
    assert not t.alive
    assert cases.OUT == [3] * 50


CHILD = """
import pickle, sys
import stacklessxf as sx
from tests import watchdog_cases as cases
t = pickle.loads(sys.stdin.buffer.read())
t.insert()
assert sx.run(300) is t
print("\\n".join(cases.OUT))
t.kill()
"""


def test_interrupted_tasklet_resumes_in_a_fresh_process():
    t = sx.tasklet(cases.counter)("c")
    assert sx.run(1000) is t
    blob = pickle.dumps(t)
    before = len(cases.OUT)
    t.remove()
    t.insert()
    assert sx.run(300) is t      # the original goes on here
    expected = cases.OUT[before:]
    t.kill()
    done = subprocess.run([sys.executable, "-c", CHILD], input=blob, cwd=REPO,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == expected
