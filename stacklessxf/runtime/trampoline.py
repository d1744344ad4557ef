"""The trampoline: resumes records innermost-first until none is left."""

import types
import weakref

from ..versions import current as version

from .records import (HANDOVER, SITE_COUNTS, SITES, SWITCHED, TRANSFORMED_MARKER, Unwind,
                      count_unwound)




# For every live transformed code object (by id: hashing a code object
# hashes all its constants): the offsets of the calls at which its frames
# can be suspended (the calls its handlers guard).  A switch checks that
# every frame it would unwind is stopped at one of them.
SUSPENSION_POINTS = {}

# Those of the calls whose result is tested for SWITCHED, each as one
# number: the code object's id plus the call's offset.  CPython keeps a code object's
# instructions inside the object, so that number is an address within it,
# and no two live code objects share one.  One set lookup is the cheapest
# test a switch can make of the frame that called it.
TESTED_CALLS = set()
# Called with no arguments whenever TESTED_CALLS changes (by the C loop,
# which keeps answers of it).
forget_tested_calls = None

# A weak reference to each code object of SUSPENSION_POINTS, whose callback
# takes the code's entries out when it dies: a code object made later at
# the same address must not find the dead one's suspension points or
# tested calls (most transformed code lives as long as the process, but
# not all: a function whose transform failed after its code was made, a
# resume entry's code made again).
_REGISTERED = {}


def register_suspension_points(code, points, tested):
    """Note the suspension points (offsets) of ``code`` and the offsets of
    those of its calls that test for SWITCHED, for as long as it lives."""
    key = id(code)
    numbers = frozenset(key + offset for offset in tested)
    SUSPENSION_POINTS[key] = points
    TESTED_CALLS.update(numbers)
    if forget_tested_calls is not None:
        forget_tested_calls()
    _REGISTERED[key] = weakref.ref(
        code, lambda _, key=key, numbers=numbers: _forget(key, numbers))


def _forget(key, numbers):
    SUSPENSION_POINTS.pop(key, None)
    TESTED_CALLS.difference_update(numbers)
    if forget_tested_calls is not None:
        forget_tested_calls()
    _REGISTERED.pop(key, None)


def mark_transformed(code):
    return code.replace(co_consts=code.co_consts + (TRANSFORMED_MARKER,))


def is_transformed(code):
    return bool(code.co_consts) and code.co_consts[-1] is TRANSFORMED_MARKER


# The C version of ``resume_for_plain_caller``'s work, where the extension
# is built (set by ``native_loop``; tests turn it off to compare).
C_PLAIN_CALLER_LOOP = None


def run_unwound(chain):
    """Resume ``chain`` (records taken out of an Unwind, innermost first)
    and return the value the outermost of them returns (or raise what it
    raises)."""
    # Nothing here calls anything before the loop holds the records, so an
    # asynchronous exception (KeyboardInterrupt, ...) reaches them too.
    handover = HANDOVER
    tails = handover.tails[:]
    del handover.tails[:]
    in_c = C_PLAIN_CALLER_LOOP
    if in_c is not None:
        value, error = in_c(chain[::-1], chain, tails)
    else:
        value, error, switched = resume_for_plain_caller(chain[::-1], None, None,
                                                         unwound=(None, chain, tails))
        assert not switched, "a switch cannot unwind past a plain caller"
    if error is not None:
        try:
            raise error
        finally:
            error = None
    return value


