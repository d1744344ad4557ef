/* What the C extensions read of CPython's interpreter state: one block per
 * version, the only version test of the C code (stacklessxf/versions/ is
 * the Python side's).  A file that needs the opcode tables defines
 * SX_NEED_OPCODE_TABLES before including this (once per extension), and
 * one that reads the thread state's internals includes pycore_pystate.h.
 *
 *   SX_CURRENT_FRAME(ts)        the thread's running _PyInterpreterFrame
 *   SX_FRAME_CODE(f)            its code object
 *   SX_FRAME_INSTR(f)           the code unit it last reported
 *   SX_IS_SHIM(f)               a frame the C stack owns (an evaluation
 *                               loop's base, between a C caller and the
 *                               first frame the loop runs), never a
 *                               Python frame
 *   SX_STARTED_BY_C(f)          whether the evaluation loop running ``f``
 *                               was started for it by C code (so the C
 *                               stack holds a loop for it); otherwise its
 *                               caller's loop runs it
 *   SX_RECURSION_REMAINING(ts), SX_RECURSION_LIMIT(ts)
 *                               Python-level recursion left and its limit
 *   SX_BASE_OPCODE(code, index) the instruction at ``index`` (code units) of
 *                               ``code`` as compiled: specialized or
 *                               instrumented (tracing, profiling) forms
 *                               undone (with SX_NEED_OPCODE_TABLES)
 *   SX_REFUSED_CALL_KEEPS_CALLEE(opcode)
 *                               whether a call instruction whose frame
 *                               allocation fails has already dropped its
 *                               reference to the callee (see _depth.c)
 *   SX_REFUSED_CALL_IS_CLEAN(opcode)
 *                               whether such a call releases what it took
 *                               by itself (nothing to even out); 0 unless
 *                               a block says so
 *   SX_IS_CALL(opcode)          a call instruction the depth check may
 *                               refuse (a base opcode); CALL unless a block
 *                               says more
 *   SX_CALL_CALLABLE(items)     the callable among a call's first two stack
 *                               items; the non-NULL one of NULL-and-callable
 *                               or method-and-self unless a block says
 *   SX_GIVE_CODE_VERSION(func)  give a function whose __code__ was just set
 *                               the version a new function of that code
 *                               would have, where setting the code leaves
 *                               none (calls of a function without one are
 *                               never specialized); nothing unless a block
 *                               says
 */
#ifndef STACKLESSXF_CPYTHON_H
#define STACKLESSXF_CPYTHON_H

#include <Python.h>
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_function.h"
#endif
#ifdef SX_NEED_OPCODE_TABLES
#if PY_VERSION_HEX >= 0x030D0000
#define NEED_OPCODE_METADATA
#include "internal/pycore_opcode_metadata.h"
#undef NEED_OPCODE_METADATA
#else
#define NEED_OPCODE_TABLES
#include "internal/pycore_opcode.h"
#undef NEED_OPCODE_TABLES
#endif
#endif
#undef Py_BUILD_CORE

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11: an evaluation loop started from C marks its first frame is_entry;
 * nothing lies between frames. */
#define SX_CURRENT_FRAME(ts) ((ts)->cframe->current_frame)
#define SX_FRAME_CODE(f) ((f)->f_code)
#define SX_FRAME_INSTR(f) ((f)->prev_instr)
#define SX_IS_SHIM(f) 0
#define SX_STARTED_BY_C(f) ((f)->is_entry)
#define SX_RECURSION_REMAINING(ts) ((ts)->recursion_remaining)
#define SX_RECURSION_LIMIT(ts) ((ts)->recursion_limit)
/* The specialized Python calls drop the callee's reference before making
 * the frame; the generic one forgets the stack's reference. */
#define SX_REFUSED_CALL_KEEPS_CALLEE(opcode) \
    ((opcode) == CALL_PY_EXACT_ARGS || (opcode) == CALL_PY_WITH_DEFAULTS)
/* Tracing does not rewrite the code. */
#define SX_BASE_OPCODE(code, index) \
    (_PyOpcode_Deopt[_Py_OPCODE(_PyCode_CODE(code)[index])])

#elif PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
/* 3.12: an evaluation loop started from C runs its frames above a shim
 * frame the C stack owns. */
#define SX_CURRENT_FRAME(ts) ((ts)->cframe->current_frame)
#define SX_FRAME_CODE(f) ((f)->f_code)
#define SX_FRAME_INSTR(f) ((f)->prev_instr)
#define SX_IS_SHIM(f) ((f)->owner == FRAME_OWNED_BY_CSTACK)
#define SX_RECURSION_REMAINING(ts) ((ts)->py_recursion_remaining)
#define SX_RECURSION_LIMIT(ts) ((ts)->py_recursion_limit)
/* The specialized Python calls never allocate (they fall back to the
 * generic call when the frame does not fit), and the generic one forgets
 * the stack's reference to the callee. */
