"""The entry from Python: a builtin function that calls native code with no
Python code on the way.

Each specialization whose arguments and result are ints, floats or bools
gets ``<symbol>.python(args) -> object``, compiled with it: it checks each
argument's type and converts it with the C API, calls the ``.entry``, and
boxes the result.  Given arguments of other types (or an int that needs
more than 64 bits) it returns ``NOT_MINE`` before anything has run.

Each native function gets a *dispatcher*, compiled again (in the group's
module) whenever one of its specializations is compiled: a
``METH_FASTCALL | METH_KEYWORDS`` C function that tries the ``.python``
entry of each compiled specialization in turn, the way a type-keyed table
would.  It is wrapped in a builtin function
object that the function's class calls as its ``__call__``.  Everything the
dispatcher does not do itself goes to one Python function, the *bridge*,
with the call's own arguments: keyword arguments, a wrong number of
arguments, arguments no compiled specialization takes (which compiles one,
or raises the TypeError naming the parameter), and every call while a
watchdog runs (the native tick counter is handed over in Python).  After
native code has run, a status other than OK (an exception, or a call-out
such as ``schedule()``) also goes to the bridge, as
``bridge(NATIVE_RAN, specialization, status, address of out)``.  Since the
bridge is the only Python code the builtin calls, a switch that finds it
called from C knows what lies beneath it.

Only C API functions of the stable ABI are called, and the only structure
read is an object's type field (the last field of ``PyObject``).
"""

import ctypes

from llvmlite import ir

from . import engine as rt
from .expressions import F64, I32, I64
from .types import BOOL, FLOAT, INT, NONE

I64P = I64.as_pointer()
I32P = I32.as_pointer()
NOT_MINE = 1            # never the address of an object
ARGUMENT_TYPES = (INT, FLOAT, BOOL)
RESULT_TYPES = (INT, FLOAT, BOOL, NONE)
# ob_type is the last field of PyObject, whatever comes before it.
OB_TYPE_OFFSET = object.__basicsize__ - ctypes.sizeof(ctypes.c_void_p)
METH_FASTCALL_KEYWORDS = 0x0080 | 0x0002

# The C API functions native code calls, as LLVM sees them (objects are words).
C_API = {
    "PyLong_AsLongLongAndOverflow": ir.FunctionType(I64, [I64, I32P]),
    "PyFloat_AsDouble": ir.FunctionType(F64, [I64]),
    "PyLong_FromLongLong": ir.FunctionType(I64, [I64]),
    "PyFloat_FromDouble": ir.FunctionType(I64, [F64]),
    "PyBool_FromLong": ir.FunctionType(I64, [I64]),
    "Py_IncRef": ir.FunctionType(ir.VoidType(), [I64]),
    "Py_DecRef": ir.FunctionType(ir.VoidType(), [I64]),
    "PyObject_Vectorcall": ir.FunctionType(I64, [I64, I64P, I64, I64]),
}
DISPATCHER_TYPE = ir.FunctionType(I64, [I64, I64P, I64, I64])
PYTHON_ENTRY_TYPE = ir.FunctionType(I64, [I64P])


class NativeRan:
    """The first argument of the bridge after native code has run."""

    def __repr__(self):
        return "<native code ran>"


NATIVE_RAN = NativeRan()
# Kept alive here, since native code holds their addresses.
_STATUS_OBJECTS = {rt.ERROR: int(rt.ERROR), rt.CALLOUT: int(rt.CALLOUT)}


def c_api_addresses():
    """{name: address} of the C API functions native code calls."""
    return {name: ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value
            for name in C_API}


def has_python_entry(spec):
    return (all(ntype in ARGUMENT_TYPES for ntype in spec.arg_types)
            and spec.return_type in RESULT_TYPES)


def _word(value):
    return ir.Constant(I64, value)


def _c_api(mb, name):
    return mb.function(name, C_API[name])


# -- a specialization's entry ---------------------------------------------------

