"""Generated typed programs: ``backend="native"`` against plain Python.

Hypothesis writes a module of two functions, ``f_int`` returning an int and
``f_float`` returning a float, both ``(a: int, b: int, u: float)``. Their
bodies mix int and float variables (each keeps one type), ``+ - * // % **``
with small constant exponents, true division with a float operand, unary
minus, ``abs``, ``min``/``max``, bool arithmetic, comparisons (chained and
int against float), ``and``/``or``/``not``, conditional expressions,
if/elif/else, tuple assignment, bounded ``while`` loops and ``for`` loops over
``range`` with constant bounds, with ``break``, ``continue`` and early
returns. The module is written to a file and loaded natively.

The expected outcome comes from the same source run by plain Python with
every int result checked against int64: Python's value when every
intermediate int fits, OverflowError at the first one that does not, and
Python's own exception (ZeroDivisionError) otherwise.
"""

import ast
import itertools
import math
import os
import re

import pytest
from differential import load_module, unload_module
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

INT_TARGETS = ("a", "b", "x", "y")
FLOAT_VARS = ("u", "v")
FLOAT_CONSTS = ("0.5", "1.5", "-2.25", "3.0", "0.1", "1e300", "-0.0", "7.0")
COMPARE_OPS = ("<", "<=", "==", "!=", ">", ">=")
MAX_DEPTH = 3
ENTRY_POINTS = ("f_int", "f_float")
IND = "    "


