"""Entries added to an assembled code object's exception table (CPython 3.11).

The ``bytecode`` package cannot assemble an exception range around a
``FOR_ITER``: when the loop ends, FOR_ITER pops the iterator and jumps out,
and the package then computes the handler's stack from the depth after that
jump, below the range's own depth.  So a ``for`` loop's unwinding handler is
assembled as unreachable code headed by a mark, and its range is added to
the table afterwards (``add_ranges``).  The table format is CPython's
(``Objects/exception_handling_notes.txt``): per entry, start, length, target
(in code units) and depth << 1 | lasti, each a varint of 6-bit chunks, most
significant first, 64 marking that another chunk follows and 128 the start
of an entry.
"""

import dis


class HandlerMark:
    """A constant loaded (in dead code) just before a handler whose range
    is added after assembly; the handler starts two instructions later."""

    __slots__ = ()

    def __repr__(self):
        return "<handler mark>"


MARK_SIZE = 4       # LOAD_CONST mark, POP_TOP


def add_ranges(code, ranges, size=2):
    """``code`` with the exception-table entries ``ranges`` added: each
    (offset of an instruction ``size`` bytes long with its inline caches,
    offset of the mark of its handler, stack depth).  An existing entry
    covering the instruction is split around it.  (The whole instruction:
    CPython 3.13 looks the handler of an instruction that fails up at its
    last cache unit.)"""
    entries = [(e.start, e.end, e.target, e.depth, e.lasti)
               for e in dis._parse_exception_table(code)]
    for offset, mark, depth in ranges:
        kept = []
        for start, end, target, old_depth, lasti in entries:
            if start <= offset < end:
                kept += [(start, offset, target, old_depth, lasti),
                         (offset + size, end, target, old_depth, lasti)]
            else:
                kept.append((start, end, target, old_depth, lasti))
        entries = [entry for entry in kept if entry[0] < entry[1]]
        entries.append((offset, offset + size, mark + MARK_SIZE, depth, False))
    return code.replace(co_exceptiontable=_encode(sorted(entries)))


def _encode(entries):
    out = bytearray()
    for start, end, target, depth, lasti in entries:
        _varint(out, start // 2, first=True)
        _varint(out, (end - start) // 2)
        _varint(out, target // 2)
        _varint(out, depth << 1 | int(lasti))
    return bytes(out)


def _varint(out, value, first=False):
    chunks = [value & 63]
    value >>= 6
    while value:
        chunks.append(value & 63)
        value >>= 6
    chunks.reverse()
    for position, chunk in enumerate(chunks):
        if position < len(chunks) - 1:
            chunk |= 64
        if first and position == 0:
            chunk |= 128
        out.append(chunk)
