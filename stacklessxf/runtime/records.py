"""Records: the heap form of a suspended activation.

A record is a tuple ``(site number, value, value, ...)``.  The number indexes
``SITES``, whose :class:`ResumeSite` says which function and resume point the
record belongs to and what each value is (``site.slots``).  A number rather
than the site object itself keeps a record whose values are all atomic (ints,
strings, ...) out of the cyclic garbage collector's sight: it untracks such
tuples, so a million suspended activations cost the collector nothing.  A
site with no slots has one shared record (``site.shared_record``); nothing is
allocated when it unwinds.
"""

import collections
import gc
import types
import warnings


class _Unbound:
    """Marks a local variable that had no value when its activation unwound."""

    __slots__ = ()

    def __repr__(self):
        return "<unbound>"

    def __reduce__(self):
        return "UNBOUND"


UNBOUND = _Unbound()


class Unwind(BaseException):
    """Passes through transformed frames while they save their records.

    It derives from BaseException so that ``except Exception`` in user code
    never sees it; the transformed code intercepts it before any user handler.
    The records go to ``HANDOVER.chain``, innermost first.
    """

    __slots__ = ("reason", "origin")

    def __init__(self, reason="switch"):
        super().__init__(reason)
        self.reason = reason
        # For a depth unwinding: the code of the caller of the frame whose
        # call the interpreter refused.
        self.origin = None


class _TransformedMarker:
    """Sits among the constants of every transformed code object.

    An unwinding frame passes the Unwind on to its caller only when the
    caller is transformed code or the trampoline (both have this marker); for
    any other caller it runs the trampoline in place, so plain callers always
    get a plain return value.  The test must not call anything, since it can
    run at the recursion limit: the marker, found by identity as a code
    object's last constant, is such a test (``HANDOVER.caller_is_transformed``
    makes it in C).
    """

    __slots__ = ()

    def __repr__(self):
        return "<transformed by stacklessxf>"


TRANSFORMED_MARKER = _TransformedMarker()


class _SharedHandOver:
    """The hand-over of an unwinding's records where the C extension is not
    built: one for every thread (see ``HANDOVER``)."""

    __slots__ = ("chain", "tails", "crossed", "switch_unwind", "depth_unwind", "_set_aside")

    def __init__(self, unwind_type, marker):
        self._set_aside = []
        self._start(unwind_type)

    def _start(self, unwind_type):
        self.chain, self.tails, self.crossed = [], [], []
        self.switch_unwind, self.depth_unwind = unwind_type("switch"), unwind_type("depth")

    def push(self):
        self._set_aside.append((self.chain, self.tails, self.crossed, self.switch_unwind,
                                self.depth_unwind))
        self._start(type(self.switch_unwind))

    def pop(self):
        if not self._set_aside:
            raise RuntimeError("pop() without a push()")
        (self.chain, self.tails, self.crossed, self.switch_unwind,
         self.depth_unwind) = self._set_aside.pop()

    def levels_set_aside(self):
        return len(self._set_aside)


def _count_sites(numbers, counts):
    """Add one to ``counts[n]`` for each site number ``n`` of ``numbers``
    (records: their first items; or numbers)."""
    per_site = collections.Counter(
        number if isinstance(number, int) else number[0] for number in numbers)
    for number, count in per_site.items():
        counts[number] += count


try:
    from _stacklessxf_switch import HandOver, count_sites, forget_resume_entries, \
        give_code_version
except ImportError:
    HandOver, count_sites, give_code_version = _SharedHandOver, _count_sites, None

    def forget_resume_entries():
        pass


def set_code(function, code):
    """Give ``function`` the code ``code``, in place.  Where setting a
    function's code leaves it without the version its calls are specialized
    by (3.13), every call of it would take the interpreter's slow path: the
    extension gives it the version a new function of ``code`` would have."""
    if (function.__code__.co_flags ^ code.co_flags) & _CODE_KINDS:
        # 3.13 deprecates code of another kind (a warning that -W error makes
        # an error); a stackless generator function's code is its factory,
        # a plain function's, on purpose: the function keeps its identity.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            function.__code__ = code
    else:
        function.__code__ = code
    if give_code_version is not None:
        give_code_version(function)


# CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR: the kinds of code.
_CODE_KINDS = 0x20 | 0x80 | 0x200


# Where the frames of an unwinding leave their records for the code that
# catches it, with the current thread's attributes:
#
# - ``chain``: the records, innermost first;
# - ``tails``: the site numbers of tail calls passed (a tail call saves no
#   record, so this is how the statistics learn of it);
# - ``crossed``: not empty when ``chain`` holds crossing marks (``specials``);
# - ``switch_unwind``, ``depth_unwind``: the Unwind a switch raises, and the
#   one an unwinding that starts at the recursion limit raises (reused: it
#   cannot allocate anything);
# - ``caller_is_transformed`` (C only): whether the frame reading it returns
#   to one whose code carries ``TRANSFORMED_MARKER``;
# - ``pass_on`` (C only): the same, and when it is true, both Unwind
#   instances lose the traceback gathered so far (the frame passing one on
#   would drop it itself otherwise: it holds a frame object per frame).
#
# Saving a record must not call anything (it may happen at the recursion
# limit, and a call lets other threads in), so the handlers reach these as
# attributes of a constant of their code.  The code that catches an
# unwinding takes the records out before it calls anything.  Hashed by
# identity, so the code objects holding it stay hashable.
HANDOVER = HandOver(Unwind, TRANSFORMED_MARKER)

