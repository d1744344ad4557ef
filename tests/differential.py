"""Differential testing: run the same module plain and transformed, compare.

A corpus module is an ordinary Python file that decorates its functions with
``@stackless`` (imported as ``from stacklessxf import stackless``) and defines

- ``LOG``: a list that its functions append their side effects to;
- ``CASES``: a list of ``(name, args, kwargs)``;
- optionally ``DEEP_CASES``: a list of ``(name, args, kwargs, expected)`` for
  recursion deeper than the interpreter's default limit, which only the
  transformed module can run; ``expected`` comes from a known formula;
- optionally ``reset_state()`` (called before every case) and
  ``snapshot_state()`` (its result after the case is compared as well); both
  are plain functions.

The module is loaded twice from its file, under two fresh module names: once
as it is (transformed), and once in *plain mode*, where
``stacklessxf.stackless`` is an identity decorator while the module executes.
Both loads use the real file, so the transform finds the source.

Case names
    A case name is a dotted path looked up from the module, one part at a
    time. A part written ``Name()`` is looked up and then called with no
    arguments, so ``"Counter().bump"`` means ``module.Counter().bump`` and
    ``"Counter.make"`` means ``module.Counter.make``.

What is compared
    The outcome (the returned value, or the raised exception's type, message,
    arguments and its ``__cause__`` / ``__context__`` chain), the module's
    ``LOG``, the arguments after the call (the function may mutate them), and
    ``snapshot_state()`` if the module has one. Values are compared in a
    normalized form: floats by ``repr`` (so ``nan`` and ``-0.0`` compare), objects
    by type name and attributes, functions by qualified name, classes and
    exceptions defined in the module by qualified name (the two loads define
    distinct classes with the same names).
"""

import contextlib
import copy
import dataclasses
import functools
import importlib.util
import itertools
import os
import sys
import types

import stacklessxf
from stacklessxf.testing import low_recursion_limit

CORPUS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
MODULE_PREFIX = "_sxdiff_"

_module_numbers = itertools.count()
_MISSING = object()

# module name of a plain-mode load -> the functions the identity decorator saw
_plain_decorated = {}


# -- loading -----------------------------------------------------------------


@contextlib.contextmanager
def plain_mode(record):
    """While active, ``stacklessxf.stackless`` returns functions unchanged and
    appends each to ``record``."""

    def identity_stackless(func=None, **options):
        if func is None:
            return functools.partial(identity_stackless, **options)
        record.append(func)
        return func

    old = stacklessxf.__dict__.get("stackless", _MISSING)
    stacklessxf.stackless = identity_stackless
    try:
        yield
    finally:
        if old is _MISSING:
            del stacklessxf.stackless
        else:
            stacklessxf.stackless = old


def load_module(path, plain):
    """Executes the file at ``path`` as a new module, under a fresh name that
    stays in ``sys.modules``; ``plain`` selects plain mode."""
    path = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    mode = "plain" if plain else "sx"
    name = f"{MODULE_PREFIX}{mode}_{stem}_{next(_module_numbers)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        if plain:
            record = []
            with plain_mode(record):
                spec.loader.exec_module(module)
            _plain_decorated[name] = record
        else:
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def unload_module(module):
    sys.modules.pop(module.__name__, None)
    _plain_decorated.pop(module.__name__, None)


def load_corpus_pair(path):
    """Returns ``(plain_module, transformed_module)`` freshly loaded from
    ``path``."""
    plain = load_module(path, plain=True)
    transformed = load_module(path, plain=False)
    return plain, transformed


def decorated_functions(plain_module):
    """The functions that ``@stackless`` was applied to while ``plain_module``
    was loaded in plain mode, in decoration order."""
    return list(_plain_decorated[plain_module.__name__])


def corpus_paths():
    """The corpus modules, ``tests/corpus/c_*.py``, sorted by name."""
    names = sorted(
        n for n in os.listdir(CORPUS_DIR) if n.startswith("c_") and n.endswith(".py")
    )
    return [os.path.join(CORPUS_DIR, n) for n in names]


@functools.lru_cache(maxsize=None)
def plain_corpus_module(path):
    """One plain-mode load per corpus file, for reading its cases."""
    return load_module(path, plain=True)


def iter_corpus():
    """Yields ``(path, case)`` for every case of every corpus module."""
    for path in corpus_paths():
        for case in plain_corpus_module(path).CASES:
            yield path, case


def iter_deep_corpus():
    """Yields ``(path, deep_case)`` for every deep case of the corpus."""
    for path in corpus_paths():
        for case in getattr(plain_corpus_module(path), "DEEP_CASES", ()):
            yield path, case


def case_id(path, case):
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"{stem}::{case[0]}"


# -- running -------------------------------------------------------------------


def resolve(module, name):
    """Looks up a case name (see the module docstring) in ``module``."""
    obj = module
    for part in name.split("."):
        if part.endswith("()"):
            obj = getattr(obj, part[:-2])()
        else:
            obj = getattr(obj, part)
    return obj


