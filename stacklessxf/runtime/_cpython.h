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
 */
#ifndef STACKLESSXF_CPYTHON_H
#define STACKLESSXF_CPYTHON_H

#include <Python.h>
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#ifdef SX_NEED_OPCODE_TABLES
#define NEED_OPCODE_TABLES
#include "internal/pycore_opcode.h"
#undef NEED_OPCODE_TABLES
#endif
#undef Py_BUILD_CORE

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11: an evaluation loop started from C marks its first frame is_entry;
 * nothing lies between frames. */
#define SX_CURRENT_FRAME(ts) ((ts)->cframe->current_frame)
#define SX_FRAME_CODE(f) ((f)->f_code)
#define SX_FRAME_INSTR(f) ((f)->prev_instr)
#define SX_IS_SHIM(f) 0
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

#else
#error "stacklessxf's C extensions know CPython 3.11 and 3.12 (add a block to _cpython.h)"
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
