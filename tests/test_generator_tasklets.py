"""Tasklet switches inside stackless generators, and ``for`` loops over
channels: the generator's body, the loop driving it and the tasklet all
suspend as records, which pickle at every switch and resume in a fresh
process."""

import os
import pickle
import subprocess
import sys

import pytest

import stacklessxf as sx
from stacklessxf.errors import SwitchError
from tests import generator_cases as cases

# Every test runs under both scheduler loops (see conftest.scheduler_loop).
pytestmark = pytest.mark.usefixtures("scheduler_loop")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RESUME_IN_CHILD = """
import pickle, sys
import stacklessxf as sx
from tests import generator_cases as cases
outcomes = []
for blob in pickle.loads(sys.stdin.buffer.read()):
    cases.OUT.clear()
    objects = pickle.loads(blob)
    tasklets = [t for t in objects if isinstance(t, sx.tasklet)]
    for t in tasklets:
        if t.alive and not t.blocked:
            t.insert()
    sx.run()
    outcomes.append((list(cases.OUT), [t._value for t in tasklets]))
sys.stdout.write(repr(outcomes))
"""


@pytest.fixture(autouse=True)
def clean():
    cases.OUT.clear()
    yield
    cases.OUT.clear()


def run_pickling_at_every_switch(make):
    """Run the tasklets ``make()`` returns (with the other objects they
    share, a channel), pickling them all each time main gets control back.
    Returns the events, the results, and (blob, events so far) per pickle."""
    objects = make()
    tasklets = [t for t in objects if isinstance(t, sx.tasklet)]
    saved = []
    while any(t.alive for t in tasklets):
        saved.append((pickle.dumps(objects), len(cases.OUT)))
        if not any(t.alive and not t.blocked for t in tasklets):
            break
        sx.schedule()
    return list(cases.OUT), [t._value for t in tasklets], saved


def resume_each_in_a_fresh_process(saved):
    child = subprocess.run([sys.executable, "-c", RESUME_IN_CHILD],
                           input=pickle.dumps([blob for blob, _ in saved]),
                           capture_output=True, cwd=REPO, timeout=300)
    assert child.returncode == 0, child.stderr.decode()
    return eval(child.stdout.decode())


def check_resumes_everywhere(make):
    events, results, saved = run_pickling_at_every_switch(make)
    assert len(saved) > 2
    for (blob, done), (child_events, child_results) in zip(
            saved, resume_each_in_a_fresh_process(saved)):
        assert child_events == events[done:]
        assert child_results == results
    # And in this process, from the last pickle but one.
    blob, done = saved[-2]
    cases.OUT.clear()
    objects = pickle.loads(blob)
    for t in objects:
        if isinstance(t, sx.tasklet) and t.alive and not t.blocked:
            t.insert()
    sx.run()
    assert cases.OUT == events[done:]
    return events, results


def test_a_for_loop_drives_a_generator_that_switches():
    sx.tasklet(cases.drive)("a", 3)
    sx.tasklet(cases.drive_by_next)("b", 2)
    sx.run()
    switching = list(cases.OUT)
    cases.OUT.clear()
    sx.tasklet(cases.drive_inline)("a", 3)
    sx.tasklet(cases.drive_inline)("b", 2)
    sx.run()
    inline = [(name, "next" if name == "b" and what == "got" else what, item)
              for name, what, item in cases.OUT]
    assert switching == inline


@pytest.mark.parametrize("driver", ["drive", "drive_by_next", "drive_relay", "drive_pairs",
                                    "drive_by_send"])
def test_pickles_at_every_switch_and_resumes_in_a_fresh_process(driver):
    function = getattr(cases, driver)
    events, results = check_resumes_everywhere(
        lambda: [sx.tasklet(function)("x", 3), sx.tasklet(cases.drive)("y", 2)])
    assert results[1] == [("y", 0), ("y", 1)]
    assert len(results[0]) >= 3


def test_the_generator_runs_while_its_body_waits():
    gen = cases.switching("g", 2)

    @sx.stackless
    def first():
        return next(gen)

    @sx.stackless
    def second():
        return gen.gi_running, gen.gi_suspended

    a = sx.tasklet(first)()
    b = sx.tasklet(second)()
    sx.run()
    assert a._value == ("g", 0)
    assert b._value == (True, False)


def test_a_switch_under_c_code_is_refused_and_the_tasklet_goes_on():
    task = sx.tasklet(cases.consume_with_list)("c", 2)
    with pytest.raises(SwitchError, match="list|C code|cannot be suspended"):
        sx.run()
    assert not task.alive


def test_for_loop_over_a_channel_ends_when_it_is_closed():
    ch = sx.channel()
    consumer = sx.tasklet(cases.sum_channel)("c", ch)
    sx.tasklet(cases.produce)("p", ch, [1, 2, 3])
    sx.run()
    assert consumer._value == 6
    assert ("c", "closed", 6) in cases.OUT


def test_main_iterating_a_channel_stops_when_it_is_closed():
    ch = sx.channel()
    sx.tasklet(cases.produce)("p", ch, [4, 5])
    assert list(ch) == [4, 5]


def test_a_generator_over_a_channel():
    ch = sx.channel()
    consumer = sx.tasklet(cases.sum_scaled)("c", ch)
    sx.tasklet(cases.produce)("p", ch, [1, 2])
    sx.run()
    assert consumer._value == 30


@pytest.mark.parametrize("consumer", ["sum_channel", "sum_scaled"])
def test_channel_loops_pickle_at_every_switch(consumer):
    def make():
        ch = sx.channel()
        return [sx.tasklet(getattr(cases, consumer))("c", ch),
                sx.tasklet(cases.produce)("p", ch, [1, 2, 3]), ch]
    events, results = check_resumes_everywhere(make)
    assert results[0] == (6 if consumer == "sum_channel" else 60)


def test_a_for_loop_over_an_iterator_whose_stackless_next_switches():
    from tests import callback_cases
    callback_cases.LOG.clear()
    callback_cases.run_to_end(callback_cases.for_loop, callback_cases.Switching())
    log = [entry for entry in callback_cases.LOG if not isinstance(entry, tuple)]
    assert log == [2, 1]
    assert ("tick", 0) in callback_cases.LOG


def test_comprehensions_switch_and_pickle_mid_way():
    events, results = check_resumes_everywhere(
        lambda: [sx.tasklet(cases.comprehend)([1, 0, 2]), sx.tasklet(cases.drive)("y", 2)])
    assert results[0] == ([2, 4], {1: 2, 0: 0, 2: 4}, 4)


def test_killing_a_tasklet_runs_the_finally_blocks_of_the_generator_it_drives():
    task = sx.tasklet(cases.drive_with_cleanup)("k", 5)
    sx.schedule()
    sx.schedule()
    assert task.alive and ("k", "got", 0) in cases.OUT
    task.kill()
    assert not task.alive
    assert cases.OUT[-2:] == [("k", "generator finally"), ("k", "driver finally")]
