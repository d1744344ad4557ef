"""Liveness, the kind of every resume point, and the call graph."""

import itertools
import re
import textwrap

import astroid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacklessxf.analysis import FunctionAnalysis, ResumePoint, analyze
from stacklessxf.analysis.callgraph import may_switch
from stacklessxf.ir import lower, verify
from stacklessxf.ir.model import CallSite, Eval, Prim, is_temp
from tests.test_ir import DEPTH, FIB, calls, classify, lower_source, ops_of


def analyze_source(source, name=None):
    return analyze(lower_source(source, name))


def points(source, name=None):
    return analyze_source(source, name).resume_points


def kinds(source):
    return [(point.kind, point.live) for point in points(source)]


def test_depth_keeps_node_and_the_loaded_max():
    function = lower_source(DEPTH)
    first, second = calls(function)
    loaded_max = next(
        op.result for op in ops_of(function, Eval) if op.tree.node.as_string() == "max"
    )
    rp0, rp1 = analyze(function).resume_points
    assert rp0.live == ("node", loaded_max) and rp0.kind == "stateful" and rp0.k == 2
    assert rp1.live == (loaded_max, first.result) and rp1.label == "stateful(2)"
    assert (rp0.callee, rp0.reason) == ("s_depth", "stackless")
    assert rp0.span[:2] == (5, 19) and rp1.span[:2] == (5, 39)


def test_fib_saves_one_slot_at_each_call():
    function = lower_source(FIB)
    first, _ = calls(function)
    rp0, rp1 = analyze(function).resume_points
    assert (rp0.kind, rp0.live) == ("stateful", ("n",))
    assert (rp1.kind, rp1.live) == ("stateful", (first.result,))
    assert rp0.naive_slots == 1 and rp1.naive_slots == 2


def test_returning_the_call_is_a_tail_call():
    assert kinds("""
        def f(x):
            return s_f(x)
    """) == [("tail", ())]


def test_nothing_live_after_the_call_is_stateless():
    assert kinds("""
        def f(x):
            s_f(x)
            return 1
    """) == [("stateless", ())]


def test_a_returned_short_circuit_operand_is_a_tail_call():
    assert kinds("""
        def f(a, x):
            return a or s_f(x)
    """) == [("tail", ())]


def test_calls_inside_try_or_with_are_never_tail():
    in_try, in_handler = points("""
        def f(x):
            try:
                return s_a(x)
            except ValueError:
                return s_b(x)
    """)
    (in_finally,) = points("""
        def f(x):
            try:
                pass
            finally:
                return s_c(x)
    """)
    (in_with,) = points("""
        def f(x, lock):
            with lock:
                return s_d(x)
    """)
    assert (in_try.kind, in_try.live) == ("stateful", ("x",))  # the handler reads x
    for point in (in_handler, in_finally, in_with):
        assert point.kind == "stateful" and len(point.live) == 1 and is_temp(point.live[0])


def test_with_keeps_its_exit_live_across_the_body():
    function = lower_source("""
        def f(lock, x):
            with lock:
                s_f(x)
            return 0
    """)
    (point,) = analyze(function).resume_points
    (exit_of,) = [op for op in ops_of(function, Prim) if op.opname == "exit_of"]
    assert point.live == (exit_of.result,)


def test_tail_call_inside_a_for_loop_keeps_the_iterator():
    function = lower_source("""
        def f(xs):
            for x in xs:
                return s_f(x)
    """)
    (point,) = analyze(function).resume_points
    assert point.kind == "stateful" and len(point.live) == 1 and is_temp(point.live[0])


def test_loop_iterator_is_live_in_the_loop_body():
    function = lower_source("""
        def f(xs):
            out = []
            for x in xs:
                s_f(x, out)
            return out
    """)
    iterator = next(op.result for op in ops_of(function, Prim) if op.opname == "iter")
    (point,) = analyze(function).resume_points
    assert iterator in point.live
    assert "out" in point.live and "x" not in point.live


def test_variable_read_only_by_a_handler_is_live_in_the_guarded_code():
    found = points("""
        def f(x):
            note = x
            try:
                s_a()
                note = s_b()
                s_c()
            except ValueError:
                return note
            return 0
    """)
    assert [("note" in point.live) for point in found] == [True, True, True]


