"""Stackless generators: the generator protocol as CPython's generators
have it, with the suspended state in records that pickle and copy."""

import collections.abc
import copy
import gc
import os
import pickle
import subprocess
import sys
import warnings

import pytest

import stacklessxf as sx
from stacklessxf.errors import TransformError
from stacklessxf.runtime.generators import Generator
from tests import generator_cases as cases
from tests.plain_copies import plain_copy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def clean():
    cases.OUT.clear()
    yield
    cases.OUT.clear()


def outcome(step):
    try:
        return ("value", step())
    except BaseException as exc:     # noqa: B902 - the outcome is compared
        return ("raised", type(exc).__name__, exc.args,
                getattr(exc, "value", None) if isinstance(exc, StopIteration) else None)


def play(gen, script):
    """Apply ``script`` (("next",) / ("send", v) / ("throw", exc) / ("close",))
    to ``gen``; the outcome of each step."""
    steps = {"next": lambda: next(gen), "send": gen.send, "throw": gen.throw,
             "close": gen.close}
    return [outcome(lambda op=op, args=args: steps[op](*args)) for op, *args in script]


def same_as_plain(function, make_args, script):
    """``script`` played on the stackless generator and on CPython's (each
    with arguments of its own), with the arguments after it."""
    args = make_args()
    stackless_result = play(function(*args), script), args
    plain_args = make_args()
    plain_result = play(plain_copy(function)(*plain_args), script), plain_args
    assert stackless_result == plain_result


NEXT = ("next",)
SCRIPTS = [
    ("squares", lambda: (4,), [NEXT, ("send", 10), NEXT, ("send", 5), NEXT, NEXT, NEXT]),
    ("squares", lambda: (2,), [("send", 3), NEXT, NEXT, NEXT]),
    ("catches", lambda: ([],), [NEXT, ("send", "a"), ("throw", ValueError("v")),
                                ("send", "b"), ("close",), NEXT]),
    ("catches", lambda: ([],), [("throw", ValueError("before start")), NEXT]),
    ("catches", lambda: ([],), [NEXT, ("throw", KeyError("k")), NEXT]),
    ("ignores_exit", lambda: (), [NEXT, ("close",)]),
    ("echo", lambda: ([],), [NEXT, ("send", 1), ("send", 2), ("send", "stop"), NEXT]),
    ("echo", lambda: ([],), [NEXT, ("send", 1), ("close",), ("close",)]),
    ("raises_stop", lambda: (), [NEXT, NEXT, NEXT]),
    ("yields_in_expressions", lambda: ([5, 6],), [NEXT, ("send", 3), NEXT, ("send", 2),
                                                   ("send", 100), NEXT]),
    ("returns_at_once", lambda: (7,), [NEXT, NEXT]),
    ("returns_at_once", lambda: (0,), [NEXT, NEXT]),
    ("nested_yield_from", lambda: (3,), [NEXT] * 10),
    ("deep_body", lambda: (50,), [NEXT, NEXT, NEXT]),
]


@pytest.mark.parametrize("name,args,script", SCRIPTS,
                         ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(SCRIPTS)])
def test_protocol_matches_cpython_generators(name, args, script):
    same_as_plain(getattr(cases, name), args, script)


def test_the_generator_is_a_generator():
    gen = cases.squares(3)
    assert isinstance(gen, collections.abc.Generator)
    assert iter(gen) is gen
    assert gen.__name__ == "squares" and gen.__qualname__ == "squares"
    assert gen.gi_code is cases.squares.__stackless__.original_code
    assert not gen.gi_running and not gen.gi_suspended
    assert list(gen) == [0, 1, 4]
    assert list(gen) == []


def test_finally_runs_on_close_and_when_collected():
    log = []
    gen = cases.with_cleanup(log)
    assert next(gen) == 1
    gen.close()
    assert log == ["start", "finally"]
    log = []
    gen = cases.with_cleanup(log)
    next(gen)
    del gen
    gc.collect()
    assert log == ["start", "finally"]


def test_arguments_of_every_kind():
    got = list(cases.parameters(1, 20, 30, 40, c=3, e=5))
    assert got == list(plain_copy(cases.parameters)(1, 20, 30, 40, c=3, e=5))
    with pytest.raises(TypeError):
        cases.parameters(1)        # c is missing: refused when called, as in CPython


def test_yield_from_delegates_send_throw_and_close():
    log = []
    for script in ([NEXT, ("send", 1), ("send", "stop"), NEXT, NEXT],
                   [NEXT, ("send", 1), ("throw", ValueError("x"))],
                   [NEXT, ("send", 1), ("close",)]):
        log.clear()
        result = play(cases.delegating(cases.echo(log)), script)
        stackless_log = list(log)
        log.clear()
        plain = play(plain_copy(cases.delegating)(plain_copy(cases.echo)(log)), script)
        assert (result, stackless_log) == (plain, log)


