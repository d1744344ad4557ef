"""The portable form of records, and pickling in that form.

A record names its resume point by a site number that only means something
in the process that made it.  Its portable form names everything by what
survives a restart::

    (module, qualname, fingerprint, resume point name, {slot name: value})

``from_portable`` turns that back into a record of the current process,
after checking that the function's code is the code the record was made
from: the same source text at the same place in its file and the same
resume points.  Changed code is a :class:`StaleCodeError`, never a resume
into something else.  Nothing in the portable form is particular to one
Python version: slots are named by the variables they hold and, for values
pending on the value stack, by their order there; a watchdog tick's record
is named by what it means too (see _portable_name), so records saved under
one supported CPython version resume under another.  Where the two versions
keep different records (see docs/tasklets.md) loading is refused with a
``StaleCodeError`` naming both versions and the reason.

``pickle_records``/``unpickle_records`` pickle a list of records in that
form, and a tasklet pickles its records with :func:`portable_stack`.  The
values go through ``values.Substitution``: nested functions, lambdas and
closures pickle by value, closure cells (empty ones included) and
exceptions' causes and contexts come along, and a cell or any other object
that several records share comes back as one.  Unpickling runs
``from_portable`` and so imports the modules the records belong to
(unpickle only data you trust, as always with pickle).

Lookup failures: a module that cannot be imported is an ``ImportError``; a
function that is not found by its qualified name (or, for a function
defined inside another function, inside that function; or a function of a
``__main__`` other than the script that saved them) is a ``LookupError``.
A tasklet's own function goes through the same lookup (:func:`by_name`).
"""

import copyreg
import importlib
import io
import operator
import pickle
import sys
import types

from ..errors import StaleCodeError
from ..versions import current as version
from . import specials, values
from .records import SITES, UNBOUND, Slot

INTERPRETER = values.INTERPRETER

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
        # How many copies of each call's code the compiler made.
        self.copies = {}
        for call_site in info.all_sites():
            for resume_site in (call_site.normal, call_site.retry):
                if resume_site is not None:
                    self.site_named.setdefault(resume_site.name, resume_site)
                    self.copies[resume_site.site_name] = max(
                        self.copies.get(resume_site.site_name, 1), resume_site.copy + 1)

    def copies_of(self, site):
        """How many copies of ``site``'s call the compiler made."""
        return self.copies.get(site.site_name, 1)

    def site_meaning(self, meaning, names):
        """The site whose records mean ``meaning`` (see _meaning_of) and can
        be made from a record saving the slots ``names``; None if there is
        none."""
        place, _, test = meaning.partition(" ")
        for site in self._sites_meaning(place):
            keeps_test = site.same_as is not None and site.same_as[2]
            own = tuple(slot.name for slot in site.slots)
            if test and not keeps_test:
                # Going to the head evaluates the test again: its value,
                # the last item saved from the value stack, is dropped.
                test_value = _last_stack_index(names)
                if test_value is None:
                    continue
                wanted = names[:test_value] + names[test_value + 1:]
            elif keeps_test and not test:
                continue
            else:
                wanted = names
            if set(own) == set(wanted):
                return site
        return None

    def _sites_meaning(self, place):
        if place != "entry" and place in self.site_named:
            yield self.site_named[place]          # the loop's own resume site
        for site in self.site_named.values():
            if site.same_as is not None and \
                    (site.same_as[1] or "entry") == place:
                yield site


def _last_stack_index(names):
    stack = [i for i, name in enumerate(names) if name.startswith("$stack")]
    return max(stack, key=lambda i: int(names[i][len("$stack"):]), default=None)


def _portable_name(site, copies):
    """A site's name in the portable form: its own name, then, for a
    watchdog tick that has one, `` = `` its meaning (see _meaning_of), then,
    where the compiler made ``copies`` copies of its call's code (a
    ``finally`` body, a comprehension), `` & copies `` and that number,
    then, where it saves closure cells, `` & cells `` and their names."""
    name = site.name
    if site.same_as is not None:
        name += f" = {_meaning_of(site)}"
    if copies > 1:
        name += f" & copies {copies}"
    cells = [slot.name for slot in site.slots if slot.kind == Slot.CELL]
    if cells:
        name += " & cells " + ",".join(cells)
    return name


