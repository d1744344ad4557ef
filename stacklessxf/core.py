"""The ``stackless`` decorator: frontend → IR → analysis → backend."""

import functools
import inspect
import types

from astroid import nodes

from .analysis import analyze
from .backends.bytecode import instrument
from .errors import TransformError
from .frontend.calls import Classifier
from .frontend.source import locate
from .ir.lower import lower
from .ir.verify import verify

BACKENDS = ("bytecode", "native")

_registry = {}


class FunctionInfo:
    """Everything the transform knows about one stackless function."""

    def __init__(self, function, filename, funcdef):
        self.original = function
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
        self.function = None          # the transformed function object
        self._ticked = None           # (code, sites) of the watchdog variant
        self.native = None            # the NativeFunction, for the native backend

    def __repr__(self):
        return f"<stackless {self.qualname} at {self.filename}:{self.lineno}>"

    def ticked(self):
        """(code, sites) of the variant that calls the scheduler's watchdog
        tick on entry and at every loop back-edge; built on first use.  Each
        resume site of the plain variant learns its twin here (same name and
        slots), so records of either variant resume under either."""
        if self._ticked is None:
            from .runtime.scheduler import tick
            code, sites = instrument(self.original, self.analysis.resume_points,
                                     self, tick=tick)
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
        if any(site.marks_crossing for site in self.sites):
            lines.append("  when a class call runs it, its caller's record is preceded by "
                         "special: `__init__` result check [object]")
        return "\n".join(lines) + "\n"


def _resume_sites(sites):
    return [rs for site in sites for rs in (site.normal, site.retry) if rs is not None]


def _same_slots(a, b):
    return [slot.name for slot in a.slots] == [slot.name for slot in b.slots]


def all_functions():
    """Every stackless function of the process."""
    return [info for infos in _registry.values() for info in infos]


def registered_functions(module_name):
    """The stackless functions defined in ``module_name``, in order."""
    return list(_registry.get(module_name, []))


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
    new = types.FunctionType(info.code, function.__globals__, function.__name__,
                             function.__defaults__, function.__closure__)
    new.__kwdefaults__ = function.__kwdefaults__
    new.__qualname__ = function.__qualname__
    new.__doc__ = function.__doc__
    new.__module__ = function.__module__
    new.__annotations__ = function.__annotations__
    new.__dict__.update(function.__dict__)
    new.__stackless__ = info
    info.function = new
    _registry.setdefault(info.module, []).append(info)
    return new


def _native(function, info):
    from .backends.llvm import NativeFunction, check_native_syntax
    check_native_syntax(info)
    native = NativeFunction(function, info)
    info.function = info.native = native
    _registry.setdefault(info.module, []).append(info)
    return native


def _check_is_plain_function(function):
    if getattr(function, "__stackless__", None) is not None:
        raise TypeError(f"{function.__qualname__} is already stackless")
    if not isinstance(function, types.FunctionType):
        raise TypeError("stackless expects a function defined with def, got "
                        f"{type(function).__name__} {function!r}")
    if inspect.isgeneratorfunction(function):
        _refuse_suspending_function(function, "generator", "yield")
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        _refuse_suspending_function(function, "async function", "async def")


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
    filename, funcdef = locate(function)
    info = FunctionInfo(function, filename, funcdef)
    classify = Classifier(function, funcdef)
    info.ir = lower(funcdef, filename, classify, function.__qualname__)  # checks the subset first
    verify(info.ir)
    info.analysis = analyze(info.ir)
    info.code, info.sites = instrument(function, info.analysis.resume_points, info)
    return info


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
