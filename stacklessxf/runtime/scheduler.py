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
import copyreg
import pickle
import sys
import threading
import types
import weakref

from ..errors import SwitchError
from . import callbacks, generators, native_loop, portable, registry
from .frames import called_from_c, calls_run_inline
from .records import HANDOVER, SITES, SWITCHED, set_code
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
    __slots__ = ("_func", "is_main", "_alive", "blocked", "blocked_on", "_call", "_stack",
                 "_value", "_error", "_queued", "_owner", "atomic", "_block_trap",
                 "ignore_nesting", "_trace", "_profile", "__dict__", "__weakref__")

    def __init__(self, func=None, args=None, kwargs=None, _main=None):
        # _main: the scheduler whose main tasklet this is.
        self._init_fields(_main)
        self.is_main = self._alive = _main is not None
        if func is not None or args is not None or kwargs is not None:
            self.bind(func, args, kwargs)

    def _init_fields(self, owner=None):
        self._func = None
        self.is_main = self._alive = False
        self.blocked = False
        self.blocked_on = None
        self._call = None
        self._stack = []
        self._value = None
        self._error = None
        self._queued = False    # in its thread's run queue
        self._owner = owner or _per_thread.scheduler
        self.atomic = self._block_trap = self.ignore_nesting = False
        self._trace = self._profile = None

    @property
    def func(self):
        """The function the tasklet runs (a subclass may define a method of
        this name instead)."""
        return self._func

    @property
    def alive(self):
        """Set up and not ended, in a thread that is still running."""
        return self._alive and self._owner.thread_alive

    @property
    def tempval(self):
        """The value the tasklet gets when it goes on (what ``schedule()`` or
        ``receive()`` returns there); once it has ended, what its function
        returned."""
        return self._value

    @tempval.setter
    def tempval(self, value):
        self._value = value

    def bind(self, func=None, args=None, kwargs=None):
        """Bind the tasklet to ``func``; with ``args`` or ``kwargs`` it is also
        given its arguments and is alive (paused: ``insert()`` makes it
        runnable).  ``bind(None)`` unbinds it, dropping what it holds."""
        if self._alive and (self.is_main or self.scheduled or self.blocked):
            raise RuntimeError("cannot bind a tasklet that is current, scheduled or blocked")
        if func is not None and not callable(func):
            raise TypeError("tasklet function must be a callable")
        if func is not None:
            self._func = func
        self._stack, self._value, self._error = [], None, None
        if args is None and kwargs is None:
            self._call, self._alive = None, False
            _drop_hooks_of(self)
            if func is None:
                self._func = None
            return self
        if self._func is None:
            raise RuntimeError("tasklet has no function to run; bind one first")
        self._call = (self._func, tuple(args or ()), dict(kwargs or {}))
        self._alive = True
        return self

    def setup(self, *args, **kwargs):
        """Give the tasklet its arguments and make it runnable."""
        if self._alive:
            raise RuntimeError("tasklet is already set up (alive)")
        self.bind(None, args, kwargs)
        self.insert()
        return self

    __call__ = setup

    @property
    def scheduled(self):
        """In the run queue, running, or blocked on a channel."""
        return self._queued or self.blocked or self is self._owner.current

    @property
    def is_current(self):
        return self is self._owner.current

    @property
    def thread_id(self):
        """The id of the thread the tasklet belongs to; -1 once it ended."""
        owner = self._owner
        return owner.thread_id if owner.thread_alive else -1

    def bind_thread(self, thread_id=None):
        """Make the tasklet belong to this thread, or to the thread
        ``thread_id`` (which must have a scheduler): only while it is
        neither running, queued nor blocked (a new or unpickled tasklet, or
        one whose thread ended)."""
        if not self._owner.thread_alive:
            _unqueue(self._owner, self)         # its thread ended: it is in no queue
        if self.is_main or self.is_current or self._queued or self.blocked:
            raise RuntimeError("only a tasklet that is neither current, scheduled, "
                               "blocked nor main can change threads")
        self._owner = _scheduler_of_thread(threading.get_ident() if thread_id is None
                                           else thread_id)
        return self

    def _own_scheduler(self):
        """This thread's scheduler, which must be the tasklet's."""
        sched = _per_thread.scheduler
        if self._owner is not sched:
            raise RuntimeError(f"{self!r} belongs to another thread")
        return sched

    def insert(self):
        """Make the tasklet runnable (at the end of its thread's queue)."""
        if not self.alive:
            raise RuntimeError("a dead tasklet cannot be scheduled")
        if self.blocked:
            raise RuntimeError("a blocked tasklet cannot be scheduled")
        if not self.scheduled:
            _enqueue(self._owner, self)

    def remove(self):
        """Take the tasklet out of the runnable queue."""
        sched = self._owner
        if self is sched.current:
            raise RuntimeError("the current tasklet cannot be removed")
        _unqueue(sched, self)
        return self

    @property
    def paused(self):
        """Alive, but neither running, scheduled nor blocked."""
        return self.alive and not self.scheduled

    @property
    def next(self):
        """The tasklet after this one in its chain: the run queue (a ring,
        the running tasklet first), or the channel it waits on (the last one
        has None); None when it is in neither."""
        chain, ring = self._chain()
        return _neighbour(chain, self, 1, ring)

    @property
    def prev(self):
        """The tasklet before this one in its chain (see ``next``)."""
        chain, ring = self._chain()
        return _neighbour(chain, self, -1, ring)

    def _chain(self):
        if self.blocked:
            return [entry[0] for entry in self.blocked_on._waiting], False
        sched = self._owner
        queue = list(sched.queue)
        if sched.current not in queue:
            queue.insert(0, sched.current)
        return queue, True

    def set_atomic(self, flag):
        """While atomic, the watchdog does not interrupt the tasklet.
        Returns the previous value."""
        old, self.atomic = self.atomic, bool(flag)
        return old

    def set_ignore_nesting(self, flag):
        old, self.ignore_nesting = self.ignore_nesting, bool(flag)
        return old

    @property
    def block_trap(self):
        """While true, an operation that would block the tasklet on a
        channel raises RuntimeError instead."""
        return self._block_trap

    @block_trap.setter
    def block_trap(self, flag):
        self._block_trap = bool(flag)
        if flag:
            HOOKS.block_trapped.add(self)
        else:
            HOOKS.block_trapped.discard(self)
        _hooks_changed()

    @property
    def restorable(self):
        """Whether the tasklet can be saved as data and resumed: one that is
        suspended (its frames are records) always; the running one when it
        could switch where it is now; the main tasklet never."""
        if self.is_main:
            return False
        if self.is_current:
            # The frame asking would be stopped at the call of a switch.
            caller = sys._getframe(1)
            if not is_transformed(caller.f_code):
                return False
            try:
                _check_can_switch(self._owner, caller.f_back)
            except SwitchError:
                return False
        return True

    @property
    def recursion_depth(self):
        """How many activations the tasklet has: records while it is
        suspended, frames (down to the scheduler) while it runs."""
        if self.is_current:
            return sum(1 for _ in _own_frames(sys._getframe(1)))
        return len(self._stack)

    @property
    def nesting_level(self):
        """How many frames of the running tasklet C code called (and that
        cannot be suspended for that); 0 while it is suspended."""
        if not self.is_current:
            return 0
        return sum(1 for frame in _own_frames(sys._getframe(1))
                   if frame.f_back is not None and frame.f_back.f_code not in _LOOP_CODES
                   and called_from_c(frame))

    @property
    def frame(self):
        """The innermost activation: the running frame of the current
        tasklet, the innermost record (a FrameInfo) of a suspended one, or
        None."""
        if self.is_current:
            return sys._getframe(1)
        return FrameInfo.of(self._stack[-1]) if self._stack else None

    @property
    def trace_function(self):
        """The trace function (``sys.settrace``) in force while the tasklet
        runs."""
        return sys.gettrace() if self.is_current else self._trace

    @trace_function.setter
    def trace_function(self, function):
        self._set_tracing("_trace", sys.settrace, function)

    @property
    def profile_function(self):
        """The profile function (``sys.setprofile``) in force while the
        tasklet runs."""
        return sys.getprofile() if self.is_current else self._profile

    @profile_function.setter
    def profile_function(self, function):
        self._set_tracing("_profile", sys.setprofile, function)

    def _set_tracing(self, field, install, function):
        if function is not None and not callable(function):
            raise TypeError("a trace or profile function must be callable or None")
        setattr(self, field, function)
        if self.is_current and self._owner is _per_thread.scheduler:
            install(function)
        if self._trace is None and self._profile is None:
            HOOKS.traced.discard(self)
        else:
            HOOKS.traced.add(self)
        _hooks_changed()

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
        sched = self._own_scheduler()
        if self is sched.current:
            return None
        if not self.alive or self.blocked:
            raise RuntimeError(f"cannot switch to {self!r}")
        _check_switch_trap(sched)
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
        runs if ``pending``), with the arguments of a ``raise``."""
        return self._throw(_exception_of(exc, val, tb), pending, sys._getframe(1))

    @_switch_primitive
    def raise_exception(self, exc_cls, *args):
        return self._throw(_exception_of(exc_cls, args, None), False, sys._getframe(1))

    def _throw(self, exc, pending, caller_frame):
        sched = self._owner
        if not self.alive:
            if isinstance(exc, TaskletExit):
                return None
            raise RuntimeError("You cannot throw to a dead tasklet")
        if self is sched.current:
            raise exc
        if self._call is not None and isinstance(exc, TaskletExit):
            # Never started: nothing of it runs, so it just ends.
            self._call = None
            _unqueue(sched, self)
            self._alive = False
            _drop_hooks_of(self)
            return None
        self._own_scheduler()
        self._unblock()
        _forget_watchdog(sched, self)
        # A tasklet that never started ends with the exception, raised as
        # it starts, before its function runs.
        self._call = None
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
        twin = type(self).__new__(type(self))
        twin._init_fields()
        memo[id(self)] = twin
        twin._func = self._func
        twin._stack = _copy_records(self._stack, memo)
        twin._call = copy.deepcopy(self._call, memo)
        twin._value = copy.deepcopy(self._value, memo)
        twin._error = self._error
        twin.atomic, twin._block_trap = self.atomic, self._block_trap
        twin.ignore_nesting = self.ignore_nesting
        twin.__dict__.update(copy.deepcopy(self.__dict__, memo))
        twin._alive = self._alive
        if self.alive and self.scheduled:
            twin.insert()
        return twin

    def __reduce__(self):
        """A suspended tasklet pickles as data: its class, its records in
        their portable form, what it is waiting for, its flags and the
        attributes a subclass added.  It unpickles neither scheduled nor
        running, in the unpickling thread; ``insert()`` makes it runnable."""
        if self.is_main or self.is_current:
            raise pickle.PicklingError(
                f"{self!r} is running and cannot be pickled; pickle it while "
                "it is suspended")
        opaque = _pickled_as_themselves()
        table, rows = portable.stack_parts(self._stack, opaque)
        flags = (bool(self._alive) | bool(self.blocked) << 1 | bool(self.atomic) << 2
                 | bool(self._block_trap) << 3 | bool(self.ignore_nesting) << 4)
        state = (_STATE_FORM, flags, portable.function_reference(self._func), table, rows,
                 portable.INTERPRETER, portable.by_value(self._call, opaque), self._value,
                 self._error, self.blocked_on, self.__dict__ or None)
        if PICKLE_FLAGS.value & PICKLEFLAGS_PRESERVE_TRACING_STATE:
            state += (self._trace, self._profile)
        return copyreg.__newobj__, (type(self),), state

    def __setstate__(self, state):
        """Takes the tuple that ``__reduce__`` makes, or the dictionary of
        named fields that tasklets pickled as before it."""
        if type(state) is tuple:
            self._set_state(*_unpacked_state(state))
        else:
            self._set_state(*_state_of_dict(state))

    def _set_state(self, flags, func, stack, call, value, error, blocked_on, attributes,
                   tracing):
        _check_fields(stack, call, error, attributes)
        self._init_fields()
        self._alive, self.blocked, self.atomic, self._block_trap, self.ignore_nesting = flags
        self._func, self._stack, self._call = func, list(stack), call
        self._value, self._error, self.blocked_on = value, error, blocked_on
        if attributes:
            self.__dict__.update(attributes)
        if tracing is not None:
            self.trace_function, self.profile_function = tracing

    def __del__(self):
        # Nothing reaches this suspended tasklet any more: as in Stackless,
        # TaskletExit is raised in it, so its finally blocks and __exit__
        # methods run.
        try:
            suspended = self._alive and self._stack and not self.is_main
        except AttributeError:      # never set up (its unpickling failed)
            return
        if suspended and self._owner is _per_thread.scheduler:
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
        name = getattr(self._func, "__qualname__", self._func)
        return f"<tasklet {name} {state}>"


def _neighbour(chain, task, step, ring):
    at = next((i for i, other in enumerate(chain) if other is task), None)
    if at is None:
        return None
    at += step
    if 0 <= at < len(chain):
        return chain[at]
    return chain[at % len(chain)] if ring else None


def _own_frames(frame):
    """The frames of the running tasklet, innermost first, down to the
    scheduler's loop (for main: all of them)."""
    while frame is not None and frame.f_code not in _LOOP_CODES:
        yield frame
        frame = frame.f_back