def test_except_body_keeps_the_saved_exception_state():
    function = lower_source("""
        def f():
            try:
                s_a()
            except ValueError as e:
                return s_b(e)
    """)
    saved = next(op.result for op in ops_of(function, Prim) if op.opname == "enter_handler")
    rp0, rp1 = analyze(function).resume_points
    assert rp1.kind == "stateful" and rp1.live == (saved,)
    assert rp0.kind == "stateless"


def test_finally_keeps_its_selector_and_pending_value():
    function = lower_source("""
        def f(x):
            try:
                return s_a(x)
            finally:
                s_b()
    """)
    rp0, rp1 = analyze(function).resume_points
    assert rp0.kind == "stateless"  # the finally takes over the value
    assert len(rp1.live) == 2 and all(is_temp(name) for name in rp1.live)


def test_a_walrus_run_on_some_paths_only_does_not_kill_the_name():
    for statement in ("x = a or (b := 3)", "x = 1 if a else (b := 3)",
                      "x = 0 < a < (b := 3)", "assert a, (b := 3)"):
        (point,) = points(f"""
            def f(a, b):
                s_a()
                {statement}
                return b
        """)
        assert point.live == ("a", "b"), statement


def test_cell_variables_are_never_killed():
    found = points("""
        def f(x):
            get = lambda: x
            s_a()
            x = s_b()
            s_c()
            return get
    """)
    # x is referenced (by the assignment) after s_a and s_b, so it stays live;
    # after s_c nothing refers to x any more.
    assert ["x" in point.live for point in found] == [True, True, False]
    assert all("get" in point.live for point in found)


def test_zero_argument_super_keeps_the_first_parameter_and_class():
    source = """
        class Base:
            pass

        class Derived(Base):
            def describe(self, k):
                s_a(k)
                text = super().describe(k)
                return s_b(text)
    """
    function = lower_source(source, "describe")
    assert function.freevars == {"__class__"}
    assert function.always_live == {"__class__", "self"}
    assert "always live: __class__, self" in str(function)
    rp0, rp1, rp2 = analyze(function).resume_points
    assert rp0.live == ("__class__", "k", "self")
    assert rp1.live == ("__class__", "self")
    assert (rp2.kind, rp2.live) == ("tail", ())


def test_super_outside_a_class_is_a_global():
    function = lower_source("""
        def f(x):
            s_a()
            return super().g(x)
    """)
    assert function.freevars == frozenset() and function.always_live == frozenset()


def test_del_is_a_use_of_the_name():
    rp0, rp1 = points("""
        def f(x):
            y = x + 1
            s_a()
            del y
            s_b()
            return x
    """)
    assert rp0.live == ("x", "y")
    assert rp1.live == ("x",)


def test_a_function_reading_its_own_frame_keeps_every_variable():
    """locals(), vars(), dir(), eval() and exec() read the frame's variables
    without naming them: every one is kept at every resume point."""
    for reader in ("locals()", "vars()", "dir()", 'eval("y")', 'exec("print(y)")'):
        function = lower_source(f"""
            def f(x):
                y = x + 1
                s_a()
                later = 2
                return {reader}
        """)
        assert function.always_live == {"x", "y", "later"}, reader
        rp = analyze(function).resume_points[0]
        assert rp.live == ("later", "x", "y"), reader


def test_a_local_named_like_a_frame_reader_is_just_a_local():
    function = lower_source("""
        def f(x, eval):
            s_a()
            return eval(x)
    """)
    assert function.always_live == frozenset()


def test_globals_are_not_slots():
    analysis = analyze_source("""
        def f(x):
            global seen
            seen = s_a(x)
            return seen + x
    """)
    assert analysis.variables == ("x",)
    assert analysis.resume_points[0].live == ("x",)


def test_naive_slots_count_every_variable_and_the_live_temps():
    analysis = analyze_source(DEPTH)
    assert analysis.variables == ("node",)
    assert [point.naive_slots for point in analysis.resume_points] == [2, 3]
    assert (analysis.naive_records, analysis.naive_slots) == (2, 5)
    assert (analysis.records, analysis.slots) == (2, 4)


