"""The JIT engine, the native runtime, and the calling convention.

Every native function ``f`` is compiled to three LLVM functions:

- ``f(params...) -> {status, word}``: the normal entry, called by other
  native functions;
- ``f.resume(rp, slots, word) -> {status, word}``: continues a
  record (``slots`` are its saved words, ``word`` the value of the call it
  was waiting for); a ``switch`` on the resume point id;
- ``f.entry(args, out) -> status`` and ``f.pyresume(rp, slots, word, out)
  -> status``: what Python calls through ctypes.

A *word* is 64 bits: an int, a bool (0/1), a float's bits, or an object's
address.  Statuses: ``OK`` (the word is the result), ``UNWIND`` (records were
saved: the frames are gone), ``ERROR`` (an exception; its kind, line,
function and argument are in the error globals).  An unwinding is started for
one of two reasons: ``DEPTH`` (the native stack is deep enough: a frame found
the stack pointer below ``sx_stack_limit``, which each entry from Python sets
``STACK_BUDGET`` bytes below itself; the runtime resumes the records at once
from a shallow stack) or ``CALLOUT`` (the
innermost activation needs Python to do something — schedule, send, receive,
a watchdog tick — and is waiting for the result).

A record is a malloc'd array of words: ``next``, the resume function's
address, the resume point id, the number of slot words, a mask of the slots
that are bound, then the slot words.  Records of an unwinding are chained
innermost first.  ``sx_live_records`` counts records allocated and not yet
freed (tests use it to show that none leaks).

The ``out`` array a Python-facing entry fills: see the ``OUT_*`` indices.
"""

import ctypes
import platform

import llvmlite.binding as llvm

OK, UNWIND, ERROR, CALLOUT = 0, 1, 2, 3
DEPTH, CALL_OUT = 1, 2
# Resume point id of a record saved on entry, when the stack was too deep.
ENTRY_RP = -1
# Bytes of C stack native frames may use below an entry from Python before
# they are unwound into records.  Comparing the stack pointer with a limit
# costs less than counting frames (no register is kept for the count).
STACK_BUDGET = 256 * 1024
STACK_REGISTER = {"x86_64": "rsp", "amd64": "rsp", "aarch64": "sp", "arm64": "sp"}[
    platform.machine().lower()]
HEADER_WORDS = 5
# The native tick counter while no watchdog runs.
HUGE_TICKS = 1 << 62

OUT_VALUE, OUT_PENDING, OUT_REQ_KIND, OUT_REQ_OBJ, OUT_REQ_VALUE = 0, 1, 2, 3, 4
OUT_ERR_KIND, OUT_ERR_LINE, OUT_ERR_FUNC, OUT_ERR_ARG = 5, 6, 7, 8
OUT_WORDS = 9

# Call-out requests.
REQ_SCHEDULE, REQ_RECEIVE, REQ_SEND_INT, REQ_SEND_FLOAT, REQ_SEND_BOOL, REQ_TICK = range(1, 7)