def _exception_of(exc, val, tb):
    """The exception a ``raise exc`` (``exc(*val)`` for a tuple ``val``)
    raises, checked as ``raise`` and ``generator.throw`` check it."""
    if tb is not None and not isinstance(tb, types.TracebackType):
        raise TypeError("throw() third argument must be a traceback object")
    if isinstance(exc, type) and issubclass(exc, BaseException):
        if isinstance(val, exc):
            exc = val
        else:
            exc = exc(*(() if val is None else val if isinstance(val, tuple) else (val,)))
    elif isinstance(exc, BaseException):
        if val is not None:
            raise TypeError("instance exception may not have a separate value")
    else:
        raise TypeError("exceptions must be classes, or instances, not "
                        f"{type(exc).__name__}")
    return exc.with_traceback(tb) if tb is not None else exc


tasklet = Tasklet


class _Scheduler:
    """One thread's scheduler: its main tasklet, the running one, and the
    runnable others in order (each at most once; ``Tasklet._queued`` says
    which are there, so making a tasklet runnable stays cheap with many
    queued)."""

    __slots__ = ("main", "current", "queue", "ticks_left", "interrupted", "calls_run_inline",
                 "thread_id", "thread_alive", "tick_interval", "total_ticks", "soft",
                 "soft_stop", "switch_trap", "watchdogs", "__weakref__")

    def __init__(self, thread_id):
        self.thread_id = thread_id
        self.thread_alive = True
        self.main = Tasklet(_main=self)
        self.current = self.main
        self.queue = collections.deque()
        self.ticks_left = 0            # the watchdog's budget; 0 when off
        self.tick_interval = 0         # run(timeout)'s budget per tasklet
        self.total_ticks = False       # run(totaltimeout=True): one budget for all
        self.soft = self.soft_stop = False  # run(soft=True), and its budget is spent
        self.interrupted = None        # the tasklet the watchdog stopped
        self.calls_run_inline = False  # see frames.calls_run_inline
        self.switch_trap = 0
        self.watchdogs = []            # tasklets waiting in a nested run()


