"""The ``stackless`` decorator: frontend → IR → analysis → backend."""

import contextlib
import functools
import gc
import inspect
import types
import warnings

from astroid import nodes

from .analysis import analyze
from .analysis.callgraph import may_switch_among, switch_may_arrive
from .backends.bytecode import instrument
from .backends.bytecode import generators
from .errors import TransformError, TransformWarning
from .frontend.calls import Classifier
from .frontend.settle import settle
from .frontend.source import definition_key, has_stackless_decorator, locate
from .frontend.subset import stackless_genexprs
from .ir.lower import lower
from .ir.verify import verify
from .runtime import registry, values
from .runtime.records import set_code
from .runtime.registry import all_functions, registered_functions

BACKENDS = ("bytecode", "native")


class FunctionInfo:
    """Everything the transform knows about one stackless function."""

    def __init__(self, function, filename, funcdef):
        self.original_code = function.__code__   # CPython's, before the transform
        self.qualname = function.__qualname__
        self.module = function.__module__
        self.filename = filename
        self.lineno = funcdef.lineno
        self.globals = function.__globals__
        self.funcdef = funcdef
        self.ir = None
        self.analysis = None
        self.sites = []
        self.code = None
        self.switch_arrives = None    # ids of the resume points a switch may reach
        self.function = None          # the transformed function object
        self._ticked = None           # (code, sites) of the watchdog variant
        self.native = None            # the NativeFunction, for the native backend
        self.dropped = ()             # ids of resume points in code the compiler dropped
        # A generator function's body compiles as a plain function (see
        # backends.bytecode.generators); the code the backend instruments.
        self.generator = generators.GeneratorCode.of(function.__code__)
        self.body_code = function.__code__ if self.generator is None else self.generator.plain

    def __repr__(self):
        return f"<stackless {self.qualname} at {self.filename}:{self.lineno}>"

    def ticked(self):
        """(code, sites) of the variant that calls the scheduler's watchdog
        tick on entry and at every loop back-edge; built on first use.  Each
        resume site of the plain variant learns its twin here (same name and
        slots), so records of either variant resume under either."""
        if self._ticked is None:
            from .runtime.scheduler import tick
            code, sites = instrument(self.body_code, self.analysis.resume_points,
                                     self, tick=tick, switch_arrives=self.switch_arrives)
            if self.generator is not None:
                # Generators run the plain variant only; the watchdog's stays
                # alive with its resume sites (code ids key their tables).
                self.generator.ticked, code = code, self.code
            twins = {rs.name: rs for rs in _resume_sites(sites)}
            for resume_site in _resume_sites(self.sites):
                twin = twins.get(resume_site.name)
                if twin is not None and _same_slots(twin, resume_site):
                    resume_site.ticked_twin = twin
            self._ticked = (code, sites)
        return self._ticked

    def all_sites(self):
        """Call sites of both variants (the watchdog's is built if needed)."""
        return list(self.sites) + list(self.ticked()[1])

    def explain(self, llvm=False):
        lines = [f"stackless function {self.qualname} ({self.filename}:{self.lineno})",
                 "", "IR:", str(self.ir).rstrip(), "",
                 "resume points:", self.analysis.format().rstrip(), ""]
        if self.native is not None:
            return "\n".join(lines + [self.native.explain(llvm)])
        lines.append("bytecode backend records (what each call site saves):")
        for resume_site in _resume_sites(self.sites):
            slots = ", ".join(slot.name for slot in resume_site.slots) or "-"
            what = "retry" if resume_site.retry else resume_site.kind
            lines.append(f"  {resume_site.name:<24} {what:<10} [{slots}]")
        for rp_id in self.dropped:
            lines.append(f"  rp{rp_id:<22} none: the compiler dropped the call (dead code)")
        if any(site.marks_crossing for site in self.sites):
            lines.append("  when a class call runs it, its caller's record is preceded by "
                         "special: `__init__` result check [object]")
        return "\n".join(lines) + "\n"


