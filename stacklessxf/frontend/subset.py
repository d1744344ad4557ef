"""The Python subset a stackless function may use.

Besides the check itself, this module holds what the checker and the lowering
must agree on: which parts of the source run in the function's own frame, in
which order CPython evaluates them, and which names are variables of the
function.  Nested functions, lambdas, classes and comprehensions are separate
code objects; only their *headers* (decorators, defaults, bases, the outermost
iterable of a comprehension) run in the enclosing frame.
"""

from astroid import nodes

from stacklessxf.errors import TransformError
from stacklessxf.frontend.genexprs import origin
from stacklessxf.runtime.values import CPYTHON_GENEXPRS_PICKLE

MAY_UNWIND = frozenset({"guarded", "stackless", "switch", "unknown"})
SUSPENDING = frozenset({"stackless", "switch"})

NESTED_SCOPES = (nodes.Lambda, nodes.FunctionDef, nodes.ClassDef, nodes.ComprehensionScope)

SUPPORTED_STATEMENTS = (
    nodes.Assign, nodes.AugAssign, nodes.AnnAssign, nodes.Expr, nodes.If, nodes.While,
    nodes.For, nodes.Try, nodes.With, nodes.Return, nodes.Raise, nodes.Assert,
    nodes.Delete, nodes.Pass, nodes.Break, nodes.Continue, nodes.Global, nodes.Nonlocal,
    nodes.Import, nodes.ImportFrom, nodes.FunctionDef, nodes.ClassDef,
)

SUPPORTED_EXPRESSIONS = (
    nodes.Name, nodes.Const, nodes.Attribute, nodes.Subscript, nodes.Slice, nodes.BinOp,
    nodes.BoolOp, nodes.UnaryOp, nodes.Compare, nodes.IfExp, nodes.Call, nodes.Keyword,
    nodes.Starred, nodes.Tuple, nodes.List, nodes.Set, nodes.Dict, nodes.DictUnpack,
    nodes.JoinedStr, nodes.FormattedValue, nodes.NamedExpr, nodes.Lambda,
    nodes.ComprehensionScope, nodes.AssignName, nodes.AssignAttr, nodes.DelName,
    nodes.DelAttr, nodes.ExceptHandler, nodes.Decorators,
)

# In a generator function, yields are calls of the runtime's yield primitives.
YIELDS = (nodes.Yield, nodes.YieldFrom)

# Constructs refused wherever they appear in the function's own frame, checked
# before the general whitelist so that the message can say what they are.
# Subclasses come before their bases (YieldFrom is a Yield, AsyncFor a For...).
REFUSED = (
    (nodes.YieldFrom, "yield from", "a stackless function cannot be a generator"),
    (nodes.Yield, "yield", "a stackless function cannot be a generator"),
    (nodes.Await, "await", "a stackless function cannot await"),
    (nodes.AsyncFor, "async for", "async for is not supported in a stackless function"),
    (nodes.AsyncWith, "async with", "async with is not supported in a stackless function"),
    (nodes.TryStar, "try/except*", "try/except* is not supported in a stackless function"),
    (nodes.Match, "match", "match statements are not supported yet; use if/elif"),
)


# ---------------------------------------------------------------- inlined comprehensions

# Comprehensions whose bodies make a stackless or switching call run inline,
# as loops of the function's own frame (as CPython 3.12 compiles every
# comprehension): their calls are resume points of the function.  A
# generator expression does when it is the one positional argument of a
# builtin that consumes it whole (the builtin then gets the list of its
# items, computed first).  The set holds astroid nodes, marked when their
# function is checked.
_INLINED = set()

CONSUMERS = frozenset({"sum", "max", "min", "sorted", "list", "tuple", "set", "frozenset"})
# Builtins that consume a generator expression up to the first item that
# decides their result: run inline, the loops stop there too.
DECIDING = {"any": True, "all": False}
INLINABLE = (nodes.ListComp, nodes.SetComp, nodes.DictComp, nodes.GeneratorExp)