#define SX_REFUSED_CALL_KEEPS_CALLEE(opcode) ((void)(opcode), 0)
#ifdef SX_NEED_OPCODE_TABLES
/* Tracing and profiling (sys.monitoring) replace instructions by
 * instrumented ones, keeping the original where a line or instruction
 * event wraps it. */
static inline int
sx_base_opcode(PyCodeObject *code, int index)
{
    int opcode = _Py_OPCODE(_PyCode_CODE(code)[index]);
    if (opcode == INSTRUMENTED_LINE)
        opcode = code->_co_monitoring->lines[index].original_opcode;
    if (opcode == INSTRUMENTED_INSTRUCTION)
        opcode = code->_co_monitoring->per_instruction_opcodes[index];
    switch (opcode) {
    case INSTRUMENTED_CALL: return CALL;
    case INSTRUMENTED_CALL_FUNCTION_EX: return CALL_FUNCTION_EX;
    default: return _PyOpcode_Deopt[opcode];
    }
}
#define SX_BASE_OPCODE(code, index) sx_base_opcode((code), (index))
#endif

#elif PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000
/* 3.13: the thread state holds the running frame; a frame's code is its
 * f_executable (None in a shim frame) and it reports the instruction it
 * runs (the call itself while the call makes its callee's frame). */
#define SX_CURRENT_FRAME(ts) ((ts)->current_frame)
#define SX_FRAME_CODE(f) ((PyCodeObject *)(f)->f_executable)
#define SX_FRAME_INSTR(f) ((f)->instr_ptr)
#define SX_IS_SHIM(f) ((f)->owner == FRAME_OWNED_BY_CSTACK)
#define SX_RECURSION_REMAINING(ts) ((ts)->py_recursion_remaining)
#define SX_RECURSION_LIMIT(ts) ((ts)->py_recursion_limit)
/* Every call that makes a frame hands the callee and its arguments to the
 * frame, which releases them when it cannot be made; the specialized ones
 * never allocate (they fall back to the generic call). */
#define SX_REFUSED_CALL_KEEPS_CALLEE(opcode) ((void)(opcode), 0)
#define SX_REFUSED_CALL_IS_CLEAN(opcode) ((void)(opcode), 1)
#define SX_IS_CALL(opcode) ((opcode) == CALL || (opcode) == CALL_KW)
/* The callable comes first, then self or NULL. */
#define SX_CALL_CALLABLE(items) ((items)[0])
/* Setting __code__ zeroes the function's version, and nothing assigns
 * one later (3.12 did, when a call was first specialized): a new function
 * takes its code's. */
#define SX_GIVE_CODE_VERSION(func) \
    _PyFunction_SetVersion((func), ((PyCodeObject *)(func)->func_code)->co_version)
#ifdef SX_NEED_OPCODE_TABLES
/* Tracing and profiling (sys.monitoring) replace instructions by
 * instrumented ones, keeping the original where a line or instruction
 * event wraps it. */
static inline int
sx_base_opcode(PyCodeObject *code, int index)
{
    int opcode = _Py_OPCODE(_PyCode_CODE(code)[index]);
    _PyCoMonitoringData *monitoring = code->_co_monitoring;
    if (opcode == INSTRUMENTED_LINE && monitoring != NULL && monitoring->lines != NULL)
        opcode = monitoring->lines[index].original_opcode;
    if (opcode == INSTRUMENTED_INSTRUCTION && monitoring != NULL &&
            monitoring->per_instruction_opcodes != NULL)
        opcode = monitoring->per_instruction_opcodes[index];
    switch (opcode) {
    case INSTRUMENTED_CALL: return CALL;
    case INSTRUMENTED_CALL_KW: return CALL_KW;
    case INSTRUMENTED_CALL_FUNCTION_EX: return CALL_FUNCTION_EX;
    default: return _PyOpcode_Deopt[opcode];
    }
}
#define SX_BASE_OPCODE(code, index) sx_base_opcode((code), (index))
#endif

#else
#error "stacklessxf's C extensions know CPython 3.11, 3.12 and 3.13 (add a block to _cpython.h)"
#endif

#ifndef SX_STARTED_BY_C
#define SX_STARTED_BY_C(f) ((f)->previous != NULL && SX_IS_SHIM((f)->previous))
#endif
#ifndef SX_REFUSED_CALL_IS_CLEAN
#define SX_REFUSED_CALL_IS_CLEAN(opcode) ((void)(opcode), 0)
#endif
#ifndef SX_IS_CALL
#define SX_IS_CALL(opcode) ((opcode) == CALL)
#endif
#ifndef SX_GIVE_CODE_VERSION
#define SX_GIVE_CODE_VERSION(func) ((void)(func))
#endif
#ifndef SX_CALL_CALLABLE
#define SX_CALL_CALLABLE(items) ((items)[0] != NULL ? (items)[0] : (items)[1])
#endif

/* The frame ``f`` returns to, shims passed. */
static inline _PyInterpreterFrame *
sx_caller(_PyInterpreterFrame *f)
{
    _PyInterpreterFrame *caller = f->previous;
    while (caller != NULL && SX_IS_SHIM(caller))
        caller = caller->previous;
    return caller;
}

#endif
