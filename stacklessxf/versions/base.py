"""What the runtime needs to know about one CPython version.

A version module (``py311.py``, ``py312.py``, ...) defines ``VERSION``, an
instance of a subclass of :class:`Version` that sets the class attributes
below marked *required* and overrides the methods whose default does not
hold for it.  The bytecode backend's instruction sequences live in
``backends/bytecode/ops/`` (one module per version, same names); the C
extensions' frame access lives in the version block of
``runtime/_cpython.h``.  Adding a version means adding those three.

Attributes (``TAG`` and ``FRAME`` have no default; the others default to
3.12's facts):

- ``TAG``: ``"py311"``, the name of the version's modules;
- ``FRAME``: a :class:`FrameLayout`, the head of ``_PyInterpreterFrame``
  and how to tell a frame called from C code;
- ``CALL_NAMES``: the instructions that call a callable from the value
  stack (an unwinding handler guards them);
- ``PRE_CALL``: the instruction before ``CALL`` that calls a builtin (a
  frame stopped in it reports that instruction), or None;
- ``STAR_CALL_IS_ENTRY``: whether ``f(*args)`` of a Python function starts
  a new evaluation loop (an entry frame);
- ``ENTER_KEEPS_EXIT``: whether ``BEFORE_WITH`` keeps the manager's
  ``__exit__`` on the value stack while ``__enter__`` runs (and after it
  fails); where it does not, the bytecode backend keeps the manager there;
- ``COMPREHENSION_FUNCTIONS``: the names of the comprehensions' code
  objects the compiler makes functions of their own (3.12 puts list, set
  and dict comprehensions in their function's code, PEP 709);
- ``REPORTS_INSTRUCTION_ITSELF``: whether a frame stopped in an instruction
  (a call running its callee) reports that instruction (3.13) rather than
  its last inline cache entry;
- ``HANDLER_AT_UNIT_BEFORE_CALL``: whether the interpreter looks the
  handler of a call whose Python callee failed up at the code unit before
  the call (3.13), so a call's guard must cover that unit too;
- ``RESUME_WITHOUT_CHECK``: the ``RESUME`` argument of an entry that does
  not check for signals.

Methods with a default that a version may override: ``cache_entries``
and ``takes_argument`` (decoding code objects),
``reported_offsets`` and ``instruction_table`` (what a frame stopped in an
instruction reports), ``call_offsets``, ``without_interrupt_checks``,
``range_iterator_state`` (how a range iterator reduces) and ``call_items``
(a call's callable and self on the value stack).  The bytecode
backend's ``ops`` module for the version says what ``ops.base.Ops`` asks.
"""

import ctypes
import dis
import functools
import sys
import types


class FrameLayout:
    """The head of ``_PyInterpreterFrame`` as ctypes fields, and how a frame
    called from C code is marked: by a flag of its own (``entry_flag``, a
    field name), or by the frame it returns to being a C stack shim
    (``shim_owner``, the value of ``owner`` such a frame has)."""

    def __init__(self, fields, entry_flag=None, shim_owner=None):
        self.structure = type("InterpreterFrame", (ctypes.Structure,), {"_fields_": fields})
        self.entry_flag = entry_flag
        self.shim_owner = shim_owner

    def offset(self, field):
        return getattr(self.structure, field).offset


