"""Native stackless functions: specializations, compilation, and the bridge
between native records and the runtime's records.

A :class:`NativeFunction` is what ``@stackless(backend="native")`` returns.
It is compiled once per tuple of argument types (or once, for the types its
annotations give), together with every native function it calls.

Native records stay native while native code resumes them (deep recursion
never leaves machine code).  When a tasklet switch needs them to become
data, each is turned into a runtime record — a tuple ``(site number,
values...)`` like the bytecode backend's, in the same slot order under the
same names — and freed.  So pickling, cloning, ``frames`` and the
statistics see one kind of record, and the portable form of a native record
is the bytecode backend's for the same resume point: a pickle resumes under
either backend.
"""

import ctypes
import functools
import inspect
import struct
import threading

from ...analysis.liveness import Liveness
from ...analysis.records import slot_order
from ...errors import TransformError
from ...ir.model import is_temp, temp_number
from ...runtime import scheduler
from ...runtime.records import HANDOVER, UNBOUND, ResumeSite, Slot, Unwind
from ...runtime.trampoline import SUSPENSION_POINTS
from ...versions import current as version
from ..bytecode.instrument import loop_site_name
from . import codegen, expressions
from . import engine as rt
from .types import (
    BOOL,
    CHANNEL,
    FLOAT,
    INT,
    NONE,
    PYTHON_TYPES,
    RANGE_ITER,
    VALUE_TYPES,
    Typer,
    annotation_type,
    native_error,
)

OUT = ctypes.c_int64 * rt.OUT_WORDS
HEADER = ctypes.c_int64 * rt.HEADER_WORDS


@functools.lru_cache(maxsize=None)
def _words(count):
    """The ctypes array type of ``count`` words."""
    return ctypes.c_int64 * count
HUGE_TICKS = 1 << 62
SPECIALIZATIONS = []  # by index: which function an error word names
_resume_addresses = {}  # address of a `.resume` function -> Specialization


class _Anywhere:
    """Every offset: the bridge's frames can be suspended wherever they call
    Python (they have handed their native activations over by then), by an
    unwinding (their calls do not test for a switch passing by return)."""

    def __contains__(self, offset):
        return True


def _suspendable(function):
    SUSPENSION_POINTS[id(function.__code__)] = _Anywhere()
    return function


# -- words -------------------------------------------------------------------

_pack_double = struct.Struct("<d").pack
_unpack_int = struct.Struct("<q").unpack
_pack_int = struct.Struct("<q").pack
_unpack_double = struct.Struct("<d").unpack


def value_to_words(value, ntype):
    if ntype == INT:
        return [int(value)]
    if ntype == FLOAT:
        return [_unpack_int(_pack_double(float(value)))[0]]
    if ntype == BOOL:
        return [1 if value else 0]
    if ntype == CHANNEL:
        return [id(value)]
    if ntype == RANGE_ITER:
        return list(version.range_iterator_state(value))
    return [0]


def words_to_value(words, ntype):
    word = words[0]
    if ntype == INT:
        return word
    if ntype == FLOAT:
        return _unpack_double(_pack_int(word))[0]
    if ntype == BOOL:
        return bool(word)
    if ntype == CHANNEL:
        return ctypes.cast(word, ctypes.py_object).value
    if ntype == RANGE_ITER:
        return iter(range(*words))
    return None


def check_value(value, ntype, what):
    """``value`` as native code takes a value of ``ntype``, or TypeError."""
    kind = type(value)
    if ntype == INT and kind in (int, bool):
        if not -2**63 <= value < 2**63:
            raise OverflowError(f"{what} is {value}, which does not fit in 64 bits")
        return value
    if ntype == FLOAT and kind in (int, bool, float):
        return value
    if ntype == BOOL and kind is bool:
        return value
    if ntype == NONE and value is None:
        return value
    if ntype == CHANNEL:
        from ...runtime.channel import channel
        if isinstance(value, channel):
            return value
    if ntype == RANGE_ITER and kind is type(iter(range(0))):
        return value
    raise TypeError(f"{what} must be {ntype}, not {kind.__name__}")


# -- sites: where native records resume ----------------------------------------

