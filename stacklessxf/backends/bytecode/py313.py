"""What the bytecode backend knows about CPython 3.13's instruction set.

The same names as ``py311``; what 3.13 changed:

- a call's stack is ``callable, self-or-NULL, arguments``: ``LOAD_GLOBAL``
  pushes the NULL after the global, ``LOAD_ATTR``'s method form (its low
  bit, no more ``LOAD_METHOD``) pushes the function and then self or NULL;
- no ``PRECALL``; ``CALL_KW`` takes the keyword names from the stack (no
  more ``KW_NAMES``); ``CALL`` takes ``argc + 2`` items;
- conditional jumps have no direction in their names;
- ``LOAD_FAST_LOAD_FAST``, ``STORE_FAST_LOAD_FAST`` and
  ``STORE_FAST_STORE_FAST`` name two locals; ``LOAD_CLOSURE`` is gone from
  real code (a cell is pushed by ``LOAD_FAST`` of its index);
- a frame stopped in a call reports the call instruction itself, not its
  last inline cache entry, and inline cache sizes are keyed by name;
- when a Python callee fails, the interpreter looks the caller's handler up
  at the code unit *before* the call: a guard must cover that unit too.
"""

import dis

from bytecode import CellVar, FreeVar, Instr, Label, TryBegin, TryEnd

from ...errors import TransformError
from . import py311
from .py311 import (  # noqa: F401  (the shared names of every version module)
    CONST, EXC_PREV, FOR_NEXT, HANDLER_EXCEPTION, METHOD, MIXED, NULL, OBJ,
    RESUMABLE_FLAGS, RETURN_MAY_LEAVE_STACK, WITH_ENTER, WITH_EXIT_ON_ERROR,
    handler_entry_stack, is_tail_return, item, merge_items, resume_prelude,
    stack_needs, with_call_prefix, _Handlers)

CALL_NAMES = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION_EX"})

REEVALUABLE = (py311.REEVALUABLE - {"KW_NAMES", "PRECALL", "LOAD_CLASSDEREF"}) | {
    "LOAD_FAST_LOAD_FAST", "LOAD_FAST_CHECK", "TO_BOOL", "BINARY_SLICE",
}

_FAST_PAIRS = frozenset({"LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST",
                         "STORE_FAST_STORE_FAST"})


# Bytes of a FOR_ITER with its inline caches.
FOR_ITER_SIZE = 2 + 2 * dis._inline_cache_entries["FOR_ITER"]


def call_segment_size(instr):
    """Stack items at the call instruction that belong to the call itself:
    callable, self-or-NULL, the arguments (and ``CALL_KW``'s names), or for
    ``CALL_FUNCTION_EX`` callable, NULL, the argument tuple and keyword dict."""
    if instr.name == "CALL":
        return instr.arg + 2
    if instr.name == "CALL_KW":
        return instr.arg + 3
    return 3 + (instr.arg & 1)


def callable_item(instr, stack):
    """The callable's item in ``stack``, the stack at the call ``instr``."""
    return stack[-call_segment_size(instr)]


def transfer(instr, index, stack, jump):
    """The stack after ``instr`` (at ``index``) runs on ``stack``."""
    name = instr.name
    stack = list(stack)
    if name == "LOAD_CONST":
        stack.append(item(CONST, index, instr.arg))
    elif name == "PUSH_NULL":
        stack.append(item(NULL, index))
    elif name == "LOAD_GLOBAL":
        stack.append(item(OBJ, index))
        if instr.arg[0]:
            stack.append(item(NULL, index))
    elif name == "LOAD_ATTR" and instr.arg[0]:
        stack.pop()
        stack += [item(OBJ, index), item(METHOD, index)]
    elif name == "LOAD_SUPER_ATTR" and instr.arg[0]:
        del stack[-3:]
        stack += [item(OBJ, index), item(METHOD, index)]
    elif name == "LOAD_FAST_AND_CLEAR":
        stack.append(item(METHOD, index))      # NULL when the local was unbound
    elif name == "STORE_FAST_LOAD_FAST":
        stack[-1] = item(OBJ, index)
    elif name == "BEFORE_WITH":
        stack.pop()
        stack += [item(OBJ, index), item(OBJ, index)]
    elif name == "PUSH_EXC_INFO":
        stack.pop()
        stack += [item(EXC_PREV, index), item(OBJ, index)]
    elif name == "FOR_ITER" and not jump:
        stack.append(item(OBJ, index))
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


