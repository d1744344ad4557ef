"""The native subset's types, and type inference over the IR.

Every variable of a native function has one type for the whole function;
the types of the parameters come from annotations or from the arguments of
the call that asked for the specialization, and everything else follows
from them.  Inference runs over a *group* of specializations at once, so that
recursive and mutually recursive functions get their return types by a
fixpoint: a type starts unknown (None) and only ever becomes known.
"""

import builtins
import types as pytypes
from dataclasses import dataclass

from astroid import nodes

from ...errors import TransformError
from ...ir.model import Branch, Call, Const, Eval, Prim, Raise, Return, Store


@dataclass(frozen=True, eq=False)
class NType:
    """A native type.  There is one object per type (``intern`` makes the
    composite ones), so types compare by identity."""

    name: str
    items: tuple = ()

    def __str__(self):
        if self.name == "tuple":
            return "tuple[" + ", ".join(map(str, self.items)) + "]"
        return self.name


INT, FLOAT, BOOL, NONE = NType("int"), NType("float"), NType("bool"), NType("None")
CHANNEL = NType("channel")
RANGE, RANGE_ITER, NEXT = NType("range"), NType("range_iterator"), NType("range_next")
# The value of `and`/`or` over operands of different types: usable as a
# condition only (its Python value would have either type).
TRUTH = NType("truth")

NUMBERS = (INT, FLOAT, BOOL)
PYTHON_TYPES = {int: INT, float: FLOAT, bool: BOOL}
# Types a record slot, an argument or a return value can have.
VALUE_TYPES = (INT, FLOAT, BOOL, NONE, CHANNEL, RANGE_ITER)


_interned = {}


def intern(name, items):
    key = (name, items)
    found = _interned.get(key)
    if found is None:
        found = _interned[key] = NType(name, items)
    return found


def function_type(native):
    """The type of a name bound to a native function: a constant."""
    return intern("function", (native,))


def tuple_of(items):
    return intern("tuple", tuple(items))


def arithmetic_result(op, left, right):
    """The type of ``left op right`` for numbers, or None when not numeric."""
    if left not in NUMBERS or right not in NUMBERS:
        return None
    if op == "/":
        return FLOAT
    if op in ("&", "|", "^"):
        if FLOAT in (left, right):
            return None
        return BOOL if left == right == BOOL else INT
    if op in ("<<", ">>"):
        return None if FLOAT in (left, right) else INT
    return FLOAT if FLOAT in (left, right) else INT


BUILTIN_FUNCTIONS = ("abs", "min", "max", "int", "float", "bool", "range")

SWITCH_CALLS = ("schedule", "send", "receive")


def native_error(message, filename, node, construct=None):
    return TransformError(
        f"{message}; the native backend does not support it (the bytecode "
        "backend does)", filename, getattr(node, "lineno", None),
        getattr(node, "col_offset", None), construct)


@dataclass
class CallTarget:
    """What a may-unwind call of a native function calls."""

    kind: str  # 'native' | 'schedule' | 'send' | 'receive'
    callee: object = None  # the Specialization, for 'native'
    channel: str = None  # the operand holding the channel, for send/receive


