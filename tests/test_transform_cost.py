"""The shortcuts that keep the transform's time per function low give what
the slower ways gave: the stack size, the guarded calls, the definition
found for a function."""

import dis
import functools
import importlib
import statistics
import sys
import types

import pytest
from bytecode import ControlFlowGraph

from stacklessxf import registered_functions
from stacklessxf.errors import TransformError
from tests import differential

ops = importlib.import_module("stacklessxf.backends.bytecode.ops").current

STDLIB_MODULES = ("ipaddress", "posixpath", "fractions", "argparse", "inspect", "typing",
                  "asyncio.base_events", "tarfile", "difflib", "_pydecimal", "ast",
                  "dataclasses", "enum", "subprocess", "threading", "json.decoder")


def code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from code_objects(const)


@pytest.mark.parametrize("module_name", STDLIB_MODULES)
def test_stack_depth_is_what_the_compiler_computes(module_name):
    path = importlib.import_module(module_name).__file__
    with open(path, encoding="utf-8") as source:
        module_code = compile(source.read(), path, "exec", dont_inherit=True)
    mismatched = [(code.co_qualname, ops.max_stack_depth(code), code.co_stacksize)
                  for code in code_objects(module_code)
                  if ops.max_stack_depth(code) != code.co_stacksize]
    assert mismatched == []


def test_an_underflowing_stack_is_refused():
    code = compile("x = 1", "<test>", "exec")
    pop_first = bytes([code.co_code[0], 0, dis.opmap["POP_TOP"], 0]) + code.co_code[2:]
    with pytest.raises(ValueError, match="underflows at offset 2 \\(POP_TOP\\)"):
        ops.max_stack_depth(code.replace(co_code=pop_first))


@pytest.fixture(scope="module")
def transformed_corpus():
    """Every code object the transform made for the corpus (each function's,
    its watchdog variant's and its resume entries'), with the stack size the
    bytecode package computes for it over its control-flow graph (what the
    transform used before), and the stack size its own reading gives the
    code before the ranges of the ``for`` loops' handlers are added (the
    package does not see those handlers)."""
    instrument = importlib.import_module("stacklessxf.backends.bytecode.instrument")
    real_to_code, made = instrument._to_code, []

    real_add_ranges, before_ranges = instrument.exception_table.add_ranges, []

    def add_ranges(code, *args):
        before_ranges.append(code)
        return real_add_ranges(code, *args)

    def to_code(bytecode_obj, sites):
        expected = ControlFlowGraph.from_bytecode(bytecode_obj).compute_stacksize(
            compute_exception_stack_depths=False)
        before_ranges.clear()
        code = real_to_code(bytecode_obj, sites)
        seen = ops.max_stack_depth(before_ranges[0]) if before_ranges else code.co_stacksize
        made.append((code, expected, seen))
        return code

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(instrument, "_to_code", to_code)
        patch.setattr(instrument.exception_table, "add_ranges", add_ranges)
        for path in differential.corpus_paths():
            module = differential.load_module(path, plain=False)
            for info in registered_functions(module.__name__):
                if info.native is None:
                    _build_every_variant(info)
            differential.unload_module(module)
    return made


def _build_every_variant(info):
    _, ticked_sites = info.ticked()
    for site in list(info.sites) + list(ticked_sites):
        for resume_site in (site.normal, site.retry):
            if resume_site is not None:
                resume_site.resume_code()


def test_transformed_code_never_needs_more_stack_than_the_bytecode_package_allowed(
        transformed_corpus):
    # The bytecode package starts an exception handler at the least depth
    # the stack has in the range it covers; the interpreter, as
    # max_stack_depth, at the depth the exception table gives, which the
    # transform sets no higher.
    too_deep = [(code.co_qualname, seen, bound)
                for code, bound, seen in transformed_corpus if seen > bound]
    assert too_deep == []
    assert len(transformed_corpus) > 500


# Code units the transform adds per call site, at the median over the
# corpus: the handlers are most of a transformed function's code, and
# assembling them most of its transform time.  3.11 adds 70, 3.12 84 and
# 3.13 86.5 (they added 164, 233 and 242 while the handlers made the depth
# unwinding's tests and moved the records in bytecode).
UNITS_PER_SITE_BOUND = 100


