"""The ``stackless`` module behaves as Stackless Python documents it.

Each test states one documented behaviour; every one runs under both
scheduler loops (see conftest.scheduler_loop)."""

import pickle
import sys
import threading

import pytest

import stackless
import stacklessxf
from tests import stackless_api_cases as cases

pytestmark = pytest.mark.usefixtures("scheduler_loop")


@pytest.fixture(autouse=True)
def clean():
    cases.LOG.clear()
    yield
    stackless.set_schedule_callback(None)
    stackless.set_channel_callback(None)
    stackless.set_error_handler(None)
    assert stackless.getruncount() == 1, "a test left runnable tasklets behind"


# -- the module ----------------------------------------------------------------

def test_import_stackless_is_the_compat_module():
    assert stackless is stacklessxf.compat
    assert stackless.tasklet is stacklessxf.tasklet and stackless.channel is stacklessxf.channel


def test_current_main_and_runcount_follow_the_scheduler():
    assert stackless.current is stackless.main is stackless.getmain()
    t = stackless.tasklet(cases.steps)("a", 1)
    assert stackless.runcount == 2
    stackless.run()
    assert stackless.runcount == 1 and not t.alive


# -- schedule, schedule_remove and tempval ---------------------------------------

def test_schedule_returns_retval():
    t = stackless.tasklet(cases.log_schedule)("x", 7)
    u = stackless.tasklet(cases.steps)("y", 0)
    stackless.run()
    assert cases.LOG == [("x", 7)] and not u.alive and not t.alive


def test_schedule_default_retval_is_the_current_tasklet():
    t = stackless.tasklet(cases.log_schedule_default)()
    stackless.run()
    assert cases.LOG == [("default", t)]


def test_tempval_holds_retval_while_suspended_and_can_be_changed():
    t = stackless.tasklet(cases.log_schedule)("x", "mine")
    stackless.schedule()          # t runs up to its schedule(); main goes on first
    assert t.tempval == "mine"
    t.tempval = "changed"
    stackless.run()
    assert cases.LOG == [("x", "changed")]


def test_schedule_remove_returns_the_tempval_set_before_insert():
    t = stackless.tasklet(cases.log_schedule_remove)("w")
    stackless.run()
    assert t.paused and t.tempval == "r" and cases.LOG == []
    t.tempval = "result"
    t.insert()
    stackless.run()
    assert cases.LOG == [("w", "result")]


def test_schedule_remove_from_main_runs_the_others_then_returns():
    stackless.tasklet(cases.steps)("a", 2)
    assert stackless.schedule_remove("back") == "back"
    assert cases.LOG == [("a", 0), ("a", 1)]


def test_schedule_from_main_with_nothing_else_returns_at_once():
    assert stackless.schedule(5) == 5


# -- run ---------------------------------------------------------------------------

def test_run_timeout_returns_the_interrupted_tasklet_taken_out_of_the_queue():
    t = stackless.tasklet(cases.busy)("b")
    assert stackless.run(500) is t
    assert t.alive and not t.scheduled and stackless.getruncount() == 1
    t.kill()


def test_run_timeout_is_per_tasklet_turn():
    # Two tasklets that switch often never use a whole turn's budget.
    stackless.tasklet(cases.steps)("a", 30)
    stackless.tasklet(cases.steps)("b", 30)
    assert stackless.run(200) is None
    assert len(cases.LOG) == 60


def test_run_totaltimeout_counts_across_tasklets():
    a = stackless.tasklet(cases.count_forever)("a")
    b = stackless.tasklet(cases.count_forever)("b")
    interrupted = stackless.run(200, totaltimeout=True)
    assert interrupted in (a, b)
    a.kill()
    b.kill()


def test_run_soft_stops_at_the_next_switch_without_interrupting():
    a = stackless.tasklet(cases.count_forever)("a")
    assert stackless.run(200, soft=True, totaltimeout=True) is None
    assert a.scheduled and a.alive      # it switched on its own, and is still queued
    a.kill()


def test_atomic_tasklet_is_not_interrupted():
    t = stackless.tasklet(cases.atomic_busy)("t", 5000)
    assert stackless.run(100) is t
    assert cases.LOG == [("t", "atomic part done")]
    t.kill()


def test_atomic_context_manager_restores_the_flag():
    current = stackless.getcurrent()
    with stackless.atomic():
        assert current.atomic
    assert not current.atomic
    assert current.set_atomic(True) is False and current.set_atomic(False) is True