# The schedulers of the threads that have one, by thread id.
_SCHEDULERS = weakref.WeakValueDictionary()


class _ThreadEnd:
    """Kept in a thread's local storage, which is cleared when the thread
    ends: then its tasklets are dead."""

    def __init__(self, sched):
        self.sched = sched

    def __del__(self):
        self.sched.thread_alive = False


class _PerThread(threading.local):
    """Each thread's scheduler.  Code that switches reads it once and then
    uses the plain object: a thread-local attribute costs several times a
    plain one."""

    def __init__(self):
        self.scheduler = _scheduler_of_thread(threading.get_ident(), create=True)
        self.end = _ThreadEnd(self.scheduler)


def _scheduler_of_thread(thread_id, create=False):
    """The scheduler of the running thread ``thread_id`` (made for it if
    ``create``, or if another thread asks for it first)."""
    sched = _SCHEDULERS.get(thread_id)
    if sched is not None and sched.thread_alive:
        return sched
    if not create and thread_id not in {thread.ident for thread in threading.enumerate()}:
        raise ValueError(f"no running thread has the id {thread_id!r}")
    sched = _SCHEDULERS[thread_id] = _Scheduler(thread_id)
    return sched


_per_thread = _PerThread()


class _Hooks:
    """What the scheduler calls or checks, interpreter-wide, that only its
    Python code does: while any of it is in use the C loop hands switches
    to the Python loop (``native_loop.set_python_only``)."""

    def __init__(self):
        self.schedule_callback = None
        self.channel_callback = None
        self.error_handler = None
        self.switch_traps = set()                # schedulers with a nonzero trap
        self.watching = set()                    # schedulers with a nested run()
        self.traced = weakref.WeakSet()          # tasklets given a trace or profile function
        self.block_trapped = weakref.WeakSet()   # tasklets whose block_trap is set
        self.scheduling_all = weakref.WeakSet()  # channels whose schedule_all is set
        self.active = False