def comprehension_parts(scope):
    """The sub-nodes of an inlined comprehension, in the order they run."""
    parts = []
    for generator in scope.generators:
        parts += [generator.iter, generator.target, *generator.ifs]
    if isinstance(scope, nodes.DictComp):
        return parts + [scope.key, scope.value]
    return parts + [scope.elt]


def is_inlined(node):
    return node in _INLINED


def inlined_comprehensions(funcdef):
    """The comprehensions of ``funcdef`` that run inline, in source order."""
    return [node for statement in funcdef.body for node in walk_frame(statement)
            if node in _INLINED]


def _mark_inlined(funcdef, filename, classify):
    scopes = [node for node in funcdef.nodes_of_class(nodes.ComprehensionScope)
              if _only_comprehensions_between(node, funcdef)]
    for scope in scopes:
        _INLINED.discard(scope)
    for scope in scopes:
        if isinstance(scope, INLINABLE) and _makes_suspending_call(scope, classify) and \
                (not isinstance(scope, nodes.GeneratorExp) or _consumed_whole(scope, classify)):
            _INLINED.add(scope)


def _only_comprehensions_between(node, funcdef):
    scope = node.parent.scope()
    while scope is not funcdef and scope is not origin(funcdef):
        if not isinstance(scope, nodes.ComprehensionScope):
            return False
        scope = scope.parent.scope()
    return True


def _makes_suspending_call(scope, classify):
    stack = list(comprehension_parts(scope))
    stack.remove(scope.generators[0].iter)     # runs outside it anyway
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.Call) and classify(node) in SUSPENDING:
            return True
        if not isinstance(node, (nodes.Lambda, nodes.FunctionDef, nodes.ClassDef)):
            stack.extend(node.get_children())
    return False


def _consumed_whole(genexpr, classify):
    """Whether ``genexpr`` is the only positional argument of a call of one
    of the builtins CONSUMERS, or the only argument of one of DECIDING."""
    call = genexpr.parent
    if not isinstance(call, nodes.Call) or call.args != [genexpr] or \
            not isinstance(call.func, nodes.Name) or \
            call.func.name not in CONSUMERS and \
            (call.func.name not in DECIDING or call.keywords):
        return False
    return _names_the_builtin(call.func, classify)


def _names_the_builtin(name, classify):
    frame, _ = name.lookup(name.name)
    return frame.name == "builtins" and name.name not in getattr(classify, "globals", {})


# ---------------------------------------------------------------- stackless generator expressions

# The other generator expressions of a stackless function run as stackless
# generators (``frontend.genexprs`` gives each one's function) when they
# make a suspending call, or when their generator may be alive at a resume
# point of the function and CPython's would not pickle there.  The rest stay
# CPython's, about ninety times quicker per item: those consumed by a
# builtin call or looped over by a ``for`` whose body has no resume point,
# and those that pickle by their parts (``runtime.values``: one ``for``
# clause, no scope inside).  One that binds a name of the function (a
# walrus) stays CPython's too.
# Node -> whether it must be stackless (it makes a suspending call) rather
# than only be better so (it is held).
_STACKLESS_GENEXPRS = {}

CONSUMING = CONSUMERS | DECIDING.keys() | {"next", "dict"}


def stackless_genexprs(funcdef):
    """The generator expressions of ``funcdef`` that run as stackless
    generators, in source order, with whether each makes a suspending call."""
    return [(node, _STACKLESS_GENEXPRS[node]) for statement in funcdef.body
            for node in walk_frame(statement) if node in _STACKLESS_GENEXPRS]


def _mark_stackless_genexprs(funcdef, classify):
    genexprs = [node for statement in funcdef.body for node in walk_frame(statement)
                if isinstance(node, nodes.GeneratorExp) and node not in _INLINED]
    for genexpr in genexprs:
        _STACKLESS_GENEXPRS.pop(genexpr, None)
        if _binds_outside(genexpr):
            continue
        suspends = _makes_suspending_call(genexpr, classify)
        if suspends or not (_used_up_at_once(genexpr, classify) or _pickles_by_parts(genexpr)):
            _STACKLESS_GENEXPRS[genexpr] = suspends


