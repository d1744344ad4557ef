"""What C code lies between a frame the interpreter called back and the
stackless frame beneath it.

A frame called from C (an entry frame, see ``frames``) whose caller is
transformed code was started by the instruction its caller is stopped at.
A switch may pass that C code only when resuming the caller after the
instruction does what the C code would have done with the callee's result:

- a call of the callee itself (``f(*args)``), of a bound method of it, or of
  a ``functools.partial`` of it: the result is the call's result;
- a class call running the callee as ``__init__``: the special record
  ``__init__`` result check stands for the rest of ``type.__call__``;
- a ``with`` statement calling the callee as ``__enter__`` or ``__exit__``,
  or a ``for`` loop calling it as its iterator's ``__next__``: the caller
  has a resume site after that instruction.

Anything else (``sorted(key=...)``, ``map``, an operator, a property) is a
``SwitchError`` naming the C code in the way, raised before anything
changes.
"""

import dis
import functools

from ..errors import SwitchError
from ..versions import current as version
from .frames import EMPTY, stack_item
from .records import HANDOVER
from .trampoline import SUSPENSION_POINTS, is_transformed

_WITH_SPECIALS = {"BEFORE_WITH": "`with` enter", "WITH_EXCEPT_START": "`with` exit"}

# What the interpreter is doing when it calls Python code back from these
# instructions, for the error message.
_CALLBACK_OF = {
    "FOR_ITER": "a `for` loop calling __next__",
    "GET_ITER": "iter() calling __iter__",
    "BINARY_OP": "an operator method",
    "COMPARE_OP": "a comparison method",
    "CONTAINS_OP": "`in` calling __contains__",
    "BINARY_SUBSCR": "a subscript calling __getitem__",
    "STORE_SUBSCR": "a subscript assignment calling __setitem__",
    "DELETE_SUBSCR": "a subscript deletion calling __delitem__",
    "LOAD_ATTR": "an attribute read (a property or __getattr__)",
    "LOAD_METHOD": "an attribute read (a property or __getattr__)",
    "STORE_ATTR": "an attribute assignment (a property or __setattr__)",
    "UNARY_NEGATIVE": "an operator method",
    "UNARY_INVERT": "an operator method",
    "UNARY_POSITIVE": "an operator method",
    "UNARY_NOT": "__bool__",
    "FORMAT_VALUE": "an f-string calling __format__",
}
_CALLBACK_OF.update((name, "__bool__") for name in dis.opmap
                    if name.startswith("POP_JUMP") and name.endswith(("_TRUE", "_FALSE")))

_instructions = {}


def _instruction_at(code, lasti):
    """(instruction name, depth of the unwinding guard around it or None) of
    the instruction a frame of ``code`` reports as ``lasti``."""
    table = _instructions.get(id(code))
    if table is None:
        table = _instructions[id(code)] = version.instruction_table(code)
    return table.get(lasti, ("?", None))


def _code_of(callee):
    """The code a call of ``callee`` runs directly, if it is a function, a
    bound method, a ``functools.partial`` of one, or an instance whose class
    defines ``__call__`` in Python."""
    while isinstance(callee, functools.partial):
        callee = callee.func
    callee = getattr(callee, "__func__", callee)
    code = getattr(callee, "__code__", None)
    if code is None and not isinstance(callee, type):
        call = _lookup(type(callee), "__call__")
        code = getattr(call, "__code__", None)
    return code


def _lookup(cls, name):
    """``name`` as the interpreter finds it on ``cls`` for a special method."""
    for klass in type.__getattribute__(cls, "__mro__"):
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def exit_method(manager):
    """The ``__exit__`` a ``with`` statement takes from ``manager``: looked
    up on its type and bound to it."""
    method = _lookup(type(manager), "__exit__")
    bind = getattr(type(method), "__get__", None)
    return method if bind is None else bind(method, manager, type(manager))


def _calls_init(cls, code):
    """Whether calling ``cls`` runs ``type.__call__``, whose ``__init__`` has ``code``."""
    return (_lookup(type(cls), "__call__") is type.__dict__["__call__"]
            and _code_of(_lookup(cls, "__init__")) is code)


def _where(frame):
    code = frame.f_code
    return f"{code.co_qualname} at {code.co_filename}:{frame.f_lineno}"


def _refuse(frame, back, what):
    raise SwitchError(
        f"cannot switch tasklets: the stackless function {_where(frame)} was called "
        f"by {what} in {_where(back)}; that C code is on the stack and cannot be "
        "suspended (a switch passes a call made directly, a class call running "
        "__init__, and a with statement's __enter__ and __exit__)")