HOOKS = _Hooks()


def _hooks_changed():
    hooks = HOOKS
    hooks.active = bool(hooks.schedule_callback or hooks.channel_callback or
                        hooks.switch_traps or hooks.watching or hooks.traced or
                        hooks.block_trapped or hooks.scheduling_all)
    native_loop.set_python_only(hooks.active)


def _switching(sched, task):
    """Called before the Python loop makes ``task`` current: the schedule
    callback is called (with the tasklet that is current still current) and
    the tasklets' trace and profile functions are swapped.  A tasklet that
    goes on after scheduling with nothing else runnable does not switch."""
    prev = sched.current
    if prev is task:
        return
    if HOOKS.traced:
        prev._trace, prev._profile = sys.gettrace(), sys.getprofile()
        sys.settrace(task._trace)
        sys.setprofile(task._profile)
    callback = HOOKS.schedule_callback
    if callback is not None:
        try:
            callback(prev, task)
        except Exception as exc:
            sys.unraisablehook(_Unraisable(exc, callback))


class _Unraisable:
    """What ``sys.unraisablehook`` reports for a failed callback."""

    def __init__(self, exc, callback):
        self.exc_type, self.exc_value, self.exc_traceback = type(exc), exc, exc.__traceback__
        self.err_msg, self.object = "Exception ignored in the schedule callback", callback