class Version:
    TAG = None
    FRAME = None
    CALL_NAMES = frozenset({"CALL", "CALL_FUNCTION_EX"})
    PRE_CALL = None
    STAR_CALL_IS_ENTRY = False
    ENTER_KEEPS_EXIT = False
    COMPREHENSION_FUNCTIONS = frozenset({"<genexpr>"})
    REPORTS_INSTRUCTION_ITSELF = False
    HANDLER_AT_UNIT_BEFORE_CALL = False

    # RESUME's argument for a function's entry that does not check for
    # signals (below 2 it checks; 2 is "after yield from", which only
    # generators read).
    RESUME_WITHOUT_CHECK = 2

    @property
    def INTERPRETER(self):
        """What pickles name the interpreter by: ``cpython-3.11``."""
        return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"

    def range_iterator_state(self, iterator):
        """(next value, stop, step) of a range iterator: 3.11 reduces it to
        its range and how far it got, 3.12 to the range that is left."""
        _, (span,), index = iterator.__reduce__()
        return span.start + (index or 0) * span.step, span.stop, span.step

    def call_items(self, first, second, empty):
        """(callable, its self or ``empty``) of a call whose first two
        value-stack items are ``first`` and ``second`` (``empty`` reads a
        NULL): NULL and the callable, or a method's function and its self."""
        return (second, empty) if first is empty else (first, second)

    # -- reading code objects ------------------------------------------

    def unpack(self, code):
        """(offset, opcode, argument) of every instruction of ``code``, as
        ``dis`` decodes them (an EXTENDED_ARG is an instruction of its own,
        an instruction without argument has None).  Several scans of the
        transform read one code object, so the last few decodings are kept."""
        return _decoded(code.co_code, self)

    def cache_entries(self, opcode):
        """How many inline cache units follow the instruction ``opcode``."""
        return dis._inline_cache_entries[opcode]

    def takes_argument(self, opcode):
        """Whether the instruction ``opcode`` has an argument (its code
        unit's second byte; otherwise that byte means nothing)."""
        return opcode in dis.hasarg

    def exception_entries(self, code):
        """The exception table of ``code`` as ``dis`` parses it (kept for
        the last few tables, like ``unpack``'s decodings)."""
        return _parsed_exception_table(code.co_exceptiontable)

    @functools.cache
    def _decoder_tables(self):
        # Per opcode: the units it spans with its caches, whether it takes
        # an argument (for its unspecialised form, which co_code holds).
        spans, takes = [], []
        for op in range(256):
            plain = dis._deoptop(op)
            spans.append(2 + 2 * self.cache_entries(plain))
            takes.append(self.takes_argument(plain))
        return tuple(spans), tuple(takes)

    def reported_offsets(self, offset, opcode):
        """What a frame stopped in the instruction at ``offset`` can report
        as its last instruction: the instruction or one of its caches (or,
        with ``REPORTS_INSTRUCTION_ITSELF``, the instruction only)."""
        if self.REPORTS_INSTRUCTION_ITSELF:
            return range(offset, offset + 1)
        return range(offset, offset + 2 * self.cache_entries(opcode) + 1, 2)

    def instruction_table(self, code):
        """{offset a frame of ``code`` can report: (instruction name, depth
        of the exception-table entry covering it, or None)}.  A frame
        stopped in a ``PRE_CALL`` reports the ``CALL`` after it."""
        entries = self.exception_entries(code)
        table = {}
        pending = []
        for ins in dis.get_instructions(code):
            depth = next((entry.depth for entry in entries
                          if entry.start <= ins.offset < entry.end), None)
            offsets = list(self.reported_offsets(ins.offset, ins.opcode))
            if ins.opname == self.PRE_CALL:
                pending += offsets
                continue
            for offset in pending + offsets:
                table[offset] = (ins.opname, depth)
            pending = []
        return table

    def call_offsets(self, code):
        """What a frame of ``code`` reports as its last instruction while
        one of its ``CALL`` instructions runs a Python function (the call's
        last inline cache entry, or the call itself)."""
        return frozenset(self.reported_offsets(ins.offset, ins.opcode)[-1]
                         for ins in dis.get_instructions(code) if ins.opname == "CALL")

    def without_interrupt_checks(self, code):
        """``code`` with no instruction at which the interpreter runs signal
        handlers or lets other threads in by itself: its entry (RESUME 0)
        reads as a resume after ``yield from``, which skips the check, and
        its backward jumps are the kind that do not check.  Such code is
        interrupted only inside what it calls."""
        resume, jump_back, no_interrupt = (dis.opmap[name] for name in (
            "RESUME", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"))
        # Where the checking jump has inline caches the other lacks, its
        # distance counts from after them (the caches stay, never reached).
        fewer_caches = self.cache_entries(jump_back) - self.cache_entries(no_interrupt)
        checking = {op for name, op in dis.opmap.items() if name.startswith("POP_JUMP_BACKWARD")}
        raw = bytearray(code.co_code)
        for at in range(0, len(raw), 2):
            if raw[at] == resume and raw[at + 1] == 0:
                raw[at + 1] = self.RESUME_WITHOUT_CHECK
            elif raw[at] == jump_back:
                raw[at] = no_interrupt
                if fewer_caches:
                    _add_to_argument(raw, at, -fewer_caches)
            elif raw[at] in checking:
                raise AssertionError(f"{code.co_name} has a conditional backward jump")
        return code.replace(co_code=bytes(raw))


def _add_to_argument(raw, at, change):
    """Change the argument of the instruction at ``at`` of ``raw`` by
    ``change``, keeping its EXTENDED_ARG prefixes (one may become 0)."""
    extended = dis.opmap["EXTENDED_ARG"]
    start = at
    while start >= 2 and raw[start - 2] == extended:
        start -= 2
    positions = range(start + 1, at + 2, 2)
    value = 0
    for position in positions:
        value = value << 8 | raw[position]
    value += change
    assert 0 <= value < 1 << (8 * len(positions))
    for position in reversed(positions):
        raw[position], value = value & 0xFF, value >> 8


@functools.lru_cache(maxsize=8)
def _decoded(raw, version):
    spans, takes = version._decoder_tables()
    listing, extended, offset, end = [], 0, 0, len(raw)
    while offset < end:
        op = raw[offset]
        if takes[op]:
            arg = raw[offset + 1] | extended
            extended = arg << 8 if op == _EXTENDED_ARG else 0
        else:
            arg, extended = None, 0
        listing.append((offset, op, arg))
        offset += spans[op]
    return tuple(listing)


_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]


@functools.lru_cache(maxsize=8)
def _parsed_exception_table(raw):
    # The parser reads nothing of the code object but its table.
    return tuple(dis._parse_exception_table(types.SimpleNamespace(co_exceptiontable=raw)))