def check_crossing(frame, back):
    """For a switch: ``frame`` (transformed, stopped where it can be
    suspended) was called from C code by ``back``.  Returns if the switch
    can pass that C code (or leaves it to the frame walk to refuse
    ``back``); raises SwitchError naming it if not."""
    if stack_item is None:
        return      # this interpreter's frames cannot be read: as before
    opname, depth = _instruction_at(back.f_code, back.f_lasti)
    code = frame.f_code
    if back.f_lasti not in SUSPENSION_POINTS.get(id(back.f_code), ()):
        if opname in _CALLBACK_OF:
            _refuse(frame, back, _CALLBACK_OF[opname])
        return      # the walk refuses ``back`` itself
    if opname in _WITH_SPECIALS:
        exit_ = stack_item(back, depth - (1 if opname == "BEFORE_WITH" else 4))
        if opname == "BEFORE_WITH":
            # The exit, or where the interpreter does not keep it, the manager.
            manager = getattr(exit_, "__self__", None) if version.ENTER_KEEPS_EXIT else exit_
            expected = _lookup(type(manager), "__enter__")
        else:
            expected = exit_
        if _code_of(expected) is not code:
            _refuse(frame, back, f"the C {opname.lower()} of a with statement's manager")
        return
    if opname == "FOR_ITER":
        if _code_of(_lookup(type(stack_item(back, depth - 1)), "__next__")) is not code:
            _refuse(frame, back, _CALLBACK_OF[opname])
        return
    if opname not in version.CALL_NAMES:
        _refuse(frame, back, f"the instruction {opname}")
    callee, self_ = version.call_items(stack_item(back, depth), stack_item(back, depth + 1),
                                       EMPTY)
    if self_ is None and _code_of(_lookup(type(callee), "__exit__")) is code:
        # A with statement's __exit__ at the end of its body: the call of
        # the bound method keeps its self where the method was while it
        # runs (the vectorcall convention), and None above it.
        return
    if _code_of(callee) is code:
        return
    if isinstance(callee, type) and _calls_init(callee, code) and _marks_crossings(code):
        outcome, message = _first_argument(frame)
        if outcome == "refused":
            raise SwitchError(f"cannot switch tasklets: {message}")
        return
    _refuse(frame, back, _describe(callee))


def _describe(callee):
    if isinstance(callee, type):
        return f"the class call {callee.__qualname__}(...) (its __init__ is not this function)"
    name = getattr(callee, "__qualname__", None) or type(callee).__qualname__
    return f"{name} (C code)"


def _marks_crossings(code):
    return "crossed" in code.co_names and any(const is HANDOVER for const in code.co_consts)


def _first_argument(frame):
    """("check", the object being initialised) from an ``__init__`` frame,
    or ("refused", why not)."""
    code = frame.f_code
    name = code.co_varnames[0] if code.co_argcount else None
    if name is None or not _first_argument_stays(code):
        return "refused", (f"{_where(frame)} rebinds (or has no) first argument, so the "
                           "object its class call makes cannot be found when it goes on")
    return "check", frame.f_locals[name]


def _first_argument_stays(code):
    name = code.co_varnames[0]
    if name in code.co_cellvars:
        return False
    return not any(ins.opname in ("STORE_FAST", "DELETE_FAST") and ins.argval == name
                   for ins in dis.get_instructions(code))


def refuse_inline_callback(frame, back):
    """``back``, stopped where it cannot be suspended, runs ``frame``: when
    it does so from one of the instructions that call Python code back
    (which the interpreter may run in the same evaluation loop, as 3.12
    runs a Python ``__getitem__`` or property), SwitchError naming it."""
    opname, _ = _instruction_at(back.f_code, back.f_lasti)
    if opname in _CALLBACK_OF:
        _refuse(frame, back, _CALLBACK_OF[opname])


def class_call_object(frame, caller_lasti):
    """For an ``__init__`` frame that has unwound (``frame`` was called from
    C code by its caller, then stopped at ``caller_lasti``): ("check", the
    object) when a class call made in transformed code ran it, ("refused",
    why) when that call cannot be resumed, or ("none", None) when no class
    call lies between it and its caller."""
    back = frame.f_back
    if back is None or not is_transformed(back.f_code) or \
            caller_lasti not in SUSPENSION_POINTS.get(id(back.f_code), ()):
        return "none", None
    opname, _ = _instruction_at(back.f_code, caller_lasti)
    if opname not in version.CALL_NAMES:
        return "none", None
    outcome, value = _first_argument(frame)
    if outcome == "check" and not _calls_init(type(value), frame.f_code):
        return "none", None
    return outcome, value
