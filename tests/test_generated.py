"""Generated programs behave the same plain and transformed.

Hypothesis writes small modules of 2-4 stackless functions ``f0 .. fN`` as
source text. A function calls only functions defined after it, so there is
no recursion; loops have small constant bounds, and every call spends one unit
of a module-level fuel counter, so a program always ends quickly. The bodies
mix assignments, integer arithmetic, if/for/while with break and continue,
try/except/finally, raising and catching ValueError, and appends to ``LOG``.
Each module is written to a file, loaded plain and transformed with the
differential harness, and its entry function ``f0`` run on a few inputs.
"""

import os
import tempfile

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from differential import load_corpus_pair, run_case, unload_module

FUEL = 200
HEADROOM = 40
MAX_BLOCK_DEPTH = 3
PARAMS = ("a", "b")
LOCALS = ("x", "y", "z")


class Gen:
    """Draws one program; ``draw`` is Hypothesis's draw function."""

    def __init__(self, draw, n_funcs):
        self.draw = draw
        self.n_funcs = n_funcs
        self.counter = 0

    def fresh(self, prefix):
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- expressions ---------------------------------------------------------

    def expr(self, fi, names, depth=0):
        draw = self.draw
        leaves = ["var", "const"]
        composite = ["arith", "arith", "mul", "div", "cond"]
        if fi + 1 < self.n_funcs:
            composite += ["call", "call"]
        kind = draw(st.sampled_from(leaves if depth >= 2 else leaves + composite))
        if kind == "var":
            return draw(st.sampled_from(names))
        if kind == "const":
            return str(draw(st.integers(-3, 9)))
        if kind == "arith":
            op = draw(st.sampled_from(["+", "-"]))
            return f"({self.expr(fi, names, depth + 1)} {op} {self.expr(fi, names, depth + 1)})"
        if kind == "mul":
            return f"({self.expr(fi, names, depth + 1)} * {self.expr(fi, names, depth + 1)} % 101)"
        if kind == "div":
            # The divisor may be zero: ZeroDivisionError is part of the game.
            op = draw(st.sampled_from(["//", "%"]))
            return f"({self.expr(fi, names, depth + 1)} {op} {self.expr(fi, names, depth + 1)})"
        if kind == "cond":
            return (
                f"({self.expr(fi, names, depth + 1)} if {self.cond(fi, names, depth + 1)}"
                f" else {self.expr(fi, names, depth + 1)})"
            )
        callee = draw(st.integers(fi + 1, self.n_funcs - 1))
        return f"f{callee}({self.expr(fi, names, depth + 1)}, {self.expr(fi, names, depth + 1)})"

    def cond(self, fi, names, depth=0):
        draw = self.draw
        kind = draw(st.sampled_from(["cmp", "cmp", "parity", "chain", "and", "or", "not"]))
        if kind == "cmp" or depth >= 2:
            op = draw(st.sampled_from(["<", "<=", "==", "!=", ">"]))
            return f"{self.expr(fi, names, depth + 1)} {op} {self.expr(fi, names, depth + 1)}"
        if kind == "parity":
            return f"{self.expr(fi, names, depth + 1)} % 2 == 0"
        if kind == "chain":
            return (
                f"{self.expr(fi, names, depth + 1)} < {self.expr(fi, names, depth + 1)}"
                f" <= {self.expr(fi, names, depth + 1)}"
            )
        if kind == "not":
            return f"not ({self.cond(fi, names, depth + 1)})"
        return f"({self.cond(fi, names, depth + 1)}) {kind} ({self.cond(fi, names, depth + 1)})"

    # -- statements ------------------------------------------------------------

    def block(self, fi, names, depth, in_loop, min_len=1):
        n = self.draw(st.integers(min_len, 3))
        lines = []
        for _ in range(n):
            lines.extend(self.stmt(fi, names, depth, in_loop))
        return lines

    def stmt(self, fi, names, depth, in_loop):
        draw = self.draw
        kinds = ["assign", "assign", "aug", "log"]
        if depth < MAX_BLOCK_DEPTH:
            kinds += ["if", "for", "while", "try", "raise", "return"]
        if in_loop:
            kinds += ["break", "continue"]
        kind = draw(st.sampled_from(kinds))
        ind = "    "
        if kind == "assign":
            target = draw(st.sampled_from(PARAMS + LOCALS))
            return [f"{target} = {self.expr(fi, names)}"]
        if kind == "aug":
            target = draw(st.sampled_from(PARAMS + LOCALS))
            op = draw(st.sampled_from(["+=", "-="]))
            return [f"{target} {op} {self.expr(fi, names)}"]
        if kind == "log":
            return [f"LOG.append(({fi}, {self.counter}, {self.expr(fi, names)}))"]
        if kind == "break":
            return [f"if {self.cond(fi, names)}:", ind + "break"]
        if kind == "continue":
            return [f"if {self.cond(fi, names)}:", ind + "continue"]
        if kind == "raise":
            return [f"if {self.cond(fi, names)}:", ind + f"raise ValueError({self.expr(fi, names)})"]
        if kind == "return":
            return [f"if {self.cond(fi, names)}:", ind + f"return {self.expr(fi, names)}"]
        if kind == "if":
            lines = [f"if {self.cond(fi, names)}:"]
            lines += [ind + s for s in self.block(fi, names, depth + 1, in_loop)]
            if draw(st.booleans()):
                lines.append("else:")
                lines += [ind + s for s in self.block(fi, names, depth + 1, in_loop)]
            return lines
        if kind == "for":
            var = self.fresh("k")
            bound = draw(st.integers(0, 3))
            inner = names + (var,)
            lines = [f"for {var} in range({bound}):"]
            lines += [ind + s for s in self.block(fi, inner, depth + 1, True)]
            if draw(st.booleans()):
                lines.append("else:")
                lines += [ind + s for s in self.block(fi, names, depth + 1, in_loop)]
            return lines
        if kind == "while":
            var = self.fresh("w")
            bound = draw(st.integers(0, 3))
            inner = names + (var,)
            lines = [f"{var} = 0", f"while {var} < {bound}:", ind + f"{var} += 1"]
            lines += [ind + s for s in self.block(fi, inner, depth + 1, True)]
            return lines
        # try statement
        err = self.fresh("e")
        lines = ["try:"]
        lines += [ind + s for s in self.block(fi, names, depth + 1, in_loop)]
        handler = draw(st.sampled_from(["except", "finally", "both"]))
        if handler in ("except", "both"):
            lines.append(f"except ValueError as {err}:")
            lines.append(ind + f"LOG.append(('caught', {fi}, str({err})))")
            lines += [ind + s for s in self.block(fi, names, depth + 1, in_loop, min_len=0)]
            if draw(st.booleans()):
                lines.append(ind + f"if {self.cond(fi, names)}:")
                lines.append(ind + ind + "raise")
        if handler in ("finally", "both"):
            lines.append("finally:")
            lines.append(ind + f"LOG.append(('finally', {fi}))")
            lines += [ind + s for s in self.block(fi, names, depth + 1, in_loop, min_len=0)]
        return lines

    def function(self, fi):
        names = PARAMS + LOCALS
        ind = "    "
        lines = ["@stackless", f"def f{fi}(a, b):"]
        lines.append(ind + "FUEL[0] -= 1")
        lines.append(ind + "if FUEL[0] < 0:")
        lines.append(ind + ind + "return a")
        lines.append(ind + "x = a")
        lines.append(ind + "y = b")
        lines.append(ind + "z = 0")
        lines += [ind + s for s in self.block(fi, names, 0, False)]
        lines.append(ind + f"return {self.expr(fi, names)}")
        return lines


