"""Records in portable form: pickled, resumed here and in a fresh process,
refused when the code has changed or a value cannot be pickled."""

import importlib
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from stacklessxf import stackless
from stacklessxf.errors import StaleCodeError
from stacklessxf.runtime import portable
from stacklessxf.runtime.portable import (fingerprint, from_portable,
                                          pickle_records, to_portable, unpickle_records)
from stacklessxf.runtime.records import HANDOVER, UNBOUND, Slot, Unwind
from stacklessxf.runtime.trampoline import mark_transformed, run_unwound
from stacklessxf.testing import low_recursion_limit
from tests import portable_cases as cases

ROOT = Path(__file__).resolve().parent.parent
DEPTH = 200


def _take_unwinding(function, *args):
    """Call ``function`` and return the records its activations unwind into
    (innermost first) instead of resuming them.  This frame is marked as
    transformed code, so an unwinding passes into it as it passes into the
    trampoline, and it takes the records out the way the trampoline does."""
    try:
        function(*args)
    except Unwind as unwound:
        records = HANDOVER.chain[:]
        del HANDOVER.chain[:]
        unwound.origin = None
        unwound.__traceback__ = None
        return records
    raise AssertionError(f"{function.__qualname__}{args} returned without unwinding")


_take_unwinding.__code__ = mark_transformed(_take_unwinding.__code__)


def unwound_records(function, *args):
    """The records of ``function(*args)`` stopped where the interpreter's
    recursion limit (lowered to a few dozen frames) first refuses a call."""
    with low_recursion_limit(40):
        return _take_unwinding(function, *args)


def slot_values(record):
    return to_portable(record)[4]


RESUME_SCRIPT = textwrap.dedent("""
    import json, sys, traceback
    from stacklessxf.errors import StaleCodeError
    from stacklessxf.runtime.portable import unpickle_records
    from stacklessxf.runtime.trampoline import run_unwound

    printed = []
    for path in sys.argv[1:]:
        with open(path, "rb") as file:
            data = file.read()
        try:
            records = unpickle_records(data)
        except StaleCodeError as exc:
            printed.append(f"StaleCodeError: {exc}")
        else:
            try:
                printed.append(repr(run_unwound(records)))
            except BaseException:
                printed.append("resuming failed:\\n" + traceback.format_exc())
    json.dump(printed, sys.stdout)
    """)