def normalize(bytecode_obj, instrs):
    """The instructions with every cell pushed by ``LOAD_FAST`` (the
    compiler's ``LOAD_CLOSURE``) naming the cell as such."""
    cells, free = set(bytecode_obj.cellvars), set(bytecode_obj.freevars)
    out = []
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name == "LOAD_FAST" and isinstance(ins.arg, str) \
                and (ins.arg in cells or ins.arg in free):
            cell = CellVar(ins.arg) if ins.arg in cells else FreeVar(ins.arg)
            ins = Instr("LOAD_FAST", cell, location=ins.location)
        out.append(ins)
    return out


def uses_and_defs(instr):
    """Local names ``instr`` reads and writes; cells are ``('cell', name)``."""
    arg = instr.arg
    if isinstance(arg, (CellVar, FreeVar)):
        return ({("cell", arg.name)}, set())
    name = instr.name
    if name in ("LOAD_FAST", "LOAD_FAST_CHECK"):
        return ({arg}, set())
    if name == "LOAD_FAST_LOAD_FAST":
        return (set(arg), set())
    if name == "STORE_FAST":
        return (set(), {arg})
    if name == "STORE_FAST_STORE_FAST":
        return (set(), set(arg))
    if name == "STORE_FAST_LOAD_FAST":
        stored, loaded = arg
        return ({loaded} - {stored}, {stored})
    if name in ("DELETE_FAST", "LOAD_FAST_AND_CLEAR"):
        return ({arg}, {arg})
    return (set(), set())


def binding_change(instr, state):
    """The certainly bound locals after ``instr`` runs with ``state``."""
    name = instr.name
    if name == "STORE_FAST":
        return state | {instr.arg}
    if name in ("STORE_FAST_STORE_FAST", "STORE_FAST_LOAD_FAST"):
        stored = set(instr.arg) if name == "STORE_FAST_STORE_FAST" else {instr.arg[0]}
        return state | stored
    if name in ("DELETE_FAST", "LOAD_FAST_AND_CLEAR"):
        return state - {instr.arg}
    return state


global_names = py311.global_names


def local_names(bytecode_obj, instrs):
    """Every local variable of the code: fast locals and cells."""
    fast = list(bytecode_obj.argnames)
    for ins in instrs:
        if isinstance(ins, Instr) and isinstance(ins.arg, (str, tuple)):
            if ins.name in _FAST_PAIRS:
                fast += list(ins.arg)
            elif ins.name in ("LOAD_FAST", "LOAD_FAST_CHECK", "STORE_FAST", "DELETE_FAST",
                              "LOAD_FAST_AND_CLEAR"):
                fast.append(ins.arg)
    cells = [("cell", name) for name in
             list(bytecode_obj.cellvars) + list(bytecode_obj.freevars)]
    return frozenset(name for name in fast if name not in bytecode_obj.cellvars) | set(cells)


def method_as_attribute(instr):
    """The method form of LOAD_ATTR pushes function and self, or attribute
    and NULL; this equivalent always pushes the attribute (a bound method)
    and NULL, so every stack position has a known kind."""
    loc = instr.location
    if instr.name == "LOAD_FAST_AND_CLEAR":
        raise TransformError("cannot make stackless on CPython 3.13: a stackless call "
                             "inside a comprehension whose variable the comprehension saves "
                             "and restores", None, instr.location.lineno,
                             instr.location.col_offset, "comprehension")
    if instr.name == "LOAD_SUPER_ATTR":
        plain = Instr("LOAD_SUPER_ATTR", (False,) + tuple(instr.arg[1:]), location=loc)
    else:
        plain = Instr("LOAD_ATTR", (False, instr.arg[1]), location=loc)
    return [plain, Instr("PUSH_NULL", location=loc)]


def spill_count(call_instr):
    """How many stack items a spill saves: the call's items but the NULL."""
    return call_segment_size(call_instr) - 1


def spill(names, loc):
    """Copy a call's callable and arguments (everything of the call but the
    NULL beneath the arguments) into locals before it runs."""
    depths = [len(names) + 1] + list(range(len(names) - 1, 0, -1))
    out = []
    for name, depth in zip(names, depths):
        out += [Instr("COPY", depth, location=loc), Instr("STORE_FAST", name, location=loc)]
    return out


def reload_spilled(names, loc):
    return [Instr("LOAD_FAST", names[0], location=loc), Instr("PUSH_NULL", location=loc)] + [
        Instr("LOAD_FAST", name, location=loc) for name in names[1:]]


def spill_start(body):
    """Where in ``body`` (ending just before the call) a spill goes: right
    before the call, with all its items on the stack."""
    return len(body)