def test_run_from_a_tasklet_returns_when_the_others_are_done():
    stackless.tasklet(cases.nested_run)("n")
    stackless.tasklet(cases.steps)("s", 3)
    stackless.run()
    assert cases.LOG == [("n", "before run"), ("s", 0), ("s", 1), ("s", 2),
                         ("n", "run returned", None)]


def test_run_ignores_threadblock_and_ignore_nesting():
    stackless.tasklet(cases.steps)("a", 1)
    assert stackless.run(0, True, False, True, False) is None
    assert cases.LOG == [("a", 0)]


# -- traps ----------------------------------------------------------------------------

def test_switch_trap_makes_a_switch_raise():
    assert stackless.switch_trap(1) == 0
    try:
        stackless.tasklet(cases.steps)("a", 1)
        with pytest.raises(RuntimeError, match="switch_trap"):
            stackless.schedule()
        with pytest.raises(RuntimeError, match="switch_trap"):
            stackless.run()
    finally:
        assert stackless.switch_trap(-1) == 1
    stackless.run()
    assert cases.LOG == [("a", 0)]


def test_switch_trap_inside_a_tasklet():
    stackless.tasklet(cases.switch_while_trapped)()
    stackless.run()
    assert cases.LOG == [("trapped", "switch_trap")]


def test_block_trap_refuses_to_block():
    ch = stackless.channel()
    stackless.tasklet(cases.block_while_trapped)(ch)
    stackless.run()
    assert cases.LOG == [("block trapped", "this tasklet does not like to be blocked.")]
    assert ch.balance == 0


def test_block_trap_allows_a_transfer_that_does_not_block():
    ch = stackless.channel()
    stackless.tasklet(cases.send_value)(ch, 1)
    stackless.run()
    main = stackless.getcurrent()
    main.block_trap = True
    try:
        assert ch.receive() == 1
        with pytest.raises(RuntimeError, match="does not like to be blocked"):
            ch.receive()
    finally:
        main.block_trap = False
    stackless.run()


# -- tasklet construction --------------------------------------------------------------

def test_tasklet_with_args_and_kwargs_is_alive_and_paused():
    t = stackless.tasklet(cases.send_value, (stackless.channel(), 1))
    assert t.alive and t.paused and not t.scheduled
    t.bind(None)
    assert not t.alive


def test_bind_with_arguments_then_insert():
    ch = stackless.channel()
    t = stackless.tasklet()
    assert t.bind(cases.receive_into, (ch,)) is t
    t.insert()
    stackless.run()
    ch.send("hi")
    assert cases.LOG == [("received", "hi")]


def test_bind_none_unbinds_a_paused_tasklet():
    t = stackless.tasklet(cases.log_schedule_remove)("w")
    stackless.run()
    assert t.alive and t.paused
    t.bind(None)
    assert not t.alive and t.func is None and t.frame is None


def test_bind_refuses_a_scheduled_tasklet_and_a_bad_function():
    t = stackless.tasklet(cases.steps)("a", 1)
    with pytest.raises(RuntimeError):
        t.bind(cases.steps)
    with pytest.raises(TypeError):
        stackless.tasklet().bind(42)
    stackless.run()


def test_setup_twice_is_an_error():
    t = stackless.tasklet(cases.steps)("a", 0)
    with pytest.raises(RuntimeError, match="alive"):
        t.setup("a", 0)
    stackless.run()


def test_next_and_prev_walk_the_run_queue_as_a_ring():
    a = stackless.tasklet(cases.steps)("a", 0)
    b = stackless.tasklet(cases.steps)("b", 0)
    main = stackless.getcurrent()
    assert main.next is a and a.next is b and b.next is main
    assert main.prev is b and a.prev is main
    stackless.run()
    assert a.next is None


def test_channel_queue_is_the_first_waiting_tasklet_and_next_walks_the_rest():
    ch = stackless.channel()
    a = stackless.tasklet(cases.receive_into)(ch)
    b = stackless.tasklet(cases.receive_into)(ch)
    stackless.run()
    assert ch.queue is a and a.next is b and b.next is None and b.prev is a
    assert ch.balance == -2
    ch.send(1)
    ch.send(2)
    assert ch.queue is None and ch.balance == 0