class NativeSite(ResumeSite):
    """A resume point of one specialization, as the runtime sees it."""

    def __init__(self, spec, rp, layout, lineno):
        info = spec.info
        super().__init__(info, rp, 0, False, layout.slots,
                         "stateful" if layout.variables else "stateless", layout.name)
        self.spec = spec
        self.layout = layout
        self.lineno = lineno
        self.result_type = spec.result_types.get(rp, NONE)
        self.function = self.resume

    def waiting_for(self):
        """Names the value this site resumes with, for a TypeError."""
        info = self.function_info
        return (f"the value {info.qualname} (native) resumes with at line {self.lineno} "
                f"of {info.filename}")

    def record_from_words(self, words, mask):
        values = []
        position = 0
        for index, (_, ntype) in enumerate(self.layout.variables):
            count = codegen.word_count(ntype)
            if mask >> index & 1:
                values.append(words_to_value(words[position:position + count], ntype))
            else:
                values.append(UNBOUND)
            position += count
        return (self.number, *values)

    def words_from_record(self, record):
        words, mask = [], 0
        for index, ((name, ntype), value) in enumerate(zip(self.layout.variables, record[1:])):
            if value is UNBOUND or name is None:
                words += [0] * codegen.word_count(ntype)
                continue
            mask |= 1 << index
            check_value(value, ntype, f"the saved value of {name!r}")
            words += value_to_words(value, ntype)
        return mask, words

    def resume(self, _, record, value, error):
        """Continue ``record`` natively with the value (or exception) of the
        call it was waiting for."""
        if error is not None:
            raise error  # native code has no handlers: it goes to the caller
        spec = self.spec
        mask, words = self.words_from_record(record)
        slots = _words(1 + len(words))(mask, *words)
        word = value_to_words(check_value(value, self.result_type, self.waiting_for()),
                              self.result_type)[0]
        out = OUT()
        status = _run_native(spec.pyresume, self.rp_id, ctypes.addressof(slots) + 8, word, out)
        return _drive(status, out, spec.return_type, record)


_suspendable(NativeSite.resume)


# -- running native code from Python ---------------------------------------------

def _run_native(function, *args):
    """Call a native entry, handing it the watchdog's budget while the
    watchdog runs and taking back what is left.  (Otherwise the native
    counter stays huge; a tick that finds the watchdog off refills it.)"""
    sched = scheduler._per_thread.scheduler
    ticks = sched.ticks_left
    if not ticks:
        return function(*args)
    counter = rt.engine().ticks
    counter.value = ticks
    status = function(*args)
    sched.ticks_left = max(1, counter.value)
    return status


def _drive(status, out, return_type, keep):
    """Serve native code's call-outs until it returns or raises.

    ``keep`` holds the objects native code may hold addresses of while it
    runs.  A call-out that switches tasklets turns the native records into
    runtime records first."""
    engine = rt.engine()
    while status == rt.CALLOUT:
        pending = out[rt.OUT_PENDING]
        kind = out[rt.OUT_REQ_KIND]
        try:
            if kind == rt.REQ_SCHEDULE:
                value = scheduler.schedule(None)     # native schedule() returns None
            elif kind == rt.REQ_TICK:
                value = None
                sched = scheduler._per_thread.scheduler
                if sched.ticks_left:
                    sched.ticks_left = 1
                    scheduler.tick()
                else:
                    engine.ticks.value = HUGE_TICKS
            else:
                channel = ctypes.cast(out[rt.OUT_REQ_OBJ], ctypes.py_object).value
                if kind == rt.REQ_RECEIVE:
                    value = channel.receive()
                else:
                    sent = words_to_value([out[rt.OUT_REQ_VALUE]], _SENT_TYPES[kind])
                    value = channel.send(sent)
            innermost = _site_of(pending)
            word = value_to_words(check_value(value, innermost.result_type,
                                              innermost.waiting_for()),
                                  innermost.result_type)[0]
        except Unwind:
            HANDOVER.chain.extend(_records_of(pending))
            raise
        except BaseException:
            engine.free_chain(pending)
            raise
        status = _run_native(engine.continue_, pending, word, out)
    if status == rt.ERROR:
        raise _error(out)
    return words_to_value([out[rt.OUT_VALUE]], return_type)


