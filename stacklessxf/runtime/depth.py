"""Headroom below the recursion limit for code that stackless code calls.

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
starts only at a stackless function's own call refused by the limit.
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
