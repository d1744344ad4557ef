"""Faults lose nothing: corrupted pickles raise instead of crashing the
interpreter, and a failed configuration of the C module changes nothing."""

import copyreg
import gc
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import time

import pytest

import stacklessxf as sx
from stacklessxf.runtime import native_loop, portable, scheduler
from tests import fault_cases as cases

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def clean_log():
    cases.LOG.clear()
    yield
    cases.LOG.clear()


def _run_in_child(source):
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, cwd=REPO,
                          timeout=120, text=True)
    return done.returncode, done.stdout, done.stderr


# -- corrupted pickles -------------------------------------------------------

def _suspended(function, *args):
    """A tasklet of ``function`` suspended at its first switch, and the
    portable form of its one record."""
    t = sx.tasklet(function)(*args)
    sx.schedule()
    assert len(t._stack) == 1
    return t, portable.to_portable(t._stack[0])


def _with_values(form, **replaced):
    module, qualname, fingerprint, site, values = form
    return module, qualname, fingerprint, site, {**values, **replaced}


def _stack_slot(form):
    """The name of the innermost value-stack slot of a record's form."""
    return [name for name in form[4] if name.startswith("$stack")][-1]


@pytest.mark.usefixtures("scheduler_loop")
@pytest.mark.parametrize("function,args,slot,value,needed", [
    (cases.loop_and_switch, ([1, 2, 3],), "$stack", [5, 6], "iterator"),
    (cases.switch_while_handling, (), "$handled", "not an exception", "exception or None"),
    (cases.switch_in_finally_of_exception, (), "$stack", "not an exception", "exception"),
])
def test_a_record_slot_the_code_trusts_is_checked_when_loaded(function, args, slot, value,
                                                              needed):
    t, form = _suspended(function, *args)
    if slot == "$stack":
        slot = _stack_slot(form)
    with pytest.raises(pickle.UnpicklingError, match=re.escape(slot) + ".*needs: " + needed):
        portable.from_portable(_with_values(form, **{slot: value}))
    assert portable.from_portable(form) == t._stack[0]
    t.kill()


def _state(**changes):
    state = {"func": cases.add, "alive": True, "blocked": False, "blocked_on": None,
             "tempval": None, "_call": (cases.add, (1, 2), {}), "_value": None,
             "_error": None, "_stack": []}
    state.update(changes)
    return state


@pytest.mark.usefixtures("scheduler_loop")
@pytest.mark.parametrize("changes,what", [
    ({"_call": (cases.add, [1, 2], {})}, "call"),
    ({"_call": (cases.add, (1, 2), None)}, "call"),
    ({"_call": (cases.add, (1, 2))}, "call"),
    ({"_call": ("not callable", (1, 2), {})}, "call"),
    ({"_error": "boom"}, "exception"),
    ({"_stack": [(10**9, 1)]}, "record"),
    ({"_stack": ["not a record"]}, "record"),
    ({"_stack": "not a list"}, "list of records"),
    ({"alive": "yes"}, "alive"),
])
def test_a_corrupted_tasklet_state_is_refused(changes, what):
    t = sx.tasklet.__new__(sx.tasklet)
    with pytest.raises(pickle.UnpicklingError, match=what):
        t.__setstate__(_state(**changes))


def _tuple_state(task, **changes):
    """``task``'s pickled state, a tuple, with items changed by position
    name (see scheduler._STATE_FORM)."""
    names = ("form", "flags", "func", "table", "rows", "interpreter", "call", "value",
             "error", "blocked_on", "attributes")
    state = dict(zip(names, task.__reduce__()[2]))
    state.update(changes)
    return tuple(state.values())


@pytest.mark.usefixtures("scheduler_loop")
@pytest.mark.parametrize("changes,what", [
    ({"form": 2}, "state"),
    ({"attributes": None, "extra": 1}, "state"),
    ({"flags": 32}, "flags"),
    ({"flags": -1}, "flags"),
    ({"flags": True}, "flags"),
    ({"func": ("module",)}, "function name"),
    ({"func": ("module", 3)}, "function name"),
    ({"table": []}, "records"),
    ({"rows": ((10**9, 1),)}, "record"),
    ({"call": (cases.add, [1], {})}, "call"),
    ({"error": "boom"}, "exception"),
    ({"attributes": []}, "attributes"),
])
def test_a_corrupted_tuple_state_is_refused(changes, what):
    t, _ = _suspended(cases.loop_and_switch, [1, 2])
    state = _tuple_state(t, **changes)
    with pytest.raises(pickle.UnpicklingError, match=what):
        sx.tasklet.__new__(sx.tasklet).__setstate__(state)
    t.kill()