@dataclasses.dataclass
class Outcome:
    """What one run of one case did, in normalized form."""

    result: tuple  # ("return", value) or ("raise", exception description)
    log: object
    arguments: object
    state: object

    def as_dict(self):
        return dataclasses.asdict(self)


def reset_module(module):
    module.LOG.clear()
    reset = getattr(module, "reset_state", None)
    if reset is not None:
        reset()


def run_one(module, case, headroom=None):
    """Runs ``case`` on ``module``; under ``low_recursion_limit(headroom)``
    when ``headroom`` is given. Returns an Outcome."""
    name, args, kwargs = case[:3]
    reset_module(module)
    target = resolve(module, name)
    args = copy.deepcopy(args)
    kwargs = copy.deepcopy(kwargs)
    try:
        if headroom is None:
            value = target(*args, **kwargs)
        else:
            with low_recursion_limit(headroom):
                value = target(*args, **kwargs)
    except Exception as exc:
        result = ("raise", describe_exception(exc))
    else:
        result = ("return", normalize(value))
    snapshot = getattr(module, "snapshot_state", None)
    return Outcome(
        result=result,
        log=normalize(module.LOG),
        arguments=normalize((args, kwargs)),
        state=normalize(snapshot()) if snapshot is not None else None,
    )


@dataclasses.dataclass
class Comparison:
    case: tuple
    plain: Outcome
    transformed: Outcome

    @property
    def matches(self):
        return self.plain == self.transformed

    def describe(self):
        name, args, kwargs = self.case[:3]
        lines = [f"case {name}(*{args!r}, **{kwargs!r})"]
        plain = self.plain.as_dict()
        transformed = self.transformed.as_dict()
        for field in plain:
            if plain[field] != transformed[field]:
                lines.append(f"  {field} differs:")
                lines.append(f"    plain:       {plain[field]!r}")
                lines.append(f"    transformed: {transformed[field]!r}")
        if len(lines) == 1:
            lines.append("  outcomes are equal")
        return "\n".join(lines)


def run_case(module_plain, module_sx, case, headroom=None):
    """Runs ``case`` on both modules and returns a Comparison. ``headroom``,
    if given, applies ``low_recursion_limit`` to the transformed side only."""
    plain = run_one(module_plain, case)
    transformed = run_one(module_sx, case, headroom=headroom)
    return Comparison(case=tuple(case), plain=plain, transformed=transformed)


def assert_case_matches(module_plain, module_sx, case, headroom=None):
    comparison = run_case(module_plain, module_sx, case, headroom=headroom)
    assert comparison.matches, comparison.describe()
    return comparison


def run_deep_case(module_sx, deep_case, headroom=None):
    """Runs a deep case on the transformed module; returns
    ``(outcome, expected_result)`` where ``expected_result`` is in the form of
    ``outcome.result``."""
    name, args, kwargs, expected = deep_case
    outcome = run_one(module_sx, (name, args, kwargs), headroom=headroom)
    return outcome, ("return", normalize(expected))


# -- normalization ---------------------------------------------------------------


def type_key(cls):
    """Names a class so that the two loads of a module give the same name."""
    module = getattr(cls, "__module__", None) or "?"
    if module.startswith(MODULE_PREFIX):
        module = "<corpus>"
    return f"{module}.{cls.__qualname__}"


def describe_exception(exc, depth=0):
    if exc is None:
        return None
    if depth > 8:
        return ("...",)
    return (
        "exception",
        type_key(type(exc)),
        str(exc),
        normalize(exc.args),
        describe_exception(exc.__cause__, depth + 1),
        describe_exception(exc.__context__, depth + 1),
        exc.__suppress_context__,
    )


def normalize(value, _active=None):
    """A form of ``value`` that compares equal across the two loads."""
    if _active is None:
        _active = set()
    t = type(value)
    if value is None or t in (int, str, bytes):
        return value
    if t is bool:
        return ("bool", value)
    if t in (float, complex):
        return (t.__name__, repr(value))
    if id(value) in _active:
        return ("cycle", type_key(t))
    _active.add(id(value))
    try:
        if t in (list, tuple):
            return (t.__name__, [normalize(v, _active) for v in value])
        if t is dict:
            return ("dict", [(normalize(k, _active), normalize(v, _active)) for k, v in value.items()])
        if t in (set, frozenset):
            return (t.__name__, sorted(repr(normalize(v, _active)) for v in value))
        if isinstance(value, BaseException):
            return describe_exception(value)
        if isinstance(value, type):
            return ("class", type_key(value))
        if isinstance(value, types.ModuleType):
            return ("module", value.__name__ if not value.__name__.startswith(MODULE_PREFIX) else "<corpus>")
        if callable(value) and hasattr(value, "__qualname__"):
            return ("callable", value.__qualname__)
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict):
            return ("object", type_key(t), normalize(attributes, _active))
        return ("opaque", type_key(t))
    finally:
        _active.discard(id(value))