def resume_each_in_fresh_process(paths, *import_dirs):
    """Unpickle the records in each of ``paths`` in one new interpreter,
    resume them one file after the other, and return what each gave: the
    result's repr, the StaleCodeError, or the traceback of a failure."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *map(str, import_dirs), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", RESUME_SCRIPT, *map(str, paths)],
                          capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def resume_in_fresh_process(path, *import_dirs):
    """What resuming the records in ``path`` in a new interpreter gives."""
    [printed] = resume_each_in_fresh_process([path], *import_dirs)
    return printed


def fresh_process_results(directory, cases):
    """For each ``name: (function, args)`` of ``cases``, what resuming the
    records of ``function(*args)`` gives in a fresh process; one process
    resumes them all (starting one per case costs seconds each), and each
    test checks its own case."""
    paths = []
    for number, (function, args) in enumerate(cases.values()):
        path = directory / f"records-{number}.pickle"
        path.write_bytes(pickle_records(unwound_records(function, *args)))
        paths.append(path)
    return dict(zip(cases, resume_each_in_fresh_process(paths)))


ROUND_TRIPS = {
    "locals across recursion": (cases.collect, (DEPTH,)),
    "loop iterator and bound method on the stack": (cases.loop_and_append, (DEPTH,)),
    "exception being handled": (cases.while_handling, (DEPTH,)),
    "unbound local": (cases.maybe_bound, (False, DEPTH)),
    "bound local": (cases.maybe_bound, (True, DEPTH)),
    "empty cell": (cases.late_cell, (DEPTH,)),
    "__class__ cell shared by every activation": (cases.Climber(3).climb, (DEPTH,)),
}


@pytest.mark.parametrize("function,args", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_round_trip_in_process_resumes_to_the_normal_result(function, args):
    records = unwound_records(function, *args)
    assert len(records) > 1
    copies = unpickle_records(pickle_records(records))
    assert [record[0] for record in copies] == [record[0] for record in records]
    assert run_unwound(copies) == function(*args)


def test_round_trip_in_process_gives_equal_records():
    records = unwound_records(cases.collect, DEPTH)
    assert unpickle_records(pickle_records(records)) == records


@pytest.fixture(scope="module")
def round_trips_in_a_fresh_process(tmp_path_factory):
    return fresh_process_results(tmp_path_factory.mktemp("round_trips"), ROUND_TRIPS)


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_round_trip_through_a_fresh_process(round_trips_in_a_fresh_process, name):
    function, args = ROUND_TRIPS[name]
    assert round_trips_in_a_fresh_process[name] == repr(function(*args))


def test_unbound_local_stays_unbound():
    records = unwound_records(cases.maybe_bound, False, DEPTH)
    assert slot_values(records[-1])["x"] is UNBOUND
    copies = unpickle_records(pickle_records(records))
    assert slot_values(copies[-1])["x"] is UNBOUND
    assert run_unwound(copies) == "unbound"


def test_empty_cell_stays_empty():
    records = unwound_records(cases.late_cell, DEPTH)
    cell = slot_values(unpickle_records(pickle_records(records))[-1])["later"]
    assert isinstance(cell, types.CellType)
    with pytest.raises(ValueError, match="empty"):
        cell.cell_contents


def test_a_cell_shared_by_records_comes_back_as_one_cell():
    climber = cases.Climber(3)
    records = unwound_records(climber.climb, DEPTH)
    copies = unpickle_records(pickle_records(records))
    cells = {id(slot_values(record)["__class__"]) for record in copies}
    selves = {id(slot_values(record)["self"]) for record in copies}
    assert len(copies) > 1 and len(cells) == 1 and len(selves) == 1
    cell = slot_values(copies[0])["__class__"]
    assert cell is not slot_values(records[0])["__class__"]
    assert cell.cell_contents is cases.Climber
    assert run_unwound(copies) == 3 * DEPTH


def test_a_list_shared_by_a_local_and_a_bound_method_stays_shared():
    records = unwound_records(cases.loop_and_append, DEPTH)
    values = slot_values(unpickle_records(pickle_records(records))[-1])
    bound_methods = [v for v in values.values() if isinstance(v, types.BuiltinMethodType)]
    assert len(bound_methods) == 1
    assert bound_methods[0].__self__ is values["acc"]


def test_a_cell_inside_its_own_contents_pickles():
    cell = types.CellType()
    cell.cell_contents = [cell]
    loaded = pickle.loads(pickle.dumps(cell))
    assert loaded.cell_contents[0] is loaded


def _marked_line(function):
    """The line of ``function``'s source marked ``# suspends here``."""
    lines = Path(cases.__file__).read_text().splitlines()
    start = function.__code__.co_firstlineno
    for number, line in enumerate(lines[start - 1:], start=start):
        if line.rstrip().endswith("# suspends here"):
            return number
    raise AssertionError(f"no marked line in {function.__qualname__}")


def _counting():
    yield from range(3)


def _unpicklable(kind, tmp_path):
    if kind == "generator":     # of a plain generator function
        return _counting()
    return open(tmp_path / "held.txt", "w")


@pytest.mark.parametrize("kind", ["generator", "open file"])
def test_unpicklable_local_is_named_and_records_stay_intact(tmp_path, kind):
    value = _unpicklable(kind, tmp_path)
    try:
        records = unwound_records(cases.holds, value, DEPTH)
        with pytest.raises(pickle.PicklingError) as info:
            pickle_records(records)
        message = str(info.value)
        assert "tests.portable_cases.holds" in message
        assert f"line {_marked_line(cases.holds)} " in message
        assert "'value'" in message
        assert run_unwound(records) is value
    finally:
        if kind == "open file":
            value.close()


def test_nested_function_holding_a_shared_cell_pickles_by_value():
    """The live nested function shares the ``count`` cell with the record,
    and still does after loading."""
    records = unwound_records(cases.counted, DEPTH)
    values = slot_values(records[-1])
    assert values["bump"].__closure__[0] is values["count"]
    copies = unpickle_records(pickle_records(records))
    values = slot_values(copies[-1])
    assert values["bump"].__closure__[0] is values["count"]
    assert run_unwound(copies) == 2


def test_records_of_a_nested_stackless_function_resume():
    @stackless
    def nested(n):
        return cases.deep(n) is None

    records = unwound_records(nested, DEPTH)
    copies = unpickle_records(pickle_records(records))
    assert run_unwound(copies) is True
    assert from_portable(to_portable(records[-1])) == records[-1]


def _portable_collect_record():
    return to_portable(unwound_records(cases.collect, DEPTH)[-1])


def test_missing_module_is_an_import_error():
    form = ("tests.no_such_module",) + _portable_collect_record()[1:]
    with pytest.raises(ImportError, match=r"tests\.no_such_module\.collect") as info:
        from_portable(form)
    assert info.value.name == "tests.no_such_module"


def test_missing_function_is_a_lookup_error():
    module, _, *rest = _portable_collect_record()
    with pytest.raises(LookupError, match=r"tests\.portable_cases\.gone"):
        from_portable((module, "gone", *rest))


