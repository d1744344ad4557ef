"""Whether a frame was called from C code.

CPython runs a Python-to-Python call (a ``CALL`` instruction whose callee
is a Python function or a method of one) in the same evaluation loop as its
caller; any other way in (a C function such as ``functools.reduce`` calling
back, a class calling ``__init__``) starts a new one, and the interpreter
marks the new loop's first frame (``versions.base.FrameLayout`` says how).
Python code cannot see that mark, so it is read from the interpreter's
frame structure, whose layout each version fixes.

A switch needs the answer: it may pass the frames it suspends by plain
returns only where no C code lies between them, since the C code would take
the switch marker for a value (see ``scheduler._check_can_switch``).

The layout is checked once, on frames whose answer is known; if the check
fails (a build with another layout), ``called_from_c`` answers None
("unknown") and callers take the safe way.
"""

import ctypes
import sys

from ..versions import current as version


class _FrameObject(ctypes.Structure):
    """The head of ``PyFrameObject``."""

    _fields_ = [("ob_refcnt", ctypes.c_ssize_t), ("ob_type", ctypes.c_void_p),
                ("f_back", ctypes.c_void_p), ("f_frame", ctypes.c_void_p)]


_LAYOUT = version.FRAME
_F_FRAME = _FrameObject.f_frame.offset
_F_CODE = _LAYOUT.offset("f_code")
_LOCALSPLUS = _LAYOUT.offset("localsplus")

# Every byte of the address space as a sequence (bytes, and aligned words):
# indexing them is how the fields are read; it is much cheaper than a ctypes
# object per read.  Only addresses of live frames are ever indexed.
_BYTES = memoryview((ctypes.c_uint8 * ((sys.maxsize + 1) // 4)).from_address(0)).cast("B")
_WORDS = _BYTES.cast("Q")


if _LAYOUT.entry_flag is not None:
    _IS_ENTRY = _LAYOUT.offset(_LAYOUT.entry_flag)

    def _read_called_from_c(frame):
        """True when ``frame`` (a running frame) was called from C code (or,
        where that starts a loop, by ``f(*args)``); False when its caller's
        ``CALL`` ran it directly."""
        return bool(_BYTES[_WORDS[(id(frame) + _F_FRAME) >> 3] + _IS_ENTRY])
else:
    _PREVIOUS, _OWNER = _LAYOUT.offset("previous"), _LAYOUT.offset("owner")
    _SHIM = _LAYOUT.shim_owner

    def _read_called_from_c(frame):
        """True when ``frame`` (a running frame) was called from C code: it
        returns to the shim frame its evaluation loop starts with.  None
        for a frame that has ended (the interpreter forgets where it
        returned to) or has no caller."""
        previous = _WORDS[(_WORDS[(id(frame) + _F_FRAME) >> 3] + _PREVIOUS) >> 3]
        return None if previous == 0 else _BYTES[previous + _OWNER] == _SHIM


def _unknown(frame):
    """This interpreter's frames are not laid out as expected."""
    return None


def _probe(*_):
    """What the reads say of the running frame: (its code matches, called from C)."""
    frame = sys._getframe()
    code_word = _WORDS[(_WORDS[(id(frame) + _F_FRAME) >> 3] + _F_CODE) >> 3]
    return code_word == id(frame.f_code), _read_called_from_c(frame)


def _layout_holds():
    """True when the reads give the known answers for a frame a ``CALL``
    runs directly, one ``map`` calls, and one ``f(*args)`` calls."""
    args = ()
    return (_probe() == (True, False)
            and next(map(_probe, (0,))) == (True, True)
            and _probe(*args) == (True, version.STAR_CALL_IS_ENTRY))


# What ``stack_item`` gives for an empty (NULL) stack entry.
EMPTY = type("Empty", (), {"__repr__": lambda self: "<NULL>"})()


def _locals_plus(code):
    """How many locals, cells and free variables precede the value stack
    (an argument that is also a cell has one entry)."""
    return (len(set(code.co_varnames) | set(code.co_cellvars)) + len(code.co_freevars))


def _read_stack_item(frame, depth):
    """The object at position ``depth`` (0 is the bottom) of the value stack
    of ``frame``, a frame stopped in a call: the interpreter keeps the items
    beneath the call, and the call's own, in place while it runs."""
    base = _WORDS[(id(frame) + _F_FRAME) >> 3] + _LOCALSPLUS
    word = _WORDS[(base >> 3) + _locals_plus(frame.f_code) + depth]
    return EMPTY if word == 0 else ctypes.cast(word, ctypes.py_object).value


_STACK_MARK = object()


def _stack_probe(*_):
    """Whether a stack read finds the marker its caller left beneath the call."""
    return _read_stack_item(sys._getframe(1), 0) is _STACK_MARK


def _stack_layout_holds(x=0, y=1):
    """Checks the read on a frame whose locals include a cell argument."""
    def uses_cell():
        return x
    return (_STACK_MARK, _stack_probe(x, y))[1]


def calls_run_inline():
    """True when a ``CALL`` of a Python function runs it in its caller's
    evaluation loop, as CPython does unless a frame-evaluation hook
    (a debugger's) is installed; False when it does not or cannot be told."""
    return called_from_c is _read_called_from_c and _probe() == (True, False)


called_from_c = (_read_called_from_c
                 if sys.maxsize > 2**32 and _layout_holds()
                 else _unknown)

# stack_item(frame, depth): see _read_stack_item; None where the layout is unknown.
stack_item = (_read_stack_item
              if called_from_c is _read_called_from_c and _stack_layout_holds() else None)
