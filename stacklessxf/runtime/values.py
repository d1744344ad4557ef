"""Values that records hold and pickle does not store, or not fully, by
itself, and the surrogates that stand for them in a pickle.

pickle stores a function by name, which no name reaches for a nested
function or a lambda; it keeps an exception's type and arguments but not
its cause and context; it refuses closure cells, modules and dict views.
Before a record's values are pickled, a :class:`Substitution` swaps each
value that needs it, or that holds one that does, for a *surrogate*: an
object of this module whose ``__reduce__`` rebuilds the original.  Cells,
modules and dict views get reducers in ``copyreg`` instead; no existing type
gains a method.  Values that need nothing are pickled as they are, so
pickle's memo keeps what they share shared.

A function by value is its code's address (module, qualified name, first
line), a fingerprint of that code, its closure cells, defaults, keyword
defaults, attributes and its globals' module.  Loading finds the code
again inside the function that encloses it (or among the functions of its
module or class) and refuses with ``StaleCodeError`` if the fingerprint
differs.  A stackless function defined inside another function comes back
stackless.
"""

import collections
import copyreg
import gc
import hashlib
import importlib
import pickle
import sys
import types

from ..errors import StaleCodeError
from ..versions import current as version
from .records import set_code

try:
    from _stacklessxf_switch import plain_records as _plain_records
except ImportError:     # the C extension is not built: the probe says it all
    _plain_records = None
try:
    from _stacklessxf_switch import genexpr_parts as _genexpr_parts
except ImportError:     # CPython's generator expressions do not pickle then
    _genexpr_parts = None

# Whether a CPython generator expression of one clause pickles (see
# _reduce_generator).
CPYTHON_GENEXPRS_PICKLE = _genexpr_parts is not None

INTERPRETER = version.INTERPRETER

# Values that hold no other value: nothing in them can need a surrogate.
ATOMIC = frozenset({type(None), bool, int, float, complex, str, bytes, range,
                    type(Ellipsis), type(NotImplemented)})

_CONTAINERS = frozenset({list, dict, tuple, set, frozenset})


class Substitution:
    """Swaps values for surrogates, one surrogate per object across the
    values of one pickling (the memo also keeps those objects alive, so no
    id is reused meanwhile).  Objects of the ``opaque`` types (tasklets,
    channels: they check their own contents when pickled) are not looked
    into.  Calling it raises pickle's own error for a value that cannot be
    pickled at all."""

    def __init__(self, opaque=()):
        self.memo = {}
        self.opaque = tuple(opaque)

    def __call__(self, value):
        kind = type(value)
        if kind in ATOMIC:
            return value
        found = self.memo.get(id(value))
        if found is not None:
            return found[1]
        if _plainly_atomic(value, kind) or isinstance(value, self.opaque):
            return value
        if kind is types.CellType:
            return substitute_cell(value, self)
        make = _direct_surrogate(value)
        if make is None:
            if not self._needs_surrogates(value):
                self.remember(value, value)
                return value
            make = _container_surrogate if kind in _CONTAINERS else _reduced_surrogate
        return make(value, self)

    def remember(self, value, surrogate):
        self.memo[id(value)] = (value, surrogate)

    def _needs_surrogates(self, value):
        probe = _probe(self.opaque)
        try:
            probe.dump(value)
        except _NeedsSurrogate:
            return True
        finally:
            _release(probe)
        return False


def needs_nothing(records, opaque=()):
    """Whether ``records`` (a tuple) pickle as they are, with nothing in
    them that needs a surrogate (objects of the ``opaque`` types, a tuple,
    not looked into): said by the C check for the usual values, else by the
    probe, which pickles them, all at once."""
    if _plain_records is not None and _plain_records(records, opaque):
        return True
    return probe_needs_nothing(records, opaque)