def test_recursion_depth_nesting_level_frame_and_restorable():
    out = []
    t = stackless.tasklet(cases.deeper)(3, out)
    stackless.schedule()
    depth, nesting, code_name, restorable = out[0]
    assert depth == 5 and nesting == 0 and code_name == "report_self" and restorable
    assert t.recursion_depth == 5 and t.nesting_level == 0 and t.restorable
    assert t.frame.function == "report_self"
    assert not stackless.getmain().restorable
    stackless.run()


def test_thread_id_and_tasklets_belong_to_their_thread():
    assert stackless.getcurrent().thread_id == threading.get_ident()
    made = []

    def in_thread():
        made.append(stackless.tasklet(cases.steps)("t", 1))
        made.append(threading.get_ident())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    t, ident = made
    import gc
    gc.collect()
    assert t.thread_id == -1 and not t.alive      # its thread ended
    with pytest.raises(RuntimeError):
        t.run()
    t.bind_thread()
    assert t.thread_id == threading.get_ident() and t.alive
    t.insert()
    stackless.run()
    assert cases.LOG == [("t", 0)]


def test_get_thread_info_and_getthreads():
    main, current, runcount = stackless.get_thread_info(threading.get_ident())
    assert main is stackless.getmain() and current is main and runcount == 1
    assert stackless.getthreads()[0] == threading.main_thread().ident
    assert stackless.get_thread_info() == (main, current, 1)
    with pytest.raises(RuntimeError, match="Thread id not found"):
        stackless.get_thread_info(-12345)


# -- callbacks ----------------------------------------------------------------------------

def test_schedule_callback_sees_every_switch_before_it_happens():
    seen = []
    stackless.set_schedule_callback(
        lambda prev, next: seen.append((prev, next, stackless.getcurrent() is prev)))
    assert stackless.get_schedule_callback() is not None
    t = stackless.tasklet(cases.steps)("a", 1)
    main = stackless.getmain()
    stackless.run()
    assert seen == [(main, t, True), (t, main, True)]


def test_channel_callback_arguments():
    calls = []
    old = stackless.set_channel_callback(lambda *args: calls.append(args))
    assert old is None
    ch = stackless.channel()
    t = stackless.tasklet(cases.receive_into)(ch)
    stackless.run()
    ch.send(3)
    main = stackless.getmain()
    assert calls == [(ch, t, False, True), (ch, main, True, False)]
    assert stackless.get_channel_callback() is not None


def test_error_handler_takes_a_tasklets_exception():
    handled = []
    stackless.set_error_handler(
        lambda kind, value, tb: handled.append((kind, str(value), stackless.getcurrent())))
    t = stackless.tasklet(cases.fail)("boom")
    u = stackless.tasklet(cases.steps)("after", 2)
    stackless.run()           # the exception does not reach main
    assert handled == [(KeyError, "'boom'", t)] and not t.alive
    assert cases.LOG == [("after", 0), ("after", 1)] and not u.alive


def test_an_error_handler_that_raises_sends_its_exception_to_main():
    def handler(kind, value, tb):
        raise ValueError("from the handler")

    stackless.set_error_handler(handler)
    stackless.tasklet(cases.fail)("boom")
    with pytest.raises(ValueError, match="from the handler"):
        stackless.run()


# -- channels ------------------------------------------------------------------------------

def test_send_exception_is_raised_in_the_receiver():
    ch = stackless.channel()
    stackless.tasklet(cases.receive_error)(ch)
    stackless.run()
    ch.send_exception(KeyError, "k")
    assert cases.LOG == [("raised", "KeyError", "'k'", True)]
    with pytest.raises(TypeError):
        ch.send_exception("not a class")


def test_send_throw_takes_raise_arguments():
    ch = stackless.channel()
    stackless.tasklet(cases.receive_error)(ch)
    stackless.tasklet(cases.receive_error)(ch)
    stackless.run()
    try:
        raise LookupError("with tb")
    except LookupError:
        ch.send_throw(*sys.exc_info())
    ch.send_throw(IndexError, "i")
    assert cases.LOG == [("raised", "LookupError", "with tb", True),
                         ("raised", "IndexError", "i", True)]


def test_send_sequence_returns_the_count():
    ch = stackless.channel()
    ch.preference = 1
    for _ in range(3):
        stackless.tasklet(cases.receive_into)(ch)
    stackless.run()
    assert ch.send_sequence(["a", "b", "c"]) == 3
    stackless.run()
    assert cases.LOG == [("received", "a"), ("received", "b"), ("received", "c")]


