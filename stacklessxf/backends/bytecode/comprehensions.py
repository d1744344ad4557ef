"""Comprehensions run inline.

CPython 3.11 compiles a comprehension as a function of its own, made and
called where the comprehension stands; 3.12 compiles list, set and dict
comprehensions inline (PEP 709), but still not generator expressions.
The analysis lowers the comprehensions that make a stackless call as loops
of the enclosing function (``frontend.subset.inlined_comprehensions``), so
this module does for the rest what 3.12's compiler does: the comprehension's
instructions replace the call of its function, with its iterator and the
container it fills on the value stack, and its variables become locals of
the enclosing function.  A generator expression inlined this way (the one
argument of a builtin that consumes it whole) fills a list instead of
yielding; one consumed by ``any`` or ``all`` stops at the first item that
decides the call, and its list holds that item's truth or nothing.
"""

import inspect

from bytecode import Bytecode, CellVar, FreeVar, Instr, Label, TryBegin, TryEnd

from ...errors import TransformError
from ...frontend.subset import deciding_item, inlined_comprehensions, source_span
from ...versions import current as version
from .ops import current as ops
from .ops.base import span_of

_NAMED = frozenset({"LOAD_FAST", "STORE_FAST", "DELETE_FAST"})


def inline(code, function_info):
    """``code`` with the comprehensions the analysis inlined run inline."""
    spans = {source_span(node): node for node in inlined_comprehensions(function_info.funcdef)}
    if not spans:
        return code
    bc = Bytecode.from_code(code, conserve_exception_block_stackdepth=True)
    own = set(bc.argnames) | _local_names(bc) | set(bc.cellvars) | set(bc.freevars)
    instrs = _Inliner(bc, spans, own, function_info).run(list(bc))
    bc.clear()
    bc.extend(instrs)
    return bc.to_code(compute_exception_stack_depths=False)


def _drop_closure(out):
    """Remove the closure tuple (its cells' loads and BUILD_TUPLE) that
    ends ``out``: an inlined comprehension reads the cells themselves."""
    count = out.pop().arg
    del out[len(out) - count:]


def _decided_list(decided, loops, deciding, loc):
    """What follows a deciding generator expression's loops (at ``end``,
    all items seen): [] -> [[]]; and at ``decided``, where an item decided
    with its ``loops`` iterators beneath: -> [[deciding]]."""
    done = Label()
    return [Instr("BUILD_LIST", 0, location=loc), Instr("JUMP_FORWARD", done, location=loc),
            decided, *[Instr("POP_TOP", location=loc) for _ in range(loops)],
            Instr("LOAD_CONST", deciding, location=loc), Instr("BUILD_LIST", 1, location=loc),
            done]


def _local_names(instrs):
    return {ins.arg for ins in instrs if isinstance(ins, Instr) and ins.name in _NAMED}


def _without_stop_iteration_guard(instrs):
    """A generator's instructions without the handler that turns a
    StopIteration escaping its body into RuntimeError, where the compiler
    adds one in the code (it covers the whole body, at the generator
    frame's depth): run inline, the body has no generator frame."""
    guards = {ins.target for ins in instrs if isinstance(ins, TryBegin) and
              _handler_converts_stop_iteration(instrs, ins.target)}
    if not guards:
        return instrs
    out, skip = [], 0
    for ins in instrs:
        if skip:
            skip -= 1
        elif isinstance(ins, TryBegin) and ins.target in guards or \
                isinstance(ins, TryEnd) and ins.entry.target in guards:
            pass
        elif isinstance(ins, Label) and ins in guards:
            skip = 2            # CALL_INTRINSIC_1, RERAISE
        else:
            out.append(ins)
    return out


def _handler_converts_stop_iteration(instrs, label):
    at = instrs.index(label)
    following = instrs[at + 1] if at + 1 < len(instrs) else None
    return isinstance(following, Instr) and following.name == "CALL_INTRINSIC_1" and \
        int(following.arg) == _INTRINSIC_STOPITERATION_ERROR


_INTRINSIC_STOPITERATION_ERROR = 3