def guard(body, guard_entry, call):
    """Append ``call`` to ``body`` under ``guard_entry``, whose range also
    covers the code unit before the call, where the interpreter looks the
    handler up when a Python callee fails (a range around the call alone
    misses every exception its callee raises, an unwinding's included).
    That unit is the instruction before the call when it directly precedes
    it (an exception it raises passes the handler, which re-raises it to
    the handler the instruction had), or else a NOP."""
    closing = []
    at = len(body) - 1
    if at >= 0 and isinstance(body[at], TryEnd):    # the enclosing range, closed
        closing, at = [body[at]], at - 1
    previous = body[at] if at >= 0 else None
    if isinstance(previous, Instr) and not previous.has_jump() and \
            previous.name not in CALL_NAMES:
        del body[at:]
        return closing + [guard_entry, previous, call, TryEnd(guard_entry)]
    return [guard_entry, Instr("NOP", location=call.location), call, TryEnd(guard_entry)]


def tick_call(tick, loc):
    """(instructions calling ``tick`` with no argument, the call among them)."""
    call = Instr("CALL", 0, location=loc)
    return [Instr("LOAD_CONST", tick, location=loc), Instr("PUSH_NULL", location=loc),
            call, Instr("POP_TOP", location=loc)], call


_RENAMED = {
    "POP_JUMP_FORWARD_IF_TRUE": "POP_JUMP_IF_TRUE",
    "POP_JUMP_FORWARD_IF_FALSE": "POP_JUMP_IF_FALSE",
    "POP_JUMP_FORWARD_IF_NONE": "POP_JUMP_IF_NONE",
    "POP_JUMP_FORWARD_IF_NOT_NONE": "POP_JUMP_IF_NOT_NONE",
}


class Emitter(py311.Emitter):
    """3.11's sequences, in 3.13's spelling: conditional jumps without a
    direction, LOAD_ATTR's argument with its method bit, no PRECALL, the
    NULL of a call after the callable, and a possibly unbound local read by
    the checking LOAD_FAST (the plain one pushes NULL for it)."""

    def op(self, name, arg=py311._NO_ARG, effect=0):
        name = _RENAMED.get(name, name)
        if name == "LOAD_CLOSURE":
            name = "LOAD_FAST"
        if name == "PRECALL":
            self.depth += effect
            return self
        if name == "LOAD_ATTR" and isinstance(arg, str):
            arg = (False, arg)
        return super().op(name, arg, effect)

    def guarded_load(self, name, unbound):
        guard_label, done = Label(), Label()
        entry = TryBegin(guard_label, False, self.depth)
        self.out += [entry, Instr("LOAD_FAST_CHECK", name, location=self.loc),
                     TryEnd(entry)]
        self.op("JUMP_FORWARD", done)
        self.label(guard_label).op("POP_TOP").op("LOAD_CONST", unbound)
        self.label(done)
        self.depth += 1

    def attribute(self, name):
        return attribute_read(name, self.loc)

    def truth(self):
        """3.13's conditional jumps take a bool only (anything else reads
        as true): convert first."""
        return self.op("TO_BOOL")

    def clear_and_run_trampoline(self, unwind_local, handover, run_unwound, absorb_target):
        self.op("LOAD_FAST", unwind_local, 1)
        entry = TryBegin(absorb_target, False, 0)
        self.out += [entry, Instr("RERAISE", 0, location=self.loc), TryEnd(entry)]
        self.depth = 1
        self.label(absorb_target).op("POP_TOP", effect=-1)
        self.op("LOAD_CONST", run_unwound, 1).op("PUSH_NULL", effect=1)
        self.load_handed_over(handover, "chain")
        self.op("COPY", 1, 1).op("LOAD_CONST", None, 1).op("LOAD_CONST", None, 1)
        self.op("BUILD_SLICE", 2, -1).op("BINARY_SUBSCR", effect=-1)
        self.op("SWAP", 2).op("LOAD_CONST", None, 1).op("LOAD_CONST", None, 1)
        self.op("BUILD_SLICE", 2, -1).op("DELETE_SUBSCR", effect=-2)
        self.op("CALL", 1, -2).op("RETURN_VALUE", effect=-1)


def test_for(marker, target, loc):
    """[R] -> [R], going to ``target`` when R is ``marker``."""
    return [Instr("COPY", 1, location=loc), Instr("LOAD_CONST", marker, location=loc),
            Instr("IS_OP", 0, location=loc),
            Instr("POP_JUMP_IF_TRUE", target, location=loc)]


def callable_of_call(function, loc=None):
    return [Instr("LOAD_CONST", function, location=loc), Instr("PUSH_NULL", location=loc)]


def call_of(argc, loc=None):
    return [Instr("CALL", argc, location=loc)]


