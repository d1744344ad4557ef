"""CPython 3.12: CALL without PRECALL (its arguments counted with it),
method loads folded into LOAD_ATTR's and LOAD_SUPER_ATTR's low bit, jumps
without direction, checked and clearing local loads, and comprehensions
inline (PEP 709), each saving the variables it reuses on the value stack
with LOAD_FAST_AND_CLEAR."""

from bytecode import Instr

from . import base


class Emitter(base.Emitter):
    IF_TRUE = "POP_JUMP_IF_TRUE"
    IF_FALSE = "POP_JUMP_IF_FALSE"
    IF_NOT_NONE = "POP_JUMP_IF_NOT_NONE"
    CHECKED_LOAD = "LOAD_FAST_CHECK"   # LOAD_FAST would push NULL for an unbound local

    def attr_instr(self, name):
        return Instr("LOAD_ATTR", (False, name), location=self.loc)

    def call(self, argc):
        return [Instr("CALL", argc, location=self.loc)]

    def push_exit_of_manager(self, exit_method):
        self.op("PUSH_NULL", effect=1).op("LOAD_CONST", exit_method, 1)
        self.op("COPY", 3, 1).op("CALL", 1, -2)

    def end_for_loop(self, target):
        # The loop's exit is END_FOR, which pops the iterator and the value
        # FOR_ITER skips it with when the iterator is exhausted.
        self.op("LOAD_CONST", None, 1).op("JUMP_FORWARD", target)


class Ops(base.Ops):
    Emitter = Emitter
    REEVALUABLE = base.REEVALUABLE | {"KW_NAMES", "LOAD_FAST_CHECK"}
    LOCAL_LOADS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK"})
    UNBINDING = frozenset({"DELETE_FAST", "LOAD_FAST_AND_CLEAR"})
    SAVES_COMPREHENSION_VARIABLES = True

    def compare_arg(self, compare):
        # The low four bits say which outcomes are true (the specialized
        # forms read them), as the compiler sets them.
        return compare._get_mask() + (compare.value << 4)

    def saving_variables(self, names, loc, body):
        return base.saving_variables(names, loc, body)

    def _transfer_special(self, instr, index, stack, jump):
        name = instr.name
        if name in ("LOAD_ATTR", "LOAD_SUPER_ATTR") and instr.arg[0]:
            del stack[-(1 if name == "LOAD_ATTR" else 3):]
            return stack + [base.item(base.METHOD, index), base.item(base.OBJ, index)]
        if name == "LOAD_FAST_AND_CLEAR":
            return stack + [base.item(base.SHADOWED, index)]
        return None

    def method_as_attribute(self, instr):
        loc = instr.location
        return [Instr(instr.name, (False,) + tuple(instr.arg[1:]), location=loc),
                Instr("PUSH_NULL", location=loc),
                Instr("SWAP", 2, location=loc)]

    def prepare(self, instrs, params):
        """See ``base.keep_managers`` and ``base.read_unbound_saves_as_null``."""
        return base.read_unbound_saves_as_null(base.keep_managers(instrs), params)

    def cleared_names(self, instrs):
        return base.cleared_by_saves(instrs)


OPS = Ops()
