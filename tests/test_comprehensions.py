"""Comprehensions around stackless calls run inline in the function's
frame; what cannot run inline is a clear refusal."""

import pytest

import stacklessxf as sx
from stacklessxf.errors import TransformError
from stacklessxf.versions import current as version


@sx.stackless
def scaled(x):
    return 10 * x


def test_the_calls_inside_are_resume_points_of_the_function():
    @sx.stackless
    def uses(xs):
        return [scaled(x) for x in xs], sum(scaled(x) for x in xs)

    text = sx.explain(uses)
    assert "scaled" in text and "container" in text
    assert uses([1, 2]) == ([10, 20], 30)
    assert not any(isinstance(c, type(uses.__code__)) and c.co_name in ("<listcomp>", "<genexpr>")
                   for c in uses.__code__.co_consts)


def test_a_variable_shared_with_the_function_is_refused():
    with pytest.raises(TransformError, match="variable 'x'.*rename it"):
        @sx.stackless
        def clash(xs):
            x = 0
            return [scaled(x) for x in xs], x


def test_a_variable_captured_inside_it_is_refused():
    with pytest.raises(TransformError, match="captures its variable 'x'"):
        @sx.stackless
        def captured(xs):
            return [scaled(x) + (lambda: x)() for x in xs]


def test_comprehensions_without_stackless_calls_stay_as_cpython_made_them():
    @sx.stackless
    def plain_inside(xs):
        return scaled(len([x * 2 for x in xs]))

    names = [c.co_name for c in plain_inside.__code__.co_consts if hasattr(c, "co_name")]
    # From 3.12 the compiler itself runs it inline (PEP 709).
    assert ("<listcomp>" in names) == ("<listcomp>" in version.COMPREHENSION_FUNCTIONS)
    assert plain_inside([1, 2]) == 20
