"""Structural checks of an IR Function; every lowering is run through them in tests."""

from astroid import nodes

from stacklessxf.frontend.subset import YIELDS, source_span
from stacklessxf.ir.model import (
    PRIMITIVES,
    TEMP_PATTERN,
    Branch,
    Call,
    Eval,
    Jump,
    Prim,
    Raise,
    Return,
    Store,
    is_temp,
)

OPS = (Eval, Call, Store, Prim)
TERMINATORS = (Jump, Branch, Return, Raise)


class IRError(Exception):
    """The IR breaks one of its invariants."""


def verify(function):
    """Raise IRError when `function` breaks an invariant of the IR."""
    _check_blocks(function)
    _check_names(function)
    _check_resume_points(function)
    _check_temps_defined(function)


def _fail(function, block, message):
    where = f" block {block.label}" if block is not None else ""
    raise IRError(f"{function.qualname}:{where}: {message}")


def _check_blocks(function):
    blocks = set(function.blocks)
    if function.start not in blocks:
        _fail(function, None, "the start block is not among the blocks")
    labels = [block.label for block in function.blocks]
    if len(set(labels)) != len(labels):
        _fail(function, None, f"block labels repeat: {labels}")
    for block in function.blocks:
        if not isinstance(block.terminator, TERMINATORS):
            _fail(function, block, f"no terminator (found {block.terminator!r})")
        for op in block.ops:
            _check_op(function, block, op)
        if isinstance(block.terminator, Branch) and not isinstance(block.terminator.cond, str):
            _fail(function, block, "a branch condition must be a variable")
        for target in block.successors():
            if target not in blocks:
                _fail(function, block, f"goes to {target!r}, which is not a block of the function")


def _check_op(function, block, op):
    if not isinstance(op, OPS):
        _fail(function, block, f"not an op: {op!r}")
    if not isinstance(op.lineno, int):
        _fail(function, block, f"op without a source line: {op!r}")
    if isinstance(op, Prim):
        if op.opname not in PRIMITIVES:
            _fail(function, block, f"unknown primitive {op.opname!r}")
        arity, has_result, _ = PRIMITIVES[op.opname]
        if len(op.args) != arity or (op.result is not None) != has_result:
            _fail(function, block, f"primitive {op.opname} used with the wrong shape")
    if isinstance(op, Call):
        if not isinstance(op.node, (nodes.Call, *YIELDS)):
            _fail(function, block, f"call op without a call node: {op!r}")
        if not is_temp(op.result):
            _fail(function, block, f"the result of a call must be a temporary, not {op.result!r}")


def _check_names(function):
    known = set(function.variables)
    if not function.always_live <= known:
        _fail(function, None, f"always live {sorted(function.always_live)} are not all variables")
    for block in function.blocks:
        used = [name for op in block.ops for name in op.uses() + op.defs()]
        used += block.terminator.uses()
        for name in used:
            if is_temp(name):
                if not TEMP_PATTERN.match(name):
                    _fail(function, block, f"badly named temporary {name!r}")
            elif name not in known:
                _fail(function, block, f"{name!r} is not a variable of the function")


def _check_resume_points(function):
    ops = [op for _, _, op in function.call_ops()]
    ids = [op.resume_point for op in ops]
    if ids != list(range(len(ids))):
        _fail(function, None, f"resume point ids are not 0..{len(ids) - 1}, each once: {ids}")
    spans = {
        site.resume_point: site.span
        for site in function.calls if site.resume_point is not None
    }
    if set(spans) != set(ids):
        _fail(function, None, f"call sites name resume points {sorted(spans)}, call ops {ids}")
    for op in ops:
        if spans[op.resume_point] != source_span(op.node):
            _fail(function, None, f"resume point {op.resume_point} is not at its call site")


def _check_temps_defined(function):
    """Every use of a temporary is preceded by a definition on every path from
    the start.  Unreachable code (kept for its resume points) has no such path."""
    reachable = _reachable(function.start)
    blocks = [block for block in function.blocks if block in reachable]
    defined_in = _definitely_defined(function.start, blocks)
    for block in blocks:
        defined = set(defined_in[block])
        for op in block.ops:
            _check_defined(function, block, op.uses(), defined)
            defined.update(name for name in op.defs() if is_temp(name))
        _check_defined(function, block, block.terminator.uses(), defined)


def _check_defined(function, block, names, defined):
    for name in names:
        if is_temp(name) and name not in defined:
            _fail(function, block, f"{name} may be used before it is defined")


def _definitely_defined(start, blocks):
    """Temporaries defined on every path into each block (a forward must-analysis).
    A handler can be entered from any point of the blocks it guards, so it
    only counts on what is defined when they begin."""
    into = {block: [] for block in blocks}
    for block in blocks:
        for target in block.terminator.targets():
            into[target].append((block, True))
        if block.handler is not None:
            into[block.handler].append((block, False))
    made = {
        block: {name for op in block.ops for name in op.defs() if is_temp(name)}
        for block in blocks
    }
    everything = set().union(*made.values())
    at_entry = {block: set(everything) for block in blocks}
    at_entry[start] = set()
    changed = True
    while changed:
        changed = False
        for block in blocks:
            if block is start:
                continue
            new = set(everything)
            for source, at_exit in into[block]:
                new &= (at_entry[source] | made[source]) if at_exit else at_entry[source]
            if new != at_entry[block]:
                at_entry[block] = new
                changed = True
    return at_entry


def _reachable(start):
    seen = set()
    stack = [start]
    while stack:
        block = stack.pop()
        if block not in seen:
            seen.add(block)
            stack.extend(block.successors())
    return seen
