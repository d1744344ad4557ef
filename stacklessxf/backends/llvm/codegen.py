"""IR to LLVM IR for one specialization of a native function.

The function body is emitted once, in ``<symbol>.impl``, which both the
normal entry and the resume entry inline: the normal entry passes resume
point ``NORMAL`` so the resume dispatch folds away, and the resume entry
passes the record's id so the dispatch jumps to the saved place.  Every
variable lives in an ``alloca`` (promoted to registers by the optimizer);
a user variable that is not a parameter has a flag saying whether it is
bound, checked where it is read (the optimizer removes the checks it can
prove true).
"""

from llvmlite import ir

from ...ir.model import Branch, Call, Const, Eval, Jump, Prim, Return, Store, is_temp
from . import engine as rt
from . import pyentry
from .expressions import (
    ERR_UNBOUND,
    F64,
    I1,
    I32,
    I64,
    NEXT_TYPE,
    TRIPLE,
    Expressions,
    llvm_type,
)
from .types import (
    BOOL,
    FLOAT,
    INT,
    NEXT,
    NONE,
    RANGE_ITER,
)

I64P = I64.as_pointer()
# What every native function returns: a status and a word.
RESULT = ir.LiteralStructType([I32, I64])
RESUME_TYPE = ir.FunctionType(RESULT, [I64, I64P, I64])
NORMAL = -2
# How many levels of a function's own recursion are inlined into it.
INLINE_LEVELS = 2


def word_count(ntype):
    return 3 if ntype == RANGE_ITER else 1


class RecordLayout:
    """What one resume point's record holds: (variable, type) per slot, in
    the order of ``slots`` (the portable names)."""

    def __init__(self, rp, variables, slots, name):
        self.rp = rp
        self.variables = variables  # [(variable, NType)]
        self.slots = slots  # records.Slot per variable
        self.name = name
        self.words = sum(word_count(ntype) for _, ntype in variables)


class ModuleBuilder:
    """One LLVM module holding a group of specializations."""

    def __init__(self, name):
        self.module = ir.Module(name=name)
        self.declared = {}
        self.runtime = {}

    def function(self, name, fntype):
        found = self.declared.get(name)
        if found is None:
            found = self.module.globals.get(name) or ir.Function(self.module, fntype, name)
            self.declared[name] = found
        return found

    def native_entry(self, spec):
        """The normal entry of ``spec``: called by native code only, so with
        the calling convention of LLVM's choice."""
        function = self.function(spec.symbol, signature(spec))
        function.calling_convention = "fastcc"
        return function

    def stack_pointer(self, builder):
        read = self.function("llvm.read_register.i64", ir.FunctionType(I64, [ir.MetaDataType()]))
        register = self.module.add_metadata([ir.MetaDataString(self.module, rt.STACK_REGISTER)])
        return builder.call(read, [register])

    def runtime_global(self, name):
        found = self.runtime.get(name)
        if found is None:
            found = ir.GlobalVariable(self.module, I64, name)
            found.linkage = "external"
            self.runtime[name] = found
        return found

    def intrinsic(self, name, types, arguments=1):
        fntype = ir.FunctionType(types[0], [types[0]] * arguments)
        return self.module.declare_intrinsic(name, types, fntype)


def signature(spec):
    return ir.FunctionType(RESULT, [llvm_type(t) for t in spec.arg_types])


