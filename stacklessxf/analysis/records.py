"""What each resume point needs saved: its kind and its live slots.

- ``tail``: the call's result is returned as it is and no handler covers the
  call, so the inner activation can return straight to our caller;
- ``stateless``: nothing but the result is live, so one shared record serves;
- ``stateful``: the live slots are saved, user variables first, then temps.
"""

from dataclasses import dataclass

from stacklessxf.frontend.subset import callee_text, source_span
from stacklessxf.ir.model import Jump, Return, is_temp, temp_number


@dataclass(frozen=True)
class ResumePoint:
    id: int
    span: tuple  # (lineno, col_offset, end_lineno, end_col_offset) of the call
    callee: str
    reason: str  # 'stackless' | 'switch' | 'unknown callee' | 'guarded: ...'
    kind: str  # 'tail' | 'stateless' | 'stateful'
    live: tuple  # live slots after the call, without the call's own result
    naive_slots: int  # every user variable, plus the temps live across the call

    @property
    def k(self):
        return len(self.live)

    @property
    def label(self):
        return f"stateful({self.k})" if self.kind == "stateful" else self.kind


def slot_order(names):
    """User variables sorted by name, then temporaries by number."""
    users = sorted(name for name in names if not is_temp(name))
    temps = sorted((name for name in names if is_temp(name)), key=temp_number)
    return tuple(users + temps)


def resume_points(function, liveness):
    """The ResumePoint of every Call op of `function`, ordered by id."""
    found = []
    after_by_block = {}
    for block, index, op in function.call_ops():
        if block not in after_by_block:
            after_by_block[block] = liveness.live_after_ops(block)
        tail = is_tail_call(block, index, op)
        # A tail call saves nothing, not even what the function keeps always live.
        live = () if tail else slot_order(after_by_block[block][index] - {op.result})
        kind = "tail" if tail else "stateful" if live else "stateless"
        temps = sum(1 for name in live if is_temp(name))
        found.append(ResumePoint(
            id=op.resume_point,
            span=source_span(op.node),
            callee=callee_text(op.node),
            reason=op.reason,
            kind=kind,
            live=live,
            naive_slots=len(function.variables) + temps,
        ))
    return found


def is_tail_call(block, index, op):
    """Whether the call's result is returned as it is, with nothing in between
    and no handler around the call."""
    if index != len(block.ops) - 1 or block.handler is not None:
        return False
    terminator = block.terminator
    passed = set()
    while isinstance(terminator, Jump):
        target = terminator.target
        if target.ops or target in passed:
            return False
        passed.add(target)
        terminator = target.terminator
    return isinstance(terminator, Return) and terminator.value == op.result
