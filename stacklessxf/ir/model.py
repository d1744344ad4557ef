"""The IR: a control-flow graph of blocks over named variables.

A variable is a plain string: user variables keep their source names and
temporaries are named ``$t0``, ``$t1``, ...  A constant is wrapped in
:class:`Const`, so an *operand* is either a variable name or a Const.

A block holds a list of ops and one terminator.  Its optional ``handler`` is
the block control goes to when any op of the block, or its terminator, raises;
a handler block starts by taking the exception with the ``caught`` primitive.

Ops:

- :class:`Eval` runs an astroid node kept whole: an expression (its value goes
  to ``result``), a simple statement, or one target of a ``del``.  Sub-nodes
  that were computed earlier, because a may-unwind call had to be split out of
  the node, are replaced by operands through ``tree.subst``.
- :class:`Call` is a may-unwind call; its resume point is just after it.
- :class:`Store` binds an assignment target to an operand.
- :class:`Prim` is one of the few primitive steps that have no source node of
  their own (``PRIMITIVES`` lists them).
"""

import re
from dataclasses import dataclass, field

TEMP_PATTERN = re.compile(r"\$t(\d+)\Z")

# Builtins that read the calling frame's variables without naming them.
FRAME_READERS = frozenset({"locals", "vars", "dir", "eval", "exec"})


def is_temp(name):
    return name.startswith("$")


def temp_number(name):
    return int(TEMP_PATTERN.match(name).group(1))


def variable_names(operands):
    return tuple(operand for operand in operands if isinstance(operand, str))


@dataclass(frozen=True)
class Const:
    value: object


@dataclass(eq=False)
class Tree:
    """An astroid node kept whole.  `subst` maps sub-nodes of it, by identity,
    to the operands that already hold their values."""

    node: object
    subst: dict = field(default_factory=dict)


# name: (number of arguments, whether it has a result, what it does)
PRIMITIVES = {
    "copy": (1, True, "the value of its argument"),
    "caught": (0, True, "the exception being propagated to this handler"),
    "enter_handler": (1, True, "make the argument the exception being handled; "
                               "the result is the saved previous one"),
    "exit_handler": (1, False, "restore the saved exception state"),
    "matches": (2, True, "whether the exception matches the exception type"),
    "unbind": (0, True, "delete the result variable (end of `except ... as name`)"),
    "iter": (1, True, "iter(argument)"),
    "next": (1, True, "the next item of the iterator, or a marker once it is exhausted"),
    "exhausted": (1, True, "whether the argument is that marker"),
    "release": (1, False, "drop a loop's iterator when the loop is left early"),
    "exit_of": (1, True, "the bound __exit__ of a context manager"),
    "enter": (1, True, "call the context manager's __enter__"),
    "exit": (1, False, "call an __exit__ with (None, None, None)"),
    "exit_with": (2, True, "call an __exit__ with the exception; true to suppress it"),
    "leave_finally": (1, False, "leave a finally body early: if the selector says it was "
                                "entered by an exception, restore the exception state"),
    "is": (2, True, "whether the first argument is the second"),
    "compare": (3, True, "first argument (a Const operator) applied to the other two"),
    "inplace": (3, True, "first argument (a Const augmented operator) applied in place"),
    "unpack": (3, True, "unpack a value into (count, starred index or -1) items"),
    "item": (2, True, "an item of an unpacked value"),
    "assertion_error": (0, True, "the AssertionError class"),
    "container": (1, True, "an empty list, set or dict, as the Const argument names it"),
    "append": (2, False, "add the item to the list or set (an inlined comprehension's)"),
    "map_add": (3, False, "set the dict's key to the value (an inlined comprehension's)"),
    "instantiate": (2, True, "call the class with one argument"),
}


class Op:
    """Base of the ops: `lineno` is the source line, uses/defs the variables."""

    def uses(self):
        raise NotImplementedError

    def defs(self):
        raise NotImplementedError


@dataclass(eq=False)
class Eval(Op):
    result: str | None
    tree: Tree
    reads: tuple
    writes: tuple
    lineno: int

    def uses(self):
        return self.reads

    def defs(self):
        return self.writes + ((self.result,) if self.result else ())


@dataclass(eq=False)
class Call(Op):
    result: str
    tree: Tree  # its node is the astroid Call
    reads: tuple
    writes: tuple
    resume_point: int
    reason: str  # 'stackless' | 'switch' | 'unknown callee' | 'guarded: ...'
    lineno: int

    @property
    def node(self):
        return self.tree.node

    def uses(self):
        return self.reads

    def defs(self):
        return self.writes + (self.result,)


@dataclass(eq=False)
class Store(Op):
    target: Tree
    value: object  # operand
    reads: tuple
    writes: tuple
    lineno: int

    def uses(self):
        return self.reads + variable_names([self.value])

    def defs(self):
        return self.writes


@dataclass(eq=False)
class Prim(Op):
    opname: str
    args: tuple
    result: str | None
    lineno: int

    def uses(self):
        return variable_names(self.args)

    def defs(self):
        return (self.result,) if self.result else ()


class Terminator:
    lineno = None

    def targets(self):
        return ()

    def uses(self):
        return ()


@dataclass(eq=False)
class Jump(Terminator):
    target: "Block"

    def targets(self):
        return (self.target,)


@dataclass(eq=False)
class Branch(Terminator):
    cond: str
    if_true: "Block"
    if_false: "Block"

    def targets(self):
        return (self.if_true, self.if_false)

    def uses(self):
        return (self.cond,)


@dataclass(eq=False)
class Return(Terminator):
    value: object  # operand
    lineno: int | None = None

    def uses(self):
        return variable_names([self.value])


@dataclass(eq=False)
class Raise(Terminator):
    exc: object = None  # operand; None re-raises the exception being handled
    cause: object = None
    lineno: int | None = None

    def uses(self):
        return variable_names([self.exc, self.cause])


@dataclass(eq=False)
class Block:
    label: str
    handler: "Block | None" = None
    ops: list = field(default_factory=list)
    terminator: Terminator | None = None
    # The For or While node of the loop this block is the head of, if any.
    loop: object = None

    def successors(self):
        """Blocks control can reach from this one: jump targets and handler."""
        found = list(self.terminator.targets()) if self.terminator else []
        if self.handler is not None:
            found.append(self.handler)
        return found

    def __repr__(self):
        return f"<Block {self.label}>"


@dataclass(frozen=True)
class CallSite:
    """A call that runs in the function's own frame, with its classification."""

    span: tuple  # (lineno, col_offset, end_lineno, end_col_offset)
    callee: str
    kind: str  # 'plain' | 'stackless' | 'switch' | 'unknown'
    target: str | None  # qualname of the called function, when it is known
    resume_point: int | None


@dataclass(eq=False)
class Function:
    name: str
    qualname: str
    filename: str
    lineno: int
    params: tuple
    variables: tuple  # params, locals, cell and free variables
    cellvars: frozenset
    freevars: frozenset
    always_live: frozenset  # variables read implicitly, live at every point
    blocks: list
    start: Block
    calls: tuple  # CallSite, in source order

    @property
    def closure_variables(self):
        return self.cellvars | self.freevars

    def call_ops(self):
        """(block, index, op) of every Call op, ordered by resume point id."""
        found = [
            (block, index, op)
            for block in self.blocks
            for index, op in enumerate(block.ops)
            if isinstance(op, Call)
        ]
        return sorted(found, key=lambda entry: entry[2].resume_point)

    def __str__(self):
        from stacklessxf.ir.printer import format_function

        return format_function(self)
