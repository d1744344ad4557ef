"""The scheduler's hot path in C, when the extension module is built.

``_stacklessxf_switch`` (built from ``_switch.c`` by ``pip install`` where a
C compiler and Python's headers are available; optional) holds:

- ``run(sched, until_main)``: the trampoline loop of ``trampoline`` and the
  scheduler's ``next_task``, going from tasklet to tasklet in C;
- ``schedule(retval=None)``: the switch when the calling frame is one that
  loop runs, stopped at a call that tests for ``SWITCHED``, and otherwise a
  call of the Python ``schedule``;
- ``ChannelFields``: the type the channel class derives from, its fields
  (the waiting entries, preference, closing) and its ``send`` and
  ``receive``, which take the usual cases for such a frame (a partner
  waits, or the caller blocks) and otherwise call the Python functions.

The Python code does the same when the module is absent, and in the cases
the C code leaves to it (the watchdog's ticked code, deeper stacks, closing
channels, exceptions sent over a channel, the main tasklet).
"""

from .records import HANDOVER, SITE_COUNTS, SITES, SWITCH_BUILTINS, SWITCHED, Unwind, \
    count_unwound
from . import trampoline
from .trampoline import (TESTED_CALLS, _without_interrupt_checks, count_stacked_records,
                         mark_transformed)

try:
    import _stacklessxf_switch as _switch
except ImportError:
    _switch = None

# Whether the scheduler runs the C loop (tests turn it off to compare).
available = _switch is not None


def configure(slow_schedule, tasklet_class, scheduler_class):
    """Give the C module the runtime's objects; ``slow_schedule`` is the
    Python ``schedule``, which the C one calls for every case it does not
    take itself, and the C code reads and writes the fields of
    ``tasklet_class``'s and ``scheduler_class``'s slots.  Returns the C
    ``schedule``."""
    _switch.configure(HANDOVER, SITES, SITE_COUNTS, SWITCHED, Unwind, TESTED_CALLS,
                      slow_schedule, count_unwound, count_stacked_records, tasklet_class,
                      scheduler_class)
    SWITCH_BUILTINS.add(_switch.schedule)
    return _switch.schedule


def channel_fields(send, receive):
    """The C type holding a channel's fields, for the channel class to
    derive from: its ``send`` and ``receive`` take the usual cases and call
    the Python functions ``send(channel, value)`` and ``receive(channel)``
    for every other."""
    _switch.configure_channels(send, receive)
    fields = _switch.ChannelFields
    SWITCH_BUILTINS.update((fields.__dict__["send"], fields.__dict__["receive"]))
    return fields


def run_tasklets(sched, until_main):
    """Run the C loop; this frame is the one its tasklets' frames return to
    (their *base*): marked as transformed code, so that an unwinding passes
    it to the loop, as it would to the Python trampoline."""
    return _switch.run(sched, until_main)


run_tasklets.__code__ = mark_transformed(run_tasklets.__code__)
BASE_CODE = run_tasklets.__code__


def resume_for_plain_caller(stack, chain, tails, loop_code=None):
    """Run the C loop for the records ``stack`` of an unwinding whose
    outermost frame was called by plain code (``chain`` and ``tails``, to
    be counted; see ``trampoline.run_unwound``).  This frame is the one
    their frames return to: marked as transformed code, so that a deeper
    unwinding passes it to the loop, and known to the switch primitives
    as a plain caller's loop.  ``loop_code`` is its own code."""
    return _switch.resume_plain(stack, chain, tails, loop_code)


resume_for_plain_caller.__code__ = mark_transformed(
    _without_interrupt_checks(resume_for_plain_caller.__code__))
resume_for_plain_caller.__defaults__ = (resume_for_plain_caller.__code__,)
PLAIN_CALLER_CODE = resume_for_plain_caller.__code__
if _switch is not None:
    trampoline.C_PLAIN_CALLER_LOOP = resume_for_plain_caller
    trampoline.forget_tested_calls = _switch.forget_tested_calls

if _switch is not None:
    # How run_tasklets says its loop stopped, when not for an empty queue.
    MAIN_IS_NEXT, ENDED, HANDED_BACK = _switch.MAIN_IS_NEXT, _switch.ENDED, _switch.HANDED_BACK


def flush_site_counts():
    """Add the records the C loop counted to ``SITE_COUNTS``; whatever
    reads the counts calls this first."""
    if _switch is not None:
        _switch.flush_site_counts()


def set_python_only(on):
    """While ``on``, the C loop hands every switch back to the Python loop
    and the C primitives call the Python ones (for the scheduler features
    only the Python code has)."""
    if _switch is not None:
        _switch.set_python_only(on)