_suspendable(_drive)
_SENT_TYPES = {rt.REQ_SEND_INT: INT, rt.REQ_SEND_FLOAT: FLOAT, rt.REQ_SEND_BOOL: BOOL}


class _SlowPath(Exception):
    pass


_INT64 = range(-2**63, 2**63)


def _fast_word(ntype, value):
    """The word of an int or float argument of its own type; _SlowPath
    for anything that needs converting or a precise error."""
    kind = type(value)
    if ntype is INT and kind is int and value in _INT64:
        return value
    if ntype is FLOAT and kind is float:
        return _unpack_int(_pack_double(value))[0]
    raise _SlowPath


def _header(address):
    return HEADER.from_address(address)


def _site_of(address):
    _, resume, rp, _, _ = _header(address)
    return _resume_addresses[resume].sites[rp]


def _records_of(pending):
    """The runtime records of a chain of native records (innermost first),
    which are freed."""
    records = []
    address = pending
    while address:
        following, _, _, count, mask = _header(address)
        words = _words(count).from_address(address + 8 * rt.HEADER_WORDS)[:]
        records.append(_site_of(address).record_from_words(words, mask))
        address = following
    rt.engine().free_chain(pending)
    return records


def _error(out):
    kind, line, index, arg = (out[rt.OUT_ERR_KIND], out[rt.OUT_ERR_LINE],
                              out[rt.OUT_ERR_FUNC], out[rt.OUT_ERR_ARG])
    spec = SPECIALIZATIONS[index]
    where = f"{spec.info.qualname} at line {line} of {spec.info.filename}"
    if kind == expressions.ERR_OVERFLOW:
        return OverflowError(f"integer overflow in {where}: the result does not fit "
                             "in 64 bits (native int)")
    if kind == expressions.ERR_NEGATIVE_INT_POWER:
        return ValueError(f"negative exponent of an int ** int power in {where}: Python "
                          "gives a float there, which native int code does not")
    if kind == expressions.ERR_COMPLEX_POWER:
        return ValueError(f"negative number raised to a fractional power in {where}: "
                          "Python gives a complex number there, which native code does not")
    if kind == expressions.ERR_UNBOUND:
        name = spec.variable_names[arg]
        error = UnboundLocalError(f"cannot access local variable {name!r} where it is "
                                  "not associated with a value")
    else:
        error_type, message = _PYTHON_ERRORS[kind]
        error = error_type(*message) if isinstance(message, tuple) else error_type(message)
    error.add_note(f"raised by native code: {where}")
    return error


_PYTHON_ERRORS = {
    expressions.ERR_INT_ZERO_DIVISION: (ZeroDivisionError, "integer division or modulo by zero"),
    expressions.ERR_ZERO_DIVISION: (ZeroDivisionError, "division by zero"),
    expressions.ERR_FLOAT_ZERO_DIVISION: (ZeroDivisionError, "float division by zero"),
    expressions.ERR_FLOAT_FLOOR_ZERO: (ZeroDivisionError, "float floor division by zero"),
    expressions.ERR_FLOAT_MODULO_ZERO: (ZeroDivisionError, "float modulo"),
    expressions.ERR_ZERO_NEGATIVE_POWER: (ZeroDivisionError,
                                      "0.0 cannot be raised to a negative power"),
    expressions.ERR_FLOAT_POWER_RANGE: (OverflowError, (34, "Numerical result out of range")),
    expressions.ERR_RANGE_STEP: (ValueError, "range() arg 3 must not be zero"),
    expressions.ERR_SHIFT_COUNT: (ValueError, "negative shift count"),
    expressions.ERR_FLOAT_NAN_TO_INT: (ValueError, "cannot convert float NaN to integer"),
    expressions.ERR_FLOAT_INF_TO_INT: (OverflowError, "cannot convert float infinity to integer"),
}


# -- specializations ----------------------------------------------------------------

