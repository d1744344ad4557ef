"""stacklessxf: a stackless transform for a subset of Python.

``@stackless`` recompiles a function so that any of its activations can stop
at a call, become a small heap record of its live variables, and be resumed
later; deep recursion then no longer needs the interpreter's stack.

Importing the package loads the runtime only: the transform (and astroid,
and for the native backend llvmlite) is loaded by the first function that is
made stackless.
"""

from .errors import StaleCodeError, SwitchError, TransformError, TransformWarning
from .runtime import registry
from .runtime.channel import channel
from .runtime.depth import deep_recursion, frame_memory
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


def transform_module(module):
    """Makes every function and method defined in ``module`` stackless, in
    place; one the transform refuses stays plain, with a TransformWarning.
    Returns the names made stackless and those left plain, with why."""
    from .modules import transform_module
    return transform_module(module)


def transform_class(cls):
    """As :func:`transform_module`, for the methods of one class."""
    from .modules import transform_class
    return transform_class(cls)


def install(packages=(), directories=()):
    """Makes every function of the named packages (and of the modules in
    ``directories``) stackless as it is defined, from now on; modules of
    them imported already are transformed at once.  Returns the hook."""
    from .hook import install
    return install(packages, directories)


__all__ = ["stackless", "explain", "registered_functions", "transform_module",
           "transform_class", "install", "TransformError", "TransformWarning",
           "SwitchError", "StaleCodeError", "TaskletExit", "tasklet", "channel", "run", "schedule",
           "schedule_remove", "getcurrent", "getmain", "getruncount", "stats",
           "reset_stats", "deep_recursion", "frame_memory"]
__version__ = "0.1.0"
