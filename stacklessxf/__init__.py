"""stacklessxf: a stackless transform for a subset of Python.

``@stackless`` recompiles a function so that any of its activations can stop
at a call, become a small heap record of its live variables, and be resumed
later; deep recursion then no longer needs the interpreter's stack.
"""

from .core import explain, registered_functions, stackless
from .errors import StaleCodeError, SwitchError, TransformError
from .runtime.channel import channel
from .runtime.stats import reset_stats, stats
from .runtime.scheduler import (TaskletExit, getcurrent, getmain, getruncount, run,
                                schedule, schedule_remove, tasklet)

__all__ = ["stackless", "explain", "registered_functions", "TransformError",
           "SwitchError", "StaleCodeError", "TaskletExit", "tasklet", "channel", "run", "schedule",
           "schedule_remove", "getcurrent", "getmain", "getruncount", "stats",
           "reset_stats"]
__version__ = "0.1.0"