class Specialization:
    """One native function compiled for one tuple of argument types."""

    def __init__(self, native, arg_types):
        self.native = native
        self.info = native.__stackless__
        self.ir = self.info.ir
        self.globals = self.info.globals
        self.arg_types = arg_types
        self.declared_return = native.return_annotation
        self.return_type = self.declared_return
        self.index = len(SPECIALIZATIONS)
        SPECIALIZATIONS.append(self)
        self.symbol = f"sx{self.index}.{self.info.qualname}"
        self.typer = None
        self.compiled = False
        self.llvm_ir = None
        self.sites = {}

    def __repr__(self):
        types = ", ".join(map(str, self.arg_types))
        return f"<native {self.info.qualname}({types}) -> {self.return_type}>"

    def signature(self):
        params = ", ".join(f"{name}: {ntype}" for name, ntype in
                           zip(self.ir.params, self.arg_types))
        return f"{self.info.qualname}({params}) -> {self.return_type}"

    def llvm_ir_of_function(self):
        """This specialization's functions, out of its module's IR text."""
        chunks = self.llvm_ir.split("\n\n")
        return "\n\n".join(chunk for chunk in chunks
                             if f'@"{self.symbol}' in chunk.split("\n", 1)[0])

    def note_return(self, ntype, terminator, typer):
        declared = self.declared_return
        if declared is not None:
            if ntype == declared or (declared == FLOAT and ntype in (INT, BOOL)) or \
                    (declared == INT and ntype == BOOL):
                return
            raise native_error(f"returning a {ntype} value from a function annotated "
                               f"-> {declared}", self.ir.filename, terminator, "Return")
        if self.return_type is None:
            self.return_type = ntype
            typer.changed = True
        elif self.return_type != ntype:
            raise native_error(f"{self.info.qualname} returns {self.return_type} values "
                               f"and {ntype} values; a native function returns one type",
                               self.ir.filename, terminator, "Return")

    @property
    def variable_names(self):
        return sorted(self.typer.var_types)

    def variable_index(self, name):
        return self.variable_names.index(name)

    # -- after inference: what each record holds --------------------------------

    def plan_records(self):
        types = self.typer.var_types
        self.call_ops = {op.resume_point: op for _, _, op in self.ir.call_ops()}
        self.result_types = {rp: types.get(op.result, NONE) for rp, op in self.call_ops.items()}
        points = {point.id: point for point in self.info.analysis.resume_points}
        bytecode_sites = {site.rp.id: site for site in self.info.sites
                          if site.rp is not None and site.copy == 0}
        self.layouts = {}
        for rp, op in self.call_ops.items():
            point = points[rp]
            switch = self.typer.targets[op].kind != "native"
            if point.kind == "tail" and not switch:
                continue
            self.layouts[rp] = self._layout(rp, point.live, bytecode_sites.get(rp), f"rp{rp}")
        liveness = Liveness(self.ir)
        self.tick_layouts = {}
        self.back_edges = codegen.find_back_edges(self.ir)
        for (_, target), tick in self.back_edges.items():
            self.tick_layouts[tick] = self._loop_layout(tick, target, liveness.live_in[target])
        self.alias_layouts = self._bytecode_tick_layouts(liveness)
        self.entry_layout = codegen.RecordLayout(
            rt.ENTRY_RP, [(name, types[name]) for name in self.ir.params],
            [Slot(name, Slot.LOCAL) for name in self.ir.params], "native-entry")

    def _bytecode_tick_layouts(self, liveness):
        """{id: (layout, head block or None for the start)} for the bytecode
        backend's watchdog records that mean the same as a record at a loop
        head (or at the start), so that they resume natively too."""
        types = self.typer.var_types
        heads = {loop_site_name(block.loop): block for block in self.ir.blocks
                 if block.loop is not None}
        ids = list(self.call_ops) + list(self.tick_layouts)
        next_id = max(ids, default=-1) + 1
        found = {}
        for site in self.info.ticked()[1]:
            same_as = getattr(site.normal, "same_as", None)
            if same_as is None:
                continue
            kind, name, extra = same_as
            head = heads.get(name)
            if kind == "loop" and head is None:
                continue
            live = liveness.live_in[head] if head is not None else set()
            temps = _temps(live)
            variables = []
            for slot in site.normal.slots:
                if slot.kind == Slot.LOCAL:
                    variables.append((slot.name, types[slot.name]) if slot.name in types
                                     else (None, NONE))
                elif slot.kind == Slot.STACK and slot.position < len(temps):
                    variables.append((temps[slot.position], RANGE_ITER))
                elif slot.kind == Slot.STACK and extra and slot.position == len(temps):
                    variables.append((None, NONE))  # the loop test's value
                else:
                    break
            else:
                if set(live) <= {name for name, _ in variables}:
                    layout = codegen.RecordLayout(next_id, variables, list(site.normal.slots),
                                                  site.normal.name)
                    found[next_id] = (layout, head)
                    next_id += 1
        return found

    def _loop_layout(self, tick, head, live):
        """The record of a watchdog tick on a back edge to ``head``: it
        resumes at the head, as the bytecode backend's loop site of the same
        loop does (locals by name, then the ``for`` iterators on its value
        stack, outermost first)."""
        types = self.typer.var_types
        if head.loop is None:
            variables = sorted(live)
            return codegen.RecordLayout(tick, [(v, types[v]) for v in variables],
                                        [Slot(v, Slot.LOCAL) for v in variables],
                                        f"native-tick{tick}")
        variables = slot_order(live)  # names, then the iterators outermost first
        slots = [Slot(v, Slot.LOCAL) for v in variables if not is_temp(v)]
        slots += [Slot(f"$stack{i}", Slot.STACK, i) for i in range(len(_temps(live)))]
        return codegen.RecordLayout(tick, [(v, types[v]) for v in variables], slots,
                                    loop_site_name(head.loop))

    def _layout(self, rp, live, bytecode_site, name):
        """The record of resume point ``rp``: the bytecode backend's slots for
        the same point, in its order and under its names, so that both
        backends' records have one portable form; a layout of its own where
        the bytecode backend has no such record (a watchdog tick in a loop)."""
        types = self.typer.var_types
        temps = _temps(live)
        shared = _bytecode_slots(bytecode_site, temps, types)
        if shared is not None and set(live) <= {variable for variable, _ in shared}:
            return codegen.RecordLayout(rp, [(v, types[v]) for v, _ in shared],
                                        [slot for _, slot in shared], name)
        return codegen.RecordLayout(
            rp, [(v, types[v]) for v in live],
            [Slot(v, Slot.STACK if is_temp(v) else Slot.LOCAL) for v in live], name)

    def make_sites(self):
        lines = {rp: op.lineno for rp, op in self.call_ops.items()}
        for rp, layout in self.layouts.items():
            self.sites[rp] = NativeSite(self, rp, layout, lines[rp])
        heads = {tick: head for (_, head), tick in self.back_edges.items()}
        for tick, layout in self.tick_layouts.items():
            loop = heads[tick].loop
            lineno = loop.lineno if loop is not None else self.info.lineno
            self.sites[tick] = NativeSite(self, tick, layout, lineno)
        for alias, (layout, head) in self.alias_layouts.items():
            lineno = head.loop.lineno if head is not None else self.info.lineno
            self.sites[alias] = NativeSite(self, alias, layout, lineno)
        self.sites[rt.ENTRY_RP] = NativeSite(self, rt.ENTRY_RP, self.entry_layout,
                                             self.info.lineno)

    def site_named(self, name):
        for site in self.sites.values():
            if site.name == name:
                return site
        return None

    # -- after compilation ----------------------------------------------------------

    def bind(self, engine):
        words = [ctypes.c_int64] * len(self.arg_types)
        self.entry = ctypes.PYFUNCTYPE(ctypes.c_int32, *words, ctypes.c_void_p)(
            engine.address(self.symbol + ".entry"))
        self.pyresume = ctypes.PYFUNCTYPE(
            ctypes.c_int32, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p
        )(engine.address(self.symbol + ".pyresume"))
        _resume_addresses[engine.address(self.symbol + ".resume")] = self
        self.compiled = True

    def call(self, args):
        try:
            words = list(map(_fast_word, self.arg_types, args))
        except _SlowPath:
            words = []
            for name, ntype, value in zip(self.ir.params, self.arg_types, args):
                words += value_to_words(
                    check_value(value, ntype, f"{self.info.qualname}() argument {name!r}"),
                    ntype)
        out = OUT()
        status = _run_native(self.entry, *words, out)
        if status == rt.OK:
            return words_to_value([out[rt.OUT_VALUE]], self.return_type)
        return _drive(status, out, self.return_type, args)