def probe_needs_nothing(records, opaque=()):
    """What the probe alone says of ``records`` (see needs_nothing)."""
    probe = _probe(opaque)
    try:
        probe.dump(records)
    except Exception:
        return False
    finally:
        _release(probe)
    return True


def _plainly_atomic(value, kind):
    """Whether ``value`` is a list, tuple or dict of atomic values only."""
    if kind is tuple or kind is list:
        return ATOMIC.issuperset(map(type, value))
    if kind is dict:
        return ATOMIC.issuperset(map(type, value)) and \
            ATOMIC.issuperset(map(type, value.values()))
    return False


def _direct_surrogate(value):
    """The surrogate class for ``value`` itself, or None."""
    kind = type(value)
    if kind is types.FunctionType:
        return None if reachable_by_name(value) else FunctionSurrogate
    if kind is types.MethodType:
        # pickle stores a method as getattr(its object, its function's name)
        found = getattr(value.__self__, value.__func__.__name__, None)
        return None if found == value else MethodSurrogate
    if isinstance(value, BaseException):
        return ExceptionSurrogate
    return None


def reachable_by_name(function):
    """Whether pickle, storing ``function`` by name, finds it again."""
    qualname = function.__qualname__
    found = sys.modules.get(function.__module__)
    if "." not in qualname:
        return getattr(found, qualname, None) is function
    if "<locals>" in qualname:
        return False
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found is function


class _NeedsSurrogate(Exception):
    pass


class _Nowhere:
    write = staticmethod(len)


_NOWHERE = _Nowhere()


class _Probe(pickle.Pickler):
    """Pickles into nothing, to learn whether a value holds something that
    needs a surrogate (``_NeedsSurrogate``) or cannot be pickled at all
    (pickle's own error).  Objects of the ``opaque`` types are not looked
    into; functions and classes that pickle would store by name are looked
    for by name here, which costs less than pickle's own lookup."""

    opaque = ()

    def reducer_override(self, obj):
        kind = type(obj)
        if kind is types.FunctionType:
            if reachable_by_name(obj):
                return _NOTHING
            raise _NeedsSurrogate
        if kind is type:
            if reachable_by_name(obj):
                return _NOTHING
            if "<locals>" in obj.__qualname__:
                raise pickle.PicklingError(
                    f"{obj.__module__}.{obj.__qualname__} is a class defined inside a "
                    "function; classes pickle by name, and no name reaches it")
            return NotImplemented
        if _direct_surrogate(obj) is not None:
            raise _NeedsSurrogate
        return _NOTHING if isinstance(obj, self.opaque) else NotImplemented


# What the probe pickles in place of an object it does not look into.
_NOTHING = (tuple, ())


def _seeded_memo():
    """The memo of a pickler that has pickled the callable of _NOTHING.
    Every probe starts from it: pickle saves that callable by name, which
    it looks up each time, unless the memo has it already."""
    seed = pickle.Pickler(_NOWHERE, pickle.HIGHEST_PROTOCOL)
    seed.dump(_NOTHING[0])
    return seed.memo


_SEEDED_MEMO = _seeded_memo()

# Probes not in use.  A probe is taken from here for one dump and put back
# with its memo reset after it (a pickler given a memo copies it); a dump
# that pickles within itself takes another one.
_idle_probes = []


def _probe(opaque):
    try:
        probe = _idle_probes.pop()
    except IndexError:
        probe = _Probe(_NOWHERE, pickle.HIGHEST_PROTOCOL)
        probe.memo = _SEEDED_MEMO
    probe.opaque = opaque
    return probe


def _release(probe):
    probe.memo = _SEEDED_MEMO
    probe.opaque = ()
    if len(_idle_probes) < 4:
        _idle_probes.append(probe)


# -- surrogates --------------------------------------------------------------

class _Surrogate:
    __slots__ = ("reduced",)

    def __reduce__(self):
        return self.reduced


