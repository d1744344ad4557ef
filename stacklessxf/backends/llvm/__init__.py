"""The native backend: the typed subset compiled to machine code by LLVM."""

from astroid import nodes

from .engine import live_records
from .function import NativeFunction
from .types import native_error

__all__ = ["NativeFunction", "check_native_syntax", "live_records"]

# Statements and expressions the native subset has (whatever their types).
_ALLOWED = (
    nodes.Arguments, nodes.AssignName, nodes.Assign, nodes.AnnAssign, nodes.AugAssign,
    nodes.Expr, nodes.Pass, nodes.If, nodes.While, nodes.For, nodes.Break,
    nodes.Continue, nodes.Return, nodes.Const, nodes.Name, nodes.BinOp,
    nodes.UnaryOp, nodes.BoolOp, nodes.Compare, nodes.IfExp, nodes.Call,
    nodes.Attribute, nodes.Tuple,
)


def check_native_syntax(info):
    """Refuse, at decoration, the constructs no native function can hold,
    naming the first one (types are checked at the first call)."""
    funcdef = info.funcdef
    args = funcdef.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise native_error("variable, keyword-only or positional-only parameters",
                           info.filename, funcdef, "Arguments")
    if info.ir.closure_variables:
        raise native_error("closures", info.filename, funcdef, "FunctionDef")
    for statement in funcdef.body:
        for node in _walk(statement):
            if not isinstance(node, _ALLOWED):
                raise native_error(f"the construct {type(node).__name__}",
                                   info.filename, node)
            if isinstance(node, nodes.Tuple) and not _in_assignment(node):
                raise native_error("a tuple that is not unpacked at once",
                                   info.filename, node)
            if isinstance(node, nodes.Attribute) and not (
                    isinstance(node.parent, nodes.Call) and node.parent.func is node):
                raise native_error(f"reading the attribute {node.attrname!r}",
                                   info.filename, node)


def _walk(node):
    yield node
    for child in node.get_children():
        yield from _walk(child)


def _in_assignment(node):
    parent = node.parent
    return isinstance(parent, (nodes.Assign, nodes.Tuple)) and (
        node in getattr(parent, "targets", ()) or getattr(parent, "value", None) is node
        or isinstance(parent, nodes.Tuple))