@st.composite
def programs(draw):
    n_funcs = draw(st.integers(2, 4))
    gen = Gen(draw, n_funcs)
    inputs = draw(
        st.lists(st.tuples(st.integers(-3, 6), st.integers(-3, 6)), min_size=2, max_size=3)
    )
    lines = [
        "from stacklessxf import stackless",
        "",
        "LOG = []",
        f"FUEL = [{FUEL}]",
        "",
        "",
        "def reset_state():",
        f"    FUEL[0] = {FUEL}",
        "",
    ]
    for fi in range(n_funcs):
        lines.append("")
        lines += gen.function(fi)
        lines.append("")
    lines.append("")
    lines.append("CASES = [")
    for a, b in inputs:
        lines.append(f"    ('f0', ({a}, {b}), {{}}),")
    lines.append("]")
    return "\n".join(lines) + "\n"


def check_program(source):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "generated_program.py")
        with open(path, "w") as f:
            f.write(source)
        plain, transformed = load_corpus_pair(path)
        try:
            for case in plain.CASES:
                for headroom in (None, HEADROOM):
                    comparison = run_case(plain, transformed, case, headroom=headroom)
                    assert comparison.matches, (
                        f"headroom={headroom}\n{comparison.describe()}\n--- program ---\n{source}"
                    )
        finally:
            unload_module(plain)
            unload_module(transformed)


COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(max_examples=150, **COMMON)
@given(programs())
def test_generated_programs(source):
    check_program(source)


@pytest.mark.slow
@settings(max_examples=400, **COMMON)
@given(programs())
def test_generated_programs_many(source):
    check_program(source)


def test_generator_makes_valid_varied_programs():
    """The generator itself: its programs compile and, over a few hundred
    draws, use every construct they are meant to exercise."""
    seen = []

    @settings(max_examples=200, phases=[Phase.generate], database=None, **COMMON)
    @given(programs())
    def collect(source):
        compile(source, "<generated>", "exec")
        seen.append(source)

    collect()
    for needles in (
        ("for ", "break"),
        ("while ", "continue"),
        ("try:", "except ValueError", "raise ValueError"),
        ("finally:",),
        ("        raise\n",),
        ("f1(",),
        ("f3(",),
        (" < ", " <= "),
    ):
        assert any(all(n in source for n in needles) for source in seen), needles