def _pickles_by_parts(genexpr):
    """Whether CPython's generator for ``genexpr`` pickles (see
    ``runtime.values``): one clause, and no scope inside it that could loop
    in its code (a comprehension on 3.12) or capture its variable."""
    own_parts = comprehension_parts(genexpr)[1:]      # its iterable runs outside it
    return CPYTHON_GENEXPRS_PICKLE and len(genexpr.generators) == 1 and not any(
        True for part in own_parts for _ in part.nodes_of_class(NESTED_SCOPES))


_OWN_CODE = (nodes.Lambda, nodes.FunctionDef, nodes.ClassDef)


def _binds_outside(genexpr):
    return any(True for _ in genexpr.nodes_of_class(nodes.NamedExpr, skip_klass=_OWN_CODE))


def _used_up_at_once(genexpr, classify):
    """Whether ``genexpr``'s generator is dropped before the function
    reaches a resume point."""
    parent = genexpr.parent
    if isinstance(parent, nodes.Call) and genexpr in parent.args and _consumes(parent, classify):
        later = parent.args[parent.args.index(genexpr) + 1:] + parent.keywords
        return not any(_has_resume_point(part, classify) for part in later)
    if isinstance(parent, nodes.For) and parent.iter is genexpr:
        return not any(_has_resume_point(part, classify) for part in parent.body + parent.orelse)
    return False


def _consumes(call, classify):
    """A call of a builtin that is done with its argument when it returns."""
    func = call.func
    if isinstance(func, nodes.Attribute):
        return func.attrname == "join" and isinstance(func.expr, nodes.Const) and \
            isinstance(func.expr.value, (str, bytes))
    return isinstance(func, nodes.Name) and func.name in CONSUMING and \
        _names_the_builtin(func, classify)


def _has_resume_point(root, classify):
    return any(isinstance(node, YIELDS) or isinstance(node, nodes.Call) and
               classify(node) in MAY_UNWIND for node in walk_frame(root))


def deciding_item(genexpr):
    """For an inlined generator expression consumed by ``any`` (True) or
    ``all`` (False): the truth of the item that decides the call's result,
    at which the loops stop; None for any other."""
    call = genexpr.parent
    if isinstance(genexpr, nodes.GeneratorExp) and genexpr in _INLINED and \
            isinstance(call.func, nodes.Name):
        return DECIDING.get(call.func.name)
    return None


# ---------------------------------------------------------------- walking


def annotations_evaluated(node):
    return "annotations" not in node.root().future_imports


def header_parts(scope):
    """The sub-nodes of a nested scope that run in the enclosing frame, in order."""
    if isinstance(scope, nodes.ComprehensionScope):
        return [scope.generators[0].iter]
    if isinstance(scope, nodes.ClassDef):
        keywords = [keyword.value for keyword in scope.keywords]
        # astroid keeps the metaclass keyword apart from the others.
        metaclass = getattr(scope, "_metaclass", None)
        if metaclass is not None:
            keywords.append(metaclass)
        keywords.sort(key=lambda node: (node.lineno, node.col_offset))
        return _decorators(scope) + list(scope.bases) + keywords
    arguments = scope.args
    defaults = list(arguments.defaults)
    defaults += [default for default in arguments.kw_defaults if default is not None]
    if not isinstance(scope, nodes.FunctionDef):
        return defaults  # a lambda
    annotations = _annotations(scope) if annotations_evaluated(scope) else []
    return _decorators(scope) + defaults + annotations


def _decorators(scope):
    return list(scope.decorators.nodes) if scope.decorators else []


def _annotations(funcdef):
    arguments = funcdef.args
    found = list(arguments.posonlyargs_annotations) + list(arguments.annotations)
    found.append(arguments.varargannotation)
    found += list(arguments.kwonlyargs_annotations)
    found += [arguments.kwargannotation, funcdef.returns]
    return [annotation for annotation in found if annotation is not None]


def frame_children(node):
    """Direct sub-nodes of `node` that run in the same frame as `node`."""
    if node in _INLINED:
        return comprehension_parts(node)
    if isinstance(node, NESTED_SCOPES):
        return header_parts(node)
    if isinstance(node, nodes.AnnAssign):
        # A function never evaluates the annotation of a local variable.
        return [node.target] + ([node.value] if node.value is not None else [])
    return list(node.get_children())


