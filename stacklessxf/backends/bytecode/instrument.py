"""Instrument a function's code object so its activations can unwind at calls.

CPython's own compiler produced the function's instructions; the control
flow, closures, exception handling and line numbers stay exactly as it made
them.  At each may-unwind call, and at each other call whose callee and
arguments can be computed again, the backend adds a zero-cost exception-table
entry whose handler, when an :class:`Unwind` passes (or the interpreter
refuses to start the call at its recursion limit), copies the live locals and
the value-stack items beneath the call into a record and hands the record on.
A resume entry per call site restores those values and jumps back in just
after the call (or, for a call that never started, just before it).
"""

import collections
import dis

from astroid import nodes as _nodes
from bytecode import Bytecode, CellVar, FreeVar, Instr, Label, TryBegin, TryEnd

from ...errors import TransformError
from ...frontend.source import compiles_to_loaded_code
from ...frontend.subset import compiled_spans, frame_calls, source_span
from ...ir.model import FRAME_READERS
from ...runtime.callbacks import exit_method
from ...runtime.depth import REFUSED
from ...runtime.records import (
    HANDOVER,
    PER_THREAD_HANDOVER,
    SWITCHED,
    UNBOUND,
    ResumeSite,
    Slot,
    Unwind,
)
from ...runtime.trampoline import (
    TRANSFORMED_MARKER,
    mark_transformed,
    register_suspension_points,
    run_unwound,
)
from ...runtime.specials import CROSSING
from ...versions import current as version
from . import assemble, comprehensions, exception_table
from . import flow as dataflow
from .ops import current as ops
from .ops.base import span_of

UNWIND_LOCAL = ".sx_unwind"
HANDLED_LOCAL = ".sx_handled"
RESUME_ARGS = (".sx_record", ".sx_value", ".sx_error")


class CallSite:
    """One call instruction and what its records hold.  ``rp`` is the
    analysis' resume point for a may-unwind call; for any other call it is
    None and the site exists only so that a call the interpreter refuses at
    its recursion limit can be made again after unwinding."""

    def __init__(self, rp, copy, call):
        self.rp = rp
        self.copy = copy
        self.call = call              # the Instr object (stable across rewrites)
        loc = call.location
        self.name = f"rp{rp.id}" if rp is not None else f"call@{loc.lineno}:{loc.col_offset}"
        self.normal = None            # ResumeSite delivering the call's result
        self.retry = None             # ResumeSite making the call again
        self.prefix = ()              # stack items beneath the call
        self.tail = False
        self.region_start = None      # Instr starting a re-evaluable callee/args
        self.spill_names = ()         # locals holding callee/args otherwise
        self.reads_frame = False      # the code calls locals(), eval(), ...
        self.labels = {}
        self.special = None           # the kind of a with statement's call site
        self.marks_crossing = False   # an __init__'s: see runtime.specials

    def prefix_of(self, stack):
        """The stack items beneath the call, from the stack before it."""
        with_prefix = ops.with_call_prefix(self.call, stack)
        if with_prefix is not None:
            return with_prefix
        return tuple(stack[:-ops.call_segment_size(self.call)])


def instrument(code, resume_points, function_info, tick=None, switch_arrives=None):
    """Return (code, sites) for the function whose code is ``code``, with
    ``resume_points``.

    Only the calls of the resume points whose ids are in ``switch_arrives``
    (all of them when it is None) test their result for ``SWITCHED``: a
    switch reaching any other call passes its frame by exception.

    With ``tick`` (a function), the code also calls it on entry and at every
    loop back-edge, each such call a site where the activation can be
    suspended: the variant the scheduler's watchdog runs."""
    code = comprehensions.inline(code, function_info)
    bc = Bytecode.from_code(code, conserve_exception_block_stackdepth=True)
    instrs = list(bc)
    cleared = ops.cleared_names(instrs)
    instrs = ops.prepare(instrs, frozenset(bc.argnames) | set(bc.cellvars))
    tick_calls = set()
    if tick is not None:
        instrs = _insert_ticks(instrs, tick, tick_calls)
    sites = _find_call_sites(instrs, resume_points, function_info)
    if not sites and tick is None and not _has_with(instrs):
        return code, []
    instrs, flow, states = _make_method_calls_plain(instrs, sites, function_info)
    # A with statement's exit call may carry the span of its manager's
    # expression (3.13): it is the with statement's site, not that call's.
    with_sites = _with_sites(instrs, states)
    claimed = {id(site.call) for site in with_sites}
    sites = [site for site in sites if id(site.call) not in claimed] + with_sites
    sites += _plain_call_sites(instrs, flow, states, sites, tick_calls)
    for site in sites:
        site.marks_crossing = code.co_name == "__init__"
    live_in = dataflow.live_variables(flow, ops)
    bound = dataflow.certainly_bound(flow, ops, bc.argnames, cleared)
    index_of = {id(ins): i for i, ins in enumerate(instrs)}
    # Zero-argument super() reads the first argument and the __class__ cell
    # without naming them.
    always_live = frozenset()
    if "__class__" in bc.freevars:
        always_live = frozenset(bc.argnames[:1]) | {("cell", "__class__")}
    # locals(), eval() and the like see every variable without naming it.
    reads_frame = bool(ops.global_names(instrs) & FRAME_READERS)
    if reads_frame:
        always_live |= ops.local_names(bc, instrs)
    for site in sites:
        site.freevars = frozenset(bc.freevars)
        site.always_live = always_live
        site.reads_frame = reads_frame
        _lay_out(site, index_of[id(site.call)], instrs, flow, states, live_in,
                 bound, function_info)
    tested = set()
    if ops.RETURN_MAY_LEAVE_STACK and not bc.flags & ops.RESUMABLE_FLAGS:
        tested = {id(site.call) for site in sites if site.rp is not None and
                  (switch_arrives is None or site.rp.id in switch_arrives)}
    body = _add_handlers(instrs, flow, sites, tested)
    loops = _loop_sites(function_info, instrs, states, live_in, bound, body)
    _note_loop_equivalents(sites, loops, instrs)
    code = _assemble(bc, body, sites)
    for site in sites:
        for resume_site in (site.normal, site.retry):
            if resume_site is not None:
                resume_site.build_resume_code = _resume_builder(bc, body, site, sites)
    for site in loops:
        site.normal.build_resume_code = _loop_resume_builder(bc, body, site, sites)
    return code, sites + loops


