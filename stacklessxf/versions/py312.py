"""CPython 3.12: no PRECALL, comprehensions inline (PEP 709), a C stack shim
frame beneath the first frame of every evaluation loop started from C."""

import ctypes

from .base import FrameLayout, Version

_P, _INT, _U16, _CHAR = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint16, ctypes.c_char


class Py312(Version):
    TAG = "py312"
    FRAME = FrameLayout(
        [("f_code", _P), ("previous", _P), ("f_funcobj", _P), ("f_globals", _P),
         ("f_builtins", _P), ("f_locals", _P), ("frame_obj", _P), ("prev_instr", _P),
         ("stacktop", _INT), ("return_offset", _U16), ("owner", _CHAR), ("localsplus", _P)],
        shim_owner=3)      # FRAME_OWNED_BY_CSTACK


VERSION = Py312()
