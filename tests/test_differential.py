"""Every corpus case behaves the same plain and transformed: normally, and
with the recursion limit lowered so that the transformed side unwinds into
records and resumes over and over."""

import os

import pytest

from stacklessxf import registered_functions

from differential import (
    assert_case_matches,
    case_id,
    corpus_paths,
    decorated_functions,
    iter_corpus,
    iter_deep_corpus,
    load_corpus_pair,
    plain_corpus_module,
    resolve,
    run_deep_case,
)

# Frames left above the test when the transformed side runs with a lowered
# recursion limit.
HEADROOM = 40

THEMES = {
    "c_closures",
    "c_control",
    "c_exceptions",
    "c_expressions",
    "c_loops",
    "c_methods",
    "c_params",
    "c_recursion",
    "c_state",
    "c_with",
}
MIN_FUNCTIONS = 90


def _with_ids(pairs):
    pairs = list(pairs)
    seen = {}
    ids = []
    for path, case in pairs:
        base = case_id(path, case)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return pairs, ids


CASES, CASE_IDS = _with_ids(iter_corpus())
DEEP_CASES, DEEP_IDS = _with_ids(iter_deep_corpus())

_pairs = {}


def corpus_pair(path):
    """The plain and transformed loads of ``path``, once per session; a load
    that failed fails every case of its module with the same error."""
    if path not in _pairs:
        try:
            _pairs[path] = ("ok", load_corpus_pair(path))
        except Exception as exc:
            _pairs[path] = ("error", exc)
    status, value = _pairs[path]
    if status == "error":
        raise RuntimeError(f"loading {os.path.basename(path)} failed: {value!r}") from value
    return value


@pytest.mark.parametrize("path,case", CASES, ids=CASE_IDS)
def test_plain_vs_transformed(path, case):
    plain, transformed = corpus_pair(path)
    assert_case_matches(plain, transformed, case)


@pytest.mark.usefixtures("deep_records")
@pytest.mark.parametrize("path,case", CASES, ids=CASE_IDS)
def test_plain_vs_transformed_low_recursion_limit(path, case):
    plain, transformed = corpus_pair(path)
    assert_case_matches(plain, transformed, case, headroom=HEADROOM)


@pytest.mark.parametrize("path,case", DEEP_CASES, ids=DEEP_IDS)
def test_deep_recursion_transformed_only(path, case):
    _, transformed = corpus_pair(path)
    outcome, expected = run_deep_case(transformed, case)
    assert outcome.result == expected


@pytest.mark.usefixtures("deep_records")
@pytest.mark.parametrize("path,case", DEEP_CASES, ids=DEEP_IDS)
def test_deep_recursion_low_recursion_limit(path, case):
    _, transformed = corpus_pair(path)
    outcome, expected = run_deep_case(transformed, case, headroom=HEADROOM)
    assert outcome.result == expected


def test_corpus_size_and_themes():
    by_theme = {}
    all_functions = set()
    for path in corpus_paths():
        module = plain_corpus_module(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        functions = decorated_functions(module)
        by_theme[stem] = functions
        all_functions.update((stem, f.__qualname__) for f in functions)
        assert module.CASES, f"{stem} has no cases"
        for case in module.CASES:
            name, args, kwargs = case
            assert isinstance(args, tuple) and isinstance(kwargs, dict), (stem, case)
            assert callable(resolve(module, name)), (stem, name)
        for name, args, kwargs, _expected in getattr(module, "DEEP_CASES", ()):
            assert callable(resolve(module, name)), (stem, name)
    missing = THEMES - set(by_theme)
    assert not missing, f"corpus modules missing: {sorted(missing)}"
    for stem, functions in by_theme.items():
        assert len(functions) >= 5, f"{stem} has only {len(functions)} stackless functions"
    assert len(all_functions) >= MIN_FUNCTIONS, len(all_functions)
    assert DEEP_CASES, "no deep recursion cases"


def test_every_case_target_is_a_stackless_function_or_method():
    """Each case calls a decorated function directly (through a bound method
    or a class attribute for methods), not a plain wrapper."""
    for path in corpus_paths():
        module = plain_corpus_module(path)
        decorated = {id(f) for f in decorated_functions(module)}
        for name, _args, _kwargs in module.CASES:
            target = resolve(module, name)
            func = getattr(target, "__func__", target)
            assert id(func) in decorated, f"{case_id(path, (name,))} is not decorated"


@pytest.mark.parametrize("path", corpus_paths(), ids=lambda p: os.path.basename(p))
def test_transformed_load_is_transformed(path):
    """The transformed load registers one stackless function for every
    function the plain load decorated (and one for each generator expression
    of theirs that runs as a stackless generator), so the comparison above
    really is plain against transformed."""
    plain, transformed = corpus_pair(path)
    expected = [f.__qualname__ for f in decorated_functions(plain)]
    got = [info.qualname for info in registered_functions(transformed.__name__)]
    assert [name for name in got if not name.endswith(".<genexpr>")] == expected
    assert registered_functions(plain.__name__) == []