class _Inliner:
    def __init__(self, outer, spans, own, function_info):
        self.outer = outer
        self.spans = spans
        self.own = own
        self.info = function_info

    def run(self, instrs):
        """``instrs`` with each call of an inlined comprehension's function
        replaced by its body (the function's making dropped)."""
        out, pending = [], []
        made_here = False
        for ins in instrs:
            if made_here and isinstance(ins, Instr) and ins.name == "SET_FUNCTION_ATTRIBUTE":
                if ins.arg & 8:          # 3.13: the closure, made before the code's load
                    _drop_closure(out)
                continue
            made_here = False
            if isinstance(ins, Instr) and ins.name == "MAKE_FUNCTION" and out and \
                    self._inlined_code(out[-1]) is not None:
                made = out.pop()
                deciding = deciding_item(self.spans[span_of(made.location)])
                if isinstance(ins.arg, int) and ins.arg & 8:    # the closure (3.11, 3.12)
                    _drop_closure(out)
                pending.append((span_of(ins.location), made.arg, deciding))
                made_here = True
                continue
            if pending and isinstance(ins, Instr) and ins.name in ("PRECALL", "CALL") \
                    and ins.arg == 0 and span_of(ins.location) == pending[-1][0]:
                if ins.name == "CALL":
                    _, code, deciding = pending.pop()
                    out += self._inlined(code, ins.location, deciding)
                continue
            out.append(ins)
        return out

    def _inlined_code(self, ins):
        if isinstance(ins, Instr) and ins.name == "LOAD_CONST" and \
                inspect.iscode(ins.arg) and ins.arg.co_name in version.COMPREHENSION_FUNCTIONS and \
                span_of(ins.location) in self.spans:
            return ins.arg
        return None

    def _inlined(self, code, loc, deciding):
        """The comprehension ``code`` run where its function was called at
        ``loc``, its variables saved around it where the version does
        that for the comprehensions its compiler inlines."""
        names = sorted(_local_names(Bytecode.from_code(code)) - {".0"})
        body = self._body(code, deciding)
        if not ops.SAVES_COMPREHENSION_VARIABLES or not names:
            return body
        return ops.saving_variables(names, loc, body)

    def _body(self, code, deciding=None):
        """The instructions of the comprehension ``code``, run where its
        function was called: [iterator] -> [container]; for a generator
        expression consumed by ``any`` (``deciding`` True) or ``all``
        (False), the loops stop at an item whose truth is ``deciding``."""
        inner = Bytecode.from_code(code, conserve_exception_block_stackdepth=True)
        self._check(code, inner)
        generator = bool(code.co_flags & inspect.CO_GENERATOR)
        loops = sum(1 for ins in inner if isinstance(ins, Instr) and ins.name == "FOR_ITER")
        end, decided = Label(), Label()
        body = []
        items = [ins for ins in _without_stop_iteration_guard(list(inner))
                 if not (isinstance(ins, Instr) and ins.name in (
                     "COPY_FREE_VARS", "RETURN_GENERATOR", "RESUME"))]
        if generator:
            items = items[1:]           # the POP_TOP after RETURN_GENERATOR
        skip = 0
        for ins in items:
            if skip:
                skip -= 1
                continue
            if not isinstance(ins, Instr):
                body.append(ins)
                continue
            loc = ins.location
            if ins.name == "LOAD_FAST" and ins.arg == ".0":
                if deciding is None:    # the iterator goes above the list
                    body += ([Instr("BUILD_LIST", 0, location=loc)] if generator else [])
                    body.append(Instr("SWAP", 2, location=loc))
            elif ins.name == "YIELD_VALUE" and deciding is not None:
                em = ops.Emitter(0, loc).truth()
                body += em.op(em.IF_TRUE if deciding else em.IF_FALSE, decided).out
                skip = 1
            elif ins.name == "YIELD_VALUE":
                body.append(Instr("LIST_APPEND", loops + 1, location=loc))
                skip = 1                # the POP_TOP of the value sent in (RESUME is gone)
            elif ins.name == "RETURN_VALUE":
                if generator:
                    body.pop()          # the LOAD_CONST None of the generator's return
                body.append(Instr("JUMP_FORWARD", end, location=loc))
            elif ins.name == "RETURN_CONST":
                body.append(Instr("JUMP_FORWARD", end, location=loc))
            elif isinstance(ins.arg, FreeVar):
                cell = CellVar(ins.arg.name) if ins.arg.name in self.outer.cellvars \
                    else FreeVar(ins.arg.name)
                body.append(Instr(ins.name, cell, location=loc))
            else:
                body.append(ins)
        body.append(end)
        if deciding is not None:
            body += _decided_list(decided, loops, deciding, loc)
        return self.run(body)

    def _check(self, code, inner):
        where = (self.info.filename, code.co_firstlineno, None, "comprehension")
        if inner.cellvars:
            raise TransformError(
                f"a function or lambda inside the comprehension at line {code.co_firstlineno} "
                f"captures its variable {inner.cellvars[0]!r}, so it cannot run inline "
                "(which it must, to suspend at the stackless call it makes); use a loop",
                *where)
        clash = sorted((_local_names(inner) - {".0"}) & self.own)
        if clash and not ops.SAVES_COMPREHENSION_VARIABLES:
            raise TransformError(
                f"the comprehension at line {code.co_firstlineno} names its variable "
                f"{clash[0]!r} as {self.info.qualname} names one of its own; it runs inline "
                "(to suspend at the stackless call it makes), where they would be one "
                "variable: rename it", *where)