def _accepted(ntype, annotated):
    """The Python types an argument of ``ntype`` may have: exactly its own,
    unless an annotation fixed the type (then an int or bool converts)."""
    if not annotated:
        return {INT: (int,), FLOAT: (float,), BOOL: (bool,)}[ntype]
    return {INT: (int, bool), FLOAT: (float, int, bool), BOOL: (bool,)}[ntype]


def emit_python_entry(mb, spec, entry, bridge):
    """``<symbol>.python`` of ``spec``, calling its ``.entry`` function."""
    function = mb.function(spec.symbol + ".python", PYTHON_ENTRY_TYPE)
    # A second copy of the body, inlined here, would double the time LLVM
    # takes over it; the call costs a few nanoseconds.
    entry.attributes.add("noinline")
    b = ir.IRBuilder(function.append_basic_block("entry"))
    not_mine = function.append_basic_block("not_mine")
    overflow = b.alloca(I32)
    out = b.alloca(ir.ArrayType(I64, rt.OUT_WORDS))
    words = []
    for position, ntype in enumerate(spec.arg_types):
        argument = b.load(b.gep(function.args[0], [_word(position)]))
        words.append(_unbox(b, mb, argument, ntype,
                            _accepted(ntype, spec.native.annotated), not_mine, overflow))
    out_words = b.bitcast(out, I64P)
    status = b.call(entry, words + [out_words])
    ran_ok = b.icmp_signed("==", status, ir.Constant(I32, rt.OK))
    with b.if_else(ran_ok, likely=True) as (ok, other):
        with ok:
            b.ret(_box(b, mb, b.load(out_words), spec.return_type))
        with other:
            b.ret(_call_bridge(b, mb, spec, bridge, status, out_words))
    b.unreachable()
    b.position_at_end(not_mine)
    b.ret(_word(NOT_MINE))
    return function


def _unbox(b, mb, argument, ntype, accepted, not_mine, overflow):
    """The word of ``argument`` as an ``ntype``, or a branch to ``not_mine``."""
    done = b.append_basic_block("unboxed")
    incoming = []
    if bool in accepted:
        for flag in (True, False):
            next_test = b.append_basic_block("not_" + str(flag).lower())
            b.cbranch(b.icmp_unsigned("==", argument, _word(id(flag))), done, next_test)
            incoming.append((_word(_bits(ntype, int(flag))), b.block))
            b.position_at_end(next_test)
    kind = b.load(b.inttoptr(b.add(argument, _word(OB_TYPE_OFFSET)), I64P))
    for python_type in (int, float):
        if python_type not in accepted:
            continue
        this = b.append_basic_block(python_type.__name__)
        next_test = b.append_basic_block("not_" + python_type.__name__)
        b.cbranch(b.icmp_unsigned("==", kind, _word(id(python_type))), this, next_test)
        b.position_at_end(this)
        if python_type is int:
            value = b.call(_c_api(mb, "PyLong_AsLongLongAndOverflow"), [argument, overflow])
            fits = b.icmp_signed("==", b.load(overflow), ir.Constant(I32, 0))
            converted = b.append_basic_block("fits")
            b.cbranch(fits, converted, not_mine)
            b.position_at_end(converted)
            word = b.bitcast(b.sitofp(value, F64), I64) if ntype == FLOAT else value
        else:
            word = b.bitcast(b.call(_c_api(mb, "PyFloat_AsDouble"), [argument]), I64)
        b.branch(done)
        incoming.append((word, b.block))
        b.position_at_end(next_test)
    b.branch(not_mine)
    b.position_at_end(done)
    word = b.phi(I64)
    for value, block in incoming:
        word.add_incoming(value, block)
    return word


def _bits(ntype, value):
    """The word of the constant ``value`` (0 or 1) as an ``ntype``."""
    if ntype == FLOAT:
        return ctypes.c_int64.from_buffer(ctypes.c_double(float(value))).value
    return value


def _box(b, mb, word, ntype):
    """A new reference to the object for the result ``word``."""
    if ntype == INT:
        return b.call(_c_api(mb, "PyLong_FromLongLong"), [word])
    if ntype == FLOAT:
        return b.call(_c_api(mb, "PyFloat_FromDouble"), [b.bitcast(word, F64)])
    if ntype == BOOL:
        return b.call(_c_api(mb, "PyBool_FromLong"), [word])
    b.call(_c_api(mb, "Py_IncRef"), [_word(id(None))])
    return _word(id(None))


