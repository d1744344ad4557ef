"""The shortcuts that keep the transform's time per function low give what
the slower ways gave: the stack size, the guarded calls, the definition
found for a function."""

import dis
import importlib
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
    transform used before)."""
    instrument = importlib.import_module("stacklessxf.backends.bytecode.instrument")
    real_to_code, made = instrument._to_code, []

    def to_code(bytecode_obj, sites):
        expected = ControlFlowGraph.from_bytecode(bytecode_obj).compute_stacksize(
            compute_exception_stack_depths=False)
        code = real_to_code(bytecode_obj, sites)
        made.append((code, expected))
        return code

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(instrument, "_to_code", to_code)
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
    too_deep = [(code.co_qualname, code.co_stacksize, bound)
                for code, bound in transformed_corpus if code.co_stacksize > bound]
    assert too_deep == []
    assert len(transformed_corpus) > 500


def test_guarded_calls_agree_with_a_scan_by_dis(transformed_corpus):
    unwind = importlib.import_module("stacklessxf.runtime.records").Unwind
    marker = importlib.import_module("stacklessxf.runtime.records").SWITCHED
    for code, _ in transformed_corpus[:300]:
        assert ops.guarded_calls(code, unwind, marker) == guarded_calls_by_dis(
            code, unwind, marker), code.co_qualname


def guarded_calls_by_dis(code, unwind, marker):
    """The scan as dis reads the code, one exception-table entry after the other."""
    listing = list(dis.get_instructions(code))
    at = {ins.offset: ins for ins in listing}
    guarded, tested = set(), set()
    for position, ins in enumerate(listing):
        if ins.opname not in ("CALL", "CALL_FUNCTION_EX"):
            continue
        entry = next((e for e in dis._parse_exception_table(code)
                      if e.start <= ins.offset < e.end), None)
        first = at.get(entry.target) if entry else None
        if first is None or first.opname != "LOAD_CONST" or first.argval is not unwind:
            continue
        start = listing[position - 1].offset if listing[position - 1].opname == "PRECALL" \
            else ins.offset
        offsets = range(start, ins.offset + 2 * dis._inline_cache_entries[ins.opcode] + 1, 2)
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