def _container_surrogate(value, substitute):
    surrogate = _Surrogate()
    substitute.remember(value, surrogate)
    kind = type(value)
    if kind is list:
        surrogate.reduced = (list, (), None, iter([substitute(item) for item in value]))
    elif kind is dict:
        surrogate.reduced = (dict, (), None, None, iter(_items(value.items(), substitute)))
    else:       # tuple, set, frozenset: made from their items
        surrogate.reduced = (kind, ([substitute(item) for item in value],))
    return surrogate


def _items(pairs, substitute):
    return [(substitute(key), substitute(item)) for key, item in pairs]


def _reduced_surrogate(value, substitute):
    """Any other object: what its own reduction gives, each part replaced
    by its surrogate where it needs one."""
    reducer = copyreg.dispatch_table.get(type(value))
    reduced = reducer(value) if reducer is not None else \
        value.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    if isinstance(reduced, str):        # a global, by name
        return value
    surrogate = _Surrogate()
    substitute.remember(value, surrogate)
    surrogate.reduced = _substitute_reduction(reduced, substitute)
    return surrogate


def _substitute_reduction(reduced, substitute):
    func, args, *rest = reduced
    name = getattr(func, "__name__", None)
    # pickle checks the class __newobj__ makes against the object it
    # pickles, which is the surrogate here.
    if name == "__newobj__":
        func = _new_object
    elif name == "__newobj_ex__":
        func = _new_object_ex
    parts = [func, tuple(substitute(arg) for arg in args)]
    for index, part in enumerate(rest):
        if part is None or index == 3:      # nothing, or a state setter
            parts.append(part)
        elif index == 1:                    # list items
            parts.append(iter([substitute(item) for item in part]))
        elif index == 2:                    # dict items
            parts.append(iter(_items(part, substitute)))
        else:                               # state
            parts.append(substitute(part))
    return tuple(parts)


def _new_object(cls, *args):
    return cls.__new__(cls, *args)


def _new_object_ex(cls, args, kwargs):
    return cls.__new__(cls, *args, **kwargs)


class CellSurrogate(_Surrogate):
    """A closure cell whose contents need a surrogate.  The cell is made
    empty and filled afterwards, so contents that lead back to the cell (a
    recursive closure) load."""

    __slots__ = ()

    def __init__(self, cell, substitute):
        substitute.remember(cell, self)
        try:
            contents = (substitute(cell.cell_contents),)
        except ValueError:      # an empty cell
            contents = None
        self.reduced = (new_cell, (), contents, None, None, _fill_cell)


def new_cell(*contents):
    return types.CellType(*contents)


def _fill_cell(cell, contents):
    cell.cell_contents = contents[0]


def substitute_cell(cell, substitute):
    """``cell`` itself, or its surrogate where its contents need one."""
    found = substitute.memo.get(id(cell))
    if found is not None:
        return found[1]
    try:
        contents = cell.cell_contents
    except ValueError:
        return cell
    if substitute(contents) is contents:
        return cell
    return CellSurrogate(cell, substitute)


class FunctionSurrogate(_Surrogate):
    """A function that no name reaches: its code's address and fingerprint,
    its closure, defaults and the rest of its state."""

    __slots__ = ()

    def __init__(self, function, substitute):
        substitute.remember(function, self)
        code = code_of(function)
        module = function.__module__
        address = _code_address(f"function {module}.{function.__qualname__}", module, code,
                                stackless_info(function) is not None)
        closure = tuple(substitute_cell(cell, substitute) for cell in function.__closure__ or ())
        attributes = {name: substitute(value) for name, value in vars(function).items()
                      if name != "__stackless__"}
        state = (function.__name__, function.__qualname__, function.__doc__,
                 substitute(function.__defaults__), substitute(function.__kwdefaults__),
                 substitute(function.__annotations__), attributes)
        self.reduced = (make_function, (address, closure), state, None, None,
                        _set_function_state)


