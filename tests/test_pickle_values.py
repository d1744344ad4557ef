"""Values that pickle does not store by itself, held in records: closures,
lambdas, nested stackless functions, exceptions with their causes, bound
methods, modules, dict views and iterators pickle and resume, here and in a
fresh process; values that cannot be pickled are named and leave the
tasklet running."""

import pickle
import socket
import subprocess
import sys
import textwrap
import threading
import types

import pytest

import stacklessxf as sx
from stacklessxf.runtime.portable import pickle_records, to_portable, unpickle_records
from stacklessxf.runtime.trampoline import run_unwound
from tests import value_cases as cases
from tests.test_portable import (DEPTH, ROOT, fresh_process_results, resumed_after_an_edit,
                                 unwound_records)

HELD = {
    "closure sharing a cell with its record": cases.counter_closure,
    "two closures sharing cells": cases.two_closures_one_cell,
    "lambda with defaults and keyword defaults": cases.lambda_with_defaults,
    "recursive closure with attributes": cases.recursive_closure,
    "lambdas in a dict and a list": cases.lambdas_in_containers,
    "map, filter and zip over lambdas": cases.lazy_iterators,
    "exceptions with cause and context": cases.exception_held,
    "bound methods, of a stackless method too": cases.bound_methods,
    "module": cases.module_held,
    "dict views and a dict iterator": cases.dict_views,
    "builtin iterators": cases.builtin_iterators,
    "nested stackless function in the chain": cases.nested_stackless_in_chain,
    "stackless closures calling each other": cases.stackless_closures_in_chain,
}


@pytest.mark.parametrize("function", HELD.values(), ids=HELD.keys())
def test_held_values_round_trip_in_process(function):
    records = unwound_records(function, DEPTH)
    assert len(records) > 1
    copies = unpickle_records(pickle_records(records))
    assert run_unwound(copies) == function(DEPTH)


@pytest.fixture(scope="module")
def held_values_in_a_fresh_process(tmp_path_factory):
    return fresh_process_results(tmp_path_factory.mktemp("held_values"),
                                 {name: (function, (DEPTH,)) for name, function in HELD.items()})


@pytest.mark.parametrize("name", HELD)
def test_held_values_round_trip_through_a_fresh_process(held_values_in_a_fresh_process, name):
    assert held_values_in_a_fresh_process[name] == repr(HELD[name](DEPTH))


def _outer_values(records):
    return to_portable(records[-1])[4]


def test_a_closure_and_its_record_share_the_cell_after_loading():
    copies = unpickle_records(pickle_records(unwound_records(cases.counter_closure, DEPTH)))
    values = _outer_values(copies)
    assert values["bump"].__closure__[0] is values["count"]
    assert values["count"].cell_contents == 11


def test_an_object_reached_twice_is_one_object_after_loading():
    copies = unpickle_records(pickle_records(unwound_records(cases.lambdas_in_containers, DEPTH)))
    values = _outer_values(copies)
    assert values["chain"][0] is values["chain"][2] is values["ops"]["+"]


def test_a_loaded_exception_keeps_cause_and_context_but_not_its_traceback():
    copies = unpickle_records(pickle_records(unwound_records(cases.exception_held, DEPTH)))
    chained = _outer_values(copies)["chained"]
    assert chained.args == ("outer", 42)
    assert isinstance(chained.__cause__, TypeError)
    assert isinstance(chained.__context__, KeyError)
    assert chained.__traceback__ is None


def test_a_loaded_nested_stackless_function_is_stackless():
    copies = unpickle_records(pickle_records(unwound_records(cases.stackless_closures_in_chain,
                                                              DEPTH)))
    names = [to_portable(record)[1] for record in copies]
    assert "stackless_closures_in_chain.<locals>.scaled" in names
    assert "stackless_closures_in_chain.<locals>.twice" in names


# -- changed code ------------------------------------------------------------------

LAMBDA_MODULE = textwrap.dedent("""\
    from stacklessxf import stackless
    from tests.unwinding_cases import deep


    def make_step():
        return lambda x: x + 1


    @stackless
    def target(n):
        step = make_step()
        deep(n)
        return step(n)
    """)


