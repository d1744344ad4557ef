"""Expressions and arithmetic of the typed subset, with Python's semantics.

A mixin of :class:`~.codegen.FunctionCompiler`: every method gives the LLVM
value and the NType of an expression node (or of an operation on such
pairs), emitting the checks that turn what Python would raise into error
exits (``fail_if``/``fail_unless``).
"""

from llvmlite import ir

from .types import (
    BOOL,
    CHANNEL,
    FLOAT,
    INT,
    NEXT,
    NONE,
    RANGE,
    RANGE_ITER,
    TRUTH,
    arithmetic_result,
)

I1, I32, I64, F64 = ir.IntType(1), ir.IntType(32), ir.IntType(64), ir.DoubleType()
TRIPLE = ir.LiteralStructType([I64, I64, I64])
NEXT_TYPE = ir.LiteralStructType([I64, I1])

# Error kinds, decoded by the bridge into Python exceptions.
(ERR_OVERFLOW, ERR_INT_ZERO_DIVISION, ERR_ZERO_DIVISION, ERR_FLOAT_ZERO_DIVISION,
 ERR_FLOAT_FLOOR_ZERO, ERR_FLOAT_MODULO_ZERO, ERR_NEGATIVE_INT_POWER, ERR_ZERO_NEGATIVE_POWER,
 ERR_COMPLEX_POWER, ERR_FLOAT_POWER_RANGE, ERR_RANGE_STEP, ERR_UNBOUND, ERR_SHIFT_COUNT,
 ERR_FLOAT_NAN_TO_INT, ERR_FLOAT_INF_TO_INT) = range(1, 16)


def llvm_type(ntype):
    if ntype in (INT, CHANNEL, NONE) or ntype.name == "function":
        return I64
    if ntype == FLOAT:
        return F64
    if ntype in (BOOL, TRUTH):
        return I1
    if ntype in (RANGE, RANGE_ITER):
        return TRIPLE
    if ntype == NEXT:
        return NEXT_TYPE
    if ntype.name == "tuple":
        return ir.LiteralStructType([llvm_type(item) for item in ntype.items])
    raise AssertionError(ntype)



# The results of sx_compare_int_float (-1, 0, 1; 2 for a NaN) that make each
# comparison true.
ORDERS_ACCEPTED = {"==": (0,), "!=": (-1, 1, 2), "<": (-1,), "<=": (-1, 0),
                   ">": (1,), ">=": (1, 0)}