def walk_frame(root):
    """`root` and every node below it that runs in the same frame, in source order."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(frame_children(node)))


def frame_calls(funcdef):
    """Every Call node of the function's body that runs in the function's own
    frame, and in a generator function every yield (a call of a yield
    primitive once compiled)."""
    return [
        node
        for statement in funcdef.body
        for node in walk_frame(statement)
        if isinstance(node, (nodes.Call, *YIELDS))
    ]


def is_generator(funcdef):
    """Whether a yield runs in the function's own frame."""
    return any(isinstance(node, YIELDS) for node in frame_calls(funcdef))


def callee_text(call):
    """The callee of a call as written; ``yield`` or ``yield from`` for a yield."""
    if isinstance(call, nodes.YieldFrom):
        return "yield from"
    if isinstance(call, nodes.Yield):
        return "yield"
    return call.func.as_string()


def _unwrap(node):
    if isinstance(node, (nodes.Starred, nodes.Keyword)):
        return node.value
    return node


def target_operands(target):
    """Sub-expressions of an assignment or deletion target, in evaluation order."""
    if isinstance(target, (nodes.AssignAttr, nodes.DelAttr)):
        return [target.expr]
    if isinstance(target, nodes.Subscript):
        return [target.value, target.slice]
    if isinstance(target, (nodes.Tuple, nodes.List)):
        return [part for element in target.elts for part in target_operands(element)]
    if isinstance(target, nodes.Starred):
        return target_operands(target.value)
    return []


def operands(node):
    """Sub-expressions of `node` evaluated in the function's frame, in the order
    CPython evaluates them.  Defined for expressions, simple statements, nested
    scopes (their headers) and deletion targets."""
    if isinstance(node, NESTED_SCOPES):
        return header_parts(node)
    if isinstance(node, nodes.Call):
        return [node.func, *map(_unwrap, node.args), *map(_unwrap, node.keywords)]
    if isinstance(node, nodes.Dict):
        return [part for key, value in node.items for part in _dict_item(key, value)]
    if isinstance(node, nodes.JoinedStr):
        return [
            part for value in node.values
            if isinstance(value, nodes.FormattedValue) for part in operands(value)
        ]
    if isinstance(node, nodes.Compare):
        return [node.left] + [comparator for _, comparator in node.ops]
    if isinstance(node, nodes.Assign):
        return [node.value] + [part for target in node.targets for part in target_operands(target)]
    if isinstance(node, nodes.AugAssign):
        return target_operands(node.target) + [node.value]
    if isinstance(node, nodes.AnnAssign):
        value = [node.value] if node.value is not None else []
        return value + target_operands(node.target)
    if isinstance(node, nodes.Delete):
        return [part for target in node.targets for part in target_operands(target)]
    if isinstance(node, (nodes.AssignName, nodes.DelName, nodes.AssignAttr, nodes.DelAttr)):
        return target_operands(node)
    if isinstance(node, nodes.NamedExpr):
        return [node.value]
    return [_unwrap(child) for child in node.get_children()]


def _dict_item(key, value):
    if isinstance(key, nodes.DictUnpack):
        return [value]
    return [key, value]


def source_span(node):
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)


def compiled_spans(call):
    """The positions CPython may give ``call``'s call instruction: its own
    span, and for a method call whose method name is not on the call's first
    line (a chain split over lines), a span that starts at the method's name."""
    spans = [source_span(call)]
    func = getattr(call, "func", None)
    if isinstance(func, nodes.Attribute) and func.end_lineno != call.lineno:
        start = func.end_col_offset - len(func.attrname)
        spans.append((func.end_lineno, start, call.end_lineno, call.end_col_offset))
    return spans


# ---------------------------------------------------------------- scopes


