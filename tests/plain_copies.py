"""Plain copies of functions, for tests that compare a function made
stackless (in place) with what it was."""

import types


def plain_copy(function):
    """A new function object running ``function``'s code as CPython compiled
    it (its code before the transform, if it is stackless), with the same
    globals, name, defaults and closure."""
    info = getattr(function, "__stackless__", None)
    code = info.original_code if info is not None else function.__code__
    copy = types.FunctionType(code, function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    return copy
