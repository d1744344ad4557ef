"""CPython 3.13: frames under the thread state, their code in
``f_executable``, a C stack shim frame beneath the first frame of every
evaluation loop started from C, inline cache sizes keyed by name, and a
frame stopped in an instruction reporting that instruction itself."""

import ctypes
import dis

from .base import FrameLayout, Version

_P, _INT, _U16, _CHAR = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint16, ctypes.c_char


class Py313(Version):
    TAG = "py313"
    FRAME = FrameLayout(
        # The first field is ``f_executable``: the code object of every
        # frame the runtime reads (a shim frame has None there).
        [("f_code", _P), ("previous", _P), ("f_funcobj", _P), ("f_globals", _P),
         ("f_builtins", _P), ("f_locals", _P), ("frame_obj", _P), ("instr_ptr", _P),
         ("stacktop", _INT), ("return_offset", _U16), ("owner", _CHAR), ("localsplus", _P)],
        shim_owner=3)      # FRAME_OWNED_BY_CSTACK
    CALL_NAMES = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION_EX"})
    REPORTS_INSTRUCTION_ITSELF = True
    HANDLER_AT_UNIT_BEFORE_CALL = True

    def call_items(self, first, second, empty):
        # The callable, then self or NULL.
        return first, second

    def cache_entries(self, opcode):
        return dis._inline_cache_entries.get(dis.opname[opcode], 0)


VERSION = Py313()