def _code_address(what, module_name, code, stackless):
    """Where make_function finds ``code`` (of ``what``) again: its module,
    qualified name, first line and fingerprint, and whether it is stackless.
    Raises PicklingError if it would not be found."""
    _check_found_again(what, module_name, code)
    return (module_name, code.co_qualname, code.co_firstlineno,
            fingerprint_of_code(module_name, code), stackless)


_found_again = set()


def _check_found_again(what, module_name, code):
    """Raise PicklingError unless loading will find ``code`` (of ``what``) again."""
    if (module_name, code) in _found_again:
        return
    try:
        found = find_code(module_name, code.co_qualname, code.co_firstlineno,
                          fingerprint_of_code(module_name, code))
    except Exception as exc:
        raise pickle.PicklingError(
            f"{what} cannot be pickled by value: "
            f"its code would not be found again ({type(exc).__name__}: {exc})") from None
    if found != code:
        raise pickle.PicklingError(
            f"{what} cannot be pickled by value: "
            "other code of that name is found in its place")
    _found_again.add((module_name, code))


def stackless_info(function):
    """The FunctionInfo of ``function`` if it is a stackless function
    (not a wrapper that ``functools.wraps`` gave its ``__stackless__``)."""
    info = getattr(function, "__stackless__", None)
    if info is None or getattr(info, "original_code", None) is None:
        return None
    code, original = function.__code__, info.original_code
    same = (code.co_qualname, code.co_firstlineno) == (original.co_qualname, original.co_firstlineno)
    return info if same else None


def code_of(function):
    """The code CPython compiled for ``function`` (the transform replaces a
    stackless function's code)."""
    info = stackless_info(function)
    return function.__code__ if info is None else info.original_code


def make_function(address, closure):
    module_name, qualname, firstlineno, expected, stackless = address
    code = find_code(module_name, qualname, firstlineno, expected)
    module = sys.modules[module_name]
    function = types.FunctionType(code, module.__dict__, code.co_name, None, closure)
    if stackless:
        info = stackless_info_for_code(code, module_name)
        set_code(function, info.code)
        function.__stackless__ = info
    return function


def _set_function_state(function, state):
    (function.__name__, function.__qualname__, function.__doc__, function.__defaults__,
     function.__kwdefaults__, function.__annotations__, attributes) = state
    vars(function).update(attributes)


# -- CPython's generator expressions -------------------------------------------

# Between two items, a generator expression of one ``for`` clause holds
# nothing but the iterator it loops over (its parameter ``.0``) and its
# closure: the item's variables are bound again before they are read.  Such
# a generator, not started or suspended, pickles as those two and comes
# back as a new generator of the same code over the same iterator.  One of
# several clauses holds their iterators on its value stack, which nothing
# reads, and one whose variable a function inside it captures holds that
# variable's cell, which the functions it made share: they stay unpicklable.
_rebuildable_codes = {}


def rebuilt_from_parts(code):
    """Whether a CPython generator of ``code`` pickles by its parts."""
    found = _rebuildable_codes.get(code)
    if found is None:
        import dis      # here: it takes long to import, and few need it
        found = _rebuildable_codes[code] = CPYTHON_GENEXPRS_PICKLE and \
            code.co_name == "<genexpr>" and code.co_argcount == 1 and not code.co_cellvars and \
            sum(ins.opname == "FOR_ITER" for ins in dis.get_instructions(code)) == 1
    return found


def _reduce_generator(generator):
    """A CPython generator expression of one clause, by its code's address
    and fingerprint, its closure and the iterator it loops over; a finished
    one, by its names; any other generator, refused as pickle refuses it."""
    names = (generator.__name__, generator.__qualname__)
    if not rebuilt_from_parts(generator.gi_code):
        raise TypeError("cannot pickle 'generator' object")
    if generator.gi_frame is None:
        return _finished_generator, names
    if generator.gi_running:
        raise pickle.PicklingError(f"the generator {generator.__qualname__} is running")
    code = generator.gi_code
    module = generator.gi_frame.f_globals.get("__name__")
    address = _code_address(f"generator {module}.{code.co_qualname}", module, code, False)
    iterator, cells = _genexpr_parts(generator)
    return make_genexpr, (address, cells, iterator, *names)