_suspendable(Specialization.call)


def _temps(live):
    """The temporaries among ``live``, in the order they were made."""
    return sorted((v for v in live if is_temp(v)), key=temp_number)


def _bytecode_slots(site, temps, types):
    """[(variable, Slot)] for the slots of a bytecode call site's record:
    locals by name, value-stack items by position among the temporaries live
    across the call; None if some slot has no native variable."""
    if site is None or site.normal is None or site.tail:
        return None
    found = []
    for slot in site.normal.slots:
        if slot.kind == Slot.LOCAL:
            variable = slot.name
        elif slot.kind == Slot.STACK and slot.position < len(temps):
            variable = temps[slot.position]
        else:
            return None
        if variable not in types:
            return None
        found.append((variable, slot))
    return found


# -- compiling a group ------------------------------------------------------------------

_compiling = threading.RLock()


def compile_group(first):
    """Infer types for ``first`` and every specialization it calls that is
    not compiled yet, then compile them all in one LLVM module.  One thread
    compiles at a time (the JIT and the specialization caches are shared)."""
    with _compiling:
        if not first.compiled:
            _compile_group(first)


def _compile_group(first):
    group = []

    def resolve(native, arg_types, node):
        spec = native.specialization_for(arg_types, node)
        if not spec.compiled and spec not in group:
            start(spec)
        return spec

    def start(spec):
        spec.typer = Typer(spec, resolve)
        group.append(spec)

    start(first)
    try:
        changed = True
        while changed:
            changed = False
            for spec in list(group):
                changed |= spec.typer.run_once()
        for spec in group:
            _check_inferred(spec)
            spec.plan_records()
        builder = codegen.ModuleBuilder(first.symbol)
        for spec in group:
            compiler = codegen.FunctionCompiler(spec, builder)
            compiler.compile()
            if compiler.calls_itself():
                for level in range(1, codegen.INLINE_LEVELS + 1):
                    codegen.FunctionCompiler(spec, builder, level).compile()
        engine = rt.engine()
        builder.module.triple = engine.triple
        builder.module.data_layout = engine.data_layout
        text = str(builder.module)
        optimized = engine.add_module(text)
    except BaseException:
        for spec in group:
            spec.native.forget(spec)
        raise
    for spec in group:
        spec.llvm_ir = text
        spec.optimized_ir = str(optimized)
        spec.make_sites()
        spec.bind(engine)


