"""Records pickled under one CPython version, loaded by another.

Their portable form names nothing particular to a version, but resuming
them elsewhere is refused for now (``portable.ACROSS_VERSIONS``): some
resume points keep other values on other versions.  The corpus's tasklets
are pickled here at a spread of their switches and loaded, in fresh
processes, by each other Python version named in
``STACKLESSXF_OTHER_PYTHONS`` (interpreters with this project installed,
separated by ``os.pathsep``; ``.ci/run`` sets it to every version it tests).
Every version's run does the same towards the others, so each pair is
tried both ways: each pickle must be refused, naming both versions.
Without other versions that part is skipped; the in-process checks below
run everywhere.
"""

import os
import pickle
import subprocess
import sys
import types

import pytest

import stacklessxf as sx
from stacklessxf import StaleCodeError
from stacklessxf.runtime import portable, values

from differential import corpus_paths, iter_corpus, load_corpus_pair, plain_corpus_module
from tests.pickle_harness import count_ticks, resume_in_fresh_process, run_pickling_at_every_switch

from test_pickle_corpus import COPIES_A_DEFAULT, TRACEBACK_LOGGED

THIS_VERSION = sys.version_info[:2]


def _version_of(python):
    done = subprocess.run([python, "-c", "import sys, stacklessxf; print(*sys.version_info[:2])"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{python} cannot import stacklessxf: {done.stderr}"
    return tuple(map(int, done.stdout.split()))


def _other_pythons():
    named = [p for p in os.environ.get("STACKLESSXF_OTHER_PYTHONS", "").split(os.pathsep) if p]
    return {version: python for python in named
            if (version := _version_of(python)) != THIS_VERSION}


OTHER_PYTHONS = _other_pythons()


def _spread(ticks):
    """The first, the middle and the last tick (values on the value stack,
    loop iterators and handlers differ most between these)."""
    return {0, ticks // 2, ticks - 1} if ticks else set()


def _stateless_modules():
    return [path for path in corpus_paths()
            if not hasattr(plain_corpus_module(path), "reset_state")]


@pytest.mark.skipif(not OTHER_PYTHONS, reason="no other Python version named in "
                    "STACKLESSXF_OTHER_PYTHONS")
@pytest.mark.parametrize("path", _stateless_modules(), ids=os.path.basename)
def test_pickles_of_each_case_are_refused_by_every_other_version(path):
    """Resuming under another version is not supported yet: each pickle is
    refused with an error naming both versions, and none resumes wrongly."""
    _, transformed = load_corpus_pair(path)
    blobs = []
    for case_path, case in iter_corpus():
        if case_path != path or case[0] in COPIES_A_DEFAULT | TRACEBACK_LOGGED:
            continue
        _, chosen, _ = run_pickling_at_every_switch(transformed, case,
                                                    _spread(count_ticks(transformed, case)))
        blobs += chosen
    assert blobs, "no case of the module switched"
    for version, python in sorted(OTHER_PYTHONS.items()):
        for got in resume_in_fresh_process(transformed, blobs, python):
            assert isinstance(got, tuple) and got[0] == "stale", got
            assert f"cannot be resumed by CPython {version[0]}.{version[1]}" in got[1], got[1]
            assert "not supported yet" in got[1], got[1]


# -- in this process: what a record from another version is checked by ------

def _enclosing():
    bump = 1
    return lambda x: x + bump


def _fingerprint_from_another_version(code):
    interpreter, _, portable_part = values.fingerprint_of_code(__name__, code)
    assert interpreter == values.INTERPRETER
    return ("cpython-3.99", "0" * 16, portable_part)


def test_a_function_by_value_from_another_version_is_checked_by_its_source():
    code = _enclosing().__code__
    expected = _fingerprint_from_another_version(code)
    assert values.find_code(__name__, code.co_qualname, code.co_firstlineno, expected) is code
    changed = expected[:2] + ("f" * 16,)
    with pytest.raises(StaleCodeError, match="pickled by cpython-3.99"):
        values.find_code(__name__, code.co_qualname, code.co_firstlineno, changed)


def test_the_same_version_checks_the_code_itself():
    code = _enclosing().__code__
    here = values.fingerprint_of_code(__name__, code)
    with pytest.raises(StaleCodeError):
        values.find_code(__name__, code.co_qualname, code.co_firstlineno,
                         (here[0], "0" * 16, here[2]))


def test_a_function_without_source_from_another_version_is_refused():
    code = compile("lambda: 1", "<no file>", "eval").co_consts[0]
    module = types.ModuleType("sx_no_source")
    function = types.FunctionType(code, module.__dict__)
    assert values.fingerprint_of_code("sx_no_source", function.__code__)[2] is None
    expected = ("cpython-3.99", "0" * 16, None)
    assert not values.same_code(values.fingerprint_of_code("sx_no_source", code), expected)


@sx.stackless
def _waits(ch, n):
    total = 0
    for k in range(n):
        total += ch.receive() + k
    return total


def test_a_resume_point_laid_out_otherwise_names_both_versions():
    ch = sx.channel()
    task = sx.tasklet(_waits)(ch, 3)
    sx.run()
    state = task.__reduce__()
    stack = pickle.loads(pickle.dumps(state[2]["_stack"]))  # loads fine here
    assert stack
    table, rows, interpreter = state[2]["_stack"].__reduce__()[1]
    assert interpreter == values.INTERPRETER
    # The saved record names a value this version does not save there.
    (number, entry), = table.items()
    renamed = {number: entry[:4] + (entry[4] + ("$stack9",),)}
    rows = tuple(row + (None,) for row in rows)
    with pytest.raises(StaleCodeError, match=r"saved by CPython 3\.99 cannot be resumed by "
                       rf"CPython {THIS_VERSION[0]}\.{THIS_VERSION[1]}: .*not supported yet"):
        portable.load_stack(table, rows, "cpython-3.99")
    portable.ACROSS_VERSIONS = True     # what loading will say once it is supported
    try:
        with pytest.raises(StaleCodeError, match=r"saved by CPython 3\.99 cannot be resumed by "
                           rf"CPython {THIS_VERSION[0]}\.{THIS_VERSION[1]}: .*no resume point"):
            portable.load_stack(renamed, rows, "cpython-3.99")
    finally:
        portable.ACROSS_VERSIONS = False
    with pytest.raises(StaleCodeError) as same:
        portable.load_stack(renamed, rows, values.INTERPRETER)
    assert "cannot be resumed by" not in str(same.value)
    task.kill()
