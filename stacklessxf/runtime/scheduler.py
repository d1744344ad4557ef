"""Tasklets and the scheduler.

A tasklet that is not running is data: a list of records (its heap stack,
outermost first) plus the value or exception to hand to the innermost one
when it goes on.  The scheduler runs tasklets by resuming their records from
the trampoline loop (``resume_records``); a switch primitive (``schedule``, a
channel operation) called by a tasklet's stackless code turns the running
frames into records again, by returning ``SWITCHED`` through them or by
raising an ``Unwind``, and the same loop goes on with the next tasklet.
Where the C extension is built, that loop and ``schedule()``'s usual case
are C code (``native_loop``); this module is the rest, and the fallback.

The main tasklet is the plain code that created the others.  It cannot be
unwound: when it has to wait (``run``, ``schedule``, a blocking channel
operation), the scheduler loop runs the other tasklets inside its call until
main's turn comes again.

Each thread has its own scheduler.
"""

import collections
import copy
import pickle
import sys
import threading
import types

from ..errors import SwitchError
from . import callbacks, native_loop, portable
from .frames import called_from_c, calls_run_inline
from .records import CHAIN, SITES, SWITCH_UNWIND, SWITCHED, TAILS
from .trampoline import (RESUMING_OFFSETS, SUSPENSION_POINTS, TESTED_CALLS, is_transformed,
                         resume_for_plain_caller, resume_records, run_unwound)


class TaskletExit(SystemExit):
    """Raised inside a tasklet by ``kill()``: ``finally`` blocks run and the
    tasklet ends; it does not reach the main tasklet."""


def _switch_primitive(function):
    """Mark ``function`` as a switch primitive: calls to it are resume
    points in stackless code."""
    function.__stackless_switch__ = True
    return function


class FrameInfo:
    """One suspended activation of a tasklet, as ``tasklet.frames`` shows it."""

    __slots__ = ("function", "filename", "lineno", "resume_point", "slots")

    def __init__(self, function, filename, lineno, resume_point, slots):
        self.function = function
        self.filename = filename
        self.lineno = lineno
        self.resume_point = resume_point
        self.slots = slots

    @classmethod
    def of(cls, record):
        site = SITES[record[0]]
        info = site.function_info
        slots = {slot.name: value for slot, value in zip(site.slots, record[1:])}
        return cls(info.qualname, info.filename, site.lineno, site.name, slots)

    def __repr__(self):
        return (f"<frame {self.function} at {self.filename}:{self.lineno} "
                f"({self.resume_point}) {self.slots}>")


