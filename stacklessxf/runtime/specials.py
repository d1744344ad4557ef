"""Special records: activations that hold no user frame.

When the interpreter itself calls a stackless method, C code lies between
the method's frame and the stackless frame beneath it.  Most such C code
adds nothing to the call (a bound method, ``f(*args)``, a ``with``
statement's ``__enter__``/``__exit__``: the instruction takes the method's
result as it is), and the frame beneath simply resumes after the
instruction.  A class call does add something: after ``__init__`` returns,
``type.__call__`` checks that it returned None and hands back the new object.
When such a call is unwound, that remaining work becomes a record of its
own, the ``__init__`` result check, between the ``__init__`` record and its
caller's.

The ``__init__`` frame cannot tell, while it unwinds, whether a class call
made it: that needs calls, and the unwinding may run at the recursion limit.
So an ``__init__``'s handler leaves a *crossing mark* after its record (the
record ``(CROSSING.number, frame, caller's lasti)``), and the code that
takes the records out of ``HANDOVER.chain`` settles each mark, before it
uses the records, into the result check or into nothing
(``settle_crossings``).
"""

from .frames import called_from_c
from .records import HANDOVER, SITE_COUNTS, SITES, Slot


class _NoAnalysis:
    variables = ()


class SpecialInfo:
    """What a special site offers in the place of a stackless function."""

    module = __name__
    filename = "<special>"
    analysis = _NoAnalysis()
    native = None

    def __init__(self, qualname):
        self.qualname = qualname


class SpecialSite:
    """A resume site run by a plain function: ``resume(None, record, value,
    error)`` returns what the C code it stands for would have returned."""

    retry = False
    ticked_twin = None
    lineno = 0

    def __init__(self, name, kind, slot_names, resume):
        self.name = name
        self.kind = kind
        self.function_info = SpecialInfo(f"<{kind}>")
        self.slots = tuple(Slot(slot, Slot.LOCAL) for slot in slot_names)
        self.function = resume
        self.number = len(SITES)
        SITES.append(self)
        SITE_COUNTS.append(0)
        _by_name[name] = self


_by_name = {}


def _check_init_result(_, record, value, error):
    """What ``type.__call__`` does once ``__init__`` has returned."""
    if error is not None:
        raise error
    if value is not None:
        raise TypeError(f"__init__() should return None, not '{type(value).__name__}'")
    return record[1]


def _refuse_resume(_, record, value, error):
    raise RuntimeError(record[1])


def _unsettled(_, record, value, error):
    raise RuntimeError("internal error: a crossing mark was resumed before it was settled")


INIT_CHECK = SpecialSite("init-result-check", "special: `__init__` result check",
                         ("object",), _check_init_result)
# A class call that cannot be resumed; raises its message where the class
# call was made.
INIT_REFUSED = SpecialSite("init-refused", "special: `__init__` not resumable",
                           ("message",), _refuse_resume)
CROSSING = SpecialSite("crossing-mark", "crossing mark", ("frame", "caller_lasti"),
                       _unsettled)


def is_special(site):
    return isinstance(site, SpecialSite)


def settle_crossings(chain):
    """Turn the crossing marks of ``chain`` (an unwinding's records,
    innermost first) into result checks, or drop them."""
    del HANDOVER.crossed[:]
    number = CROSSING.number
    settled = []
    for position, record in enumerate(chain):
        if record[0] == number:
            last = position == len(chain) - 1
            settled.append((position, None if last else _settle(*record[1:])))
    for position, replacement in reversed(settled):
        if replacement is None:
            del chain[position]
        else:
            chain[position] = replacement


def _settle(frame, caller_lasti):
    """The record standing for the C code between ``frame`` (an ``__init__``
    that has unwound) and its caller (stopped at ``caller_lasti`` then), or
    None when nothing lies between."""
    from .callbacks import class_call_object
    if called_from_c(frame) is False or caller_lasti is None:
        return None
    outcome, value = class_call_object(frame, caller_lasti)
    if outcome == "refused":
        return (INIT_REFUSED.number, value)
    return (INIT_CHECK.number, value) if outcome == "check" else None


def to_portable(record):
    site = SITES[record[0]]
    return (site.name, {slot.name: value for slot, value in zip(site.slots, record[1:])})


def from_portable(name, values):
    site = _by_name.get(name)
    if site is None or site is CROSSING or {s.name for s in site.slots} != set(values):
        raise LookupError(f"no special record {name!r} saving {sorted(values)}")
    return (site.number, *[values[slot.name] for slot in site.slots])

