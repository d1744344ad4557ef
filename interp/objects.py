"""App-level objects: functions, classes, instances, cells, frames, and the
named *special* entries that stand between two frames.

Everything here is app-level data, pickled by value in a checkpoint (code
objects and builtins by name).  A tasklet's activations form a chain: its
``top`` entry (innermost), each entry's ``back`` link, down to the
:class:`~interp.tasklets.AppTasklet` itself.  Most entries are frames; the
others are special entries, each the state of an interpreter helper that has
work left after the app call it made (see :data:`SPECIALS`).
"""

class _Marker:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<{self.name}>"

    def __reduce__(self):
        return self.name


EMPTY = _Marker("EMPTY")          # an unbound local or an empty cell
EXHAUSTED = _Marker("EXHAUSTED")  # what an exhausted iterator hands FOR_ITER


class Cell:
    __slots__ = ("value",)

    def __init__(self, value=EMPTY):
        self.value = value

    def __getstate__(self):
        return self.value

    def __setstate__(self, value):
        self.value = value


class Function:
    __slots__ = ("code", "globals", "defaults", "closure", "name", "owner")

    def __init__(self, code, globals_, defaults, closure):
        self.code = code
        self.globals = globals_
        self.defaults = defaults
        self.closure = closure
        self.name = code.name
        self.owner = None       # the class whose body defined it

    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        for name, value in state.items():
            setattr(self, name, value)

    def __repr__(self):
        return f"<function {self.code.path}>"


class Method:
    __slots__ = ("func", "self")

    def __init__(self, func, self_):
        self.func = func
        self.self = self_

    def __getstate__(self):
        return self.func, self.self

    def __setstate__(self, state):
        self.func, self.self = state

    def __repr__(self):
        return f"<bound method {self.func.code.path}>"


class Class:
    """An app class: single inheritance from another app class, or from a
    builtin exception class (or nothing)."""

    def __init__(self, name, base, namespace, path):
        self.name = name
        self.base = base
        self.dict = namespace
        self.path = path

    def lookup(self, name):
        """The attribute ``name`` of the class or its bases; None when absent."""
        cls = self
        while type(cls) is Class:
            value = cls.dict.get(name, EMPTY)
            if value is not EMPTY:
                return value
            cls = cls.base
        return None

    def builtin_base(self):
        cls = self
        while type(cls) is Class:
            cls = cls.base
        return cls

    def is_subclass(self, other):
        cls = self
        while type(cls) is Class:
            if cls is other:
                return True
            cls = cls.base
        return cls is not None and isinstance(other, type) and issubclass(cls, other)

    def __repr__(self):
        return f"<class '{self.name}'>"


class Instance:
    """An instance of an app class.  Python's own protocols (``str()``,
    ``==`` inside a list, hashing) reach the app's methods through the
    ``__dunder__`` methods below, which run app code to its end: a switch
    inside them is refused (a ``SwitchError``)."""

    __slots__ = ("cls", "attrs", "args", "traceback", "__weakref__")

    def __init__(self, cls):
        self.cls = cls
        self.attrs = {}
        self.args = ()
        self.traceback = None

    def __getstate__(self):
        return self.cls, self.attrs, self.args, self.traceback

    def __setstate__(self, state):
        self.cls, self.attrs, self.args, self.traceback = state

    def _app(self, name, *args):
        method = self.cls.lookup(name)
        if method is None:
            return NotImplemented
        from .eval import call_nested
        return call_nested(method, [self, *args])

    def __str__(self):
        result = self._app("__str__")
        if result is NotImplemented:
            return self.__repr__()
        return result

    def __repr__(self):
        result = self._app("__repr__")
        if result is not NotImplemented:
            return result
        if self.cls.builtin_base() is not None and issubclass(self.cls.builtin_base(),
                                                              BaseException):
            return f"{self.cls.name}{self.args!r}" if len(self.args) != 1 else \
                f"{self.cls.name}({self.args[0]!r})"
        return f"<{self.cls.name} object>"

    def exception_text(self):
        if self.cls.lookup("__str__") is not None:
            return str(self)
        if not self.args:
            return ""
        return str(self.args[0]) if len(self.args) == 1 else str(self.args)

    def __eq__(self, other):
        result = self._app("__eq__", other)
        return self is other if result is NotImplemented else result

    def __lt__(self, other):
        return self._app("__lt__", other)

    def __gt__(self, other):
        return self._app("__gt__", other)

    def __add__(self, other):
        return self._app("__add__", other)

    def __radd__(self, other):
        return self._app("__radd__", other)

    def __hash__(self):
        result = self._app("__hash__")
        return id(self) if result is NotImplemented else result

    def __len__(self):
        result = self._app("__len__")
        if result is NotImplemented:
            raise TypeError(f"object of type '{self.cls.name}' has no len()")
        return result

    def __contains__(self, item):
        result = self._app("__contains__", item)
        if result is NotImplemented:
            raise TypeError(f"argument of type '{self.cls.name}' is not iterable")
        return result

    def __bool__(self):
        result = self._app("__bool__")
        if result is NotImplemented:
            result = self._app("__len__")
            return True if result is NotImplemented else bool(result)
        return result


