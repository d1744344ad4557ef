"""Records pickled under one CPython version, loaded by another.

Their portable form names nothing particular to a version: a call's resume
point by the call's place in the source, a watchdog tick by what its record
means (go to a loop's head, or start the function), values by the variables
they hold.  The corpus's tasklets are pickled here at a spread of their
switches and resumed, in fresh processes, by each other Python version named
in ``STACKLESSXF_OTHER_PYTHONS`` (interpreters with this project installed,
separated by ``os.pathsep``; ``.ci/run`` sets it to every version it tests).
Every version's run does the same towards the others, so each pair is tried
both ways.  Each pickle must resume with the plain function's outcome, or be
refused, naming both versions, for one of the reasons docs/tasklets.md gives.
Without other versions that part is skipped; the same loading, the way
another version loads, is also tried here in this process.
"""

import contextlib
import os
import pickle
import subprocess
import sys
import types

import pytest

import stacklessxf as sx
from stacklessxf import StaleCodeError
from stacklessxf.runtime import portable, values

from differential import corpus_paths, iter_corpus, load_corpus_pair, plain_corpus_module, run_one
from tests.pickle_harness import (count_ticks, resume_each, resume_in_fresh_process,
                                  run_pickling_at_every_switch)

from test_pickle_corpus import COPIES_A_DEFAULT, TRACEBACK_LOGGED

THIS_VERSION = sys.version_info[:2]

# What a record saved by another version may be refused for (docs/tasklets.md).
REASONS = (
    "has a with block, whose records hold the context manager",
    "a place this version's code has no counterpart of",
    "its records come from other code",
)


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


def _pickles_and_expected(path):
    """The module's transformed load, its cases' pickles at a spread of
    ticks, and for each pickle the plain function's outcome."""
    plain, transformed = load_corpus_pair(path)
    blobs, expected = [], []
    for case_path, case in iter_corpus():
        if case_path != path or case[0] in COPIES_A_DEFAULT | TRACEBACK_LOGGED:
            continue
        _, chosen, _ = run_pickling_at_every_switch(transformed, case,
                                                    _spread(count_ticks(transformed, case)))
        blobs += chosen
        expected += [run_one(plain, case)] * len(chosen)
    assert blobs, "no case of the module switched"
    return transformed, blobs, expected


# Modules where every pickle may be refused: each function has a with block.
ALL_WITH = {"c_with.py"}


def _check(path, outcomes, expected, saved_by, resumed_by, with_blocks_differ=True):
    """Each outcome is the plain one or a refusal naming both versions and
    a documented reason; some resume."""
    refused = 0
    for got, want in zip(outcomes, expected, strict=True):
        if isinstance(got, tuple) and got[0] == "stale":
            refused += 1
            assert f"saved by {saved_by} cannot be resumed by {resumed_by}" in got[1], got[1]
            assert any(reason in got[1] for reason in REASONS), got[1]
        else:
            assert got == want
    if os.path.basename(path) not in ALL_WITH or not with_blocks_differ:
        assert refused < len(outcomes), "every pickle was refused"


def _named(version):
    return f"CPython {version[0]}.{version[1]}"


@pytest.mark.skipif(not OTHER_PYTHONS, reason="no other Python version named in "
                    "STACKLESSXF_OTHER_PYTHONS")
@pytest.mark.parametrize("path", _stateless_modules(), ids=os.path.basename)
def test_pickles_of_each_case_resume_under_every_other_version(path):
    transformed, blobs, expected = _pickles_and_expected(path)
    for version, python in sorted(OTHER_PYTHONS.items()):
        _check(path, resume_in_fresh_process(transformed, blobs, python), expected,
               _named(THIS_VERSION), _named(version))


@contextlib.contextmanager
def _loading_as_another_version():
    """Loading here takes the way loading by another version takes: ticks
    by their meaning, functions by value by their source, cells and locals
    converted where the saving version kept the other."""
    saved = portable.INTERPRETER, values.INTERPRETER
    portable.INTERPRETER = values.INTERPRETER = "cpython-3.99"
    try:
        yield
    finally:
        portable.INTERPRETER, values.INTERPRETER = saved


