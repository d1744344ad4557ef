"""Lowering: an astroid FunctionDef to an IR Function.

The IR models what CPython keeps alive across every may-unwind call:

- a may-unwind call nested in an expression is split out into a temporary,
  and so is every operand evaluated before it in the same statement (except
  constants), because CPython holds those on its value stack across the call;
- a for-loop keeps its iterator in a temporary and a with-statement its
  ``__exit__``; an except body keeps the saved exception state; a finally body
  keeps a selector saying how it was entered and the value to carry on with;
- cell and free variables are never killed (liveness sees to that);
- a short-circuiting expression is lowered to branches when a part of it that
  runs on some paths only holds a may-unwind call or binds a name (walrus).

A ``finally`` body is lowered once: every way into it sets the selector, and
a dispatch after it carries on with whichever exit was pending.
"""

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field

from astroid import bases, nodes
from astroid.exceptions import AstroidError

from stacklessxf.frontend.calls import rooted_in_a_parameter
from stacklessxf.frontend.genexprs import origin
from stacklessxf.frontend.subset import (
    MAY_UNWIND,
    NESTED_SCOPES,
    FunctionScope,
    callee_text,
    deciding_item,
    is_inlined,
    check_subset,
    frame_calls,
    frame_children,
    is_zero_argument_super,
    operands,
    source_span,
    target_operands,
    walk_frame,
)
from stacklessxf.ir.model import (
    FRAME_READERS,
    Block,
    Branch,
    Call,
    CallSite,
    Const,
    Eval,
    Function,
    Jump,
    Prim,
    Raise,
    Return,
    Store,
    Tree,
    is_temp,
    variable_names,
)

REASONS = {"stackless": "stackless", "switch": "switch", "unknown": "unknown callee",
           "guarded": "guarded: plain when transformed"}

# Selector values of a finally body; the exits through it number from 2.
FALL_THROUGH = 0
RAISED = 1


def lower(funcdef, filename, classify, qualname=None):
    """Lower `funcdef` (checked against the subset first) to an IR Function.

    `qualname` overrides the qualified name derived from the source, for a
    function parsed apart from the class or function it was defined in."""
    check_subset(funcdef, filename, classify)
    return _Lowering(funcdef, filename, classify).function(qualname)


def python_qualname(funcdef):
    parts = [funcdef.name]
    scope = funcdef.parent.scope() if funcdef.parent else None
    while scope is not None and not isinstance(scope, nodes.Module):
        if not isinstance(scope, nodes.ClassDef):
            parts.append("<locals>")
        parts.append(scope.name)
        scope = scope.parent.scope() if scope.parent else None
    return ".".join(reversed(parts))


def called_qualname(call):
    """The qualname of the function `call` calls, when inference finds exactly one."""
    if not isinstance(call, nodes.Call):
        return None     # a yield
    if rooted_in_a_parameter(call.func):
        return None     # inference finds "anything" among its values
    try:
        found = list(itertools.islice(call.func.infer(), 2))
    except AstroidError:
        return None
    if len(found) != 1:
        return None
    callee = found[0]
    while isinstance(callee, bases.UnboundMethod):
        callee = callee._proxied
    if isinstance(callee, nodes.FunctionDef):
        return python_qualname(callee)
    return None


@dataclass(eq=False)
class _Join:
    """A block several paths may continue at, created when the first one does."""

    lowering: "_Lowering"
    handler: Block | None
    block: Block | None = None

    def target(self):
        if self.block is None:
            self.block = self.lowering.new_block(self.handler)
        return self.block

    def arrive(self):
        if self.lowering.current is not None:
            self.lowering.jump(self.target())

    def enter(self):
        if self.block is not None:
            self.lowering.enter(self.block)


# ---------------------------------------------------------------- frames
# The constructs a return, break or continue may have to leave on its way out;
# `outer` is the handler around the construct, where its cleanup runs.


@dataclass(eq=False)
class _Loop:
    head: Block
    iterator: str | None
    outer: Block | None
    after: _Join


@dataclass(eq=False)
class _With:
    exit: str
    outer: Block | None


@dataclass(eq=False)
class _Handler:
    saved: str
    name: str | None
    outer: Block | None


@dataclass(eq=False)
class _Finally:
    """The body of a try with a finally: exits are routed through the finally."""

    selector: str
    value: str
    entry: Block
    outer: Block | None
    exits: dict = field(default_factory=dict)  # (kind, frame index) -> selector value