def _call_bridge(b, mb, spec, bridge, status, out):
    """bridge(NATIVE_RAN, spec, status, address of out): what Python makes of
    an exception or a call-out.  If the address cannot be boxed (no memory),
    the records of a call-out are freed and that exception goes on."""
    address = b.call(_c_api(mb, "PyLong_FromLongLong"), [b.ptrtoint(out, I64)])
    boxed = b.icmp_unsigned("!=", address, _word(0))
    with b.if_then(b.not_(boxed), likely=False):
        is_callout = b.icmp_signed("==", status, ir.Constant(I32, rt.CALLOUT))
        with b.if_then(is_callout):
            pending = b.load(b.gep(out, [_word(rt.OUT_PENDING)]))
            b.call(mb.function("sx_free_chain", ir.FunctionType(ir.VoidType(), [I64])),
                   [pending])
        b.ret(_word(0))
    status_object = b.select(b.icmp_signed("==", status, ir.Constant(I32, rt.ERROR)),
                             _word(id(_STATUS_OBJECTS[rt.ERROR])),
                             _word(id(_STATUS_OBJECTS[rt.CALLOUT])))
    arguments = b.alloca(ir.ArrayType(I64, 4))
    items = [_word(id(NATIVE_RAN)), _word(id(spec)), status_object, address]
    for position, item in enumerate(items):
        b.store(item, b.gep(arguments, [_word(0), _word(position)]))
    result = b.call(_c_api(mb, "PyObject_Vectorcall"),
                    [_word(id(bridge)), b.bitcast(arguments, I64P), _word(len(items)), _word(0)])
    b.call(_c_api(mb, "Py_DecRef"), [address])
    return result


# -- a function's dispatcher ------------------------------------------------------

def emit_dispatcher(mb, name, specs, params, bridge):
    """The dispatcher ``name`` over the ``.python`` entries of ``specs``,
    for a function of ``params`` parameters."""
    function = mb.function(name, DISPATCHER_TYPE)
    _, args, nargs, kwnames = function.args
    b = ir.IRBuilder(function.append_basic_block("entry"))
    slow = function.append_basic_block("slow")
    plain = b.and_(b.icmp_unsigned("==", kwnames, _word(0)),
                   b.icmp_unsigned("==", nargs, _word(params)))
    watchdog = b.load(mb.runtime_global("sx_watchdog"))
    plain = b.and_(plain, b.icmp_unsigned("==", watchdog, _word(0)))
    attempts = [function.append_basic_block("try") for _ in specs] + [slow]
    b.cbranch(plain, attempts[0], slow)
    for spec, attempt, following in zip(specs, attempts, attempts[1:]):
        b.position_at_end(attempt)
        result = b.call(mb.function(spec.symbol + ".python", PYTHON_ENTRY_TYPE), [args])
        done = function.append_basic_block("done")
        b.cbranch(b.icmp_unsigned("==", result, _word(NOT_MINE)), following, done)
        b.position_at_end(done)
        b.ret(result)
    b.position_at_end(slow)
    b.ret(b.call(_c_api(mb, "PyObject_Vectorcall"), [_word(id(bridge)), args, nargs, kwnames]))


class _MethodDef(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("function", ctypes.c_void_p),
                ("flags", ctypes.c_int), ("doc", ctypes.c_char_p)]


_new_builtin = ctypes.pythonapi.PyCFunction_NewEx
_new_builtin.restype = ctypes.py_object
_new_builtin.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
_method_defs = []   # a builtin function points at its definition: kept for good


def builtin_function(name, address, doc):
    """A builtin function object calling the dispatcher at ``address``."""
    definition = _MethodDef(name.encode(), address, METH_FASTCALL_KEYWORDS,
                            doc.encode() if doc else None)
    _method_defs.append(definition)
    return _new_builtin(ctypes.addressof(definition), None, None)