def switch_trap(delta=0):
    """Add ``delta`` to this thread's switch trap level and return the old
    level; while it is nonzero, any tasklet switch raises RuntimeError."""
    sched = _per_thread.scheduler
    old = sched.switch_trap
    sched.switch_trap = old + int(delta)
    if sched.switch_trap:
        HOOKS.switch_traps.add(sched)
    else:
        HOOKS.switch_traps.discard(sched)
    _hooks_changed()
    return old


def _drop_hooks_of(task):
    """``task`` ended: its trace functions and block trap need the Python
    loop no more.  When it was the last tasklet with trace functions of its
    own, the swapping stops, and the thread's own (main's) are put back."""
    if task in HOOKS.traced or task in HOOKS.block_trapped:
        HOOKS.traced.discard(task)
        HOOKS.block_trapped.discard(task)
        if not HOOKS.traced and task is task._owner.current:
            main = task._owner.main
            sys.settrace(main._trace)
            sys.setprofile(main._profile)
        _hooks_changed()


def _check_switch_trap(sched):
    if sched.switch_trap:
        raise RuntimeError("switch_trap")


def _forget_watchdog(sched, task):
    if task in sched.watchdogs:
        sched.watchdogs.remove(task)
        _watchdogs_changed(sched)


def _watchdogs_changed(sched):
    if sched.watchdogs:
        HOOKS.watching.add(sched)
    else:
        HOOKS.watching.discard(sched)
    _hooks_changed()


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


DEADLOCK = "Deadlock: the last runnable tasklet cannot be blocked."


def _run_queue(sched, until_main, empty_ok=False):
    """Run the queued tasklets in turn, from main: until the queue is empty
    (an error if ``until_main``, unless ``empty_ok``), until main is taken
    from it (``until_main``, or when an exception was thrown to main: it is
    raised here), or until the watchdog stops the run, which returns the
    tasklet it interrupted (None for a soft stop).  One trampoline loop goes
    from tasklet to tasklet as they switch; it returns when one ends."""
    queue, main = sched.queue, sched.main
    sched.calls_run_inline = calls_run_inline()
    ticking = sched.ticks_left > 0
    main_is_next = False

    def next_task():
        """The next tasklet, made current, as what the trampoline goes on
        with; None when the loop stops."""
        nonlocal main_is_next
        if (sched.interrupted is not None or sched.soft_stop) and not until_main:
            return None
        while queue or sched.watchdogs:
            if not queue:
                # Only the tasklets waiting in a nested run() are left: the
                # innermost goes on.
                _enqueue(sched, sched.watchdogs.pop())
                _watchdogs_changed(sched)
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
            if HOOKS.active:
                _switching(sched, task)
            sched.current = task
            if ticking and not sched.total_ticks:
                sched.ticks_left = sched.tick_interval
            call, task._call = task._call, None
            value, error = task._value, task._error
            task._value = task._error = None
            return task._stack, value, error, call
        return None

    try:
        handed_back = False
        if native_loop.available and not ticking and not HOOKS.active:
            while True:
                outcome, value, error = native_loop.run_tasklets(sched, until_main)
                if outcome == native_loop.HANDED_BACK:
                    handed_back = True
                elif outcome != native_loop.ENDED:
                    main_is_next = outcome == native_loop.MAIN_IS_NEXT
                    break
                else:
                    _tasklet_ended(sched, error)   # the loop marked the tasklet ended
                    continue
                break
        if handed_back or not native_loop.available or ticking or HOOKS.active:
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
                ended._alive, ended._value = False, value
                _tasklet_ended(sched, error)
                work = next_task()
    finally:
        if HOOKS.active and sched.current is not main:
            _switching(sched, main)
        sched.current = main
    if main_is_next and not until_main:
        error, main._error, main._value = main._error, None, None
        raise error
    if until_main:
        if not main_is_next and not empty_ok:
            raise RuntimeError(DEADLOCK)
        return None
    interrupted, sched.interrupted = sched.interrupted, None
    return interrupted


