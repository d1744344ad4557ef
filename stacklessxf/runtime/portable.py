"""The portable form of records, and pickling in that form.

A record names its resume point by a site number that only means something
in the process that made it.  Its portable form names everything by what
survives a restart::

    (module, qualname, fingerprint, resume point name, {slot name: value})

``from_portable`` turns that back into a record of the current process,
after checking that the function's code is the code the record was made
from: the same source text at the same place in its file, the same resume
points, and the same interpreter version (records hold interpreter-level
value-stack layouts).  Changed code is a :class:`StaleCodeError`, never a
resume into something else.

``pickle_records``/``unpickle_records`` pickle a list of records in that form.
Closure cells pickle too (empty ones included), and a cell that several
records share comes back as one cell.  Everything else in a record pickles by
pickle's own rules; unpickling runs ``from_portable`` and so imports the
modules the records belong to (unpickle only data you trust, as always with
pickle).

Lookup failures: a module that cannot be imported is an ``ImportError``; a
function that is not found by its qualified name (including functions
defined inside other functions, which no name reaches, and functions of a
``__main__`` other than the script that saved them) is a ``LookupError``.
A tasklet's own function goes through the same lookup (:func:`by_name`).
"""

import copyreg
import importlib
import io
import pickle
import sys
import types

from ..errors import StaleCodeError
from . import specials
from .records import SITES, Slot

_INTERPRETER = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"

_SLOT_WHAT = {
    Slot.LOCAL: "local variable",
    Slot.CELL: "variable",
    Slot.STACK: "intermediate value",
    Slot.HANDLED: "exception being handled",
}


# -- what each stackless function's records look like ----------------------

class _Layout:
    """One function's resume sites by portable name (those of the plain
    variant first, then the watchdog variant's own), and the fingerprint of
    the function's code."""

    def __init__(self, info):
        self.fingerprint = _compute_fingerprint(info)
        self.site_named = {}
        for call_site in info.all_sites():
            for resume_site in (call_site.normal, call_site.retry):
                if resume_site is not None:
                    self.site_named.setdefault(resume_site.name, resume_site)


# FunctionInfo objects live as long as the process (their resume sites are
# in SITES), so holding them here keeps nothing alive that would not be.
_layouts = {}


def _layout(info):
    layout = _layouts.get(info)
    if layout is None:
        layout = _layouts[info] = _Layout(info)
    return layout


def _compute_fingerprint(info):
    """Hash of the function's source text, the line it starts at (resume
    points of plain calls are named by their position in the file), its
    resume points (which calls may unwind depends on other functions too),
    and the interpreter version."""
    parts = [_INTERPRETER, str(info.funcdef.fromlineno), _source_text(info.funcdef)]
    parts += [f"{point.id}@{point.span}" for point in info.analysis.resume_points]
    import hashlib   # here: it takes as long to import as the rest of the runtime
    digest = hashlib.sha256("\n".join(parts).encode("utf-8"))
    return digest.hexdigest()[:16]


def _source_text(funcdef):
    """The exact lines of ``funcdef`` from its ``def`` to its last line
    (comments and layout included; decorators left out)."""
    # The text the transform parsed, not the file as it is now: the file may
    # have been edited since the function was imported.
    text = funcdef.root().file_bytes.decode("utf-8")
    lines = io.StringIO(text, newline=None).readlines()
    return "".join(lines[funcdef.fromlineno - 1:funcdef.end_lineno])


def fingerprint(function_info):
    """A short hex digest that changes whenever the code of the function
    ``function_info`` describes changes (or the interpreter version does)."""
    return _layout(function_info).fingerprint


# -- the portable form -----------------------------------------------------

def to_portable(record):
    """``(module, qualname, fingerprint, resume point name, {slot: value})``."""
    site = SITES[record[0]]
    info = site.function_info
    layout = _layout(info)
    values = {slot.name: value for slot, value in zip(site.slots, record[1:])}
    return (info.module, info.qualname, layout.fingerprint, site.name, values)


