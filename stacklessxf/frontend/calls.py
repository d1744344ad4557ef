"""Decide, for every call in a function, whether it may unwind.

A call *may unwind* when its callee is a stackless function, a switch
primitive, or something that cannot be identified when the function is
transformed.  A call of an ordinary Python function is *guarded*: that
function is plain today, but it may be made stackless later, in place (names
are bound late: ``f = stackless(f)`` after the definition), so the call gets
a resume point like a may-unwind one, without the test for a switch passing
by return.  Builtins and classes are plain: their frames run to completion,
so they can never unwind the caller.  Names are resolved in the function's
real globals at transform time, falling back to astroid for names bound later
in the module (forward references, the function's own name during
decoration).
"""

import builtins
import functools
import types

from astroid import bases, nodes
from astroid.exceptions import InferenceError

from ..runtime.records import SWITCH_BUILTINS

PLAIN, GUARDED, STACKLESS, SWITCH, UNKNOWN = "plain", "guarded", "stackless", "switch", "unknown"


def _method_descriptor_of(obj):
    """The descriptor a C method bound to an instance comes from, or None."""
    owner = getattr(obj, "__self__", None)
    if not isinstance(obj, types.BuiltinMethodType) or owner is None or \
            isinstance(owner, (type, types.ModuleType)):
        return None
    for klass in type(owner).__mro__:
        if obj.__name__ in klass.__dict__:
            return klass.__dict__[obj.__name__]
    return None


def classify_object(obj):
    """Classify a live callee object."""
    for candidate in (obj, getattr(obj, "__func__", None), _method_descriptor_of(obj)):
        if candidate is None:
            continue
        if getattr(candidate, "__stackless_switch__", False) or \
                any(candidate is builtin for builtin in SWITCH_BUILTINS):
            return SWITCH
        if getattr(candidate, "__stackless__", None) is not None:
            return STACKLESS
    if obj is builtins.next:
        # It runs a stackless generator's body, which may switch tasklets.
        return GUARDED
    if isinstance(obj, (classmethod, staticmethod)):
        return classify_object(obj.__func__)
    if isinstance(obj, functools.partial):
        return GUARDED if classify_object(obj.func) != PLAIN else PLAIN
    if isinstance(obj, types.FunctionType) or \
            isinstance(getattr(obj, "__func__", None), types.FunctionType):
        return GUARDED
    return PLAIN


def _is_stackless_decorator(expr):
    if isinstance(expr, nodes.Call):
        expr = expr.func
    if isinstance(expr, nodes.Name):
        return expr.name == "stackless"
    if isinstance(expr, nodes.Attribute):
        return expr.attrname == "stackless"
    return False


def is_stackless_def(node):
    """True for a def decorated with ``stackless`` (possibly under
    classmethod/staticmethod)."""
    decorators = node.decorators.nodes if node.decorators else []
    return any(_is_stackless_decorator(d) for d in decorators)


