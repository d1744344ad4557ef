"""Generated programs of channel operations and schedule() calls run alike
under the scheduler's C loop and its Python loop: the same events in the
same order, and the same tasklets left blocked."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stacklessxf as sx
from stacklessxf.runtime import native_loop
from tests import tasklet_cases as cases

pytestmark = pytest.mark.skipif(native_loop._switch is None,
                                reason="the C extension _stacklessxf_switch is not built")

CHANNELS = 3
operations = st.tuples(st.sampled_from(["send", "receive", "schedule"]),
                       st.integers(0, CHANNELS - 1))
programs = st.tuples(
    st.lists(st.sampled_from([-1, 0, 1]), min_size=CHANNELS, max_size=CHANNELS),
    st.lists(st.lists(operations, max_size=8), min_size=1, max_size=4),
)


def run_program(preferences, actors, c_loop, monkeypatch):
    """The events of one run, and for each actor whether it ended blocked."""
    monkeypatch.setattr(native_loop, "available", c_loop)
    channels = [sx.channel() for _ in preferences]
    for ch, preference in zip(channels, preferences):
        ch.preference = preference
    log = []
    tasklets = [sx.tasklet(cases.channel_actor)(name, ops, channels, log)
                for name, ops in enumerate(actors)]
    sx.run()
    blocked = [t.blocked for t in tasklets]
    for t in tasklets:
        t.kill()
    assert sx.getruncount() == 1
    return log, blocked


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(programs)
def test_channel_programs_run_alike_under_both_loops(monkeypatch, program):
    preferences, actors = program
    under_c = run_program(preferences, actors, True, monkeypatch)
    under_python = run_program(preferences, actors, False, monkeypatch)
    assert under_c == under_python


def test_the_c_schedule_switches_a_frame_the_c_loop_runs_by_itself(monkeypatch):
    """A tasklet's only frame, run by the C loop, switches in C without the
    Python schedule(): its frame returns to the loop's base directly (3.11),
    or past the shim frame the interpreter puts between them (3.12)."""
    from stacklessxf.runtime import scheduler
    checks = []
    check = scheduler._check_can_switch
    monkeypatch.setattr(scheduler, "_check_can_switch",
                        lambda *args: checks.append(args) or check(*args))
    del cases.LOG[:]
    sx.tasklet(cases.worker)("a", 50)
    sx.tasklet(cases.worker)("b", 50)
    sx.run()
    assert len(cases.LOG) == 100
    assert checks == []