class _ScopeScan:
    """The names one scope binds, reads and declares, and its nested scopes."""

    def __init__(self, scope):
        self.scope = scope
        self.bound = {}  # insertion-ordered set
        self.reads = set()
        self.globals = set()
        self.nonlocals = set()
        self.walrus_out = set()  # walrus targets of a comprehension: bound outside it
        self.children = []
        if isinstance(scope, (nodes.Lambda, nodes.FunctionDef)):
            for name in parameter_names(scope):
                self.bound[name] = None
        for node in _scope_contents(scope):
            for inner in walk_frame(node):
                self._note(inner)

    def _note(self, node):
        if isinstance(node, NESTED_SCOPES):
            self.children.append(node)
            if isinstance(node, (nodes.FunctionDef, nodes.ClassDef)):
                self.bound[node.name] = None
        elif isinstance(node, nodes.Name):
            self.reads.add(node.name)
        elif isinstance(node, (nodes.AssignName, nodes.DelName)):
            self._note_binding(node)
        elif isinstance(node, nodes.Global):
            self.globals.update(node.names)
        elif isinstance(node, nodes.Nonlocal):
            self.nonlocals.update(node.names)
        elif isinstance(node, (nodes.Import, nodes.ImportFrom)):
            for name, alias in node.names:
                self.bound[alias or name.split(".")[0]] = None

    def _note_binding(self, node):
        if isinstance(node.parent, nodes.NamedExpr) and isinstance(
            self.scope, nodes.ComprehensionScope
        ):
            self.walrus_out.add(node.name)
            return
        self.bound[node.name] = None
        if isinstance(node.parent, nodes.AugAssign):
            self.reads.add(node.name)

    def local_names(self):
        return [
            name for name in self.bound
            if name not in self.globals and name not in self.nonlocals
        ]


def _inside_class(funcdef):
    scope = funcdef.parent
    while scope is not None:
        if isinstance(scope, nodes.ClassDef):
            return True
        scope = scope.parent
    return False


def is_zero_argument_super(node):
    """`super()`: it reads the enclosing class and the first parameter."""
    return (
        isinstance(node, nodes.Call) and isinstance(node.func, nodes.Name)
        and node.func.name == "super" and not node.args and not node.keywords
    )


def parameter_names(function):
    arguments = function.args
    names = [arg.name for arg in arguments.posonlyargs + arguments.args]
    if arguments.vararg:
        names.append(arguments.vararg)
    names += [arg.name for arg in arguments.kwonlyargs]
    if arguments.kwarg:
        names.append(arguments.kwarg)
    return names


def _scope_contents(scope):
    """The sub-nodes of a scope that run in the scope's own frame."""
    if isinstance(scope, nodes.Lambda):
        return [scope.body]
    if isinstance(scope, (nodes.FunctionDef, nodes.ClassDef)):
        return list(scope.body)
    contents = []
    for index, generator in enumerate(scope.generators):
        contents.append(generator.target)
        if index > 0:
            contents.append(generator.iter)
        contents += generator.ifs
    if isinstance(scope, nodes.DictComp):
        return contents + [scope.key, scope.value]
    return contents + [scope.elt]