class Gen:
    """Draws one program; ``draw`` is Hypothesis's draw function. ``ints``
    is the tuple of int names readable at that point (the variables, loop
    variables and loop counters in scope)."""

    def __init__(self, draw):
        self.draw = draw
        self.counter = 0

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- expressions --------------------------------------------------------------

    def iexpr(self, ints, depth=0):
        if depth >= 2:
            kind = self.pick(["var", "var", "const"])
        else:
            kind = self.pick(
                ["var", "const", "add", "add", "mul", "div", "pow", "neg", "abs", "minmax",
                 "cond", "boolarith"]
            )
        if kind == "var":
            return self.pick(ints)
        if kind == "const":
            return str(self.draw(st.integers(-3, 9)))

        def sub():
            return self.iexpr(ints, depth + 1)

        if kind == "add":
            return f"({sub()} {self.pick(['+', '-'])} {sub()})"
        if kind == "mul":
            return f"({sub()} * {sub()})"
        if kind == "div":
            return f"({sub()} {self.pick(['//', '%'])} {sub()})"
        if kind == "pow":
            return f"({sub()} ** {self.draw(st.integers(0, 3))})"
        if kind == "neg":
            return f"(-{sub()})"
        if kind == "abs":
            return f"abs({sub()})"
        if kind == "minmax":
            return f"{self.pick(['min', 'max'])}({sub()}, {sub()})"
        if kind == "cond":
            return f"({sub()} if {self.cond(ints, depth + 1)} else {sub()})"
        return f"(({self.cond(ints, depth + 1)}) + {sub()})"

    def fexpr(self, ints, depth=0):
        if depth >= 2:
            kind = self.pick(["var", "var", "const"])
        else:
            kind = self.pick(
                ["var", "const", "arith", "arith", "mixed", "div", "floordiv", "neg", "abs",
                 "minmax", "cond"]
            )
        if kind == "var":
            return self.pick(FLOAT_VARS)
        if kind == "const":
            return self.pick(FLOAT_CONSTS)

        def sub():
            return self.fexpr(ints, depth + 1)

        def operands():
            # at least one float operand: int / int is not generated
            form = self.pick(["ff", "fi", "if"])
            left = sub() if form[0] == "f" else self.iexpr(ints, depth + 1)
            right = sub() if form[1] == "f" else self.iexpr(ints, depth + 1)
            return left, right

        if kind == "arith":
            return f"({sub()} {self.pick(['+', '-', '*'])} {sub()})"
        if kind == "mixed":
            left, right = operands()
            return f"({left} {self.pick(['+', '-', '*'])} {right})"
        if kind == "div":
            left, right = operands()
            return f"({left} / {right})"
        if kind == "floordiv":
            left, right = operands()
            return f"({left} {self.pick(['//', '%'])} {right})"
        if kind == "neg":
            return f"(-{sub()})"
        if kind == "abs":
            return f"abs({sub()})"
        if kind == "minmax":
            return f"{self.pick(['min', 'max'])}({sub()}, {sub()})"
        return f"({sub()} if {self.cond(ints, depth + 1)} else {sub()})"

    def cond(self, ints, depth=0):
        if depth >= 2:
            kind = self.pick(["icmp", "mixcmp"])
        else:
            kind = self.pick(["icmp", "icmp", "fcmp", "mixcmp", "chain", "not", "andor"])
        op = self.pick(COMPARE_OPS)
        if kind == "icmp":
            return f"{self.iexpr(ints, depth + 1)} {op} {self.iexpr(ints, depth + 1)}"
        if kind == "fcmp":
            return f"{self.fexpr(ints, depth + 1)} {op} {self.fexpr(ints, depth + 1)}"
        if kind == "mixcmp":
            left, right = self.iexpr(ints, depth + 1), self.fexpr(ints, depth + 1)
            if self.draw(st.booleans()):
                left, right = right, left
            return f"{left} {op} {right}"
        if kind == "chain":
            middle = self.iexpr(ints, depth + 1) if self.draw(st.booleans()) else self.fexpr(ints, depth + 1)
            return (
                f"{self.iexpr(ints, depth + 1)} {op} {middle} {self.pick(COMPARE_OPS)}"
                f" {self.iexpr(ints, depth + 1)}"
            )
        if kind == "not":
            return f"not ({self.cond(ints, depth + 1)})"
        return f"({self.cond(ints, depth + 1)}) {self.pick(['and', 'or'])} ({self.cond(ints, depth + 1)})"

    def expr_of(self, kind, ints):
        return self.iexpr(ints) if kind == "int" else self.fexpr(ints)

    # -- statements -------------------------------------------------------------------

    def block(self, ints, depth, in_loop, ret):
        lines = []
        for _ in range(self.draw(st.integers(1, 3))):
            lines.extend(self.stmt(ints, depth, in_loop, ret))
        return [IND + line for line in lines]

    def stmt(self, ints, depth, in_loop, ret):
        kinds = ["iassign", "iassign", "fassign", "iaug", "faug", "tuple"]
        if depth < MAX_DEPTH:
            kinds += ["if", "if", "for", "while", "return"]
        if in_loop:
            kinds += ["break", "continue"]
        kind = self.pick(kinds)
        if kind == "iassign":
            return [f"{self.pick(INT_TARGETS)} = {self.iexpr(ints)}"]
        if kind == "fassign":
            return [f"{self.pick(FLOAT_VARS)} = {self.fexpr(ints)}"]
        if kind == "iaug":
            op = self.pick(["+=", "-=", "*=", "//=", "%="])
            return [f"{self.pick(INT_TARGETS)} {op} {self.iexpr(ints)}"]
        if kind == "faug":
            op = self.pick(["+=", "-=", "*=", "/="])
            value = self.fexpr(ints) if self.draw(st.booleans()) else self.iexpr(ints)
            return [f"{self.pick(FLOAT_VARS)} {op} {value}"]
        if kind == "tuple":
            first, second = self.draw(
                st.lists(st.sampled_from(INT_TARGETS + FLOAT_VARS), min_size=2, max_size=2, unique=True)
            )
            values = [self.expr_of("float" if t in FLOAT_VARS else "int", ints) for t in (first, second)]
            return [f"{first}, {second} = {values[0]}, {values[1]}"]
        if kind == "break":
            return [f"if {self.cond(ints)}:", IND + "break"]
        if kind == "continue":
            return [f"if {self.cond(ints)}:", IND + "continue"]
        if kind == "return":
            return [f"if {self.cond(ints)}:", IND + f"return {self.expr_of(ret, ints)}"]
        if kind == "if":
            lines = [f"if {self.cond(ints)}:"] + self.block(ints, depth + 1, in_loop, ret)
            if self.draw(st.booleans()):
                lines += [f"elif {self.cond(ints)}:"] + self.block(ints, depth + 1, in_loop, ret)
            if self.draw(st.booleans()):
                lines += ["else:"] + self.block(ints, depth + 1, in_loop, ret)
            return lines
        if kind == "for":
            var = self.fresh("k")
            form = self.pick(["stop", "start_stop", "step", "computed"])
            if form == "stop":
                bounds = str(self.draw(st.integers(-1, 4)))
            elif form == "start_stop":
                bounds = f"{self.draw(st.integers(-3, 3))}, {self.draw(st.integers(-3, 5))}"
            elif form == "step":
                bounds = (
                    f"{self.draw(st.integers(-6, 6))}, {self.draw(st.integers(-6, 6))},"
                    f" {self.pick([-3, -2, -1, 1, 2, 3])}"
                )
            else:
                bounds = f"{self.iexpr(ints)} % 4"
            lines = [f"for {var} in range({bounds}):"]
            return lines + self.block(ints + (var,), depth + 1, True, ret)
        # while loop with a counter that only it assigns
        counter = self.fresh("w")
        test = f"{counter} < {self.draw(st.integers(0, 4))}"
        if self.draw(st.booleans()):
            test += f" and ({self.cond(ints)})"
        lines = [f"{counter} = 0", f"while {test}:", IND + f"{counter} += 1"]
        return lines + self.block(ints + (counter,), depth + 1, True, ret)

    def function(self, name, ret):
        ints = INT_TARGETS
        lines = [
            '@stackless(backend="native")',
            f"def {name}(a: int, b: int, u: float) -> {ret}:",
            IND + "x = a",
            IND + "y = b",
            IND + "v = u * 0.5",
        ]
        lines += self.block(ints, 0, False, ret)
        lines.append(IND + f"return {self.expr_of(ret, ints)}")
        return lines


