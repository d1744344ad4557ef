"""Lowering to the IR, the verifier and the printer."""

import textwrap

import astroid
import pytest

from stacklessxf.ir import (
    Call, Const, Eval, IRError, Jump, Prim, Raise, Return, Store, lower, verify,
)
from stacklessxf.ir.model import is_temp

PLAIN = {
    "len", "print", "range", "max", "min", "str", "int", "list", "sorted", "enumerate",
    "zip", "isinstance", "open", "iter", "rd", "wr", "more", "cm", "ValueError", "super",
}


def classify(call):
    """Calls to s_* are stackless, to sw_* switches, to PLAIN builtins plain."""
    name = call.func.as_string().split(".")[-1]
    if name.startswith("s_"):
        return "stackless"
    if name.startswith("sw_"):
        return "switch"
    if name in PLAIN:
        return "plain"
    return "unknown"


def parse_function(source, name=None):
    module = astroid.parse(textwrap.dedent(source))
    functions = [node for node in module.body if isinstance(node, astroid.nodes.FunctionDef)]
    if name is None:
        return functions[-1]
    return next(node for node in module.nodes_of_class(astroid.nodes.FunctionDef)
                if node.name == name)


def lower_source(source, name=None):
    """Lower (and verify) the last top-level function of `source`, or `name`."""
    function = lower(parse_function(source, name), "sample.py", classify)
    verify(function)
    return function


def ops_of(function, kind=object):
    return [op for block in function.blocks for op in block.ops if isinstance(op, kind)]


def calls(function):
    return [op for _, _, op in function.call_ops()]


def prims(function, opname):
    return [op for op in ops_of(function, Prim) if op.opname == opname]


DEPTH = """
def depth(node):
    if node is None:
        return 0
    return 1 + max(s_depth(node.left), s_depth(node.right))
"""

FIB = """
def s_fib(n):
    if n < 2:
        return n
    return s_fib(n - 1) + s_fib(n - 2)
"""

