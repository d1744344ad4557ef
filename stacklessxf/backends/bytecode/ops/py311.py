"""CPython 3.11: PRECALL before CALL, LOAD_METHOD, jumps named by direction,
comprehensions as functions of their own."""

from bytecode import Instr

from . import base


class Emitter(base.Emitter):
    IF_TRUE = "POP_JUMP_FORWARD_IF_TRUE"
    IF_FALSE = "POP_JUMP_FORWARD_IF_FALSE"
    IF_NOT_NONE = "POP_JUMP_FORWARD_IF_NOT_NONE"

    def attr_instr(self, name):
        return Instr("LOAD_ATTR", name, location=self.loc)

    def call(self, argc):
        return [Instr("PRECALL", argc, location=self.loc), Instr("CALL", argc, location=self.loc)]


class Ops(base.Ops):
    Emitter = Emitter
    REEVALUABLE = base.REEVALUABLE | {"KW_NAMES", "PRECALL", "LOAD_METHOD"}
    BACKWARD_IF_TRUE = "POP_JUMP_BACKWARD_IF_TRUE"

    def call_segment_size(self, instr):
        # The bytecode package counts PRECALL as taking the arguments.
        return 2 if instr.name == "CALL" else super().call_segment_size(instr)

    def _transfer_special(self, instr, index, stack, jump):
        if instr.name == "LOAD_METHOD":
            stack.pop()
            return stack + [base.item(base.METHOD, index), base.item(base.OBJ, index)]
        return None

    def method_as_attribute(self, instr):
        loc = instr.location
        return [Instr("LOAD_ATTR", instr.arg, location=loc),
                Instr("PUSH_NULL", location=loc),
                Instr("SWAP", 2, location=loc)]

    def call_start(self, body):
        start = max(i for i, x in enumerate(body) if isinstance(x, Instr) and x.name == "PRECALL")
        return super().call_start(body[:start])


OPS = Ops()
