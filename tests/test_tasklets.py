"""Tasklets, the scheduler and channels."""

import pytest

import stacklessxf as sx
from stacklessxf import SwitchError, channel, tasklet
from tests import tasklet_cases as cases

# Every test runs under both scheduler loops (see conftest.scheduler_loop).
pytestmark = pytest.mark.usefixtures("scheduler_loop")


@pytest.fixture(autouse=True)
def clean_log():
    cases.LOG.clear()
    yield
    assert sx.getruncount() == 1, "a test left runnable tasklets behind"


def test_round_robin():
    tasklet(cases.worker)("a", 3)
    tasklet(cases.worker)("b", 2)
    assert sx.getruncount() == 3
    sx.run()
    assert cases.LOG == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)]


def test_tasklet_state_is_records_while_suspended():
    t = tasklet(cases.worker)("a", 2)
    sx.schedule()                 # main lets the worker run once
    assert cases.LOG == [("a", 0)]
    assert t.alive and t.scheduled and not t.is_current
    assert t._stack and all(isinstance(record, tuple) for record in t._stack)
    sx.run()
    assert not t.alive


def test_channel_between_tasklets():
    ch, out = channel(), []
    tasklet(cases.producer)(ch, [1, 2, 3])
    tasklet(cases.consumer)(ch, 3, out)
    sx.run()
    assert out == [1, 2, 3]
    assert ch.balance == 0


def test_main_receives_and_sends():
    requests, replies = channel(), channel()
    tasklet(cases.echo)(requests, replies, 3)
    results = []
    for value in (1, 2, 3):
        requests.send(value)
        results.append(replies.receive())
    assert results == [2, 4, 6]
    sx.run()


def test_receiver_preference_runs_receiver_first():
    ch, out = channel(), []
    receiver = tasklet(cases.consumer)(ch, 1, out)
    sx.schedule()                   # the receiver blocks on the channel
    assert receiver.blocked and ch.balance == -1
    ch.send("x")                    # preference -1: the receiver runs now
    assert out == ["x"]
    assert not receiver.alive


def test_sender_preference_keeps_sender_running():
    ch, out = channel(), []
    ch.preference = 1
    tasklet(cases.consumer)(ch, 1, out)
    sx.schedule()
    ch.send("y")                    # preference 1: main goes on
    assert out == []
    sx.run()
    assert out == ["y"]


def test_blocked_sender_balance():
    ch = channel()
    tasklet(cases.producer)(ch, ["a", "b"])
    sx.schedule()
    assert ch.balance == 1
    assert ch.receive() == "a"
    assert ch.receive() == "b"
    sx.run()


def test_deadlock_is_reported():
    ch = channel()
    with pytest.raises(RuntimeError, match="Deadlock: the last runnable tasklet cannot be blocked"):
        ch.receive()


def test_deep_recursion_inside_a_tasklet_then_switch():
    t = tasklet(cases.deep_then_switch)(5000)
    sx.run()
    assert not t.alive
    assert t._value == 5000


def test_switch_through_plain_frame_is_an_error_naming_it():
    t = tasklet(cases.switch_through_plain_frame)()
    with pytest.raises(SwitchError, match="plain_switcher"):
        sx.run()
    assert not t.alive


def test_for_loop_over_a_channel_waits_at_each_receive():
    ch, out = channel(), []
    consumer = tasklet(cases.iterate_channel)(ch, out)
    sx.run()
    assert consumer.blocked
    ch.send(1)
    ch.send(2)
    assert out == [1, 2]


def test_tasklet_exception_reaches_main():
    ch = channel()
    tasklet(cases.failing)(ch)
    sx.schedule()
    with pytest.raises(KeyError, match="tasklet failed"):
        ch.send(None)


def test_send_exception_raises_in_receiver():
    ch, out = channel(), []
    tasklet(cases.catch_sent_exception)(ch, out)
    sx.schedule()
    ch.send_exception(ValueError, "bad value")
    assert out == ["bad value"]


def test_state_survives_many_switches():
    ch, out = channel(), []
    tasklet(cases.keep_state_across_switches)(ch, out)
    for value in range(100):
        ch.send(value)
    ch.send(None)
    assert out == [(sum(range(100)), list(range(100)))]


def test_schedule_call_sites_are_resume_points():
    info = cases.worker.__stackless__
    reasons = {rp.reason for rp in info.analysis.resume_points}
    assert "switch" in reasons


def test_main_is_plain_code():
    assert sx.getcurrent() is sx.getmain()
    assert sx.getmain().is_main