@pytest.mark.usefixtures("scheduler_loop")
def test_a_tasklet_pickled_with_a_state_dict_still_loads_and_runs(monkeypatch):
    # As tasklets pickled before their state was a tuple.
    t, _ = _suspended(cases.loop_and_switch, [1, 2])
    t.atomic = True
    flags, func, stack, call, value, error, blocked_on, attributes, _ = \
        scheduler._unpacked_state(t.__reduce__()[2])
    old = {"func": portable.by_name(func), "_stack": portable.portable_stack(stack),
           "_call": call, "_value": value, "_error": error, "blocked_on": blocked_on,
           **dict(zip(scheduler._FLAGS, flags))}
    monkeypatch.setattr(sx.tasklet, "__reduce__",
                        lambda self: (copyreg.__newobj__, (type(self),), old))
    blob = pickle.dumps(t)
    monkeypatch.undo()
    t.kill()
    again = pickle.loads(blob)
    assert again.atomic and again.alive and len(again._stack) == len(stack)
    again.atomic = False
    again.insert()
    sx.run()
    assert not again.alive and again.tempval == 3


@pytest.mark.usefixtures("scheduler_loop")
def test_a_sound_tasklet_state_still_loads_and_runs():
    t = sx.tasklet.__new__(sx.tasklet)
    t.__setstate__(_state())
    t._queued = False
    t.insert()
    sx.run()
    assert t._value == 3 and not t.alive


@pytest.mark.usefixtures("scheduler_loop")
def test_a_record_with_a_wrong_slot_count_is_refused_in_a_tasklet_state():
    t, form = _suspended(cases.loop_and_switch, [1, 2])
    short = t._stack[0][:-1]
    with pytest.raises(pickle.UnpicklingError, match="holds"):
        sx.tasklet.__new__(sx.tasklet).__setstate__(_state(_call=None, _stack=[short]))
    t.kill()


@pytest.mark.parametrize("c_loop", [True, False])
def test_a_pickled_tasklet_with_a_corrupted_iterator_is_refused_not_run(c_loop):
    if c_loop and native_loop._switch is None:
        pytest.skip("the C extension _stacklessxf_switch is not built")
    t = sx.tasklet(cases.loop_and_switch)([1, 2, 3])
    sx.schedule()
    form = portable.to_portable(t._stack[0])
    t.kill()
    bad = _with_values(form, **{_stack_slot(form): [9, 9]})
    blob = pickle.dumps(bad)
    source = f"""
import pickle, sys
import stacklessxf as sx
from stacklessxf.runtime import native_loop, portable, scheduler
native_loop.available = {c_loop}
form = pickle.loads({blob!r})
try:
    record = portable.from_portable(form)
except pickle.UnpicklingError as exc:
    print("refused")
else:
    t = sx.tasklet.__new__(sx.tasklet)
    t.__setstate__(dict(func=None, alive=True, blocked=False, blocked_on=None, tempval=None,
                        _call=None, _value=None, _error=None, _stack=[record]))
    t._queued = False
    t.insert()
    try:
        sx.run()
    except Exception as exc:
        print("raised", type(exc).__name__)
"""
    code, out, err = _run_in_child(source)
    assert code == 0, err
    assert out.strip() == "refused"


# -- channel preference and the C module's configure -------------------------

@pytest.mark.usefixtures("scheduler_loop")
@pytest.mark.parametrize("value", [2**80, 2, -2, "1", 1.0, None])
def test_channel_preference_out_of_range_is_a_value_error(value):
    ch = sx.channel()
    with pytest.raises(ValueError, match="preference"):
        ch.preference = value
    assert ch.preference == -1


@pytest.mark.parametrize("value", [2**80, 2, "1"])
def test_a_pickled_channel_with_a_bad_preference_is_refused(value):
    # As a corrupted pickle could hold it.
    ch = sx.channel()
    state = ch.__reduce__()[2]
    with pytest.raises(ValueError, match="preference"):
        sx.channel().__setstate__(dict(state, preference=value))