def from_portable(portable):
    """The record of the current process that ``portable`` describes."""
    module, qualname, expected, site_name, values = portable
    info = _find_function_info(module, qualname)
    layout = _layout(info)
    if layout.fingerprint != expected:
        raise StaleCodeError(
            f"the code of {module}.{qualname} has changed since its records "
            "were saved (or they were saved by another Python version); they "
            "cannot be resumed", module, qualname)
    if info.native is not None:
        site = info.native.site_for_portable(site_name, values)
    else:
        site = layout.site_named.get(site_name)
    if site is None or {slot.name for slot in site.slots} != set(values):
        raise StaleCodeError(
            f"{module}.{qualname} has no resume point {site_name} saving "
            f"{sorted(values)}; its records come from other code", module, qualname)
    record = (site.number, *[values[slot.name] for slot in site.slots])
    check_record(record)
    return record


def check_record(record):
    """Raise ``pickle.UnpicklingError`` unless ``record`` is a record of this
    process whose values are what its resume entry relies on them being:
    the interpreter trusts a ``for`` loop's iterator or an exception it
    re-raises to be one, and would crash on anything else.  Records that come from outside (a pickle) are checked
    before anything resumes them."""
    if not isinstance(record, tuple) or not record or type(record[0]) is not int \
            or not 0 <= record[0] < len(SITES):
        raise pickle.UnpicklingError(f"not a record of a stackless function: {record!r:.200}")
    site = SITES[record[0]]
    if len(record) != len(site.slots) + 1:
        raise pickle.UnpicklingError(
            f"a record of {site.function_info.qualname} at {site.name} holds "
            f"{len(record) - 1} values instead of {len(site.slots)}")
    for slot, value in zip(site.slots, record[1:]):
        if not _holds_what_is_needed(slot, value):
            need = "closure cell" if slot.kind == Slot.CELL else slot.need
            raise pickle.UnpicklingError(_describe_slot(
                site, slot, value, f"the resumed code needs: {need}", verb="is not usable"))


def _holds_what_is_needed(slot, value):
    if slot.kind == Slot.CELL:
        return isinstance(value, types.CellType)
    need = slot.need
    if need is None:
        return True
    if need == Slot.ITERATOR:
        return callable(getattr(type(value), "__next__", None))
    if need == Slot.EXCEPTION:
        return isinstance(value, BaseException)
    return (value is None and need == Slot.EXCEPTION_OR_NONE) or \
        isinstance(value, BaseException)


def _find_function_info(module_name, qualname):
    module = _import(module_name, qualname)
    function = _walk_qualname(module, module_name, qualname)
    info = getattr(function, "__stackless__", None)
    if info is None:
        info = getattr(getattr(function, "__func__", None), "__stackless__", None)
    if info is None or (info.module, info.qualname) != (module_name, qualname):
        raise StaleCodeError(
            f"{module_name}.{qualname} is no longer the stackless function its "
            "records were saved from", module_name, qualname)
    return info


def _import(module_name, qualname):
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"cannot resume records of {module_name}.{qualname}: "
                          f"importing {module_name} failed: {exc}",
                          name=module_name) from exc


def _walk_qualname(module, module_name, qualname):
    if "<locals>" in qualname.split("."):
        raise LookupError(_nested_function_message(module_name, qualname))
    found = module
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise LookupError(_not_found_message(module, module_name, qualname)) from None
    return found


def _not_found_message(module, module_name, qualname):
    message = f"cannot resume records of {module_name}.{qualname}: "
    if module_name != "__main__":
        return message + f"module {module_name} has no {qualname}"
    # The script that saved them is not the one running now.
    script = getattr(module, "__file__", None) or "the interactive prompt"
    return message + (
        f"__main__ is now {script}, which has no {qualname}; a function of the "
        "script run as __main__ is found again only by that script, so define "
        "it in an importable module")


def find_function(module_name, qualname):
    """The function named ``qualname`` in ``module_name``, or the
    ImportError or LookupError that a record of it would raise."""
    return _walk_qualname(_import(module_name, qualname), module_name, qualname)


