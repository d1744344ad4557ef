"""What pickling a suspended tasklet costs, counted rather than timed: the
names its pickle looks up, the probes and resolutions it makes, its size;
and that what is kept from one pickle for the next never resumes into
anything but the code the records were saved from."""

import os
import pickle
import pickletools
import subprocess
import sys
import threading
import types

import pytest

import stacklessxf as sx
from stacklessxf.errors import StaleCodeError
from stacklessxf.runtime import portable, values

DEPTH = 10


@sx.stackless
def _descend(levels):
    trail = [levels, "x"]
    if levels == 1:
        sx.schedule()
        return 1
    return _descend(levels - 1) + len(trail) - 1


@sx.stackless
def _other(levels):
    sx.schedule()
    return levels


def _suspended(n):
    tasks = [sx.tasklet(_descend)(DEPTH) for _ in range(n)]
    sx.schedule()
    for task in tasks:
        task.remove()
    return tasks


def _finish(tasks):
    for task in tasks:
        task.insert()
    sx.run()
    assert all(task.tempval == DEPTH for task in tasks)


def _names_looked_up(blob):
    """(module, name) of each global the pickle ``blob`` loads by name."""
    memo, pushed, found = [], [], []
    for opcode, arg, _ in pickletools.genops(blob):
        if opcode.name == "MEMOIZE":
            memo.append(pushed[-1] if pushed else None)
        elif opcode.name in ("BINGET", "LONG_BINGET"):
            pushed.append(memo[arg])
        elif opcode.name == "STACK_GLOBAL":
            found.append(tuple(pushed[-2:]))
            pushed.append(None)
        elif opcode.name == "GLOBAL":
            found.append(tuple(arg.split(" ", 1)))
            pushed.append(None)
        elif opcode.stack_after:
            pushed.append(arg if isinstance(arg, str) else None)
    return found


def test_a_tasklet_pickle_looks_up_its_class_only():
    """Each name costs a lookup when the pickle is saved and another when it
    is loaded: the tasklet's function and its records are in its state."""
    task, = _suspended(1)
    names = _names_looked_up(pickle.dumps(task))
    assert names == [(type(task).__module__, type(task).__qualname__)]
    _finish([task])


def test_a_tasklet_pickle_takes_at_most_60_bytes_a_frame():
    task, = _suspended(1)
    blob = pickle.dumps(task)
    assert len(blob) <= 60 * len(task.frames), len(blob)
    _finish([task])


def test_pickling_tasklets_again_makes_no_new_probe(monkeypatch):
    made = []

    class CountedProbe(values._Probe):
        def __init__(self, *args):
            made.append(self)
            super().__init__(*args)

    tasks = _suspended(5)
    pickle.dumps(tasks[0])
    monkeypatch.setattr(values, "_Probe", CountedProbe)
    blobs = [pickle.dumps(task) for task in tasks]
    assert made == []
    _finish([pickle.loads(blob) for blob in blobs])
    _finish(tasks)


def test_loading_tasklets_of_one_shape_resolves_their_table_once(monkeypatch):
    resolved = []
    resolve = portable._resolve

    def counted(entry, foreign):
        resolved.append(entry)
        return resolve(entry, foreign)

    monkeypatch.setattr(portable, "_resolve", counted)
    monkeypatch.setattr(portable, "_resolutions", {})
    monkeypatch.setattr(portable._PlainTable, "_known", {})
    tasks = _suspended(5)
    blobs = [pickle.dumps(task) for task in tasks]
    loaded = [pickle.loads(blob) for blob in blobs]
    assert len(resolved) == len(portable.PortableStack(tasks[0]._stack).table)
    _finish(loaded)
    _finish(tasks)


def test_a_known_table_whose_function_was_replaced_is_resolved_again(monkeypatch):
    task, = _suspended(1)
    blob = pickle.dumps(task)
    _finish([pickle.loads(blob)])
    monkeypatch.setitem(globals(), "_descend", _other)
    with pytest.raises(StaleCodeError, match="_descend"):
        pickle.loads(blob)
    monkeypatch.undo()
    _finish([pickle.loads(blob), task])


def test_rows_that_do_not_fit_a_known_table_are_refused():
    task, = _suspended(1)
    stack = portable.PortableStack(task._stack)
    table, rows = stack.table, stack.rows
    assert portable.load_stack(table, rows) == list(rows)     # now known
    too_long = rows[:1] + (rows[1] + ("extra",),) + rows[2:]
    with pytest.raises(pickle.UnpicklingError, match="holds 2 values instead of 1"):
        portable.load_stack(table, too_long)
    with pytest.raises(pickle.UnpicklingError, match="not a pickled record"):
        portable.load_stack(table, rows[:1] + ((),) + rows[2:])
    with pytest.raises(pickle.UnpicklingError, match="not a pickled record"):
        portable.load_stack(table, rows[:1] + ([*rows[1]],) + rows[2:])
    unknown = max(table) + 1000
    with pytest.raises(pickle.UnpicklingError, match="not a pickled record"):
        portable.load_stack(table, rows[:1] + ((unknown, *rows[1][1:]),) + rows[2:])