RUNTIME_IR = r"""
@sx_unwind_head = global i64 0
@sx_unwind_tail = global i64 0
@sx_reason = global i64 0
@sx_req_kind = global i64 0
@sx_req_obj = global i64 0
@sx_req_value = global i64 0
@sx_err_kind = global i64 0
@sx_err_line = global i64 0
@sx_err_func = global i64 0
@sx_err_arg = global i64 0
@sx_ticks = global i64 HUGE_TICKS
@sx_live_records = global i64 0
@sx_stack_limit = global i64 0
@sx_watchdog = global i64 0

declare void @free(i8*)
declare i8* @malloc(i64)

; A new record, chained to the unwinding under way; returns its slots.
define i64* @sx_new_record(i64 %resume, i64 %rp, i64 %words, i64 %mask) noinline cold {
  %size = add i64 %words, 5
  %bytes = shl i64 %size, 3
  %raw = call i8* @malloc(i64 %bytes)
  %rec = bitcast i8* %raw to i64*
  %live = load i64, i64* @sx_live_records
  %live1 = add i64 %live, 1
  store i64 %live1, i64* @sx_live_records
  store i64 0, i64* %rec
  %p1 = getelementptr i64, i64* %rec, i64 1
  store i64 %resume, i64* %p1
  %p2 = getelementptr i64, i64* %rec, i64 2
  store i64 %rp, i64* %p2
  %p3 = getelementptr i64, i64* %rec, i64 3
  store i64 %words, i64* %p3
  %p4 = getelementptr i64, i64* %rec, i64 4
  store i64 %mask, i64* %p4
  %addr = ptrtoint i64* %rec to i64
  %tail = load i64, i64* @sx_unwind_tail
  %tailp = inttoptr i64 %tail to i64*
  store i64 %addr, i64* %tailp
  store i64 %addr, i64* @sx_unwind_tail
  %slots = getelementptr i64, i64* %rec, i64 5
  ret i64* %slots
}

; Record an error: its kind, line, function and argument.
define void @sx_fail(i64 %kind, i64 %line, i64 %func, i64 %arg) noinline cold {
  store i64 %kind, i64* @sx_err_kind
  store i64 %line, i64* @sx_err_line
  store i64 %func, i64* @sx_err_func
  store i64 %arg, i64* @sx_err_arg
  ret void
}

define void @sx_free_chain(i64 %chain) {
entry:
  br label %loop
loop:
  %rec = phi i64 [ %chain, %entry ], [ %next, %body ]
  %done = icmp eq i64 %rec, 0
  br i1 %done, label %exit, label %body
body:
  %p = inttoptr i64 %rec to i64*
  %next = load i64, i64* %p
  %raw = inttoptr i64 %rec to i8*
  call void @free(i8* %raw)
  %live = load i64, i64* @sx_live_records
  %live1 = sub i64 %live, 1
  store i64 %live1, i64* @sx_live_records
  br label %loop
exit:
  ret void
}

define private void @sx_copy_error(i64* %out) {
  %k = load i64, i64* @sx_err_kind
  %l = load i64, i64* @sx_err_line
  %f = load i64, i64* @sx_err_func
  %a = load i64, i64* @sx_err_arg
  %pk = getelementptr i64, i64* %out, i64 5
  store i64 %k, i64* %pk
  %pl = getelementptr i64, i64* %out, i64 6
  store i64 %l, i64* %pl
  %pf = getelementptr i64, i64* %out, i64 7
  store i64 %f, i64* %pf
  %pa = getelementptr i64, i64* %out, i64 8
  store i64 %a, i64* %pa
  ret void
}

define private i32 @sx_report_callout(i64 %pending, i64* %out) {
  %pp = getelementptr i64, i64* %out, i64 1
  store i64 %pending, i64* %pp
  %k = load i64, i64* @sx_req_kind
  %o = load i64, i64* @sx_req_obj
  %v = load i64, i64* @sx_req_value
  %pk = getelementptr i64, i64* %out, i64 2
  store i64 %k, i64* %pk
  %po = getelementptr i64, i64* %out, i64 3
  store i64 %o, i64* %po
  %pv = getelementptr i64, i64* %out, i64 4
  store i64 %v, i64* %pv
  ret i32 3
}

; Take the records of the unwinding that just ended, innermost first, with
; the list `rest` appended after them.
define private i64 @sx_take_unwound(i64 %rest) {
  %tail = load i64, i64* @sx_unwind_tail
  %tailp = inttoptr i64 %tail to i64*
  store i64 %rest, i64* %tailp
  %head = load i64, i64* @sx_unwind_head
  store i64 0, i64* @sx_unwind_head
  store i64 ptrtoint (i64* @sx_unwind_head to i64), i64* @sx_unwind_tail
  ret i64 %head
}

; The trampoline: resume the records of `pending` innermost first, handing
; each the word of the one inside it, until none is left (OK), an error
; (ERROR: the remaining records are freed), or a call-out (CALLOUT: the
; records still to resume are in out[1]).
define i32 @sx_continue(i64 %pending, i64 %value, i64* %out) {
  %saved = load i64, i64* @sx_stack_limit
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %limit = sub i64 %sp, STACK_BUDGET
  store i64 %limit, i64* @sx_stack_limit
  %status = call i32 @sx_resume_chain(i64 %pending, i64 %value, i64* %out)
  store i64 %saved, i64* @sx_stack_limit
  ret i32 %status
}

declare i64 @llvm.read_register.i64(metadata)
!0 = !{!"STACK_REGISTER"}

define private i32 @sx_resume_chain(i64 %pending0, i64 %value0, i64* %out) {
entry:
  br label %loop
loop:
  %pending = phi i64 [ %pending0, %entry ], [ %rest, %ok ], [ %joined, %deeper ]
  %value = phi i64 [ %value0, %entry ], [ %result, %ok ], [ 0, %deeper ]
  %empty = icmp eq i64 %pending, 0
  br i1 %empty, label %finished, label %resume
finished:
  store i64 %value, i64* %out
  ret i32 0
resume:
  %rec = inttoptr i64 %pending to i64*
  %rest = load i64, i64* %rec
  %fnp = getelementptr i64, i64* %rec, i64 1
  %fnw = load i64, i64* %fnp
  %fn = inttoptr i64 %fnw to {i32, i64} (i64, i64*, i64)*
  %rpp = getelementptr i64, i64* %rec, i64 2
  %rp = load i64, i64* %rpp
  %slots = getelementptr i64, i64* %rec, i64 5
  %r = call {i32, i64} %fn(i64 %rp, i64* %slots, i64 %value)
  %raw = bitcast i64* %rec to i8*
  call void @free(i8* %raw)
  %live = load i64, i64* @sx_live_records
  %live1 = sub i64 %live, 1
  store i64 %live1, i64* @sx_live_records
  %status = extractvalue {i32, i64} %r, 0
  %result = extractvalue {i32, i64} %r, 1
  switch i32 %status, label %unwound [ i32 0, label %ok
                                       i32 2, label %failed ]
ok:
  br label %loop
failed:
  call void @sx_free_chain(i64 %rest)
  call void @sx_copy_error(i64* %out)
  ret i32 2
unwound:
  %joined = call i64 @sx_take_unwound(i64 %rest)
  %reason = load i64, i64* @sx_reason
  %isdepth = icmp eq i64 %reason, 1
  br i1 %isdepth, label %deeper, label %callout
deeper:
  br label %loop
callout:
  %c = call i32 @sx_report_callout(i64 %joined, i64* %out)
  ret i32 %c
}

; What a Python-facing entry does with the status of the function it called.
define i32 @sx_after(i32 %status, i64 %value, i64* %out) {
entry:
  switch i32 %status, label %unwound [ i32 0, label %ok
                                       i32 2, label %failed ]
ok:
  store i64 %value, i64* %out
  ret i32 0
failed:
  call void @sx_copy_error(i64* %out)
  ret i32 2
unwound:
  %pending = call i64 @sx_take_unwound(i64 0)
  %reason = load i64, i64* @sx_reason
  %isdepth = icmp eq i64 %reason, 1
  br i1 %isdepth, label %deeper, label %callout
deeper:
  %s = call i32 @sx_resume_chain(i64 %pending, i64 0, i64* %out)
  ret i32 %s
callout:
  %c = call i32 @sx_report_callout(i64 %pending, i64* %out)
  ret i32 %c
}

; Three-way exact comparison of an int with a float: -1, 0, 1, or 2 when
; the float is a NaN.
define i32 @sx_compare_int_float(i64 %i, double %f) {
entry:
  %nan = fcmp uno double %f, %f
  br i1 %nan, label %unordered, label %big
unordered:
  ret i32 2
big:
  %above = fcmp oge double %f, 0x43E0000000000000
  br i1 %above, label %less, label %small
small:
  %below = fcmp olt double %f, 0xC3E0000000000000
  br i1 %below, label %greater, label %near
near:
  %t = fptosi double %f to i64
  %lt = icmp slt i64 %i, %t
  br i1 %lt, label %less, label %notless
notless:
  %gt = icmp sgt i64 %i, %t
  br i1 %gt, label %greater, label %fraction
fraction:
  %tf = sitofp i64 %t to double
  %frac = fsub double %f, %tf
  %fpos = fcmp ogt double %frac, 0.0
  br i1 %fpos, label %less, label %notpos
notpos:
  %fneg = fcmp olt double %frac, 0.0
  br i1 %fneg, label %greater, label %equal
less:
  ret i32 -1
greater:
  ret i32 1
equal:
  ret i32 0
}

declare {i64, i1} @llvm.smul.with.overflow.i64(i64, i64)

; Integer power by squaring; returns {overflowed, result}.  The exponent is
; not negative.
define {i1, i64} @sx_int_pow(i64 %base0, i64 %exp0) {
entry:
  br label %loop
loop:
  %result = phi i64 [ 1, %entry ], [ %result2, %square ]
  %base = phi i64 [ %base0, %entry ], [ %base2, %square ]
  %exp = phi i64 [ %exp0, %entry ], [ %exp2, %square ]
  %zero = icmp eq i64 %exp, 0
  br i1 %zero, label %done, label %step
step:
  %bit = and i64 %exp, 1
  %odd = icmp ne i64 %bit, 0
  br i1 %odd, label %multiply, label %skip
multiply:
  %m = call {i64, i1} @llvm.smul.with.overflow.i64(i64 %result, i64 %base)
  %mv = extractvalue {i64, i1} %m, 0
  %mo = extractvalue {i64, i1} %m, 1
  br i1 %mo, label %overflow, label %skip
skip:
  %result2 = phi i64 [ %mv, %multiply ], [ %result, %step ]
  %exp2 = lshr i64 %exp, 1
  %last = icmp eq i64 %exp2, 0
  br i1 %last, label %done2, label %sq
sq:
  %s = call {i64, i1} @llvm.smul.with.overflow.i64(i64 %base, i64 %base)
  %base2 = extractvalue {i64, i1} %s, 0
  %so = extractvalue {i64, i1} %s, 1
  br i1 %so, label %overflow, label %square
square:
  br label %loop
done:
  %r0 = insertvalue {i1, i64} {i1 0, i64 undef}, i64 %result, 1
  ret {i1, i64} %r0
done2:
  %r1 = insertvalue {i1, i64} {i1 0, i64 undef}, i64 %result2, 1
  ret {i1, i64} %r1
overflow:
  ret {i1, i64} {i1 1, i64 0}
}

; int / int, correctly rounded as Python does it, for any int64 operands
; (the divisor is not zero).  Small operands convert exactly and divide in
; one step; otherwise a long division gives a 64-bit quotient and a sticky
; bit, rounded to 53 bits by hand.
define double @sx_int_true_divide(i64 %a, i64 %b) {
entry:
  %aa = call i64 @llvm.abs.i64(i64 %a, i1 0)
  %ab = call i64 @llvm.abs.i64(i64 %b, i1 0)
  %sa = icmp ule i64 %aa, 9007199254740992
  %sb = icmp ule i64 %ab, 9007199254740992
  %small = and i1 %sa, %sb
  %zero = icmp eq i64 %aa, 0
  %easy = or i1 %small, %zero
  br i1 %easy, label %fast, label %exact
fast:
  %fa = sitofp i64 %a to double
  %fb = sitofp i64 %b to double
  %q = fdiv double %fa, %fb
  ret double %q
exact:
  %q0 = udiv i64 %aa, %ab
  %r0 = urem i64 %aa, %ab
  br label %loop
loop:
  %qi = phi i64 [ %q0, %exact ], [ %q1, %step ]
  %ri = phi i64 [ %r0, %exact ], [ %r1, %step ]
  %fi = phi i64 [ 0, %exact ], [ %f1, %step ]
  %top = icmp slt i64 %qi, 0
  br i1 %top, label %round, label %step
step:
  %r2 = shl i64 %ri, 1
  %bit = icmp uge i64 %r2, %ab
  %sub = select i1 %bit, i64 %ab, i64 0
  %r1 = sub i64 %r2, %sub
  %qs = shl i64 %qi, 1
  %bw = zext i1 %bit to i64
  %q1 = or i64 %qs, %bw
  %f1 = add i64 %fi, 1
  br label %loop
round:
  %mant = lshr i64 %qi, 11
  %low = and i64 %qi, 2047
  %sticky = icmp ne i64 %ri, 0
  %odd = trunc i64 %mant to i1
  %above = icmp ugt i64 %low, 1024
  %half = icmp eq i64 %low, 1024
  %tiebreak = or i1 %sticky, %odd
  %uphalf = and i1 %half, %tiebreak
  %up = or i1 %above, %uphalf
  %inc = zext i1 %up to i64
  %mant1 = add i64 %mant, %inc
  %mf = uitofp i64 %mant1 to double
  %e = sub i64 1034, %fi
  %ebits = shl i64 %e, 52
  %scale = bitcast i64 %ebits to double
  %mag = fmul double %mf, %scale
  %na = icmp slt i64 %a, 0
  %nb = icmp slt i64 %b, 0
  %neg = xor i1 %na, %nb
  %negmag = fneg double %mag
  %r = select i1 %neg, double %negmag, double %mag
  ret double %r
}

declare i64 @llvm.abs.i64(i64, i1)
"""