# -- finding and describing the call sites ---------------------------------

def _find_call_sites(instrs, resume_points, function_info):
    """A CallSite for every call instruction of a resume point (a call in a
    ``finally`` body has one per copy).  A resume point with none is a call
    the compiler dropped (dead code, an assert under -O) if the loaded code
    is what the source compiles to; otherwise the file was edited."""
    spans = {source_span(call): compiled_spans(call)
             for call in frame_calls(function_info.funcdef)}
    by_span = {span: rp for rp in resume_points for span in spans.get(rp.span, [rp.span])}
    copies = {}
    sites = []
    for ins in instrs:
        if isinstance(ins, Instr) and ins.name in ops.CALL_NAMES:
            rp = by_span.get(span_of(ins.location))
            if rp is not None:
                copy = copies.get(rp.id, 0)
                copies[rp.id] = copy + 1
                sites.append(CallSite(rp, copy, ins))
    missing = [rp for rp in resume_points if rp.id not in copies]
    function_info.dropped = tuple(rp.id for rp in missing)
    if missing and not compiles_to_loaded_code(function_info.original_code,
                                                       function_info.globals):
        rp = missing[0]
        raise TransformError(
            f"the loaded code of {function_info.qualname} has no call matching "
            f"'{rp.callee}(...)' at this position, and its source no longer "
            "compiles to that code: the file was edited after it was imported",
            function_info.filename, rp.span[0], rp.span[1], "call")
    return sites


def _insert_ticks(instrs, tick, tick_calls):
    """Instructions calling ``tick`` after RESUME and before every backward
    jump; the ids of those calls go into ``tick_calls``."""
    out = []
    for ins in instrs:
        is_back_edge = isinstance(ins, Instr) and "BACKWARD" in ins.name
        if is_back_edge:
            out += _tick_call(tick, ins.location, tick_calls)
        out.append(ins)
        if isinstance(ins, Instr) and ins.name == "RESUME":
            out += _tick_call(tick, ins.location, tick_calls)
    return out


def _tick_call(tick, loc, tick_calls):
    call = ops.call(0, loc)
    tick_calls.add(id(call[-1]))
    return [*ops.callee(tick, loc), *call, Instr("POP_TOP", location=loc)]


def _plain_call_sites(instrs, flow, states, may_unwind_sites, tick_calls):
    """Sites for the other calls whose callee and arguments can be computed
    again, so that one refused at the recursion limit is retried."""
    taken = {id(site.call) for site in may_unwind_sites}
    copies = collections.Counter()
    sites = []
    for i, ins in enumerate(instrs):
        if not isinstance(ins, Instr) or ins.name not in ops.CALL_NAMES or id(ins) in taken:
            continue
        if states[i] is None:
            continue
        prefix = states[i][:-ops.call_segment_size(ins)]
        if any(kind in ops.UNSAVED for kind, _, _ in prefix):
            continue
        if _reevaluable_start(instrs, states, len(prefix), i) is not None:
            # CPython copies a finally body once per exit path: number the
            # copies of the same call as the resume points' copies are.
            loc = ins.location
            kind = "tick" if id(ins) in tick_calls else "call"
            position = (kind, loc.lineno, loc.col_offset)
            site = CallSite(None, copies[position], ins)
            site.name = f"{kind}@{loc.lineno}:{loc.col_offset}"
            sites.append(site)
            copies[position] += 1
    return sites