class Tasklet:
    """A microthread running a callable, in the manner of Stackless Python."""

    # Fixed fields take less memory than a dictionary's entries, and the C
    # loop reads them where they lie; other attributes go to __dict__.
    __slots__ = ("func", "is_main", "alive", "blocked", "blocked_on", "tempval", "_call",
                 "_stack", "_value", "_error", "_queued", "__dict__", "__weakref__")

    def __init__(self, func=None, _main=False):
        self.func = func
        self.is_main = _main
        self.alive = _main
        self.blocked = False
        self.blocked_on = None
        self.tempval = None
        self._call = None
        self._stack = []
        self._value = None
        self._error = None
        self._queued = False    # in its thread's run queue

    def bind(self, func):
        self.func = func
        return self

    def setup(self, *args, **kwargs):
        """Give the tasklet its arguments and make it runnable."""
        if self.func is None:
            raise RuntimeError("tasklet has no function to run; bind one first")
        if self.alive:
            raise RuntimeError("tasklet is already set up")
        self._call = (self.func, args, kwargs)
        self.alive = True
        self.insert()
        return self

    __call__ = setup

    @property
    def scheduled(self):
        return self._queued or self is _per_thread.scheduler.current

    @property
    def is_current(self):
        return self is _per_thread.scheduler.current

    def insert(self):
        """Make the tasklet runnable (at the end of the queue)."""
        if not self.alive:
            raise RuntimeError("a dead tasklet cannot be scheduled")
        if self.blocked:
            raise RuntimeError("a blocked tasklet cannot be scheduled")
        if not self.scheduled:
            _enqueue(_per_thread.scheduler, self)

    def remove(self):
        """Take the tasklet out of the runnable queue."""
        sched = _per_thread.scheduler
        if self is sched.current:
            raise RuntimeError("the current tasklet cannot be removed")
        _unqueue(sched, self)
        return self

    @property
    def paused(self):
        """Alive, but neither running, scheduled nor blocked."""
        return self.alive and not self.blocked and not self.scheduled

    @_switch_primitive
    def run(self):
        """Switch to this tasklet now; the current one runs after it."""
        return self._switch_to(sys._getframe(1), requeue_current=True)

    @_switch_primitive
    def switch(self):
        """Switch to this tasklet now; the current one is paused (it runs
        again only when something inserts it)."""
        return self._switch_to(sys._getframe(1), requeue_current=False)

    def _switch_to(self, caller_frame, requeue_current):
        sched = _per_thread.scheduler
        if self is sched.current:
            return None
        if not self.alive or self.blocked:
            raise RuntimeError(f"cannot switch to {self!r}")
        by_return = _check_can_switch(sched, caller_frame)
        _unqueue(sched, self)
        return _hand_over(sched, self, by_return, requeue_current=requeue_current)

    @_switch_primitive
    def kill(self, pending=False):
        """End the tasklet by raising TaskletExit inside it."""
        if not self.alive:
            return None
        return self._throw(TaskletExit(), pending, sys._getframe(1))

    @_switch_primitive
    def throw(self, exc=None, val=None, tb=None, pending=False):
        """Raise an exception inside the tasklet (at once, or when it next
        runs if ``pending``)."""
        if isinstance(exc, type):
            exc = exc(*(() if val is None else val if isinstance(val, tuple) else (val,)))
        if tb is not None:
            exc = exc.with_traceback(tb)
        return self._throw(exc, pending, sys._getframe(1))

    @_switch_primitive
    def raise_exception(self, exc_cls, *args):
        return self._throw(exc_cls(*args), False, sys._getframe(1))

    def _throw(self, exc, pending, caller_frame):
        sched = _per_thread.scheduler
        if not self.alive:
            raise RuntimeError(f"cannot raise an exception in {self!r}")
        if self is sched.current:
            raise exc
        if self._call is not None:
            # Never started: it ends here, as if the exception had been
            # raised at its first line.
            self._call = None
            _unqueue(sched, self)
            self.alive = False
            if isinstance(exc, TaskletExit):
                return None
            raise exc
        self._unblock()
        self._value, self._error = None, exc
        if pending:
            self.insert()
            return None
        return self._switch_to(caller_frame, requeue_current=True)

    def _unblock(self):
        if self.blocked:
            self.blocked_on._forget(self)
            self.blocked = False
            self.blocked_on = None

    def copy(self):
        """An independent tasklet that goes on from the same point: the
        records and everything they hold are deep-copied (cells included,
        so the copy's cells are its own).  The copy is runnable if the
        original is scheduled."""
        return copy.deepcopy(self)

    def __deepcopy__(self, memo):
        if self.is_main or self.is_current:
            raise RuntimeError("a running tasklet cannot be copied; copy it "
                               "while it is suspended")
        if self.blocked:
            raise RuntimeError("a tasklet blocked on a channel cannot be copied")
        twin = Tasklet(self.func)
        memo[id(self)] = twin
        twin._stack = _copy_records(self._stack, memo)
        twin._call = copy.deepcopy(self._call, memo)
        twin._value = copy.deepcopy(self._value, memo)
        twin._error = self._error
        twin.tempval = copy.deepcopy(self.tempval, memo)
        twin.alive = self.alive
        if self.alive and self.scheduled:
            twin.insert()
        return twin

    def __reduce__(self):
        """A suspended tasklet pickles as data: its records in their portable
        form, what it is waiting for, and its flags.  It unpickles neither
        scheduled nor running; ``insert()`` makes it runnable."""
        if self.is_main or self.is_current:
            raise pickle.PicklingError(
                f"{self!r} is running and cannot be pickled; pickle it while "
                "it is suspended")
        from .channel import channel
        state = {name: getattr(self, name) for name in _PICKLED_ATTRIBUTES}
        state["func"] = portable.by_name(self.func)
        state["_stack"] = portable.portable_stack(self._stack, (Tasklet, channel))
        state["_call"] = portable.by_value(self._call, (Tasklet, channel))
        return Tasklet, (), state

    def __setstate__(self, state):
        _check_state(state)
        for name, value in state.items():
            setattr(self, name, value)
        self._stack = list(self._stack)

    def __del__(self):
        # Nothing reaches this suspended tasklet any more: as in Stackless,
        # TaskletExit is raised in it, so its finally blocks and __exit__
        # methods run.
        try:
            suspended = self.alive and self._stack and not self.is_main
        except AttributeError:      # never set up (its unpickling failed)
            return
        if suspended:
            _exit_collected(self)

    @property
    def frames(self):
        """The suspended activations, innermost first: FrameInfo records."""
        return [FrameInfo.of(record) for record in reversed(self._stack)]

    def format_stack(self):
        """The suspended activations rendered like a traceback."""
        lines = [f"Tasklet {self!r}, most recent call last:\n"]
        for frame in reversed(self.frames):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.function}\n')
            for name, value in frame.slots.items():
                lines.append(f"    {name} = {value!r}\n")
        return "".join(lines)

    def __repr__(self):
        state = ("main" if self.is_main else "current" if self.is_current else
                 "blocked" if self.blocked else "scheduled" if self.scheduled else
                 "alive" if self.alive else "dead")
        name = getattr(self.func, "__qualname__", self.func)
        return f"<tasklet {name} {state}>"