class Typer:
    """Types of one specialization's variables, and of any expression node.

    ``resolve_native(obj, arg_types, node)`` gives the Specialization of a
    native function for argument types (making it if needed)."""

    def __init__(self, spec, resolve_native):
        self.spec = spec
        self.ir = spec.ir
        self.filename = spec.ir.filename
        self.globals = spec.globals
        self.resolve_native = resolve_native
        self.var_types = dict(zip(self.ir.params, spec.arg_types))
        self.targets = {}  # Call op -> CallTarget
        self.changed = False

    # -- errors -----------------------------------------------------------

    def refuse(self, message, node, construct=None):
        raise native_error(message, self.filename, node,
                           construct or type(node).__name__)

    # -- variables ---------------------------------------------------------

    def bind(self, name, ntype, node):
        if ntype is None:
            return
        if ntype in (RANGE, TRUTH) and not name.startswith("$"):
            self.refuse(f"variable {name!r} would hold a {ntype} value", node)
        known = self.var_types.get(name)
        if known is None:
            self.var_types[name] = ntype
            self.changed = True
        elif known != ntype:
            self.refuse(f"variable {name!r} holds {known} values and {ntype} "
                        f"values; a native variable keeps one type", node)

    def operand_type(self, operand, raw=False):
        """The type of an operand's value (a loop step gives its item,
        unless ``raw``)."""
        if isinstance(operand, Const):
            return self.constant_type(operand.value, None)
        ntype = self.var_types.get(operand)
        return INT if ntype == NEXT and not raw else ntype

    def constant_type(self, value, node):
        if value is None:
            return NONE
        ntype = PYTHON_TYPES.get(type(value))
        if ntype is None:
            self.refuse(f"a constant of type {type(value).__name__}", node,
                        "Const")
        if ntype == INT and not -2**63 <= value < 2**63:
            self.refuse("an integer constant that does not fit in 64 bits", node, "Const")
        return ntype

    # -- one pass over the function ------------------------------------------

    def run_once(self):
        self.changed = False
        for block in self.ir.blocks:
            if block.handler is not None:
                self.refuse("exception handling", self.ir_node(block))
            for op in block.ops:
                self.op(op)
            self.terminator(block.terminator)
        return self.changed

    def ir_node(self, block):
        for op in block.ops:
            if hasattr(op, "tree"):
                return op.tree.node
        return None

    def op(self, op):
        if isinstance(op, Eval):
            ntype = self.statement_or_expression(op.tree.node, op.tree.subst)
            if op.result is not None:
                self.bind(op.result, ntype, op.tree.node)
        elif isinstance(op, Store):
            self.store(op.target.node, op.target.subst, self.operand_type(op.value))
        elif isinstance(op, Prim):
            self.prim(op)
        elif isinstance(op, Call):
            self.bind(op.result, self.call(op), op.tree.node)

    def terminator(self, terminator):
        if isinstance(terminator, Return):
            ntype = self.operand_type(terminator.value)
            if ntype is not None:
                self.spec.note_return(ntype, terminator, self)
        elif isinstance(terminator, Branch):
            ntype = self.var_types.get(terminator.cond)
            if ntype is not None and ntype not in NUMBERS + (TRUTH,):
                self.refuse(f"a {ntype} value used as a condition", None)
        elif isinstance(terminator, Raise):
            self.refuse("raise", None, "Raise")

    def prim(self, op):
        skip = 1 if op.opname in ("compare", "inplace") else 0  # the operator
        args = [None] * skip + [self.operand_type(arg, raw=True) for arg in op.args[skip:]]
        node = None
        if op.opname == "copy":
            ntype = self.operand_type(op.args[0])
        elif op.opname == "iter":
            if args[0] not in (RANGE, None):
                self.refuse("a for loop over anything but range()", node, "For")
            ntype = RANGE_ITER
        elif op.opname == "next":
            ntype = NEXT
        elif op.opname == "exhausted":
            ntype = BOOL
        elif op.opname == "release":
            return
        elif op.opname in ("compare", "inplace"):
            operator = op.args[0].value
            if None in args[1:]:
                ntype = None
            elif op.opname == "compare":
                ntype = self.compare(operator, *args[1:], node)
            else:
                ntype = self.binary(operator[:-1], *args[1:], node)
        else:
            self.refuse(f"the operation {op.opname!r}", node, op.opname)
        if op.result is not None:
            self.bind(op.result, ntype, node)

    # -- statements --------------------------------------------------------

    def statement_or_expression(self, node, subst):
        if isinstance(node, nodes.Assign):
            value = self.expr(node.value, subst)
            for target in node.targets:
                self.store(target, subst, value)
            return None
        if isinstance(node, nodes.AnnAssign):
            if node.value is None:
                return None
            self.store(node.target, subst, self.expr(node.value, subst))
            return None
        if isinstance(node, nodes.AugAssign):
            if not isinstance(node.target, nodes.AssignName):
                self.refuse("augmented assignment to anything but a name", node)
            old = self.var_types.get(node.target.name)
            right = self.expr(node.value, subst)
            if old is not None and right is not None:
                self.store(node.target, subst, self.binary(node.op[:-1], old, right, node))
            return None
        if isinstance(node, nodes.Expr):
            self.expr(node.value, subst)
            return None
        if isinstance(node, nodes.Pass):
            return None
        if isinstance(node, nodes.AssignName):  # an expression in name position
            return self.var_types.get(node.name)
        if isinstance(node, (nodes.Delete, nodes.DelName, nodes.Global, nodes.Nonlocal,
                             nodes.Import, nodes.ImportFrom, nodes.Assert)):
            self.refuse(f"the statement {type(node).__name__}", node)
        return self.expr(node, subst)

    def store(self, target, subst, value):
        if target in subst:
            return
        if isinstance(target, nodes.AssignName):
            self.bind(target.name, value, target)
        elif isinstance(target, nodes.Tuple):
            if value is None:
                return
            if value.name != "tuple" or len(value.items) != len(target.elts):
                self.refuse(f"unpacking a {value} value into {len(target.elts)} names", target)
            for element, item in zip(target.elts, value.items):
                self.store(element, subst, item)
        else:
            self.refuse(f"assignment to {type(target).__name__}", target)

    # -- expressions -------------------------------------------------------

    def expr(self, node, subst):
        """The type of expression ``node`` (None while still unknown)."""
        if node in subst:
            return self.operand_type(subst[node])
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            self.refuse(f"the expression {type(node).__name__}", node)
        return method(node, subst)

    def expr_Const(self, node, subst):
        return self.constant_type(node.value, node)

    def expr_Name(self, node, subst):
        if node.name in self.ir.variables:
            return self.var_types.get(node.name)
        if node.name in ("True", "False", "None"):
            return self.constant_type({"True": True, "False": False}.get(node.name), node)
        target = self.global_object(node)
        if getattr(target, "__stackless_native__", False):
            return function_type(target)  # the callee of a call, loaded early
        self.refuse(f"reading the global name {node.name!r}", node, "Name")

    def expr_BinOp(self, node, subst):
        left, right = self.expr(node.left, subst), self.expr(node.right, subst)
        if left is None or right is None:
            return None
        return self.binary(node.op, left, right, node)

    def binary(self, op, left, right, node):
        result = arithmetic_result(op, left, right)
        if result is None or op == "@":
            self.refuse(f"the operator {op!r} on {left} and {right}", node, "BinOp")
        return result

    def expr_UnaryOp(self, node, subst):
        operand = self.expr(node.operand, subst)
        if operand is None:
            return None
        if node.op == "not":
            if operand not in NUMBERS + (TRUTH,):
                self.refuse(f"not on a {operand} value", node)
            return BOOL
        if operand not in NUMBERS or (node.op == "~" and operand == FLOAT):
            self.refuse(f"the operator {node.op!r} on {operand}", node)
        return FLOAT if operand == FLOAT else INT

    def expr_BoolOp(self, node, subst):
        found = [self.expr(value, subst) for value in node.values]
        if None in found:
            return None
        for ntype in found:
            if ntype not in NUMBERS + (TRUTH,):
                self.refuse(f"{node.op} on a {ntype} value", node)
        return found[0] if len(set(found)) == 1 and found[0] != TRUTH else TRUTH

    def expr_Compare(self, node, subst):
        left = self.expr(node.left, subst)
        result = BOOL
        for op, comparator in node.ops:
            right = self.expr(comparator, subst)
            if left is not None and right is not None:
                self.compare(op, left, right, node)
            else:
                result = None
            left = right
        return result

    def compare(self, op, left, right, node):
        if op in ("is", "is not", "in", "not in") or left not in NUMBERS or right not in NUMBERS:
            self.refuse(f"the comparison {op!r} of {left} and {right}", node, "Compare")
        return BOOL

    def expr_IfExp(self, node, subst):
        test = self.expr(node.test, subst)
        body, orelse = self.expr(node.body, subst), self.expr(node.orelse, subst)
        if test is not None and test not in NUMBERS + (TRUTH,):
            self.refuse(f"a {test} value used as a condition", node.test)
        if body is None or orelse is None:
            return None
        if body != orelse:
            self.refuse(f"a conditional expression giving {body} or {orelse}", node)
        return body

    def expr_Tuple(self, node, subst):
        items = [self.expr(element, subst) for element in node.elts]
        if None in items:
            return None
        for item in items:
            if item not in NUMBERS:
                self.refuse(f"a tuple holding a {item} value", node)
        return tuple_of(items)

    def expr_Call(self, node, subst):
        if node.keywords:
            self.refuse("a call with keyword arguments", node)
        name = self.builtin_name(node.func)
        if name is None:
            if getattr(self.global_object(node.func), "__stackless_native__", False):
                self.refuse(f"a call to {node.func.as_string()}, which was not known to be "
                            "a stackless function when this function was decorated (write "
                            "the decorator as @stackless(...) on both, so that calls between "
                            "them are seen before either exists)", node, "Call")
            self.refuse(f"a call to {node.func.as_string()}", node, "Call")
        args = [self.expr(arg, subst) for arg in node.args]
        if None in args:
            return None
        return self.builtin_call(name, args, node)

    def builtin_name(self, func):
        """The name of the builtin ``func`` refers to, if it is one we compile."""
        if not isinstance(func, nodes.Name) or func.name not in BUILTIN_FUNCTIONS:
            return None
        if func.name in self.ir.variables:
            return None
        bound = self.globals.get(func.name, getattr(builtins, func.name))
        return func.name if bound is getattr(builtins, func.name) else None

    def builtin_call(self, name, args, node):
        for ntype in args:
            if ntype not in NUMBERS or (name == "range" and ntype == FLOAT):
                self.refuse(f"{name}() of a {ntype} value", node)
        if name == "range":
            self.arity(name, args, 1, 3, node)
            return RANGE
        if name == "abs":
            self.arity(name, args, 1, 1, node)
            return FLOAT if args[0] == FLOAT else INT
        if name in ("min", "max"):
            self.arity(name, args, 2, 64, node)
            if len(set(args)) != 1:
                self.refuse(f"{name}() of values of different types "
                            f"({', '.join(map(str, args))})", node)
            return args[0]
        self.arity(name, args, 1, 1, node)
        return {"int": INT, "float": FLOAT, "bool": BOOL}[name]

    def arity(self, name, args, low, high, node):
        if not low <= len(args) <= high:
            self.refuse(f"{name}() with {len(args)} arguments", node)

    # -- may-unwind calls ------------------------------------------------------

    def call(self, op):
        node = op.tree.node
        subst = op.tree.subst
        if node.keywords or any(isinstance(arg, nodes.Starred) for arg in node.args):
            self.refuse("a call with keyword or starred arguments", node)
        args = [self.expr(arg, subst) for arg in node.args]
        func = node.func
        if isinstance(func, nodes.Attribute) and func.attrname in ("send", "receive") \
                and self.channel_operand(func.expr, subst) is not None:
            return self.channel_call(op, func, args, subst)
        if func in subst:
            callee_type = self.operand_type(subst[func])
            target = callee_type.items[0] if callee_type and callee_type.name == "function" \
                else None
        else:
            target = self.global_object(func)
        if target is _schedule():
            if args:
                self.refuse("schedule() with arguments", node)
            self.targets[op] = CallTarget("schedule")
            return NONE
        if getattr(target, "__stackless_native__", False):
            if None in args:
                return None
            callee = self.resolve_native(target, tuple(args), node)
            self.targets[op] = CallTarget("native", callee)
            return callee.return_type
        self.refuse(f"a call to {func.as_string()} (only native stackless functions, "
                    "schedule() and channel send/receive are native calls)", node, "Call")

    def channel_operand(self, expr, subst):
        operand = subst.get(expr)
        if operand is None and isinstance(expr, nodes.Name) and expr.name in self.ir.variables:
            operand = expr.name
        if operand is None or self.var_types.get(operand) != CHANNEL:
            return None
        return operand

    def channel_call(self, op, func, args, subst):
        node = op.tree.node
        channel = self.channel_operand(func.expr, subst)
        self.targets[op] = CallTarget(func.attrname, channel=channel)
        if func.attrname == "send":
            self.arity("send", args, 1, 1, node)
            if args[0] is not None and args[0] not in NUMBERS:
                self.refuse(f"sending a {args[0]} value", node)
            return NONE
        self.arity("receive", args, 0, 0, node)
        return self.received_type(node)

    def received_type(self, node):
        """int, or the annotation of the name the value is assigned to."""
        parent = node.parent
        if isinstance(parent, nodes.AnnAssign) and parent.value is node:
            annotation = annotation_type(parent.annotation, self.globals)
            if annotation in NUMBERS:
                return annotation
        return INT

    def global_object(self, expr):
        """The object a global name or a module attribute chain refers to."""
        if isinstance(expr, nodes.Name):
            if expr.name in self.ir.variables:
                return None
            return self.globals.get(expr.name, getattr(builtins, expr.name, None))
        if isinstance(expr, nodes.Attribute):
            base = self.global_object(expr.expr)
            if isinstance(base, pytypes.ModuleType):
                return getattr(base, expr.attrname, None)
        return None


def _schedule():
    from ...runtime.scheduler import schedule
    return schedule


def annotation_type(annotation, namespace):
    """The NType an annotation names, or None if it names none we know."""
    if annotation is None:
        return None
    from ...runtime.channel import channel
    try:
        value = eval(annotation.as_string(), dict(namespace))
    except Exception:
        return None
    if value is channel:
        return CHANNEL
    if value is None:
        return NONE
    return PYTHON_TYPES.get(value)
