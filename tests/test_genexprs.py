"""Generator expressions in stackless code run as stackless generators
where they make a suspending call, or where a record may hold CPython's
generator that would not pickle: they switch, copy and pickle mid-way, and
resume in a fresh process.  The others stay CPython's, which are much
quicker per item, and pickle by their parts where they have one clause."""

import copy
import inspect
import os
import pickle
import subprocess
import sys
import types

import pytest

import stacklessxf as sx
from stacklessxf.errors import TransformError, TransformWarning
from stacklessxf.runtime import values
from stacklessxf.runtime.generators import Generator

from tests import genexpr_cases as cases

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def genexpr_codes(function):
    """The codes CPython compiled for ``function``'s generator expressions
    as the transform left them: True for one made a stackless generator's
    factory, False for CPython's generator code."""
    code = function.__stackless__.body_code
    return [not const.co_flags & inspect.CO_GENERATOR for const in code.co_consts
            if isinstance(const, types.CodeType) and const.co_name == "<genexpr>"]


def test_only_a_generator_that_may_be_alive_at_a_resume_point_is_stackless():
    # Consumed by sum() and join(), looped over by a loop without resume
    # points, held across the call of tenfold but of one clause (which
    # pickles by its parts, where the C extension reads them): CPython's.
    # Of two clauses, or making functions that capture its variable, and
    # held: stackless.
    held_one = not values.CPYTHON_GENEXPRS_PICKLE
    assert genexpr_codes(cases.shapes) == [False, False, False, held_one, True, True]
    assert cases.shapes([1, 2]) == (9, "1,2", [2, 3], [1, 2, 2, 4], [2, 2])


needs_the_extension = pytest.mark.skipif(
    not values.CPYTHON_GENEXPRS_PICKLE,
    reason="CPython's generator expressions pickle where the C extension is built")


@needs_the_extension
def test_cpythons_of_one_clause_pickles_by_its_iterator_and_cells():
    out = []
    tasklet = sx.tasklet(cases.keeps_a_plain_one)([1, 2, 3], out)
    tasklet.run()
    assert genexpr_codes(cases.keeps_a_plain_one) == [False]
    loaded = pickle.loads(pickle.dumps(tasklet))
    twin = copy.deepcopy(tasklet)
    tasklet.kill()
    del cases.OUT[:]
    loaded.insert()
    twin.insert()
    sx.run()
    # Each copy's generator shares its cell of scale with the function's
    # record, so the rebinding reaches it: 2 * 100, 3 * 100.
    assert cases.OUT == [("kept", [1, 200, 300])] * 2
    assert out == [1]


@pytest.mark.parametrize("make", [cases.plain_pairs, cases.plain_makers],
                         ids=["several clauses", "captured variable"])
def test_cpythons_holding_more_than_its_iterator_does_not_pickle(make):
    @sx.stackless
    def holds(xs):
        held = make(xs)
        sx.schedule()
        return list(held)

    tasklet = sx.tasklet(holds)([1, 2])
    tasklet.run()
    with pytest.raises(pickle.PicklingError, match="'held'.*generator"):
        pickle.dumps(tasklet)
    sx.run()
    assert not tasklet.alive


@needs_the_extension
def test_pickle_of_cpythons_of_one_clause_is_a_new_generator_over_the_same_iterator():
    gen = cases.plain_squares([1, 2, 3, 4])
    assert next(gen) == 1
    again, twin = pickle.loads(pickle.dumps(gen)), copy.deepcopy(gen)
    assert (again.__qualname__, list(again), list(twin)) == \
        ("plain_squares.<locals>.<genexpr>", [4, 9, 16], [4, 9, 16])
    assert list(gen) == [4, 9, 16]
    assert list(pickle.loads(pickle.dumps(gen))) == []


def test_the_generator_is_a_stackless_generator_named_as_cpython_names_it():
    gen = cases.switching_values([1])
    assert isinstance(gen, Generator)
    assert (gen.__name__, gen.__qualname__) == ("<genexpr>", "switching_values.<locals>.<genexpr>")
    assert gen.gi_frame is None and not gen.gi_running


def test_its_body_switches_tasklets_under_a_stackless_for_loop():
    out = []

    @sx.stackless
    def other():
        for _ in range(3):
            out.append("other")
            sx.schedule()

    sx.tasklet(cases.collect)([1, 0, 2], out)
    sx.tasklet(other)()
    sx.run()
    assert out == ["other", 10, "other", 20, "other"]


def test_copies_and_pickles_mid_iteration():
    gen = cases.switching_values([1, 2, 3])
    assert next(gen) == 10
    twin, loaded = copy.deepcopy(gen), pickle.loads(pickle.dumps(gen))
    assert list(twin) == list(loaded) == list(gen) == [20, 30]


RESUME_IN_CHILD = """
import pickle, sys
import stacklessxf as sx
from tests import genexpr_cases
tasklet = pickle.loads(sys.stdin.buffer.read())
tasklet.insert()
sx.run()
print(genexpr_cases.OUT)
"""


def test_a_tasklet_switched_inside_one_resumes_in_a_fresh_process():
    out = []
    tasklet = sx.tasklet(cases.collect)([1, 2, 3], out)
    tasklet.run()
    tasklet.run()       # the body of the generator expression switched twice
    assert out == [10]
    blob = pickle.dumps(tasklet)
    tasklet.kill()
    child = subprocess.run([sys.executable, "-c", RESUME_IN_CHILD], input=blob,
                           capture_output=True, cwd=REPO, timeout=120)
    assert child.returncode == 0, child.stderr.decode()
    assert child.stdout.decode().strip() == "[('tenfold', 2), ('tenfold', 3)]"


def refusing(code, module_name, namespace=None):
    raise TransformError("refused for the test", code.co_filename, code.co_firstlineno,
                         None, "generator expression")


def test_one_only_held_stays_cpythons_if_the_transform_refuses_it(monkeypatch):
    monkeypatch.setattr(values, "stackless_info_for_code", refusing)
    with pytest.warns(TransformWarning, match="refused for the test.*stays CPython's"):
        @sx.stackless
        def held(xs):
            squares = (x * y for x in xs for y in xs)
            cases.tenfold(1)
            return list(squares)

    assert genexpr_codes(held) == [False]
    assert held([1, 2]) == [1, 2, 2, 4]


def test_one_that_must_suspend_makes_the_refusal_the_functions(monkeypatch):
    monkeypatch.setattr(values, "stackless_info_for_code", refusing)
    with pytest.raises(TransformError, match="refused for the test"):
        @sx.stackless
        def suspending(xs):
            return next(cases.tenfold(x) for x in xs)


def test_a_module_missing_from_sys_modules_is_no_obstacle(tmp_path):
    # The generator expression's function takes the globals of the function
    # it stands in, not a module looked up by name.
    path = tmp_path / "unlisted.py"
    path.write_text(
        "from stacklessxf import stackless\n\n\n"
        "@stackless\n"
        "def bump(x):\n"
        "    return x + 1\n\n\n"
        "@stackless\n"
        "def bumped(xs):\n"
        "    gen = (bump(x) for x in xs)\n"
        "    return [value for value in gen]\n")
    module = types.ModuleType("unlisted")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    assert module.bumped([1, 2]) == [2, 3]