def _tasklet_ended(sched, error):
    """The current tasklet ended with ``error`` (or None): it goes to the
    error handler, if one is set, or on in main (TaskletExit does not)."""
    if HOOKS.active:
        _drop_hooks_of(sched.current)
    if error is None or isinstance(error, TaskletExit):
        return
    handler = HOOKS.error_handler
    if handler is None:
        raise error
    handler(type(error), error, error.__traceback__)


def _run_until_main_is_next(sched, empty_ok=False):
    """From main: run tasklets until main is taken from the queue again (or
    the queue is empty, with ``empty_ok``)."""
    try:
        _run_queue(sched, until_main=True, empty_ok=empty_ok)
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
    when it has to raise ``HANDOVER.switch_unwind`` through them."""
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
    called = None
    while code is not _TRAMPOLINE_CODE and code is not native_loop.BASE_CODE:
        if code is generators.GENERATOR_LOOP_CODE:
            # A stackless generator's body: the walk goes on beneath it.
            frame, by_return = generators.frame_beneath(frame), False
            code = frame.f_code
            continue
        if code is _PLAIN_CALLER_TRAMPOLINE_CODE or code is native_loop.PLAIN_CALLER_CODE:
            _refuse_plain_caller_of_trampoline(frame)
        if frame.f_lasti not in SUSPENSION_POINTS.get(id(code), ()):
            if called is not None:
                callbacks.refuse_inline_callback(called, frame)
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
        called, frame, code = frame, back, back.f_code
    return by_return


_TRAMPOLINE_CODE = resume_records.__code__
_PLAIN_CALLER_TRAMPOLINE_CODE = resume_for_plain_caller.__code__
_LOOP_CODES = (_TRAMPOLINE_CODE, native_loop.BASE_CODE)


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


def _wait(sched, by_return=False, empty_ok=False):
    """The current tasklet waits until it is taken from the queue again (it
    must already be queued, or registered where something will queue it).
    A tasklet's frames become records, passed to the trampoline by returning
    ``SWITCHED`` (``by_return``, which the switch primitive returns in turn)
    or by raising ``HANDOVER.switch_unwind``; main's wait runs the scheduler
    (and, with ``empty_ok``, ends when no tasklet is left to run)."""
    main = sched.main
    if sched.current is main:
        _run_until_main_is_next(sched, empty_ok)
        value, error, main._value, main._error = main._value, main._error, None, None
        if error is not None:
            raise error
        return value
    handover = HANDOVER
    del handover.chain[:], handover.tails[:]
    if by_return:
        return SWITCHED
    raise handover.switch_unwind


def _hand_over(sched, other, by_return, delivered=(None, None), requeue_current=True):
    """``other`` runs next, then (unless not requeued) the current tasklet,
    which gets the value or exception ``delivered`` when it goes on."""
    current = sched.current
    current._value, current._error = delivered
    if requeue_current:
        _enqueue_first(sched, current)
    _enqueue_first(sched, other)
    return _wait(sched, by_return)


# The default of schedule()'s retval: the current tasklet.
_CURRENT = object()


@_switch_primitive
def schedule(retval=_CURRENT):
    """Let the other runnable tasklets run; the current one goes to the end
    of the queue.  Returns ``retval`` (the current tasklet by default), or
    what was set as the tasklet's ``tempval`` meanwhile."""
    sched = _per_thread.scheduler
    _check_switch_trap(sched)
    by_return = _check_can_switch(sched, sys._getframe(1))
    current = sched.current
    current._value = current if retval is _CURRENT else retval
    current._queued = True
    sched.queue.append(current)
    if by_return:               # _wait's shortest way, without the call
        handover = HANDOVER
        del handover.chain[:], handover.tails[:]
        return SWITCHED
    return _wait(sched)


