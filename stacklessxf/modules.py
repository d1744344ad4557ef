"""Whole modules and classes made stackless: every function and method
defined in them, each refused one left plain with a TransformWarning."""

import collections
import inspect
import types
import warnings

from .errors import TransformError, TransformWarning

ModuleTransform = collections.namedtuple("ModuleTransform", "transformed skipped")
ModuleTransform.__doc__ = """What transform_module or transform_class did: the
qualified names of the functions made stackless, and (qualname, reason) of
those left plain."""


def transform_module(module):
    """Makes every function and method defined in ``module`` stackless, in
    place; a function the transform refuses stays plain, with a warning."""
    result, seen = ModuleTransform([], []), set()
    for value in list(vars(module).values()):
        _transform_member(value, module.__name__, result, seen)
    return result


def transform_class(cls):
    """Makes every method of ``cls`` (and of the classes defined in it)
    stackless, in place, as :func:`transform_module` does."""
    result = ModuleTransform([], [])
    _transform_class(cls, cls.__module__, result, set())
    return result


def make_stackless_or_warn(function, result=None):
    """``function`` made stackless in place, or left plain with a warning
    naming why; returns ``function`` (usable as a decorator)."""
    from . import core
    info = getattr(function, "__stackless__", None)
    if info is not None and info.function is function:
        return function
    code = function.__code__
    try:
        core.stackless(function)
    except TransformError as exc:
        construct = f" [{exc.construct}]" if exc.construct else ""
        _warn_plain(function, exc.message + construct, result,
                    exc.filename or code.co_filename, exc.lineno or code.co_firstlineno)
    except TypeError as exc:
        _warn_plain(function, str(exc), result, code.co_filename, code.co_firstlineno)
    except Exception as exc:  # a fault of the transform: the program still runs
        _warn_plain(function, f"internal error of the transform, {type(exc).__name__}: "
                              f"{exc}", result, code.co_filename, code.co_firstlineno)
    else:
        if result is not None:
            result.transformed.append(function.__qualname__)
    return function


def _warn_plain(function, reason, result, filename, lineno):
    if result is not None:
        result.skipped.append((function.__qualname__, reason))
    warnings.warn_explicit(f"{function.__qualname__} stays plain: {reason}",
                           TransformWarning, filename, lineno, module=function.__module__)


def _transform_member(value, module_name, result, seen):
    """``seen``: the ids of the classes and functions met already."""
    if isinstance(value, type):
        if value.__module__ == module_name:
            _transform_class(value, module_name, result, seen)
        return
    for function in _functions_in(value):
        if function.__module__ == module_name and id(function) not in seen:
            seen.add(id(function))
            make_stackless_or_warn(function, result)


def _transform_class(cls, module_name, result, seen):
    if id(cls) in seen:
        return
    seen.add(id(cls))
    for value in list(vars(cls).values()):
        _transform_member(value, module_name, result, seen)


def _functions_in(value):
    """The functions that ``value`` holds: itself, the function a method
    descriptor or a property holds, or the function a decorator wrapped
    (``functools.wraps`` records it)."""
    if isinstance(value, (classmethod, staticmethod)):
        value = value.__func__
    if isinstance(value, property):
        return [f for part in (value.fget, value.fset, value.fdel) for f in _functions_in(part)]
    if not callable(value) or isinstance(value, type):
        return []
    try:
        value = inspect.unwrap(value)
    except ValueError:   # a cycle of __wrapped__
        return []
    return [value] if isinstance(value, types.FunctionType) else []