class FunctionByName:
    """Pickles a module-level function by name, as pickle does, but looks it
    up again with :func:`find_function`, whose errors say what is missing."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __reduce__(self):
        return find_function, (self.function.__module__, self.function.__qualname__)


def by_name(function):
    """``function`` wrapped in a FunctionByName when pickle would store it by
    name; anything else as it is, for pickle's own rules (and errors)."""
    if not isinstance(function, types.FunctionType):
        return function
    module = sys.modules.get(function.__module__)
    try:
        found = _walk_qualname(module, function.__module__, function.__qualname__)
    except LookupError:
        return function
    return FunctionByName(function) if found is function else function


def _nested_function_message(module_name, qualname):
    return (f"cannot resume records of {module_name}.{qualname}: it is defined "
            "inside another function, so no name reaches it from its module")


# -- pickling --------------------------------------------------------------

class PortableRecord:
    """Wraps a record so that pickle stores its portable form; unpickling
    gives back the record itself (made for the unpickling process)."""

    __slots__ = ("record",)

    def __init__(self, record):
        info = SITES[record[0]].function_info
        if not specials.is_special(SITES[record[0]]) and "<locals>" in info.qualname.split("."):
            raise pickle.PicklingError(
                _nested_function_message(info.module, info.qualname))
        self.record = record

    def __reduce__(self):
        if specials.is_special(SITES[self.record[0]]):
            # A special record names its kind, not a function.
            return specials.from_portable, specials.to_portable(self.record)
        return from_portable, (to_portable(self.record),)


def _new_cell(*contents):
    return types.CellType(*contents)


def _reduce_cell(cell):
    # Pickle's memo makes a cell reached twice one cell when loaded, and
    # copes with a cell reached again from inside its own contents.
    try:
        return _new_cell, (cell.cell_contents,)
    except ValueError:  # an empty cell
        return _new_cell, ()


# Records hold closure cells; pickle cannot handle them by itself.
copyreg.pickle(types.CellType, _reduce_cell)


def pickle_records(records):
    """Pickle a list of records in their portable form.

    A value that cannot be pickled raises ``pickle.PicklingError`` naming the
    function, the line it is suspended at and the slot holding the value;
    the records themselves are never changed.
    """
    wrapped = [PortableRecord(record) for record in records]
    try:
        return pickle.dumps(wrapped)
    except Exception as exc:
        culprit = find_unpicklable_slot(records)
        if culprit is None:
            raise
        raise culprit from exc


def unpickle_records(data):
    """The records pickled by :func:`pickle_records`, for this process."""
    return pickle.loads(data)


def find_unpicklable_slot(records, opaque=()):
    """A PicklingError describing the first slot value of ``records`` that
    cannot be pickled on its own, or None.  Objects of the ``opaque`` types
    (tasklets, channels: they check their own contents when pickled) are not
    looked into."""
    for record in records:
        site = SITES[record[0]]
        for slot, value in zip(site.slots, record[1:]):
            try:
                _SlotChecker(io.BytesIO(), opaque).dump(value)
            except Exception as exc:
                return pickle.PicklingError(_describe_slot(site, slot, value, exc))
    return None


class _SlotChecker(pickle.Pickler):
    def __init__(self, file, opaque):
        super().__init__(file)
        self.opaque = opaque

    def persistent_id(self, obj):
        return id(obj) if self.opaque and isinstance(obj, self.opaque) else None


def _describe_slot(site, slot, value, error, verb="cannot be pickled"):
    info = site.function_info
    line = site.lineno
    doing = "pickle" if verb == "cannot be pickled" else "load"
    why = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return (f"cannot {doing} the record of {info.module}.{info.qualname} suspended "
            f"at line {line} of {info.filename}: {_SLOT_WHAT[slot.kind]} "
            f"{slot.name!r} holds a value of type {type(value).__name__} that "
            f"{verb} ({why})")
