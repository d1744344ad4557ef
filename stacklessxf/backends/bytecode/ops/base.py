"""What the bytecode backend knows about CPython's instruction set, shared
by every version; each version's module (``py311.py``, ...) defines
``OPS``, an instance of an ``Ops`` subclass that sets the version's names
and overrides what differs.

This is how each instruction moves the value stack (at the level of detail
the backend needs), where a call's own stack items start, and the
instruction sequences the backend emits.
"""

import bisect
import dis
import functools
import inspect
import sys

from bytecode import CellVar, FreeVar, Instr, Label, TryBegin, TryEnd

from ....runtime.records import Slot
from ....versions import current as version

# Kinds of value-stack items.  Only NULL (a C NULL the interpreter keeps for
# calls), METHOD (a NULL-or-method pushed by a method load) and SHADOWED (a
# NULL-or-value: an inline comprehension's save of a variable it reuses)
# need care: a NULL cannot be copied into a record.  CONST items are pushed
# again on resume instead of being saved.  EXC_PREV is the exception state
# an ``except`` block restores when it ends.
NULL, METHOD, SHADOWED, CONST, OBJ, EXC_PREV, MIXED = (
    "null", "method", "shadowed", "const", "obj", "exc_prev", "mixed")

# Kinds a record cannot hold and a call site must not have beneath it.
UNSAVED = frozenset({METHOD, SHADOWED, MIXED})

# Code whose frames do not simply end at RETURN_VALUE: a switch cannot pass
# them by returning.
RESUMABLE_FLAGS = (inspect.CO_GENERATOR | inspect.CO_COROUTINE |
                   inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR)

# A frame may return with items left on its value stack (the interpreter
# releases them with the frame), except in a debug build, which asserts an
# empty stack at every return.
RETURN_MAY_LEAVE_STACK = not hasattr(sys, "gettotalrefcount")

# Instructions that can be run a second time with the same inputs to rebuild
# a call's callee and arguments, when the call has to be retried because the
# interpreter refused to start it at the recursion limit.
REEVALUABLE = frozenset({
    "NOP", "LOAD_FAST", "LOAD_CONST", "LOAD_GLOBAL", "LOAD_DEREF",
    "LOAD_CLASSDEREF", "PUSH_NULL", "LOAD_ATTR", "SWAP", "BINARY_OP",
    "BINARY_SUBSCR", "UNARY_NEGATIVE", "UNARY_NOT", "UNARY_INVERT",
    "UNARY_POSITIVE", "COMPARE_OP", "IS_OP", "CONTAINS_OP", "BUILD_TUPLE",
    "BUILD_LIST", "BUILD_SET", "BUILD_MAP", "BUILD_CONST_KEY_MAP",
    "LIST_EXTEND", "LIST_TO_TUPLE", "SET_UPDATE", "DICT_UPDATE", "DICT_MERGE",
    "BUILD_SLICE",
})


def span_of(location):
    """An instruction's source span: (line, column, end line, end column)."""
    return (location.lineno, location.col_offset, location.end_lineno, location.end_col_offset)


def item(kind, producer=None, value=None):
    return (kind, producer, value)


def merge_items(a, b):
    if a == b:
        return a
    if NULL in (a[0], b[0]) or {a[0], b[0]} & UNSAVED:
        return item(MIXED)
    if a[0] == EXC_PREV and b[0] == EXC_PREV:
        return item(EXC_PREV)
    return item(OBJ)


# The exception a handler finds on top of the stack.
HANDLER_EXCEPTION = "exception"


def handler_entry_stack(stack, try_begin):
    """The stack a handler starts with when ``stack`` is unwound to it."""
    entry = list(stack[:try_begin.stack_depth])
    if try_begin.push_lasti:
        entry.append(item(OBJ))
    entry.append(item(OBJ, None, HANDLER_EXCEPTION))
    return entry


def stack_needs(items, instrs):
    """For each value-stack item, what the interpreter relies on it being
    without checking (a Slot need), or None: a ``for`` loop's iterator (its
    type's next function is called as is), the exceptions a handler or an
    ``except`` block re-raises or restores."""
    needs = []
    for kind, producer, value in items:
        need = None
        if kind == EXC_PREV:
            need = Slot.EXCEPTION_OR_NONE
        elif kind == OBJ and producer is None:
            need = Slot.EXCEPTION if value == HANDLER_EXCEPTION else None
        elif kind == OBJ and isinstance(producer, int):
            need = {"GET_ITER": Slot.ITERATOR,
                    "PUSH_EXC_INFO": Slot.EXCEPTION}.get(instrs[producer].name)
        needs.append(need)
    return tuple(needs)


def global_names(instrs):
    """Names the instructions load as globals or builtins."""
    found = set()
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name == "LOAD_GLOBAL":
            found.add(ins.arg[1])
        elif isinstance(ins, Instr) and ins.name == "LOAD_NAME":
            found.add(ins.arg)
    return found


def spill(names, loc):
    """Copy a call's callable and arguments into locals before it runs."""
    out = []
    depth = len(names)
    for name in names:
        out += [Instr("COPY", depth, location=loc),
                Instr("STORE_FAST", name, location=loc)]
        depth -= 1
    return out