@pytest.mark.skipif(importlib.import_module("stacklessxf.runtime.native_loop")._switch is None,
                    reason="the bound is for the handlers made where the C extension "
                    "_stacklessxf_switch is built (without it they are about twice as long)")
def test_the_handlers_stay_short():
    added = []
    for path in differential.corpus_paths():
        module = differential.load_module(path, plain=False)
        for info in registered_functions(module.__name__):
            if info.native is None and info.sites:
                units = (len(info.code.co_code) - len(info.body_code.co_code)) // 2
                added.append(units / len(info.sites))
        differential.unload_module(module)
    assert len(added) > 200
    assert statistics.median(added) <= UNITS_PER_SITE_BOUND


def test_guarded_calls_agree_with_a_scan_by_dis(transformed_corpus):
    unwind = importlib.import_module("stacklessxf.runtime.records").Unwind
    marker = importlib.import_module("stacklessxf.runtime.records").SWITCHED
    for code, _, _ in transformed_corpus[:300]:
        assert ops.guarded_calls(code, unwind, marker) == guarded_calls_by_dis(
            code, unwind, marker), code.co_qualname


def guarded_calls_by_dis(code, unwind, marker):
    """The scan as dis reads the code, one exception-table entry after the other."""
    listing = list(dis.get_instructions(code))
    at = {ins.offset: ins for ins in listing}
    guarded, tested = set(), set()
    for position, ins in enumerate(listing):
        if ins.opname not in ("CALL", "CALL_KW", "CALL_FUNCTION_EX"):
            continue
        entry = next((e for e in dis._parse_exception_table(code)
                      if e.start <= ins.offset < e.end), None)
        first = at.get(entry.target) if entry else None
        if first is None or first.opname != "LOAD_CONST" or first.argval is not unwind:
            continue
        start = listing[position - 1].offset if listing[position - 1].opname == "PRECALL" \
            else ins.offset
        # A frame stopped in a call reports its last cache entry; on 3.13,
        # the call itself.
        end = ins.offset if sys.version_info >= (3, 13) else \
            ins.offset + 2 * dis._inline_cache_entries[ins.opcode]
        offsets = range(start, end + 1, 2)
        guarded.update(offsets)
        after = listing[position + 1:position + 3]
        if [i.opname for i in after] == ["COPY", "LOAD_CONST"] and after[1].argval is marker:
            tested.update(offsets)
    return frozenset(guarded), frozenset(tested)


