"""The analysis (on the IR) and the bytecode backend (on CPython's code)
compute liveness independently; at every resume point they must agree on
which user variables a record holds."""

import pytest

import stacklessxf
from stacklessxf.runtime.records import Slot
from tests.differential import corpus_paths, load_module
from tests import unwinding_cases


def _functions():
    modules = [load_module(path, plain=False) for path in corpus_paths()]
    modules.append(unwinding_cases)
    seen = []
    for module in modules:
        seen += stacklessxf.registered_functions(module.__name__)
    return seen


FUNCTIONS = _functions()


@pytest.mark.parametrize("info", FUNCTIONS, ids=[f.qualname for f in FUNCTIONS])
def test_backend_saves_the_variables_the_analysis_says_are_live(info):
    points = {rp.id: rp for rp in info.analysis.resume_points}
    variables = set(info.analysis.variables)
    for site in info.sites:
        if site.rp is None:
            continue
        rp = points[site.rp.id]
        analysis_live = {name for name in rp.live if name in variables}
        backend_live = {slot.name for slot in site.normal.slots
                        if slot.kind in (Slot.LOCAL, Slot.CELL)}
        if site.tail:
            assert rp.kind == "tail", (site.name, rp.kind)
            continue
        # The backend's liveness is exact per copy of a call; the analysis
        # sees one copy of a finally body, so it may hold more.
        assert backend_live <= analysis_live, (site.name, backend_live, analysis_live)
        if site.copy == 0 and not _in_finally_or_handler(site):
            assert backend_live == analysis_live, (site.name, backend_live, analysis_live)


def _in_finally_or_handler(site):
    return any(kind == "exc_prev" for kind, _, _ in site.prefix) or site.cover is not None


def test_every_resume_point_has_a_call_site():
    for info in FUNCTIONS:
        ids = {site.rp.id for site in info.sites if site.rp is not None}
        assert ids == {rp.id for rp in info.analysis.resume_points}, info.qualname