tasklet = Tasklet


class _Scheduler:
    """One thread's scheduler: its main tasklet, the running one, and the
    runnable others in order (each at most once; ``Tasklet._queued`` says
    which are there, so making a tasklet runnable stays cheap with many
    queued)."""

    __slots__ = ("main", "current", "queue", "ticks_left", "interrupted", "calls_run_inline")

    def __init__(self):
        self.main = Tasklet(_main=True)
        self.current = self.main
        self.queue = collections.deque()
        self.ticks_left = 0            # the watchdog's budget; 0 when off
        self.interrupted = None        # the tasklet the watchdog stopped
        self.calls_run_inline = False  # see frames.calls_run_inline


class _PerThread(threading.local):
    """Each thread's scheduler.  Code that switches reads it once and then
    uses the plain object: a thread-local attribute costs several times a
    plain one."""

    def __init__(self):
        self.scheduler = _Scheduler()


_per_thread = _PerThread()


def _enqueue(sched, task):
    task._queued = True
    sched.queue.append(task)


def _enqueue_first(sched, task):
    task._queued = True
    sched.queue.appendleft(task)


def _unqueue(sched, task):
    if task._queued:
        task._queued = False
        sched.queue.remove(task)


def _run_queue(sched, until_main):
    """Run the queued tasklets in turn, from main: until the queue is empty,
    until main is taken from it (``until_main``, or when an exception was
    thrown to main: it is raised here), or until the watchdog interrupts
    one, which is returned.  One trampoline loop goes from tasklet to
    tasklet as they switch; it returns when one ends."""
    queue, main = sched.queue, sched.main
    sched.calls_run_inline = calls_run_inline()
    ticking = sched.ticks_left > 0
    main_is_next = False

    def next_task():
        """The next tasklet, made current, as what the trampoline goes on
        with; None when the loop stops."""
        nonlocal main_is_next
        if sched.interrupted is not None and not until_main:
            return None
        while queue:
            # Indexing calls nothing, so no signal handler can run between
            # taking the tasklet and making it current.
            task = queue[0]
            del queue[0]
            task._queued = False
            if task is main:
                if until_main or main._error is not None:
                    main_is_next = True
                    return None
                continue
            sched.current = task
            call, task._call = task._call, None
            value, error = task._value, task._error
            task._value = task._error = None
            return task._stack, value, error, call
        return None

    def raise_ending(error):
        if error is not None and not isinstance(error, TaskletExit):
            raise error

    try:
        if native_loop.available and not ticking:
            while True:
                outcome, value, error = native_loop.run_tasklets(sched, until_main)
                if outcome != native_loop.ENDED:
                    main_is_next = outcome == native_loop.MAIN_IS_NEXT
                    break
                raise_ending(error)     # the loop marked the tasklet ended
        else:
            work = next_task()
            while work is not None:
                # Called without *args: a call through it checks for signals
                # when it returns, and the loop's result would be lost.
                stack, value, error, call = work
                value, error, switched = resume_records(stack, value, error, call, ticking,
                                                        next_task)
                if switched:
                    break
                # Marked ended before anything is called (where a signal
                # handler could run).
                ended = sched.current
                ended.alive, ended._value = False, value
                raise_ending(error)
                work = next_task()
    finally:
        sched.current = main
    if main_is_next and not until_main:
        error, main._error, main._value = main._error, None, None
        raise error
    if until_main:
        if not main_is_next:
            raise RuntimeError("deadlock: the main tasklet waits and no other "
                               "tasklet can run")
        return None
    interrupted, sched.interrupted = sched.interrupted, None
    return interrupted


