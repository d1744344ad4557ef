"""Dataflow over an instruction list: value-stack contents, liveness of
locals, and which locals are certainly bound.  Version-specific facts come
from the ``ops`` handed in (``ops.current``)."""

from bytecode import Instr, Label, TryBegin, TryEnd


class InstructionFlow:
    """Successors and exception coverage of every position in ``instrs``."""

    def __init__(self, instrs):
        self.instrs = instrs
        self.label_at = {ins: i for i, ins in enumerate(instrs) if isinstance(ins, Label)}
        self.cover = []
        open_entry = None
        for ins in instrs:
            if isinstance(ins, TryBegin):
                open_entry = ins
            elif isinstance(ins, TryEnd):
                open_entry = None
            self.cover.append(open_entry)

    def normal_successors(self, i):
        """(index, taken_jump) pairs reached without an exception."""
        ins = self.instrs[i]
        if not isinstance(ins, Instr):
            return [(i + 1, False)] if i + 1 < len(self.instrs) else []
        out = []
        if ins.has_jump():
            out.append((self.label_at[ins.arg], True))
        if not (ins.is_final() or ins.is_uncond_jump()) and i + 1 < len(self.instrs):
            out.append((i + 1, False))
        return out

    def exception_successor(self, i):
        entry = self.cover[i]
        if entry is None or not isinstance(self.instrs[i], Instr):
            return None
        return self.label_at[entry.target]

    def successors(self, i):
        out = [j for j, _ in self.normal_successors(i)]
        handler = self.exception_successor(i)
        if handler is not None:
            out.append(handler)
        return out


def stack_states(flow, ops):
    """The value stack (a list of ops.item tuples) before every position."""
    states = [None] * len(flow.instrs)
    work = [(0, [])]
    while work:
        i, stack = work.pop()
        if states[i] is not None:
            merged = [ops.merge_items(a, b) for a, b in zip(states[i], stack)]
            if len(states[i]) != len(stack):
                raise ValueError(f"stack depth mismatch at {i}")
            if merged == states[i]:
                continue
            stack = merged
        states[i] = stack
        ins = flow.instrs[i]
        if isinstance(ins, Instr):
            handler = flow.exception_successor(i)
            if handler is not None:
                work.append((handler, ops.handler_entry_stack(stack, flow.cover[i])))
        for j, jump in flow.normal_successors(i):
            after = ops.transfer(ins, i, stack, jump) if isinstance(ins, Instr) else stack
            work.append((j, after))
    return states


def live_variables(flow, ops):
    """live_in[i]: locals (and ('cell', name) pairs) read at or after i
    before being written."""
    n = len(flow.instrs)
    uses, defs = [], []
    for ins in flow.instrs:
        u, d = ops.uses_and_defs(ins) if isinstance(ins, Instr) else (set(), set())
        uses.append(u)
        defs.append(d)
    succs = [flow.successors(i) for i in range(n)]
    live_in = [frozenset()] * n
    changed = True
    while changed:
        changed = False
        for i in range(n - 1, -1, -1):
            out = set()
            for j in succs[i]:
                out |= live_in[j]
            new = frozenset(uses[i] | (out - defs[i]))
            if new != live_in[i]:
                live_in[i] = new
                changed = True
    return live_in


def live_after(flow, live_in, i):
    out = set()
    for j in flow.successors(i):
        out |= live_in[j]
    return out


def certainly_bound(flow, ops, params, unsure=frozenset()):
    """bound[i]: locals that hold a value on every path reaching i, except
    those in ``unsure``."""
    n = len(flow.instrs)
    bound = [None] * n
    work = [(0, frozenset(params))]
    while work:
        i, state = work.pop()
        if bound[i] is not None:
            state = bound[i] & state
            if state == bound[i]:
                continue
        bound[i] = state
        ins = flow.instrs[i]
        after = state
        if isinstance(ins, Instr):
            handler = flow.exception_successor(i)
            if handler is not None:
                work.append((handler, state))
            if ins.name == "STORE_FAST":
                after = state | {ins.arg}
            elif ins.name in ops.UNBINDING:
                after = state - {ins.arg}
        for j, _ in flow.normal_successors(i):
            work.append((j, after))
    return [b - unsure if b is not None else frozenset() for b in bound]
