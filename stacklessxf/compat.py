"""Stackless Python's ``stackless`` module on top of stacklessxf.

Installed under the name ``stackless`` too (``import stackless`` gives this
very module), so that programs written for Stackless Python run.  What
differs from Stackless, and why, is listed in docs/stackless.md.

The tasklet's function must be stackless code for it to switch (decorate
it with ``stackless``, or transform the module) — Stackless makes every
Python function switchable; here only transformed ones are.
"""

import contextlib
import sys
import threading

from .core import stackless
from .runtime import scheduler as _scheduler
from .runtime.channel import channel
from .runtime.scheduler import (HOOKS, PICKLEFLAGS_PRESERVE_TRACING_STATE, TaskletExit,
                                getcurrent, getmain, getruncount, run, schedule,
                                schedule_remove, switch_trap)
from .runtime.scheduler import Tasklet as tasklet

__all__ = ["tasklet", "channel", "run", "schedule", "schedule_remove", "getcurrent",
           "getmain", "getruncount", "switch_trap", "atomic", "TaskletExit",
           "set_schedule_callback", "get_schedule_callback", "set_channel_callback",
           "get_channel_callback", "set_error_handler", "enable_softswitch", "pickle_flags",
           "pickle_flags_default", "getdebug", "getuncollectables", "getthreads",
           "get_thread_info", "stackless", "PICKLEFLAGS_PRESERVE_TRACING_STATE",
           "PICKLEFLAGS_PRESERVE_AG_FINALIZER", "PICKLEFLAGS_RESET_AG_FINALIZER",
           "PICKLEFLAGS_PICKLE_CONTEXT"]

# Accepted for compatibility; no asynchronous generator or context is
# pickled with a tasklet here, so they change nothing.
PICKLEFLAGS_PRESERVE_AG_FINALIZER = 2
PICKLEFLAGS_RESET_AG_FINALIZER = 4
PICKLEFLAGS_PICKLE_CONTEXT = 8
_PICKLE_FLAG_BITS = 15


class atomic:
    """``with atomic():`` makes the current tasklet atomic for the block
    (the watchdog does not interrupt it), then restores what it was."""

    def __enter__(self):
        self._old = getcurrent().set_atomic(True)
        return self

    def __exit__(self, *exc):
        getcurrent().set_atomic(self._old)
        return False


def _set_hook(name, function):
    if function is not None and not callable(function):
        raise TypeError(f"{name} must be callable or None")
    old = getattr(HOOKS, name)
    setattr(HOOKS, name, function)
    _scheduler._hooks_changed()
    return old


def set_schedule_callback(callable):
    """Call ``callable(prev, next)`` before every tasklet switch, with
    ``prev`` still current.  Returns the previous callback."""
    return _set_hook("schedule_callback", callable)


def get_schedule_callback():
    return HOOKS.schedule_callback


def set_channel_callback(callable):
    """Call ``callable(channel, tasklet, sending, willblock)`` before every
    send and receive.  Returns the previous callback."""
    return _set_hook("channel_callback", callable)


def get_channel_callback():
    return HOOKS.channel_callback


def set_error_handler(handler):
    """Call ``handler(type, value, traceback)`` when a tasklet ends with an
    exception (TaskletExit aside), while the tasklet is still current,
    instead of raising it in main; what the handler raises goes to main.
    Returns the previous handler."""
    return _set_hook("error_handler", handler)


def enable_softswitch(flag):
    """Switching is always soft here (no C stack is ever copied): returns
    True (as for ``flag`` None, an inquiry), and ``flag`` changes nothing."""
    return True


def _flags(holder, new_flags, mask):
    old = holder.value
    if new_flags != -1:
        if new_flags & ~_PICKLE_FLAG_BITS or mask & ~_PICKLE_FLAG_BITS:
            raise ValueError("unknown pickle flags")
        holder.value = (old & ~mask) | (new_flags & mask) if mask else new_flags
    return old


def pickle_flags(new_flags=-1, mask=0):
    """Read (and with ``new_flags`` set) the pickle flags; returns the old
    ones.  PICKLEFLAGS_PRESERVE_TRACING_STATE pickles a tasklet's trace and
    profile functions with it."""
    return _flags(_scheduler.PICKLE_FLAGS, new_flags, mask)


class _DefaultFlags:
    value = 0


_DEFAULT_FLAGS = _DefaultFlags()


def pickle_flags_default(new_flags=-1, mask=0):
    """The pickle flags new threads start with (there is one set of flags
    for all threads here)."""
    return _flags(_DEFAULT_FLAGS, new_flags, mask)


def getdebug():
    """Whether this is a debug build of Stackless: never."""
    return False


def getuncollectables():
    """Tasklets that cannot be collected because C state holds them: none
    here, a suspended tasklet is only data."""
    return []


def getthreads():
    """The ids of the running threads, the main thread's first."""
    main = threading.main_thread().ident
    return [main] + [thread.ident for thread in threading.enumerate() if thread.ident != main]


def get_thread_info(thread_id=-1):
    """``(main tasklet, current tasklet, run count)`` of a running thread
    (by default, or with 0 or -1, this one)."""
    if thread_id in (0, -1):
        thread_id = threading.get_ident()
    try:
        sched = _scheduler._scheduler_of_thread(thread_id)
    except ValueError:
        raise RuntimeError("Thread id not found") from None
    return sched.main, sched.current, len(sched.queue) + 1


class _Module(type(sys)):
    """Stackless's module attributes that change as the program runs."""

    @property
    def current(self):
        return getcurrent()

    @property
    def main(self):
        return getmain()

    @property
    def runcount(self):
        return getruncount()

    @property
    def threads(self):
        return getthreads()


sys.modules[__name__].__class__ = _Module