RUNTIME_GLOBALS = ("sx_unwind_head", "sx_unwind_tail", "sx_reason", "sx_req_kind",
                   "sx_req_obj", "sx_req_value", "sx_err_kind", "sx_err_line",
                   "sx_err_func", "sx_err_arg", "sx_ticks", "sx_live_records",
                   "sx_stack_limit", "sx_watchdog")

_engine = None
# Whether a watchdog runs: while one does, calls from Python take the bridge
# (see pyentry), which hands the native tick counter its budget.
watchdog_running = False


class Engine:
    """One MCJIT engine per process; modules are added to it as functions
    are compiled, and may call what earlier modules defined."""

    def __init__(self):
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        from .pyentry import c_api_addresses
        for name, address in c_api_addresses().items():
            llvm.add_symbol(name, address)
        target = llvm.Target.from_default_triple()
        self.target_machine = target.create_target_machine(opt=3, jit=True)
        self.triple = llvm.get_process_triple()
        self.data_layout = str(self.target_machine.target_data)
        self.ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.target_machine)
        self._add(RUNTIME_IR.replace("STACK_BUDGET", str(STACK_BUDGET))
                  .replace("HUGE_TICKS", str(HUGE_TICKS))
                  .replace("STACK_REGISTER", STACK_REGISTER))
        self.globals = {name: ctypes.c_int64.from_address(
            self.ee.get_global_value_address(name)) for name in RUNTIME_GLOBALS}
        self.ticks = self.globals["sx_ticks"]
        self.globals["sx_watchdog"].value = int(watchdog_running)
        self.globals["sx_unwind_tail"].value = self.ee.get_global_value_address("sx_unwind_head")
        self.continue_ = ctypes.PYFUNCTYPE(
            ctypes.c_int32, ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)
        )(self.ee.get_function_address("sx_continue"))
        self.free_chain = ctypes.PYFUNCTYPE(None, ctypes.c_int64)(
            self.ee.get_function_address("sx_free_chain"))

    def _add(self, text):
        module = llvm.parse_assembly(text)
        module.triple = self.triple
        module.data_layout = self.data_layout
        module.verify()
        self._optimize(module)
        self.ee.add_module(module)
        self.ee.finalize_object()
        return module

    def _optimize(self, module):
        tuning = llvm.create_pipeline_tuning_options(speed_level=3)
        builder = llvm.create_pass_builder(self.target_machine, tuning)
        builder.getModulePassManager().run(module, builder)

    def add_module(self, text):
        """Compile LLVM IR text; returns the optimized module."""
        return self._add(text)

    def address(self, name):
        return self.ee.get_function_address(name)


def engine():
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def set_watchdog_running(on):
    global watchdog_running
    watchdog_running = bool(on)
    if _engine is not None:
        _engine.globals["sx_watchdog"].value = int(watchdog_running)
        if not watchdog_running:
            _engine.ticks.value = HUGE_TICKS    # no call-out for a tick that is not needed


def live_records():
    """How many native records are allocated and not yet freed."""
    return engine().globals["sx_live_records"].value
