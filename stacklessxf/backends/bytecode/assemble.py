"""Assembly of an instruction list into a code object.

The bytecode package's ``to_code`` makes an object per instruction and per
inline cache entry and checks each, which took the largest part of a
function's transform time: the instrumented code is several times the size of
CPython's.  ``to_code`` here makes the same code object (the same
instructions, constants, names, positions and exception table:
tests/test_assemble.py compares them over the corpus and the standard
library) in one pass over the instructions and a few over the jumps.  An
instruction argument of a kind it does not know goes to the package.
"""

import dis
import types

from bytecode import CellVar, Compare, FreeVar, Instr, Label, SetLineno, TryBegin, TryEnd
from bytecode.instr import (
    BITFLAG2_OPCODES,
    BITFLAG_OPCODES,
    DUAL_ARG_OPCODES,
    DUAL_ARG_OPCODES_SINGLE_OPS,
    INTRINSIC,
    UNSET,
    const_key,
)

from ...versions import current as version
from .ops import current as ops

_HAS_CONST = frozenset(dis.hasconst)
_HAS_LOCAL = frozenset(dis.haslocal)
_HAS_NAME = frozenset(dis.hasname)
_HAS_FREE = frozenset(dis.hasfree)
_HAS_COMPARE = frozenset(dis.hascompare)
_RELATIVE_JUMPS = frozenset(dis.hasjump if hasattr(dis, "hasjump") else dis.hasjrel)
_BACKWARD_JUMPS = frozenset(op for op in _RELATIVE_JUMPS if "BACKWARD" in dis.opname[op]
                            or dis.opname[op] == "END_ASYNC_FOR")
_FORWARD_JUMPS = _RELATIVE_JUMPS - _BACKWARD_JUMPS
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_CACHE_UNITS = [bytes((dis.opmap.get("CACHE", 0), 0)) * count for count in range(32)]
_CACHES = {}


class _Unsupported(Exception):
    """An argument this assembler does not encode."""


def to_code(bytecode_obj):
    """``bytecode_obj.to_code(stacksize=0, compute_exception_stack_depths=False)``."""
    try:
        return _Assembly(bytecode_obj).code()
    except _Unsupported:
        return bytecode_obj.to_code(stacksize=0, compute_exception_stack_depths=False)