@dataclass(eq=False)
class _FinallyBody:
    selector: str
    outer: Block | None


# ---------------------------------------------------------------- lowering


class _Lowering:
    """The state of lowering one function: the blocks so far, the block being
    filled, the handler of the code being lowered, the enclosing frames."""

    def __init__(self, funcdef, filename, classify):
        self.funcdef = funcdef
        self.filename = filename
        self.scope = FunctionScope(funcdef)
        calls = frame_calls(funcdef)
        self.kinds = {call: classify(call) for call in calls}
        # A classifier may know some callees better than inference does.
        self.known_target = getattr(classify, "target", lambda call: None)
        may_unwind = sorted((c for c in calls if self.kinds[c] in MAY_UNWIND), key=source_span)
        self.resume_ids = {call: number for number, call in enumerate(may_unwind)}
        # Nodes lowered piece by piece rather than kept whole: those holding a
        # may-unwind call, or a walrus that runs on some paths only (kept whole,
        # its op would seem to bind the name on every path).
        self.split_nodes = self._containing(may_unwind + _walruses_on_some_paths(funcdef))
        self.call_sites = tuple(self._call_site(call) for call in calls)
        self.always_live = _read_by_super(self.scope, calls) | _read_by_frame_readers(
            self.scope, funcdef)
        self.blocks = []
        self.current = None
        self.handler = None
        self.frames = []
        self.temp_count = 0

    def _containing(self, inner_nodes):
        """Every node that has one of `inner_nodes` inside it (those included)."""
        found = set()
        # A generator expression's parts have the expression for parent.
        ends = (self.funcdef, origin(self.funcdef))
        for node in inner_nodes:
            while node not in ends and node not in found:
                found.add(node)
                node = node.parent
        return found

    def _call_site(self, call):
        kind = self.kinds[call]
        target = None
        if kind != "plain":
            target = self.known_target(call) or called_qualname(call)
        return CallSite(
            source_span(call), callee_text(call), kind, target, self.resume_ids.get(call)
        )

    def function(self, qualname):
        start = self.new_block(None)
        self.enter(start)
        self.body(self.funcdef.body)
        if self.current is not None:
            self.terminate(Return(Const(None)))
        scope = self.scope
        _skip_empty_blocks(self.blocks)
        start = _bypass_empty(start)
        return Function(
            name=self.funcdef.name,
            qualname=qualname or python_qualname(self.funcdef),
            filename=self.filename,
            lineno=self.funcdef.lineno,
            params=scope.params,
            variables=scope.variables,
            cellvars=scope.cellvars,
            freevars=scope.freevars,
            always_live=self.always_live,
            blocks=_kept_blocks(self.blocks, start),
            start=start,
            calls=self.call_sites,
        )

    # ------------------------------------------------------------ blocks

    def new_temp(self):
        name = f"$t{self.temp_count}"
        self.temp_count += 1
        return name

    def new_block(self, handler):
        block = Block(f"b{len(self.blocks)}", handler)
        self.blocks.append(block)
        return block

    def enter(self, block):
        self.current = block
        self.handler = block.handler

    def emit(self, op):
        if self.current is None:
            # Code after a return or raise: kept in a block of its own so that
            # every call still has its resume point.
            self.current = self.new_block(self.handler)
        self.current.ops.append(op)

    def terminate(self, terminator):
        if self.current is not None:
            self.current.terminator = terminator
            self.current = None

    def jump(self, target):
        self.terminate(Jump(target))

    def goto_new(self, handler):
        """Continue in a fresh block whose exceptions go to `handler`."""
        block = self.new_block(handler)
        self.jump(block)
        self.enter(block)

    def use_handler(self, handler):
        if self.current is None:
            self.handler = handler
        elif self.current.handler is not handler:
            self.goto_new(handler)

    @contextmanager
    def elsewhere(self, block):
        """Lower into `block` and come back to where we were."""
        saved = self.current, self.handler
        self.enter(block)
        yield
        self.current, self.handler = saved

    # ------------------------------------------------------------ ops

    def prim(self, opname, args, lineno, result=None):
        self.emit(Prim(opname, tuple(args), result, lineno))
        return result

    def prim_value(self, opname, args, lineno):
        return self.prim(opname, args, lineno, self.new_temp())

    def effects(self, root, subst):
        """(reads, writes): the variables a tree reads and binds."""
        reads = list(variable_names(subst.values()))
        writes = []
        stack = [root]
        while stack:
            node = stack.pop()
            if node in subst:
                continue
            if isinstance(node, NESTED_SCOPES):
                reads += sorted(self.scope.captured(node))
                if isinstance(node, (nodes.FunctionDef, nodes.ClassDef)):
                    writes.append(node.name)
            elif isinstance(node, nodes.Name):
                reads.append(node.name)
            elif isinstance(node, nodes.AssignName):
                writes.append(node.name)
            elif isinstance(node, nodes.DelName):
                # ``del x`` fails when x is unbound: it reads the binding.
                reads.append(node.name)
                writes.append(node.name)
            elif isinstance(node, nodes.AugAssign) and isinstance(node.target, nodes.AssignName):
                reads.append(node.target.name)
            elif isinstance(node, (nodes.Import, nodes.ImportFrom)):
                writes += [alias or name.split(".")[0] for name, alias in node.names]
            stack.extend(frame_children(node))
        return self._variables(reads), self._variables(writes)

    def _variables(self, names):
        known = self.scope.variable_set
        return tuple(dict.fromkeys(name for name in names if name in known or is_temp(name)))

    def eval_op(self, result, node, subst):
        reads, writes = self.effects(node, subst)
        self.emit(Eval(result, Tree(node, subst), reads, writes, node.lineno))

    def call_op(self, result, node, subst):
        reads, writes = self.effects(node, subst)
        reason = REASONS[self.kinds[node]]
        tree = Tree(node, subst)
        self.emit(Call(result, tree, reads, writes, self.resume_ids[node], reason, node.lineno))

    def store_op(self, target, subst, value):
        reads, writes = self.effects(target, subst)
        self.emit(Store(Tree(target, subst), value, reads, writes, target.lineno))

    # ------------------------------------------------------------ expressions

    def value(self, node, into=None):
        """Emit the ops computing `node`; return the operand that holds its value."""
        if isinstance(node, nodes.Const):
            if into is None:
                return Const(node.value)
            return self.prim("copy", [Const(node.value)], node.lineno, into)
        result = into or self.new_temp()
        self.compute(node, result)
        return result

    def operand(self, node):
        """Like value(), for a value used at once: a variable needs no copy."""
        if isinstance(node, nodes.Name) and node.name in self.scope.variable_set:
            return node.name
        return self.value(node)

    def condition(self, test):
        cond = self.operand(test)
        if isinstance(cond, Const):
            return self.prim_value("copy", [cond], test.lineno)
        return cond

    def compute(self, node, result):
        """Emit the ops computing `node` into `result` (None: for its effects only)."""
        if node not in self.split_nodes:
            self.eval_op(result, node, {})
        elif self.short_circuits(node):
            self.short_circuit(node, result or self.new_temp())
        elif node in self.resume_ids:
            self.call_op(result or self.new_temp(), node, self.split(operands(node)))
        elif is_inlined(node):
            self.comprehension(node, result or self.new_temp())
        else:
            self.eval_op(result, node, self.split(operands(node)))

    def split(self, children):
        """Compute every child up to the last one that must be split, in
        evaluation order; the rest stay in the tree."""
        last = max((i for i, child in enumerate(children) if child in self.split_nodes), default=-1)
        return {
            child: self.value(child)
            for child in children[: last + 1]
            if not isinstance(child, nodes.Const)
        }

    def short_circuits(self, node):
        """Whether a part of `node` that must be split runs on some paths only."""
        if isinstance(node, nodes.BoolOp):
            return self._any_split(node.values[1:])
        if isinstance(node, nodes.IfExp):
            return self._any_split([node.body, node.orelse])
        if isinstance(node, nodes.Compare):
            return self._any_split([comparator for _, comparator in node.ops[1:]])
        return False

    def short_circuit(self, node, result):
        if isinstance(node, nodes.BoolOp):
            self.bool_op(node, result)
        elif isinstance(node, nodes.IfExp):
            self.if_exp(node, result)
        else:
            self.compare_chain(node, result)

    def _any_split(self, children):
        return any(child in self.split_nodes for child in children)

    def bool_op(self, node, result):
        join = _Join(self, self.handler)
        self.value(node.values[0], into=result)
        for value in node.values[1:]:
            more = self.new_block(self.handler)
            if node.op == "and":
                self.terminate(Branch(result, more, join.target()))
            else:
                self.terminate(Branch(result, join.target(), more))
            self.enter(more)
            self.value(value, into=result)
        join.arrive()
        join.enter()

    def if_exp(self, node, result):
        cond = self.condition(node.test)
        join = _Join(self, self.handler)
        yes, no = self.new_block(self.handler), self.new_block(self.handler)
        self.terminate(Branch(cond, yes, no))
        for block, branch in ((yes, node.body), (no, node.orelse)):
            self.enter(block)
            self.value(branch, into=result)
            join.arrive()
        join.enter()

    def compare_chain(self, node, result):
        join = _Join(self, self.handler)
        left = self.value(node.left)
        for position, (operator, comparator) in enumerate(node.ops):
            right = self.value(comparator)
            self.prim("compare", [Const(operator), left, right], node.lineno, result)
            if position < len(node.ops) - 1:
                more = self.new_block(self.handler)
                self.terminate(Branch(result, more, join.target()))
                self.enter(more)
            left = right
        join.arrive()
        join.enter()

    def comprehension(self, node, result):
        """An inlined comprehension: loops of the function's own that fill
        the container (a list for a generator expression).  One consumed by
        ``any`` or ``all`` stops at the first item that decides the call, its
        list holding that item's truth (``[True]`` for ``any``) or nothing."""
        source = self.operand(node.generators[0].iter)
        iterator = self.prim_value("iter", [source], node.lineno)
        kind = {nodes.SetComp: "set", nodes.DictComp: "dict"}.get(type(node), "list")
        self.prim("container", [Const(kind)], node.lineno, result)
        deciding = deciding_item(node)
        stop = None if deciding is None else (deciding, self.new_block(self.handler))
        self.comprehension_loop(node, 0, iterator, result, stop)
        if stop is not None:
            self.jump(stop[1])
            self.enter(stop[1])

    def comprehension_loop(self, node, index, iterator, container, stop=None):
        generator = node.generators[index]
        head = self.new_block(self.handler)
        self.jump(head)
        self.enter(head)
        item = self.prim_value("next", [iterator], node.lineno)
        done = self.prim_value("exhausted", [item], node.lineno)
        body, after = self.new_block(self.handler), self.new_block(self.handler)
        self.terminate(Branch(done, after, body))
        self.enter(body)
        self.store(generator.target, item)
        for condition in generator.ifs:
            more = self.new_block(self.handler)
            self.terminate(Branch(self.condition(condition), more, head))
            self.enter(more)
        if index + 1 < len(node.generators):
            source = self.operand(node.generators[index + 1].iter)
            inner = self.prim_value("iter", [source], node.lineno)
            self.comprehension_loop(node, index + 1, inner, container, stop)
        elif stop is not None:
            self.decide(node, container, *stop, head)
        elif isinstance(node, nodes.DictComp):
            key = self.value(node.key)
            self.prim("map_add", [container, key, self.operand(node.value)], node.lineno)
        else:
            self.prim("append", [container, self.operand(node.elt)], node.lineno)
        if index + 1 < len(node.generators) or stop is None:
            self.jump(head)
        self.enter(after)

    def decide(self, node, container, deciding, done, head):
        """The item of a generator expression consumed by ``any`` or ``all``:
        if its truth is ``deciding``, the list gets it and the loops end."""
        found = self.new_block(self.handler)
        cond = self.condition(node.elt)
        self.terminate(Branch(cond, found, head) if deciding else Branch(cond, head, found))
        self.enter(found)
        self.prim("append", [container, Const(deciding)], node.lineno)
        self.jump(done)

    # ------------------------------------------------------------ targets

    def store(self, target, value):
        """Bind an assignment target to an operand."""
        if isinstance(target, (nodes.Tuple, nodes.List)) and target in self.split_nodes:
            self.store_unpacked(target, value)
        else:
            self.store_op(target, self.split(target_operands(target)), value)

    def store_unpacked(self, target, value):
        # A call inside one element target runs after the elements before it
        # were stored, so the elements are stored one by one.
        elements = target.elts
        starred = [i for i, element in enumerate(elements) if isinstance(element, nodes.Starred)]
        shape = [Const(len(elements)), Const(starred[0] if starred else -1)]
        unpacked = self.prim_value("unpack", [value, *shape], target.lineno)
        for index, element in enumerate(elements):
            item = self.prim_value("item", [unpacked, Const(index)], target.lineno)
            if isinstance(element, nodes.Starred):
                element = element.value
            self.store(element, item)

    # ------------------------------------------------------------ statements

    def body(self, statements):
        for statement in statements:
            self.statement(statement)

    def statement(self, node):
        handler = self.handler
        getattr(self, STATEMENTS[type(node)])(node)
        self.handler = handler

    def _nothing(self, node):
        pass

    def _simple(self, node):
        self.compute(node, None)

    def _expr(self, node):
        if not isinstance(node.value, nodes.Const):  # docstrings and bare constants do nothing
            self.compute(node.value, None)

    def _assign(self, node):
        if self._any_split(node.targets):
            value = self.value(node.value)
            for target in node.targets:
                self.store(target, value)
        else:
            self.compute(node, None)

    def _ann_assign(self, node):
        if node.value is None:
            if not isinstance(node.target, nodes.AssignName):
                self.compute(node, None)
        elif node.target in self.split_nodes:
            self.store(node.target, self.value(node.value))
        else:
            self.compute(node, None)

    def _aug_assign(self, node):
        if node not in self.split_nodes:
            self.compute(node, None)
            return
        # CPython loads the target's current value before it evaluates the
        # right-hand side, and keeps it on the stack across that.
        target = node.target
        subst = {
            part: self.value(part)
            for part in target_operands(target)
            if not isinstance(part, nodes.Const)
        }
        old = self.new_temp()
        reads = variable_names(subst.values())
        if isinstance(target, nodes.AssignName):
            reads += self._variables([target.name])
        self.emit(Eval(old, Tree(target, subst), reads, (), node.lineno))
        right = self.value(node.value)
        new = self.prim_value("inplace", [Const(node.op), old, right], node.lineno)
        self.store_op(target, subst, new)

    def _delete(self, node):
        for target in _deletion_targets(node.targets):
            self.compute(target, None)

    def _return(self, node):
        if node.value is None:
            value = Const(None)
        elif any(_has_cleanup(frame) for frame in self.frames):
            value = self.value(node.value)
        else:
            value = self.operand(node.value)
        self.leave("return", value, node.lineno)

    def _raise(self, node):
        exc = cause = None
        if node.exc is not None:
            cause_splits = node.cause is not None and node.cause in self.split_nodes
            exc = self.value(node.exc) if cause_splits else self.operand(node.exc)
        if node.cause is not None:
            cause = self.operand(node.cause)
        self.terminate(Raise(exc, cause, node.lineno))

    def _assert(self, node):
        if node not in self.split_nodes:
            self.compute(node, None)
            return
        cond = self.condition(node.test)
        passed, failed = self.new_block(self.handler), self.new_block(self.handler)
        self.terminate(Branch(cond, passed, failed))
        self.enter(failed)
        exc = self.prim_value("assertion_error", [], node.lineno)
        if node.fail is not None:
            message = self.value(node.fail)
            exc = self.prim_value("instantiate", [exc, message], node.lineno)
        self.terminate(Raise(exc, None, node.lineno))
        self.enter(passed)

    def _if(self, node):
        cond = self.condition(node.test)
        join = _Join(self, self.handler)
        then = self.new_block(self.handler)
        otherwise = self.new_block(self.handler) if node.orelse else None
        self.terminate(Branch(cond, then, otherwise or join.target()))
        self.enter(then)
        self.body(node.body)
        join.arrive()
        if otherwise is not None:
            self.enter(otherwise)
            self.body(node.orelse)
            join.arrive()
        join.enter()

    def _while(self, node):
        head = self.new_block(self.handler)
        head.loop = node
        self.jump(head)
        self.enter(head)
        loop = _Loop(head, None, self.handler, _Join(self, self.handler))
        forever = isinstance(node.test, nodes.Const) and bool(node.test.value)
        otherwise = None
        if not forever:
            cond = self.condition(node.test)
            body = self.new_block(self.handler)
            otherwise = self.new_block(self.handler) if node.orelse else None
            self.terminate(Branch(cond, body, otherwise or loop.after.target()))
            self.enter(body)
        self.loop_body(loop, node.body)
        if node.orelse:
            # The else of a `while True` never runs; it is still lowered, unreachable.
            if otherwise is not None:
                self.enter(otherwise)
            self.body(node.orelse)
            loop.after.arrive()
        loop.after.enter()

    def _for(self, node):
        source = self.operand(node.iter)
        iterator = self.prim_value("iter", [source], node.lineno)
        head = self.new_block(self.handler)
        head.loop = node
        self.jump(head)
        self.enter(head)
        item = self.prim_value("next", [iterator], node.lineno)
        done = self.prim_value("exhausted", [item], node.lineno)
        loop = _Loop(head, iterator, self.handler, _Join(self, self.handler))
        body = self.new_block(self.handler)
        otherwise = self.new_block(self.handler) if node.orelse else None
        self.terminate(Branch(done, otherwise or loop.after.target(), body))
        self.enter(body)
        self.store(node.target, item)
        self.loop_body(loop, node.body)
        if otherwise is not None:
            self.enter(otherwise)
            self.body(node.orelse)
            loop.after.arrive()
        loop.after.enter()

    def loop_body(self, loop, statements):
        self.frames.append(loop)
        self.body(statements)
        self.jump(loop.head)
        self.frames.pop()

    def _break(self, node):
        self.leave("break", None, node.lineno)

    def _continue(self, node):
        self.leave("continue", None, node.lineno)

    def _with(self, node):
        self.with_items(node.items, node.body, node.lineno)

    def with_items(self, items, statements, lineno):
        (expression, target), rest = items[0], items[1:]
        manager = self.operand(expression)
        exit_ = self.prim_value("exit_of", [manager], lineno)
        entered = self.prim_value("enter", [manager], lineno)
        outer = self.handler
        on_error = self.new_block(outer)
        self.goto_new(on_error)
        frame = _With(exit_, outer)
        self.frames.append(frame)
        if target is not None:
            self.store(target, entered)
        if rest:
            self.with_items(rest, statements, lineno)
        else:
            self.body(statements)
        self.frames.pop()
        join = _Join(self, outer)
        if self.current is not None:
            self.cleanup(frame, lineno)
            join.arrive()
        with self.elsewhere(on_error):
            exc = self.prim_value("caught", [], lineno)
            suppress = self.prim_value("exit_with", [exit_, exc], lineno)
            reraise = self.new_block(outer)
            self.terminate(Branch(suppress, join.target(), reraise))
            self.enter(reraise)
            self.terminate(Raise(exc, None, lineno))
        join.enter()

    def _try(self, node):
        if node.finalbody:
            self.try_finally(node)
        else:
            self.try_except(node)

    def try_except(self, node):
        outer = self.handler
        dispatch = self.new_block(outer)
        self.goto_new(dispatch)
        self.body(node.body)
        join = _Join(self, outer)
        if self.current is not None:
            self.use_handler(outer)
            self.body(node.orelse)
            join.arrive()
        with self.elsewhere(dispatch):
            self.handlers(node.handlers, outer, join)
        join.enter()

    def handlers(self, handlers, outer, join):
        """Match the exception against each except clause in turn."""
        lineno = handlers[0].lineno
        exc = self.prim_value("caught", [], lineno)
        saved = self.prim_value("enter_handler", [exc], lineno)
        matching = self.handler_cleanup(saved, None, outer, lineno)
        self.goto_new(matching)
        for handler in handlers:
            frame = _Handler(saved, handler.name.name if handler.name else None, outer)
            cleanup = matching
            if frame.name is not None:
                cleanup = self.handler_cleanup(saved, frame.name, outer, handler.lineno)
            body = self.new_block(cleanup)
            following = None
            if handler.type is None:
                self.jump(body)
            else:
                kind = self.operand(handler.type)
                matched = self.prim_value("matches", [exc, kind], handler.lineno)
                following = self.new_block(matching)
                self.terminate(Branch(matched, body, following))
            self.enter(body)
            self.except_body(handler, exc, frame, join)
            if following is None:
                return  # a bare except is always the last one
            self.enter(following)
        # No clause matched: the cleanup restores the state and re-raises.
        self.terminate(Raise(exc, None, lineno))

    def except_body(self, handler, exc, frame, join):
        if handler.name is not None:
            self.store(handler.name, exc)
        self.frames.append(frame)
        self.body(handler.body)
        self.frames.pop()
        if self.current is not None:
            self.cleanup(frame, handler.lineno)
            join.arrive()

    def handler_cleanup(self, saved, name, outer, lineno):
        """The block an exception raised inside an except clause goes to."""
        block = self.new_block(outer)
        with self.elsewhere(block):
            exc = self.prim_value("caught", [], lineno)
            if name is not None:
                self.prim("unbind", [], lineno, name)
            self.prim("exit_handler", [saved], lineno)
            self.terminate(Raise(exc, None, lineno))
        return block

    def try_finally(self, node):
        outer = self.handler
        catch, cleanup = self.new_block(outer), self.new_block(outer)
        frame = _Finally(self.new_temp(), self.new_temp(), self.new_block(cleanup), outer)
        self.goto_new(catch)
        self.frames.append(frame)
        if node.handlers:
            self.try_except(node)
        else:
            self.body(node.body)
        self.frames.pop()
        falls_through = self.current is not None
        if falls_through:
            self.enter_finally(frame, FALL_THROUGH, Const(None), node.lineno)
        self.finally_handlers(frame, catch, cleanup, node.lineno)
        self.enter(frame.entry)
        self.frames.append(_FinallyBody(frame.selector, outer))
        self.body(node.finalbody)
        self.frames.pop()
        self.finally_dispatch(frame, falls_through, node.lineno)

    def finally_handlers(self, frame, catch, cleanup, lineno):
        """`catch` enters the finally body with the exception the try body
        raised; `cleanup` takes one raised inside the finally body itself."""
        with self.elsewhere(catch):
            self.prim("caught", [], lineno, frame.value)
            self.prim("copy", [Const(RAISED)], lineno, frame.selector)
            self.jump(frame.entry)
        with self.elsewhere(cleanup):
            exc = self.prim_value("caught", [], lineno)
            self.prim("leave_finally", [frame.selector], lineno)
            self.terminate(Raise(exc, None, lineno))

    def enter_finally(self, frame, selector, value, lineno):
        self.prim("copy", [Const(selector)], lineno, frame.selector)
        self.prim("copy", [value], lineno, frame.value)
        self.jump(frame.entry)

    def finally_dispatch(self, frame, falls_through, lineno):
        """After the finally body, carry on with the exit that led into it."""
        if self.current is None:
            return
        self.use_handler(frame.outer)
        pending = [(RAISED, None)] + [(number, exit_) for exit_, number in frame.exits.items()]
        if falls_through:
            pending.append((FALL_THROUGH, None))  # last, so that it simply goes on
        for number, exit_ in pending[:-1]:
            test = self.prim_value("is", [frame.selector, Const(number)], lineno)
            taken, other = self.new_block(self.handler), self.new_block(self.handler)
            self.terminate(Branch(test, taken, other))
            self.enter(taken)
            self.carry_on(frame, number, exit_, lineno)
            self.enter(other)
        self.carry_on(frame, *pending[-1], lineno)

    def carry_on(self, frame, number, exit_, lineno):
        if number == RAISED:
            self.prim("leave_finally", [frame.selector], lineno)
            self.terminate(Raise(frame.value, None, lineno))
        elif number != FALL_THROUGH:
            kind, index = exit_
            value = frame.value if kind == "return" else None
            self.leave(kind, value, lineno, index - 1)

    # ------------------------------------------------------------ leaving

    def leave(self, kind, value, lineno, start=None):
        """A return, break or continue: run the cleanups of the constructs it
        leaves, innermost first, then go where it goes."""
        index = len(self.frames) - 1 if start is None else start
        while index >= 0:
            frame = self.frames[index]
            if isinstance(frame, _Loop) and kind != "return":
                if kind == "break":
                    self.cleanup(frame, lineno)
                    self.jump(frame.after.target())
                else:
                    self.jump(frame.head)
                return
            if isinstance(frame, _Finally):
                number = frame.exits.setdefault((kind, index), len(frame.exits) + 2)
                pending = value if value is not None else Const(None)
                self.enter_finally(frame, number, pending, lineno)
                return
            self.cleanup(frame, lineno)
            index -= 1
        self.terminate(Return(value, lineno))

    def cleanup(self, frame, lineno):
        """What leaving `frame` takes, run under the handler outside it."""
        self.use_handler(frame.outer)
        if isinstance(frame, _Loop):
            if frame.iterator is not None:
                self.prim("release", [frame.iterator], lineno)
        elif isinstance(frame, _With):
            self.prim("exit", [frame.exit], lineno)
        elif isinstance(frame, _Handler):
            self.prim("exit_handler", [frame.saved], lineno)
            if frame.name is not None:
                self.prim("unbind", [], lineno, frame.name)
        elif isinstance(frame, _FinallyBody):
            self.prim("leave_finally", [frame.selector], lineno)