def test_iterating_a_channel_from_main():
    ch = stackless.channel()
    ch.preference = 1
    stackless.tasklet(cases.send_value)(ch, 1)
    stackless.tasklet(cases.send_value)(ch, 2)
    stackless.run()
    ch.close()
    assert list(ch) == [1, 2] and ch.closed
    stackless.run()


def test_closed_channel_refuses_to_block():
    ch = stackless.channel()
    ch.close()
    with pytest.raises(ValueError, match="closed channel"):
        ch.receive()


def test_deadlock_in_main_has_stacklesss_message():
    with pytest.raises(RuntimeError) as raised:
        stackless.channel().receive()
    assert str(raised.value) == "Deadlock: the last runnable tasklet cannot be blocked."


# -- throw and kill ---------------------------------------------------------------------------

def test_throw_to_a_dead_tasklet():
    t = stackless.tasklet(cases.steps)("a", 0)
    stackless.run()
    with pytest.raises(RuntimeError, match="You cannot throw to a dead tasklet"):
        t.throw(KeyError)
    assert t.throw(stackless.TaskletExit) is None       # ending a dead tasklet is no error
    assert t.kill() is None


def test_throw_to_a_new_tasklet_ends_it_before_its_function_runs():
    t = stackless.tasklet(cases.steps)("a", 3)
    with pytest.raises(KeyError):
        t.throw(KeyError("new"))
    assert not t.alive and cases.LOG == []


def test_pending_throw_to_a_new_tasklet_is_raised_when_it_runs():
    t = stackless.tasklet(cases.steps)("a", 3)
    t.throw(KeyError, "later", pending=True)
    assert t.alive and t.scheduled
    with pytest.raises(KeyError, match="later"):
        stackless.run()
    assert not t.alive and cases.LOG == []


def test_throw_to_a_blocked_tasklet_unblocks_it():
    ch = stackless.channel()
    t = stackless.tasklet(cases.receive_error)(ch)
    stackless.run()
    assert t.blocked
    t.throw(ValueError, ("v",))
    assert cases.LOG == [("raised", "ValueError", "v", True)]
    assert not t.alive and ch.balance == 0


def test_throw_bad_arguments():
    t = stackless.tasklet(cases.schedule_catching)()
    stackless.schedule()
    with pytest.raises(TypeError, match="exceptions must be classes, or instances"):
        t.throw("nope")
    with pytest.raises(TypeError, match="instance exception may not have a separate value"):
        t.throw(KeyError("k"), "value")
    with pytest.raises(TypeError, match="traceback"):
        t.throw(KeyError, None, "not a traceback")
    assert t.alive and cases.LOG == []
    t.throw(KeyError("fine"))
    assert cases.LOG == [("caught", "KeyError", "'fine'")] and t.tempval == "handled"


# -- pickling ----------------------------------------------------------------------------------

def test_pickled_subclass_comes_back_as_the_subclass_with_its_attributes():
    w = cases.Worker(cases.remove_then_return)
    w.name = "worker one"
    w.setup("w")
    stackless.run()                 # suspended in schedule_remove
    back = pickle.loads(pickle.dumps(w))
    assert type(back) is cases.Worker and back.name == "worker one"
    assert back.func() == "the method"      # the method is not shadowed
    back.insert()
    stackless.run()
    assert not back.alive and back.tempval == ("w", "r")   # what its function returned
    w.kill()


def test_subclass_method_named_func_is_not_shadowed():
    w = cases.Worker(cases.steps)("a", 1)
    assert w.func() == "the method"
    stackless.run()
    assert cases.LOG == [("a", 0)]


def test_pickle_flags_and_debug_state():
    old = stackless.pickle_flags()
    assert stackless.pickle_flags(stackless.PICKLEFLAGS_PRESERVE_TRACING_STATE, 1) == old
    try:
        assert stackless.pickle_flags() & stackless.PICKLEFLAGS_PRESERVE_TRACING_STATE
    finally:
        stackless.pickle_flags(old, 15)
    with pytest.raises(ValueError):
        stackless.pickle_flags(1024)
    assert stackless.getdebug() is False and stackless.getuncollectables() == []
    assert stackless.enable_softswitch(False) is True


# -- tracing --------------------------------------------------------------------------------------

def test_trace_function_is_in_force_only_while_its_tasklet_runs():
    traced = []

    def tracer(frame, event, arg):
        if event == "call":
            traced.append(frame.f_code.co_name)
        return None

    t = stackless.tasklet(cases.steps)("traced", 2)
    u = stackless.tasklet(cases.log_schedule)("untraced", 1)
    t.trace_function = tracer
    assert t.trace_function is tracer
    stackless.run()
    assert sys.gettrace() is None
    assert traced and "log_schedule" not in traced
    assert not u.alive