def _has_with(instrs):
    return any(isinstance(ins, Instr) and ins.name in (ops.WITH_ENTER, ops.FOR_NEXT)
               for ins in instrs)


FOR_NEXT_KIND = "special: `for` next"
_WITH_KINDS = {ops.WITH_ENTER: ("with-enter", "special: `with` enter"),
               ops.WITH_EXIT_ON_ERROR: ("with-exit-error", "special: `with` exit on error"),
               "CALL": ("with-exit", "special: `with` exit"),
               ops.FOR_NEXT: ("for-next", FOR_NEXT_KIND)}


def _with_sites(instrs, states):
    """Sites for the places where a ``with`` statement calls its manager:
    ``__enter__``, ``__exit__`` at the end of the body (a call whose callable
    is the ``__exit__`` the enter instruction left) and ``__exit__`` with an
    exception, and where a ``for`` loop calls its iterator's ``__next__``
    (a stackless generator's, a channel's).  The interpreter calls them from
    C, so a switch inside one unwinds through that C code and the frame
    resumes after the instruction."""
    copies = collections.Counter()
    sites = []
    for i, ins in enumerate(instrs):
        if not isinstance(ins, Instr) or ins.name not in _WITH_KINDS or states[i] is None:
            continue
        if ins.name == "CALL" and not _calls_with_exit(instrs, ins, states[i]):
            continue
        site = CallSite(None, 0, ins)
        if any(kind in ops.UNSAVED for kind, _, _ in site.prefix_of(states[i])):
            continue
        name, site.special = _WITH_KINDS[ins.name]
        loc = ins.location
        position = (name, loc.lineno, loc.col_offset)
        site.copy = copies[position]
        copies[position] += 1
        site.name = f"{name}@{loc.lineno}:{loc.col_offset}"
        sites.append(site)
    return sites


def _calls_with_exit(instrs, call, stack):
    """Whether a CALL's callable (in its NULL-or-method slot) is a with
    statement's ``__exit__``, as ``BEFORE_WITH`` pushed it."""
    size = ops.call_segment_size(call)
    if len(stack) < size or stack[-size][1] is None:
        return False
    producer = instrs[stack[-size][1]]
    return isinstance(producer, Instr) and producer.name == ops.WITH_ENTER


def _make_method_calls_plain(instrs, sites, info):
    """Rewrite method loads wherever their NULL-or-method output would sit
    beneath or inside a may-unwind call; repeat until none is left.  Returns
    the instructions, their flow and their value-stack states.

    The method load of a call's own callee stays when the callee and
    arguments can be evaluated again for a retry: no record needs it, and
    the call costs no bound method."""
    while True:
        flow = dataflow.InstructionFlow(instrs)
        states = dataflow.stack_states(flow, ops)
        index_of = {id(ins): i for i, ins in enumerate(instrs)}
        producers = set()
        for site in sites:
            index = index_of[id(site.call)]
            own = _own_method_load(site, instrs, states, index)
            for kind, producer, _ in states[index]:
                if kind == ops.METHOD and producer != own:
                    producers.add(producer)
                elif kind == ops.SHADOWED:
                    _refuse_shadowing(instrs[producer], site, info)
                elif kind == ops.MIXED:
                    raise TransformError("cannot analyse the value stack at a call")
        if not producers:
            return instrs, flow, states
        rewritten = []
        for i, ins in enumerate(instrs):
            if i in producers:
                rewritten += ops.method_as_attribute(ins)
            else:
                rewritten.append(ins)
        instrs = rewritten


def _own_method_load(site, instrs, states, index):
    """The index of the method load that pushed the call's own callee, if
    it may stay one (see _make_method_calls_plain); None otherwise."""
    stack = states[index]
    size = ops.call_segment_size(site.call)
    if site.special is not None or len(stack) < size:
        return None
    # The callable's two places (which of them the method load's own
    # NULL-or-method is in depends on the version).
    methods = [producer for kind, producer, _ in stack[-size:][:2] if kind == ops.METHOD]
    if not methods or _reevaluable_start(instrs, states, len(stack) - size, index) is None:
        return None
    return methods[0]


def _refuse_shadowing(clearing, site, info):
    """A may-unwind call inside an inline comprehension whose variable is
    also one the function binds outside it: the comprehension keeps the
    function's value (or NULL) on the value stack, where no record can
    copy it from."""
    loc = clearing.location
    if clearing.arg in info.original_code.co_cellvars:
        raise TransformError(
            f"a function or lambda inside the comprehension at line {loc.lineno} captures "
            f"its variable {clearing.arg!r}, so it cannot run inline (which it must, to "
            "suspend at the stackless call it makes); use a loop",
            info.filename, loc.lineno, loc.col_offset, "comprehension")
    raise TransformError(
        f"the comprehension at line {loc.lineno} names its variable {clearing.arg!r} "
        f"as {info.qualname} names one of its own; it runs inline (to suspend at the "
        f"stackless call at line {site.call.location.lineno}), where they would be one "
        "variable: rename it", info.filename, loc.lineno, loc.col_offset, "comprehension")