class Super:
    __slots__ = ("cls", "obj")

    def __init__(self, cls, obj):
        self.cls = cls
        self.obj = obj


class AppException(Exception):
    """Carries an instance of an app exception class through the interpreter."""

    def __init__(self, instance):
        super().__init__(instance)
        self.instance = instance


class Builtin:
    """An interpreter-level builtin the app calls: ``fn(args, kwargs, caller)``."""

    def __init__(self, name, fn, python_type=None):
        self.name = name
        self.fn = fn
        self.python_type = python_type    # what isinstance() takes it for

    def __reduce__(self):
        return builtin_named, (self.name,)

    def __repr__(self):
        return f"<built-in function {self.name}>"


class BuiltinMethod:
    """A builtin bound to a Python object of the interpreter's (a channel):
    ``fn(obj, args, kwargs, caller)``."""

    __slots__ = ("fn", "obj")

    def __init__(self, fn, obj):
        self.fn = fn
        self.obj = obj


BUILTINS = {}


def builtin_named(name):
    return BUILTINS[name]


class AppModule:
    """The app's ``stackless`` module."""

    def __init__(self, name, namespace):
        self.name = name
        self.dict = namespace

    def __reduce__(self):
        return app_module_named, (self.name,)


MODULES = {}


def app_module_named(name):
    return MODULES[name]


class AppMap:
    """The app's ``map(f, *iterables)``: lazy, as CPython's.  The evaluation
    loop and the builtins that consume it call the function themselves; any
    other Python code iterating over it runs each call to its end."""

    def __init__(self, func, iterators):
        self.func = func
        self.iterators = iterators

    def __iter__(self):
        return self

    def __next__(self):
        from .eval import call_nested, next_arguments
        args = next_arguments(self)
        if args is EXHAUSTED:
            raise StopIteration
        return call_nested(self.func, args)


class Frame:
    """An app-level activation: code, instruction index, value stack, locals
    (or the namespace of a module or class body), cells, and the back link."""

    __slots__ = ("code", "func", "globals", "namespace", "locals", "cells", "stack", "pc",
                 "error", "back", "tasklet")

    def __init__(self, code, func, globals_, namespace, locals_, cells, back):
        self.code = code
        self.func = func
        self.globals = globals_
        self.namespace = namespace
        self.locals = locals_
        self.cells = cells
        self.stack = []
        self.pc = 0
        self.error = None       # raised at pc when the frame goes on
        self.back = back
        self.tasklet = back.tasklet

    def __getstate__(self):
        # The back link is the tasklet's to restore: a chain 100,000 frames
        # deep pickles as a flat list, not as 100,000 nested objects.
        return {name: getattr(self, name) for name in self.__slots__ if name != "back"}

    def __setstate__(self, state):
        for name, value in state.items():
            setattr(self, name, value)

    def describe(self):
        return self.code.path


class Special:
    """A helper's state between the app call it made and the work it has
    left; ``kind`` is the documented name a checkpoint and ``records`` use."""

    kind = "special"
    __slots__ = ("back", "tasklet")

    def __init__(self, back):
        self.back = back
        self.tasklet = back.tasklet

    def __getstate__(self):
        return {name: getattr(self, name) for cls in type(self).__mro__
                for name in getattr(cls, "__slots__", ()) if name != "back"}

    def __setstate__(self, state):
        for name, value in state.items():
            setattr(self, name, value)

    def describe(self):
        return f"special: {self.kind}"


class InitCheck(Special):
    kind = "__init__ result check"
    __slots__ = ("obj",)

    def __init__(self, back, obj):
        super().__init__(back)
        self.obj = obj


class ReflectedOperator(Special):
    kind = "operator with reflected fallback"
    __slots__ = ("name", "left", "right")

    def __init__(self, back, name, left, right):
        super().__init__(back)
        self.name, self.left, self.right = name, left, right


class Collecting(Special):
    kind = "builtin consuming map"
    __slots__ = ("source", "items", "builtin", "kwargs")

    def __init__(self, back, source, builtin, kwargs):
        super().__init__(back)
        self.source = source
        self.items = []
        self.builtin = builtin      # the name of the builtin it collects for
        self.kwargs = kwargs


class ClassBody(Special):
    kind = "class body"
    __slots__ = ("code", "bases", "namespace")

    def __init__(self, back, code, bases, namespace):
        super().__init__(back)
        self.code, self.bases, self.namespace = code, bases, namespace


# The special entries, by kind, with the reason each one is irreducible.
SPECIALS = {
    InitCheck.kind: "a class call has work left after `__init__` returns: check that it "
                    "returned None, then hand back the new object",
    ReflectedOperator.kind: "after `__add__` (or `__eq__`, `__lt__`, ...) returns, "
                            "NotImplemented still sends the operation to the right operand's "
                            "reflected method, so both operands are kept",
    Collecting.kind: "`list()`, `sorted()`, `sum()`, `min()`, `max()` or `tuple()` over a "
                     "`map` calls the app function once per item and keeps what it has "
                     "collected so far",
    ClassBody.kind: "after a class body runs, its namespace becomes the class",
}