def test_a_site_number_that_is_not_an_int_comes_back_as_the_site_itself():
    task, = _suspended(1)
    stack = portable.PortableStack(task._stack)
    table, rows = stack.table, stack.rows
    portable.load_stack(table, rows)
    as_float = tuple((float(row[0]), *row[1:]) for row in rows)
    loaded = portable.load_stack(table, as_float)
    assert loaded == list(rows)
    assert all(type(record[0]) is int for record in loaded)
    _finish([task])


# -- the C check that records pickle as they are ------------------------------

def _module_level():
    pass


def _nested():
    def inner():
        pass
    return inner


class _Point(tuple):
    pass


_VALUES = [None, True, 3, 2**100, 1.5, 2j, "s", b"b", range(3), ..., NotImplemented,
           [1, "x"], (1, None), [], (), [[1]], ([],), {"a": 1}, {1}, _module_level,
           _nested(), lambda: 1, len, _Point((1,)), sx.channel(), object(), types.CellType(1),
           iter([1]), (x for x in ()), threading.Lock()]


@pytest.mark.skipif(values._plain_records is None,
                    reason="the C extension _stacklessxf_switch is not built")
@pytest.mark.parametrize("value", _VALUES, ids=lambda value: type(value).__name__)
def test_the_c_check_says_plain_only_where_the_probe_does(value):
    opaque = (sx.channel,)
    records = ((7, value),)
    if values._plain_records(records, opaque):
        assert values.probe_needs_nothing(records, opaque)


@pytest.mark.skipif(values._plain_records is None,
                    reason="the C extension _stacklessxf_switch is not built")
def test_the_c_check_answers_for_the_usual_values_and_leaves_the_rest_to_the_probe():
    plain = values._plain_records
    assert plain(((7, None, 3, "s", [1, "x"], (2.5,), _module_level, sx.channel()),),
                 (sx.channel,))
    for value in (lambda: 1, _nested(), [[1]], {"a": 1}, sx.channel(), types.CellType(1)):
        assert not plain(((7, value),), ())
    assert not plain((_Point((7,)),), ())
    with pytest.raises(TypeError):
        plain([(7,)], ())
    with pytest.raises(TypeError):
        plain(((7,),), ("not a type",))


@pytest.mark.skipif(values._plain_records is None,
                    reason="the C extension _stacklessxf_switch is not built")
def test_tasklets_holding_the_usual_values_pickle_without_the_probe(monkeypatch):
    dumped = []

    class CountedProbe(values._Probe):
        def dump(self, obj):
            dumped.append(obj)
            return super().dump(obj)

    monkeypatch.setattr(values, "_Probe", CountedProbe)
    monkeypatch.setattr(values, "_idle_probes", [])
    tasks = _suspended(3)
    blobs = [pickle.dumps(task) for task in tasks]
    assert dumped == []
    _finish([pickle.loads(blob) for blob in blobs])
    _finish(tasks)


_LENGTHS = {3: 2, 5: 1}
_ROWS = [((3, "a"), (5,)), ((3, "a", "b"),), ((),), ([3, "a"],), ((3.0, "a"),), ((True, "a"),),
         ((7, "a"),), (_Point((5,)),), ((5,), (3, None)), ()]


@pytest.mark.skipif(portable._rows_fit is portable._rows_fit_here,
                    reason="the C extension _stacklessxf_switch is not built")
@pytest.mark.parametrize("rows", _ROWS, ids=repr)
def test_the_c_rows_check_agrees_with_the_loop(rows):
    assert portable._rows_fit(rows, _LENGTHS) == portable._rows_fit_here(rows, _LENGTHS)


WITHOUT_THE_EXTENSION = """
import sys
sys.modules["_stacklessxf_switch"] = None
import pickle
from stacklessxf.runtime import portable, values
from tests import test_pickle_cost as cases
assert values._plain_records is None and portable._rows_fit is portable._rows_fit_here
tasks = cases._suspended(3)
loaded = [pickle.loads(pickle.dumps(task)) for task in tasks]
cases._finish(loaded)
cases._finish(tasks)
print(len(loaded))
"""


def test_tasklets_pickle_without_the_extension():
    done = subprocess.run([sys.executable, "-c", WITHOUT_THE_EXTENSION], capture_output=True,
                          text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3"]