def reload_spilled(names, loc):
    return [Instr("PUSH_NULL", location=loc)] + [
        Instr("LOAD_FAST", name, location=loc) for name in names]


def is_tail_return(instrs, call_index):
    """True when nothing but popping and returning follows the call."""
    i = call_index + 1
    while i < len(instrs):
        ins = instrs[i]
        if isinstance(ins, Instr):
            if ins.name == "RETURN_VALUE":
                return True
            if ins.name not in ("SWAP", "POP_TOP"):
                return False
        elif not isinstance(ins, (TryEnd, Label)):
            return False
        i += 1
    return False


_NO_ARG = object()

# Instr() checks its name and argument each time (most of its 2.8 µs on
# 3.13; a handler is some forty instructions); the package's own decoder
# builds instructions it knows to be good through a constructor without
# the checks (0.8 µs), which the emitter uses where the package has it.
# A wrong argument still fails: the assembler hands what it does not know
# to the package, which checks it.
_UNCHECKED = getattr(Instr, "_from_trusted", None)
try:
    from bytecode.instr import UNSET as _UNSET
    from bytecode.instr import CACHE_ONLY_ARG_OPCODES as _ZERO_WITHOUT_ARG
except ImportError:     # pragma: no cover - depends on the package's version
    _UNCHECKED = None


def _instr(name, arg, location):
    if _UNCHECKED is None:
        return Instr(name, location=location) if arg is _NO_ARG else \
            Instr(name, arg, location=location)
    opcode = dis.opmap[name]
    if arg is _NO_ARG:
        arg = 0 if opcode in _ZERO_WITHOUT_ARG else _UNSET
    return _UNCHECKED(name, opcode, arg, location)