class FunctionCompiler(Expressions):
    """Compiles one specialization's body.  A function that calls itself
    gets its body INLINE_LEVELS + 1 times: the entries' copy calls an
    ``.inline1`` entry for its own recursive calls, which the optimizer
    inlines, whose copy calls ``.inline2``, ..., the last the normal entry;
    so one native call does several levels of the recursion (half of a
    recursion's calls are at its leaves)."""

    def __init__(self, spec, builder, level=0):
        self.spec = spec
        self.level = level
        suffix = f".impl{level}"
        self.mb = builder
        self.ir_function = spec.ir
        self.typer = spec.typer
        self.types = spec.typer.var_types
        impl_type = ir.FunctionType(RESULT, [I64, I64P, I64] +
                                    [llvm_type(t) for t in spec.arg_types])
        self.impl = ir.Function(builder.module, impl_type, spec.symbol + suffix)
        self.impl.linkage = "internal"
        self.impl.attributes.add("alwaysinline")
        self.rp, self.slots, self.value = self.impl.args[:3]
        self.params = self.impl.args[3:]
        self.builder = None
        self.blocks = {}
        self.continuations = {}  # resume point id -> LLVM block after the call
        self.tick_targets = {}  # tick id -> LLVM block of the loop header
        self.error_blocks = {}

    # -- driver ------------------------------------------------------------

    def compile(self):
        entry = self.impl.append_basic_block("entry")
        self.builder = ir.IRBuilder(entry)
        self.variables = {}
        self.flags = {}
        for name, ntype in sorted(self.types.items()):
            self.variables[name] = self.builder.alloca(llvm_type(ntype), name="v." + name)
            if self.needs_flag(name):
                flag = self.builder.alloca(I1, name="bound." + name)
                self.builder.store(ir.Constant(I1, 0), flag)
                self.flags[name] = flag
        for block in self.ir_function.blocks:
            self.blocks[block] = self.impl.append_basic_block(block.label)
        normal = self.impl.append_basic_block("normal")
        self.back_edges = self.spec.back_edges
        for block in self.ir_function.blocks:
            self.emit_block(block)
        self.builder.position_at_end(normal)
        self.emit_prologue()
        self.builder.position_at_end(entry)
        self.emit_dispatch(normal)
        if self.level:
            self.emit_inline_entry()
        else:
            self.emit_entries()

    def calls_itself(self):
        return any(target.kind == "native" and target.callee is self.spec
                   for target in self.typer.targets.values())

    def self_call_entry(self):
        """What a recursive call of this function calls."""
        if self.level == INLINE_LEVELS or not self.calls_itself():
            return self.mb.native_entry(self.spec)
        return self.mb.function(f"{self.spec.symbol}.inline{self.level + 1}",
                                signature(self.spec))

    def emit_inline_entry(self):
        inline = self.mb.function(f"{self.spec.symbol}.inline{self.level}",
                                  signature(self.spec))
        inline.linkage = "internal"
        inline.calling_convention = "fastcc"
        inline.attributes.add("alwaysinline")
        b = ir.IRBuilder(inline.append_basic_block())
        b.ret(b.call(self.impl, [ir.Constant(I64, NORMAL), ir.Constant(I64P, None),
                                 ir.Constant(I64, 0)] + list(inline.args)))

    def needs_flag(self, name):
        return not is_temp(name) and name not in self.ir_function.params

    # -- entries -------------------------------------------------------------

    def emit_prologue(self):
        """The normal entry: parameters in, then unwind at once if the native
        stack is too deep (the record saved says: start over from here)."""
        b = self.builder
        for name, value in zip(self.ir_function.params, self.params):
            b.store(value, self.variables[name])
        limit = b.load(self.mb.runtime_global("sx_stack_limit"))
        too_deep = b.icmp_unsigned("<", self.mb.stack_pointer(b), limit)
        with b.if_then(too_deep, likely=False):
            self.start_unwinding()
            self.save_record(self.spec.entry_layout, rt.ENTRY_RP)
            self.start_unwinding_reason(rt.DEPTH)
            b.ret(self.result(rt.UNWIND, ir.Constant(I64, 0)))
        b.branch(self.blocks[self.ir_function.start])

    def emit_dispatch(self, normal):
        b = self.builder
        switch = b.switch(self.rp, normal)
        start = self.blocks[self.ir_function.start]
        cases = [(rt.ENTRY_RP, self.spec.entry_layout, start)]
        cases += [(rp, layout, self.continuations[rp])
                  for rp, layout in self.spec.layouts.items()]
        cases += [(tick, layout, self.tick_targets[tick])
                  for tick, layout in self.spec.tick_layouts.items()]
        # Records of the bytecode backend's watchdog that mean "at this loop's
        # head" (or "at the start"): resumed there.
        cases += [(alias, layout, self.blocks[head] if head is not None else start)
                  for alias, (layout, head) in self.spec.alias_layouts.items()]
        for rp, layout, target in cases:
            block = self.impl.append_basic_block(f"resume.{rp}")
            switch.add_case(ir.Constant(I64, rp), block)
            b.position_at_end(block)
            self.restore_record(layout)
            if rp in self.spec.layouts:
                op = self.spec.call_ops[rp]
                self.store_var(op.result, self.from_word(self.value, self.types[op.result]))
            b.branch(target)

    def emit_entries(self):
        spec, mb = self.spec, self.mb
        normal = mb.native_entry(spec)
        b = ir.IRBuilder(normal.append_basic_block())
        b.ret(b.call(self.impl, [ir.Constant(I64, NORMAL), ir.Constant(I64P, None),
                                 ir.Constant(I64, 0)] + list(normal.args)))
        resume = mb.function(spec.symbol + ".resume", RESUME_TYPE)
        b = ir.IRBuilder(resume.append_basic_block())
        undefined = [ir.Constant(llvm_type(t), ir.Undefined) for t in spec.arg_types]
        b.ret(b.call(self.impl, list(resume.args) + undefined))
        self.resume_function = resume
        after = mb.function("sx_after", ir.FunctionType(I32, [I32, I64, I64P]))
        # The entry from Python takes one word per argument, then `out`.
        count = len(spec.arg_types)
        entry = mb.function(spec.symbol + ".entry", ir.FunctionType(I32, [I64] * count + [I64P]))
        b = ir.IRBuilder(entry.append_basic_block())
        args = [self.from_word(word, ntype, b)
                for word, ntype in zip(entry.args[:count], spec.arg_types)]
        saved = self.set_stack_limit(b)
        result = b.call(normal, args, cconv="fastcc")
        status = b.call(after, [b.extract_value(result, 0), b.extract_value(result, 1),
                                entry.args[count]])
        b.store(saved, self.mb.runtime_global("sx_stack_limit"))
        b.ret(status)
        if pyentry.has_python_entry(spec):
            pyentry.emit_python_entry(mb, spec, entry, spec.native.bridge)
        pyresume = mb.function(spec.symbol + ".pyresume",
                               ir.FunctionType(I32, [I64, I64P, I64, I64P]))
        b = ir.IRBuilder(pyresume.append_basic_block())
        saved = self.set_stack_limit(b)
        result = b.call(resume, list(pyresume.args[:3]))
        status = b.call(after, [b.extract_value(result, 0), b.extract_value(result, 1),
                                pyresume.args[3]])
        b.store(saved, self.mb.runtime_global("sx_stack_limit"))
        b.ret(status)

    def set_stack_limit(self, b):
        """Native frames may use STACK_BUDGET bytes below this entry's frame
        before they unwind; returns the limit to put back afterwards."""
        limit = self.mb.runtime_global("sx_stack_limit")
        saved = b.load(limit)
        b.store(b.sub(self.mb.stack_pointer(b), ir.Constant(I64, rt.STACK_BUDGET)), limit)
        return saved

    # -- records -------------------------------------------------------------

    def save_record(self, layout, rp):
        """Save the live slots of ``layout`` in a new record for resume point
        ``rp``, chained to the unwinding (the runtime allocates it out of
        line, so the hot path keeps its registers)."""
        b = self.builder
        mask = ir.Constant(I64, 0)
        words = []
        for index, (name, ntype) in enumerate(layout.variables):
            words += self.to_words(b.load(self.variables[name]), ntype)
            bound = b.load(self.flags[name]) if name in self.flags else ir.Constant(I1, 1)
            mask = b.or_(mask, b.shl(b.zext(bound, I64), ir.Constant(I64, index)))
        new_record = self.mb.function("sx_new_record", ir.FunctionType(I64P, [I64] * 4))
        resume = self.mb.function(self.spec.symbol + ".resume", RESUME_TYPE)
        slots = b.call(new_record, [b.ptrtoint(resume, I64), ir.Constant(I64, rp),
                                    ir.Constant(I64, layout.words), mask])
        for position, word in enumerate(words):
            b.store(word, b.gep(slots, [ir.Constant(I64, position)]))

    def restore_record(self, layout):
        b = self.builder
        mask = b.load(b.gep(self.slots, [ir.Constant(I64, -1)]))
        position = 0
        for index, (name, ntype) in enumerate(layout.variables):
            count = word_count(ntype)
            words = [b.load(b.gep(self.slots, [ir.Constant(I64, position + i)]))
                     for i in range(count)]
            position += count
            if name is None:  # a value the native code has no use for
                continue
            b.store(self.from_words(words, ntype), self.variables[name])
            if name in self.flags:
                bit = b.and_(b.lshr(mask, ir.Constant(I64, index)), ir.Constant(I64, 1))
                b.store(b.trunc(bit, I1), self.flags[name])

    def start_unwinding(self):
        """The first record of an unwinding starts a new chain."""
        b = self.builder
        head = self.mb.runtime_global("sx_unwind_head")
        b.store(ir.Constant(I64, 0), head)
        b.store(b.ptrtoint(head, I64), self.mb.runtime_global("sx_unwind_tail"))

    def start_unwinding_reason(self, reason):
        # The record is already chained; only the reason is left to say.
        self.builder.store(ir.Constant(I64, reason), self.mb.runtime_global("sx_reason"))

    def result(self, status, word):
        value = ir.Constant(RESULT, ir.Undefined)
        value = self.builder.insert_value(value, ir.Constant(I32, status), 0)
        return self.builder.insert_value(value, word, 1)

    # -- words -----------------------------------------------------------------

    def to_words(self, value, ntype, b=None):
        b = b or self.builder
        if ntype == RANGE_ITER:
            return [b.extract_value(value, i) for i in range(3)]
        return [self.to_word(value, ntype, b)]

    def to_word(self, value, ntype, b=None):
        b = b or self.builder
        if ntype == FLOAT:
            return b.bitcast(value, I64)
        if ntype == BOOL:
            return b.zext(value, I64)
        return value

    def from_words(self, words, ntype, b=None):
        b = b or self.builder
        if ntype == RANGE_ITER:
            value = ir.Constant(TRIPLE, ir.Undefined)
            for i, word in enumerate(words):
                value = b.insert_value(value, word, i)
            return value
        return self.from_word(words[0], ntype, b)

    def from_word(self, word, ntype, b=None):
        b = b or self.builder
        if ntype == FLOAT:
            return b.bitcast(word, F64)
        if ntype == BOOL:
            return b.icmp_unsigned("!=", word, ir.Constant(I64, 0))
        return word

    # -- variables -------------------------------------------------------------

    def load_var(self, name, node=None):
        b = self.builder
        if name in self.flags:
            bound = b.load(self.flags[name])
            self.fail_unless(bound, ERR_UNBOUND, getattr(node, "lineno", None) or self.line,
                             self.spec.variable_index(name))
        return b.load(self.variables[name])

    def store_var(self, name, value):
        self.builder.store(value, self.variables[name])
        if name in self.flags:
            self.builder.store(ir.Constant(I1, 1), self.flags[name])

    def operand(self, operand, node=None):
        """(value, type) of an IR operand (a loop step gives its item)."""
        if isinstance(operand, Const):
            return self.constant(operand.value)
        value, ntype = self.load_var(operand, node), self.types[operand]
        if ntype == NEXT:
            return self.builder.extract_value(value, 0), INT
        return value, ntype

    def constant(self, value):
        if value is None:
            return ir.Constant(I64, 0), NONE
        if isinstance(value, bool):
            return ir.Constant(I1, int(value)), BOOL
        if isinstance(value, int):
            return ir.Constant(I64, value), INT
        return ir.Constant(F64, value), FLOAT

    # -- errors ------------------------------------------------------------------

    def fail_unless(self, ok, kind, line, arg=0):
        """Raise error ``kind`` at ``line`` unless ``ok`` (an i1) holds."""
        b = self.builder
        failed = self.error_block(kind, line, arg)
        go_on = self.impl.append_basic_block("ok")
        b.cbranch(ok, go_on, failed)
        b.position_at_end(go_on)

    def fail_if(self, bad, kind, line, arg=0):
        self.fail_unless(self.builder.not_(bad), kind, line, arg)

    def error_block(self, kind, line, arg):
        key = (kind, line, arg)
        block = self.error_blocks.get(key)
        if block is None:
            block = self.error_blocks[key] = self.impl.append_basic_block("error")
            b = ir.IRBuilder(block)
            fail = self.mb.function("sx_fail", ir.FunctionType(ir.VoidType(), [I64] * 4))
            b.call(fail, [ir.Constant(I64, value) for value in
                          (kind, line or 0, self.spec.index, arg)])
            undefined = ir.Constant(RESULT, ir.Undefined)
            b.ret(b.insert_value(undefined, ir.Constant(I32, rt.ERROR), 0))
        return block

    # -- blocks --------------------------------------------------------------------

    def emit_block(self, block):
        self.line = self.ir_function.lineno
        self.builder.position_at_end(self.blocks[block])
        for op in block.ops:
            self.line = op.lineno
            self.emit_op(op)
        self.emit_terminator(block)

    def emit_terminator(self, block):
        b = self.builder
        term = block.terminator
        self.line = term.lineno or self.line
        if isinstance(term, Return):
            value, ntype = self.operand(term.value)
            value = self.convert(value, ntype, self.spec.return_type)
            b.ret(self.result(rt.OK, self.to_word(value, self.spec.return_type)))
        elif isinstance(term, Jump):
            b.branch(self.edge(block, term.target))
        elif isinstance(term, Branch):
            value, ntype = self.operand(term.cond)
            cond = self.truth(value, ntype)
            b.cbranch(cond, self.edge(block, term.if_true), self.edge(block, term.if_false))
        else:
            raise AssertionError(term)

    def edge(self, source, target):
        """The LLVM block to branch to for the IR edge source -> target: the
        target itself, or on a loop's back edge a watchdog tick first."""
        tick = self.back_edges.get((source, target))
        if tick is None:
            return self.blocks[target]
        saved = self.builder.block
        block = self.impl.append_basic_block(f"tick.{tick}")
        b = self.builder
        b.position_at_end(block)
        ticks = self.mb.runtime_global("sx_ticks")
        left = b.sub(b.load(ticks), ir.Constant(I64, 1))
        b.store(left, ticks)
        expired = b.icmp_signed("<=", left, ir.Constant(I64, 0))
        with b.if_then(expired, likely=False):
            self.call_out(tick, self.spec.tick_layouts[tick], rt.REQ_TICK)
        b.branch(self.blocks[target])
        self.tick_targets[tick] = self.blocks[target]
        b.position_at_end(saved)
        return block

    def call_out(self, rp, layout, kind, obj=None, value=None):
        """Save this activation's record and ask Python for ``kind``."""
        b = self.builder
        self.start_unwinding()
        self.save_record(layout, rp)
        for name, word in (("sx_req_kind", ir.Constant(I64, kind)),
                           ("sx_req_obj", obj if obj is not None else ir.Constant(I64, 0)),
                           ("sx_req_value", value if value is not None else ir.Constant(I64, 0))):
            b.store(word, self.mb.runtime_global(name))
        self.start_unwinding_reason(rt.CALL_OUT)
        b.ret(self.result(rt.UNWIND, ir.Constant(I64, 0)))

    # -- ops -------------------------------------------------------------------------

    def emit_op(self, op):
        if isinstance(op, Eval):
            self.emit_eval(op)
        elif isinstance(op, Store):
            value, ntype = self.operand(op.value)
            self.assign(op.target.node, op.target.subst, value, ntype)
        elif isinstance(op, Prim):
            self.emit_prim(op)
        elif isinstance(op, Call):
            self.emit_call(op)
        else:
            raise AssertionError(op)

    def emit_eval(self, op):
        node, subst = op.tree.node, op.tree.subst
        kind = type(node).__name__
        if kind in ("Assign", "AnnAssign"):
            if getattr(node, "value", None) is None:
                return
            value, ntype = self.expr(node.value, subst)
            targets = node.targets if kind == "Assign" else [node.target]
            for target in targets:
                self.assign(target, subst, value, ntype)
        elif kind == "AugAssign":
            name = node.target.name
            old = self.load_var(name, node), self.types[name]
            right = self.expr(node.value, subst)
            value, ntype = self.binary(node.op[:-1], old, right, node)
            self.store_var(name, self.convert(value, ntype, self.types[name]))
        elif kind == "Expr":
            self.expr(node.value, subst)
        elif kind == "Pass":
            pass
        else:
            value, ntype = self.expr(node, subst)
            if op.result is not None and ntype.name != "function":
                self.store_var(op.result, value)

    def assign(self, target, subst, value, ntype):
        if target in subst:
            return
        if type(target).__name__ == "AssignName":
            self.store_var(target.name, value)
            return
        for index, element in enumerate(target.elts):  # a tuple of scalars
            self.assign(element, subst, self.builder.extract_value(value, index),
                        ntype.items[index])

    def emit_prim(self, op):
        b = self.builder
        name = op.opname
        if name == "release":
            return
        if name in ("compare", "inplace"):
            operator = op.args[0].value
            left, right = self.operand(op.args[1]), self.operand(op.args[2])
        else:
            args = [self.operand(arg) for arg in op.args]
        if name == "copy":
            value = args[0][0]
        elif name == "iter":
            value = args[0][0]  # a range is its own iterator state
        elif name == "next":
            value = self.range_next(op.args[0])
        elif name == "exhausted":
            value = b.extract_value(self.load_var(op.args[0]), 1)
        elif name == "compare":
            value = self.compare(operator, left, right, None)
        elif name == "inplace":
            value, ntype = self.binary(operator[:-1], left, right, None)
            value = self.convert(value, ntype, self.types[op.result])
        else:
            raise AssertionError(name)
        if op.result is not None:
            self.store_var(op.result, value)

    def range_next(self, iterator):
        """(value, exhausted) from a range iterator held in ``iterator``,
        which moves on by one step."""
        b = self.builder
        state = self.load_var(iterator)
        current, stop, step = (b.extract_value(state, i) for i in range(3))
        upward = b.icmp_signed(">", step, ir.Constant(I64, 0))
        more = b.select(upward, b.icmp_signed("<", current, stop),
                        b.icmp_signed(">", current, stop))
        added = b.sadd_with_overflow(current, step)
        # Past the end of int64 the range is over: the next step is at stop.
        following = b.select(b.extract_value(added, 1), stop, b.extract_value(added, 0))
        b.store(b.insert_value(state, b.select(more, following, current), 0),
                self.variables[iterator])
        value = ir.Constant(NEXT_TYPE, ir.Undefined)
        value = b.insert_value(value, current, 0)
        return b.insert_value(value, b.not_(more), 1)

    # -- may-unwind calls ----------------------------------------------------------

    def emit_call(self, op):
        target = self.typer.targets[op]
        rp = op.resume_point
        layout = self.spec.layouts.get(rp)  # None for a tail call
        b = self.builder
        continuation = self.impl.append_basic_block(f"after.{rp}")
        self.continuations[rp] = continuation
        node, subst = op.tree.node, op.tree.subst
        if target.kind == "native":
            callee = target.callee
            args = [self.expr(arg, subst) for arg in node.args]
            args = [self.convert(v, t, want) for (v, t), want in zip(args, callee.arg_types)]
            function = self.self_call_entry() if callee is self.spec else \
                self.mb.native_entry(callee)
            result = b.call(function, args, cconv="fastcc")
            status = b.extract_value(result, 0)
            with b.if_then(b.icmp_signed("!=", status, ir.Constant(I32, rt.OK)), likely=False):
                failed = b.icmp_signed("==", status, ir.Constant(I32, rt.ERROR))
                with b.if_then(failed):
                    b.ret(result)
                if layout is not None:
                    self.save_record(layout, rp)
                b.ret(self.result(rt.UNWIND, ir.Constant(I64, 0)))
            word = b.extract_value(result, 1)
            self.store_var(op.result, self.from_word(word, callee.return_type))
            b.branch(continuation)
        else:
            kind, obj, value = self.switch_request(target, node, subst)
            self.call_out(rp, layout, kind, obj, value)
        b.position_at_end(continuation)

    def switch_request(self, target, node, subst):
        if target.kind == "schedule":
            return rt.REQ_SCHEDULE, None, None
        channel, _ = self.operand(target.channel, node)
        if target.kind == "receive":
            return rt.REQ_RECEIVE, channel, None
        value, ntype = self.expr(node.args[0], subst)
        kind = {INT: rt.REQ_SEND_INT, FLOAT: rt.REQ_SEND_FLOAT, BOOL: rt.REQ_SEND_BOOL}[ntype]
        return kind, channel, self.to_word(value, ntype)

def find_back_edges(function):
    """{(source, target): tick id} for the retreating edges of the IR's
    control-flow graph (the loops' back edges), found by depth-first search."""
    found = {}
    state = {}
    first_tick = 1 + max((op.resume_point for _, _, op in function.call_ops()), default=-1)
    stack = [(function.start, iter(function.start.terminator.targets()))]
    state[function.start] = "open"
    while stack:
        block, successors = stack[-1]
        for successor in successors:
            if state.get(successor) == "open":
                found[(block, successor)] = first_tick + len(found)
            elif successor not in state:
                state[successor] = "open"
                stack.append((successor, iter(successor.terminator.targets())))
            break
        else:
            state[block] = "done"
            stack.pop()
    return found