class _Assembly:
    def __init__(self, bytecode_obj):
        self.source = bytecode_obj
        self.consts, self.const_index = [], {}
        self.names, self.name_index = [], {}
        self.varnames, self.varname_index = [], {}
        # Per instruction: [opcode, arg, location, caches, jump label or
        # None, EXTENDED_ARGs before it].
        self.instrs = []
        self.labels = {}
        self.entries = {}       # TryBegin -> [first instruction, last, depth, lasti]
        self.cell_uses, self.free_uses = [], []
        if bytecode_obj.docstring is not UNSET:
            self._const(bytecode_obj.docstring)
        for name in bytecode_obj.argnames:
            self._varname(name)

    def code(self):
        self._convert()
        self._number_cells()
        starts, offsets = self._lay_out()
        src = self.source
        raw, linetable = self._raw_code(), self._locations()
        return types.CodeType(
            src.argcount, src.posonlyargcount, src.kwonlyargcount, len(self.varnames), 0,
            int(src.flags), raw, tuple(self.consts), tuple(self.names),
            tuple(self.varnames), src.filename, src.name, src.qualname, src.first_lineno,
            linetable, self._exception_table(starts, offsets), tuple(src.freevars),
            tuple(src.cellvars))

    # -- tables ------------------------------------------------------------

    def _const(self, value):
        return _number(self.consts, self.const_index, const_key(value), value)

    def _name(self, name):
        return _number(self.names, self.name_index, name, name)

    def _varname(self, name):
        return _number(self.varnames, self.varname_index, name, name)

    # -- instructions --------------------------------------------------------

    def _convert(self):
        if DUAL_ARG_OPCODES:
            # As the package does: the pairs' locals numbered first, so that
            # more pairs stay one instruction.
            for ins in list.__iter__(self.source):
                if type(ins) is Instr and ins.opcode in DUAL_ARG_OPCODES:
                    for name in ins.arg:
                        self._varname(name)
        location = (self.source.first_lineno, None, None, None)
        for ins in list.__iter__(self.source):     # the package's own iteration checks each
            kind = type(ins)
            if kind is Instr:
                loc = ins.location
                if loc is not None and loc is not UNSET:
                    location = (loc.lineno, loc.end_lineno, loc.col_offset, loc.end_col_offset)
                self._instruction(ins, location)
            elif kind is Label:
                self.labels[ins] = len(self.instrs)
            elif kind is TryBegin:
                self.entries[ins] = [len(self.instrs), 0, ins.stack_depth, ins.push_lasti]
            elif kind is TryEnd:
                self.entries[ins.entry][1] = len(self.instrs) - 1
            elif kind is SetLineno:
                location = (ins.lineno, None, None, None)
            else:
                raise _Unsupported(kind)

    def _instruction(self, ins, location):
        opcode, arg = ins.opcode, ins.arg
        label = None
        if isinstance(arg, Label):
            if opcode not in _RELATIVE_JUMPS:
                raise _Unsupported(ins.name)
            label, arg = arg, 0
        elif opcode in _HAS_CONST:
            arg = self._const(arg)
        elif opcode in _HAS_LOCAL:
            arg = self._local_arg(ins, opcode, arg, location)
            if arg is None:
                return
        elif opcode in _HAS_NAME:
            arg = self._name_arg(opcode, arg)
        elif opcode in _HAS_FREE:
            arg = self._cell_arg(arg)
        elif opcode in _HAS_COMPARE:
            arg = self._compare_arg(arg)
        elif opcode in INTRINSIC:
            arg = arg.value
        elif not isinstance(arg, int):
            raise _Unsupported(ins.name)
        self._append(opcode, arg, location, label)

    def _append(self, opcode, arg, location, label=None):
        caches = _CACHES.get(opcode)
        if caches is None:
            caches = _CACHES[opcode] = version.cache_entries(opcode)
        self.instrs.append([opcode, arg, location, caches, label,
                            0 if arg <= 0xFF else _extended_args(arg)])

    def _local_arg(self, ins, opcode, arg, location):
        if opcode in DUAL_ARG_OPCODES:
            first, second = (self._varname(name) for name in arg)
            if first < 16 and second < 16:
                return (first << 4) + second
            # Too far for one instruction: the two it stands for.
            first_name, second_name = DUAL_ARG_OPCODES_SINGLE_OPS[opcode]
            self._append(dis.opmap[first_name], first, location)
            self._append(dis.opmap[second_name], second, location)
            return None
        if isinstance(arg, (CellVar, FreeVar)):
            return self._cell_arg(arg)
        if not isinstance(arg, str):
            raise _Unsupported(ins.name)
        return self._varname(arg)

    def _name_arg(self, opcode, arg):
        if opcode in BITFLAG_OPCODES:
            flag, name = arg
            if not isinstance(name, str):
                raise _Unsupported(dis.opname[opcode])
            return int(flag) + (self._name(name) << 1)
        if opcode in BITFLAG2_OPCODES:
            first, second, name = arg
            return int(first) + 2 * int(second) + (self._name(name) << 2)
        if not isinstance(arg, str):
            raise _Unsupported(dis.opname[opcode])
        return self._name(arg)

    def _cell_arg(self, arg):
        """The cell's place among the cells or the free variables; made an
        index into the frame's variables once every local is known."""
        if isinstance(arg, CellVar):
            self.cell_uses.append(len(self.instrs))
            return self.source.cellvars.index(arg.name)
        if isinstance(arg, FreeVar):
            self.free_uses.append(len(self.instrs))
            return self.source.freevars.index(arg.name)
        raise _Unsupported(arg)

    @staticmethod
    def _compare_arg(arg):
        if not isinstance(arg, Compare):
            raise _Unsupported(arg)
        return ops.compare_arg(arg)

    def _number_cells(self):
        """Cells live after the locals, a cell that is also an argument in
        the argument's place; free variables after the cells."""
        place, shared, unshared = {}, 0, 0
        for index, name in enumerate(self.source.cellvars):
            if name in self.varname_index:
                place[index] = self.varname_index[name]
                shared += 1
            else:
                place[index] = len(self.varnames) + unshared
                unshared += 1
        for at in self.cell_uses:
            self.instrs[at][1] = place[self.instrs[at][1]]
        free_start = len(self.varnames) + len(self.source.cellvars) - shared
        for at in self.free_uses:
            self.instrs[at][1] += free_start
        for at in self.cell_uses + self.free_uses:
            self.instrs[at][5] = _extended_args(self.instrs[at][1])

    # -- layout ----------------------------------------------------------

    def _lay_out(self):
        """Each instruction's first code unit (its EXTENDED_ARGs') and the
        unit of the instruction itself, with every jump's argument set:
        a jump made longer by its argument moves what follows, so until
        nothing moves."""
        instrs = self.instrs
        jumps = [(index, ins) for index, ins in enumerate(instrs) if ins[4] is not None]
        for _ in range(10):
            starts, offsets, unit = [], [], 0
            for ins in instrs:
                starts.append(unit)
                unit += ins[5]
                offsets.append(unit)
                unit += 1 + ins[3]
            starts.append(unit)
            moved = False
            for index, ins in jumps:
                after = offsets[index] + 1 + ins[3]
                target = starts[self.labels[ins[4]]]
                if ins[0] in _FORWARD_JUMPS:
                    ins[1] = target - after
                elif ins[0] in _BACKWARD_JUMPS:
                    ins[1] = after - target
                else:
                    raise _Unsupported(dis.opname[ins[0]])
                extended = _extended_args(ins[1])
                if extended != ins[5]:
                    ins[5], moved = extended, True
            if not moved:
                return starts, offsets
        raise _Unsupported("jumps that do not settle")

    def _raw_code(self):
        out = bytearray()
        for opcode, arg, _, caches, _, extended in self.instrs:
            for shift in range(8 * extended, 0, -8):
                out += bytes((_EXTENDED_ARG, (arg >> shift) & 0xFF))
            out.append(opcode)
            out.append(arg & 0xFF)
            if caches:
                out += _CACHE_UNITS[caches]
        return bytes(out)

    def _exception_table(self, starts, offsets):
        table = bytearray()
        for begin, (first, last, depth, lasti) in self.entries.items():
            # The range ends with the last instruction's caches.
            start, end = offsets[first], offsets[last] + self.instrs[last][3]
            table += _varint(start, True)
            table += _varint(end - start + 1)
            table += _varint(starts[self.labels[begin.target]])
            table += _varint((depth << 1) + int(lasti))
        return bytes(table)

    # -- positions --------------------------------------------------------

    def _locations(self):
        """The location table (Objects/locations.md in CPython), grouping
        runs of units that share a position as the package does: an
        instruction's EXTENDED_ARGs with it, each of its caches apart."""
        units = []
        for _, _, location, caches, _, extended in self.instrs:
            units.append((1 + extended, location))
            if caches:
                units += [(1, location)] * caches
        if not units:
            return b""
        table = bytearray()
        line = self.source.first_lineno
        size, current = units[0]
        for count, location in units[1:]:
            if current[0] is not None and location == current:
                size += count
                continue
            line = _push_location(table, size, line, current)
            size, current = count, location
        _push_location(table, size, line, current)
        return bytes(table)