CONFIGURE_TWICE = """
import stacklessxf as sx
from stacklessxf.runtime import native_loop, records, scheduler, trampoline
from tests import fault_cases as cases

class Impostor:
    # Some of the tasklet's fields, at other offsets, then one missing.
    __slots__ = ("padding", "more", "_value", "_error", "_call", "_stack", "_queued")

try:
    native_loop._switch.configure(
        records.HANDOVER, records.SITES, records.SITE_COUNTS, records.SWITCHED,
        records.Unwind, trampoline.TESTED_CALLS, None,
        records.count_unwound, trampoline.count_stacked_records, Impostor,
        scheduler._Scheduler)
except (TypeError, AttributeError) as exc:
    print("refused:", exc)
t = sx.tasklet(cases.loop_and_switch)(list(range(50)))
sx.run()
print("result", t._value, t.alive)
"""


def test_a_failed_configure_leaves_the_c_module_as_it_was():
    if native_loop._switch is None:
        pytest.skip("the C extension _stacklessxf_switch is not built")
    code, out, err = _run_in_child(CONFIGURE_TWICE)
    assert code == 0, err
    assert "refused:" in out and "blocked" in out
    assert "result 1225 False" in out


# -- an exception thrown to main while it runs the scheduler ------------------

@pytest.mark.usefixtures("scheduler_loop")
def test_throw_to_main_comes_out_of_run_at_once():
    thrower = sx.tasklet(cases.throw_to_main)(KeyError("to main"))
    other = sx.tasklet(cases.log_and_switch)("other", 3)
    with pytest.raises(KeyError, match="to main"):
        sx.run()
    # Main got it at once, before the other tasklet ran.
    assert cases.LOG == ["before"]
    # Nothing is left pending: a later schedule() from main raises nothing.
    sx.schedule()
    sx.run()
    assert not thrower.alive and not other.alive
    assert cases.LOG[-1] == ("other", 2) and "after" in cases.LOG


@pytest.mark.usefixtures("scheduler_loop")
def test_kill_main_comes_out_of_run_as_tasklet_exit():
    killer = sx.tasklet(cases.kill_main)()
    with pytest.raises(sx.TaskletExit):
        sx.run()
    sx.run()
    assert not killer.alive and cases.LOG == ["after kill"]


# -- asynchronous exceptions during a deep recursion --------------------------

DEEP = 20_000


def _counters():
    return [0] * (DEEP + 1), [0] * (DEEP + 1)


def _assert_every_finally_ran_once(entered, ran):
    assert set(ran) <= {0, 1}, "a finally ran twice"
    missed = [k for k in range(DEEP + 1) if entered[k] != ran[k]]
    assert not missed, f"{len(missed)} activations skipped their finally, e.g. {missed[:5]}"


def _raising_once(function, exc, at=1):
    """Stands for a runtime function; raises ``exc`` on its ``at``-th call."""
    calls = []

    def stand_in(*args):
        calls.append(args)
        if len(calls) == at:
            raise exc
        return function(*args)
    return stand_in


@pytest.mark.usefixtures("deep_records")
@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
@pytest.mark.parametrize("at", [1, 3])
def test_an_exception_in_the_trampolines_bookkeeping_reaches_every_record(monkeypatch,
                                                                          exc, at):
    from stacklessxf.runtime import trampoline
    monkeypatch.setattr(trampoline, "count_unwound",
                        _raising_once(trampoline.count_unwound, exc, at))
    entered, ran = _counters()
    with pytest.raises(exc):
        cases.deep_with_finally(DEEP, entered, ran)
    _assert_every_finally_ran_once(entered, ran)
    assert entered[DEEP] == 1


@pytest.mark.usefixtures("deep_records")
@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_an_exception_building_a_resume_entry_reaches_its_record(monkeypatch, exc):
    from stacklessxf.runtime.records import SITES, ResumeSite
    monkeypatch.setattr(ResumeSite, "resume_function",
                        _raising_once(ResumeSite.resume_function, exc))
    for site in SITES:
        if site.function_info is cases.deep_with_finally.__stackless__:
            monkeypatch.setattr(site, "function", None)
    entered, ran = _counters()
    with pytest.raises(exc):
        cases.deep_with_finally(DEEP, entered, ran)
    _assert_every_finally_ran_once(entered, ran)