def _lay_out(site, index, instrs, flow, states, live_in, bound, info):
    stack = states[index]
    site.prefix = site.prefix_of(stack)
    site.needs = ops.stack_needs(site.prefix, instrs)
    site.tail = flow.cover[index] is None and not site.prefix and \
        ops.is_tail_return(instrs, index)
    site.cover = flow.cover[index]
    site.bound = bound[index]
    after = dataflow.live_after(flow, live_in, index) | site.always_live
    kind = site.special or ("tail" if site.tail else None)
    site.normal = _resume_site(info, site, after, retry=False, kind=kind)
    if site.special is not None:
        # The C code makes the call: a refused call is the RecursionError
        # the instruction raises.
        return
    start = _reevaluable_start(instrs, states, len(site.prefix), index)
    if start is None and site.rp is None:
        raise AssertionError("plain call sites are always re-evaluable")
    if start is not None:
        site.region_start = instrs[start]
        retry_live = live_in[start] | site.always_live
    else:
        count = ops.spill_count(site.call)
        site.spill_names = tuple(f".sx_{site.rp.id}_{site.copy}_{k}" for k in range(count))
        site.bound = site.bound | set(site.spill_names)
        retry_live = after | set(site.spill_names)
    site.retry = _resume_site(info, site, retry_live, retry=True)


def _reevaluable_start(instrs, states, depth, call_index):
    """Index where the call's callee and arguments start being computed (the
    last point before the call with only the prefix on the stack), if that
    stretch can simply run again; None otherwise."""
    i = call_index - 1
    while i >= 0:
        ins = instrs[i]
        if not isinstance(ins, Instr) or ins.name not in ops.REEVALUABLE:
            return None
        if states[i] is not None and len(states[i]) == depth:
            return i
        i -= 1
    return None


def _resume_site(info, site, live, retry, kind=None):
    slots = [Slot(name, Slot.LOCAL) for name in sorted(n for n in live if isinstance(n, str))]
    slots += [Slot(name, Slot.CELL) for _, name in sorted(n for n in live if not isinstance(n, str))]
    exc_prev = [i for i, it in enumerate(site.prefix) if it[0] == ops.EXC_PREV]
    saved = [position for position, it in enumerate(site.prefix)
             if it[0] in (ops.OBJ, ops.EXC_PREV) and position != (exc_prev[0] if exc_prev else None)]
    # Named by their order among the saved values, not by their position:
    # the NULLs and constants around them differ between Python versions.
    for order, position in enumerate(saved):
        slots.append(Slot(f"$stack{order}", Slot.STACK, position, site.needs[position]))
    if exc_prev:
        slots.append(Slot("$handled", Slot.HANDLED))
    if kind is None:
        kind = "stateful" if slots else "stateless"
    rp_id = site.rp.id if site.rp is not None else None
    resume_site = ResumeSite(info, rp_id, site.copy, retry, slots, kind, site.name)
    resume_site.lineno = site.call.location.lineno
    return resume_site


# -- the instrumented body -----------------------------------------------

def _add_handlers(instrs, flow, sites, tested):
    """The instruction list with every call site guarded by its handler;
    each call whose id is in ``tested`` is also followed by a test for a
    switch passing by return (``SWITCHED``)."""
    by_call = {id(site.call): site for site in sites}
    region_starts = {id(s.region_start): s for s in sites if s.region_start is not None}
    current = {}
    body, tail = [], []
    for i, ins in enumerate(instrs):
        if isinstance(ins, TryBegin):
            current[ins] = ins
            body.append(ins)
            continue
        if isinstance(ins, TryEnd):
            body.append(TryEnd(current.get(ins.entry, ins.entry)))
            continue
        site = region_starts.get(id(ins))
        if site is not None:
            site.labels["retry"] = Label()
            _place_label(body, site.labels["retry"])
        site = by_call.get(id(ins))
        if site is None:
            body.append(ins)
            continue
        if site.special == FOR_NEXT_KIND:
            # Its range is added once assembled (see exception_table).
            site.labels["handler"], site.labels["after"] = Label(), Label()
            site.mark = exception_table.HandlerMark()
            body += [ins, site.labels["after"]]
            tail += [Instr("LOAD_CONST", site.mark, location=ins.location),
                     Instr("POP_TOP", location=ins.location)] + _handler(site)
            continue
        if site.spill_names:
            _insert_spill(body, site)
        open_entry = flow.cover[i]
        if open_entry is not None:
            body.append(TryEnd(current[open_entry]))
        site.labels["handler"] = Label()
        guard = TryBegin(site.labels["handler"], False, len(site.prefix))
        site.labels["after"] = Label()
        body += ops.guard_call(body, guard, ins)
        if id(ins) in tested:
            site.labels["switched"] = Label()
            body += ops.test_for(SWITCHED, site.labels["switched"], ins.location)
            tail += _switched_return(site)
        if site.spill_names and site.reads_frame:
            # Only code that can see them pays for hiding them again.
            body += [Instr("DELETE_FAST", name, location=ins.location)
                     for name in site.spill_names]
        body.append(site.labels["after"])
        if open_entry is not None:
            reopened = TryBegin(open_entry.target, open_entry.push_lasti,
                                open_entry.stack_depth)
            current[open_entry] = reopened
            body.append(reopened)
        tail += _handler(site)
    return body + tail


