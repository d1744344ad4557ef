"""The analysis (on the IR) and the bytecode backend (on CPython's code)
compute liveness independently; at every resume point they must agree on
which user variables a record holds."""

import pytest
from astroid import nodes

import stacklessxf
from stacklessxf.backends.bytecode.instrument import CallSite
from stacklessxf.runtime.records import Slot
from stacklessxf.versions import current as version
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
            assert analysis_live - backend_live <= _inline_captures(info), \
                (site.name, backend_live, analysis_live)


def _inline_captures(info):
    """Names read inside a list, set or dict comprehension: the analysis
    keeps them as the comprehension's captured cells (always live), which
    a version compiling the comprehension inline (PEP 709) keeps as plain
    locals, live only where they are read."""
    if "<listcomp>" in version.COMPREHENSION_FUNCTIONS:
        return set()
    found = set()
    for node in info.funcdef.nodes_of_class((nodes.ListComp, nodes.SetComp, nodes.DictComp)):
        found |= {name.name for name in node.nodes_of_class(nodes.Name)}
    return found


def _in_finally_or_handler(site):
    return any(kind == "exc_prev" for kind, _, _ in site.prefix) or site.cover is not None


def test_every_resume_point_has_a_call_site_unless_the_compiler_dropped_it():
    for info in FUNCTIONS:
        ids = {site.rp.id for site in info.sites if site.rp is not None}
        assert not ids & set(info.dropped), info.qualname
        assert ids | set(info.dropped) == {rp.id for rp in info.analysis.resume_points}, \
            info.qualname


def test_calls_in_dead_code_are_dropped():
    dropped = {info.qualname: info.dropped for info in FUNCTIONS if info.dropped}
    assert sorted(dropped) == ["dead_branches", "dedent"]
    for info in FUNCTIONS:
        points = {rp.id: rp for rp in info.analysis.resume_points}
        callees = sorted(points[i].callee for i in info.dropped)
        if info.qualname == "dedent":
            assert callees == ["line.startswith", "text.split"]
        elif info.qualname == "dead_branches":
            assert callees == ["shout", "shout"]
        assert "the compiler dropped the call" in info.explain() or not info.dropped


def test_every_call_instruction_is_one_site():
    # A with statement's exit call carries its manager expression's span on
    # 3.13; it is the with statement's site only, not another copy of the
    # manager's call (whose second site would never be guarded).
    for info in FUNCTIONS:
        sites = [site for site in info.sites if isinstance(site, CallSite)]
        calls = [id(site.call) for site in sites]
        assert len(calls) == len(set(calls)), info.qualname
        assert all("after" in site.labels for site in sites), info.qualname