def _read_by_super(scope, calls):
    """Zero-argument super() reads the first parameter and __class__ from the
    frame without naming them; a function calling it keeps them at every point."""
    if "__class__" in scope.freevars and any(map(is_zero_argument_super, calls)):
        return frozenset(("__class__",) + scope.params[:1])
    return frozenset()


def _read_by_frame_readers(scope, funcdef):
    """locals(), vars(), dir(), eval() and exec() see every variable of the
    frame: a function naming one of them keeps all of its variables."""
    for statement in funcdef.body:
        for node in walk_frame(statement):
            if isinstance(node, nodes.Name) and node.name in FRAME_READERS \
                    and node.name not in scope.variable_set:
                return frozenset(scope.variables)
    return frozenset()


def _walruses_on_some_paths(funcdef):
    return [
        node for statement in funcdef.body for node in walk_frame(statement)
        if isinstance(node, nodes.NamedExpr) and _runs_on_some_paths(node)
    ]


def _runs_on_some_paths(node):
    """Whether an expression is skipped on some paths through its statement."""
    child, parent = node, node.parent
    while True:
        if isinstance(parent, nodes.BoolOp) and child is not parent.values[0]:
            return True
        if isinstance(parent, nodes.IfExp) and child is not parent.test:
            return True
        if isinstance(parent, nodes.Compare) and child in [c for _, c in parent.ops[1:]]:
            return True
        if isinstance(parent, nodes.Assert) and child is parent.fail:
            return True
        if parent.is_statement:
            return False
        child, parent = parent, parent.parent