def test_functions_are_found_by_name_and_first_line(tmp_path, monkeypatch):
    from stacklessxf.frontend.source import locate

    (tmp_path / "two_defs.py").write_text(
        "def f():\n    return 1\n\n\n"
        "def g():\n    return 2\n\n\n"
        "@staticmethod\n@staticmethod\ndef h():\n    pass\n\n\n"
        "k = lambda: 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("two_defs")
    try:
        assert [locate(f)[1].name for f in (module.g, module.f)] == ["g", "f"]
        assert locate(module.h.__func__.__func__)[1].name == "h"
        with pytest.raises(TransformError, match="a lambda cannot be transformed"):
            locate(module.k)
    finally:
        del importlib.sys.modules["two_defs"]


# -- callee inference: a parameter's callee is unknown without inferring it --

PARAMETER_CALLS = '''
import functools


def helper():
    return 1


@functools.lru_cache
def no_default(f, p):
    return f() + p.attr.method()


def with_default(cb=helper, *rest, key=helper, **named):
    return cb() + key() + rest() + named()


def reassigned(f):
    f = helper
    return f()


def nested(f):
    def inner():
        return f()
    return inner()


class Box:
    def method(self, other):
        return self.method(other) + other.method(self)

    @classmethod
    def build(cls, other):
        return cls() + other()

    @staticmethod
    def static(first, second):
        return first() + second()


def through_calls_and_items(x, p, q):
    return p(1).m() + q[0]() + p.a(2)[3]()


def assigned(x, p):
    value = p.split()
    other = value
    items = []
    items.append(x)
    return value.count() + other.pop() + items.pop()


def on_some_path(x, p):
    if x:
        found = helper
    else:
        found = p
    return found()


def loop_carried(x, p):
    node = p
    while node:
        node = node.next()
    return node.value()
'''

# The calls whose callee is, or is an attribute of, a name bound only to a
# parameter other than its function's first (a method's first is the
# instance or the class, and *args and **kwargs are a tuple and a dict):
# the shortcut takes those, and only those.
ROOTED_IN_A_PARAMETER = {"p.attr.method", "key", "other.method", "other", "second",
                         "p", "p(1).m", "q[0]", "p.a", "p.a(2)[3]", "p.split", "value.count",
                         "other.pop", "found", "node.next", "node.value"}


def _every_call(tree):
    from astroid import nodes
    return [call for call in tree.nodes_of_class(nodes.Call)]


def test_a_callee_rooted_in_a_parameter_is_what_inference_finds(monkeypatch):
    import astroid

    from stacklessxf.frontend import calls

    tree = astroid.parse(PARAMETER_CALLS, module_name="parameter_calls")
    shortcut = {call.func.as_string() for call in _every_call(tree)
                if calls.rooted_in_a_parameter(call.func)}
    assert shortcut == ROOTED_IN_A_PARAMETER
    lower = importlib.import_module("stacklessxf.ir.lower")
    classifier = calls.Classifier.__new__(calls.Classifier)

    def found(call):
        """What classification and the call graph find for ``call``."""
        return classifier._classify_by_inference(call.func), lower.called_qualname(call)

    quick = [found(call) for call in _every_call(tree)]
    for module in (calls, lower):
        monkeypatch.setattr(module, "rooted_in_a_parameter", lambda expr: False)
    inferred = [found(call) for call in _every_call(tree)]
    assert quick == inferred
    kinds = {kind for kind, _ in inferred}
    assert calls.UNKNOWN in kinds and calls.GUARDED in kinds
    assert "helper" in {qualname for _, qualname in inferred}


@pytest.mark.parametrize("module_name", ("json.decoder", "textwrap", "argparse", "difflib",
                                         "fractions", "ipaddress", "configparser"))
def test_every_callee_the_shortcut_finds_rooted_in_a_parameter_inference_leaves_unknown(
        module_name, monkeypatch):
    import astroid

    from stacklessxf.frontend import calls

    path = importlib.import_module(module_name).__file__
    with open(path, encoding="utf-8") as source:
        tree = astroid.parse(source.read(), module_name="rooted_" + module_name, path=path)
    rooted = [call for call in _every_call(tree) if calls.rooted_in_a_parameter(call.func)]
    assert rooted
    lower = importlib.import_module("stacklessxf.ir.lower")
    classifier = calls.Classifier.__new__(calls.Classifier)
    for module in (calls, lower):
        monkeypatch.setattr(module, "rooted_in_a_parameter", lambda expr: False)
    found = {call.func.as_string(): (classifier._classify_by_inference(call.func),
                                     lower.called_qualname(call)) for call in rooted}
    assert {callee: kind for callee, kind in found.items()
            if kind != (calls.UNKNOWN, None)} == {}


# -- the collector waits while a function is transformed --------------------

def test_the_collector_waits_during_a_transform_and_only_then(monkeypatch):
    import gc

    import stacklessxf

    core = importlib.import_module("stacklessxf.core")
    seen, real_lower = [], core.lower

    def lower(*args, **kwargs):
        seen.append(gc.isenabled())
        return real_lower(*args, **kwargs)

    monkeypatch.setattr(core, "lower", lower)

    def adds(a, b):
        return a + b

    def doubles(a):
        return adds(a, a)

    assert gc.isenabled()
    assert stacklessxf.stackless(adds)(1, 2) == 3
    assert seen == [False] and gc.isenabled()
    # A refusal lets the collector run again too.
    monkeypatch.setattr(core, "verify", _refuse)
    with pytest.raises(TransformError, match="refused for the test"):
        stacklessxf.stackless(doubles)
    assert seen == [False, False] and gc.isenabled()
    # A collector the program stopped stays stopped.
    monkeypatch.undo()
    gc.disable()
    try:
        assert stacklessxf.stackless(doubles)(2) == 4
        assert not gc.isenabled()
    finally:
        gc.enable()


def _refuse(ir):
    raise TransformError("refused for the test", None, None, None, "test")


def test_the_scans_of_the_assembled_code_share_one_decoding(monkeypatch):
    # Stack size, guarded calls and the for loop's handler range are each
    # read off the assembled code; decoding it for each took as long as
    # assembling it.
    import stacklessxf

    importlib.import_module("stacklessxf.core")     # transforms the runtime's own pieces
    base = importlib.import_module("stacklessxf.versions.base")
    decodings = []
    real = base._decoded.__wrapped__

    def counted(raw, version):
        decodings.append(raw)
        return real(raw, version)

    monkeypatch.setattr(base, "_decoded", functools.lru_cache(maxsize=8)(counted))
    monkeypatch.setattr(dis, "_unpack_opargs", _not_called)

    def step(x):
        return x + 1

    def walks(n):
        total = 0
        for k in range(n):
            total += step(k)
        return total

    transformed = stacklessxf.stackless(walks)
    assert transformed(4) == 10
    assert len(decodings) == len(set(decodings)) == 1


def _not_called(*args):
    raise AssertionError("dis decoded a code object")


# -- caches never hand out an earlier version of a file ----------------------

FIRST_VERSION = """\
def helper(x):
    return x + 1


def f(n):
    return helper(n) * 2
"""

SECOND_VERSION = """\
def helper(x):
    return x + 1


def other(x):
    return x - 1


def f(n):
    k = other(n)
    return helper(k) * 3
"""


def test_a_module_edited_and_transformed_again_is_read_again(tmp_path, monkeypatch):
    import linecache
    import os

    import stacklessxf

    path = tmp_path / "edited_twice.py"
    path.write_text(FIRST_VERSION)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_twice")
    try:
        assert stacklessxf.transform_module(module).skipped == []
        assert module.f(1) == 4
        assert "other" not in stacklessxf.explain(module.f)
        path.write_text(SECOND_VERSION)
        later = os.stat(path).st_mtime + 5
        os.utime(path, (later, later))
        linecache.checkcache(str(path))
        module = importlib.reload(module)
        result = stacklessxf.transform_module(module)
        assert sorted(result.transformed) == ["f", "helper", "other"]
        assert result.skipped == []
        assert module.f(1) == 3
        explained = stacklessxf.explain(module.f)
        assert "other(n)" in explained and "* 3" in explained
    finally:
        importlib.sys.modules.pop("edited_twice", None)


# -- which callees may switch: a search from them, as the fixpoint finds -----

def _random_call_graph(rng, size):
    from stacklessxf.analysis import FunctionAnalysis
    from stacklessxf.ir.model import CallSite

    names = [f"f{i}" for i in range(size)]
    kinds = ["plain", "guarded", "stackless", "stackless", "stackless", "switch", "unknown"]

    def call():
        kind = rng.choice(kinds)
        target = None
        if kind == "stackless":
            target = rng.choice(names + ["elsewhere", None])
        return CallSite((1, 0, 1, 1), "g", kind, target, None)

    return {name: FunctionAnalysis(name, "x.py", 1, [], (),
                                   [call() for _ in range(rng.randrange(4))])
            for name in names}


def test_a_search_from_the_callees_finds_what_the_fixpoint_finds():
    import random

    from stacklessxf.analysis.callgraph import may_switch, may_switch_among

    rng = random.Random(13)
    graphs = [_random_call_graph(rng, rng.randrange(1, 12)) for _ in range(400)]
    for analyses in graphs:
        assert may_switch_among(analyses, analyses) == may_switch(analyses)
        some = set(rng.sample(sorted(analyses), rng.randrange(len(analyses) + 1)))
        assert may_switch_among(some, analyses) == may_switch(analyses) & some
    assert any(may_switch(a) != set(a) for a in graphs) and any(may_switch(a) for a in graphs)


def test_the_corpus_modules_find_their_switching_callees_as_the_fixpoint_does():
    from stacklessxf.analysis.callgraph import may_switch, may_switch_among

    checked = 0
    for path in differential.corpus_paths():
        module = differential.load_module(path, plain=False)
        analyses = {info.qualname: info.analysis
                    for info in registered_functions(module.__name__)}
        assert may_switch_among(analyses, analyses) == may_switch(analyses)
        checked += len(analyses)
        differential.unload_module(module)
    assert checked > 200