class Classifier:
    """``classify(call_node)`` for the calls of one function."""

    def __init__(self, function, funcdef):
        self.function = function
        self.globals = function.__globals__
        self.funcdef = funcdef
        self.local_names = set(funcdef.locals)
        self._cache = {}

    def __call__(self, call):
        key = id(call)
        if key not in self._cache:
            self._cache[key] = (SWITCH if isinstance(call, (nodes.Yield, nodes.YieldFrom))
                                else self._classify(call.func))
        return self._cache[key]

    def target(self, call):
        """The function's own qualname for a call of itself by its global
        name (inference may see several bindings of that name), else None."""
        func = getattr(call, "func", None)     # a yield has none
        if isinstance(func, nodes.Name) and func.lookup(func.name)[0] is call.root() and \
                self.globals.get(func.name, _MISSING) is self.function:
            return self.function.__qualname__
        return None

    def _classify(self, func):
        if isinstance(func, nodes.Name):
            return self._classify_name(func)
        if isinstance(func, nodes.Attribute):
            return self._classify_attribute(func)
        return UNKNOWN

    def _classify_name(self, name_node):
        name = name_node.name
        frame, _ = name_node.lookup(name)
        if not isinstance(frame, nodes.Module):
            return self._classify_by_inference(name_node)
        if name in self.globals:
            value = self.globals[name]
            # The function's own name: it is being made stackless in place.
            return STACKLESS if value is self.function else classify_object(value)
        if frame.name == "builtins" and hasattr(builtins, name):
            return classify_object(getattr(builtins, name))
        module_defs = frame.locals.get(name)
        if module_defs:
            return self._classify_definitions(module_defs)
        if hasattr(builtins, name):
            return classify_object(getattr(builtins, name))
        return UNKNOWN

    def _classify_definitions(self, definitions):
        kinds = set()
        for definition in definitions:
            if isinstance(definition, nodes.FunctionDef):
                kinds.add(STACKLESS if is_stackless_def(definition) else
                          PLAIN if definition.root().name == "builtins" else GUARDED)
            elif isinstance(definition, nodes.ClassDef):
                kinds.add(PLAIN)
            else:
                kinds.add(UNKNOWN)
        return kinds.pop() if len(kinds) == 1 else UNKNOWN

    def _classify_attribute(self, attr):
        obj = self._evaluate_global_chain(attr)
        if obj is not _MISSING:
            return classify_object(obj)
        if attr.attrname in GENERATOR_METHODS and _may_be_a_generator(attr.expr):
            # It resumes a generator's body, which may be stackless and switch.
            return GUARDED
        return self._classify_by_inference(attr)

    def _evaluate_global_chain(self, expr):
        """Value of ``a.b.c`` when ``a`` is a module-level global that is a
        module or class (attribute lookups on those have no side effects
        worth worrying about); _MISSING otherwise."""
        parts = []
        while isinstance(expr, nodes.Attribute):
            parts.append(expr.attrname)
            expr = expr.expr
        if not isinstance(expr, nodes.Name) or expr.name in self.local_names:
            return _MISSING
        obj = self.globals.get(expr.name, _MISSING)
        for part in reversed(parts):
            if not isinstance(obj, (types.ModuleType, type)):
                return _MISSING
            obj = getattr(obj, part, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj

    def _classify_by_inference(self, func):
        if rooted_in_a_parameter(func):
            return UNKNOWN
        try:
            inferred = list(func.infer())
        except (InferenceError, RecursionError):
            return UNKNOWN
        kinds = set()
        for value in inferred:
            kinds.add(self._classify_inferred(value))
            if UNKNOWN in kinds:
                return UNKNOWN
        if len(kinds) != 1:
            if SWITCH in kinds:
                return UNKNOWN
            return STACKLESS if STACKLESS in kinds else GUARDED
        return kinds.pop()

    def _classify_inferred(self, value):
        # Bound and unbound methods are proxies around the FunctionDef.
        for _ in range(3):
            if isinstance(value, (nodes.FunctionDef, nodes.ClassDef)):
                break
            value = getattr(value, "_proxied", None)
        if isinstance(value, nodes.FunctionDef):
            if is_stackless_def(value):
                return STACKLESS
            if value.root().name == "builtins":
                return PLAIN
            # A method may be overridden by a stackless one in a subclass;
            # a plain module-level function may be made stackless in place.
            return GUARDED if value.parent is value.root() else UNKNOWN
        if isinstance(value, nodes.ClassDef):
            return PLAIN
        return UNKNOWN


def rooted_in_a_parameter(expr, _seen=None):
    """Whether inference finds "anything" among the values of ``expr``
    (``p``, ``p.a``, ``p(...)``, ``p[k]`` and their combinations) because
    it starts at a name with a binding that gives "anything": a parameter of
    its function, other than its first, or an assignment of such a value.
    Without a call to go by, inference gives a parameter that value (after
    its default, if there is one), and an attribute, call or item of it
    too; one such value among a name's bindings makes the callee unknown,
    whatever else is found.  Inferring it would first infer the function's
    decorators (to tell a method from a static one), which may read whole
    modules, and the other bindings' values, which may too."""
    while isinstance(expr, (nodes.Attribute, nodes.Call, nodes.Subscript)):
        expr = expr.func if isinstance(expr, nodes.Call) else \
            expr.value if isinstance(expr, nodes.Subscript) else expr.expr
    if not isinstance(expr, nodes.Name):
        return False
    seen = set() if _seen is None else _seen
    frame, bindings = expr.lookup(expr.name)
    arguments = getattr(frame, "args", None)
    parameters = arguments.arguments if isinstance(arguments, nodes.Arguments) else None
    for binding in bindings:
        if binding in seen:
            continue
        seen.add(binding)
        if binding.parent is arguments and parameters and binding.name != parameters[0].name:
            return True
        assignment = binding.parent
        if isinstance(assignment, nodes.Assign) and assignment.targets == [binding] and \
                rooted_in_a_parameter(assignment.value, seen):
            return True
    return False


GENERATOR_METHODS = frozenset({"send", "throw", "close", "__next__"})


def _may_be_a_generator(expr):
    try:
        return any(isinstance(value, bases.Generator) for value in expr.infer())
    except (InferenceError, RecursionError):
        return True


class _Missing:
    __slots__ = ()


_MISSING = _Missing()