@pytest.mark.usefixtures("deep_records")
@pytest.mark.usefixtures("scheduler_loop")
@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_an_exception_in_the_loops_bookkeeping_reaches_the_tasklets_records(monkeypatch,
                                                                          exc):
    from stacklessxf.runtime import trampoline
    # Both loops count a depth unwinding's records through this name.
    monkeypatch.setattr(trampoline, "count_unwound",
                        _raising_once(trampoline.count_unwound, exc, at=2))
    entered, ran = _counters()
    t = sx.tasklet(cases.deep_then_schedule)(DEEP, entered, ran)
    with pytest.raises(exc):
        sx.run()
    assert not t.alive and not t._stack
    _assert_every_finally_ran_once(entered, ran)


def _interrupt_at_random(run, wanted, seconds):
    """Run ``run()`` until ``wanted`` of its runs met a KeyboardInterrupt raised
    by a signal handler after a random part of ``seconds`` (at most 20 rounds
    for each wanted one: a loaded machine lets many signals come too late).
    Returns how many runs the signal met; each one it met must have raised.
    The collector is off meanwhile: a signal that lands in a finalizer, as
    in a collected tasklet's or generator's, is written off by CPython as
    unraisable, and earlier tests leave garbage of that kind behind."""
    rng = random.Random(int(os.environ.get("SEED", 10)))
    armed = []
    fired = []

    def interrupt(signum, frame):
        if armed:
            armed.clear()
            fired.append(True)
            raise KeyboardInterrupt

    gc.collect()
    gc.disable()
    previous = signal.signal(signal.SIGALRM, interrupt)
    interrupted = 0
    try:
        for _ in range(20 * wanted):
            if interrupted == wanted:
                break
            armed.append(True)
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.0005, seconds))
            try:
                run()
            except KeyboardInterrupt:
                interrupted += 1
            finally:
                armed.clear()
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
        gc.enable()
    assert interrupted == len(fired), "a signal's KeyboardInterrupt was lost"
    return interrupted


def _timed(run):
    """How long ``run()`` takes once warm, at its quickest of three (the first
    run builds the resume entries it needs, which can take longer than the
    rest of all runs; a loaded machine makes some runs slower)."""
    run()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
@pytest.mark.usefixtures("deep_mode")
def test_a_signal_at_any_moment_of_a_deep_recursion_runs_every_finally_once():
    counters = []

    def run():
        counters.append(_counters())
        cases.deep_with_finally(DEEP, *counters[-1])

    seconds = _timed(run)
    interrupted = _interrupt_at_random(run, 10, seconds)
    assert interrupted == 10
    for entered, ran in counters:
        _assert_every_finally_ran_once(entered, ran)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
@pytest.mark.usefixtures("scheduler_loop")
@pytest.mark.usefixtures("deep_mode")
def test_a_signal_at_any_moment_of_a_deep_tasklet_runs_every_finally_once():
    runs = []

    def run():
        entered, ran = _counters()
        runs.append((sx.tasklet(cases.deep_then_schedule)(DEEP, entered, ran), entered, ran))
        sx.run()

    seconds = _timed(run)
    interrupted = _interrupt_at_random(run, 10, seconds)
    assert interrupted == 10
    for t, entered, ran in runs:
        if t.alive:                 # interrupted in main, between two of its switches
            assert t.scheduled
            t.kill()
        assert not t._stack
        _assert_every_finally_ran_once(entered, ran)


# -- a suspended tasklet that nothing reaches any more ------------------------

@pytest.mark.usefixtures("scheduler_loop")
def test_a_collected_blocked_tasklet_runs_its_exit_and_finally():
    ch = sx.channel()
    t = sx.tasklet(cases.wait_in_with_and_finally)(ch)
    sx.run()
    assert t.blocked and cases.LOG == []
    del t, ch                   # the tasklet and its channel hold each other
    gc.collect()
    assert cases.LOG == [("exit", "TaskletExit"), "finally"]


@pytest.mark.usefixtures("scheduler_loop")
def test_a_dropped_paused_tasklet_runs_its_finally():
    t = sx.tasklet(cases.pause_in_finally)()
    sx.run()
    assert t.paused
    del t
    gc.collect()
    assert cases.LOG == ["finally"]
