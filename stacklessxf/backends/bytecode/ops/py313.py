"""CPython 3.13: a call's stack is ``callable, self-or-NULL, arguments``
(``LOAD_GLOBAL`` pushes its NULL after the global, a method load its self
or NULL after the function); no ``PRECALL``, ``CALL_KW`` takes the keyword
names from the stack; jumps without direction, taking only bools; checked
and clearing local loads; superinstructions naming two locals; cells pushed
by ``LOAD_FAST`` (``LOAD_CLOSURE`` is a pseudo-instruction); and the
handler of a call whose Python callee failed looked up at the code unit
before the call."""

from bytecode import CellVar, Instr, TryBegin, TryEnd

from ....versions import current as version
from . import base


class Emitter(base.Emitter):
    IF_TRUE = "POP_JUMP_IF_TRUE"
    IF_FALSE = "POP_JUMP_IF_FALSE"
    IF_NOT_NONE = "POP_JUMP_IF_NOT_NONE"
    CHECKED_LOAD = "LOAD_FAST_CHECK"   # LOAD_FAST would push NULL for an unbound local

    def op(self, name, arg=base._NO_ARG, effect=0):
        if name == "LOAD_CLOSURE":
            name = "LOAD_FAST"
        return super().op(name, arg, effect)

    def attr_instr(self, name):
        return Instr("LOAD_ATTR", (False, name), location=self.loc)

    def call(self, argc):
        return [Instr("CALL", argc, location=self.loc)]

    def push_callee(self, function):
        self.op("LOAD_CONST", function, 1).op("PUSH_NULL", effect=1)
        return self

    def truth(self):
        return self.op("TO_BOOL")

    def push_exit_of_manager(self, exit_method):
        self.push_callee(exit_method).op("COPY", 3, 1).op("CALL", 1, -2)

    def end_for_loop(self, target):
        # The loop's exit is END_FOR (popping the value FOR_ITER skips it
        # with when the iterator is exhausted) and a POP_TOP of the iterator.
        self.op("LOAD_CONST", None, 1).op("JUMP_FORWARD", target)


# Superinstructions naming two locals, and the pair of instructions each is.
_PAIRS = {"LOAD_FAST_LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
          "STORE_FAST_LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
          "STORE_FAST_STORE_FAST": ("STORE_FAST", "STORE_FAST")}


_FUSED = {pair: name for name, pair in _PAIRS.items()}
_FIRSTS = frozenset(first for first, _ in _PAIRS.values())


def _pair_at(instrs, k):
    """The superinstruction that the pair of plain locals' instructions at
    ``k`` and ``k + 1``, on one line, stands for; else None."""
    if k + 1 >= len(instrs):
        return None
    first, second = instrs[k], instrs[k + 1]
    if not (isinstance(first, Instr) and isinstance(second, Instr)) or \
            type(first.arg) is not str or type(second.arg) is not str:
        return None
    lines = (first.location and first.location.lineno, second.location and second.location.lineno)
    if None not in lines and lines[0] != lines[1]:
        return None
    return _FUSED.get((first.name, second.name))


def _numbered_below_16(numbers, names):
    """Whether the assembler numbers each of ``names`` below 16, the ones
    not in ``numbers`` next (they are then added to it)."""
    fresh = [name for name in dict.fromkeys(names) if name not in numbers]
    if len(numbers) + len(fresh) > 16 or \
            any(numbers[name] >= 16 for name in names if name in numbers):
        return False
    for name in fresh:
        numbers[name] = len(numbers)
    return True


