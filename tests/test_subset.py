"""The subset check: what is accepted and how each refusal reads."""

import pytest

from stacklessxf.errors import TransformError
from stacklessxf.frontend.subset import check_subset
from tests.test_ir import SAMPLES, classify, parse_function


def check(source, name=None):
    check_subset(parse_function(source, name), "mod.py", classify)


def refusal(source):
    with pytest.raises(TransformError) as caught:
        check(source)
    return caught.value


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_samples_are_in_the_subset(name):
    check(SAMPLES[name], "s_total" if name == "methods" else None)


def test_nested_functions_may_use_anything():
    check("""
        def f(xs):
            async def fetch():
                async with s_lock():
                    await s_get()
            def walk():
                yield from xs
                match xs:
                    case []:
                        pass
            return fetch, walk
    """)


REFUSED = [
    ("await", 3, 11, """
        def f(x):
            return await x
    """),
    ("async for", 3, 4, """
        def f(x):
            async for y in x:
                pass
    """),
    ("async with", 4, 8, """
        def f(x):
            if x:
                async with x:
                    pass
    """),
    ("async def", 2, 0, """
        async def f(x):
            return x
    """),
    ("try/except*", 3, 4, """
        def f(x):
            try:
                s_f(x)
            except* ValueError:
                pass
    """),
    ("match", 3, 4, """
        def f(x):
            match x:
                case 1:
                    return s_f()
    """),
    ("lambda", 3, 16, """
        def f(x):
            g = lambda: s_helper(x)
            return g
    """),
    ("generator expression", 3, 15, """
        def f(xs, y):
            g = ((y := sw_send(x)) for x in xs)
            return g, y
    """),
    ("comprehension", 3, 20, """
        def f(xs):
            return [lambda: s_value(x) for x in xs]
    """),
    ("except as global", 6, 4, """
        def f():
            global error
            try:
                s_f()
            except ValueError as error:
                pass
    """),
]


@pytest.mark.parametrize("construct,lineno,col,source", REFUSED,
                         ids=[entry[0] for entry in REFUSED])
def test_refusals_name_the_construct_file_and_place(construct, lineno, col, source):
    # A refused call is pointed at itself, not at the lambda around it.
    error = refusal(source)
    assert error.construct == construct
    assert (error.filename, error.lineno, error.col) == ("mod.py", lineno, col)
    assert str(error).startswith(f"mod.py:{lineno}:{col}: ")
    assert f"[{construct}]" in str(error)


def test_match_refusal_suggests_if_elif():
    error = refusal(next(entry for entry in REFUSED if entry[0] == "match")[3])
    assert "not supported yet; use if/elif" in error.message


def test_suspending_call_in_a_lambda_says_why_and_what_to_do():
    error = refusal("""
        def f(xs):
            return sorted(xs, key=lambda x: s_weight(x))
    """)
    assert "s_weight" in error.message
    assert "cannot suspend there" in error.message
    assert "write a loop or make the helper a stackless function" in error.message


def test_unknown_calls_inside_nested_scopes_are_allowed():
    check("""
        def f(xs, helper):
            g = lambda x: helper(x)
            return [helper(x) for x in xs], {helper(x) for x in xs}, g
    """)


def test_the_outermost_iterable_runs_in_the_function_and_may_suspend():
    check("""
        def f(xs):
            return [x for x in s_items(xs)]
    """)


def test_suspending_calls_in_comprehensions_and_consumed_generator_expressions():
    # They run inline, in the function's own frame.
    check("""
        def f(xs):
            a = [y for x in xs for y in s_items(x)]
            b = {x: s_value(x) for x in xs}
            return a, b, [sw_send(x) for x in xs], sum(x for x in xs if s_keep(x))
    """)


def test_other_generator_expressions_with_suspending_calls_are_stackless_generators():
    check("""
        def f(xs):
            g = (sw_send(x) for x in xs)
            return g, next(s_keep(x) for x in xs), any((s_keep(x) for x in xs), *xs)
    """)
