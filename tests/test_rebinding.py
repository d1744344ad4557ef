"""Functions made stackless after their definition behave as if the
decorator had been written at the definition: the function object itself is
transformed in place, so every reference to it (its own name, default
arguments, dispatch tables, closures, partials, methods) reaches the
stackless code, and calls of functions that are plain when the caller is
transformed are guarded, so a callee that becomes stackless later can unwind
and switch through them."""

import pytest

import stacklessxf as sx
from stacklessxf import explain, stackless
from tests import rebinding_cases as cases

DEEP = 50_000


def test_rebound_after_definition():
    xs = list(range(DEEP))
    assert cases.total(xs, 0) == sum(xs)


def test_transformed_in_place():
    def f(n):
        return n

    assert stackless(f) is f and f.__stackless__.function is f


def test_mutual_recursion_rebound_one_after_the_other():
    assert cases.is_even(DEEP) is True and cases.is_odd(DEEP + 1) is True


def test_reached_through_a_default_argument():
    assert cases.by_default(DEEP) == DEEP


def test_reached_through_a_dispatch_table():
    assert cases.TABLE["walk"](DEEP) == DEEP


def test_closure_made_stackless():
    count = stackless(cases.make_counter())
    assert count(DEEP) == DEEP


def test_reached_through_a_partial():
    assert cases.PARTIAL(DEEP) == DEEP


def test_method_rebound_on_its_class():
    class Local(cases.Walker):
        pass

    Local.down = stackless(cases.Walker.down)
    assert Local().down(DEEP) == DEEP


def test_module_attribute_rebound():
    cases.countdown = stackless(cases.countdown)
    assert cases.countdown(DEEP) == DEEP


def test_callee_made_stackless_after_its_caller_can_switch(scheduler_loop):
    out = []
    t = sx.tasklet(cases.record_result)(out, cases.calls_later, 10)
    sx.tasklet(out.append)("other ran")
    sx.run()
    assert not t.alive and out == ["other ran", 11]


@pytest.mark.usefixtures("deep_mode")
def test_callee_made_stackless_after_its_caller_unwinds_for_depth(scheduler_loop):
    out = []
    sx.tasklet(cases.record_result)(out, cases.calls_later, DEEP)
    sx.tasklet(out.append)("other ran")
    sx.run()
    assert out == ["other ran", DEEP + 1]


def test_explain_names_guarded_calls():
    text = explain(cases.calls_later)
    assert "later" in text and "guarded: plain when transformed" in text