class FunctionScope:
    """The variables of one function, classified the way CPython does:
    parameters, locals, cell variables (captured by a nested scope) and free
    variables (captured from an enclosing function, or declared nonlocal).
    Globals and builtins are not variables."""

    def __init__(self, funcdef):
        self._scans = {}
        self._free = {}
        scan = self._scan(funcdef)
        self.params = tuple(parameter_names(funcdef))
        inner_free = set().union(*(self.free_names(child) for child in scan.children))
        locals_ = scan.local_names()
        for name in sorted(self._walrus_targets(scan)):
            if name not in locals_:
                locals_.append(name)
        self.cellvars = frozenset(name for name in locals_ if name in inner_free)
        outside = (scan.reads | inner_free) - set(locals_) - scan.globals
        visible = self._enclosing_function_names(funcdef)
        if _inside_class(funcdef):
            visible.add("__class__")  # made by the class for zero-argument super()
            if "super" in outside:
                outside.add("__class__")
        self.freevars = frozenset(scan.nonlocals | (outside & visible))
        rest = [name for name in locals_ if name not in self.params]
        self.variables = self.params + tuple(rest) + tuple(sorted(self.freevars))
        self.variable_set = frozenset(self.variables)

    def _scan(self, scope):
        if scope not in self._scans:
            self._scans[scope] = _ScopeScan(scope)
        return self._scans[scope]

    def _walrus_targets(self, scan):
        found = set()
        for child in scan.children:
            if isinstance(child, nodes.ComprehensionScope):
                child_scan = self._scan(child)
                found |= child_scan.walrus_out | self._walrus_targets(child_scan)
        return found

    def free_names(self, scope):
        """Names a nested scope takes from outside itself (recursively)."""
        if scope not in self._free:
            scan = self._scan(scope)
            inner = set().union(*(self.free_names(child) for child in scan.children))
            if isinstance(scope, nodes.ClassDef):
                # A class body's own names are invisible to the scopes nested in it.
                own = scan.reads - set(scan.bound)
                free = (own | inner) - scan.globals
            else:
                wanted = scan.reads | scan.nonlocals | scan.walrus_out | inner
                free = wanted - set(scan.local_names()) - scan.globals
            self._free[scope] = frozenset(free)
        return self._free[scope]

    def captured(self, scope):
        """Variables of the function that creating `scope` captures."""
        return self.free_names(scope) & self.variable_set

    def _enclosing_function_names(self, funcdef):
        names = set()
        scope = funcdef.parent.scope() if funcdef.parent else None
        while scope is not None and not isinstance(scope, nodes.Module):
            if isinstance(scope, nodes.FunctionDef):
                scan = self._scan(scope)
                names.update(scan.local_names(), scan.nonlocals)
            scope = scope.parent.scope() if scope.parent else None
        return names


# ---------------------------------------------------------------- the check


def check_subset(funcdef, filename, classify):
    """Raise TransformError for the first construct of `funcdef` outside the subset."""
    if isinstance(funcdef, nodes.AsyncFunctionDef):
        _refuse(funcdef, filename, "async def", "a stackless function cannot be async")
    _mark_inlined(funcdef, filename, classify)
    _mark_stackless_genexprs(funcdef, classify)
    global_names = set()
    generator = is_generator(funcdef)
    for statement in funcdef.body:
        for node in walk_frame(statement):
            if not (generator and isinstance(node, YIELDS)):
                _check_node(node, filename)
            if isinstance(node, nodes.Global):
                global_names.update(node.names)
            elif isinstance(node, nodes.ExceptHandler) and node.name is not None:
                _check_handler_name(node, global_names, filename)
            elif isinstance(node, (nodes.Lambda, nodes.ComprehensionScope)) and \
                    node not in _INLINED and node not in _STACKLESS_GENEXPRS:
                _check_inner_calls(node, filename, classify)


def _refuse(node, filename, construct, message):
    raise TransformError(message, filename, node.lineno, node.col_offset, construct)


def _check_node(node, filename):
    for kind, construct, message in REFUSED:
        if isinstance(node, kind):
            _refuse(node, filename, construct, message)
    if not isinstance(node, SUPPORTED_STATEMENTS + SUPPORTED_EXPRESSIONS):
        construct = type(node).__name__
        _refuse(node, filename, construct, f"{construct} is not supported in a stackless function")


def _check_handler_name(handler, global_names, filename):
    # Only a check of declarations seen so far in source order is needed:
    # Python rejects a global declaration that follows a use of the name.
    if handler.name.name in global_names:
        _refuse(
            handler, filename, "except as global",
            f"binding the global {handler.name.name!r} with `except ... as` is not supported",
        )


SCOPE_WORDS = {
    nodes.Lambda: "lambda",
    nodes.GeneratorExp: "generator expression",
}


def _check_inner_calls(scope, filename, classify):
    """Refuse calls that would have to suspend inside a lambda or a
    comprehension: those run in a frame of their own that is not transformed."""
    where = SCOPE_WORDS.get(type(scope), "comprehension")
    headers = set(header_parts(scope))
    stack = list(scope.get_children())
    while stack:
        node = stack.pop()
        if node in headers:
            continue
        if isinstance(node, nodes.Call):
            kind = classify(node)
            if kind in SUSPENDING:
                callee = callee_text(node)
                _refuse(
                    node, filename, where,
                    f"the {kind} call {callee}(...) inside a {where} cannot suspend there; "
                    "write a loop or make the helper a stackless function",
                )
        stack.extend(node.get_children())