if native_loop.available:
    # The C schedule() takes the usual case and calls this one for the rest.
    schedule = native_loop.configure(schedule, Tasklet, _Scheduler)


@_switch_primitive
def schedule_remove(retval=_CURRENT):
    """Like schedule(), but the current tasklet is not queued again.  From
    main, the other tasklets run until main is inserted again or none is
    left to run."""
    sched = _per_thread.scheduler
    _check_switch_trap(sched)
    by_return = _check_can_switch(sched, sys._getframe(1))
    current = sched.current
    current._value = current if retval is _CURRENT else retval
    return _wait(sched, by_return, empty_ok=True)


@_switch_primitive
def run(timeout=0, threadblock=False, soft=False, ignore_nesting=False, totaltimeout=False):
    """Run the other tasklets until none is runnable, and return None.

    From main, with ``timeout`` > 0, a watchdog counts ticks (each call of a
    stackless function and each loop back-edge in stackless code) and,
    after that many in one tasklet's turn (or, with ``totaltimeout``, in
    the whole run), interrupts the running tasklet at the next tick where
    it can be suspended, unless it is atomic; ``run`` then returns that
    tasklet, taken out of the run queue.  With ``soft``, no tasklet is
    interrupted: the run ends at the next switch after the budget is spent,
    and returns None.  From a tasklet, ``run()`` lets the others run until
    no other is runnable; it takes no timeout there.  ``threadblock`` and
    ``ignore_nesting`` change nothing (see docs/stackless.md)."""
    sched = _per_thread.scheduler
    _check_switch_trap(sched)
    if sched.current is not sched.main:
        if timeout > 0:
            raise RuntimeError("run() with a timeout is only possible in the main tasklet")
        return _run_nested(sched, sys._getframe(1))
    _unqueue(sched, sched.main)
    if timeout > 0:
        sched.ticks_left = sched.tick_interval = timeout
        sched.total_ticks, sched.soft = bool(totaltimeout), bool(soft)
        _use_ticked_code(True)
    try:
        return _run_queue(sched, until_main=False)
    finally:
        if timeout > 0:
            sched.ticks_left = sched.tick_interval = 0
            sched.soft = sched.soft_stop = sched.total_ticks = False
            _use_ticked_code(False)


def _run_nested(sched, caller_frame):
    """run() in a tasklet: it waits until no other tasklet is runnable."""
    by_return = _check_can_switch(sched, caller_frame)
    current = sched.current
    current._value = None
    sched.watchdogs.append(current)
    _watchdogs_changed(sched)
    return _wait(sched, by_return)


def _use_ticked_code(on):
    """Give every stackless function its watchdog variant, or its own code
    back (so the watchdog costs nothing when it is not running)."""
    for info in registry.all_functions():
        if info.native is None and info.function is not None and info.code is not None:
            set_code(info.function, info.ticked()[0] if on else info.code)
        elif info.native is not None:
            info.native.watchdog_running(on)


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
    if sched.soft:
        sched.soft_stop = True      # the run ends at the next switch
        return
    try:
        if current is sched.main or current.atomic or sched.switch_trap:
            raise SwitchError("the main tasklet, or an atomic one, is not preempted")
        _check_can_switch(sched, caller_frame)
    except SwitchError:
        sched.ticks_left = 1        # try again at the next tick
        return
    sched.interrupted = current
    current._value = None
    handover = HANDOVER
    del handover.chain[:], handover.tails[:]
    raise handover.switch_unwind


def _exit_collected(task):
    """Raise TaskletExit in ``task``, which is being collected, from here: a
    tasklet is collected wherever its last reference goes, perhaps while this
    thread unwinds, so the unwinding under way is set aside meanwhile.  A
    switch in its finally blocks puts it back in the run queue, alive."""
    if sys.is_finalizing():
        return
    sched = _per_thread.scheduler
    task._unblock()
    HANDOVER.push()
    current, sched.current = sched.current, task
    try:
        value, error, switched = resume_records(task._stack, None, TaskletExit())
    finally:
        sched.current = current
        HANDOVER.pop()
    if not switched:
        task._alive, task._value = False, value
        _drop_hooks_of(task)
        if error is not None and not isinstance(error, TaskletExit):
            raise error


