"""The backend's assembler makes the code object the bytecode package's
``to_code`` makes, for every code object the transform assembles (the
corpus' functions, their resume entries and watchdog variants) and for the
standard library's own code taken apart and put together again."""

import dis
import importlib
import inspect

import pytest
from bytecode import Bytecode

from stacklessxf import registered_functions
from stacklessxf.versions import current as version
from tests import differential

assemble = importlib.import_module("stacklessxf.backends.bytecode.assemble")
instrument = importlib.import_module("stacklessxf.backends.bytecode.instrument")

FIELDS = ("co_code", "co_consts", "co_names", "co_varnames", "co_cellvars", "co_freevars",
          "co_linetable", "co_exceptiontable", "co_argcount", "co_posonlyargcount",
          "co_kwonlyargcount", "co_nlocals", "co_flags", "co_firstlineno", "co_name",
          "co_qualname", "co_filename")

STDLIB_MODULES = ("posixpath", "textwrap", "json.decoder", "fractions", "ipaddress",
                  "argparse", "dataclasses", "inspect", "asyncio.base_events", "tarfile")


def differences(bytecode_obj):
    ours = assemble._Assembly(bytecode_obj).code()
    theirs = bytecode_obj.to_code(stacksize=0, compute_exception_stack_depths=False)
    return [name for name in FIELDS if getattr(ours, name) != getattr(theirs, name)]


def code_objects(code):
    yield code
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from code_objects(const)


@pytest.fixture(scope="module")
def assembled_by_the_transform():
    made = []
    real = assemble.to_code

    def to_code(bytecode_obj):
        made.append(bytecode_obj)
        return real(bytecode_obj)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assemble, "to_code", to_code)
        for path in differential.corpus_paths():
            module = differential.load_module(path, plain=False)
            for info in registered_functions(module.__name__):
                if info.native is None:
                    _, ticked_sites = info.ticked()
                    for site in list(info.sites) + list(ticked_sites):
                        for resume_site in (site.normal, site.retry):
                            if resume_site is not None:
                                resume_site.resume_code()
            differential.unload_module(module)
    return made


def test_the_transforms_code_is_what_the_package_assembles(assembled_by_the_transform):
    assert len(assembled_by_the_transform) > 800
    wrong = [(b.qualname, differences(b)) for b in assembled_by_the_transform if differences(b)]
    assert wrong == []


@pytest.mark.parametrize("module_name", STDLIB_MODULES)
def test_the_standard_librarys_code_is_what_the_package_assembles(module_name):
    module = importlib.import_module(module_name)
    source_code = compile(inspect.getsource(module), module.__file__, "exec")
    wrong = []
    for code in code_objects(source_code):
        bytecode_obj = Bytecode.from_code(code)
        if differences(bytecode_obj):
            wrong.append((code.co_qualname, differences(bytecode_obj)))
    assert wrong == []


def test_an_argument_it_does_not_know_goes_to_the_package(monkeypatch):
    bytecode_obj = Bytecode.from_code((lambda x: x + 1).__code__)

    def unknown(self):
        raise assemble._Unsupported("an argument of a new kind")

    monkeypatch.setattr(assemble._Assembly, "code", unknown)
    code = assemble.to_code(bytecode_obj)
    assert code.co_code == bytecode_obj.to_code(
        stacksize=0, compute_exception_stack_depths=False).co_code


def test_far_jumps_take_extended_arguments():
    source = "def far(x):\n    if x:\n" + "".join(
        f"        x = x + {i}\n" for i in range(300)) + "    return x\n"
    namespace = {}
    exec(compile(source, "<far>", "exec"), namespace)
    code = namespace["far"].__code__
    bytecode_obj = Bytecode.from_code(code)
    assert differences(bytecode_obj) == []
    assert any(ins.opname == "EXTENDED_ARG"
               for ins in dis.get_instructions(assemble.to_code(bytecode_obj)))


@pytest.mark.parametrize("module_name", STDLIB_MODULES)
def test_the_versions_decoding_of_code_is_what_dis_reads(module_name):
    # The scans after assembly (stack size, guarded calls, handler ranges)
    # read code through the version's own decoding, not dis's.
    module = importlib.import_module(module_name)
    source_code = compile(inspect.getsource(module), module.__file__, "exec")
    for code in code_objects(source_code):
        expected = [(offset, op, arg) for offset, *_, op, arg in dis._unpack_opargs(code.co_code)]
        assert list(version.unpack(code)) == expected, code.co_qualname
        assert list(version.exception_entries(code)) == dis._parse_exception_table(code)


def test_the_decoding_keeps_extended_arguments_apart():
    source = "def wide(x):\n    return (" + ", ".join(f"x + {i}" for i in range(300)) + ")\n"
    namespace = {}
    exec(compile(source, "<wide>", "exec"), namespace)
    code = namespace["wide"].__code__
    listing = version.unpack(code)
    extended = [k for k, (_, op, _) in enumerate(listing) if op == dis.opmap["EXTENDED_ARG"]]
    assert extended
    assert listing[extended[0] + 1][2] > 0xFF
    assert list(listing) == [(offset, op, arg) for offset, *_, op, arg
                             in dis._unpack_opargs(code.co_code)]


def test_the_emitters_instructions_are_the_packages_checked_ones():
    from bytecode import Instr, Label
    from bytecode.instr import InstrLocation

    base = importlib.import_module("stacklessxf.backends.bytecode.ops.base")
    location = InstrLocation(3, 3, 1, 4)
    for name, arg in [("POP_TOP", base._NO_ARG), ("PUSH_NULL", base._NO_ARG),
                      ("LOAD_FAST", "x"), ("LOAD_CONST", 5), ("JUMP_FORWARD", Label()),
                      ("RESUME", 0), ("RERAISE", 0), ("COPY", 2)]:
        ours = base._instr(name, arg, location)
        checked = Instr(name, location=location) if arg is base._NO_ARG else \
            Instr(name, arg, location=location)
        assert (ours.name, ours.opcode, ours.arg, ours.location, ours.has_jump()) == \
            (checked.name, checked.opcode, checked.arg, checked.location, checked.has_jump())