def _insert_spill(body, site):
    """Spill the callee and arguments right before the call proper."""
    loc = site.call.location
    start = len(body)
    if site.call.name == "CALL":
        start = ops.call_start(body)
    site.labels["call_proper"] = Label()
    body[start:start] = ops.spill(site.spill_names, loc) + [site.labels["call_proper"]]


def _place_label(body, label):
    """Append ``label``, ahead of any exception-range starts that directly
    precede the next instruction: code jumping to the label must pass them."""
    at = len(body)
    while at > 0 and isinstance(body[at - 1], TryBegin):
        at -= 1
    body.insert(at, label)


def _handler(site):
    p = len(site.prefix)
    em = ops.Emitter(p + 1, site.call.location)
    save, passthrough, saved, absorb = Label(), Label(), Label(), Label()
    em.label(site.labels["handler"])
    if site.retry is None:
        em.dispatch_unwind(Unwind, passthrough)
    else:
        if PER_THREAD_HANDOVER:
            em.dispatch_exception_in_c(Unwind, save, passthrough, HANDOVER, UNWIND_LOCAL)
        else:
            em.dispatch_exception(Unwind, save, passthrough, HANDOVER, REFUSED)
            em.load_handed_over(HANDOVER, "depth_unwind").op("STORE_FAST", UNWIND_LOCAL, -1)
        _emit_save(em, site, site.retry)
        em.op("JUMP_FORWARD", saved)
        em.depth = p + 1
    em.label(save).op("STORE_FAST", UNWIND_LOCAL, -1)
    _emit_save_or_tail(em, site)
    em.label(saved)
    if site.marks_crossing:
        _emit_crossing_mark(em)
    _emit_restore_exception_state(em, site)
    em.propagate_or_absorb(UNWIND_LOCAL, TRANSFORMED_MARKER, absorb,
                           HANDOVER if PER_THREAD_HANDOVER else None)
    em.label(absorb)
    em.clear_and_run_trampoline(UNWIND_LOCAL, HANDOVER, run_unwound, Label(),
                                in_c=PER_THREAD_HANDOVER)
    em.depth = p + 1
    em.label(passthrough)
    em.covered(site.cover, [Instr("RERAISE", 0, location=site.call.location)])
    return em.out


def _emit_crossing_mark(em):
    """[P] -> [P]: after an ``__init__``'s record, the crossing mark holding
    its frame and where its caller is stopped, which the code taking the
    records settles (see runtime.specials).  Calls nothing: it may run at the
    recursion limit."""
    no_caller, read = Label(), Label()
    em.op("LOAD_CONST", CROSSING.number, 1).op("LOAD_FAST", UNWIND_LOCAL, 1)
    em.attr("__traceback__").attr("tb_frame")
    em.op("COPY", 1, 1).attr("f_back")
    entry = TryBegin(no_caller, False, em.depth - 1)
    em.out += [entry, em.attr_instr("f_lasti"), TryEnd(entry)]
    em.op("JUMP_FORWARD", read)
    em.label(no_caller).op("POP_TOP").op("LOAD_CONST", None)
    em.label(read)
    em.op("BUILD_TUPLE", 3, -2).append_handed_over(HANDOVER, "chain")
    em.op("LOAD_CONST", None, 1).append_handed_over(HANDOVER, "crossed")


def _switched_return(site):
    """Where a call that returned ``SWITCHED`` goes: [P, SWITCHED] -> the
    record saved, the exception state restored, ``SWITCHED`` returned (the
    items of P are released with the frame)."""
    em = ops.Emitter(len(site.prefix) + 1, site.call.location)
    em.label(site.labels["switched"]).op("POP_TOP", effect=-1)
    _emit_save_or_tail(em, site)
    _emit_restore_exception_state(em, site)
    em.op("LOAD_CONST", SWITCHED, 1).op("RETURN_VALUE", effect=-1)
    return em.out


def _emit_save_or_tail(em, site):
    """Save ``site``'s record, or note its tail call; [P] -> [P]."""
    if site.tail:
        em.op("LOAD_CONST", site.normal.number, 1).append_handed_over(HANDOVER, "tails")
    else:
        _emit_save(em, site, site.normal)


def _emit_restore_exception_state(em, site):
    """Before leaving the frame, make the exception state the one its
    ``except`` blocks saved beneath the call, if any."""
    exc_prev = [i for i, it in enumerate(site.prefix) if it[0] == ops.EXC_PREV]
    if exc_prev:
        em.restore_exception_state(em.depth - exc_prev[0])