def _run_until_main_is_next(sched):
    """From main: run tasklets until main is taken from the queue again."""
    try:
        _run_queue(sched, until_main=True)
    except BaseException:
        # An exception from a tasklet (or the deadlock) goes on in main,
        # which is running again, not waiting in the queue.
        _unqueue(sched, sched.main)
        raise


def _check_can_switch(sched, caller_frame):
    """A switch primitive called by a tasklet (not main) checks, before it
    changes anything, that nothing but transformed frames stopped at calls
    they can be resumed from lie between it and the scheduler.

    Returns True when the switch can pass each of those frames by returning
    ``SWITCHED`` (each is stopped at a call whose result it tests, and was
    called directly by the one beneath it, with no C code between), False
    when it has to raise ``SWITCH_UNWIND`` through them."""
    if sched.current is sched.main:
        return False
    frame = caller_frame
    back = frame.f_back
    # The common case first, in a few steps: a tasklet's only frame, run by
    # the C loop or the trampoline and stopped at a call that tests for
    # SWITCHED.
    if back is not None and id(frame.f_code) + frame.f_lasti in TESTED_CALLS and (
            back.f_code is native_loop.BASE_CODE or (
                back.f_code is _TRAMPOLINE_CODE and back.f_lasti in RESUMING_OFFSETS
                and sched.calls_run_inline)):
        return True
    code = frame.f_code
    by_return = True
    while code is not _TRAMPOLINE_CODE and code is not native_loop.BASE_CODE:
        if code is _PLAIN_CALLER_TRAMPOLINE_CODE:
            _refuse_plain_caller_of_trampoline(frame)
        if frame.f_lasti not in SUSPENSION_POINTS.get(id(code), ()):
            what = ("the function (plain, or stackless with no call that can switch)"
                    if not is_transformed(code) else "the stackless function")
            raise SwitchError(
                f"cannot switch tasklets: {what} {code.co_qualname} at "
                f"{code.co_filename}:{frame.f_lineno} is on the stack and cannot "
                "be suspended there (only at a call it makes directly)")
        back = frame.f_back
        if back is None:
            raise SwitchError("cannot switch tasklets: the current tasklet is not "
                              "running under the scheduler")
        beneath_loop = back.f_code is native_loop.BASE_CODE or back.f_code is _TRAMPOLINE_CODE
        from_c = None if beneath_loop else called_from_c(frame)
        if from_c:
            callbacks.check_crossing(frame, back)
        if by_return:
            tested = id(code) + frame.f_lasti in TESTED_CALLS
            # The C loop takes SWITCHED from every frame it calls; directly
            # under the Python trampoline, where it is tells how it called.
            if back.f_code is native_loop.BASE_CODE:
                by_return = tested
            elif back.f_code is _TRAMPOLINE_CODE and sched.calls_run_inline:
                by_return = tested and back.f_lasti in RESUMING_OFFSETS
            elif back.f_code is _TRAMPOLINE_CODE:
                by_return = tested and called_from_c(frame) is False
            else:
                by_return = tested and from_c is False
        frame, code = back, back.f_code
    return by_return