def make_genexpr(address, closure, iterator, name, qualname):
    generator = make_function(address, closure)(iterator)
    generator.__name__, generator.__qualname__ = name, qualname
    return generator


def _finished_generator(name, qualname):
    generator = _nothing_left()
    generator.__name__, generator.__qualname__ = name, qualname
    for _ in generator:
        pass
    return generator


def _nothing_left():
    yield from ()


# -- stackless functions defined inside other functions --------------------

# A FunctionInfo for each nested stackless function's code seen in this
# process, so that the transform runs once per code, not once per value:
# id(code) -> (code, info).  By identity: code objects compare equal by their
# contents, so the same file loaded twice (a reload) would find the other
# load's function, which runs with the other module's globals.
_infos_by_code = {}


def note_stackless_code(info):
    _infos_by_code.setdefault(id(info.original_code), (info.original_code, info))


def stackless_info_for_code(code, module_name, namespace=None):
    """A FunctionInfo for ``code`` (CPython's code of a stackless function
    defined inside another function, or of a generator expression),
    transforming it in this process if none is known yet.  Its globals are
    ``namespace``, by default its module's."""
    known = _infos_by_code.get(id(code))
    if known is not None and known[0] is code:
        return known[1]
    if namespace is None:
        namespace = sys.modules[module_name].__dict__
    stand_in = types.FunctionType(code, namespace, code.co_name, None,
                                  tuple(types.CellType() for _ in code.co_freevars))
    stand_in.__qualname__ = code.co_qualname
    info = _transform(stand_in)
    _infos_by_code[id(code)] = (code, info)
    return info


def _transform(function):
    # The module the code comes from applied @stackless when it was
    # imported, so the transform is loaded; the runtime does not import it.
    core = sys.modules.get("stacklessxf.core") or importlib.import_module("stacklessxf.core")
    return core.stackless(function).__stackless__


# -- finding code again --------------------------------------------------------

def find_code(module_name, qualname, firstlineno, expected):
    """The code object CPython compiled for the function ``qualname`` of
    ``module_name`` whose ``def`` or lambda starts at ``firstlineno`` and
    whose fingerprint is ``expected`` (two lambdas may share a line)."""
    candidates = find_codes(module_name, qualname)
    for code in candidates:
        if code.co_firstlineno == firstlineno and \
                same_code(fingerprint_of_code(module_name, code), expected):
            return code
    if candidates:      # changed, or moved to other lines
        raise StaleCodeError(
            f"the code of {module_name}.{qualname} (line {firstlineno}) has changed "
            f"since it was pickled{_by_whom(expected)}", module_name, qualname)
    raise LookupError(f"cannot find {module_name}.{qualname} again: no function of "
                      "that name is defined there now")


def _by_whom(expected):
    if type(expected) is str or expected[0] == INTERPRETER:
        return ""
    if expected[2] is None:
        return (f" (it was pickled by {expected[0]} from code without source, "
                f"which only {expected[0]} can check)")
    return f" (it was pickled by {expected[0]})"