def _has_cleanup(frame):
    return not (isinstance(frame, _Loop) and frame.iterator is None)


def _deletion_targets(targets):
    for target in targets:
        if isinstance(target, (nodes.Tuple, nodes.List)):
            yield from _deletion_targets(target.elts)
        else:
            yield target


def _bypass_empty(block):
    """The block control really gets to when it arrives at `block`: blocks
    with nothing in them but a jump are passed through."""
    passed = set()
    while not block.ops and isinstance(block.terminator, Jump) and block not in passed:
        passed.add(block)
        block = block.terminator.target
    return block


def _skip_empty_blocks(blocks):
    for block in blocks:
        terminator = block.terminator
        if isinstance(terminator, Jump):
            terminator.target = _bypass_empty(terminator.target)
        elif isinstance(terminator, Branch):
            terminator.if_true = _bypass_empty(terminator.if_true)
            terminator.if_false = _bypass_empty(terminator.if_false)


def _kept_blocks(blocks, start):
    """The blocks reachable from the start, and the unreachable code on the way
    to and from a call (so that every call keeps its resume point), the start
    first."""
    entering = {block: [] for block in blocks}
    for block in blocks:
        for successor in block.successors():
            entering[successor].append(block)
    with_calls = [b for b in blocks if any(isinstance(op, Call) for op in b.ops)]
    leading = _closure(with_calls, entering.__getitem__)
    seen = _closure([start], Block.successors) | _closure(leading, Block.successors)
    kept = [start] + [block for block in blocks if block in seen and block is not start]
    for number, block in enumerate(kept):
        block.label = f"b{number}"
    return kept


def _closure(roots, following):
    seen = set()
    stack = list(roots)
    while stack:
        block = stack.pop()
        if block not in seen:
            seen.add(block)
            stack.extend(following(block))
    return seen


STATEMENTS = {
    nodes.Assign: "_assign",
    nodes.AugAssign: "_aug_assign",
    nodes.AnnAssign: "_ann_assign",
    nodes.Expr: "_expr",
    nodes.If: "_if",
    nodes.While: "_while",
    nodes.For: "_for",
    nodes.Try: "_try",
    nodes.With: "_with",
    nodes.Return: "_return",
    nodes.Raise: "_raise",
    nodes.Assert: "_assert",
    nodes.Delete: "_delete",
    nodes.Break: "_break",
    nodes.Continue: "_continue",
    nodes.Pass: "_nothing",
    nodes.Global: "_nothing",
    nodes.Nonlocal: "_nothing",
    nodes.Import: "_simple",
    nodes.ImportFrom: "_simple",
    nodes.FunctionDef: "_simple",
    nodes.AsyncFunctionDef: "_simple",
    nodes.ClassDef: "_simple",
}