# One function per construct of the subset; each must lower and verify.
SAMPLES = {
    "assignments": """
        def f(a, b):
            x = y = s_f(a)
            p, (q, *r) = s_g(b)
            a.attr = s_h(x)
            b[s_i()] = s_j(y)
            z: int = s_k(p)
            w: int
            x += s_l(q)
            a.attr *= s_m()
            b[0] -= s_n()
            if (n := s_o(z)) > 1:
                return n
            return x, y, p, q, r, z
    """,
    "branches": """
        def f(a):
            if s_test(a):
                b = 1
            elif a > s_limit():
                b = 2
            else:
                b = s_other()
            return b if a else s_fallback(b)
    """,
    "loops": """
        def f(xs, n):
            total = 0
            for i, x in enumerate(xs):
                if x is None:
                    continue
                if x > n:
                    break
                total += s_step(x)
            else:
                total = s_done(total)
            while total > 0:
                total = s_dec(total)
                if total == 3:
                    break
            else:
                total = -1
            while True:
                if s_again():
                    continue
                break
            return total
    """,
    "try_except": """
        def f(a):
            try:
                b = s_risky(a)
            except (ValueError, KeyError) as e:
                b = s_recover(e)
            except TypeError:
                raise
            except Exception as exc:
                raise RuntimeError(s_text(exc)) from exc
            else:
                b += 1
            return b
    """,
    "try_finally": """
        def f(a):
            for x in a:
                try:
                    if x:
                        return s_first(x)
                    if x is None:
                        break
                    if x == 0:
                        continue
                    s_work(x)
                finally:
                    s_cleanup(x)
            try:
                s_more()
            except ValueError:
                return 1
            finally:
                s_last()
            return 0
    """,
    "with_statements": """
        def f(path, lock):
            with open(path) as fh, lock:
                data = s_read(fh)
            with s_ctx() as (a, b):
                if a:
                    return s_use(a, b)
            return data
    """,
    "simple_statements": """
        def f(a, b):
            assert a, s_message(a)
            assert b
            del a
            del b[s_key()], b
            pass
            import os.path
            from collections import deque as dq
            s_log(os, dq)
    """,
    "scopes": """
        counter = 0

        def outer():
            shared = 1

            def f(a, *args, key=1, **kw):
                global counter
                nonlocal shared
                counter += s_bump(a)
                shared = s_next(shared)
                inner = lambda z=s_default(): z + a
                squares = [a * v for v in s_values()]
                gen = (v for v in args if v)
                pairs = {k: v for k, v in kw.items()}

                def helper(q=key):
                    return q + a

                class Local(s_base()):
                    value = a

                return inner, squares, gen, pairs, helper, Local
            return f
    """,
    "expressions": """
        def f(a, b, c):
            x = a and s_f(b) or s_g(c)
            y = a < s_h(b) < c < s_i()
            z = f"{s_j(a)!r:>{b}} and {c}"
            w = [*s_k(a), *b]
            d = {s_l(): 1, **s_m(), b: s_n()}
            s = a[s_o():s_p(b):2]
            t = -s_q(a) if not b else ~s_r(c)
            u = s_s(*s_t(), key=s_u(), **s_v())
            return x, y, z, w, d, s, t, u
    """,
    "methods": """
        class Tree:
            def s_total(self, extra=0):
                result = self.value + extra
                for child in self.children:
                    result += child.s_total()
                return self.s_finish(result)
    """,
    "switches_and_unknowns": """
        def f(channel, helper):
            x = sw_receive(channel)
            y = helper(x)
            print(len(y))
            return sw_send(channel, y)
    """,
    "dead_code": """
        def f(a):
            return s_f(a)
            s_g(a)
    """,
    "docstring_and_constants": '''
        def f():
            """Nothing but a docstring."""
            ...
    ''',
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_lowers_and_verifies(name):
    function = lower_source(SAMPLES[name], "s_total" if name == "methods" else None)
    text = str(function)
    assert text.startswith("function ")
    ids = [op.resume_point for op in calls(function)]
    assert ids == list(range(len(ids)))
    may_unwind = [site for site in function.calls if site.kind != "plain"]
    assert [site.resume_point for site in may_unwind] == sorted(ids)


def test_each_may_unwind_call_of_the_body_has_one_call_op():
    function = lower_source(SAMPLES["try_finally"])
    callees = [op.node.func.as_string() for op in calls(function)]
    assert sorted(callees) == sorted(
        ["s_first", "s_work", "s_cleanup", "s_more", "s_last"]
    )


def test_resume_points_are_numbered_in_source_order():
    function = lower_source("""
        def f(x):
            a = s_outer(s_inner(x))
            s_second()(s_third())
            return a
    """)
    by_id = {op.resume_point: op.node.func.as_string() for op in calls(function)}
    # s_second() and the call of its result start at the same place: the
    # inner one, which ends first, comes first.
    assert by_id == {0: "s_outer", 1: "s_inner", 2: "s_second", 3: "s_second()", 4: "s_third"}


def test_depth_keeps_the_loaded_callee_in_a_temp():
    function = lower_source(DEPTH)
    first, second = calls(function)
    callee = [op for op in ops_of(function, Eval) if op.tree.node.as_string() == "max"]
    assert len(callee) == 1 and is_temp(callee[0].result)
    combine = next(op for op in ops_of(function, Eval) if first.result in op.reads)
    assert set(combine.reads) == {callee[0].result, first.result, second.result}
    assert first.reads == ("node",) and second.reads == ("node",)


def test_fib_calls_keep_their_arguments_whole():
    function = lower_source(FIB)
    first, second = calls(function)
    assert first.tree.subst == {} and first.reads == ("n",)
    assert "s_fib(n - 1)" in str(function)
    add = next(op for op in ops_of(function, Eval) if first.result in op.reads)
    assert set(add.reads) == {first.result, second.result}


def test_arguments_are_split_out_in_evaluation_order():
    function = lower_source("""
        def f():
            print(s_a(), *s_b(), key=s_c(), **s_d())
            print(k=s_e(), *s_f())
    """)
    order = [op.node.func.as_string() for block in function.blocks
             for op in block.ops if isinstance(op, Call)]
    assert order == ["s_a", "s_b", "s_c", "s_d", "s_f", "s_e"]


def test_assignment_evaluates_the_value_before_the_target():
    function = lower_source("""
        def f(x):
            x[s_index()] = s_value()
    """)
    order = [op.node.func.as_string() for op in ops_of(function, Call)]
    assert order == ["s_value", "s_index"]
    store = ops_of(function, Store)[0]
    assert store.value == ops_of(function, Call)[0].result
    assert len(store.uses()) == 3  # the value, the loaded x and the index


def test_augmented_assignment_loads_the_old_value_first():
    function = lower_source("""
        def f(total, x):
            total += s_f(x)
            return total
    """)
    load, call = ops_of(function, Eval)[0], ops_of(function, Call)[0]
    assert load.reads == ("total",) and is_temp(load.result)
    (inplace,) = prims(function, "inplace")
    assert inplace.args == (Const("+="), load.result, call.result)
    store = ops_of(function, Store)[0]
    assert store.writes == ("total",) and "total" not in store.reads


def test_unpacking_with_a_call_in_a_target_stores_element_by_element():
    function = lower_source("""
        def f(x, v):
            x[s_i()], y = v
            return y
    """)
    (unpack,) = prims(function, "unpack")
    assert unpack.args[1:] == (Const(2), Const(-1))
    assert len(prims(function, "item")) == 2
    assert [op.writes for op in ops_of(function, Store)] == [(), ("y",)]


def test_for_loop_keeps_its_iterator_in_a_temp():
    function = lower_source("""
        def f(xs):
            for x in xs:
                s_visit(x)
    """)
    (iterator,) = prims(function, "iter")
    assert iterator.args == ("xs",)
    (advance,) = prims(function, "next")
    assert advance.args == (iterator.result,)
    (store,) = ops_of(function, Store)
    assert store.writes == ("x",)


def test_leaving_a_for_loop_early_releases_the_iterator():
    function = lower_source("""
        def f(xs):
            for x in xs:
                if x:
                    return s_f(x)
                break
    """)
    (iterator,) = prims(function, "iter")
    released = prims(function, "release")
    assert len(released) == 2 and all(op.args == (iterator.result,) for op in released)


def test_with_statement_keeps_its_exit_and_guards_its_body():
    function = lower_source("""
        def f(lock):
            with lock as held:
                s_work(held)
    """)
    (exit_of,) = prims(function, "exit_of")
    (call,) = ops_of(function, Call)
    block = next(b for b in function.blocks if call in b.ops)
    on_error = block.handler
    assert [op.opname for op in on_error.ops] == ["caught", "exit_with"]
    assert on_error.ops[1].args[0] == exit_of.result
    (normal_exit,) = prims(function, "exit")
    assert normal_exit.args == (exit_of.result,)


def test_except_clause_binds_and_unbinds_its_name():
    function = lower_source("""
        def f():
            try:
                s_f()
            except ValueError as e:
                s_g(e)
    """)
    (caught_store,) = [op for op in ops_of(function, Store) if op.writes == ("e",)]
    unbinds = prims(function, "unbind")
    assert unbinds and all(op.result == "e" for op in unbinds)
    (saved,) = prims(function, "enter_handler")
    restores = prims(function, "exit_handler")
    assert restores and all(op.args == (saved.result,) for op in restores)
    assert caught_store.value == saved.args[0]


def test_finally_body_is_lowered_once_behind_a_selector():
    function = lower_source(SAMPLES["try_finally"])
    cleanups = [op for op in calls(function) if op.node.func.as_string() == "s_cleanup"]
    assert len(cleanups) == 1
    selector_values = {op.args[0].value for op in prims(function, "copy")
                       if isinstance(op.args[0], Const) and isinstance(op.args[0].value, int)}
    # fall through, exception, return, break and continue
    assert selector_values >= {0, 1, 2, 3, 4}


def test_short_circuit_calls_get_blocks_of_their_own():
    function = lower_source("""
        def f(a):
            return a or s_f()
    """)
    (call,) = calls(function)
    block = next(b for b in function.blocks if call in b.ops)
    assert block is not function.start
    assert block.ops == [call]


def test_comparison_chain_with_a_late_call_is_split():
    function = lower_source("""
        def f(a, b):
            return a < s_f(b) < s_g()
    """)
    compares = prims(function, "compare")
    assert [op.args[0] for op in compares] == [Const("<"), Const("<")]


def test_comprehension_runs_its_outermost_iterable_in_our_frame():
    function = lower_source("""
        def f(xs):
            return [helper(x) for x in s_source(xs)]
    """)
    assert [op.node.func.as_string() for op in calls(function)] == ["s_source"]
    assert "helper" not in [site.callee for site in function.calls]


def test_closures_read_the_variables_they_capture():
    function = lower_source("""
        def f(a, b):
            g = lambda: a
            return g
    """)
    assert function.cellvars == {"a"}
    make = next(op for op in ops_of(function, Eval) if "g" in op.writes)
    assert make.reads == ("a",)


def test_scopes_classify_variables_like_cpython():
    function = lower_source(SAMPLES["scopes"], "f")
    assert function.params == ("a", "args", "key", "kw")
    assert "counter" not in function.variables
    assert function.freevars == {"shared"}
    assert function.cellvars == {"a"}  # key is a default, evaluated here
    assert {"inner", "squares", "gen", "pairs", "helper", "Local"} <= set(function.variables)
    assert function.qualname == "outer.<locals>.f"


def test_walrus_in_a_comprehension_binds_in_the_function():
    function = lower_source("""
        def f(xs):
            found = [y for x in xs if (y := x)]
            return y
    """)
    assert "y" in function.variables and "y" in function.cellvars


def test_method_qualname_and_call_targets():
    function = lower_source(SAMPLES["methods"], "s_total")
    assert function.qualname == "Tree.s_total"
    finish = next(site for site in function.calls if site.callee == "self.s_finish")
    assert finish.kind == "stackless" and finish.target is None
    recursive = lower_source(FIB)
    assert {site.target for site in recursive.calls} == {"s_fib"}


def test_call_sites_record_plain_calls_too():
    function = lower_source(SAMPLES["switches_and_unknowns"])
    kinds = {site.callee: (site.kind, site.resume_point) for site in function.calls}
    assert kinds == {
        "sw_receive": ("switch", 0), "helper": ("unknown", 1), "print": ("plain", None),
        "len": ("plain", None), "sw_send": ("switch", 2),
    }
    assert [op.reason for op in calls(function)] == ["switch", "unknown callee", "switch"]


def test_unreachable_code_keeps_its_resume_points():
    function = lower_source(SAMPLES["dead_code"])
    assert [op.node.func.as_string() for op in calls(function)] == ["s_f", "s_g"]


def test_function_without_calls_returns_none():
    function = lower_source(SAMPLES["docstring_and_constants"])
    assert len(function.blocks) == 1
    assert function.start.ops == []
    assert isinstance(function.start.terminator, Return)
    assert function.start.terminator.value == Const(None)


def test_printer_shows_lines_resume_points_and_handlers():
    text = str(lower_source("""
        def f(x):
            try:
                return s_f(x)
            except ValueError:
                raise
    """))
    assert "@rp0 stackless" in text
    assert "(except -> b" in text
    assert "s_f(x)" in text
    lines = text.splitlines()
    assert any(line.split()[0] == "4" and "s_f(x)" in line for line in lines[1:])
    assert "6  raise" in [line.strip() for line in lines]
    assert lines[1].startswith("b0 (except -> b")  # the start block comes first


# ---------------------------------------------------------------- verifier


def fresh():
    return lower_source(DEPTH)


def test_verifier_rejects_a_block_without_terminator():
    function = fresh()
    function.blocks[-1].terminator = None
    with pytest.raises(IRError, match="no terminator"):
        verify(function)


def test_verifier_rejects_a_jump_out_of_the_function():
    function = fresh()
    stranger = lower_source(FIB).start
    function.start.terminator = Jump(stranger)
    with pytest.raises(IRError, match="not a block of the function"):
        verify(function)


def test_verifier_rejects_a_temp_used_before_its_definition():
    function = fresh()
    block = next(b for b in function.blocks if any(isinstance(op, Call) for op in b.ops))
    block.ops.reverse()
    with pytest.raises(IRError, match="before it is defined"):
        verify(function)


def test_verifier_rejects_a_temp_defined_on_one_path_only():
    function = lower_source("""
        def f(a):
            if a:
                b = 1
            return 2
    """)
    then = function.start.terminator.if_true
    then.ops.append(Prim("copy", (Const(1),), "$t90", then.ops[0].lineno))
    function.start.terminator.if_false.terminator = Return("$t90")
    with pytest.raises(IRError, match=r"\$t90 may be used before"):
        verify(function)


def test_verifier_rejects_repeated_resume_point_ids():
    function = fresh()
    first, second = calls(function)
    second.resume_point = first.resume_point
    with pytest.raises(IRError, match="resume point ids"):
        verify(function)


def test_verifier_rejects_unknown_variables_and_bad_primitives():
    function = fresh()
    function.start.ops.append(Prim("copy", ("stranger",), "$t80", 1))
    with pytest.raises(IRError, match="'stranger' is not a variable"):
        verify(function)
    function = fresh()
    function.start.ops.append(Prim("iter", (), "$t80", 1))
    with pytest.raises(IRError, match="wrong shape"):
        verify(function)


def test_verifier_rejects_a_call_result_in_a_user_variable():
    function = fresh()
    calls(function)[0].result = "node"
    with pytest.raises(IRError, match="must be a temporary"):
        verify(function)


def test_verifier_accepts_handlers_relying_on_what_precedes_the_guarded_code():
    function = lower_source(SAMPLES["try_except"])
    guarded = [b for b in function.blocks if b.handler is not None]
    assert guarded
    verify(function)
    assert any(isinstance(b.terminator, Raise) for b in function.blocks)


def test_printer_shows_substituted_lambda_defaults():
    function = lower_source("""
        def f(a):
            return lambda x, /, y=s_d(), *r, k=s_e(), m, **kw: x + a
    """)
    first, second = calls(function)
    assert (f"lambda x, /, y={first.result}, *r, k={second.result}, m, **kw: x + a"
            in str(function))