class Emitter:
    """Builds instruction sequences while tracking the stack depth.  A
    version's subclass names its conditional jumps and its checked load,
    and says how an attribute is loaded and a function called."""

    IF_TRUE = IF_FALSE = IF_NOT_NONE = None
    CHECKED_LOAD = "LOAD_FAST"    # raises UnboundLocalError for an unbound local

    def __init__(self, depth, loc):
        self.out = []
        self.depth = depth
        self.loc = loc

    def op(self, name, arg=_NO_ARG, effect=0):
        self.out.append(_instr(name, arg, self.loc))
        self.depth += effect
        return self

    def attr_instr(self, name):
        """The instruction replacing TOS by its attribute ``name``."""
        raise NotImplementedError

    def attr(self, name):
        self.out.append(self.attr_instr(name))
        return self

    def push_callee(self, function):
        """Push the constant ``function`` and its NULL, as a call finds them."""
        self.op("PUSH_NULL", effect=1).op("LOAD_CONST", function, 1)
        return self

    def truth(self):
        """Make the top of stack what a conditional jump tests (where the
        jumps take any object, it already is)."""
        return self

    def call(self, argc):
        """Instructions calling the callable beneath ``argc`` arguments (and
        a NULL beneath it), leaving the result."""
        raise NotImplementedError

    def push_exit_of_manager(self, exit_method):
        """[..., manager] -> [..., manager, its __exit__] where the
        interpreter's BEFORE_WITH does not keep the exit (a resume entry's
        work: it calls ``exit_method``)."""

    def end_for_loop(self, target):
        """[..., iterator] -> goes where the ``for`` loop whose exit label is
        ``target`` goes when its iterator is exhausted."""
        self.op("POP_TOP", effect=-1).op("JUMP_FORWARD", target)

    def test_for(self, marker, target):
        """[R] -> [R], going to ``target`` when R is ``marker``."""
        self.op("COPY", 1).op("LOAD_CONST", marker).op("IS_OP", 0).op(self.IF_TRUE, target)
        return self.out

    def label(self, label):
        self.out.append(label)
        return self

    def guarded_load(self, name, unbound):
        """LOAD_FAST that yields ``unbound`` instead of raising."""
        guard, done = Label(), Label()
        entry = TryBegin(guard, False, self.depth)
        self.out += [entry, Instr(self.CHECKED_LOAD, name, location=self.loc),
                     TryEnd(entry)]
        self.op("JUMP_FORWARD", done)
        self.label(guard).op("POP_TOP").op("LOAD_CONST", unbound)
        self.label(done)
        self.depth += 1

    def covered(self, entry_template, instrs):
        """Emit ``instrs`` under a copy of ``entry_template`` (or bare)."""
        if entry_template is None:
            self.out += instrs
            return
        entry = TryBegin(entry_template.target, entry_template.push_lasti,
                         entry_template.stack_depth)
        self.out += [entry, *instrs, TryEnd(entry)]

    # -- pieces of the unwinding handler -------------------------------

    def dispatch_exception(self, unwind_cls, save, passthrough, handover, refused=None):
        """[P, exc] -> SAVE with [P, u] for an Unwind; a RecursionError
        raised by this very call starting the depth unwinding falls through
        with [P], and so does a MemoryError when ``refused`` (the depth
        check's marker, see runtime/depth.py) is true; anything else goes to
        ``passthrough`` with [P, exc]."""
        self.op("LOAD_CONST", unwind_cls, 1).op("CHECK_EXC_MATCH", effect=0)
        self.op(self.IF_TRUE, save, -1)
        self.op("LOAD_CONST", RecursionError, 1).op("CHECK_EXC_MATCH")
        if refused is None:
            self.op(self.IF_FALSE, passthrough, -1)
        else:
            refused_call = Label()
            self.op(self.IF_TRUE, refused_call, -1)
            self.op("LOAD_CONST", MemoryError, 1).op("CHECK_EXC_MATCH")
            self.op(self.IF_FALSE, passthrough, -1)
            self.op("LOAD_CONST", refused, 1).truth()
            self.op(self.IF_FALSE, passthrough, -1)
            self.label(refused_call)
        self.op("COPY", 1, 1).attr("__traceback__")
        self.attr("tb_next")
        self.op(self.IF_NOT_NONE, passthrough, -1)
        # The call never started: this frame is the innermost to unwind.
        self.attr("__traceback__").op("COPY", 1, 1)
        self.load_handed_over(handover, "depth_unwind").op("STORE_ATTR", "__traceback__", -2)
        # Remember the code of the refusing frame's caller (not a frame:
        # frame objects would keep every unwound activation's locals alive).
        no_caller, stored = Label(), Label()
        self.attr("tb_frame").attr("f_back")
        entry = TryBegin(no_caller, False, self.depth - 1)
        self.out += [entry, self.attr_instr("f_code"), TryEnd(entry)]
        self.op("JUMP_FORWARD", stored)
        self.label(no_caller).op("POP_TOP").op("LOAD_CONST", None)
        self.label(stored)
        self.load_handed_over(handover, "depth_unwind").op("STORE_ATTR", "origin", -2)
        for records in ("chain", "tails"):
            self.load_handed_over(handover, records)
            self.op("LOAD_CONST", None, 1).op("LOAD_CONST", None, 1)
            self.op("BUILD_SLICE", 2, -1).op("DELETE_SUBSCR", effect=-2)

    def dispatch_exception_in_c(self, unwind_cls, save, passthrough, handover, unwind_local):
        """``dispatch_exception`` where the hand-over is the C extension's:
        ``handover[exc]`` makes the tests after the Unwind's and starts the
        depth unwinding, which falls through with [P] and ``unwind_local``
        holding its Unwind."""
        started = Label()
        self.op("LOAD_CONST", unwind_cls, 1).op("CHECK_EXC_MATCH", effect=0)
        self.op(self.IF_TRUE, save, -1)
        self.op("LOAD_CONST", handover, 1).op("COPY", 2, 1).op("BINARY_SUBSCR", effect=-1)
        self.op("COPY", 1, 1).op(self.IF_NOT_NONE, started, -1)
        self.op("POP_TOP", effect=-1).op("JUMP_FORWARD", passthrough)
        self.depth += 1
        self.label(started).op("STORE_FAST", unwind_local, -1).op("POP_TOP", effect=-1)

    def dispatch_unwind(self, unwind_cls, passthrough):
        """[P, exc] -> falls through with [P, u] for an Unwind; anything else
        (a RecursionError too) goes to ``passthrough`` with [P, exc]."""
        self.op("LOAD_CONST", unwind_cls, 1).op("CHECK_EXC_MATCH", effect=0)
        self.op(self.IF_FALSE, passthrough, -1)

    def take_handled_exception(self, name):
        """Store the exception being handled in local ``name``."""
        self.op("LOAD_CONST", None, 1).op("PUSH_EXC_INFO", effect=1)
        self.op("POP_TOP", effect=-1).op("STORE_FAST", name, -1)

    def restore_exception_state(self, distance):
        """Make the stack item ``distance`` from the top the exception state."""
        self.op("COPY", distance, 1).op("POP_EXCEPT", effect=-1)

    def load_handed_over(self, handover, name):
        """Push this thread's ``handover.name`` (see runtime/records.py):
        an attribute read in C, which calls nothing."""
        return self.op("LOAD_CONST", handover, 1).attr(name)

    def append_handed_over(self, handover, name):
        """[x] -> []: append x to this thread's ``handover.name``."""
        self.load_handed_over(handover, name)
        self.op("SWAP", 2).op("LIST_APPEND", 1, -1).op("POP_TOP", effect=-1)

    def propagate_or_absorb(self, unwind_local, marker, absorb, handover=None):
        """Re-raise to the caller when it is transformed code or the
        trampoline (both have ``marker`` as their last constant); otherwise
        go to ``absorb``, where the trampoline runs in this frame.  Nothing
        in here calls anything, so it works at the recursion limit.  With a
        ``handover`` that has it (see runtime/records.py), the test is its
        ``pass_on``, made in C, which also drops the traceback."""
        not_ours = None
        if handover is not None:
            self.load_handed_over(handover, "pass_on")
            self.op(self.IF_FALSE, absorb, -1)
        else:
            not_ours = self._load_callers_last_constant(unwind_local)
            self.op("LOAD_CONST", marker, 1).op("IS_OP", 0, -1)
            self.op(self.IF_FALSE, absorb, -1)
            # Drop the traceback so far: nothing reads it, and freeing it
            # (and the frame objects it holds) now keeps unwinding cheap.
            self.op("LOAD_CONST", None, 1).op("LOAD_FAST", unwind_local, 1)
            self.op("STORE_ATTR", "__traceback__", -2)
        self.op("LOAD_FAST", unwind_local, 1).op("RERAISE", 0, -1)
        if not_ours is not None:
            self.depth += 1
            self.label(not_ours).op("POP_TOP", effect=-1)
            self.op("JUMP_FORWARD", absorb)

    def _load_callers_last_constant(self, unwind_local):
        """Push the last constant of the code of the frame this one returns
        to; when there is none (no caller: AttributeError on None; no
        constants: IndexError), go to the returned label instead, with one
        item pushed."""
        not_ours = Label()
        self.op("LOAD_FAST", unwind_local, 1).attr("__traceback__")
        self.attr("tb_frame").attr("f_back")
        entry = TryBegin(not_ours, False, self.depth - 1)
        self.out += [entry,
                     self.attr_instr("f_code"),
                     self.attr_instr("co_consts"),
                     Instr("LOAD_CONST", -1, location=self.loc),
                     Instr("BINARY_SUBSCR", location=self.loc),
                     TryEnd(entry)]
        return not_ours

    def clear_and_run_trampoline(self, unwind_local, handover, run_unwound, absorb_target,
                                 in_c=False):
        """Drop the whole value stack (by re-raising into a handler whose
        depth is zero), take the records out of ``chain`` before anything is
        called (another thread may unwind as soon as a call is made), then
        return what the trampoline returns for them.  With ``in_c``, the
        hand-over is the C extension's, whose ``chain_taken`` takes them."""
        self.op("LOAD_FAST", unwind_local, 1)
        entry = TryBegin(absorb_target, False, 0)
        self.out += [entry, Instr("RERAISE", 0, location=self.loc), TryEnd(entry)]
        self.depth = 1
        self.label(absorb_target).op("POP_TOP", effect=-1)
        self.push_callee(run_unwound)
        if in_c:
            self.load_handed_over(handover, "chain_taken")
        else:
            self.load_handed_over(handover, "chain")
            self.op("COPY", 1, 1).op("LOAD_CONST", None, 1).op("LOAD_CONST", None, 1)
            self.op("BUILD_SLICE", 2, -1).op("BINARY_SUBSCR", effect=-1)
            self.op("SWAP", 2).op("LOAD_CONST", None, 1).op("LOAD_CONST", None, 1)
            self.op("BUILD_SLICE", 2, -1).op("DELETE_SUBSCR", effect=-2)
        self.out += self.call(1)
        self.depth -= 2
        self.op("RETURN_VALUE", effect=-1)

    # -- pieces of the resume entry ------------------------------------

    def record_item(self, record_local, index):
        self.op("LOAD_FAST", record_local, 1).op("LOAD_CONST", index, 1)
        self.op("BINARY_SUBSCR", effect=-1)

    def restore_local(self, record_local, index, name, maybe_unbound, unbound):
        self.record_item(record_local, index)
        if not maybe_unbound:
            self.op("STORE_FAST", name, -1)
            return
        skip, done = Label(), Label()
        self.op("COPY", 1, 1).op("LOAD_CONST", unbound, 1).op("IS_OP", 0, -1)
        self.op(self.IF_TRUE, skip, -1)
        self.op("STORE_FAST", name, -1).op("JUMP_FORWARD", done)
        self.depth += 1
        self.label(skip).op("POP_TOP", effect=-1).label(done)

    def push_current_exception_state(self):
        """Push the exception state of whoever resumed us (it is what the
        outermost ``except`` block of this frame restores when it ends)."""
        self.op("LOAD_CONST", None, 1).op("PUSH_EXC_INFO", effect=1)
        self.op("POP_TOP", effect=-1)

    def set_handled_exception(self, record_local, index):
        self.record_item(record_local, index)
        self.op("PUSH_EXC_INFO", effect=1).op("POP_TOP", effect=-1)
        self.op("POP_TOP", effect=-1)

    def forget(self, *names):
        """Unbind locals that are bound."""
        for name in names:
            self.op("DELETE_FAST", name)
        return self

    def deliver(self, value_local, error_local, after_call, raise_stub):
        """Go to ``after_call`` with the value, or to ``raise_stub`` (which
        ``raise_delivered`` fills) when there is an exception; both locals
        are unbound on the way."""
        self.op("LOAD_FAST", error_local, 1)
        self.op(self.IF_NOT_NONE, raise_stub, -1)
        self.op("LOAD_FAST", value_local, 1).forget(value_local, error_local)
        self.op("JUMP_FORWARD", after_call)

    def raise_delivered(self, value_local, error_local):
        self.op("LOAD_FAST", error_local, 1).forget(value_local, error_local)
        return self.op("RAISE_VARARGS", 1, -1)


