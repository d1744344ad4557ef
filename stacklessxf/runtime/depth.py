"""Recursion deeper than the limit, and headroom below the limit for code
that stackless code calls.

A Python frame that its caller's evaluation loop runs takes no C stack, and
the ``_stacklessxf_depth`` extension gives such stackless frames back to the
thread's recursion budget (a chunk of CPython's frame stack at a time, see
``_depth.c``): deep stackless recursion then runs as frames, at the cost of
a plain call, and becomes records only when something switches or pickles
it, or when its frames take ``frame_memory()`` bytes (256 MiB): from there
they count again, and the stack is unwound into records as described
below.  ``deep_recursion("records")`` makes them count from the start:
slower, but a record keeps only what is live at its call where a frame
keeps every local.

The interpreter refuses a call when the recursion limit is reached, and a
stackless function whose own call is refused unwinds into records.  But the
limit is often met elsewhere: in a plain helper two levels down, a property,
a trace function, a tuple comparison (C-level recursion checks count against
the same limit).  There an unwinding cannot start, and the user would get a
``RecursionError``.

So the ``_stacklessxf_depth`` extension refuses calls of stackless code
earlier, at no cost on the normal path: CPython asks its arena allocator for
a new chunk of its frame stack every few hundred frames, and when that
happens while the thread is more than a third of its limit deep, at a call
of a Python function that transformed code guards (with at least 16
transformed frames beneath, so that an unwinding gains something), the
chunk is refused.  The call fails with ``MemoryError`` before its callee
starts, and the guarding handler, which tests ``REFUSED`` to tell that
MemoryError from a real one, treats it as a call the recursion limit
refused: it saves a retry record and unwinds.  (Nothing is refused while
the collector runs on the thread: its finalizers start from wherever it
was triggered, perhaps such a call; nor while a trace or profile function
runs, which is called, for an opcode event, while the frame is stopped at
such a call.)  Stackless frames thus stay
in the lower part of the limit (a third, plus at most one chunk of frames),
and whatever they call has about half of the limit or more to itself.

Where the extension is not built, ``REFUSED`` is None: an unwinding then
starts only at a stackless function's own call refused by the limit, and
"records" is the only mode.
"""

import gc

from .native_loop import BASE_CODE, PLAIN_CALLER_CODE
from .records import HANDOVER, PER_THREAD_HANDOVER, Unwind
from .trampoline import TRANSFORMED_MARKER, resume_for_plain_caller, resume_records

try:
    import _stacklessxf_depth as _depth
except ImportError:
    _depth = None

REFUSED = None
if _depth is not None:
    _depth.configure(TRANSFORMED_MARKER, Unwind,
                     (resume_records.__code__, resume_for_plain_caller.__code__, BASE_CODE,
                      PLAIN_CALLER_CODE))
    REFUSED = _depth.REFUSED
    if PER_THREAD_HANDOVER:
        HANDOVER.watch_refusals(REFUSED)
    # A finalizer the collector runs in the middle of a refusable call must
    # not be refused in its place.
    gc.callbacks.append(_depth.collection)
    levels_left = _depth.levels_left
    refusal_count = _depth.refusal_count


DEEP_RECURSION_MODES = ("frames", "records")


def deep_recursion(mode=None):
    """How stackless recursion deeper than the recursion limit runs, for
    every thread: ``"frames"`` (the interpreter's own frames, which stop
    counting against the limit; the default where the C extension is built)
    or ``"records"`` (unwound into records every third of the limit).
    Returns the mode in force before the call; ``mode`` sets it."""
    if _depth is None:
        if mode not in (None, "records"):
            raise ValueError(f"deep_recursion({mode!r}): without the C extension "
                             "the only mode is 'records'")
        return "records"
    if mode is not None and mode not in DEEP_RECURSION_MODES:
        raise ValueError(f"deep_recursion({mode!r}): the modes are 'frames' and 'records'")
    before = _depth.give_back_levels(None if mode is None else mode == "frames")
    return "frames" if before else "records"


def frame_memory(limit=None):
    """The most bytes of the interpreter's frame stack that one thread's
    stackless frames may take in the "frames" mode before deep recursion
    unwinds into records.  Returns the limit in force before the call;
    ``limit`` sets it."""
    if _depth is None:
        raise ValueError("frame_memory(): without the C extension deep recursion "
                         "always unwinds into records")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"frame_memory({limit!r}): a number of bytes, at least 0")
    return _depth.frame_memory(limit)