def test_totals_of_an_analysis():
    analysis = analyze_source("""
        def f(a, b):
            c = s_keep(a)
            s_last(b + c)
            return s_tail()
    """)
    assert [point.label for point in analysis.resume_points] == [
        "stateful(1)", "stateless", "tail"]
    assert analysis.records == 2 and analysis.slots == 1
    assert analysis.naive_records == 3 and analysis.naive_slots == 9
    assert (analysis.qualname, analysis.filename, analysis.lineno) == ("f", "sample.py", 2)


def test_format_has_one_line_per_resume_point():
    text = analyze_source(DEPTH).format()
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("rp0  5:19  s_depth  (stackless)  stateful(2)  live: node, $t")
    assert analyze_source("def f():\n    return 1\n").format() == "no resume points\n"


# ---------------------------------------------------------------- call graph

CALL_GRAPH = """
def s_leaf(n):
    return n

def s_switcher(ch):
    return sw_receive(ch)

def s_middle(ch):
    return s_switcher(ch) + s_leaf(1)

def s_top(ch):
    return s_middle(ch)

def s_ping(n):
    return s_pong(n - 1) if n else 0

def s_pong(n):
    return s_ping(n)

def s_calls_stranger(n):
    return s_elsewhere(n)

def s_unknown(f):
    return f(1)
"""


def analyses_of(source):
    module = astroid.parse(textwrap.dedent(source))
    found = {}
    for funcdef in module.body:
        function = lower(funcdef, "graph.py", classify)
        verify(function)
        found[function.qualname] = analyze(function)
    return found


def test_may_switch_is_a_fixpoint_over_the_call_graph():
    analyses = analyses_of(CALL_GRAPH)
    assert analyses["s_middle"].calls[0].target == "s_switcher"
    assert may_switch(analyses) == {
        "s_switcher", "s_middle", "s_top", "s_calls_stranger", "s_unknown"}


def test_may_switch_follows_explicit_call_sites():
    def analysis(name, *sites):
        return FunctionAnalysis(name, "x.py", 1, [], (), list(sites))

    def site(kind, target=None):
        return CallSite((1, 0, 1, 5), "g", kind, target, 0)

    analyses = {
        "a": analysis("a", site("stackless", "b")),
        "b": analysis("b", site("plain"), site("stackless", "c")),
        "c": analysis("c", site("switch")),
        "d": analysis("d", site("stackless", "d")),
    }
    assert may_switch(analyses) == {"a", "b", "c"}
    del analyses["c"]
    assert may_switch(analyses) == {"a", "b"}


def test_resume_point_is_frozen():
    point = ResumePoint(0, (1, 0, 1, 4), "f", "stackless", "tail", (), 0)
    assert point.k == 0 and point.label == "tail"
    try:
        point.kind = "stateless"
    except AttributeError:
        return
    raise AssertionError("a ResumePoint can be changed")


# ---------------------------------------------------------------- generated bodies
# Random small bodies are lowered and verified, then run: every variable read
# after a resume point before being written again must be in its live set.

VARIABLES = ("a", "b", "c", "d")


@st.composite
def expressions(draw, depth=0):
    choice = draw(st.integers(0, 7 if depth < 2 else 1))
    inner = expressions(depth + 1)
    if choice == 0:
        return "1"
    if choice == 1:
        name = draw(st.sampled_from(VARIABLES))
        return f"rd({name!r}, {name})"
    if choice == 2:
        return f"s_f(#, {draw(inner)})"
    if choice == 3:
        return f"({draw(inner)} if {draw(inner)} else {draw(inner)})"
    if choice == 4:
        return f"({draw(inner)} < {draw(inner)} < {draw(inner)})"
    if choice == 5:
        name = draw(st.sampled_from(VARIABLES))
        return f"({name} := wr({name!r}, {draw(inner)}))"
    operator = draw(st.sampled_from(["+", "and", "or"]))
    return f"({draw(inner)} {operator} {draw(inner)})"


def indent(lines):
    return ["    " + line for line in lines]


@st.composite
def bodies(draw, depth=0, in_loop=False):
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        lines += draw(statements(depth, in_loop))
    return lines