def _emit_save(em, site, resume_site):
    """Append ``resume_site``'s record to the unwinding chain; [P] -> [P]."""
    if any(s.kind == Slot.HANDLED for s in resume_site.slots):
        em.take_handled_exception(HANDLED_LOCAL)
    # The chain first, so that the record goes onto it without a SWAP.
    em.load_handed_over(HANDOVER, "chain")
    if not resume_site.slots:
        em.op("LOAD_CONST", resume_site.shared_record, 1)
    else:
        em.op("LOAD_CONST", resume_site.number, 1)
        for slot in resume_site.slots:
            _emit_slot_load(em, site, slot)
        em.op("BUILD_TUPLE", len(resume_site.slots) + 1, -len(resume_site.slots))
    em.op("LIST_APPEND", 1, -1).op("POP_TOP", effect=-1)


def _emit_slot_load(em, site, slot):
    if slot.kind == Slot.LOCAL:
        if slot.name in site.bound:
            em.op("LOAD_FAST", slot.name, 1)
        else:
            em.guarded_load(slot.name, UNBOUND)
    elif slot.kind == Slot.CELL:
        em.op("LOAD_CLOSURE", _cell_ref(site, slot.name), 1)
    elif slot.kind == Slot.STACK:
        em.op("COPY", em.depth - slot.position, 1)
    else:
        em.op("LOAD_FAST", HANDLED_LOCAL, 1)


def _cell_ref(site, name):
    return FreeVar(name) if name in site.freevars else CellVar(name)


def _assemble(bc, body, sites):
    return _finish(_to_code(_bytecode_like(bc, body), sites))


_FOR_ITER, _LOAD_CONST = dis.opmap["FOR_ITER"], dis.opmap["LOAD_CONST"]


def _to_code(bytecode_obj, sites):
    """Assemble; then add the ranges of the ``for`` loops' handlers (the
    assembler cannot place a range around a jump), and take the stack size
    from the code itself: the bytecode package computes it over a
    control-flow graph it builds and converts back, which took most of a
    function's transform time, and it would not see those handlers."""
    # The list's own copy and assignment: a Bytecode checks each item it
    # hands out or takes, and these are its own or the fused ones.
    instrs = list.copy(bytecode_obj)
    fused = ops.fuse(instrs, bytecode_obj.argnames)
    if fused is not instrs:
        list.__setitem__(bytecode_obj, slice(None), fused)
        instrs = fused
    loops = [site for site in sites if site.special == FOR_NEXT_KIND]
    for_iters = [ins for ins in instrs if isinstance(ins, Instr) and ins.name == "FOR_ITER"]
    code = assemble.to_code(bytecode_obj)
    if loops:
        # Raw decoding: dis.get_instructions describes every instruction in
        # full (names, values, positions), far more than is read here; the
        # version says how (3.13's raw decoding gives one more field).
        listing = list(version.unpack(code))
        for_offsets = [offset for offset, op, _ in listing if op == _FOR_ITER]
        marks = {id(code.co_consts[arg]): offset for offset, op, arg in listing
                 if op == _LOAD_CONST and
                 isinstance(code.co_consts[arg], exception_table.HandlerMark)}
        ordinal = {id(ins): k for k, ins in enumerate(for_iters)}
        ranges = [(for_offsets[ordinal[id(site.call)]], marks[id(site.mark)], len(site.prefix))
                  for site in loops if id(site.call) in ordinal]
        code = exception_table.add_ranges(code, ranges, ops.FOR_ITER_GUARD_SIZE)
    return code.replace(co_stacksize=ops.max_stack_depth(code))


def _finish(code):
    code = mark_transformed(code)
    guarded, tested = ops.guarded_calls(code, Unwind, SWITCHED)
    register_suspension_points(code, guarded | ops.guarded_with_instructions(code, Unwind),
                               tested)
    return code


def _bytecode_like(bc, instrs):
    new = Bytecode(instrs)
    new._copy_attr_from(bc)
    new.argnames = list(bc.argnames)
    return new


# -- loop heads: where native watchdog records resume ------------------------

class LoopSite:
    """The head of a loop, as a place to resume at: the native backend's
    watchdog saves its records there (``loop@line:col`` of the loop
    statement), and this is how such a record resumes in bytecode: locals
    restored, the enclosing ``for`` loops' iterators pushed, and a jump to
    the loop's first instruction (FOR_ITER, or the start of the test)."""

    rp = None
    copy = 0
    retry = None
    tail = False
    cover = None
    marks_crossing = False

    def __init__(self, node, header, prefix, bound):
        self.node = node
        self.name = loop_site_name(node)
        self.call = header
        self.prefix = prefix
        self.bound = bound
        self.label = Label()
        self.normal = None


_CALL = _nodes.Call


def loop_site_name(node):
    return f"loop@{node.lineno}:{node.col_offset}"