def _resume_sites(sites):
    return [rs for site in sites for rs in (site.normal, site.retry) if rs is not None]


def _same_slots(a, b):
    return [slot.name for slot in a.slots] == [slot.name for slot in b.slots]


def stackless(function=None, *, backend="bytecode"):
    """Transform ``function`` so its activations can unwind into records.

    Usable as ``@stackless`` or ``@stackless(backend="bytecode")``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if function is None:
        return functools.partial(stackless, backend=backend)
    if isinstance(function, (classmethod, staticmethod)):
        return type(function)(stackless(function.__func__, backend=backend))
    _check_is_plain_function(function)
    info = transform(function)
    if backend == "native":
        return _native(function, info)
    # In place, so that every reference to the function (its own recursive
    # call, default arguments, dispatch tables, partials, bound methods)
    # reaches the stackless code, whenever the decorator was applied.
    set_code(function, info.code)
    function.__stackless__ = info
    info.function = function
    registry.register(info)
    return function


def _native(function, info):
    from .backends.llvm import NativeFunction, check_native_syntax
    check_native_syntax(info)
    native = NativeFunction(function, info)
    info.function = info.native = native
    registry.register(info)
    return native


def _check_is_plain_function(function):
    info = getattr(function, "__stackless__", None)
    # functools.wraps copies __stackless__ from a wrapped stackless function.
    is_stackless = info is not None and info.function is function
    if not is_stackless and getattr(function, "__wrapped__", None) is not None \
            and not _written_as_stackless(function):
        _refuse_wrapper(function)
    if info is not None:
        raise TypeError(f"{function.__qualname__} is already stackless")
    if not isinstance(function, types.FunctionType):
        raise TypeError("stackless expects a function defined with def, got "
                        f"{type(function).__name__} {function!r}")
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        _refuse_suspending_function(function, "async function", "async def")


def _written_as_stackless(wrapper):
    """A wrapper whose own def carries ``@stackless`` is the function the
    user asked for."""
    try:
        _, funcdef = locate(wrapper)
    except (TransformError, AttributeError):
        return False
    return has_stackless_decorator(funcdef)


def _refuse_wrapper(wrapper):
    """``functools.wraps`` and its kind made ``wrapper`` around another
    function.  Transforming the wrapper would leave that function plain,
    and a wrapper (a closure, a C object) cannot in general be rebuilt
    around a transformed function: the order of decorators must change."""
    inner = inspect.unwrap(wrapper)
    name = getattr(inner, "__qualname__", repr(inner))
    code = getattr(inner, "__code__", None)
    raise TransformError(
        f"stackless was given {_wrapper_kind(wrapper)} around {name}; "
        f"transforming the wrapper would leave {name} itself plain. Apply "
        f"@stackless to {name} first (write it beneath the other decorator)"
        + (", or write @stackless on the wrapper's own def to transform the wrapper"
           if isinstance(wrapper, types.FunctionType) else ""),
        code.co_filename if code else None, code.co_firstlineno if code else None,
        None, "decorator")


def _wrapper_kind(wrapper):
    """Names the decorator that made ``wrapper`` (the function whose local
    it is), or the wrapper's type for a wrapper written in C."""
    if isinstance(wrapper, types.FunctionType):
        module = wrapper.__globals__.get("__name__", "?")
        decorator = wrapper.__code__.co_qualname.split(".<locals>")[0]
        return f"the wrapper that the decorator {module}.{decorator} made"
    kind = type(wrapper)
    return f"a {kind.__module__}.{kind.__qualname__} object (a wrapper written in C)"


def _refuse_suspending_function(function, kind, construct):
    """Generators and coroutines suspend by themselves; point at the first
    ``yield``/``await`` (or the ``async def``)."""
    filename, funcdef = locate(function)
    where = funcdef
    for node in funcdef.nodes_of_class((nodes.Yield, nodes.YieldFrom, nodes.Await),
                                       skip_klass=(nodes.FunctionDef, nodes.Lambda,
                                                   nodes.ClassDef)):
        where, construct = node, type(node).__name__.lower().replace("yieldfrom", "yield from")
        break
    raise TransformError(f"{function.__qualname__} is a {kind}; only ordinary "
                         "functions can be stackless", filename, where.lineno,
                         where.col_offset, construct)