ARG_INTS = st.one_of(
    st.integers(-20, 20),
    st.integers(-20, 20),
    st.sampled_from([INT64_MIN, INT64_MIN + 1, INT64_MAX, 2**31, -(2**32), 3037000499, 2**62]),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, INT64_MAX - 1]),
    st.integers(INT64_MIN, INT64_MAX),
)
ARG_FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, -1.5, 2.0, 3.25, 1e300, -1e-300]),
    st.sampled_from([math.inf, -math.inf, math.nan]),
    # int/float comparisons must be exact where floats are sparse
    st.sampled_from([2.0**53, 2.0**53 + 2, -(2.0**53), 2.0**63, -(2.0**63), 9.2e18]),
    st.floats(-1e6, 1e6, allow_nan=False),
)
# an int and a float that differ by less than the float's spacing
NEAR_PAIRS = [
    (2**53 + 1, 2.0**53),
    (2**53 - 1, 2.0**53),
    (-(2**53) - 1, -(2.0**53)),
    (INT64_MAX, 2.0**63),
    (INT64_MIN + 1, -(2.0**63)),
    (INT64_MIN, -(2.0**63)),
]
ARGUMENTS = st.one_of(
    st.tuples(ARG_INTS, ARG_INTS, ARG_FLOATS),
    st.tuples(ARG_INTS, ARG_INTS, ARG_FLOATS),
    st.sampled_from(NEAR_PAIRS).flatmap(lambda p: st.tuples(st.just(p[0]), ARG_INTS, st.just(p[1]))),
)


@st.composite
def programs(draw):
    """``(source, inputs)``: a module and the argument tuples to run it on."""
    gen = Gen(draw)
    lines = ["from stacklessxf import stackless", ""]
    for name, ret in (("f_int", "int"), ("f_float", "float")):
        lines += ["", *gen.function(name, ret), ""]
    source = "\n".join(lines) + "\n"
    inputs = draw(st.lists(ARGUMENTS, min_size=2, max_size=3))
    return source, inputs


# -- the expected outcome: plain Python with int64 checks --------------------------------


class Int64Overflow(Exception):
    """An int result of the reference run left int64."""


def _check_int64(value):
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        raise Int64Overflow(value)
    return value


