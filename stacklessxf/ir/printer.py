"""A compact text form of the IR, for `explain` and for tests::

    function fib(n)  [fib.py:1]
    b0:
          2  $t0 = n < 2
             branch $t0 ? b1 : b2
    b1:
          3  return n
    b2:
          4  $t2 = fib(n - 1)  @rp0 stackless
          4  $t3 = fib(n - 2)  @rp1 stackless
          4  $t1 = $t2 + $t3
          4  return $t1

Each op starts with its source line.  A block whose exceptions go somewhere
says so: ``b1 (except -> b4):``.
"""

from astroid import nodes
from astroid.nodes.as_string import AsStringVisitor

from stacklessxf.ir.model import Branch, Call, Const, Eval, Jump, Prim, Raise, Return, Store

LINE_WIDTH = 5


class _TreeText(AsStringVisitor):
    """Source text of a node, with its substituted sub-nodes shown as operands."""

    def __init__(self, subst):
        super().__init__()
        self.subst = subst

    def __getattribute__(self, name):
        method = super().__getattribute__(name)
        if not name.startswith("visit_"):
            return method
        subst = super().__getattribute__("subst")

        def visit(node):
            if node in subst:
                return format_operand(subst[node])
            return method(node)

        return visit

    def _should_wrap(self, node, child, is_left):
        return child not in self.subst and super()._should_wrap(node, child, is_left)

    def visit_arguments(self, node):
        # astroid formats parameters without the visitor, which would show
        # the source of a substituted default instead of its operand.
        positional = node.posonlyargs + node.args
        defaults = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
        parts = [self._parameter(arg, default) for arg, default in zip(positional, defaults)]
        if node.posonlyargs:
            parts.insert(len(node.posonlyargs), "/")
        if node.vararg:
            parts.append(f"*{node.vararg}")
        elif node.kwonlyargs:
            parts.append("*")
        parts += [self._parameter(arg, default)
                  for arg, default in zip(node.kwonlyargs, node.kw_defaults)]
        if node.kwarg:
            parts.append(f"**{node.kwarg}")
        return ", ".join(parts)

    def _parameter(self, arg, default):
        return arg.name if default is None else f"{arg.name}={default.accept(self)}"


def format_operand(operand):
    if isinstance(operand, Const):
        return repr(operand.value)
    return operand


def format_tree(tree):
    node = tree.node
    if isinstance(node, nodes.FunctionDef):
        return f"def {node.name}(...)"
    if isinstance(node, nodes.ClassDef):
        return f"class {node.name}"
    text = _TreeText(tree.subst)(node)
    return f"del {text}" if _is_deletion_target(node) else text


def _is_deletion_target(node):
    parent = node.parent
    while isinstance(parent, (nodes.Tuple, nodes.List)):
        parent = parent.parent
    return isinstance(parent, nodes.Delete)


def format_op(op):
    if isinstance(op, Call):
        return f"{op.result} = {format_tree(op.tree)}  @rp{op.resume_point} {op.reason}"
    if isinstance(op, Eval):
        text = format_tree(op.tree)
        return f"{op.result} = {text}" if op.result else text
    if isinstance(op, Store):
        return f"{format_tree(op.target)} = {format_operand(op.value)}"
    if isinstance(op, Prim):
        call = f"{op.opname}({', '.join(map(format_operand, op.args))})"
        return f"{op.result} = {call}" if op.result else call
    raise TypeError(f"not an op: {op!r}")


def format_terminator(terminator):
    if isinstance(terminator, Jump):
        return f"jump {terminator.target.label}"
    if isinstance(terminator, Branch):
        yes, no = terminator.if_true.label, terminator.if_false.label
        return f"branch {terminator.cond} ? {yes} : {no}"
    if isinstance(terminator, Return):
        return f"return {format_operand(terminator.value)}"
    if isinstance(terminator, Raise):
        if terminator.exc is None:
            return "raise"
        text = f"raise {format_operand(terminator.exc)}"
        if terminator.cause is not None:
            text += f" from {format_operand(terminator.cause)}"
        return text
    return f"<no terminator: {terminator!r}>"


def format_function(function):
    lines = [f"function {function.qualname}({', '.join(function.params)})"
             f"  [{function.filename}:{function.lineno}]"]
    if function.always_live:
        lines.append(f"always live: {', '.join(sorted(function.always_live))}")
    for block in function.blocks:
        handler = f" (except -> {block.handler.label})" if block.handler else ""
        lines.append(f"{block.label}{handler}:")
        for op in block.ops:
            lines.append(f"  {op.lineno:>{LINE_WIDTH}}  {format_op(op)}")
        lineno = getattr(block.terminator, "lineno", None) or ""
        lines.append(f"  {lineno:>{LINE_WIDTH}}  {format_terminator(block.terminator)}")
    return "\n".join(lines)