def _parse_name(portable_name):
    """(own name, meaning or '', the number of copies of its call's code,
    names saved as closure cells)."""
    rest, _, cells = portable_name.partition(" & cells ")
    rest, _, copies = rest.partition(" & copies ")
    own, _, meaning = rest.partition(" = ")
    return (own, meaning, int(copies) if copies.isdigit() else 1,
            frozenset(cells.split(",")) if cells else frozenset())


def _meaning_of(site):
    """What a record of a watchdog tick means, in words another Python
    version can resume it by: ``loop@L:C`` (go to that loop's head), with
    `` +test`` when the record also holds the value of the loop's test
    just evaluated, or ``entry`` (the function's start).  A tick's own
    name is the place of an instruction, which versions place differently."""
    kind, loop, keeps_test = site.same_as
    return (loop if kind == "loop" else "entry") + (" +test" if keeps_test else "")


# FunctionInfo objects live as long as the process (their resume sites are
# in SITES), so holding them here keeps nothing alive that would not be.
_layouts = {}


def _layout(info):
    layout = _layouts.get(info)
    if layout is None:
        layout = _layouts[info] = _Layout(info)
    return layout


def _compute_fingerprint(info, enter_keeps_exit=None):
    """Hash of the function's source text, the line it starts at (resume
    points of plain calls are named by their position in the file), its
    and its resume points (which calls may unwind depends on other
    functions too); not the Python version, which records do not depend on
    -- but for a function with a ``with`` block, whether the version keeps
    the manager's ``__exit__`` (default: this version's way)."""
    if enter_keeps_exit is None:
        enter_keeps_exit = version.ENTER_KEEPS_EXIT
    parts = [str(info.funcdef.fromlineno), _source_text(info.funcdef)]
    if not enter_keeps_exit and _has_with(info.funcdef.body):
        # A record inside a ``with`` block holds the manager here, its
        # ``__exit__`` where the version keeps that: they do not mix.
        parts.append("with keeps the manager")
    parts += [f"{point.id}@{point.span}" for point in info.analysis.resume_points]
    import hashlib   # here: it takes as long to import as the rest of the runtime
    digest = hashlib.sha256("\n".join(parts).encode("utf-8"))
    return digest.hexdigest()[:16]


def _kept_by_other_with_blocks(info, stamp):
    """Whether ``stamp`` is the fingerprint of ``info``'s code under the
    versions that keep the other value of a ``with`` block."""
    return _has_with(info.funcdef.body) and \
        stamp == _compute_fingerprint(info, not version.ENTER_KEEPS_EXIT)