_TRAMPOLINE_CODE = resume_records.__code__
_PLAIN_CALLER_TRAMPOLINE_CODE = resume_for_plain_caller.__code__


def _refuse_plain_caller_of_trampoline(frame):
    """``frame`` runs the records of stackless frames that unwound for depth
    up to one called by plain code: that plain caller is in the way."""
    caller = frame.f_back
    while caller is not None and (caller.f_code is run_unwound.__code__ or
                                  is_transformed(caller.f_code)):
        caller = caller.f_back
    where = "" if caller is None else (
        f" {caller.f_code.co_qualname} at {caller.f_code.co_filename}:{caller.f_lineno}")
    raise SwitchError(
        f"cannot switch tasklets: the plain (not stackless) function{where} is on the "
        "stack and cannot be suspended there (only at a call it makes directly)")


def _wait(sched, by_return=False):
    """The current tasklet waits until it is taken from the queue again (it
    must already be queued, or registered where something will queue it).
    A tasklet's frames become records, passed to the trampoline by returning
    ``SWITCHED`` (``by_return``, which the switch primitive returns in turn)
    or by raising ``SWITCH_UNWIND``; main's wait runs the scheduler."""
    main = sched.main
    if sched.current is main:
        _run_until_main_is_next(sched)
        value, error, main._value, main._error = main._value, main._error, None, None
        if error is not None:
            raise error
        return value
    del CHAIN[:], TAILS[:]
    if by_return:
        return SWITCHED
    raise SWITCH_UNWIND


def _hand_over(sched, other, by_return, delivered=(None, None), requeue_current=True):
    """``other`` runs next, then (unless not requeued) the current tasklet,
    which gets the value or exception ``delivered`` when it goes on."""
    current = sched.current
    current._value, current._error = delivered
    if requeue_current:
        _enqueue_first(sched, current)
    _enqueue_first(sched, other)
    return _wait(sched, by_return)


@_switch_primitive
def schedule(retval=None):
    """Let the other runnable tasklets run; the current one goes to the end
    of the queue."""
    sched = _per_thread.scheduler
    by_return = _check_can_switch(sched, sys._getframe(1))
    current = sched.current
    current._value = retval
    current._queued = True
    sched.queue.append(current)
    if by_return:               # _wait's shortest way, without the call
        del CHAIN[:], TAILS[:]
        return SWITCHED
    return _wait(sched)


if native_loop.available:
    # The C schedule() takes the usual case and calls this one for the rest.
    schedule = native_loop.configure(schedule, Tasklet)


@_switch_primitive
def schedule_remove(retval=None):
    """Like schedule(), but the current tasklet is not queued again."""
    sched = _per_thread.scheduler
    if sched.current is sched.main:
        raise RuntimeError("the main tasklet cannot remove itself from the queue")
    by_return = _check_can_switch(sched, sys._getframe(1))
    sched.current._value = retval
    return _wait(sched, by_return)


def run(timeout=0):
    """From the main tasklet: run the other tasklets until none is runnable.

    With ``timeout`` > 0, a watchdog counts ticks (each call of a stackless
    function and each loop back-edge in stackless code) and, after that
    many, interrupts the running tasklet at the next tick where it can be
    suspended; ``run`` then returns that tasklet, still runnable (at the end
    of the queue).  Returns None when no tasklet is left to run."""
    sched = _per_thread.scheduler
    if sched.current is not sched.main:
        raise RuntimeError("run() must be called from the main tasklet")
    if timeout > 0:
        sched.ticks_left = timeout
        _use_ticked_code(True)
    try:
        interrupted = _run_queue(sched, until_main=False)
        if interrupted is not None:
            _enqueue(sched, interrupted)
        return interrupted
    finally:
        if timeout > 0:
            sched.ticks_left = 0
            _use_ticked_code(False)