class Expressions:
    def expr(self, node, subst):
        """(LLVM value, NType) of an expression node."""
        if node in subst:
            return self.operand(subst[node], node)
        return getattr(self, "expr_" + type(node).__name__)(node, subst)

    def expr_Const(self, node, subst):
        return self.constant(node.value)

    def expr_Name(self, node, subst):
        if node.name in self.types:
            return self.load_var(node.name, node), self.types[node.name]
        if node.name not in ("True", "False", "None"):  # a native function
            return ir.Constant(I64, 0), self.typer.expr(node, subst)
        return self.constant({"True": True, "False": False, "None": None}[node.name])

    def expr_AssignName(self, node, subst):
        # An augmented assignment's target, read before its right-hand side.
        return self.load_var(node.name, node), self.types[node.name]

    def expr_Tuple(self, node, subst):
        items = [self.expr(element, subst) for element in node.elts]
        ntype = self.typer.expr(node, subst)
        value = ir.Constant(llvm_type(ntype), ir.Undefined)
        for index, (item, _) in enumerate(items):
            value = self.builder.insert_value(value, item, index)
        return value, ntype

    def expr_BinOp(self, node, subst):
        left = self.expr(node.left, subst)
        right = self.expr(node.right, subst)
        return self.binary(node.op, left, right, node)

    def expr_UnaryOp(self, node, subst):
        b = self.builder
        value, ntype = self.expr(node.operand, subst)
        line = node.lineno
        if node.op == "not":
            return b.not_(self.truth(value, ntype)), BOOL
        if ntype == FLOAT:
            return (b.fneg(value) if node.op == "-" else value), FLOAT
        value = self.convert(value, ntype, INT)
        if node.op == "-":
            return self.checked("ssub", ir.Constant(I64, 0), value, line), INT
        if node.op == "~":
            return b.xor(value, ir.Constant(I64, -1)), INT
        return value, INT

    def join(self, block, incoming, ntype):
        """Continue at ``block``, where the value is one of ``incoming``
        (value, predecessor) pairs."""
        self.builder.position_at_end(block)
        phi = self.builder.phi(llvm_type(ntype))
        for value, predecessor in incoming:
            phi.add_incoming(value, predecessor)
        return phi

    def expr_BoolOp(self, node, subst):
        b = self.builder
        result_type = self.typer.expr(node, subst)
        join = self.impl.append_basic_block("boolop.end")
        incoming = []
        for index, operand in enumerate(node.values):
            value, ntype = self.expr(operand, subst)
            if result_type == TRUTH:
                value = self.truth(value, ntype)
            incoming.append((value, b.block))
            if index == len(node.values) - 1:
                b.branch(join)
                break
            truth = self.truth(value, BOOL if result_type == TRUTH else ntype)
            more = self.impl.append_basic_block("boolop.more")
            if node.op == "and":
                b.cbranch(truth, more, join)
            else:
                b.cbranch(truth, join, more)
            b.position_at_end(more)
        return self.join(join, incoming, result_type), result_type

    def expr_Compare(self, node, subst):
        b = self.builder
        join = self.impl.append_basic_block("compare.end")
        incoming = []
        left = self.expr(node.left, subst)
        for index, (op, comparator) in enumerate(node.ops):
            right = self.expr(comparator, subst)
            result = self.compare(op, left, right, node)
            incoming.append((result, b.block))
            if index == len(node.ops) - 1:
                b.branch(join)
                break
            more = self.impl.append_basic_block("compare.more")
            b.cbranch(result, more, join)
            b.position_at_end(more)
            left = right
        return self.join(join, incoming, BOOL), BOOL

    def expr_IfExp(self, node, subst):
        b = self.builder
        test = self.truth(*self.expr(node.test, subst))
        yes, no = self.impl.append_basic_block("if.yes"), self.impl.append_basic_block("if.no")
        join = self.impl.append_basic_block("if.end")
        b.cbranch(test, yes, no)
        incoming = []
        for block, branch in ((yes, node.body), (no, node.orelse)):
            b.position_at_end(block)
            value, ntype = self.expr(branch, subst)
            incoming.append((value, b.block))
            b.branch(join)
        return self.join(join, incoming, ntype), ntype

    def expr_Call(self, node, subst):
        b = self.builder
        name = node.func.name
        args = [self.expr(arg, subst) for arg in node.args]
        line = node.lineno
        if name == "range":
            return self.make_range(args, line), RANGE
        if name == "abs":
            value, ntype = args[0]
            if ntype == FLOAT:
                return b.call(self.mb.intrinsic("llvm.fabs", [F64]), [value]), FLOAT
            value = self.convert(value, ntype, INT)
            negative = b.icmp_signed("<", value, ir.Constant(I64, 0))
            negated = self.checked("ssub", ir.Constant(I64, 0), value, line) \
                if ntype == INT else b.sub(ir.Constant(I64, 0), value)
            return b.select(negative, negated, value), INT
        if name in ("min", "max"):
            result, ntype = args[0]
            for value, _ in args[1:]:
                better = self.compare(">" if name == "max" else "<", (value, ntype),
                                      (result, ntype), node)
                result = b.select(better, value, result)
            return result, ntype
        value, ntype = args[0]
        if name == "bool":
            return self.truth(value, ntype), BOOL
        if name == "float":
            return self.convert(value, ntype, FLOAT), FLOAT
        if ntype != FLOAT:
            return self.convert(value, ntype, INT), INT
        return self.float_to_int(value, line), INT

    def make_range(self, args, line):
        b = self.builder
        values = [self.convert(v, t, INT) for v, t in args]
        if len(values) == 1:
            values = [ir.Constant(I64, 0), values[0], ir.Constant(I64, 1)]
        elif len(values) == 2:
            values.append(ir.Constant(I64, 1))
        self.fail_if(b.icmp_signed("==", values[2], ir.Constant(I64, 0)), ERR_RANGE_STEP, line)
        state = ir.Constant(TRIPLE, ir.Undefined)
        for index, value in enumerate(values):
            state = b.insert_value(state, value, index)
        return state

    def float_to_int(self, value, line):
        b = self.builder
        self.fail_if(b.fcmp_unordered("uno", value, value), ERR_FLOAT_NAN_TO_INT, line)
        infinite = b.fcmp_ordered("==", b.call(self.mb.intrinsic("llvm.fabs", [F64]), [value]),
                                  ir.Constant(F64, float("inf")))
        self.fail_if(infinite, ERR_FLOAT_INF_TO_INT, line)
        fits = b.and_(b.fcmp_ordered(">=", value, ir.Constant(F64, -2.0**63)),
                      b.fcmp_ordered("<", value, ir.Constant(F64, 2.0**63)))
        self.fail_unless(fits, ERR_OVERFLOW, line)
        return b.fptosi(value, I64)

    # -- arithmetic ------------------------------------------------------------------------

    def truth(self, value, ntype):
        b = self.builder
        if ntype in (BOOL, TRUTH):
            return value
        if ntype == FLOAT:
            return b.fcmp_unordered("!=", value, ir.Constant(F64, 0.0))
        return b.icmp_signed("!=", value, ir.Constant(I64, 0))

    def convert(self, value, ntype, want):
        b = self.builder
        if ntype == want or want is None:
            return value
        if want == INT and ntype == BOOL:
            return b.zext(value, I64)
        if want == FLOAT and ntype == BOOL:
            return b.uitofp(value, F64)
        if want == FLOAT and ntype == INT:
            return b.sitofp(value, F64)
        raise AssertionError((ntype, want))

    def checked(self, operation, left, right, line):
        """An int64 operation that raises OverflowError instead of wrapping."""
        b = self.builder
        pair = getattr(b, operation + "_with_overflow")(left, right)
        self.fail_if(b.extract_value(pair, 1), ERR_OVERFLOW, line)
        return b.extract_value(pair, 0)

    def binary(self, op, left, right, node):
        (lv, lt), (rv, rt_) = left, right
        line = getattr(node, "lineno", None) or self.line
        result = arithmetic_result(op, lt, rt_)
        if op == "/":
            if lt != FLOAT and rt_ != FLOAT:
                return self.int_true_divide(self.convert(lv, lt, INT),
                                            self.convert(rv, rt_, INT), line), FLOAT
            return self.float_op(op, self.convert(lv, lt, FLOAT),
                                 self.convert(rv, rt_, FLOAT), line), FLOAT
        if result == FLOAT:
            return self.float_op(op, self.convert(lv, lt, FLOAT),
                                 self.convert(rv, rt_, FLOAT), line), FLOAT
        if result == BOOL:
            operation = {"&": "and_", "|": "or_", "^": "xor"}[op]
            return getattr(self.builder, operation)(lv, rv), BOOL
        return self.int_op(op, self.convert(lv, lt, INT), self.convert(rv, rt_, INT), line), INT

    def int_op(self, op, a, c, line):
        b = self.builder
        zero = ir.Constant(I64, 0)
        if op == "+":
            return self.checked("sadd", a, c, line)
        if op == "-":
            return self.checked("ssub", a, c, line)
        if op == "*":
            return self.checked("smul", a, c, line)
        if op in ("&", "|", "^"):
            return getattr(b, {"&": "and_", "|": "or_", "^": "xor"}[op])(a, c)
        if op in ("//", "%"):
            self.fail_if(b.icmp_signed("==", c, zero), ERR_INT_ZERO_DIVISION, line)
            minus_one = b.icmp_signed("==", c, ir.Constant(I64, -1))
            if op == "//":
                self.fail_if(b.and_(minus_one, b.icmp_signed("==", a, ir.Constant(I64, -2**63))),
                             ERR_OVERFLOW, line)
            # x86 traps on INT64_MIN / -1 even for the remainder; -1 divides all.
            safe = b.select(minus_one, ir.Constant(I64, 1), c)
            quotient = b.sdiv(a, safe)
            quotient = b.select(minus_one, b.sub(zero, a), quotient)
            remainder = b.select(minus_one, zero, b.srem(a, safe))
            adjust = b.and_(b.icmp_signed("!=", remainder, zero),
                            b.icmp_signed("<", b.xor(remainder, c), zero))
            if op == "//":
                return b.sub(quotient, b.zext(adjust, I64))
            return b.select(adjust, b.add(remainder, c), remainder)
        if op == "**":
            self.fail_if(b.icmp_signed("<", c, zero), ERR_NEGATIVE_INT_POWER, line)
            power = self.mb.function("sx_int_pow", ir.FunctionType(
                ir.LiteralStructType([I1, I64]), [I64, I64]))
            pair = b.call(power, [a, c])
            self.fail_if(b.extract_value(pair, 0), ERR_OVERFLOW, line)
            return b.extract_value(pair, 1)
        if op in ("<<", ">>"):
            self.fail_if(b.icmp_signed("<", c, zero), ERR_SHIFT_COUNT, line)
            big = b.icmp_signed(">", c, ir.Constant(I64, 63))
            count = b.select(big, ir.Constant(I64, 63), c)
            if op == ">>":
                return b.ashr(a, count)
            shifted = b.shl(a, count)
            lossless = b.icmp_signed("==", b.ashr(shifted, count), a)
            nonzero = b.icmp_signed("!=", a, zero)
            self.fail_if(b.and_(nonzero, b.or_(big, b.not_(lossless))), ERR_OVERFLOW, line)
            return b.select(nonzero, shifted, zero)
        raise AssertionError(op)

    def int_true_divide(self, a, c, line):
        b = self.builder
        self.fail_if(b.icmp_signed("==", c, ir.Constant(I64, 0)), ERR_ZERO_DIVISION, line)
        divide = self.mb.function("sx_int_true_divide", ir.FunctionType(F64, [I64, I64]))
        return b.call(divide, [a, c])

    def float_op(self, op, x, y, line):
        b = self.builder
        zero = ir.Constant(F64, 0.0)
        if op == "+":
            return b.fadd(x, y)
        if op == "-":
            return b.fsub(x, y)
        if op == "*":
            return b.fmul(x, y)
        if op == "/":
            self.fail_if(b.fcmp_ordered("==", y, zero), ERR_FLOAT_ZERO_DIVISION, line)
            return b.fdiv(x, y)
        if op in ("//", "%"):
            error = ERR_FLOAT_FLOOR_ZERO if op == "//" else ERR_FLOAT_MODULO_ZERO
            self.fail_if(b.fcmp_ordered("==", y, zero), error, line)
            return self.float_divmod(x, y)[0 if op == "//" else 1]
        if op == "**":
            return self.float_power(x, y, line)
        raise AssertionError(op)

    def float_divmod(self, x, y):
        """Python's float floor division and modulo (y is not zero)."""
        b = self.builder
        zero = ir.Constant(F64, 0.0)
        copysign = self.mb.intrinsic("llvm.copysign", [F64], 2)
        floor = self.mb.intrinsic("llvm.floor", [F64])
        mod = b.frem(x, y)
        div = b.fdiv(b.fsub(x, mod), y)
        nonzero_mod = b.fcmp_unordered("!=", mod, zero)
        signs_differ = b.xor(b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", mod, zero))
        fix = b.and_(nonzero_mod, signs_differ)
        mod = b.select(fix, b.fadd(mod, y), mod)
        div = b.select(fix, b.fsub(div, ir.Constant(F64, 1.0)), div)
        mod = b.select(nonzero_mod, mod, b.call(copysign, [zero, y]))
        floordiv = b.call(floor, [div])
        round_up = b.fcmp_ordered(">", b.fsub(div, floordiv), ir.Constant(F64, 0.5))
        floordiv = b.select(round_up, b.fadd(floordiv, ir.Constant(F64, 1.0)), floordiv)
        nonzero_div = b.fcmp_unordered("!=", div, zero)
        floordiv = b.select(nonzero_div, floordiv,
                            b.call(copysign, [zero, b.fdiv(x, y)]))
        return floordiv, mod

    def float_power(self, x, y, line):
        b = self.builder
        zero = ir.Constant(F64, 0.0)
        fabs = self.mb.intrinsic("llvm.fabs", [F64])
        inf = ir.Constant(F64, float("inf"))
        self.fail_if(b.and_(b.fcmp_ordered("==", x, zero), b.fcmp_ordered("<", y, zero)),
                     ERR_ZERO_NEGATIVE_POWER, line)
        floor = self.mb.intrinsic("llvm.floor", [F64])
        fractional = b.fcmp_ordered("!=", b.call(floor, [y]), y)
        finite_y = b.fcmp_ordered("<", b.call(fabs, [y]), inf)
        self.fail_if(b.and_(b.and_(b.fcmp_ordered("<", x, zero), fractional), finite_y),
                     ERR_COMPLEX_POWER, line)
        result = b.call(self.mb.intrinsic("llvm.pow", [F64], 2), [x, y])
        finite_x = b.fcmp_ordered("<", b.call(fabs, [x]), inf)
        overflowed = b.fcmp_ordered("==", b.call(fabs, [result]), inf)
        self.fail_if(b.and_(overflowed, b.and_(finite_x, finite_y)), ERR_FLOAT_POWER_RANGE, line)
        return result

    def compare(self, op, left, right, node):
        b = self.builder
        (lv, lt), (rv, rt_) = left, right
        if FLOAT not in (lt, rt_):
            return b.icmp_signed(op, self.convert(lv, lt, INT), self.convert(rv, rt_, INT))
        if lt == FLOAT and rt_ == FLOAT:
            if op == "!=":
                return b.fcmp_unordered("!=", lv, rv)
            return b.fcmp_ordered(op, lv, rv)
        # int against float: exactly, as Python compares them.
        helper = self.mb.function("sx_compare_int_float", ir.FunctionType(I32, [I64, F64]))
        if lt == FLOAT:
            order = b.call(helper, [self.convert(rv, rt_, INT), lv])
            op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
        else:
            order = b.call(helper, [self.convert(lv, lt, INT), rv])
        holds = None
        for accepted in ORDERS_ACCEPTED[op]:
            test = b.icmp_signed("==", order, ir.Constant(I32, accepted))
            holds = test if holds is None else b.or_(holds, test)
        return holds