def _loop_sites(info, instrs, states, live_in, bound, body):
    """A LoopSite for every loop of the IR whose head has a first
    instruction with only objects (iterators) beneath it."""
    found = []
    index_in_body = {id(ins): i for i, ins in enumerate(body)}
    heads = [block.loop for block in (info.ir.blocks if info.ir is not None else ())
             if block.loop is not None]
    for node in heads:
        index = _loop_head_index(node, instrs)
        if index is None or states[index] is None or \
                any(kind != ops.OBJ for kind, _, _ in states[index]):
            continue
        site = LoopSite(node, instrs[index], tuple(states[index]), bound[index])
        site.needs = ops.stack_needs(site.prefix, instrs)
        site.normal = _resume_site(info, site, live_in[index], retry=False)
        at = index_in_body[id(instrs[index])]
        while at > 0 and isinstance(body[at - 1], TryBegin):
            at -= 1
        body.insert(at, site.label)
        index_in_body = {id(ins): i for i, ins in enumerate(body)}
        found.append(site)
    return found


def _note_loop_equivalents(sites, loops, instrs):
    """Tell each watchdog tick whose record means the same as one saved at
    a loop's head (or at the function's start) which one, so that another
    backend can resume it there: ``resume_site.same_as`` is
    ``("loop", name, extra)`` — ``extra`` when the record holds one more
    value-stack item, a loop test's value — or ``("entry", None, False)``.
    A tick before a jump back to a loop's head means "go to the head"; so
    does one before a while loop's closing test jumping back when true,
    provided the test calls nothing (evaluating it again changes nothing)."""
    heads = {}
    for loop in loops:
        heads[id(loop.call)] = loop
        if loop.call.name == "NOP":  # while True: the jumps go to the body
            following = _next_instr(instrs, instrs.index(loop.call))
            if following is not None:
                heads[id(following)] = loop
    index_of = {id(ins): i for i, ins in enumerate(instrs)}
    target_of = {}
    for i, ins in enumerate(instrs):
        if isinstance(ins, Label):
            target_of[id(ins)] = _next_instr(instrs, i)
    for site in sites:
        if not site.name.startswith("tick@") or site.copy:
            continue
        at = index_of[id(site.call)]
        follows = instrs[at + 2] if at + 2 < len(instrs) else None
        if not isinstance(follows, Instr) or "BACKWARD" not in follows.name:
            site.normal.same_as = ("entry", None, False)  # the tick after RESUME
            continue
        target = target_of.get(id(follows.arg))
        loop = heads.get(id(target)) if target is not None else None
        if follows.name == "JUMP_BACKWARD" and loop is not None:
            site.normal.same_as = ("loop", loop.name, False)
        elif follows.name == "JUMP_BACKWARD":
            # A while loop whose closing test, true, is followed by a jump
            # back to its body (3.12): going to the head tests again.
            loop = _closing_test_of(follows, loops)
            if loop is not None:
                site.normal.same_as = ("loop", loop.name, False)
        elif follows.name == ops.BACKWARD_IF_TRUE:
            loop = _closing_test_of(follows, loops)
            if loop is not None:
                site.normal.same_as = ("loop", loop.name, True)


def _next_instr(instrs, index):
    for ins in instrs[index + 1:]:
        if isinstance(ins, Instr):
            return ins
    return None


def _closing_test_of(jump, loops):
    """The while loop whose test ``jump`` (a conditional jump back) ends,
    if that test has no call in it."""
    loc = jump.location
    if loc is None or loc.lineno is None or loc.end_lineno is None:
        return None     # a jump the compiler placed nowhere closes no test
    for loop in loops:
        test = getattr(loop.node, "test", None)
        if test is None or any(True for _ in test.nodes_of_class(_CALL)):
            continue
        if (test.lineno, test.col_offset) <= (loc.lineno, loc.col_offset) and \
                (loc.end_lineno, loc.end_col_offset) <= (test.end_lineno, test.end_col_offset):
            return loop
    return None


def _loop_head_index(node, instrs):
    """Index of the first instruction of the loop ``node``'s head."""
    kind = type(node).__name__
    if kind == "For":
        # FOR_ITER stands at the ``for`` (3.11, 3.12) or at its iterable (3.13).
        starts = {(node.lineno, node.col_offset), (node.iter.lineno, node.iter.col_offset)}
        return _first(instrs, lambda ins, loc: ins.name == "FOR_ITER" and
                      (loc.lineno, loc.col_offset) in starts)
    test = node.test
    if type(test).__name__ == "Const" and test.value:  # while True: the body
        # Its NOP stands at the ``while`` (3.11) or at the ``True`` (3.12).
        starts = {(node.lineno, node.col_offset), (test.lineno, test.col_offset)}
        return _first(instrs, lambda ins, loc: ins.name == "NOP" and
                      (loc.lineno, loc.col_offset) in starts)
    start, end = (test.lineno, test.col_offset), (test.end_lineno, test.end_col_offset)
    return _first(instrs, lambda ins, loc: loc.lineno is not None and
                  start <= (loc.lineno, loc.col_offset) and
                  (loc.end_lineno, loc.end_col_offset) <= end)