def find_codes(module_name, qualname):
    """The code objects of the functions named ``qualname`` in
    ``module_name``: looked for inside the function that encloses them, or
    for a function of a module or class that no name reaches, among the
    functions of that module or class; failing that, in the code CPython
    compiles from the module's source.  Raises ImportError or LookupError."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"cannot load {module_name}.{qualname}: importing "
                          f"{module_name} failed: {exc}", name=module_name) from exc
    parts = qualname.split(".")
    if "<locals>" in parts:
        enclosing = _walk(module, parts[:parts.index("<locals>")], module_name, qualname)
        roots = [code_of(function) for function in _functions_in(enclosing)]
    else:
        container = _walk(module, parts[:-1], module_name, qualname)
        roots = [code_of(function) for value in list(vars(container).values())
                 for function in _functions_in(value)]
    found = [code for code in _nested_codes(roots) if code.co_qualname == qualname]
    return found or [code for code in _source_codes(module) if code.co_qualname == qualname]


_compiled_modules = {}


def _source_codes(module):
    """Every code object CPython compiles from ``module``'s source (a lambda
    kept only in a module's dict is reached by no function), or none."""
    cached = _compiled_modules.get(module.__name__)
    if cached is None or cached[0] is not module:
        try:
            source = module.__loader__.get_source(module.__name__)
            top = compile(source, module.__file__, "exec", dont_inherit=True)
        except Exception:       # no loader, no source, no file
            codes = []
        else:
            codes = list(_nested_codes([top]))
        cached = _compiled_modules[module.__name__] = (module, codes)
    return cached[1]


def _walk(found, parts, module_name, qualname):
    for part in parts:
        try:
            found = getattr(found, part)
        except AttributeError:
            raise LookupError(f"cannot find {module_name}.{qualname} again: "
                              f"{module_name} has no {'.'.join(parts)}") from None
    return found


def _functions_in(value):
    value = getattr(value, "__func__", value)       # methods, classmethod, staticmethod
    if isinstance(value, types.FunctionType):
        return [value]
    info = getattr(value, "__stackless__", None)    # a native stackless function
    original = getattr(info, "original_code", None)
    return [types.FunctionType(original, {})] if original is not None else []


def _nested_codes(roots):
    pending, seen = list(roots), set()
    while pending:
        code = pending.pop()
        if id(code) not in seen:
            seen.add(id(code))
            yield code
            pending.extend(c for c in code.co_consts if isinstance(c, types.CodeType))


# -- fingerprints of code ----------------------------------------------------

_code_fingerprints = {}


def fingerprint_of_code(module_name, code):
    """What identifies ``code`` across processes: ``(interpreter, exact,
    portable)``.  ``exact`` hashes what the code does and where it is in its
    file (instructions, names, constants, line table, nested code) and the
    interpreter version; ``portable`` hashes what every Python version
    compiles the same way (the function's source lines, where it ends, its
    parameters and free variables), or is None without source.  Neither
    hashes the file's path, so a moved checkout still loads."""
    key = (module_name, code)
    found = _code_fingerprints.get(key)
    if found is None:
        digest = hashlib.sha256(f"{INTERPRETER}\n{module_name}".encode())
        _hash_code(code, digest)
        found = _code_fingerprints[key] = (INTERPRETER, digest.hexdigest()[:16],
                                           _portable_fingerprint(module_name, code))
    return found


def same_code(found, expected):
    """Whether the fingerprint ``found`` of code here matches ``expected``,
    saved by this or another interpreter (or an older str fingerprint)."""
    if type(expected) is str:
        return found[1] == expected
    if expected[0] == found[0]:
        return found[1] == expected[1]
    return found[2] is not None and found[2] == expected[2]


def _portable_fingerprint(module_name, code):
    positions = [p for p in code.co_positions() if p[1] is not None]
    if not positions:
        return None
    last_line, last_column = max((p[1], p[3] or 0) for p in positions)
    import linecache    # here: the runtime's import stays light
    module = sys.modules.get(module_name)
    lines = linecache.getlines(code.co_filename, getattr(module, "__dict__", None))
    text = "".join(lines[code.co_firstlineno - 1:last_line])
    if not text:
        return None
    summary = (module_name, code.co_qualname, code.co_firstlineno, last_line, last_column,
               code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
               code.co_freevars, code.co_flags & _PORTABLE_FLAGS)
    return hashlib.sha256(f"{summary!r}\n{text}".encode()).hexdigest()[:16]