def test_function_that_is_no_longer_stackless_is_stale():
    module, _, *rest = _portable_collect_record()
    with pytest.raises(StaleCodeError, match=r"tests\.portable_cases\.note"):
        from_portable((module, "note", *rest))


def test_other_slot_names_are_stale():
    module, qualname, stamp, site_name, values = _portable_collect_record()
    renamed = {"renamed": value for value in values.values()}
    with pytest.raises(StaleCodeError, match="collect"):
        from_portable((module, qualname, stamp, site_name, renamed))


def test_unknown_resume_point_is_stale():
    module, qualname, stamp, _, values = _portable_collect_record()
    with pytest.raises(StaleCodeError, match="rp9"):
        from_portable((module, qualname, stamp, "rp9", values))


_SOUND_VALUES = {Slot.EXCEPTION: ValueError("sound"), Slot.ITERATOR: iter(())}


def test_every_resume_site_has_its_own_portable_name():
    """The finally body is compiled twice, so its plain call appears twice;
    the copies have names of their own."""
    info = cases.with_finally.__stackless__
    resume_sites = [rs for site in info.sites for rs in (site.normal, site.retry)
                    if rs is not None]
    assert any(site.copy for site in info.sites)
    names = set()
    for resume_site in resume_sites:
        # None where any value does; what the resumed code needs elsewhere.
        record = (resume_site.number, *[_SOUND_VALUES.get(slot.need) for slot in resume_site.slots])
        form = to_portable(record)
        names.add(form[3])
        assert from_portable(form) == record
    assert len(names) == len(resume_sites)


def test_fingerprint_leaves_the_interpreter_version_out(monkeypatch):
    # Records name what every version's code has alike, so another version
    # may resume them: its fingerprint must be the same.
    info = cases.collect.__stackless__
    here = fingerprint(info)
    monkeypatch.setattr(portable, "_layouts", {})
    monkeypatch.setattr(portable, "INTERPRETER", "cpython-3.99")
    monkeypatch.setattr(portable.values, "INTERPRETER", "cpython-3.99")
    assert fingerprint(info) == here


def test_fingerprints_are_short_hex_and_differ_between_functions():
    one = fingerprint(cases.collect.__stackless__)
    assert one == fingerprint(cases.collect.__stackless__)
    assert len(one) == 16 and int(one, 16) >= 0
    assert one != fingerprint(cases.deep.__stackless__)


STALE_MODULE = textwrap.dedent("""\
    from stacklessxf import stackless


    @stackless
    def deep(k):
        if k == 0:
            return 0
        return deep(k - 1)


    @stackless
    def target(n):
        helper(n)
        return deep(n) + n + 1


    def helper(value):
        return value
    """)

EDITS = {
    "unchanged": (lambda text: text, None),
    "function added at the end": (
        lambda text: text + "\n\ndef more():\n    return 1\n", None),
    "body changed": (lambda text: text.replace("n + 1", "n + 2"), "target"),
    "moved down a line": (lambda text: "# first line\n" + text, "deep"),
    # helper's call is guarded (a resume point) while helper is plain, so
    # target's records mean the same when helper becomes stackless.
    "callee became stackless": (
        lambda text: text.replace("def helper", "@stackless\ndef helper"), None),
    "plain callee added": (
        lambda text: text.replace("    helper(n)\n", "    helper(n)\n    helper(n)\n"),
        "target"),
}


def resumed_after_an_edit(tmp_path, monkeypatch, prefix, text, edit):
    """Import ``text`` as a module of its own, pickle the records its
    ``target`` unwinds into ``DEPTH`` deep, apply ``edit`` to its source and
    resume them in a fresh process: (the module's name, what it printed)."""
    name = prefix + re.sub(r"\W", "_", tmp_path.name)
    source = tmp_path / f"{name}.py"
    source.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(name)
        records = unwound_records(module.target, DEPTH)
    finally:
        sys.modules.pop(name, None)
    path = tmp_path / "records.pickle"
    path.write_bytes(pickle_records(records))
    source.write_text(edit(text))
    return name, resume_in_fresh_process(path, tmp_path)


@pytest.mark.parametrize("edit,stale", EDITS.values(), ids=EDITS.keys())
def test_edited_source_is_stale_in_a_fresh_process(tmp_path, monkeypatch, edit, stale):
    name, printed = resumed_after_an_edit(tmp_path, monkeypatch, "portable_edit_", STALE_MODULE,
                                          edit)
    if stale is None:
        assert printed == repr(DEPTH + 1)
    else:
        assert printed.startswith("StaleCodeError:")
        assert f"{name}.{stale} " in printed