def getcurrent():
    return _per_thread.scheduler.current


def getmain():
    return _per_thread.scheduler.main


def getruncount():
    """Runnable tasklets, the current one included."""
    return len(_per_thread.scheduler.queue) + 1


# The form of the tuple a tasklet pickles its state as: (_STATE_FORM, flags,
# function, records' table, records' rows, interpreter, call, value, error,
# channel blocked on, attributes or None[, trace function, profile function]).
_STATE_FORM = 1
# The flags' bits, lowest first.
_FLAGS = ("alive", "blocked", "atomic", "block_trap", "ignore_nesting")
# The flags' values for each number the bits make.
_FLAG_VALUES = [tuple(bool(number >> bit & 1) for bit in range(len(_FLAGS)))
                for number in range(1 << len(_FLAGS))]
# The names in a state dictionary, as tasklets pickled before the tuple.
_STATE_NAMES = {"alive", "blocked", "blocked_on", "_call", "_value", "tempval", "_error",
                "atomic", "block_trap", "ignore_nesting", "func", "_stack", "__dict__",
                "trace_function", "profile_function"}


def _refuse_state(what, value):
    raise pickle.UnpicklingError(f"cannot load a tasklet: its {what} is {value!r:.200}")


def _unpacked_state(state):
    """_set_state's arguments from the tuple a tasklet pickled its state as."""
    if len(state) not in (11, 13) or state[0] != _STATE_FORM:
        _refuse_state("state", state)
    _, flags, func, table, rows, interpreter, call, value, error, blocked_on, \
        attributes, *tracing = state
    if type(flags) is not int or not 0 <= flags < len(_FLAG_VALUES):
        _refuse_state("flags", flags)
    return (_FLAG_VALUES[flags], portable.referenced_function(func),
            portable.load_stack(table, rows, interpreter), call, value, error, blocked_on,
            attributes, tracing or None)


def _state_of_dict(state):
    """_set_state's arguments from a state dictionary of named fields."""
    if type(state) is not dict or not set(state) <= _STATE_NAMES:
        _refuse_state("state", state)
    flags = tuple(state.get(flag, False) for flag in _FLAGS)
    for flag, value in zip(_FLAGS, flags):
        if type(value) is not bool:
            _refuse_state(f"{flag} flag", value)
    tracing = None
    if "trace_function" in state or "profile_function" in state:
        tracing = state.get("trace_function"), state.get("profile_function")
    value = state.get("_value", state.get("tempval"))
    return (flags, state.get("func"), state.get("_stack", []), state.get("_call"), value,
            state.get("_error"), state.get("blocked_on"), state.get("__dict__"), tracing)


def _check_fields(stack, call, error, attributes):
    """Raise ``pickle.UnpicklingError`` unless a pickled tasklet's state holds
    what the scheduler relies on: records, a call ``(function, tuple,
    dict)`` for a tasklet that never ran, an exception or None to deliver,
    attributes in a dictionary."""
    if not isinstance(stack, (list, tuple)):
        _refuse_state("list of records", stack)
    portable.check_records(stack)
    if call is not None and not (type(call) is tuple and len(call) == 3 and callable(call[0])
                                 and type(call[1]) is tuple and type(call[2]) is dict):
        _refuse_state("call (function, arguments tuple, keywords dict)", call)
    if error is not None and not isinstance(error, BaseException):
        _refuse_state("exception to raise", error)
    if attributes is not None and type(attributes) is not dict:
        _refuse_state("attributes", attributes)


_opaque_types = None


def _pickled_as_themselves():
    """Tasklets and channels: a tasklet's pickle does not look into them
    (they check their own contents when pickled)."""
    global _opaque_types
    if _opaque_types is None:
        from .channel import channel    # here: channel imports this module
        _opaque_types = (Tasklet, channel)
    return _opaque_types


class _PickleFlags:
    value = 0


PICKLE_FLAGS = _PickleFlags()
PICKLEFLAGS_PRESERVE_TRACING_STATE = 1


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