def _first(instrs, matches):
    for index, ins in enumerate(instrs):
        if isinstance(ins, Instr) and ins.location is not None and matches(ins, ins.location):
            return index
    return None


def _loop_resume_builder(bc, body, site, sites):
    def build(resume_site):
        new = _bytecode_like(bc, body)
        instrs, at = ops.resume_prelude(new, RESUME_ARGS)
        em = ops.Emitter(0, site.call.location)
        _restore_slots(em, site, resume_site, new.argnames[0])
        em.forget(*RESUME_ARGS[1:])
        em.op("JUMP_FORWARD", site.label)
        new.clear()
        new.extend(instrs[:at] + em.out + instrs[at:])
        return _finish(_to_code(new, sites))
    return build


# -- resume entries --------------------------------------------------------

def _resume_builder(bc, body, site, sites):
    def build(resume_site):
        new = _bytecode_like(bc, body)
        instrs, at = ops.resume_prelude(new, RESUME_ARGS)
        prologue, stubs = _resume_prologue(site, resume_site, new.argnames[0])
        new.clear()
        new.extend(instrs[:at] + prologue + instrs[at:] + stubs)
        return _finish(_to_code(new, sites))
    return build


def _restore_slots(em, site, resume_site, first):
    """Emit the restoring of a record's locals, value-stack items and
    handled exception from the record, the resume entry's second argument.
    The first argument ``first`` (a placeholder) and the record are deleted,
    so that a frame reading its variables (locals(), eval()) sees the
    user's only."""
    record = RESUME_ARGS[0]
    em.forget(first)
    for index, slot in enumerate(resume_site.slots, start=1):
        if slot.kind == Slot.LOCAL:
            em.restore_local(record, index, slot.name,
                             slot.name not in site.bound, UNBOUND)
    stack_slots = {s.position: i for i, s in enumerate(resume_site.slots, start=1)
                   if s.kind == Slot.STACK}
    for position, (kind, _, const) in enumerate(site.prefix):
        if kind == ops.NULL:
            em.op("PUSH_NULL", effect=1)
        elif kind == ops.CONST:
            em.op("LOAD_CONST", const, 1)
        elif position in stack_slots:
            em.record_item(record, stack_slots[position])
        else:
            em.push_current_exception_state()
    for index, slot in enumerate(resume_site.slots, start=1):
        if slot.kind == Slot.HANDLED:
            em.set_handled_exception(record, index)
    em.forget(record)


def _deliver_next(em, site, value, error, raise_stub):
    """A ``for`` loop's ``__next__`` gave ``value`` (the loop goes on after
    FOR_ITER), or raised ``error``: StopIteration ends the loop as FOR_ITER
    does (the iterator popped, on to the loop's exit), anything else is
    raised there."""
    has_error = Label()
    em.op("LOAD_FAST", error, 1).op(em.IF_NOT_NONE, has_error, -1)
    em.op("LOAD_FAST", value, 1).forget(value, error)
    em.op("JUMP_FORWARD", site.labels["after"])
    em.depth -= 1       # the error's way has no value on the stack
    em.label(has_error)
    em.op("LOAD_FAST", error, 1).op("LOAD_CONST", StopIteration, 1)
    em.op("CHECK_EXC_MATCH").op("SWAP", 2).op("POP_TOP", effect=-1)
    em.op(em.IF_FALSE, raise_stub, -1)
    em.forget(value, error).end_for_loop(site.call.arg)


def _resume_prologue(site, resume_site, first):
    _, value, error = RESUME_ARGS
    em = ops.Emitter(0, site.call.location)
    _restore_slots(em, site, resume_site, first)
    raise_stub = Label()
    if resume_site.retry:
        # The call never started; an exception handed to the record (one
        # raised asynchronously while it waited) is raised in its place.
        em.op("LOAD_FAST", error, 1).op(em.IF_NOT_NONE, raise_stub, -1)
        em.forget(value, error)
    if resume_site.retry and site.region_start is not None:
        em.op("JUMP_FORWARD", site.labels["retry"])
    elif resume_site.retry:
        em.out += ops.reload_spilled(site.spill_names, site.call.location)
        em.op("JUMP_FORWARD", site.labels["call_proper"])
    elif site.special == FOR_NEXT_KIND:
        _deliver_next(em, site, value, error, raise_stub)
    else:
        if site.call.name == ops.WITH_ENTER:
            em.push_exit_of_manager(exit_method)
        em.deliver(value, error, site.labels["after"], raise_stub)
    stub = ops.Emitter(len(site.prefix) + 1, site.call.location)
    stub.label(raise_stub)
    stub.covered(site.cover, ops.Emitter(0, site.call.location)
                 .raise_delivered(value, error).out)
    return em.out, stub.out
