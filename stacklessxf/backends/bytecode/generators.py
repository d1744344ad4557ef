"""A generator function's code as two plain functions.

A stackless generator keeps its suspended state in records, not in a
CPython generator frame, so its body runs as an ordinary function whose
``yield`` is a call:

- the *body* is CPython's code of the generator function with the
  generator prologue removed and each ``yield v`` replaced by a call
  ``yield_(v)`` (its result is the value sent in), each ``yield from it``
  loop by a call ``yield_from(it)`` (its result is the delegation's
  result).  The calls take the position of the expression they stand for,
  which is where the analysis put their resume points (a generator
  expression's yield: the whole expression's, see ``frontend.genexprs``);
- the *factory* has the generator function's signature: it collects the
  bound arguments (and the closure's cells) and hands them to ``start``,
  which returns the generator object.  The function keeps its identity:
  its code becomes the factory.
"""

import inspect

from bytecode import Bytecode, FreeVar, Instr, Label, TryEnd

from ...frontend.genexprs import PARAMETER
from ...runtime import generators as runtime
from .ops import current as ops

_PARAMETER_FLAGS = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
_KEPT_FLAGS = inspect.CO_OPTIMIZED | inspect.CO_NEWLOCALS | _PARAMETER_FLAGS


def _call_with_stack_top(function, location):
    """Instructions calling ``function`` with the value on top of the stack."""
    return ops.call_with_stack_top(function, location)


def body_code(code, yield_, yield_from):
    """The code of ``code``'s generator function as a plain function whose
    yields call ``yield_`` and ``yield_from``."""
    bc = Bytecode.from_code(code, conserve_exception_block_stackdepth=True)
    instrs = list(bc)
    out = []
    dropped = set()         # labels of the delegation loops' ends
    yield_location = _genexpr_location(code, instrs)
    index = 0
    while index < len(instrs):
        ins = instrs[index]
        name = getattr(ins, "name", None)
        if name == "RETURN_GENERATOR":
            index += 2          # the generator prologue: RETURN_GENERATOR, POP_TOP
            continue
        if name == "GET_YIELD_FROM_ITER":
            yield_value = _delegation_end(instrs, index)
            out += _call_with_stack_top(yield_from, instrs[yield_value].location)
            end = _after_delegation(instrs, index, dropped)
            # Exception-table markers inside the loop stay where they were.
            out += [item for item in instrs[index:end] if not isinstance(item, (Instr, Label))]
            index = end
            continue
        if name == "YIELD_VALUE":
            resume = _next_instruction(instrs, index)
            assert instrs[resume].name == "RESUME" and ops.resumes_after_yield(instrs[resume].arg), \
                instrs[resume]
            out += _call_with_stack_top(yield_, yield_location or ins.location)
            out += instrs[index + 1:resume]
            index = resume + 1
            continue
        out.append(ins)
        index += 1
    bc[:] = _without_empty_ranges(_without_throw_cleanups(out, dropped))
    bc.flags = bc.flags & ~inspect.CO_GENERATOR
    return bc.to_code()


def _genexpr_location(code, instrs):
    """For a generator expression's code, the location of the whole
    expression (its load of the iterator parameter has it), else None."""
    if code.co_name != "<genexpr>":
        return None
    return next(ins.location for ins in instrs
                if getattr(ins, "name", None) == "LOAD_FAST" and ins.arg == PARAMETER)


def _next_instruction(instrs, index):
    return next(i for i in range(index + 1, len(instrs)) if isinstance(instrs[i], Instr))


def _delegation_end(instrs, start):
    """Index of the YIELD_VALUE of the ``yield from`` loop starting at ``start``:
    GET_YIELD_FROM_ITER, LOAD_CONST None, label, SEND, YIELD_VALUE, RESUME 2,
    JUMP_BACKWARD_NO_INTERRUPT, label (and END_SEND where SEND leaves the
    iterator beneath its result)."""
    for index in range(start, len(instrs)):
        if getattr(instrs[index], "name", None) == "YIELD_VALUE":
            return index
    raise AssertionError("a yield from without its loop")