def test_deadlock_leaves_the_channel_clean():
    ch = channel()
    with pytest.raises(RuntimeError, match="Deadlock: the last runnable tasklet cannot be blocked"):
        ch.receive()
    assert ch.balance == 0
    assert not sx.getmain().blocked


def test_kill_runs_finally_and_ends_quietly():
    ch, out = channel(), []
    t = tasklet(cases.cleanup_on_kill)(ch, out)
    sx.schedule()
    assert t.blocked and ch.balance == -1
    t.kill()
    assert out == ["finally ran"]
    assert not t.alive and ch.balance == 0


def test_kill_unstarted_tasklet():
    t = tasklet(cases.worker)("never", 1)
    t.kill()
    assert not t.alive and cases.LOG == []


def test_throw_and_raise_exception():
    out = []
    t = tasklet(cases.record_thrown)(out)
    sx.schedule()
    t.throw(KeyError("k"))
    assert out == ["KeyError('k')"] and not t.alive
    t2 = tasklet(cases.record_thrown)(out)
    sx.schedule()
    t2.raise_exception(IndexError, "i")
    assert out[-1] == "IndexError('i')"


def test_pending_throw_waits_for_the_scheduler():
    out = []
    t = tasklet(cases.record_thrown)(out)
    sx.schedule()
    t.throw(KeyError("later"), pending=True)
    assert out == []
    sx.run()
    assert out == ["KeyError('later')"]


def test_run_switches_to_the_tasklet_now():
    t1 = tasklet(cases.worker)("a", 1)
    t2 = tasklet(cases.worker)("b", 1)
    t2.run()
    assert cases.LOG == [("b", 0)]
    sx.run()
    assert not t1.alive and not t2.alive


def test_frames_and_format_stack():
    ch = channel()
    t = tasklet(cases.nested_for_frames)(3, ch)
    sx.schedule()
    frames = t.frames
    # The innermost activation waits in a tail call (return ch.receive()):
    # it needs no record, so the receive's value goes straight to its caller.
    assert [f.function for f in frames] == ["nested_for_frames"] * 3
    assert frames[0].lineno == cases.nested_for_frames.__code__.co_firstlineno + 5
    assert [f.slots["marker"] for f in frames] == [10, 20, 30]
    text = t.format_stack()
    assert "tasklet_cases.py" in text and "marker = 30" in text
    ch.send(1)
    assert t._value == 61


def test_paused_after_remove():
    t = tasklet(cases.worker)("p", 1)
    t.remove()
    assert t.paused and not t.scheduled
    t.insert()
    sx.run()


def test_copy_forks_a_suspended_tasklet():
    import copy

    original = tasklet(cases.counting)("x", 4)
    sx.schedule()
    sx.schedule()
    twin = original.copy()
    also = copy.deepcopy(original)
    sx.run()
    # Each copy has its own items list, filled from the point of the copy.
    assert cases.LOG == [("x", 6, [0, 1, 2, 3])] * 3
    assert not twin.alive and not also.alive


def test_copy_of_running_or_blocked_tasklet_is_refused():
    with pytest.raises(RuntimeError, match="running tasklet"):
        sx.getmain().copy()
    ch, out = channel(), []
    t = tasklet(cases.consumer)(ch, 1, out)
    sx.schedule()
    with pytest.raises(RuntimeError, match="blocked"):
        t.copy()
    t.kill()


def test_main_can_iterate_over_a_channel():
    ch = channel()
    tasklet(cases.producer)(ch, [5, 6, 7])
    received = []
    for value in ch:
        received.append(value)
        if len(received) == 3:
            break
    assert received == [5, 6, 7]
    sx.run()


def test_docs_example_producer_consumer():
    ch, out = channel(), []
    tasklet(cases.producer)(ch, [0, 1, 4, 9, 16])
    tasklet(cases.consumer)(ch, 5, out)
    sx.run()
    assert out == [0, 1, 4, 9, 16]


def test_send_sequence_waits_at_each_send():
    ch, received, counts = channel(), [], []
    tasklet(cases.send_all)(ch, iter([3, 1, 2]), counts)
    tasklet(cases.consumer)(ch, 3, received)
    sx.run()
    assert received == [3, 1, 2] and counts == [3]
    tasklet(cases.consumer)(ch, 2, received)     # main sends a sequence too
    assert ch.send_sequence(["a", "b"]) == 2
    assert received[-2:] == ["a", "b"]


def test_schedule_remove_pauses_until_inserted():
    out = []
    t = tasklet(cases.remove_self_then_finish)(out)
    sx.run()
    assert out == ["before"] and t.paused and not t.scheduled
    t.insert()
    sx.run()
    assert out == ["before", "after"] and not t.alive