def resume_prelude(bytecode_obj, hidden_args):
    """Turn a copy of a function's instructions into a resume entry's:
    arguments are the function's first argument (zero-argument ``super()``
    reads the frame's first local) followed by ``hidden_args``; cell
    variables become free variables (the resumed frame gets its cells from
    the record); returns the instructions with MAKE_CELL/COPY_FREE_VARS
    replaced and the index after RESUME."""
    cells = set(bytecode_obj.cellvars)
    names = bytecode_obj.argnames
    first = names[0] if names and names[0] not in cells else ".sx_first"
    hidden_args = (first,) + tuple(hidden_args)
    out = []
    for ins in bytecode_obj:
        if isinstance(ins, Instr):
            if ins.name in ("MAKE_CELL", "COPY_FREE_VARS"):
                continue
            if isinstance(ins.arg, CellVar) and ins.arg.name in cells:
                ins = Instr(ins.name, FreeVar(ins.arg.name), location=ins.location)
        out.append(ins)
    freevars = list(bytecode_obj.freevars) + list(bytecode_obj.cellvars)
    if freevars:
        out.insert(0, Instr("COPY_FREE_VARS", len(freevars)))
    bytecode_obj.freevars = freevars
    bytecode_obj.cellvars = []
    bytecode_obj.argnames = list(hidden_args)
    bytecode_obj.argcount = len(hidden_args)
    bytecode_obj.posonlyargcount = 0
    bytecode_obj.kwonlyargcount = 0
    bytecode_obj.flags &= ~(0x04 | 0x08)  # no *args / **kwargs
    resume_at = next(i for i, ins in enumerate(out)
                     if isinstance(ins, Instr) and ins.name == "RESUME") + 1
    if not bytecode_obj.flags & RESUMABLE_FLAGS:
        # No signal handler runs before the prologue has restored the record.
        out[resume_at - 1] = Instr("RESUME", version.RESUME_WITHOUT_CHECK,
                                   location=out[resume_at - 1].location)
    return out, resume_at