def test_yield_from_a_plain_generator_and_gi_yieldfrom():
    inner = cases.plain_generator(3)
    gen = cases.delegating(inner)
    assert next(gen) == 0
    assert gen.gi_yieldfrom is inner
    assert list(gen) == [1, 2, ("result", None)]
    assert gen.gi_yieldfrom is None


def test_running_generator_cannot_be_resumed_from_itself():
    @sx.stackless
    def reentrant():
        yield next(me)

    me = reentrant()
    with pytest.raises(ValueError, match="already executing"):
        next(me)


def test_deep_recursion_inside_the_body_unwinds_into_records():
    assert list(cases.deep_body(100_000)) == [100_000, 50_000]


def test_a_generator_method_walks_a_tree():
    tree = node = cases.Tree(0)
    for value in range(1, 60):
        kid = cases.Tree(value)
        node.kids = (kid, cases.Tree(-value))
        node = kid
    assert list(tree.walk()) == list(plain_copy(cases.Tree.walk)(tree))


def test_a_closure_generator_runs():
    counting = cases.make_closure_generator(3)
    assert list(counting(4)) == [0, 3, 6, 9]


def _state_after(gen, steps):
    return [next(gen) for _ in range(steps)]


@pytest.mark.parametrize("steps", [0, 1, 2, 3])
def test_pickles_at_every_yield_and_resumes_in_process(steps):
    gen = cases.squares(4)
    before = _state_after(gen, steps)
    twin = pickle.loads(pickle.dumps(gen))
    assert isinstance(twin, Generator)
    assert before + list(twin) == [0, 1, 4, 9]
    assert list(gen) == [0, 1, 4, 9][steps:]     # the original is untouched


def test_return_value_survives_pickling():
    gen = cases.squares(2)
    next(gen)
    gen.send(7)
    twin = pickle.loads(pickle.dumps(gen))
    with pytest.raises(StopIteration) as stop:
        twin.send(5)
    assert stop.value.value == 12


def test_pickled_delegation_goes_on():
    gen = cases.nested_yield_from(3)
    first = [next(gen) for _ in range(4)]
    twin = pickle.loads(pickle.dumps(gen))
    rest = list(twin)
    assert first + rest == list(plain_copy(cases.nested_yield_from)(3))


def test_copies_are_independent():
    gen = cases.squares(5)
    next(gen), next(gen)
    for twin in (copy.deepcopy(gen), copy.copy(gen)):
        assert list(twin) == [4, 9, 16]
    assert list(gen) == [4, 9, 16]


RESUME_IN_CHILD = """
import pickle, sys
print([list(pickle.loads(blob)) for blob in pickle.loads(sys.stdin.buffer.read())])
"""


def test_resumes_in_a_fresh_process_at_every_yield():
    # One child loads each pickle on its own and runs it to the end.
    expected = list(cases.nested_yield_from(3))
    blobs, done = [], []
    for steps in range(len(expected) + 1):
        gen = cases.nested_yield_from(3)
        done.append([next(gen) for _ in range(steps)])
        blobs.append(pickle.dumps(gen))
    child = subprocess.run([sys.executable, "-c", RESUME_IN_CHILD],
                           input=pickle.dumps(blobs), capture_output=True,
                           cwd=REPO, timeout=120)
    assert child.returncode == 0, child.stderr.decode()
    rests = eval(child.stdout.decode())
    assert len(rests) == len(blobs)
    for before, rest in zip(done, rests):
        assert before + rest == expected


def test_a_running_generator_is_not_pickled():
    @sx.stackless
    def pickles_itself():
        yield pickle.dumps(me)

    me = pickles_itself()
    with pytest.raises(pickle.PicklingError, match="running"):
        next(me)


def test_an_unpicklable_local_is_named():
    @sx.stackless
    def holds_a_file(path):
        handle = open(path)
        try:
            yield 1
        finally:
            handle.close()

    holds_a_file.__qualname__ = "holds_a_file"
    gen = holds_a_file(__file__)
    next(gen)
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(gen)
    gen.close()


def test_native_backend_refuses_generators():
    with pytest.raises(TransformError, match="Yield; the native backend does not support it"):
        @sx.stackless(backend="native")
        def counting(n):
            i = 0
            while i < n:
                yield i
                i += 1


def test_decorating_one_warns_of_nothing():
    # Its code becomes a plain function's, which 3.13 deprecates for a
    # generator function: the transform does it on purpose, and says nothing
    # (under -W error the decoration would fail).
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @sx.stackless
        def counts():
            yield 1
            yield 2

    assert list(counts()) == [1, 2]