# Whether each thread has its own hand-over (the C extension is built).
PER_THREAD_HANDOVER = HandOver is not _SharedHandOver


if PER_THREAD_HANDOVER:
    # The collector's finalizers run in the middle of whatever allocated,
    # perhaps an unwinding: what they unwind goes to a hand-over of its own.
    gc.callbacks.append(HANDOVER.collecting)


class _Switched:
    """What a switch returns instead of raising ``HANDOVER.switch_unwind`` when every
    frame it suspends can pass it on by returning: each one, finding it as
    the result of its call, saves its record and returns it in turn, and the
    trampoline takes the records out of ``HANDOVER.chain``.  Returning through a
    frame costs far less than an exception passing it."""

    __slots__ = ()

    def __repr__(self):
        return "<switched>"

    def __reduce__(self):
        raise TypeError("the switch marker is not a value and cannot be pickled")


SWITCHED = _Switched()

# Switch primitives written in C, which cannot carry the Python ones'
# ``__stackless_switch__`` mark.
SWITCH_BUILTINS = set()


SITES = []
# How many records each site has saved (for a tail site: how many unwindings
# passed it without one); filled by the code that catches an unwinding.
SITE_COUNTS = []


class Slot:
    """One saved value of a record: a local, a cell, a value-stack item, or
    the exception being handled at the resume point.

    ``need`` says what the resumed code relies on the value being, where
    the interpreter does not check it itself (a ``for`` loop's iterator, an
    exception it re-raises): a record loaded from
    outside is checked against it (see ``portable.check_record``)."""

    __slots__ = ("name", "kind", "position", "need")

    LOCAL, CELL, STACK, HANDLED = "local", "cell", "stack", "handled"
    ITERATOR, EXCEPTION, EXCEPTION_OR_NONE = "iterator", "exception", "exception or None"

    def __init__(self, name, kind, position=None, need=None):
        self.name = name
        self.kind = kind
        self.position = position
        if need is None and kind == Slot.HANDLED:
            need = Slot.EXCEPTION_OR_NONE
        self.need = need

    def __repr__(self):
        return f"Slot({self.name!r}, {self.kind})"


class ResumeSite:
    """A place where an activation of one function can be resumed.

    ``rp_id`` is the analysis' resume point id; ``copy`` numbers the copies
    CPython's compiler makes of the same call (a ``finally`` body appears
    once per exit path); ``retry`` sites resume by making the call again
    because it never started (the recursion limit stopped it).
    """

    def __init__(self, function_info, rp_id, copy, retry, slots, kind, site_name):
        self.function_info = function_info
        self.site_name = site_name
        self.rp_id = rp_id
        self.copy = copy
        self.retry = retry
        self.slots = tuple(slots)
        self.kind = kind
        self.number = len(SITES)
        SITES.append(self)
        SITE_COUNTS.append(0)
        self.shared_record = (self.number,)
        self._resume_code = None
        # For an entry that needs the record's cells: (its code, globals,
        # where each cell is in a record), once it was first built, from
        # which the C loop makes the function of each record.
        self.closure_entry = None
        # The resume entry as a function, once built, when it needs no cells
        # from the record (the trampoline's fast path).
        self.function = None
        self.build_resume_code = None  # set by the backend
        # The same site in the watchdog's variant of the code, if any.
        self.ticked_twin = None
        # For a watchdog tick: the place its record means the same as, for
        # another backend to resume at (see instrument._note_loop_equivalents).
        self.same_as = None

    @property
    def function(self):
        return self._function

    @function.setter
    def function(self, function):
        self._function = function
        # The C loops know the entries by site.
        forget_resume_entries()

    @property
    def name(self):
        suffix = f".{self.copy}" if self.copy else ""
        return f"{self.site_name}{suffix}{'/retry' if self.retry else ''}"

    def resume_code(self):
        if self._resume_code is None:
            self._resume_code = self.build_resume_code(self)
        return self._resume_code

    def resume_function(self, record):
        """The function that continues ``record``'s activation."""
        code = self.resume_code()
        if not code.co_freevars:
            self.function = types.FunctionType(code, self.function_info.globals,
                                               code.co_name)
            return self.function
        if self.closure_entry is None:
            # Where each of the entry's free variables is in a record: a
            # cell slot's place, or 0 for a cell the record has none of.
            places = {slot.name: i + 1 for i, slot in enumerate(self.slots)
                      if slot.kind == Slot.CELL}
            self.closure_entry = (code, self.function_info.globals,
                                  tuple(places.get(name, 0) for name in code.co_freevars))
        closure = tuple(record[i] if i and record[i] is not None else types.CellType()
                        for i in self.closure_entry[2])
        return types.FunctionType(code, self.function_info.globals,
                                  code.co_name, None, closure)

    def __repr__(self):
        return f"<ResumeSite {self.function_info.qualname} {self.name}>"


def count_unwound(chain, tails):
    """Add an unwinding's records and tail calls to the statistics.  A
    switch unwinds a few records; deep recursion unwinds hundreds, mostly
    of one site, which are counted a run of one site at a time.

    Every code that takes an unwinding's records calls this first, so it
    also settles the crossing marks the records may hold (see ``specials``)."""
    if HANDOVER.crossed:
        from .specials import settle_crossings
        settle_crossings(chain)
    count_sites(chain, SITE_COUNTS)
    if tails:
        count_sites(tails, SITE_COUNTS)