class _Scanned:
    """What the guarded-instruction scans read of a code object: each
    instruction's offset, name, opcode and constant (for LOAD_CONST), and
    its handler.  Decoded from the raw instructions: dis.get_instructions
    took as long as the rest of a function's transform, twice over."""

    def __init__(self, code):
        self.listing = [
            (offset, dis.opname[op], op,
             code.co_consts[arg] if op == dis.opmap["LOAD_CONST"] else None)
            for offset, op, arg in version.unpack(code)]
        self.at = {offset: position for position, (offset, *_) in enumerate(self.listing)}
        self.handlers = _Handlers(code)

    def handler_loads(self, offset, value):
        """Whether the handler of the instruction at ``offset`` starts by
        loading the constant ``value``."""
        entry = self.handlers.covering(offset)
        first = self.at.get(entry.target) if entry is not None else None
        return first is not None and self.listing[first][1] == "LOAD_CONST" \
            and self.listing[first][3] is value


class _Handlers:
    """The exception table of a code object, by offset."""

    def __init__(self, code):
        self.entries = sorted(version.exception_entries(code), key=lambda e: e.start)
        self.starts = [entry.start for entry in self.entries]

    def covering(self, offset):
        """The entry whose range holds ``offset`` (ranges do not overlap), or None."""
        index = bisect.bisect_right(self.starts, offset) - 1
        if index < 0 or offset >= self.entries[index].end:
            return None
        return self.entries[index]


@functools.lru_cache(maxsize=4)
def _scanned(code):
    return _Scanned(code)


def guarded_calls(code, unwind_cls, marker):
    """Offsets of the call instructions of ``code`` whose exception handler
    is an unwinding handler (it starts by testing for ``unwind_cls``), and
    those of them whose result is then tested for ``marker``: two frozensets
    of the offsets a frame stopped in such a call reports."""
    scanned = _scanned(code)
    listing = scanned.listing
    guarded, tested = set(), set()
    for position, (offset, name, opcode, _) in enumerate(listing):
        if name not in version.CALL_NAMES or not scanned.handler_loads(offset, unwind_cls):
            continue
        # A frame stopped in a call reports the call's last inline cache
        # entry as its last instruction.
        offsets = list(version.reported_offsets(offset, opcode))
        # A builtin is called by the instruction before the CALL, where the
        # version has one: a frame stopped in it reports that instruction.
        if position and listing[position - 1][1] == version.PRE_CALL:
            before = listing[position - 1]
            offsets += version.reported_offsets(before[0], before[2])
        guarded.update(offsets)
        if [ins[1] for ins in listing[position + 1:position + 3]] == ["COPY", "LOAD_CONST"] \
                and listing[position + 2][3] is marker:
            tested.update(offsets)
    return frozenset(guarded), frozenset(tested)


def keep_managers(instrs):
    """``instrs`` with a copy of each ``with`` statement's manager kept
    beneath it, for an interpreter whose BEFORE_WITH drops the manager and
    its __exit__ when __enter__ fails (an unwinding): a resume finds the
    __exit__ again from the copy (``Emitter.push_exit_of_manager``)."""
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