def _number(items, index, key, value):
    """The index of ``value`` in ``items``, added the first time its key is seen."""
    found = index.get(key)
    if found is None:
        found = index[key] = len(items)
        items.append(value)
    return found


def _extended_args(arg):
    count = 0
    while arg > 0xFF:
        count += 1
        arg >>= 8
    return count


def _varint(value, first=False):
    """An exception table number: six bits a byte, most significant first,
    the first byte of an entry marked."""
    parts = []
    while value:
        parts.append(value & 63 | (64 if parts else 0))
        value >>= 6
    parts = parts or [0]
    if first:
        parts[-1] |= 128
    return bytes(reversed(parts))


def _location_varint(value):
    out = bytearray()
    while True:
        out.append(value & 0x3F)
        value >>= 6
        if not value:
            return out
        out[-1] |= 0x40


def _location_svarint(value):
    return _location_varint(((-value) << 1) | 1 if value < 0 else value << 1)


def _push_location(table, size, line, location):
    """Entries for ``size`` units at ``location``, eight at most each;
    returns the line the next entry's delta starts from."""
    while True:
        _pack_location(table, min(size, 8), line, location)
        line = location[0] if location[0] is not None else line
        size -= 8
        if size < 1:
            return line


def _pack_location(table, size, line, location):
    lineno, end_lineno, col, end_col = location

    def header(kind):
        return (1 << 7) + (kind << 3) + (size - 1)

    if lineno is None:
        table.append(header(15))
    elif col is None:
        table.append(header(13))
        table += _location_svarint(lineno - line)
    elif end_lineno == lineno and lineno == line and col < 72 and end_col - col <= 15:
        table += bytes((header(col // 8), ((col % 8) << 4) + (end_col - col)))
    elif end_lineno == lineno and lineno - line in (1, 2) and col < 256 and end_col < 256:
        table += bytes((header(10 + lineno - line), col, end_col))
    else:
        table.append(header(14))
        table += _location_svarint(lineno - line)
        table += _location_varint(end_lineno - lineno)
        table += _location_varint(col + 1)
        table += _location_varint(end_col + 1)
