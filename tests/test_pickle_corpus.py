"""Every corpus case, run as a tasklet pickled and loaded at switches the
watchdog makes (every one, or a spread of them, see ticks_to_pickle),
behaves as the plain function does; and one of its pickles, resumed in a
fresh process, finishes the same way."""

import os

import pytest

from differential import (corpus_paths, iter_corpus, load_corpus_pair, plain_corpus_module,
                          run_one)
from tests.pickle_harness import (count_ticks, resume_each, resume_in_fresh_process,
                                  run_pickling_at_every_switch)

from test_differential import CASE_IDS, CASES

_pairs = {}


def corpus_pair(path):
    if path not in _pairs:
        _pairs[path] = load_corpus_pair(path)
    return _pairs[path]


# What the corpus holds that does not pickle, by design: the refusal names it.
REFUSED = ("is a class defined inside a function", "cannot pickle 'generator' object")

# Cases that log whether the exception being handled has a traceback: a
# loaded exception has none (the frames it named are gone).
TRACEBACK_LOGGED = {"exc_info_after_call"}

# A case whose record holds a function's default value, which a pickle
# copies: the loaded record's list is no longer the default.
COPIES_A_DEFAULT = {"shared_mutable_default"}


# Every tick of every FULL_SWEEP-th case is pickled.  The others are pickled
# at their first and last ticks and at every STRIDE-th tick from an offset
# that moves from case to case, so that the corpus as a whole is still
# pickled at every offset (pickling and loading at every tick of every case
# mostly repeats the same resumes and took minutes).
FULL_SWEEP = 8
STRIDE = 5


def ticks_to_pickle(number, module, case):
    """The ticks at which the case numbered ``number`` is pickled (None:
    every tick)."""
    if number % FULL_SWEEP == 0:
        return None
    last = count_ticks(module, case) - 1
    return {0, last} | set(range(number % STRIDE, last, STRIDE))


@pytest.mark.parametrize("number,path,case", [(number, *pair) for number, pair in enumerate(CASES)],
                         ids=CASE_IDS)
def test_pickled_at_switches_matches_plain(number, path, case):
    plain, transformed = corpus_pair(path)
    expected = run_one(plain, case)
    ticks = ticks_to_pickle(number, transformed, case)
    outcome, pickles, refusals = run_pickling_at_every_switch(transformed, case, ticks)
    if case[0] in TRACEBACK_LOGGED and outcome.log != expected.log:
        assert repr(outcome.log) == repr(expected.log).replace("('bool', True)", "('bool', False)", 1)
        outcome.log = expected.log
    if case[0] in COPIES_A_DEFAULT and pickles:
        assert outcome.result != expected.result
        return
    assert outcome == expected, f"{case} after {len(pickles)} pickles"
    for message in refusals:
        assert any(reason in message for reason in REFUSED), message


def _without_module_state(path):
    """Modules whose cases do not depend on module globals, which a pickle
    of a tasklet does not carry to another process (the others define
    ``reset_state``)."""
    return not hasattr(plain_corpus_module(path), "reset_state")


@pytest.mark.parametrize("path", list(filter(_without_module_state, corpus_paths())),
                         ids=os.path.basename)
def test_a_pickle_of_each_case_resumes_in_a_fresh_process(path):
    plain, transformed = corpus_pair(path)
    expected, blobs, cases = [], [], []
    for case_path, case in iter_corpus():
        if case_path != path or case[0] in COPIES_A_DEFAULT | TRACEBACK_LOGGED:
            continue
        # The middle tick's pickle is of a copy loaded at the first tick.
        ticks = count_ticks(transformed, case)
        _, pickles, _ = run_pickling_at_every_switch(transformed, case, {0, ticks // 2})
        if pickles:
            blobs.append(pickles[-1])
            cases.append(case)
            expected.append(run_one(plain, case))
    assert blobs, "no case of the module switched"
    outcomes = resume_in_fresh_process(transformed, blobs)
    for got, want, case in zip(outcomes, expected, cases):
        assert got == want, case


def test_a_second_load_of_a_file_resumes_its_nested_functions_with_its_own_globals():
    """Code objects compare equal by their contents, so a file loaded twice
    (a reload) has equal nested functions; the records of each load's
    nested stackless function must resume with that load's globals (here:
    its own LOG)."""
    path, = [p for p in corpus_paths() if os.path.basename(p) == "c_values.py"]
    case = ("nested_stackless_closure", (7, 2), {})
    for _ in range(2):
        plain, transformed = load_corpus_pair(path)
        ticks = count_ticks(transformed, case)
        _, blobs, _ = run_pickling_at_every_switch(transformed, case, {0, ticks // 2})
        assert blobs
        want = run_one(plain, case)
        assert all(got == want for got in resume_each(transformed, blobs))