def transform(function):
    """Run the pipeline on ``function``; returns its FunctionInfo."""
    with _collector_paused():
        try:
            return _transform(function)
        finally:
            settle()


@contextlib.contextmanager
def _collector_paused():
    """The cyclic garbage collector waits while a function is transformed.
    The transform allocates a great many objects, and the collections they
    start walk more and more of what the process holds (the parsed trees of
    every module inference has read among it): a third of the corpus'
    transform time went to them.  A transform's garbage is collected after
    it, in fewer collections."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _transform(function):
    filename, funcdef = locate(function)
    info = FunctionInfo(function, filename, funcdef)
    classify = Classifier(function, funcdef)
    info.ir = lower(funcdef, filename, classify, function.__qualname__)  # checks the subset first
    verify(info.ir)
    info.analysis = analyze(info.ir)
    info.switch_arrives = _switch_arrives(info)
    info.body_code = _with_stackless_genexprs(info.body_code, info)
    info.code, info.sites = instrument(info.body_code, info.analysis.resume_points, info,
                                       switch_arrives=info.switch_arrives)
    if info.generator is not None:
        info.code = info.generator.entry(info)
    return info


def _with_stackless_genexprs(code, info):
    """``code`` with the code of each generator expression that runs as a
    stackless generator replaced by its factory (the code of the function
    CPython makes where the expression stands: it returns the generator).
    On 3.11 one may be inside an inlined comprehension's code."""
    wanted = {(node.lineno, node.col_offset): suspends
              for node, suspends in stackless_genexprs(info.funcdef)}
    if not wanted:
        return code
    consts = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            key = definition_key(const)[1:]
            if key in wanted:
                const = _genexpr_factory(const, info, wanted[key])
            elif const.co_name in _COMPREHENSIONS:
                const = _with_stackless_genexprs(const, info)
        consts.append(const)
    return code.replace(co_consts=tuple(consts))


def _genexpr_factory(code, info, suspends):
    """The factory of the stackless generator for the generator expression
    of ``code``.  One that is stackless only because it may be held at a
    resume point stays CPython's if the transform refuses it, with a
    warning; one whose calls must suspend makes the refusal the function's."""
    try:
        return values.stackless_info_for_code(code, info.module, info.globals).code
    except TransformError as error:
        if suspends:
            raise
        warnings.warn(TransformWarning(
            f"{error}; the generator expression stays CPython's generator, which "
            "a record does not pickle"), stacklevel=2)
        return code


_COMPREHENSIONS = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>"})


def _switch_arrives(info):
    """Ids of the resume points whose call may end in a tasklet switch,
    by the call graph of the module's stackless functions.  A guarded
    call's callee is plain today; if it becomes stackless and switches, the
    switch passes this frame by exception instead of by return."""
    analyses = {other.qualname: other.analysis for other in registered_functions(info.module)}
    analyses[info.qualname] = info.analysis
    switching = may_switch_among({call.target for call in info.analysis.calls
                                  if call.kind == "stackless" and call.target in analyses},
                                 analyses)
    return frozenset(call.resume_point for call in info.analysis.calls
                     if call.resume_point is not None
                     and switch_may_arrive(call, analyses, switching))


def explain(function, llvm=False):
    """The IR, resume points and record layouts of a stackless function;
    for a native one with ``llvm``, also the LLVM IR it was compiled to."""
    info = getattr(function, "__stackless__", None)
    if info is None:
        inner = getattr(function, "__func__", None)
        info = getattr(inner, "__stackless__", None)
    if info is None:
        raise TypeError(f"{function!r} is not a stackless function")
    return info.explain(llvm)


registry.build_runtime_pieces(stackless)
