"""Liveness of variables over the IR: a backward dataflow over blocks.

Exception edges count: whatever is live where a block's handler starts is live
at every point of the block, since any op in it may raise.  Cell and free
variables are never killed: a store into one goes through its cell, which a
closure may read later, so every reference to them counts as a use.  The
function's ``always_live`` variables are live everywhere.
"""


class Liveness:
    """Live variables at the entry of every block and after every op."""

    def __init__(self, function):
        self.function = function
        self.closure = function.closure_variables
        self.live_in = {block: frozenset() for block in function.blocks}
        self._solve()

    def _solve(self):
        changed = True
        while changed:
            changed = False
            for block in reversed(self.function.blocks):
                live, _ = self._walk_block(block)
                if live != self.live_in[block]:
                    self.live_in[block] = live
                    changed = True

    def uses_and_defs(self, op):
        uses = set(op.uses())
        defs = set(op.defs())
        return uses | (defs & self.closure), defs - self.closure

    def _walk_block(self, block):
        """(live at entry, [live right after each op]) for one block."""
        guarded = self.function.always_live
        if block.handler is not None:
            guarded = guarded | self.live_in[block.handler]
        live = set(block.terminator.uses()) | guarded
        for target in block.terminator.targets():
            live |= self.live_in[target]
        after = [None] * len(block.ops)
        for index in range(len(block.ops) - 1, -1, -1):
            after[index] = frozenset(live)
            uses, defs = self.uses_and_defs(block.ops[index])
            live = (live - defs) | uses | guarded
        return frozenset(live), after

    def live_after_ops(self, block):
        """The variables live right after each op of `block`, in order."""
        return self._walk_block(block)[1]
