"""Stackless generators: generator objects whose suspended state is records.

``@stackless`` on a generator function compiles its body as an ordinary
stackless function in which each ``yield`` is a call of :func:`yield_` and
each ``yield from`` a call of :func:`yield_from` (see
``backends.bytecode.generators``).  Calling the function makes a
:class:`Generator`.  Each ``next()``/``send()``/``throw()`` resumes the
body's records from a trampoline of the generator's own
(``resume_generator``, a copy of the loop under a code object of its own);
a ``yield`` turns the body's frame back into a record, as a tasklet switch
does, and the trampoline hands the yielded value out.  So a suspended
generator is a list of records: it pickles, copies, and resumes in another
process like a suspended tasklet.

``yield from`` delegates as PEP 380 says: the generator steps the
subiterator itself (``send``, ``throw``, ``close`` go to it) while its body
waits at the ``yield from`` call, which gets the subiterator's result.
"""

import collections.abc
import copy
import pickle
import sys
import threading
import types

from ..errors import SwitchError
from ..versions import current as version
from . import portable
from .callbacks import _instruction_at
from .frames import EMPTY, stack_item
from .records import HANDOVER, SWITCHED, Unwind
from .specials import SpecialSite
from .trampoline import SUSPENSION_POINTS, TESTED_CALLS, is_transformed, resume_records

# The generator's trampoline: the same loop under a code object of its own,
# which a yield looks for beneath the body's frame.
GENERATOR_LOOP_CODE = resume_records.__code__.replace(co_name="resume_generator",
                                                      co_qualname="resume_generator")
resume_generator = types.FunctionType(
    GENERATOR_LOOP_CODE, resume_records.__globals__, "resume_generator",
    resume_records.__defaults__[:-1] + (GENERATOR_LOOP_CODE,))

_per_thread = threading.local()
_NOTHING = object()
_DELEGATE = object()      # "yielded" by yield_from: the generator delegates


def _suspend_body(value, delegate=None):
    """The generator body calling a yield primitive goes back to its
    trampoline as a record; the trampoline's caller gets ``value``."""
    frame = sys._getframe(2)
    back = frame.f_back
    if back is None or back.f_code is not GENERATOR_LOOP_CODE:
        raise SwitchError(f"{frame.f_code.co_qualname} yields outside its generator")
    _per_thread.yielded = value
    _per_thread.delegate = delegate
    handover = HANDOVER
    del handover.chain[:], handover.tails[:]
    if id(frame.f_code) + frame.f_lasti in TESTED_CALLS:
        return SWITCHED
    raise handover.switch_unwind


def yield_(value):
    """``yield value`` in a stackless generator's body; returns what is sent."""
    return _suspend_body(value)


def yield_from(iterable):
    """``yield from iterable`` in a stackless generator's body; returns the
    subiterator's result (its StopIteration's value).  The body waits while
    its generator steps the subiterator, from the first step on."""
    return _suspend_body(_DELEGATE, iter(iterable))


yield_.__stackless_switch__ = yield_from.__stackless_switch__ = True


def start(info, arguments, cells):
    """What calling the generator function ``info`` returns (its factory
    code calls this with the bound parameters and the closure's cells)."""
    return Generator(info, arguments, cells)


def _make_exception(typ, val, tb):
    if isinstance(typ, BaseException):
        if val is not None:
            raise TypeError("instance exception may not have a separate value")
        exc = typ
    elif isinstance(typ, type) and issubclass(typ, BaseException):
        if isinstance(val, typ):
            exc = val
        elif val is None:
            exc = typ()
        else:
            exc = typ(*val) if isinstance(val, tuple) else typ(val)
    else:
        raise TypeError("exceptions must be classes or instances deriving from "
                        f"BaseException, not {type(typ).__name__}")
    if tb is not None:
        exc = exc.with_traceback(tb)
    return exc


