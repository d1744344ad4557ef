"""CPython 3.11."""

import ctypes
import dis

from .base import FrameLayout, Version

_P, _INT, _BOOL, _CHAR = ctypes.c_void_p, ctypes.c_int, ctypes.c_bool, ctypes.c_char


class Py311(Version):
    TAG = "py311"
    FRAME = FrameLayout(
        [("f_func", _P), ("f_globals", _P), ("f_builtins", _P), ("f_locals", _P),
         ("f_code", _P), ("frame_obj", _P), ("previous", _P), ("prev_instr", _P),
         ("stacktop", _INT), ("is_entry", _BOOL), ("owner", _CHAR), ("localsplus", _P)],
        entry_flag="is_entry")
    PRE_CALL = "PRECALL"
    STAR_CALL_IS_ENTRY = True
    ENTER_KEEPS_EXIT = True
    COMPREHENSION_FUNCTIONS = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>"})

    def takes_argument(self, opcode):
        return opcode >= dis.HAVE_ARGUMENT


VERSION = Py311()