def test_bind_then_setup_and_tempval():
    ch, out = channel(), []
    t = tasklet().bind(cases.record_received)
    assert not t.alive
    t.setup(ch, out)
    sx.schedule()
    ch.preference = 1               # the receiver waits in the queue, holding the value
    ch.send("v")
    assert out == [] and t.tempval == "v"
    sx.run()
    assert out == ["v"] and t.tempval is None     # what record_received returned


def test_send_throw_keeps_the_traceback():
    ch, out = channel(), []
    tasklet(cases.record_received)(ch, out)
    sx.schedule()
    try:
        raise KeyError("from main")
    except KeyError as exc:
        ch.send_throw(exc, None, exc.__traceback__)
    assert out == [("thrown", "'from main'", True)]


def test_closing_channel():
    ch = channel()
    assert not ch.closing and not ch.closed
    ch.close()
    assert ch.closing and ch.closed
    with pytest.raises(ValueError, match="closed"):
        ch.receive()
    assert list(ch) == []
    ch.open()
    assert not ch.closing
    tasklet(cases.producer)(ch, [1])
    assert ch.receive() == 1
    sx.run()


def test_each_thread_has_its_own_scheduler():
    import threading

    seen = {}

    def in_thread():
        ch, out = channel(), []
        tasklet(cases.producer)(ch, [1, 2])
        tasklet(cases.consumer)(ch, 2, out)
        seen["main"] = sx.getmain()
        seen["count"] = sx.getruncount()
        sx.run()
        seen["out"] = out

    tasklet(cases.worker)("here", 1)      # queued in this thread only
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen["main"] is not sx.getmain()
    assert seen["count"] == 3 and seen["out"] == [1, 2]
    assert sx.getruncount() == 2
    sx.run()


def test_schedule_returns_its_argument():
    t = tasklet(cases.schedule_values)("s")
    sx.run()
    assert cases.LOG == [("s", 1, 2, t)]      # by default, the current tasklet


def test_threads_switch_tasklets_at_the_same_time():
    # Both threads' schedulers run their loops while the interpreter hands
    # control from thread to thread every few instructions.
    import sys
    import threading

    results = {}

    def ping_pong(name):
        out = []
        tasklet(cases.counted_switches)(3000, out)
        tasklet(cases.counted_switches)(3000, out)
        sx.run()
        results[name] = out

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=ping_pong, args=(name,)) for name in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    expected = [i for i in range(3000) for _ in range(2)]
    assert results == {"a": expected, "b": expected}


def test_near_the_recursion_limit_a_run_ends_cleanly():
    # Whatever frame the limit stops (the scheduler's own, or the tasklet's
    # even after its frames unwound), run() either finishes or raises
    # RecursionError, and no tasklet is left queued.
    import sys

    limit = sys.getrecursionlimit()
    lowest = _lowest_recursion_limit()

    def run_under(low_limit):
        tasklet(cases.deep_then_switch)(3)
        sys.setrecursionlimit(low_limit)
        try:
            sx.run()
        except RecursionError:
            return "RecursionError"
        finally:
            sys.setrecursionlimit(limit)
        return "ran"

    outcomes = [run_under(lowest + room) for room in range(1, 40)]
    assert outcomes[0] == "RecursionError" and outcomes[-1] == "ran"
    assert set(outcomes) == {"RecursionError", "ran"}
    assert sx.getruncount() == 1


def _lowest_recursion_limit():
    """The lowest recursion limit the caller's depth allows."""
    import sys

    limit = sys.getrecursionlimit()
    for low in range(1, limit):
        try:
            sys.setrecursionlimit(low)
        except RecursionError:
            continue
        sys.setrecursionlimit(limit)
        return low
    return limit


def test_switches_keep_no_references_behind():
    # What the loops hand from tasklet to tasklet (values, records, the
    # exception being handled) is released again: counts return to where
    # they were once the tasklets have ended.
    import gc
    import sys

    class Marker(Exception):
        pass

    value = object()

    def run_pair(n):
        tasklet(cases.echo_switches)(n, value, Marker)
        tasklet(cases.echo_switches)(n, value, Marker)
        sx.run()

    run_pair(10)                    # first runs build the resume entries
    gc.collect()
    before = sys.getrefcount(value), sys.getrefcount(Marker), len(gc.get_objects())
    run_pair(2000)
    gc.collect()
    after = sys.getrefcount(value), sys.getrefcount(Marker), len(gc.get_objects())
    assert after[:2] == before[:2]
    assert after[2] - before[2] < 50