@pytest.mark.parametrize("edit,stale", [
    (lambda text: text, False),
    (lambda text: text.replace("x + 1", "x + 2"), True),
    (lambda text: text.replace("def make_step", "# a comment\n\n\ndef make_step"), True),
], ids=["unchanged", "lambda body changed", "lambda moved"])
def test_a_lambda_from_changed_code_is_stale_in_a_fresh_process(tmp_path, monkeypatch,
                                                                 edit, stale):
    name, printed = resumed_after_an_edit(tmp_path, monkeypatch, "values_edit_", LAMBDA_MODULE,
                                          edit)
    if stale:
        assert printed.startswith("StaleCodeError:")
        assert f"{name}.make_step.<locals>.<lambda>" in printed
    else:
        assert printed == repr(DEPTH + 1)


# -- tasklets ------------------------------------------------------------------------

# Each tasklet test runs under both scheduler loops (see conftest.scheduler_loop).
both_loops = pytest.mark.usefixtures("scheduler_loop")

RESUME_IN_CHILD = """
import pickle, sys
import stacklessxf as sx
from tests import value_cases as cases
for t in pickle.loads(sys.stdin.buffer.read()):
    t.insert()
sx.run()
print("\\n".join(cases.OUT))
"""


@pytest.fixture
def out():
    cases.OUT.clear()
    yield cases.OUT
    cases.OUT.clear()


@both_loops
def test_a_stackless_closure_runs_as_a_tasklet_and_resumes_in_a_fresh_process(out):
    worker = sx.tasklet(cases.make_worker("w", 6))(2)
    sx.schedule()
    sx.schedule()
    assert out == ["w 0", "w 2"]
    blob = pickle.dumps([worker])
    sx.run()
    expected = out[2:]
    assert expected == ["w 4", "w done"]
    done = subprocess.run([sys.executable, "-c", RESUME_IN_CHILD], input=blob,
                          capture_output=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == expected


@both_loops
def test_a_tasklet_that_never_ran_keeps_its_closure_function(out):
    fresh = sx.tasklet(cases.make_worker("n", 2))(1)
    fresh.remove()
    copy = pickle.loads(pickle.dumps(fresh))
    fresh.kill()
    copy.insert()
    sx.run()
    assert out == ["n 0", "n 1", "n done"]


def _lock():
    return threading.Lock()


def _socket():
    return socket.socket()


def _open_file(tmp_path):
    return open(tmp_path / "held.txt", "w")


def _generator():
    """Of a plain generator function: nothing reads its frame's state."""
    yield from range(3)


UNPICKLABLE = {"lock": _lock, "socket": _socket, "open file": _open_file,
               "plain generator": _generator}


def _switch_line():
    lines = (ROOT / "tests" / "value_cases.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1)
                if line.rstrip().endswith("# switches here"))


@both_loops
@pytest.mark.parametrize("make", UNPICKLABLE.values(), ids=UNPICKLABLE.keys())
def test_an_unpicklable_value_is_named_and_the_tasklet_runs_on(tmp_path, out, make):
    value = make(tmp_path) if make is _open_file else make()
    try:
        task = sx.tasklet(cases.holds_across_switch)(value, 3)
        sx.schedule()
        with pytest.raises(pickle.PicklingError) as info:
            pickle.dumps(task)
        message = str(info.value)
        assert "tests.value_cases.holds_across_switch" in message
        assert f"line {_switch_line()} " in message
        assert "'value'" in message
        assert type(value).__name__ in message
        sx.run()
        assert out == [(type(value).__name__, [0, 1, 2])]
        assert not task.alive
    finally:
        if hasattr(value, "close"):
            value.close()


@both_loops
def test_a_value_holding_an_unpicklable_one_is_named(out):
    lock = threading.Lock()
    task = sx.tasklet(cases.holds_across_switch)([lambda: lock], 2)
    sx.schedule()
    with pytest.raises(pickle.PicklingError, match="'value'.*lock"):
        pickle.dumps(task)
    sx.run()
    assert out == [("list", [0, 1])]


def test_records_are_not_changed_by_pickling():
    records = unwound_records(cases.lambdas_in_containers, DEPTH)
    before = [tuple(map(id, record)) for record in records]
    pickle_records(records)
    assert [tuple(map(id, record)) for record in records] == before
    assert isinstance(_outer_values(records)["ops"]["+"], types.FunctionType)
    assert run_unwound(records) == cases.lambdas_in_containers(DEPTH)