def resume_records(stack, value, error, call=None, ticking=False, next_task=None,
                   unwound=None, loop_code=None):
    """The trampoline loop: make ``call`` (func, args, kwargs) if given, then
    resume the records of ``stack`` (outermost first) from the top, handing
    each the value or exception of the one inside it.  Returns (value, error,
    switched): what the outermost returned or raised, or ``switched`` true
    when a tasklet switch saved the frames (their records are back on
    ``stack``).  ``ticking`` resumes records in the watchdog's code.
    ``unwound`` is (Unwind or None, records, tail sites) of an unwinding
    whose records are already on ``stack``, still to be counted.
    ``loop_code``'s default is this loop's own code (or its copy's).

    The scheduler passes ``next_task``: after a switch, the loop goes on
    with the (stack, value, error, call) it returns, the next tasklet's,
    and returns only when it returns None.

    An exception can be raised at any call (a signal handler's, a
    MemoryError), so until the loop is done nothing but the calls inside
    its ``try`` runs between taking records and putting them on ``stack``,
    and whatever such a call raises goes to the innermost record (the loop
    has no other place where the interpreter runs signal handlers, see
    ``_without_interrupt_checks``)."""
    building = failed = None    # the record whose resume entry is being built
    while True:
        try:
            if unwound is not None:
                taken, unwound = unwound, None
                refused = count_stacked_records(stack, *taken, loop_code)
                if refused is not None:
                    return None, refused, False
            if call is not None:
                func, args, kwargs = call
                call = None
                value = func(*args, **kwargs)
            elif stack:
                record = stack[-1]
                site = SITES[record[0]]
                if ticking and site.ticked_twin is not None:
                    site = site.ticked_twin
                building = record
                resume = site.function or site.resume_function(record)
                building = None
                # Off the stack only now, right before the resume entry runs
                # (it does not check for signals before it has restored it).
                del stack[-1]
                # The first argument is a placeholder for the function's own
                # first argument, which the resume entry restores from the record.
                value = resume(None, record, value, error)
            else:
                return value, error, False
            error = None
            if value is not SWITCHED:
                continue
            # A switch passed the frames by returning; nothing was called
            # since they saved their records.
            handover = HANDOVER
            chain, tails = handover.chain[:], handover.tails[:]
            del handover.chain[:], handover.tails[:]
        except Unwind as caught:
            # Taken out before anything is called.
            handover = HANDOVER
            chain, tails = handover.chain[:], handover.tails[:]
            del handover.chain[:], handover.tails[:]
            caught.__traceback__ = None
            if caught is not handover.switch_unwind:
                # Too deep: the records go on from here, counted (and the
                # refusal checked) at the top of the loop.
                stack += chain[::-1]
                unwound = caught, chain, tails
                value = None
                continue
        except BaseException as exc:
            # Drop this frame's traceback entry: the exception reads as if it
            # had propagated from the callee straight into its caller.
            if exc.__traceback__ is not None:
                exc.__traceback__ = exc.__traceback__.tb_next
            value, error = None, exc
            if building is not None:
                # Its resume entry could not be made: the exception goes to
                # it, unless making it failed twice (at the recursion limit,
                # say), when it is dropped and the exception goes on outward.
                if building is failed:
                    del stack[-1]
                building, failed = None, building
            continue
        # A tasklet switch: the records go back on the tasklet's stack before
        # anything is called (the primitive has queued it or noted it).
        stack += chain[::-1]
        if len(chain) == 1 and not tails:    # the common case, without a call
            SITE_COUNTS[chain[0][0]] += 1
        else:
            count_stacked_records(stack, None, chain, tails, loop_code)
        following = next_task() if next_task is not None else None
        if following is None:
            return None, None, True
        stack, value, error, call = following


def count_stacked_records(stack, unwound, chain, tails, loop_code):
    """The records ``chain`` of an unwinding (innermost first) are on
    ``stack`` now, to be resumed by the loop whose code is ``loop_code``:
    count them, and if the unwinding started because the stack was too deep
    (``unwound``), return the RecursionError the outermost frame ends with
    when even that leaves no room; else None."""
    pushed, settling = len(chain), bool(HANDOVER.crossed)
    count_unwound(chain, tails)
    if settling:
        # Counting turned the crossing marks among the records into what
        # they stand for (see ``specials``): that goes on the stack instead.
        del stack[len(stack) - pushed:]
        stack += chain[::-1]
    if unwound is None:
        return None
    origin, unwound.origin = unwound.origin, None
    if origin is loop_code:
        # The refused call was made by the frame the loop resumed just now:
        # resuming it again would be refused the same way.
        stack.clear()
        return RecursionError("maximum recursion depth exceeded: no room to make a "
                              "call even after unwinding every stackless frame")
    return None


def _without_interrupt_checks(code):
    """``code`` with no instruction at which the interpreter runs signal
    handlers (see ``versions.base.Version.without_interrupt_checks``)."""
    return version.without_interrupt_checks(code)


resume_records.__code__ = mark_transformed(_without_interrupt_checks(resume_records.__code__))
# The loop knows its own code without calling anything (a call lets a signal
# handler run when it returns, and nothing may run before the loop's try).
resume_records.__defaults__ = resume_records.__defaults__[:-1] + (resume_records.__code__,)
run_unwound.__code__ = _without_interrupt_checks(run_unwound.__code__)

# The same loop under a code object of its own, for the records of frames
# whose outermost was called by plain code (``run_unwound``): a switch that
# finds this loop beneath it knows a plain frame is in its way, where the
# scheduler's loop would mean the tasklet's base.
_PLAIN_CALLER_CODE = resume_records.__code__.replace(co_name="resume_for_plain_caller",
                                                     co_qualname="resume_for_plain_caller")
resume_for_plain_caller = types.FunctionType(
    _PLAIN_CALLER_CODE, resume_records.__globals__, "resume_for_plain_caller",
    resume_records.__defaults__[:-1] + (_PLAIN_CALLER_CODE,))


# Where the trampoline is while it runs a resume entry (a Python function):
# the entry's frame runs in the trampoline's own evaluation loop.
RESUMING_OFFSETS = version.call_offsets(resume_records.__code__)
