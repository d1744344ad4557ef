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

    def saving_variables(self, names, loc, body):
        """``body`` ([iterator] -> [container]) with the locals ``names``
        saved beneath it and restored after it, as the compiler runs the
        comprehensions it inlines."""
        count = len(names)
        saves = [Instr("LOAD_FAST_AND_CLEAR", name, location=loc) for name in names]
        restores = [Instr("STORE_FAST", name, location=loc) for name in reversed(names)]
        return saves + [Instr("SWAP", count + 1, location=loc), *body,
                        Instr("SWAP", count + 1, location=loc), *restores]

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
        """A comprehension's LOAD_FAST_AND_CLEAR of a variable that nothing
        outside it binds pushes NULL: it becomes PUSH_NULL, which every
        analysis knows.  BEFORE_WITH drops the manager and its __exit__
        when __enter__ fails (an unwinding), so a copy of the manager stays
        beneath it, from which a resume finds the __exit__ again."""
        instrs = _keep_managers(instrs)
        clearing = {}
        for ins in instrs:
            if isinstance(ins, Instr) and ins.name == "LOAD_FAST_AND_CLEAR":
                clearing.setdefault(ins.arg, set()).add(base.span_of(ins.location))
        if not clearing:
            return instrs
        # Where each variable is bound, the comprehensions' own restores of
        # what they saved (at the comprehension's span) left out.
        bindings = {name: [] for name in clearing}
        for ins in instrs:
            name = _name_of(ins) if isinstance(ins, Instr) and ins.name in _BINDING else None
            if name in bindings and base.span_of(ins.location) not in clearing[name]:
                bindings[name].append(base.span_of(ins.location))
        out = []
        for ins in instrs:
            if isinstance(ins, Instr) and ins.name == "LOAD_FAST_AND_CLEAR" and \
                    ins.arg not in params and _unbound_at(
                        base.span_of(ins.location), bindings[ins.arg], clearing[ins.arg]):
                ins = Instr("PUSH_NULL", location=ins.location)
            out.append(ins)
        return out

    def cleared_names(self, instrs):
        # The comprehension's end stores back what it saved, perhaps NULL.
        return frozenset(ins.arg for ins in instrs
                         if isinstance(ins, Instr) and ins.name == "LOAD_FAST_AND_CLEAR")


_BINDING = frozenset({"STORE_FAST", "DELETE_FAST", "MAKE_CELL", "STORE_DEREF"})


def _keep_managers(instrs):
    out = []
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name == "BEFORE_WITH":
            loc = ins.location
            # [m] -> [m, m] -> [m, exit, result] -> [exit, result]
            out += [Instr("COPY", 1, location=loc), ins, Instr("SWAP", 2, location=loc),
                    Instr("SWAP", 3, location=loc), Instr("POP_TOP", location=loc)]
        else:
            out.append(ins)
    return out


def _name_of(ins):
    return getattr(ins.arg, "name", ins.arg)     # a cell's, or a fast local's


def _inside(inner, outer):
    return outer[:2] <= inner[:2] and inner[2:] <= outer[2:]


def _unbound_at(span, bindings, clearing_spans):
    """Whether a comprehension at ``span`` clearing a variable finds it
    unbound: every binding of it lies inside ``span`` or inside another
    comprehension clearing it that does not contain ``span`` (which
    restores it when it ends)."""
    others = [s for s in clearing_spans if s != span and not _inside(span, s)]
    return all(_inside(use, span) or any(_inside(use, s) for s in others)
               for use in bindings)


OPS = Ops()