class Generator(collections.abc.Generator):
    """A generator made by a stackless generator function."""

    __slots__ = ("_info", "_stack", "_call", "_running", "_closed", "_delegate",
                 "_waiting", "__weakref__")

    def __init__(self, info, arguments, cells):
        self._info = info
        self._stack = []
        self._call = (arguments, cells)    # until the body first runs
        self._running = False
        self._closed = False
        self._delegate = None
        # Its body is suspended by a tasklet switch, not at a yield: the
        # tasklet's records include one standing for this generator.
        self._waiting = False

    # -- the generator protocol --------------------------------------------

    def __iter__(self):
        return self

    def __next__(self):
        return self._advance(None, None)

    def send(self, value):
        if value is not None and self._call is not None:
            raise TypeError("can't send non-None value to a just-started generator")
        return self._advance(value, None)

    def throw(self, typ, val=None, tb=None):
        return self._advance(None, _make_exception(typ, val, tb))

    def close(self):
        if self._closed:
            return None
        try:
            self._advance(None, GeneratorExit())
        except (GeneratorExit, StopIteration):
            return None
        raise RuntimeError("generator ignored GeneratorExit")

    def _advance(self, value, error):
        if self._running:
            raise ValueError("generator already executing")
        if self._closed:
            if error is not None:
                raise error
            raise StopIteration
        self._running = True
        if self._delegate is not None:
            return self._delegated(value, error)
        return self._resume_body(value, error)

    def _delegated(self, value, error):
        """A ``yield from``: the subiterator's next value, or the body goes
        on with its result."""
        try:
            value, error = self._step_delegate(value, error)
        except Unwind:
            # A tasklet switch inside a stackless subgenerator: what is left
            # of this step goes with the tasklet as a record.
            self._waiting = True
            HANDOVER.chain.append((DELEGATING.number, self))
            raise
        if error is _NOTHING:
            self._running = False
            return value
        return self._resume_body(value, error)

    def _step_delegate(self, value, error):
        """Step the subiterator of a ``yield from``: (its next value,
        _NOTHING) while it goes on, else what the body's ``yield from``
        gets: (result, None) or (None, exception)."""
        delegate = self._delegate
        try:
            if isinstance(error, GeneratorExit):
                self._delegate = None
                close = getattr(delegate, "close", None)
                if close is not None:
                    close()
                return None, error
            if error is not None:
                throw = getattr(delegate, "throw", None)
                if throw is None:
                    self._delegate = None
                    return None, error
                return throw(error), _NOTHING
            if value is None:
                return next(delegate), _NOTHING
            return delegate.send(value), _NOTHING
        except Unwind:
            raise
        except StopIteration as stop:
            self._delegate = None
            return stop.value, None
        except BaseException as exc:
            self._delegate = None
            return None, exc

    def _resume_body(self, value, error):
        """Run the body (its records, or its first call) with ``value`` or
        ``error`` for it.  A yield suspends it; a tasklet switch inside it
        passes on as an Unwind, with a record standing for this generator,
        and leaves it running (it goes on when that record is resumed)."""
        self._waiting = False
        try:
            call = None
            if self._call is not None:
                arguments, cells = self._call
                self._call = None
                if error is not None:
                    self._closed = True
                    raise error
                call = self._body_call(arguments, cells)
            value, error, suspended = resume_generator(self._stack, value, error, call)
        except BaseException:
            self._running = False
            raise
        if suspended:
            yielded = _per_thread.__dict__.pop("yielded", _NOTHING)
            if yielded is _NOTHING:
                self._waiting = True
                handover = HANDOVER
                handover.chain.append((STEP.number, self))
                raise handover.switch_unwind
            self._delegate = _per_thread.delegate
            if yielded is _DELEGATE:
                return self._delegated(None, None)
            self._running = False
            return yielded
        self._running = False
        self._closed = True
        if error is not None:
            if isinstance(error, StopIteration):
                raise RuntimeError("generator raised StopIteration") from error
            raise error
        raise StopIteration() if value is None else StopIteration(value)

    def _body_call(self, arguments, cells):
        generator = self._info.generator
        body = types.FunctionType(generator.body, self._info.globals,
                                  generator.body.co_name, None, cells or None)
        args, kwargs = generator.arguments(arguments)
        return body, args, kwargs

    # -- what it shows -------------------------------------------------------

    @property
    def gi_running(self):
        return self._running

    @property
    def gi_suspended(self):
        return bool(self._stack) and not self._running

    @property
    def gi_code(self):
        return self._info.original_code

    @property
    def gi_frame(self):
        """None: a stackless generator has no frame of its own; while it is
        suspended, its state is records (see ``gi_records``)."""
        return None

    @property
    def gi_yieldfrom(self):
        return self._delegate

    @property
    def gi_records(self):
        """The suspended body's records (outermost first); a copy."""
        return list(self._stack)

    def __getattr__(self, name):
        # The class's own __name__ and __qualname__ are the type's, so the
        # generator's are found here.
        if name == "__name__":
            return self._info.original_code.co_name
        if name == "__qualname__":
            return self._info.qualname
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self):
        return f"<stackless generator object {self._info.qualname} at {id(self):#x}>"

    def __del__(self, _finalizing=sys.is_finalizing):
        # As a CPython generator does: one collected while suspended is
        # closed, so its finally blocks run (an exception is reported, not
        # raised, by the interpreter).  Not at exit: modules are torn down.
        try:
            suspended = self._stack and not self._closed and not self._running
        except AttributeError:      # never set up (its unpickling failed)
            return
        if suspended and not _finalizing():
            self.close()

    # -- copying and pickling -------------------------------------------------

    def __deepcopy__(self, memo):
        if self._running and not self._waiting:
            raise RuntimeError(f"{self!r} is running and cannot be copied")
        from .scheduler import _copy_records
        twin = Generator.__new__(Generator)
        memo[id(self)] = twin
        twin._info = self._info
        twin._stack = _copy_records(self._stack, memo)
        twin._call = copy.deepcopy(self._call, memo)
        twin._running = twin._waiting = self._waiting
        twin._closed = self._closed
        twin._delegate = copy.deepcopy(self._delegate, memo)
        return twin

    __copy__ = copy.deepcopy     # a shallow copy would share the body's loop iterators

    def __reduce__(self):
        """A suspended generator pickles as data: its function (by name),
        its records in their portable form, and its subiterator."""
        if self._running and not self._waiting:
            raise pickle.PicklingError(f"{self!r} is running and cannot be pickled; "
                                       "pickle it while it is suspended")
        from .channel import channel
        from .scheduler import Tasklet
        # Those check their own contents when pickled.
        opaque = (Generator, Tasklet, channel)
        state = {"stack": portable.portable_stack(self._stack, opaque),
                 "call": portable.by_value(self._call, opaque), "closed": self._closed,
                 "delegate": portable.by_value(self._delegate, opaque),
                 "waiting": self._waiting}
        return _restore, (portable.by_name(self._info.function),), state

    def __setstate__(self, state):
        if not isinstance(state, dict) or set(state) != {"stack", "call", "closed",
                                                         "delegate", "waiting"}:
            raise pickle.UnpicklingError(f"cannot load a stackless generator from {state!r:.200}")
        portable.check_records(state["stack"])
        self._stack = list(state["stack"])
        self._call = state["call"]
        self._closed = bool(state["closed"])
        self._delegate = state["delegate"]
        self._running = self._waiting = bool(state["waiting"])