def _after_delegation(instrs, start, dropped):
    """Index after the ``yield from`` loop starting at ``start``; the label
    of its end goes into ``dropped`` when its END_SEND goes with it."""
    for index in range(start, len(instrs)):
        if getattr(instrs[index], "name", None) == "JUMP_BACKWARD_NO_INTERRUPT":
            end = index + 1
            if isinstance(instrs[end], Label) and \
                    getattr(instrs[end + 1], "name", None) == "END_SEND":
                dropped.add(instrs[end])
                end += 2
            return end
    raise AssertionError("a yield from without its loop")


def _without_throw_cleanups(instrs, dropped):
    """``instrs`` with the handlers that end a delegation stopped by a
    thrown exception (CLEANUP_THROW, then a jump to the loop's end) made a
    plain re-raise: the delegation primitive does that work now, and they
    cover nothing any more."""
    out = []
    for ins in instrs:
        name = getattr(ins, "name", None)
        if name == "CLEANUP_THROW":
            ins = Instr("RERAISE", 0, location=ins.location)
        elif name in _JUMPS and ins.arg in dropped:
            continue
        out.append(ins)
    return out


# How a throw cleanup jumps to the loop's end (3.13: without an interrupt check).
_JUMPS = frozenset({"JUMP_BACKWARD", "JUMP_FORWARD", "JUMP_BACKWARD_NO_INTERRUPT"})


def _without_empty_ranges(instrs):
    """``instrs`` without exception ranges that cover no instruction (what
    is left of the ones inside a delegation loop)."""
    out = []
    for ins in instrs:
        if isinstance(ins, TryEnd) and out and out[-1] is ins.entry:
            out.pop()
            continue
        out.append(ins)
    return out


def factory_code(code, start, info):
    """Code with the signature of ``code`` (a generator function's) that
    returns ``start(info, arguments, cells)``: the bound arguments in the
    order of the parameters, the closure's cells in the order of its free
    variables."""
    bc = Bytecode.from_code(code)
    location = bc[0].location if bc else None
    parameters = bc.argnames
    # A function with free variables copies them into its frame first.
    instrs = [Instr("COPY_FREE_VARS", len(bc.freevars))] if bc.freevars else []
    instrs += [Instr("RESUME", 0), *ops.callee(start, None), Instr("LOAD_CONST", info)]
    instrs += [Instr("LOAD_FAST", name) for name in parameters]
    instrs.append(Instr("BUILD_TUPLE", len(parameters)))
    instrs += [ops.load_cell(FreeVar(name)) for name in bc.freevars]
    instrs += [Instr("BUILD_TUPLE", len(bc.freevars)), *ops.call(3, None),
               Instr("RETURN_VALUE")]
    for ins in instrs:
        ins.location = location
    factory = Bytecode(instrs)
    for attribute in ("argcount", "posonlyargcount", "kwonlyargcount", "name", "qualname",
                      "filename", "first_lineno", "argnames", "freevars", "docstring"):
        setattr(factory, attribute, getattr(bc, attribute))
    factory.flags = bc.flags & _KEPT_FLAGS
    if not bc.freevars:
        factory.flags |= inspect.CO_NOFREE
    return factory.to_code()


class GeneratorCode:
    """The parts of a stackless generator function: ``plain``, its body as
    a plain function (what the backend instruments), ``body``, the
    instrumented body its generators run, and the factory (``entry``)."""

    def __init__(self, code):
        self.original = code
        self.plain = body_code(code, runtime.yield_, runtime.yield_from)
        self.body = None
        self.ticked = None      # the watchdog's variant of the body, never run

    @classmethod
    def of(cls, code):
        """The parts of ``code``'s function, or None for a function that is
        not a generator."""
        return cls(code) if code.co_flags & inspect.CO_GENERATOR else None

    def entry(self, info):
        """The function's code from now on: the factory.  ``info.code``
        holds the instrumented body when this is called."""
        self.body = info.code
        return factory_code(self.original, runtime.start, info)

    def arguments(self, values):
        return arguments(self.body, values)


def arguments(code, values):
    """(args, kwargs) calling a function of ``code`` with the parameter
    values ``values`` (in the order of its parameters)."""
    positional = code.co_argcount
    keyword_only = code.co_kwonlyargcount
    args = values[:positional]
    kwargs = dict(zip(code.co_varnames[positional:positional + keyword_only],
                      values[positional:positional + keyword_only]))
    rest = positional + keyword_only
    if code.co_flags & inspect.CO_VARARGS:
        args += values[rest]
        rest += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        kwargs.update(values[rest])
    return args, kwargs