def saving_variables(names, loc, body):
    """``body`` ([iterator] -> [container]) with the locals ``names`` saved
    beneath it and restored after it, as a compiler that inlines
    comprehensions (3.12 on) runs them."""
    count = len(names)
    saves = [Instr("LOAD_FAST_AND_CLEAR", name, location=loc) for name in names]
    restores = [Instr("STORE_FAST", name, location=loc) for name in reversed(names)]
    return saves + [Instr("SWAP", count + 1, location=loc), *body,
                    Instr("SWAP", count + 1, location=loc), *restores]


def read_unbound_saves_as_null(instrs, params):
    """``instrs`` with each inline comprehension's LOAD_FAST_AND_CLEAR of a
    variable that nothing outside it binds (so that it pushes NULL) made
    PUSH_NULL, which every analysis knows (``params``: the names bound on
    entry)."""
    clearing = {}
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name == "LOAD_FAST_AND_CLEAR":
            clearing.setdefault(ins.arg, set()).add(span_of(ins.location))
    if not clearing:
        return instrs
    # Where each variable is bound, the comprehensions' own restores of
    # what they saved (at the comprehension's span) left out.
    bindings = {name: [] for name in clearing}
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name in _BINDING and \
                _name_of(ins) in bindings and span_of(ins.location) not in clearing[_name_of(ins)]:
            bindings[_name_of(ins)].append(span_of(ins.location))
    out = []
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name == "LOAD_FAST_AND_CLEAR" and \
                ins.arg not in params and \
                _unbound_at(span_of(ins.location), bindings[ins.arg], clearing[ins.arg]):
            ins = Instr("PUSH_NULL", location=ins.location)
        out.append(ins)
    return out


def cleared_by_saves(instrs):
    """Locals an inline comprehension's end may unbind: it stores back what
    it saved, perhaps NULL."""
    return frozenset(ins.arg for ins in instrs
                     if isinstance(ins, Instr) and ins.name == "LOAD_FAST_AND_CLEAR")


_BINDING = frozenset({"STORE_FAST", "DELETE_FAST", "MAKE_CELL", "STORE_DEREF"})


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


# Instructions of a ``with`` statement that call its manager's methods from C,
# and a ``for`` loop's call of its iterator's __next__.
WITH_ENTER, WITH_EXIT_ON_ERROR, FOR_NEXT = "BEFORE_WITH", "WITH_EXCEPT_START", "FOR_ITER"


def with_call_prefix(instr, stack):
    """The stack beneath a ``with`` instruction's call of ``__enter__`` (the
    manager replaced by its ``__exit__``, or, where the interpreter drops
    that, a copy of the manager the backend keeps beneath) or ``__exit__``
    (all of it), from the stack before the instruction; None for any other
    instruction."""
    if instr.name == WITH_ENTER:
        return tuple(stack[:-1]) + ((item(OBJ),) if version.ENTER_KEEPS_EXIT else ())
    if instr.name in (WITH_EXIT_ON_ERROR, FOR_NEXT):
        return tuple(stack)
    return None


def guarded_with_instructions(code, unwind_cls):
    """Offsets of the ``with`` instructions of ``code`` guarded by an
    unwinding handler (a frame stopped in one reports its offset)."""
    scanned = _scanned(code)
    return frozenset(offset for offset, name, _, _ in scanned.listing
                     if name in (WITH_ENTER, WITH_EXIT_ON_ERROR, FOR_NEXT)
                     and scanned.handler_loads(offset, unwind_cls))


_JUMPS = frozenset(dis.hasjrel)
_BACKWARD_JUMPS = frozenset(op for op in dis.hasjrel if "BACKWARD" in dis.opname[op])
_ENDS_BLOCK = frozenset(dis.opmap[name] for name in (
    "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
    "RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE") if name in dis.opmap)
_RETURN_GENERATOR = dis.opmap["RETURN_GENERATOR"]


def max_stack_depth(code, peaks=None):
    """The deepest the value stack of ``code`` gets, by the interpreter's
    own stack effects over every path from the start; an exception handler,
    once an instruction it covers is reached, starts at its table entry's
    depth plus the exception (and, for ``lasti``, the offset) pushed.  What
    the compiler puts in ``co_stacksize``.  ``peaks`` maps an opcode to how
    far above the depth before it the compiler counts the stack there (an
    instruction it forms from a push and a pop after counting)."""
    steps = _stack_steps(code, peaks or {})
    work = [(0, 0)]
    deepest, depth_at = 0, [-1] * len(steps)
    while work:
        index, depth = work.pop()
        while depth_at[index] < depth:
            depth_at[index] = depth
            effect, jump, handler, peak, ends_block = steps[index]
            deepest = max(deepest, depth + peak)
            if handler is not None:
                work.append(handler)
            if jump is not None:
                work.append((jump[0], depth + jump[1]))
            if ends_block:
                break
            depth += effect
            if depth < 0:
                offset, op, _ = version.unpack(code)[index]
                raise ValueError(f"{code.co_qualname}: the value stack underflows at "
                                 f"offset {offset} ({dis.opname[op]})")
            index += 1
    return deepest


