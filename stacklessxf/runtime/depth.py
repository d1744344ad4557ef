"""Headroom below the recursion limit for code that stackless code calls.

The interpreter refuses a call when the recursion limit is reached, and a
stackless function whose own call is refused unwinds into records.  But the
limit is often met elsewhere: in a plain helper two levels down, a property,
a trace function, a tuple comparison (C-level recursion checks count against
the same limit).  There an unwinding cannot start, and the user would get a
``RecursionError``.

So every stackless function that makes may-unwind calls tests ``PROBE`` on
entry, an object of the ``_stacklessxf_depth`` extension that is true when
less than half of the recursion limit is left on the thread.  The function
then calls :func:`start_depth_unwinding`, a call site of its own with a
record (its arguments), which turns the stackless frames into records and
resumes them from a shallow stack.  Stackless frames thus stay in the lower
half of the limit, and whatever they call has the upper half to itself.

Where the extension is not built, ``PROBE`` is None and no probe is emitted:
an unwinding then starts only at a stackless function's own refused call.
"""

import sys

from .native_loop import BASE_CODE
from .records import DEPTH_UNWIND
from .trampoline import TRANSFORMED_MARKER, resume_for_plain_caller, resume_records

try:
    from _stacklessxf_depth import PROBE
except ImportError:
    PROBE = None

# An unwinding is worth starting when at least this many stackless frames
# lie between the probing frame and the loop or plain caller it ends at.
MIN_GAIN = 16
# Where fewer lie there (stackless code called by plain code that is already
# more than half the limit deep), the probe stays quiet for this many more
# levels, so that each unwinding gains at least that many.
QUIET_SPAN = 64

_LOOP_CODES = frozenset({resume_records.__code__, resume_for_plain_caller.__code__, BASE_CODE})


def start_depth_unwinding():
    """Called by a stackless function whose probe found the stack more than
    half full: unwinds the stackless frames beneath into records (raises the
    depth unwinding), unless too few of them lie above the nearest loop or
    plain caller for that to gain anything.

    It calls no Python function (only C ones), so that near the recursion
    limit the interpreter can refuse at most the call of it, which the
    calling frame's handler retries after an unwinding of its own."""
    frame = sys._getframe(1)
    gain = 0
    while frame is not None and gain < MIN_GAIN:
        code = frame.f_code
        consts = code.co_consts
        if code in _LOOP_CODES or not consts or consts[-1] is not TRANSFORMED_MARKER:
            break
        gain += 1
        frame = frame.f_back
    if gain < MIN_GAIN:
        PROBE.quiet(QUIET_SPAN)
        return
    PROBE.wake()
    raise DEPTH_UNWIND
