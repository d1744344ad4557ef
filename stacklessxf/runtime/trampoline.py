"""The trampoline: resumes records innermost-first until none is left."""

from .records import CHAIN, SITES, TAILS, Unwind, count_unwound


class _TransformedMarker:
    """Sits among the constants of every transformed code object.

    An unwinding frame passes the Unwind on to its caller only when the
    caller is transformed code or the trampoline (both have this marker); for
    any other caller it runs the trampoline in place, so plain callers always
    get a plain return value.  The test must not call anything, since it can
    run at the recursion limit: the marker, found by identity as a code
    object's last constant, is such a test.
    """

    __slots__ = ()

    def __repr__(self):
        return "<transformed by stacklessxf>"


TRANSFORMED_MARKER = _TransformedMarker()


# For every transformed code object (by id: hashing a code object hashes all
# its constants, and transformed code objects live as long as the process):
# the offsets of the calls at which its frames can be suspended (the calls
# its handlers guard).  A switch checks that every frame it would unwind is
# stopped at one of them.
SUSPENSION_POINTS = {}


def mark_transformed(code):
    return code.replace(co_consts=code.co_consts + (TRANSFORMED_MARKER,))


def is_transformed(code):
    return bool(code.co_consts) and code.co_consts[-1] is TRANSFORMED_MARKER


def run_unwound(chain):
    """Resume ``chain`` (records taken out of an Unwind, innermost first)
    and return the value the outermost of them returns (or raise what it
    raises)."""
    tails = TAILS[:]
    del TAILS[:]
    count_unwound(chain, tails)
    stack = chain[::-1]
    pop = stack.pop
    value = error = None
    while stack:
        record = pop()
        site = SITES[record[0]]
        resume = site.function or site.resume_function(record)
        try:
            # The first argument is a placeholder for the function's own
            # first argument, which the resume entry restores from the record.
            value = resume(None, record, value, error)
            error = None
        except Unwind as unwound:
            # Taken out before anything is called: a call lets other threads
            # run, and they may start an unwinding of their own.
            chain, tails = CHAIN[:], TAILS[:]
            del CHAIN[:], TAILS[:]
            origin, unwound.origin = unwound.origin, None
            unwound.__traceback__ = None
            count_unwound(chain, tails)
            if origin is run_unwound.__code__:
                # The refused call was made by the frame resumed just now:
                # resuming it again would be refused the same way.
                raise RecursionError(
                    "maximum recursion depth exceeded: no room to make a call "
                    "even after unwinding every stackless frame") from None
            chain.reverse()
            stack.extend(chain)
            value = error = None
        except BaseException as exc:
            # Drop this frame's traceback entry: the exception reads as if it
            # had propagated from the callee straight into its caller.
            if exc.__traceback__ is not None:
                exc.__traceback__ = exc.__traceback__.tb_next
            value, error = None, exc
    if error is not None:
        try:
            raise error
        finally:
            error = None
    return value


run_unwound.__code__ = mark_transformed(run_unwound.__code__)