def test_preserve_tracing_state_pickles_the_trace_function():
    t = stackless.tasklet(cases.remove_then_return)("p")
    stackless.run()
    t.trace_function = cases.a_tracer
    assert pickle.loads(pickle.dumps(t)).trace_function is None
    old = stackless.pickle_flags(stackless.PICKLEFLAGS_PRESERVE_TRACING_STATE, 1)
    try:
        assert pickle.loads(pickle.dumps(t)).trace_function is cases.a_tracer
    finally:
        stackless.pickle_flags(old, 15)
    t.kill()


def test_callback_installed_by_a_running_tasklet_sees_the_following_switches(scheduler_loop):
    # Under the C loop the callback is installed while that loop runs: it
    # hands the following switches to the Python loop.
    seen = []
    t = stackless.tasklet(cases.install_callback_then_steps)(seen, 2)
    u = stackless.tasklet(cases.steps)("u", 2)
    stackless.run()
    main = stackless.getmain()
    assert cases.LOG == [("cb", 0), ("u", 0), ("cb", 1), ("u", 1)]
    assert seen == [(t, u), (u, t), (t, u), (u, t), (t, u), (u, main)]


def test_removing_the_last_hook_gives_the_switches_back_to_the_c_loop():
    from stacklessxf.runtime import scheduler
    stackless.set_schedule_callback(lambda prev, next: None)
    stackless.switch_trap(1)
    assert scheduler.HOOKS.active
    stackless.set_schedule_callback(None)
    assert scheduler.HOOKS.active       # the trap is still set
    stackless.switch_trap(-1)
    assert not scheduler.HOOKS.active


def test_killing_a_tasklet_waiting_in_a_nested_run():
    w = stackless.tasklet(cases.nested_run)("n")
    stackless.tasklet(cases.steps)("s", 2)
    stackless.schedule()              # w waits in run(); s has run once
    assert cases.LOG == [("n", "before run"), ("s", 0)]
    w.kill()
    assert not w.alive
    stackless.run()
    assert cases.LOG == [("n", "before run"), ("s", 0), ("s", 1)]


def test_schedule_all_runs_both_tasklets_later():
    ch = stackless.channel()
    ch.schedule_all = True
    stackless.tasklet(cases.receive_two)(ch)
    stackless.tasklet(cases.send_two)(ch)
    stackless.run()
    assert cases.LOG == [("receiver", "one"), ("sender", "after one"),
                         ("receiver", "two"), ("sender", "after two")]
    ch.schedule_all = False
    assert not ch.schedule_all


def test_schedule_all_from_main_goes_on_after_the_receiver():
    ch = stackless.channel()
    ch.schedule_all = True
    stackless.tasklet(cases.receive_into)(ch)
    stackless.run()
    ch.send("x")                    # the receiver runs before main goes on
    assert cases.LOG == [("received", "x")]
    ch.schedule_all = False


def test_iteration_ends_when_stopiteration_is_sent():
    ch = stackless.channel()
    stackless.tasklet(cases.send_then_stop)(ch, [1, 2, 3])
    assert [value for value in ch] == [1, 2, 3]
    stackless.run()


def test_a_live_threads_tasklet_cannot_be_run_or_switched_to_here():
    made, done = [], threading.Event()

    def in_thread():
        made.append(stackless.tasklet(cases.steps)("t", 1))
        done.wait()

    thread = threading.Thread(target=in_thread)
    thread.start()
    try:
        while not made:
            pass
        t = made[0]
        assert t.alive and t.thread_id == thread.ident
        with pytest.raises(RuntimeError, match="belongs to another thread"):
            t.run()
        with pytest.raises(RuntimeError, match="belongs to another thread"):
            t.switch()
    finally:
        done.set()
        thread.join()


def test_profile_function_is_in_force_only_while_its_tasklet_runs():
    events = []

    def profiler(frame, event, arg):
        if event == "call":
            events.append(frame.f_code.co_name)

    t = stackless.tasklet(cases.log_schedule)("profiled", 1)
    u = stackless.tasklet(cases.steps)("other", 1)
    t.profile_function = profiler
    assert t.profile_function is profiler
    stackless.run()
    assert sys.getprofile() is None
    assert "log_schedule" in events and "steps" not in events
    assert not u.alive