def _stack_steps(code, peaks):
    """Per instruction of ``code``: (its stack effect when it does not jump,
    (index, stack effect) of its jump or None, (index, depth) of the
    handler covering it or None, how far above the depth before it the
    stack gets, whether it ends its block)."""
    listing = version.unpack(code)
    index_at = {offset: index for index, (offset, _, _) in enumerate(listing)}
    handlers = _Handlers(code)
    steps = []
    for offset, op, arg in listing:
        entry = handlers.covering(offset)
        handler = None if entry is None else \
            (index_at[entry.target], entry.depth + entry.lasti + 1)
        jump, peak = None, peaks.get(op, 0)
        if op in _JUMPS:
            after_jump = dis.stack_effect(op, arg, jump=True)
            step = -arg if op in _BACKWARD_JUMPS else arg
            after = offset + 2 + 2 * version.cache_entries(op)
            jump = (index_at[after + 2 * step], after_jump)
            peak = max(peak, after_jump)
        # A generator's first resumption finds the value sent pushed.
        effect = 1 if op == _RETURN_GENERATOR else dis.stack_effect(op, arg, jump=False)
        steps.append((effect, jump, handler, peak, op in _ENDS_BLOCK))
    return steps


class Ops:
    """The instruction facts of one version, as the backend reads them
    (``ops.transfer(...)``, ``ops.Emitter(...)``, ``ops.NULL``, ...).  A
    version's module defines ``OPS``, an instance of a subclass that sets
    ``Emitter`` (a subclass of this module's, naming the version's jumps,
    attribute loads and calls), ``REEVALUABLE``, ``LOCAL_LOADS``,
    ``UNBINDING``, ``SAVES_COMPREHENSION_VARIABLES`` and
    ``BACKWARD_IF_TRUE`` where they differ, defines ``method_as_attribute``,
    and overrides ``call_segment_size``, ``_transfer_special``, ``prepare``,
    ``cleared_names``, ``saving_variables`` and ``call_start`` where the
    defaults (3.12's layout of a call, nothing to prepare) do not hold;
    where a call's NULL follows its callable (3.13), also ``spill_count``,
    ``spill``, ``reload_spilled``, ``callee`` and ``call_with_stack_top``,
    and ``load_cell``, ``resumes_after_yield``, ``guard_call``,
    ``FOR_ITER_GUARD_SIZE`` and ``STACK_PEAKS`` where the version's differ."""

    NULL, METHOD, SHADOWED, CONST, OBJ, EXC_PREV, MIXED = (
        NULL, METHOD, SHADOWED, CONST, OBJ, EXC_PREV, MIXED)
    UNSAVED = UNSAVED
    CALL_NAMES = version.CALL_NAMES
    RESUMABLE_FLAGS = RESUMABLE_FLAGS
    RETURN_MAY_LEAVE_STACK = RETURN_MAY_LEAVE_STACK
    WITH_ENTER, WITH_EXIT_ON_ERROR, FOR_NEXT = WITH_ENTER, WITH_EXIT_ON_ERROR, FOR_NEXT
    REEVALUABLE = REEVALUABLE
    Emitter = Emitter
    # Whether the compiler's inline comprehensions save the variables they
    # reuse on the value stack (and this backend's inline ones should).
    SAVES_COMPREHENSION_VARIABLES = False
    # The conditional jump back that ends a while loop's test, if any.
    BACKWARD_IF_TRUE = None
    # Bytes an exception-table entry covering a for loop's FOR_ITER spans.
    FOR_ITER_GUARD_SIZE = 2
    # Instructions that read a fast local (pushing it) and that unbind one.
    LOCAL_LOADS = frozenset({"LOAD_FAST"})
    UNBINDING = frozenset({"DELETE_FAST"})

    item = staticmethod(item)
    merge_items = staticmethod(merge_items)
    handler_entry_stack = staticmethod(handler_entry_stack)
    stack_needs = staticmethod(stack_needs)
    global_names = staticmethod(global_names)
    spill = staticmethod(spill)
    reload_spilled = staticmethod(reload_spilled)
    is_tail_return = staticmethod(is_tail_return)
    resume_prelude = staticmethod(resume_prelude)
    guarded_calls = staticmethod(guarded_calls)
    with_call_prefix = staticmethod(with_call_prefix)
    guarded_with_instructions = staticmethod(guarded_with_instructions)
    # Opcodes whose stack effect hides a push the compiler counts when it
    # computes ``co_stacksize`` (see ``max_stack_depth``), by how much.
    STACK_PEAKS = {}

    # -- the value stack ------------------------------------------------

    def max_stack_depth(self, code):
        """See the module's ``max_stack_depth``."""
        return max_stack_depth(code, self.STACK_PEAKS)

    def call_segment_size(self, instr):
        """Stack items (as the ``bytecode`` package counts them at the call
        instruction) that belong to the call itself: NULL/method, callable,
        and the arguments it counts there; for CALL_FUNCTION_EX the
        argument tuple and keyword dict."""
        if instr.name == "CALL":
            return 2 + instr.arg
        return 3 + (instr.arg & 1)

    def spill_count(self, call_instr):
        """How many stack items a spill saves: the callable and the arguments."""
        if call_instr.name == "CALL":
            return call_instr.arg + 1
        return 2 + (call_instr.arg & 1)

    def transfer(self, instr, index, stack, jump):
        """The stack after ``instr`` (at ``index``) runs on ``stack``."""
        name = instr.name
        stack = list(stack)
        special = self._transfer_special(instr, index, stack, jump)
        if special is not None:
            return special
        if name == "LOAD_CONST":
            stack.append(item(CONST, index, instr.arg))
        elif name == "PUSH_NULL":
            stack.append(item(NULL, index))
        elif name == "LOAD_GLOBAL":
            if instr.arg[0]:
                stack.append(item(NULL, index))
            stack.append(item(OBJ, index))
        elif name == "BEFORE_WITH":
            stack.pop()
            stack += [item(OBJ, index), item(OBJ, index)]
        elif name == "PUSH_EXC_INFO":
            stack.pop()
            stack += [item(EXC_PREV, index), item(OBJ, index)]
        elif name == "FOR_ITER" and not jump:
            stack.append(item(OBJ, index))      # the iterator stays as GET_ITER made it
        elif name == "COPY":
            stack.append(stack[-instr.arg])
        elif name == "SWAP":
            stack[-1], stack[-instr.arg] = stack[-instr.arg], stack[-1]
        else:
            pre, post = instr.pre_and_post_stack_effect(jump)
            if pre > 0:
                post, pre = pre + post, 0
            if pre:
                del stack[pre:]
            stack += [item(OBJ, index)] * post
        return stack

    def _transfer_special(self, instr, index, stack, jump):
        """The stack after a version's own instruction, or None."""
        return None

    # -- locals ---------------------------------------------------------

    def uses_and_defs(self, instr):
        """Local names ``instr`` reads and writes; cells are ``('cell', name)``."""
        arg = instr.arg
        if isinstance(arg, (CellVar, FreeVar)):
            return ({("cell", arg.name)}, set())
        name = instr.name
        if name in self.LOCAL_LOADS:
            return ({arg}, set())
        if name == "STORE_FAST":
            return (set(), {arg})
        if name in self.UNBINDING:
            # It fails (or saves the value) when the local is unbound: it
            # reads the binding.
            return ({arg}, {arg})
        return (set(), set())

    def local_names(self, bytecode_obj, instrs):
        """Every local variable of the code: fast locals and cells."""
        named = self.LOCAL_LOADS | self.UNBINDING | {"STORE_FAST"}
        fast = list(bytecode_obj.argnames)
        fast += [ins.arg for ins in instrs if isinstance(ins, Instr) and ins.name in named]
        cells = [("cell", name) for name in
                 list(bytecode_obj.cellvars) + list(bytecode_obj.freevars)]
        return frozenset(name for name in fast if name not in bytecode_obj.cellvars) | set(cells)

    def prepare(self, instrs, params):
        """The function's instructions as the analyses read them
        (``params``: its argument names)."""
        return instrs

    def compare_arg(self, compare):
        """The raw argument of ``COMPARE_OP`` for a ``bytecode.Compare``."""
        return compare.value

    def fuse(self, instrs, argnames):
        """The instructions about to be assembled (a list) with the
        superinstructions ``prepare`` split put back (``argnames``: the code's
        arguments); ``instrs`` itself where there are none."""
        return instrs

    def cleared_names(self, instrs):
        """Locals that a store may unbind (it stores a saved NULL), so that
        no analysis may count them as bound."""
        return frozenset()

    # -- emitted sequences ----------------------------------------------

    def method_as_attribute(self, instr):
        """A method load pushes NULL-or-method; the equivalent this returns
        always pushes NULL and a bound method, so every stack position has
        a known kind."""
        raise NotImplementedError

    def call(self, argc, loc):
        """The instructions of a call of the callable beneath ``argc``
        arguments (and a NULL beneath it); the last is the call itself."""
        return self.Emitter(0, loc).call(argc)

    def callee(self, function, loc):
        """The instructions pushing the constant ``function`` and its NULL,
        as a call finds them."""
        return self.Emitter(0, loc).push_callee(function).out

    def call_with_stack_top(self, function, loc):
        """Instructions calling ``function`` with the value on top of the stack."""
        return [Instr("LOAD_CONST", function, location=loc), Instr("PUSH_NULL", location=loc),
                Instr("SWAP", 3, location=loc), *self.call(1, loc)]

    def load_cell(self, cell):
        """The instruction pushing the cell ``cell`` (a CellVar or FreeVar)."""
        return Instr("LOAD_CLOSURE", cell)

    def resumes_after_yield(self, arg):
        """Whether ``RESUME arg`` is the one after a ``yield``."""
        return arg == 1

    def guard_call(self, body, guard, call):
        """The instructions appended to ``body`` (which ends just before
        ``call``) putting ``call`` under the exception-table entry ``guard``."""
        return [guard, call, TryEnd(guard)]

    def call_start(self, body):
        """Where in ``body`` (instructions up to a CALL about to be appended)
        the call proper starts, after its callee and arguments."""
        start = len(body)
        if isinstance(body[start - 1], Instr) and body[start - 1].name == "KW_NAMES":
            start -= 1
        return start

    def test_for(self, marker, target, loc):
        """[R] -> [R], going to ``target`` when R is ``marker``."""
        return self.Emitter(0, loc).test_for(marker, target)