def _restore(function):
    info = getattr(function, "__stackless__", None)
    if info is None or getattr(info, "generator", None) is None:
        raise pickle.UnpicklingError(f"{function!r} is not a stackless generator function")
    generator = Generator.__new__(Generator)
    generator._info = info
    generator._running = generator._waiting = False
    return generator


# -- tasklet switches inside a generator's body ---------------------------------

def _resume_step(_, record, value, error):
    """The record of a generator whose body a tasklet switch suspended:
    the body goes on with what the switch delivers, and what the generator
    gives next (a value, StopIteration, an exception) goes to whatever
    drove it."""
    return record[1]._resume_body(value, error)


def _resume_delegating(_, record, value, error):
    """The record of a generator whose stackless subgenerator (``yield
    from``) was suspended by a tasklet switch: the subgenerator's next value
    is this generator's; its end lets the body go on."""
    generator = record[1]
    if error is None:
        generator._running = generator._waiting = False
        return value
    generator._delegate = None
    if isinstance(error, StopIteration):
        return generator._resume_body(error.value, None)
    return generator._resume_body(None, error)


STEP = SpecialSite("generator-step", "special: stackless generator's body",
                   ("generator",), _resume_step)
DELEGATING = SpecialSite("generator-delegating", "special: stackless generator's yield from",
                         ("generator",), _resume_delegating)