def _check_inferred(spec):
    types = spec.typer.var_types
    for block in spec.ir.blocks:
        for op in block.ops:
            for name in tuple(op.defs()) + tuple(op.uses()):
                if name not in types:
                    node = getattr(getattr(op, "tree", None), "node", None)
                    raise native_error(f"the type of {name!r} cannot be inferred (a value "
                                       "that is never computed, or recursion without a "
                                       "base case)", spec.ir.filename, node)
    if spec.return_type is None:
        spec.return_type = NONE  # it never returns


# -- the decorated function ---------------------------------------------------------------

class NativeFunction:
    """A stackless function compiled to machine code, per argument types."""

    __stackless_native__ = True

    def __init__(self, function, info):
        functools.update_wrapper(self, function)
        self.__stackless__ = info
        self.signature = inspect.signature(function)
        self.params = tuple(self.signature.parameters)
        annotations = [annotation_type(_annotation_node(info.funcdef, name), info.globals)
                       for name in self.params]
        self.annotated = all(annotations) if self.params else True
        self.param_annotations = tuple(annotations)
        self.return_annotation = annotation_type(info.funcdef.returns, info.globals)
        self._specs = {}

    def __repr__(self):
        return f"<native stackless function {self.__qualname__}>"

    def __reduce__(self):
        return self.__qualname__

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != len(self.params):
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        spec = self._specs.get(() if self.annotated else self._arg_types(args))
        if spec is None or not spec.compiled:
            spec = self.specialization_for(self._arg_types(args), None)
            if not spec.compiled:
                compile_group(spec)
        return spec.call(args)

    def _arg_types(self, args):
        if self.annotated:
            for name, ntype, value in zip(self.params, self.param_annotations, args):
                check_value(value, ntype, f"{self.__name__}() argument {name!r}")
            return self.param_annotations
        found = []
        for name, value in zip(self.params, args):
            ntype = PYTHON_TYPES.get(type(value))
            if ntype is None:
                from ...runtime.channel import channel
                if not isinstance(value, channel):
                    raise TypeError(f"{self.__name__}() argument {name!r} must be int, "
                                    f"float, bool or channel, not {type(value).__name__}")
                ntype = CHANNEL
            found.append(ntype)
        return tuple(found)

    def specialization_for(self, arg_types, node):
        """The Specialization for ``arg_types`` (not necessarily compiled)."""
        if self.annotated:
            for name, want, given in zip(self.params, self.param_annotations, arg_types):
                if not (given == want or (want == FLOAT and given in (INT, BOOL)) or
                        (want == INT and given == BOOL)):
                    raise _call_type_error(self, name, want, given, node)
            arg_types = self.param_annotations
        if len(arg_types) != len(self.params):
            raise TypeError(f"{self.__name__}() takes {len(self.params)} arguments, "
                            f"{len(arg_types)} given")
        key = () if self.annotated else tuple(arg_types)
        spec = self._specs.get(key)
        if spec is None:
            for ntype in arg_types:
                if ntype not in VALUE_TYPES:
                    raise native_error(f"an argument of type {ntype}",
                                       self.__stackless__.filename, node)
            spec = self._specs[key] = Specialization(self, tuple(arg_types))
        return spec

    def explain(self, llvm=False):
        """The native records of each compiled specialization (slot names
        and types per resume point) and, with ``llvm``, the LLVM IR."""
        if self.annotated and () not in self._specs:
            compile_group(self.specialization_for(self.param_annotations, None))
        specs = [spec for spec in self.specializations if spec.compiled]
        if not specs:
            return ("native backend: not compiled yet (the parameters are not "
                    "annotated, so the first call fixes their types)\n")
        lines = []
        for spec in specs:
            lines += [f"native backend, {spec.signature()}:", "  records (slot: type):"]
            for site in sorted(spec.sites.values(), key=lambda site: site.rp_id):
                slots = ", ".join(f"{slot.name}: {ntype}" for slot, (_, ntype)
                                  in zip(site.slots, site.layout.variables)) or "-"
                lines.append(f"    {site.name:<20} line {site.lineno:<5} [{slots}]")
            if llvm:
                lines += ["  LLVM IR (before optimization):", spec.llvm_ir_of_function()]
        return "\n".join(lines) + "\n"

    def forget(self, spec):
        for key, found in list(self._specs.items()):
            if found is spec:
                del self._specs[key]

    @property
    def specializations(self):
        return sorted(self._specs.values(), key=lambda s: s.index)

    def site_for_portable(self, name, values):
        """The site of a compiled specialization named ``name`` whose slots
        can hold ``values`` (compiling the annotated one if needed)."""
        if self.annotated and () not in self._specs:
            compile_group(self.specialization_for(self.param_annotations, None))
        for spec in self.specializations:
            site = spec.site_named(name) if spec.compiled else None
            if site is None or {slot.name for slot in site.slots} != set(values):
                continue
            try:
                site.words_from_record((site.number, *[values[s.name] for s in site.slots]))
            except (TypeError, OverflowError, ValueError, AttributeError):
                continue
            return site
        return None


def _call_type_error(native, name, want, given, node):
    message = f"{native.__name__}() argument {name!r} must be {want}, not {given}"
    if node is None:
        return TypeError(message)
    return TransformError(message, native.__stackless__.filename, node.lineno,
                          node.col_offset, "Call")


def _annotation_node(funcdef, name):
    for arg, annotation in zip(funcdef.args.args, funcdef.args.annotations):
        if arg.name == name:
            return annotation
    return None


_suspendable(NativeFunction.__call__)