def call_with_stack_top(function, loc):
    """Instructions calling ``function`` with the value on top of the stack."""
    return [Instr("LOAD_CONST", function, location=loc), Instr("SWAP", 2, location=loc),
            Instr("PUSH_NULL", location=loc), Instr("SWAP", 2, location=loc),
            Instr("CALL", 1, location=loc)]


def delegation_call(function, loc):
    """What replaces a ``yield from`` loop: ``function`` called with the
    iterator, which stays beneath the result for the END_SEND after the
    loop to pop."""
    return [Instr("COPY", 1, location=loc)] + call_with_stack_top(function, loc)


def resumes_after_yield(arg):
    return arg & 3 == 1     # the rest of the argument is the exception depth


def free_cell(name):
    return Instr("LOAD_FAST", FreeVar(name))


def attribute_read(name, loc):
    return Instr("LOAD_ATTR", (False, name), location=loc)


def leave_exhausted_loop(em, target):
    """A ``for`` loop's iterator ran out: [P, iterator] -> FOR_ITER's
    target, an END_FOR that pops a value above the iterator and a POP_TOP
    that pops the iterator."""
    em.op("LOAD_CONST", None, 1).op("JUMP_FORWARD", target)


def unpack(code):
    """(offset, opcode, argument) of every instruction of ``code``."""
    return [(offset, op, arg) for offset, _, op, arg in dis._unpack_opargs(code.co_code)]


def cache_entries(opcode):
    return dis._inline_cache_entries.get(dis.opname[opcode], 0)


class _Scanned(py311._Scanned):
    def __init__(self, code):
        self.listing = [
            (offset, dis.opname[op], op,
             code.co_consts[arg] if op == dis.opmap["LOAD_CONST"] else None)
            for offset, op, arg in unpack(code)]
        self.at = {offset: position for position, (offset, *_) in enumerate(self.listing)}
        self.handlers = _Handlers(code)


_scanned = py311.functools.lru_cache(maxsize=4)(_Scanned)


def guarded_calls(code, unwind_cls, marker):
    """Offsets of the call instructions of ``code`` whose exception handler
    is an unwinding handler, and those of them whose result is then tested
    for ``marker``.  A frame stopped in a call reports the call itself."""
    scanned = _scanned(code)
    listing = scanned.listing
    guarded, tested = set(), set()
    for position, (offset, name, _, _) in enumerate(listing):
        if name not in CALL_NAMES or not scanned.handler_loads(offset, unwind_cls):
            continue
        guarded.add(offset)
        if [ins[1] for ins in listing[position + 1:position + 3]] == ["COPY", "LOAD_CONST"] \
                and listing[position + 2][3] is marker:
            tested.add(offset)
    return frozenset(guarded), frozenset(tested)


def guarded_with_instructions(code, unwind_cls):
    scanned = _scanned(code)
    return frozenset(offset for offset, name, _, _ in scanned.listing
                     if name in (WITH_ENTER, WITH_EXIT_ON_ERROR, FOR_NEXT)
                     and scanned.handler_loads(offset, unwind_cls))


_JUMPS = frozenset(dis.hasjump)
_BACKWARD_JUMPS = frozenset(dis.opmap[name] for name in
                            ("JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"))
_ENDS_BLOCK = frozenset(dis.opmap[name] for name in (
    "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
    "RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE"))
_RETURN_GENERATOR = dis.opmap["RETURN_GENERATOR"]


def max_stack_depth(code):
    """The deepest the value stack of ``code`` gets (see py311); a jump's
    target counts from the end of its inline caches."""
    listing = unpack(code)
    index_at = {offset: index for index, (offset, _, _) in enumerate(listing)}
    handlers = _Handlers(code)
    work = [(0, 0)]
    deepest, depth_at = 0, {}
    while work:
        index, depth = work.pop()
        while depth_at.get(index, -1) < depth:
            depth_at[index] = depth
            deepest = max(deepest, depth)
            offset, op, arg = listing[index]
            entry = handlers.covering(offset)
            if entry is not None:
                work.append((index_at[entry.target], entry.depth + entry.lasti + 1))
            if op in _JUMPS:
                after_jump = depth + dis.stack_effect(op, arg, jump=True)
                step = -arg if op in _BACKWARD_JUMPS else arg
                following = offset + 2 + 2 * cache_entries(op)
                work.append((index_at[following + 2 * step], after_jump))
                deepest = max(deepest, after_jump)
            if op in _ENDS_BLOCK:
                break
            depth += 1 if op == _RETURN_GENERATOR else dis.stack_effect(op, arg, jump=False)
            if depth < 0:
                raise ValueError(f"{code.co_qualname}: the value stack underflows at "
                                 f"offset {offset} ({dis.opname[op]})")
            index += 1
    return deepest