_ENTRY_CODES = frozenset(method.__code__ for method in
                         (Generator.__next__, Generator.send, Generator.throw))
_RECORD_CODES = frozenset({_resume_step.__code__, _resume_delegating.__code__})


def innermost_record(records):
    """The innermost record of a suspended tasklet's ``records``, looking
    inside the generators whose bodies a switch suspended."""
    record = records[-1] if records else None
    while record is not None and record[0] == STEP.number and record[1]._stack:
        record = record[1]._stack[-1]
    return record


def frame_beneath(loop_frame):
    """For a tasklet switch inside a generator's body, whose trampoline
    runs in ``loop_frame``: the frame beneath the generators' own frames,
    where the switch's walk goes on.  That is the trampoline that resumed a
    generator's record, or the stackless frame whose ``for`` loop, call of
    ``next()``, ``send()`` or ``throw()`` drives the (outermost) generator.
    Anything else between is a SwitchError."""
    frame = loop_frame.f_back
    if frame is None or frame.f_code is not Generator._resume_body.__code__:
        raise SwitchError("cannot switch tasklets: a stackless generator's trampoline "
                          "runs outside its generator")
    generator = frame.f_locals["self"]
    while True:
        frame = frame.f_back
        code = frame.f_code
        if code in _RECORD_CODES:
            return frame.f_back
        if code is Generator._delegated.__code__ or code is Generator._resume_body.__code__:
            continue
        if code is not Generator._advance.__code__ or frame.f_back.f_code not in _ENTRY_CODES:
            _refuse(generator, frame, "its method " + frame.f_back.f_code.co_name)
        caller = frame.f_back.f_back
        if caller.f_code is Generator._step_delegate.__code__:
            frame, generator = caller, caller.f_locals["self"]
            continue
        _check_driver(caller, generator)
        return caller


def _refuse(generator, frame, how):
    where = f"{frame.f_code.co_qualname} at {frame.f_code.co_filename}:{frame.f_lineno}"
    raise SwitchError(
        f"cannot switch tasklets inside {generator!r}: it was resumed by {how} "
        f"({where}); a switch passes a stackless generator driven by a for loop, "
        "next(), send() or throw() in stackless code")


def _check_driver(frame, generator):
    """``frame`` called next(), send() or throw() of ``generator``, or its
    ``for`` loop is iterating it: it resumes after that with the
    generator's next value.  SwitchError otherwise."""
    if stack_item is None or not is_transformed(frame.f_code) or \
            frame.f_lasti not in SUSPENSION_POINTS.get(id(frame.f_code), ()):
        _refuse(generator, frame, "code that cannot be suspended there")
    opname, depth = _instruction_at(frame.f_code, frame.f_lasti)
    if opname == "FOR_ITER":
        if stack_item(frame, depth - 1) is generator:
            return
    elif opname == "CALL":
        callee, self_ = version.call_items(stack_item(frame, depth),
                                           stack_item(frame, depth + 1), EMPTY)
        argument = stack_item(frame, depth + 2)
        if self_ is not EMPTY:       # a method: its function and self
            if callee in _ENTRY_FUNCTIONS and self_ is generator:
                return
        elif callee is next and argument is generator:
            return
        elif getattr(callee, "__self__", None) is generator and \
                getattr(callee, "__func__", None) in _ENTRY_FUNCTIONS:
            return
    _refuse(generator, frame, f"the instruction {opname} of a stackless function")


_ENTRY_FUNCTIONS = (Generator.__next__, Generator.send, Generator.throw)