def _has_with(statements):
    kinds = ("With", "AsyncWith")
    pending = list(statements)
    while pending:
        node = pending.pop()
        if type(node).__name__ in kinds:
            return True
        if type(node).__name__ not in ("FunctionDef", "AsyncFunctionDef", "ClassDef", "Lambda"):
            pending.extend(node.get_children())
    return False


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
    ``function_info`` describes changes."""
    return _layout(function_info).fingerprint


# -- the portable form -----------------------------------------------------

def to_portable(record):
    """``(module, qualname, fingerprint, resume point name, {slot: value})``."""
    site = SITES[record[0]]
    module, qualname, stamp, site_name, names = _table_entry(site)
    return (module, qualname, stamp, site_name, dict(zip(names, record[1:])))


def from_portable(portable):
    """The record of the current process that ``portable`` describes."""
    module, qualname, expected, site_name, values_by_name = portable
    site = _site_for(module, qualname, expected, site_name, values_by_name)
    record = (site.number, *[values_by_name[slot.name] for slot in site.slots])
    check_record(record)
    return record


def _site_for(module, qualname, expected, site_name, values_by_name, foreign=False):
    """The site a record of ``site_name`` saving ``values_by_name`` resumes
    at; ``foreign`` when it was saved by another Python version, whose
    watchdog ticks are found by what they mean."""
    info = _find_function_info(module, qualname, expected)
    layout = _layout(info)
    if layout.fingerprint != expected:
        if foreign and _kept_by_other_with_blocks(info, expected):
            raise StaleCodeError(
                f"{module}.{qualname} has a with block, whose records hold the context "
                "manager under CPython 3.12 and later and its __exit__ under 3.11; they "
                "do not resume across that line", module, qualname)
        raise _stale(module, qualname)
    own, meaning, copies, _ = _parse_name(site_name)
    if foreign and own.startswith("tick@"):
        site = layout.site_meaning(meaning, tuple(values_by_name)) if meaning else None
        if site is None:
            raise StaleCodeError(
                f"{module}.{qualname} was interrupted by the watchdog at {own}"
                f"{f' (meaning {meaning})' if meaning else ''}, a place this version's "
                "code has no counterpart of", module, qualname)
        return site
    if info.native is not None:
        site = info.native.site_for_portable(own, values_by_name)
    else:
        site = layout.site_named.get(own)
    if site is None or {slot.name for slot in site.slots} != set(values_by_name):
        raise StaleCodeError(
            f"{module}.{qualname} has no resume point {own} saving "
            f"{sorted(values_by_name)}; its records come from other code", module, qualname)
    copies_here = layout.copies_of(site)
    if foreign and copies != copies_here:
        # Which copy is which is the compiler's choice.
        raise StaleCodeError(
            f"{module}.{qualname} was saved at {own}, in one of {copies} copies the "
            f"compiler made of that call's code, and this version makes {copies_here}: "
            "a place this version's code has no counterpart of", module, qualname)
    return site


def _stale(module, qualname):
    return StaleCodeError(
        f"the code of {module}.{qualname} has changed since its records "
        "were saved; they cannot be resumed", module, qualname)


# Per site number: the length of its records and the (1-based) positions
# and slots that check_record looks at.
_shapes = {}


def check_record(record):
    """Raise ``pickle.UnpicklingError`` unless ``record`` is a record of this
    process whose values are what its resume entry relies on them being:
    the interpreter trusts a ``for`` loop's iterator or an exception it
    re-raises to be one, and would crash on anything else.  Records that
    come from outside (a pickle) are checked before anything resumes them."""
    if type(record) is not tuple or not record or type(record[0]) is not int:
        raise pickle.UnpicklingError(f"not a record of a stackless function: {record!r:.200}")
    shape = _shapes.get(record[0])
    if shape is None:
        shape = _shape(record)
    length, checked = shape
    if len(record) != length:
        site = SITES[record[0]]
        raise pickle.UnpicklingError(
            f"a record of {site.function_info.qualname} at {site.name} holds "
            f"{len(record) - 1} values instead of {len(site.slots)}")
    for position, slot in checked:
        value = record[position]
        if not _holds_what_is_needed(slot, value):
            need = "closure cell" if slot.kind == Slot.CELL else slot.need
            raise pickle.UnpicklingError(_describe_slot(
                SITES[record[0]], slot, value, f"the resumed code needs: {need}",
                verb="is not usable"))


def _shape(record):
    if not 0 <= record[0] < len(SITES):
        raise pickle.UnpicklingError(f"not a record of a stackless function: {record!r:.200}")
    slots = SITES[record[0]].slots
    shape = _shapes[record[0]] = (len(slots) + 1, tuple(
        (position, slot) for position, slot in enumerate(slots, 1)
        if slot.kind == Slot.CELL or slot.need is not None))
    return shape


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


def _find_function_info(module_name, qualname, expected=None):
    if "<locals>" in qualname.split("."):
        return _find_nested_function_info(module_name, qualname, expected)
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


def _find_nested_function_info(module_name, qualname, expected):
    """A stackless function defined inside another function: its code is
    found inside the enclosing one (several functions of one name may be
    defined there; the fingerprint tells which) and made stackless here
    if this process has not done so yet."""
    try:
        codes = values.find_codes(module_name, qualname)
    except ImportError as exc:
        raise ImportError(f"cannot resume records of {module_name}.{qualname}: {exc}",
                          name=module_name) from exc
    if not codes:
        raise LookupError(f"cannot resume records of {module_name}.{qualname}: no "
                          "function of that name is defined there now")
    for code in codes:
        info = values.stackless_info_for_code(code, module_name)
        if expected is None or _layout(info).fingerprint == expected:
            return info
    raise _stale(module_name, qualname)


def _import(module_name, qualname):
    module = sys.modules.get(module_name)
    if module is not None:
        return module
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"cannot resume records of {module_name}.{qualname}: "
                          f"importing {module_name} failed: {exc}",
                          name=module_name) from exc


_MISSING = object()


def _walk_qualname(module, module_name, qualname):
    if "." not in qualname:
        found = getattr(module, qualname, _MISSING)
        if found is not _MISSING:
            return found
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
        return restore, (_FUNCTION, self.function.__module__, self.function.__qualname__)


# What restore is asked to load.
_FUNCTION, _RECORDS = 0, 1


def restore(kind, *parts):
    """What a FunctionByName (``kind`` _FUNCTION; ``parts``: module and
    qualified name) or a PortableStack (_RECORDS; table, rows, interpreter)
    pickles as: one function for both, so that a tasklet's pickle names one
    function of this module, not two (pickle looks a function up by its
    name when it saves it, and again when it loads it)."""
    if kind == _FUNCTION:
        return find_function(*parts)
    if kind == _RECORDS:
        return load_stack(*parts)
    raise pickle.UnpicklingError(f"not a pickled function or records: {kind!r:.200}")


def by_name(function):
    """What pickles ``function`` (a tasklet's function): a FunctionByName
    when a name reaches it, its surrogate by value when it is a function
    that no name reaches, anything else as it is."""
    reference = function_reference(function)
    return FunctionByName(function) if type(reference) is tuple else reference


def function_reference(function):
    """``function`` as a pickled state holds it: its (module, qualified
    name) when a name reaches it, for :func:`referenced_function`; else as
    :func:`by_name` pickles it."""
    if not isinstance(function, types.FunctionType):
        return function
    if values.reachable_by_name(function):
        return function.__module__, function.__qualname__
    return by_value(function)


def referenced_function(reference):
    """The function that a :func:`function_reference` stands for."""
    if type(reference) is not tuple:
        return reference
    if len(reference) != 2 or type(reference[0]) is not str or type(reference[1]) is not str:
        raise pickle.UnpicklingError(f"not a pickled function name: {reference!r:.200}")
    return find_function(*reference)


# -- pickling --------------------------------------------------------------

def by_value(value, opaque=()):
    """What pickles ``value`` with the rules of records' values (see
    ``values.Substitution``)."""
    if type(value) in values.ATOMIC:
        return value
    return values.Substitution(opaque)(value)


def _table_entry(site):
    """How a record names its site in the portable form: ``(module,
    qualname, fingerprint, resume point name, slot names)``; a special
    record has no module, function or fingerprint."""
    entry = _table_entries.get(site.number)
    if entry is None:
        names = tuple(slot.name for slot in site.slots)
        if specials.is_special(site):
            entry = (None, None, None, site.name, names)
        else:
            info = site.function_info
            if "<locals>" in info.qualname.split("."):
                values.note_stackless_code(info)
            layout = _layout(info)
            entry = (info.module, info.qualname, layout.fingerprint,
                     _portable_name(site, layout.copies_of(site)), names)
        _table_entries[site.number] = entry
    return entry


_table_entries = {}
_first = operator.itemgetter(0)

# The site numbers of a list of records, in order -> the table of a
# PortableStack of them (shared by those stacks, and never changed).
_tables = {}
_MOST_TABLES = 256


def _table_of(sites):
    # In the records' order, so a stale function met first is the innermost.
    table = {number: _table_entry(SITES[number]) for number in dict.fromkeys(sites)}
    if len(_tables) >= _MOST_TABLES:
        _tables.clear()
    _tables[sites] = table
    return table


class PortableStack:
    """A list of records (a tasklet's, innermost first) in the portable
    form: a table of the sites they are stopped at, each once, by its
    :func:`_table_entry` under its site number in this process, and the
    records, each a site number and values.  Unpickling gives the list of
    records back, renumbered for the loading process.

    The values go through a ``values.Substitution`` when any needs it (a
    probe, pickling the records into nothing, says so at C speed otherwise).
    A value that cannot be pickled raises ``pickle.PicklingError`` naming
    the function, the line it is suspended at and the slot holding the
    value; the records themselves are never changed."""

    __slots__ = ("table", "rows")

    def __init__(self, records, opaque=()):
        self.table, self.rows = stack_parts(records, opaque)

    def __reduce__(self):
        return restore, (_RECORDS, self.table, self.rows, INTERPRETER)


def stack_parts(records, opaque=()):
    """The table and the rows of the portable form of ``records`` (see
    PortableStack); :func:`load_stack` takes them back."""
    records = tuple(records)
    sites = tuple(map(_first, records))
    table = _tables.get(sites)
    if table is None:
        table = _table_of(sites)
    rows = records if values.needs_nothing(records, opaque) else \
        _substituted_records(records, values.Substitution(opaque))
    return table, rows


def _substituted_records(records, substitute):
    atomic = values.ATOMIC
    rows = []
    for record in records:
        row = [record[0]]
        for position, value in enumerate(record[1:], 1):
            row.append(value if type(value) in atomic else
                       _substituted(substitute, record, position, value))
        rows.append(tuple(row))
    return tuple(rows)


def _substituted(substitute, record, position, value):
    try:
        return substitute(value)
    except Exception as exc:
        site = SITES[record[0]]
        raise pickle.PicklingError(
            _describe_slot(site, site.slots[position - 1], value, exc)) from exc


def portable_stack(records, opaque=()):
    """What pickles ``records`` in their portable form (see PortableStack);
    objects of the ``opaque`` types check their own contents when pickled
    and are not looked into."""
    return PortableStack(records, opaque)


def load_stack(table, rows, interpreter=INTERPRETER):
    """The records of a pickled PortableStack, for this process;
    ``interpreter`` is the Python version that saved them."""
    if type(table) is not dict or type(rows) is not tuple:
        raise pickle.UnpicklingError("not pickled records: "
                                     f"{type(table).__name__}, {type(rows).__name__}")
    foreign = interpreter != INTERPRETER
    plain = _PlainTable.known(table, foreign)
    records = plain.load(rows) if plain is not None else None
    if records is not None:
        return CheckedRecords(records)
    try:
        plans = {saved: _plan(entry, foreign) for saved, entry in table.items()}
    except StaleCodeError as exc:
        if interpreter == INTERPRETER:
            raise
        raise StaleCodeError(
            f"records saved by {_named(interpreter)} cannot be resumed by "
            f"{_named(INTERPRETER)}: {exc}", exc.module, exc.qualname) from None
    plain = _PlainTable.of(table, plans, foreign)
    records = plain.load(rows) if plain is not None else None
    if records is None:
        try:
            records = _load_rows(table, plans, rows)
        except pickle.UnpicklingError as exc:
            if interpreter == INTERPRETER:
                raise
            raise pickle.UnpicklingError(
                f"records saved by {_named(interpreter)} cannot be resumed by "
                f"{_named(INTERPRETER)}: {exc}") from None
    return CheckedRecords(records)


class CheckedRecords(list):
    """The records load_stack returns: checked already, so the tasklet or
    generator they are loaded into does not check them twice (it keeps
    them as a plain list)."""

    __slots__ = ()


def check_records(records):
    """Raise ``pickle.UnpicklingError`` unless every record of ``records``
    passes :func:`check_record`."""
    if type(records) is CheckedRecords:
        return
    for record in records:
        check_record(record)


def _load_rows(table, plans, rows):
    """The records of ``rows`` one by one, with the errors that say what is
    wrong with any of them."""
    records = []
    for row in rows:
        plan = plans.get(row[0]) if type(row) is tuple and row else None
        if plan is None:
            raise pickle.UnpicklingError(f"not a pickled record: {row!r:.200}")
        site, order, length, checked, conversions = plan
        if site is None:        # a native function's: the values choose the site
            entry = table[row[0]]
            records.append(from_portable(entry[:4] + (dict(zip(entry[4], row[1:])),)))
            continue
        if len(row) != length:
            raise pickle.UnpicklingError(
                f"a pickled record of {site.function_info.qualname} at {site.name} "
                f"holds {len(row) - 1} values instead of {length - 1}")
        if order is not None:
            row = (site.number, *[row[i] for i in order])
        elif row[0] != site.number or type(row[0]) is not int:
            row = (site.number, *row[1:])
        if conversions:
            row = _converted(row, conversions)
        if checked:
            check_record(row)
        records.append(row)
    return records


def _rows_fit_here(rows, lengths):
    """Whether each of the tuple ``rows`` is a tuple whose first item is an
    int that ``lengths`` maps to the row's length (the C module's rows_fit,
    where it is not built)."""
    try:
        for row in rows:
            if type(row) is not tuple or type(row[0]) is not int or len(row) != lengths[row[0]]:
                return False
    except (IndexError, KeyError):
        return False
    return True


try:
    from _stacklessxf_switch import rows_fit as _rows_fit
except ImportError:
    _rows_fit = _rows_fit_here


class _PlainTable:
    """A table of pickled records in the usual case: every site is found,
    keeps its slots' order and has no slot to check.  Its rows load at the
    speed of a loop, and what its entries resolve to is kept for the next
    table equal to it, while the modules and functions they name are the
    same objects (see _resolved)."""

    __slots__ = ("lengths", "numbers", "named")

    # (whether saved by another version, the table's items) -> _PlainTable
    _known = {}
    _MOST = 256

    def __init__(self, lengths, numbers, named):
        # Saved site number -> the saved records' length, and -> this
        # process's site number (None when every one is the same).
        self.lengths = lengths
        self.numbers = numbers
        # (module name, qualified name split, module, the object it leads to)
        # for each function the entries name.
        self.named = named

    @classmethod
    def known(cls, table, foreign):
        """The _PlainTable of a table equal to ``table`` loaded before, if it
        still holds; else None."""
        try:
            plain = cls._known.get((foreign, tuple(table.items())))
        except TypeError:       # not a table of this module's making
            return None
        if plain is None:
            return None
        for module_name, parts, module, found in plain.named:
            now_module, now_found = _current_objects(module_name, parts)
            if now_module is not module or now_found is not found:
                return None
        return plain

    @classmethod
    def of(cls, table, plans, foreign):
        """The _PlainTable of ``table``, whose entries have the ``plans``
        (see _plan), remembered for the next table equal to it; None if it
        is not such a table."""
        if not all(type(saved) is int for saved in table) or any(
                site is None or order is not None or checked or conversions
                for site, order, _, checked, conversions in plans.values()):
            return None
        lengths = {saved: plan[2] for saved, plan in plans.items()}
        numbers = {saved: plan[0].number for saved, plan in plans.items()}
        if all(saved == number for saved, number in numbers.items()):
            numbers = None
        named = {}
        for module_name, qualname, *_ in table.values():
            if module_name is not None and (module_name, qualname) not in named:
                parts = _qualname_to_locals(qualname)
                module, found = _current_objects(module_name, parts)
                named[module_name, qualname] = (module_name, parts, module, found)
        plain = cls(lengths, numbers, tuple(named.values()))
        if all(found is not None for *_, found in plain.named):
            if len(cls._known) >= cls._MOST:
                cls._known.clear()
            try:
                cls._known[foreign, tuple(table.items())] = plain
            except TypeError:
                pass
        return plain

    def load(self, rows):
        """The records of ``rows``; None unless each is a tuple of a site
        number of the table and as many values as that site saves."""
        if not _rows_fit(rows, self.lengths):
            return None
        numbers = self.numbers
        if numbers is None:
            return rows
        return [(numbers[row[0]], *row[1:]) for row in rows]


def _plan(entry, foreign):
    """How to load the records saved at one table entry's site (by another
    Python version if ``foreign``): (site, order, the saved records' length,
    whether values need checking, conversions)."""
    site, order, conversions = _resolved(entry, foreign)
    if site is None:
        return None, None, None, None, None
    checked = (_shapes.get(site.number) or _shape((site.number,)))[1]
    return site, order, len(entry[4]) + 1, bool(checked), conversions


# (entry, foreign) -> (module, the object its qualified name leads to,
# _resolve's result): an entry resolves the same while both are the same.
_resolutions = {}


def _resolved(entry, foreign=False):
    """(site, order, conversions) for one table entry, order being the
    positions in a saved record of the site's slots when the two orders
    differ (see _conversions for the last); (None, None, None) for a native
    function, whose site depends on the values."""
    if type(entry) is not tuple or len(entry) != 5 or type(entry[4]) is not tuple:
        raise pickle.UnpicklingError(f"not a resume point of pickled records: {entry!r:.200}")
    module_name, qualname, stamp, site_name, names = entry
    if module_name is None:
        return _resolve(entry, foreign)
    module, found = _current_objects(module_name, _qualname_to_locals(qualname))
    cached = _resolutions.get((entry, foreign))
    if cached is not None and cached[0] is module and cached[1] is found and found is not None:
        return cached[2]
    resolution = _resolve(entry, foreign)
    _resolutions[entry, foreign] = (module, found, resolution)
    return resolution


def _current_objects(module_name, parts):
    """The module and the object that the qualified name's ``parts`` (up to
    ``<locals>``, see _qualname_to_locals) name in it now, or None where
    they cannot be found without importing."""
    module = sys.modules.get(module_name)
    found = module
    for part in parts:
        found = getattr(found, part, None)
    return module, found


def _qualname_to_locals(qualname):
    """The parts of ``qualname`` before its first ``<locals>``."""
    parts = qualname.split(".")
    return tuple(parts[:parts.index("<locals>")] if "<locals>" in parts else parts)


def _resolve(entry, foreign):
    module_name, qualname, stamp, site_name, names = entry
    if module_name is None:
        site = SITES[specials.from_portable(site_name, dict.fromkeys(names))[0]]
    else:
        info = _find_function_info(module_name, qualname, stamp)
        if info.native is not None and _layout(info).fingerprint == stamp:
            return None, None, None
        site = _site_for(module_name, qualname, stamp, site_name, dict.fromkeys(names),
                         foreign)
    own = tuple(slot.name for slot in site.slots)
    order = None if own == names else [1 + names.index(name) for name in own]
    if not foreign or module_name is None:
        return site, order, None
    return site, order, _conversions(site, _parse_name(site_name)[3])


def _conversions(site, saved_cells):
    """((position, wrap), ...) for the slots of ``site`` that the saving
    version kept otherwise: a variable a comprehension captures is a
    closure cell where the comprehension is a function of its own (3.11)
    and a plain local where it is inlined; None if there is none."""
    found = tuple((position, slot.kind == Slot.CELL)
                  for position, slot in enumerate(site.slots, 1)
                  if slot.kind in (Slot.LOCAL, Slot.CELL) and
                  (slot.kind == Slot.CELL) != (slot.name in saved_cells))
    return found or None


def _converted(row, conversions):
    row = list(row)
    for position, wrap in conversions:
        value = row[position]
        if wrap:
            row[position] = types.CellType() if value is UNBOUND else types.CellType(value)
        elif type(value) is types.CellType:
            try:
                row[position] = value.cell_contents
            except ValueError:
                row[position] = UNBOUND
        else:
            raise pickle.UnpicklingError(
                f"a pickled record holds {type(value).__name__} where a closure "
                "cell was saved")
    return tuple(row)


def _named(interpreter):
    """``cpython-3.12`` as ``CPython 3.12``."""
    implementation, _, version = str(interpreter).partition("-")
    return f"{'CPython' if implementation == 'cpython' else implementation} {version}".strip()


def pickle_records(records):
    """Pickle a list of records in their portable form (see PortableStack)."""
    return pickle.dumps(portable_stack(records))


def unpickle_records(data):
    """The records pickled by :func:`pickle_records`, for this process."""
    return pickle.loads(data)


# Pickles made before the portable stack name these.
_new_cell = values.new_cell


def _describe_slot(site, slot, value, error, verb="cannot be pickled"):
    info = site.function_info
    line = site.lineno
    doing = "pickle" if verb == "cannot be pickled" else "load"
    why = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return (f"cannot {doing} the record of {info.module}.{info.qualname} suspended "
            f"at line {line} of {info.filename}: {_SLOT_WHAT[slot.kind]} "
            f"{slot.name!r} holds a value of type {type(value).__name__} that "
            f"{verb} ({why})")