@pytest.mark.parametrize("path", _stateless_modules(), ids=os.path.basename)
def test_pickles_of_each_case_resume_the_way_another_version_resumes_them(path):
    transformed, blobs, expected = _pickles_and_expected(path)
    with _loading_as_another_version():
        outcomes = resume_each(transformed, blobs)
    _check(path, outcomes, expected, _named(THIS_VERSION), "CPython 3.99",
           with_blocks_differ=False)


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
    assert values.INTERPRETER in task.__reduce__()[2]
    table, rows = portable.stack_parts(task._stack)
    # The saved record names a value this version does not save there.
    (number, entry), = table.items()
    renamed = {number: entry[:4] + (entry[4] + ("$stack9",),)}
    rows = tuple(row + (None,) for row in rows)
    with pytest.raises(StaleCodeError, match=r"saved by CPython 3\.99 cannot be resumed by "
                       rf"CPython {THIS_VERSION[0]}\.{THIS_VERSION[1]}: .*no resume point"):
        portable.load_stack(renamed, rows, "cpython-3.99")
    with pytest.raises(StaleCodeError) as same:
        portable.load_stack(renamed, rows, values.INTERPRETER)
    assert "cannot be resumed by" not in str(same.value)
    task.kill()


def test_a_cell_saved_where_this_version_keeps_a_local_is_unwrapped():
    """3.11 makes a comprehension a function of its own, which captures
    the variables it reads in cells; 3.12 inlines it, and they are locals."""
    ch = sx.channel()
    task = sx.tasklet(_waits)(ch, 3)
    sx.run()
    table, rows = portable.stack_parts(task._stack)
    (number, entry), = table.items()
    module, qualname, stamp, name, names = entry
    assert {"ch", "k"} <= set(names)
    as_cells = {number: (module, qualname, stamp, name + " & cells ch,k", names)}
    cells = tuple(tuple(types.CellType(value) if slot in ("ch", "k") else value
                        for slot, value in zip(("",) + names, row)) for row in rows)
    loaded = portable.load_stack(as_cells, cells, "cpython-3.99")
    assert loaded == list(rows)
    with pytest.raises(pickle.UnpicklingError, match="where a closure cell was saved"):
        portable.load_stack(as_cells, rows, "cpython-3.99")
    task.kill()


def test_every_tick_of_a_loop_says_what_it_means():
    """A watchdog tick at a loop's jump back means 'go to the loop's head'
    on every version (3.12 marks a while True loop's head at the True, 3.11
    at the while): for loops, while loops whose test calls nothing, while
    True loops left by break, continue or an exception."""
    path, = [p for p in corpus_paths() if os.path.basename(p) == "c_loops.py"]
    _, transformed = load_corpus_pair(path)
    for name in ("while_sum", "while_break_continue", "manual_iterator", "for_continue",
                 "nested_loops", "while_nested_break"):
        info = getattr(transformed, name).__stackless__
        ticks = [site.normal for site in info.ticked()[1]
                 if site.normal.name.startswith("tick@")]
        assert ticks and all(tick.same_as is not None for tick in ticks), \
            (name, [tick.name for tick in ticks if tick.same_as is None])


@sx.stackless
def _waits_in_finally(ch):
    try:
        got = 0
    finally:
        got = ch.receive()
    return got


def test_a_record_in_a_copy_of_code_resumes_where_the_copies_are_as_many():
    """The compiler copies a finally body once per way out of the try; how
    many copies, and which is which, is each version's own choice (3.12
    and 3.13 copy a comprehension's code differently): a record saved in
    one of them resumes under another version only where that one makes
    as many."""
    ch = sx.channel()
    task = sx.tasklet(_waits_in_finally)(ch)
    sx.run()
    table, rows = portable.stack_parts(task._stack)
    (number, entry), = table.items()
    module, qualname, stamp, name, names = entry
    assert " & copies " in name, name
    assert portable.load_stack(table, rows, "cpython-3.99") == list(rows)
    copies = int(name.split(" & copies ")[1].split()[0])
    renamed = {number: (module, qualname, stamp,
                        name.replace(f" & copies {copies}", f" & copies {copies + 1}"), names)}
    with pytest.raises(StaleCodeError, match=rf"one of {copies + 1} copies the compiler made "
                       rf"of that call's code, and this version makes {copies}"):
        portable.load_stack(renamed, rows, "cpython-3.99")
    task.kill()