class Ops(base.Ops):
    Emitter = Emitter
    REEVALUABLE = (base.REEVALUABLE - {"LOAD_CLASSDEREF"}) | {
        "LOAD_FAST_CHECK", "TO_BOOL", "BINARY_SLICE"}
    LOCAL_LOADS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK"})
    UNBINDING = frozenset({"DELETE_FAST", "LOAD_FAST_AND_CLEAR"})
    SAVES_COMPREHENSION_VARIABLES = True
    FOR_ITER_GUARD_SIZE = 2 + 2 * version.cache_entries(base.dis.opmap["FOR_ITER"])
    # The compiler counts the stack before it makes a constant's load and
    # the return after it one RETURN_CONST: ``def f(): pass`` needs 1.
    STACK_PEAKS = {base.dis.opmap["RETURN_CONST"]: 1}

    def compare_arg(self, compare):
        # Four bits of outcomes, a fifth asking for a bool result.
        return compare._get_mask() + ((compare.value & 0b1111) << 5) + (compare.value & 16)

    def call_segment_size(self, instr):
        """Callable, self-or-NULL, the arguments (and ``CALL_KW``'s names),
        or for ``CALL_FUNCTION_EX`` callable, NULL, argument tuple and
        keyword dict."""
        if instr.name == "CALL":
            return instr.arg + 2
        if instr.name == "CALL_KW":
            return instr.arg + 3
        return 3 + (instr.arg & 1)

    def spill_count(self, call_instr):
        # Everything of the call but the NULL beneath the arguments.
        return self.call_segment_size(call_instr) - 1

    def spill(self, names, loc):
        depths = [len(names) + 1] + list(range(len(names) - 1, 0, -1))
        out = []
        for name, depth in zip(names, depths):
            out += [Instr("COPY", depth, location=loc), Instr("STORE_FAST", name, location=loc)]
        return out

    def reload_spilled(self, names, loc):
        return [Instr("LOAD_FAST", names[0], location=loc), Instr("PUSH_NULL", location=loc)] + [
            Instr("LOAD_FAST", name, location=loc) for name in names[1:]]

    def call_start(self, body):
        return len(body)        # every item of the call is on the stack by then

    def _transfer_special(self, instr, index, stack, jump):
        name = instr.name
        if name == "LOAD_GLOBAL" and instr.arg[0]:
            return stack + [base.item(base.OBJ, index), base.item(base.NULL, index)]
        if name in ("LOAD_ATTR", "LOAD_SUPER_ATTR") and instr.arg[0]:
            del stack[-(1 if name == "LOAD_ATTR" else 3):]
            return stack + [base.item(base.OBJ, index), base.item(base.METHOD, index)]
        if name == "LOAD_FAST_AND_CLEAR":
            return stack + [base.item(base.SHADOWED, index)]
        return None

    def method_as_attribute(self, instr):
        loc = instr.location
        return [Instr(instr.name, (False,) + tuple(instr.arg[1:]), location=loc),
                Instr("PUSH_NULL", location=loc)]

    def prepare(self, instrs, params):
        """Superinstructions split into the two they stand for, a cell's
        ``LOAD_FAST`` naming the cell, and a copy of each ``with``
        statement's manager kept beneath it (``base.keep_managers``), and
        the NULL a comprehension saves read as such
        (``base.read_unbound_saves_as_null``)."""
        cells = {ins.arg.name for ins in instrs
                 if isinstance(ins, Instr) and ins.name == "MAKE_CELL"}
        out = []
        for ins in instrs:
            if isinstance(ins, Instr) and ins.name in _PAIRS:
                out += [Instr(name, arg, location=ins.location)
                        for name, arg in zip(_PAIRS[ins.name], ins.arg)]
                continue
            if isinstance(ins, Instr) and ins.name == "LOAD_FAST" and isinstance(ins.arg, str) \
                    and ins.arg in cells:
                ins = Instr("LOAD_FAST", CellVar(ins.arg), location=ins.location)
            out.append(ins)
        return base.read_unbound_saves_as_null(base.keep_managers(out), params)

    def fuse(self, instrs, argnames):
        """Each pair of ``_PAIRS`` on one line, nothing between them, becomes
        its superinstruction again, as the compiler makes them: where both
        locals' numbers are below 16.  The assembler numbers the arguments
        first, then the locals of superinstructions in order."""
        numbers = {name: k for k, name in enumerate(argnames)}
        fused, k = [], 0
        while k < len(instrs):
            first = instrs[k]
            name = _pair_at(instrs, k) if type(first) is Instr and first.name in _FIRSTS else None
            if name is not None:
                names = (first.arg, instrs[k + 1].arg)
                if _numbered_below_16(numbers, names):
                    fused.append(Instr(name, names, location=first.location))
                    k += 2
                    continue
            fused.append(first)
            k += 1
        return fused

    def cleared_names(self, instrs):
        return base.cleared_by_saves(instrs)

    def saving_variables(self, names, loc, body):
        return base.saving_variables(names, loc, body)

    def callee(self, function, loc):
        return [Instr("LOAD_CONST", function, location=loc), Instr("PUSH_NULL", location=loc)]

    def call_with_stack_top(self, function, loc):
        # [x] -> [f, x] -> [f, NULL, x]
        return [Instr("LOAD_CONST", function, location=loc), Instr("SWAP", 2, location=loc),
                Instr("PUSH_NULL", location=loc), Instr("SWAP", 2, location=loc),
                Instr("CALL", 1, location=loc)]

    def load_cell(self, cell):
        return Instr("LOAD_FAST", cell)

    def resumes_after_yield(self, arg):
        return arg & 3 == 1     # the argument's bit 2 is the exception depth

    def guard_call(self, body, guard, call):
        """The guard also covers the code unit before the call, where the
        interpreter looks the handler of a failed Python callee up: the
        instruction before the call where it directly precedes it (an
        exception that instruction raises passes through the handler, which
        re-raises it to the one the instruction had), or else a NOP.  An
        instruction that calls from C (a ``with`` statement's call of
        ``__enter__`` or ``__exit__``) fails at itself: its guard is the
        base's."""
        if call.name not in self.CALL_NAMES:
            return super().guard_call(body, guard, call)
        closing = []
        at = len(body) - 1
        if at >= 0 and isinstance(body[at], TryEnd):    # the enclosing range, closed
            closing, at = [body[at]], at - 1
        previous = body[at] if at >= 0 else None
        if isinstance(previous, Instr) and not previous.has_jump() and \
                previous.name not in self.CALL_NAMES:
            del body[at:]
            return closing + [guard, previous, call, TryEnd(guard)]
        return [guard, Instr("NOP", location=call.location), call, TryEnd(guard)]


OPS = Ops()