# Flags every version sets alike: varargs, varkeywords, generator, coroutine,
# async generator (others, such as CO_NESTED or the optimisation flags, are
# the compiler's business).
_PORTABLE_FLAGS = 0x04 | 0x08 | 0x20 | 0x100 | 0x200


def _hash_code(code, digest):
    for part in (code.co_code, code.co_linetable, code.co_exceptiontable):
        digest.update(part)
    digest.update(repr((code.co_firstlineno, code.co_qualname, code.co_names,
                        code.co_varnames, code.co_freevars, code.co_cellvars, code.co_flags,
                        code.co_argcount, code.co_kwonlyargcount,
                        code.co_posonlyargcount)).encode())
    for const in code.co_consts:
        _hash_const(const, digest)


def _hash_const(const, digest):
    if isinstance(const, types.CodeType):
        _hash_code(const, digest)
    elif isinstance(const, tuple):
        for item in const:
            _hash_const(item, digest)
    elif isinstance(const, frozenset):      # its order follows string hashing
        digest.update(repr(sorted(map(repr, const))).encode())
    else:
        digest.update(repr(const).encode())


# -- methods and exceptions ----------------------------------------------------

class MethodSurrogate(_Surrogate):
    """A method bound to an object, of a function that no name reaches."""

    __slots__ = ()

    def __init__(self, method, substitute):
        substitute.remember(method, self)
        self.reduced = (_bind, (substitute(method.__func__), substitute(method.__self__)))


def _bind(function, obj):
    return types.MethodType(function, obj)


class ExceptionSurrogate(_Surrogate):
    """An exception with its cause, its context and the flag that hides the
    context.  Its traceback is not kept: the frames it names are gone.  An
    exception that reduces as BaseException does is made again without
    calling its class's ``__init__`` (which may take other arguments than
    the ``args`` it passed on), as ``copy`` does; any other pickles by its
    own reduction."""

    __slots__ = ()

    def __init__(self, exc, substitute):
        substitute.remember(exc, self)
        reduced = exc.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        func, args, state = (*reduced, None)[:3]
        if type(exc).__reduce__ is BaseException.__reduce__:
            func, args = _new_exception, (type(exc), args)
        links = (substitute(state), substitute(exc.__cause__), substitute(exc.__context__),
                 exc.__suppress_context__)
        self.reduced = _substitute_reduction((func, args), substitute) + (
            links, None, None, _link_exception)


def _new_exception(cls, args):
    exc = cls.__new__(cls, *args)
    exc.args = args
    return exc


def _link_exception(exc, links):
    state, exc.__cause__, exc.__context__, exc.__suppress_context__ = links
    if state is not None:
        exc.__setstate__(state)


# -- copyreg: types pickle refuses -----------------------------------------------

def _reduce_cell(cell):
    # pickle's memo makes a cell reached twice one cell when loaded, and
    # copes with a cell reached again from inside its own contents.
    try:
        return new_cell, (cell.cell_contents,)
    except ValueError:  # an empty cell
        return new_cell, ()


def _reduce_module(module):
    return importlib.import_module, (module.__name__,)


_VIEW_KINDS = {}


def _reduce_dict_view(view):
    mapping, = gc.get_referents(view)
    return _dict_view, (mapping, _VIEW_KINDS[type(view)])


def _dict_view(mapping, kind):
    return getattr(mapping, kind)()


def _register_reducers():
    copyreg.pickle(types.CellType, _reduce_cell)
    copyreg.pickle(types.GeneratorType, _reduce_generator)
    copyreg.pickle(types.ModuleType, _reduce_module)
    for mapping in ({}, collections.OrderedDict()):
        for kind in ("keys", "values", "items"):
            view_type = type(getattr(mapping, kind)())
            _VIEW_KINDS[view_type] = kind
            copyreg.pickle(view_type, _reduce_dict_view)


_register_reducers()