class _CheckInts(ast.NodeTransformer):
    """Routes every arithmetic result (binary and unary operators, ``abs``,
    augmented assignment) through ``_check_int64``, and drops decorators."""

    @staticmethod
    def _checked(node):
        return ast.Call(func=ast.Name("_check_int64", ast.Load()), args=[node], keywords=[])

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.decorator_list = []
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return self._checked(node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return node if isinstance(node.op, ast.Not) else self._checked(node)

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "abs":
            return self._checked(node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        assert isinstance(node.target, ast.Name)
        value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        return ast.Assign(targets=[ast.Name(node.target.id, ast.Store())], value=self._checked(value))


def reference_functions(source, filename):
    """The entry points of ``source`` as checked plain Python functions."""
    tree = ast.fix_missing_locations(_CheckInts().visit(ast.parse(source)))
    namespace = {"_check_int64": _check_int64}
    exec(compile(tree, filename, "exec"), namespace)
    return {name: namespace[name] for name in ENTRY_POINTS}


def outcome(func, args, overflow=()):
    """``("return", type name, value)`` (floats by ``repr``) or
    ``("raise", exception type)``; exceptions in ``overflow`` count as
    OverflowError."""
    try:
        value = func(*args)
    except overflow:
        return ("raise", OverflowError)
    except Exception as exc:
        return ("raise", type(exc))
    return ("return", type(value).__name__, repr(value) if isinstance(value, float) else value)


def expected_outcomes(source, path, inputs):
    """``[(name, args, outcome)]`` from the checked reference, cross-checked
    against the unchecked plain load of the file. (A list, not a dict:
    ``0.0`` and ``-0.0`` are equal keys.)"""
    reference = reference_functions(source, path)
    plain = load_module(path, plain=True)
    try:
        expected = []
        for name in ENTRY_POINTS:
            for args in inputs:
                want = outcome(reference[name], args, overflow=Int64Overflow)
                if want != ("raise", OverflowError):
                    assert outcome(getattr(plain, name), args) == want, (name, args, source)
                expected.append((name, args, want))
        return expected
    finally:
        unload_module(plain)


_file_numbers = itertools.count()


def write_program(directory, source):
    path = os.path.join(str(directory), f"native_generated_{next(_file_numbers)}.py")
    with open(path, "w") as f:
        f.write(source)
    return path


def check_program(directory, source, inputs):
    path = write_program(directory, source)
    expected = expected_outcomes(source, path, inputs)
    try:
        native = load_module(path, plain=False)
    except Exception as exc:
        raise AssertionError(f"loading natively failed: {exc!r}\n--- program ---\n{source}") from exc
    try:
        for name, args, want in expected:
            got = outcome(getattr(native, name), args)
            assert got == want, (
                f"{name}{args!r}\n  native: {got}\n  Python: {want}\n--- program ---\n{source}"
            )
    finally:
        unload_module(native)


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("native_generated")


COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(max_examples=60, **COMMON)
@given(programs())
def test_generated_programs_native_vs_python(program_dir, program):
    check_program(program_dir, *program)


@pytest.mark.slow
@settings(max_examples=150, **COMMON)
@given(programs())
def test_generated_programs_native_vs_python_many(program_dir, program):
    check_program(program_dir, *program)


def test_generator_and_reference(program_dir):
    """The generator and the reference, without the native backend: programs
    compile, the checked reference agrees with plain Python, and over a few
    hundred draws the programs use every construct and reach every kind of
    outcome."""
    sources = []
    kinds = set()

    @settings(max_examples=200, phases=[Phase.generate], database=None, derandomize=True, **COMMON)
    @given(programs())
    def collect(program):
        source, inputs = program
        compile(source, "<generated>", "exec")
        sources.append(source)
        path = write_program(program_dir, source)
        for _name, _args, want in expected_outcomes(source, path, inputs):
            kinds.add(want[:2])

    collect()
    assert ("return", "int") in kinds and ("return", "float") in kinds, kinds
    assert ("raise", OverflowError) in kinds, kinds
    assert ("raise", ZeroDivisionError) in kinds, kinds
    for needles in (
        ("for ", "break"),
        ("while ", "continue"),
        ("elif ", "else:"),
        ("        return ",),
        (" // ", " % ", " ** "),
        (" / ", "abs(", "min(", "max("),
        (" and ", " or ", "not ("),
        (" if ", " else "),
    ):
        assert any(all(n in source for n in needles) for source in sources), needles
    for pattern in (
        r"(?m)^ +\w+, \w+ = ",  # tuple assignment
        r"range\(-?\d+, -?\d+, -\d\)",  # negative step
        r"range\(.* % 4\)",  # computed bound
        r"\(\(.*\)\) \+ ",  # bool arithmetic
        r" [<>=!]=? \S+ [<>=!]=? ",  # chained comparison
    ):
        assert any(re.search(pattern, source) for source in sources), pattern