@st.composite
def statements(draw, depth, in_loop):
    kinds = ["assign", "augment", "call", "return"]
    if depth < 3:
        kinds += ["if", "while", "for", "try", "with"]
    if in_loop:
        kinds += ["break", "continue"]
    kind = draw(st.sampled_from(kinds))
    if kind == "assign":
        name = draw(st.sampled_from(VARIABLES))
        return [f"{name} = wr({name!r}, {draw(expressions())})"]
    if kind == "augment":
        # The old value is read before the right-hand side runs, untraced; the
        # write is traced once nothing but the store is left to do.
        name = draw(st.sampled_from(VARIABLES))
        return [f"{name} += wr({name!r}, {draw(expressions())})"]
    if kind == "call":
        return [f"s_f(#, {draw(expressions())})"]
    if kind == "return":
        return [f"return {draw(expressions())}"]
    if kind in ("break", "continue"):
        return [kind]
    inner = bodies(depth + 1, in_loop)
    if kind == "if":
        return ([f"if {draw(expressions())}:"] + indent(draw(inner))
                + ["else:"] + indent(draw(inner)))
    if kind in ("while", "for"):
        loop = draw(loops(kind, depth))
        if draw(st.booleans()):
            loop += ["else:"] + indent(draw(inner))
        return loop
    if kind == "with":
        name = draw(st.sampled_from(VARIABLES))
        return [f"with cm() as {name}:", f"    wr({name!r}, None)"] + indent(draw(inner))
    lines = ["try:"] + indent(draw(inner)) + ["except ValueError:"] + indent(draw(inner))
    if draw(st.booleans()):
        lines += ["finally:"] + indent(draw(inner))
    return lines


@st.composite
def loops(draw, kind, depth):
    body = draw(bodies(depth + 1, True))
    if kind == "while":
        return ["while more(#):"] + indent(body)
    name = draw(st.sampled_from(VARIABLES))
    return [f"for {name} in range(2):"] + indent([f"wr({name!r}, None)"] + body)


def number_sites(text):
    """Give every `#` in the text a number of its own."""
    counter = itertools.count()
    return re.sub("#", lambda _: str(next(counter)), text)


class Trace:
    """Runs a generated function, recording reads, writes and resume points."""

    def __init__(self, seed):
        self.events = []
        self.seed = seed
        self.loops = {}

    def namespace(self):
        return {"rd": self.read, "wr": self.write, "s_f": self.call, "more": self.more,
                "cm": _NullContext}

    def step(self, event):
        self.events.append(event)
        if len(self.events) > 300:
            raise _OutOfSteps()

    def read(self, name, value):
        self.step(("read", name))
        return value

    def write(self, name, value):
        self.step(("write", name))
        return value

    def call(self, site, value):
        self.step(("call", site))
        self.seed = (self.seed * 1103515245 + 12345) % 2 ** 31
        if self.seed % 4 == 0:
            raise ValueError(site)
        return value

    def more(self, site):
        self.loops[site] = self.loops.get(site, 0) + 1
        return self.loops[site] <= 2

    def read_before_written(self, start):
        """Variables whose next event after `start` is a read."""
        decided, live = set(), set()
        for kind, detail in self.events[start + 1:]:
            if kind in ("read", "write") and detail not in decided:
                decided.add(detail)
                if kind == "read":
                    live.add(detail)
        return live


class _OutOfSteps(BaseException):
    pass


class _NullContext:
    def __enter__(self):
        return 0

    def __exit__(self, *exc):
        return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), st.integers(0, 2 ** 31 - 1))
def test_generated_bodies_lower_verify_and_keep_what_is_read_later(body, seed):
    lines = ["def generated(a, b, c):", "    d = wr('d', 0)"] + indent(body)
    source = number_sites("\n".join(lines) + "\n")
    function = lower(astroid.parse(source).body[0], "generated.py", classify)
    verify(function)
    analysis = analyze(function)
    site_to_point = {op.node.args[0].value: op.resume_point for op in calls(function)}
    assert len(site_to_point) == source.count("s_f(")
    trace = Trace(seed)
    namespace = trace.namespace()
    exec(compile(source, "generated.py", "exec"), namespace)
    try:
        namespace["generated"](1, 2, 3)
    except (ValueError, _OutOfSteps):
        pass
    for position, (kind, site) in enumerate(trace.events):
        if kind == "call":
            point = analysis.resume_points[site_to_point[site]]
            needed = trace.read_before_written(position)
            assert needed <= set(point.live), (source, point, needed)