def _use_ticked_code(on):
    """Give every stackless function its watchdog variant, or its own code
    back (so the watchdog costs nothing when it is not running)."""
    from ..core import all_functions
    for info in all_functions():
        if info.native is None and info.function is not None and info.code is not None:
            info.function.__code__ = info.ticked()[0] if on else info.code


def tick():
    """Called by the watchdog variant of stackless code at every call and
    loop back-edge."""
    sched = _per_thread.scheduler
    left = sched.ticks_left
    if left:
        sched.ticks_left = left - 1
        if left == 1:
            _preempt(sched, sys._getframe(1))


def _preempt(sched, caller_frame):
    current = sched.current
    try:
        if current is sched.main:
            raise SwitchError("the main tasklet is not preempted")
        _check_can_switch(sched, caller_frame)
    except SwitchError:
        sched.ticks_left = 1        # try again at the next tick
        return
    sched.interrupted = current
    current._value = None
    del CHAIN[:], TAILS[:]
    raise SWITCH_UNWIND


def _exit_collected(task):
    """Raise TaskletExit in ``task``, which is being collected, from here: the
    collector runs wherever an allocation triggers it, perhaps while this
    thread unwinds, so the records under way are kept aside meanwhile.  A
    switch in its finally blocks puts it back in the run queue, alive."""
    if sys.is_finalizing():
        return
    sched = _per_thread.scheduler
    task._unblock()
    chain, tails = CHAIN[:], TAILS[:]
    del CHAIN[:], TAILS[:]
    current, sched.current = sched.current, task
    try:
        value, error, switched = resume_records(task._stack, None, TaskletExit())
    finally:
        sched.current = current
        CHAIN[:], TAILS[:] = chain, tails
    if not switched:
        task.alive, task._value = False, value
        if error is not None and not isinstance(error, TaskletExit):
            raise error


def getcurrent():
    return _per_thread.scheduler.current


def getmain():
    return _per_thread.scheduler.main


def getruncount():
    """Runnable tasklets, the current one included."""
    return len(_per_thread.scheduler.queue) + 1


_PICKLED_ATTRIBUTES = ("func", "alive", "blocked", "blocked_on", "tempval",
                       "_call", "_value", "_error")


def _check_state(state):
    """Raise ``pickle.UnpicklingError`` unless a pickled tasklet's state holds
    what the scheduler relies on: records, a call ``(function, tuple,
    dict)`` for a tasklet that never ran, an exception or None to deliver."""
    def refuse(what, value):
        raise pickle.UnpicklingError(f"cannot load a tasklet: its {what} is {value!r:.200}")

    if not isinstance(state, dict) or not set(state) <= {*_PICKLED_ATTRIBUTES, "_stack"}:
        refuse("state", state)
    stack = state.get("_stack", [])
    if not isinstance(stack, (list, tuple)):
        refuse("list of records", stack)
    for record in stack:
        portable.check_record(record)
    call = state.get("_call")
    if call is not None and not (type(call) is tuple and len(call) == 3 and callable(call[0])
                                 and type(call[1]) is tuple and type(call[2]) is dict):
        refuse("call (function, arguments tuple, keywords dict)", call)
    error = state.get("_error")
    if error is not None and not isinstance(error, BaseException):
        refuse("exception to raise", error)
    for flag in ("alive", "blocked"):
        if type(state.get(flag, False)) is not bool:
            refuse(f"{flag} flag", state[flag])


def _copy_records(records, memo):
    """Deep copy of ``records``; cells are not copyable by ``copy``, so each
    one becomes a new cell (one per original: sharing is kept)."""
    cells = [value for record in records for value in record[1:]
             if isinstance(value, types.CellType)]
    for cell in cells:
        memo.setdefault(id(cell), types.CellType())
    copied = copy.deepcopy(records, memo)
    for cell in cells:
        try:
            contents = cell.cell_contents
        except ValueError:      # an empty cell stays empty
            continue
        memo[id(cell)].cell_contents = copy.deepcopy(contents, memo)
    return copied
