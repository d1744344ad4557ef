"""stacklessxf: a stackless transform for a subset of Python.

``@stackless`` recompiles a function so that any of its activations can stop
at a call, become a small heap record of its live variables, and be resumed
later; deep recursion then no longer needs the interpreter's stack.

Importing the package loads the runtime only: the transform (and astroid,
and for the native backend llvmlite) is loaded by the first function that is
made stackless.
"""

from .errors import StaleCodeError, SwitchError, TransformError
from .runtime import registry
from .runtime.channel import channel
from .runtime.registry import registered_functions
from .runtime.stats import reset_stats, stats
from .runtime.scheduler import (TaskletExit, getcurrent, getmain, getruncount, run,
                                schedule, schedule_remove, tasklet)


def _load_transform():
    from . import core
    return core


registry.load_transform = _load_transform


def stackless(function=None, *, backend="bytecode"):
    """Transform ``function`` so its activations can unwind into records.

    Usable as ``@stackless`` or ``@stackless(backend="bytecode")``.
    """
    return _load_transform().stackless(function, backend=backend)


def explain(function, llvm=False):
    """The IR, resume points and record layouts of a stackless function;
    for a native one with ``llvm``, also the LLVM IR it was compiled to."""
    return _load_transform().explain(function, llvm)


__all__ = ["stackless", "explain", "registered_functions", "TransformError",
           "SwitchError", "StaleCodeError", "TaskletExit", "tasklet", "channel", "run", "schedule",
           "schedule_remove", "getcurrent", "getmain", "getruncount", "stats",
           "reset_stats"]
__version__ = "0.1.0"
