/* Headroom below the recursion limit, at no cost on the normal path.
 *
 * CPython keeps its frames on a per-thread stack of 16 KiB chunks and asks
 * the arena allocator for a new chunk when a call does not fit in the last
 * one (a few hundred frames apart).  This module wraps that allocator.  When
 * a chunk is asked for while the thread is more than a third of its
 * recursion limit deep, by a call instruction of transformed code that
 * guards it (an unwinding handler covers it) and whose callee is a Python
 * function, with enough transformed frames beneath for an unwinding to gain
 * something, the allocation is *refused*: the call fails with MemoryError
 * before the callee starts, exactly like a call the recursion limit
 * refuses, and the guarding handler, which asks REFUSED whether the
 * MemoryError was this module's, saves a retry record and unwinds.  So
 * stackless frames stay well below the limit, and whatever they call keeps
 * the rest of it.
 *
 * Only such calls are refused: a callee called from C code (a sort key, a
 * property), a finalizer the garbage collector runs in the middle of such a
 * call, or any other allocation goes through, since failing there would
 * lose work already done.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define Py_BUILD_CORE 1
#if PY_VERSION_HEX >= 0x030D0000
#define NEED_OPCODE_METADATA
#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_opcode_metadata.h"
#include "internal/pycore_pystate.h"
#undef NEED_OPCODE_METADATA
#else
#define NEED_OPCODE_TABLES
#include "internal/pycore_frame.h"
#include "internal/pycore_opcode.h"
#include "internal/pycore_pystate.h"
#undef NEED_OPCODE_TABLES
#endif
#undef Py_BUILD_CORE

#if PY_VERSION_HEX < 0x030B0000 || (PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000) \
    || PY_VERSION_HEX >= 0x030E0000
#error "the depth check reads the frames of CPython 3.11 and 3.13"
#endif

#if PY_VERSION_HEX >= 0x030D0000
/* 3.13: the thread's frames, a frame's code and where it stopped (the call
 * instruction itself while it makes its callee's frame), its recursion
 * counters. */
#define CURRENT_FRAME(ts) ((ts)->current_frame)
#define FRAME_CODE(f) ((PyCodeObject *)(f)->f_executable)
#define FRAME_IS_CODE(f) PyCode_Check((f)->f_executable)
#define FRAME_AT(f) ((f)->instr_ptr)
#define LEVELS_LEFT(ts) ((ts)->py_recursion_remaining)
#define LEVELS_LIMIT(ts) ((ts)->py_recursion_limit)
#else
#define CURRENT_FRAME(ts) ((ts)->cframe == NULL ? NULL : (ts)->cframe->current_frame)
#define FRAME_CODE(f) ((f)->f_code)
#define FRAME_IS_CODE(f) 1
#define FRAME_AT(f) ((f)->prev_instr)
#define LEVELS_LEFT(ts) ((ts)->recursion_remaining)
#define LEVELS_LIMIT(ts) ((ts)->recursion_limit)
#endif

/* The instruction at ``index`` of ``code``, deoptimized and, on 3.13, with
 * the monitoring that tracing and profiling install (line and instruction
 * events, instrumented calls) seen through. */
static int
base_opcode(PyCodeObject *code, int index)
{
    int opcode = _Py_OPCODE(_PyCode_CODE(code)[index]);
#if PY_VERSION_HEX >= 0x030D0000
    _PyCoMonitoringData *monitoring = code->_co_monitoring;
    if (opcode == INSTRUMENTED_LINE && monitoring != NULL && monitoring->lines != NULL)
        opcode = monitoring->lines[index].original_opcode;
    if (opcode == INSTRUMENTED_INSTRUCTION && monitoring != NULL &&
            monitoring->per_instruction_opcodes != NULL)
        opcode = monitoring->per_instruction_opcodes[index];
    if (opcode == INSTRUMENTED_CALL)
        return CALL;
    if (opcode == INSTRUMENTED_CALL_KW)
        return CALL_KW;
#endif
    return _PyOpcode_Deopt[opcode];
}

/* The largest request that can be a frame chunk rather than an arena of
 * the object allocator (those are 1 MiB). */
#define LARGEST_CHUNK ((size_t)1 << 19)
/* An unwinding is worth it when at least this many transformed frames lie
 * between the call and the nearest loop or plain frame. */
#define MIN_GAIN 16

static struct {
    PyObject *marker;          /* last constant of every transformed code object */
    PyObject *unwind_type;     /* what an unwinding handler tests for first */
    PyObject *loop_codes;      /* a tuple: the trampolines' and the C loop's code */
    int installed;
} cfg;

static PyObjectArenaAllocator wrapped;
static PyThreadState *refused_thread;   /* compared, never dereferenced */
static unsigned long refusals;
/* The thread the garbage collector runs on, once its callback here has
 * said so (it runs finalizers and callbacks in the middle of whatever
 * allocated, perhaps a refusable call); compared, never dereferenced. */
static PyThreadState *collecting_thread;

/* Whether the collector runs on ``ts``: before this module's callback has
 * named the thread (other callbacks run first), any thread might be it. */
static int
collecting_on(PyThreadState *ts)
{
    return ts->interp->gc.collecting && (collecting_thread == NULL || collecting_thread == ts);
}

static int
is_transformed(PyCodeObject *code)
{
    PyObject *consts = code->co_consts;
    Py_ssize_t n = PyTuple_GET_SIZE(consts);
    return n > 0 && PyTuple_GET_ITEM(consts, n - 1) == cfg.marker;
}

static int
is_loop(PyCodeObject *code)
{
    Py_ssize_t n = PyTuple_GET_SIZE(cfg.loop_codes);
    for (Py_ssize_t i = 0; i < n; i++)
        if (PyTuple_GET_ITEM(cfg.loop_codes, i) == (PyObject *)code)
            return 1;
    return 0;
}

static int
read_varint(const unsigned char **p)
{
    int read = *(*p)++;
    int value = read & 63;
    while (read & 64) {
        read = *(*p)++;
        value = (value << 6) | (read & 63);
    }
    return value;
}

/* The handler covering instruction ``index`` (in code units) of ``code``:
 * its target and the stack depth it expects; 0 when none covers it. */
static int
find_handler(PyCodeObject *code, int index, int *target, int *depth)
{
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    const unsigned char *end = p + PyBytes_GET_SIZE(code->co_exceptiontable);
    while (p < end) {
        int start = read_varint(&p);
        int length = read_varint(&p);
        int handler = read_varint(&p);
        int depth_lasti = read_varint(&p);
        if (start > index)
            return 0;
        if (index < start + length) {
            *target = handler;
            *depth = depth_lasti >> 1;
            return 1;
        }
    }
    return 0;
}

/* Whether the instruction at ``index`` loads the unwinding exception type. */
static int
loads_unwind_type(PyCodeObject *code, int index)
{
    _Py_CODEUNIT *instr = _PyCode_CODE(code) + index;
    int oparg = 0;
    while (base_opcode(code, index) == EXTENDED_ARG) {
        oparg = (oparg | _Py_OPARG(*instr)) << 8;
        instr++;
        index++;
    }
    if (base_opcode(code, index) != LOAD_CONST)
        return 0;
    oparg |= _Py_OPARG(*instr);
    return oparg < PyTuple_GET_SIZE(code->co_consts) &&
           PyTuple_GET_ITEM(code->co_consts, oparg) == cfg.unwind_type;
}

/* The function ``frame``'s call instruction calls, when it calls a Python
 * function directly, under an unwinding handler, with an unwinding worth
 * it; NULL otherwise. */
static PyObject *
refusable_callee(_PyInterpreterFrame *frame)
{
    if (!FRAME_IS_CODE(frame))
        return NULL;
    PyCodeObject *code = FRAME_CODE(frame);
    if (!is_transformed(code))
        return NULL;
    int index = (int)(FRAME_AT(frame) - _PyCode_CODE(code));
    if (index < 0)
        return NULL;
    int opcode = base_opcode(code, index);
#if PY_VERSION_HEX >= 0x030D0000
    if (opcode != CALL && opcode != CALL_KW)
        return NULL;
#else
    if (opcode != CALL)
        return NULL;
#endif
    int target, depth;
    if (!find_handler(code, index, &target, &depth) || !loads_unwind_type(code, target))
        return NULL;
    /* The call's own items sit just above the handler's depth: NULL and the
     * callable, or a function and its self (3.13: the callable, then NULL or
     * self; a bound method is already unpacked).  They are still in place
     * while the call makes the callee's frame. */
    PyObject **items = frame->localsplus + code->co_nlocalsplus + depth;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *callable = items[0];
#else
    PyObject *callable = items[0] != NULL ? items[0] : items[1];
#endif
    if (callable == NULL || !PyFunction_Check(callable))
        return NULL;
    int gain = 0;
    for (_PyInterpreterFrame *f = frame; f != NULL && gain < MIN_GAIN; f = f->previous) {
        if (!FRAME_IS_CODE(f) || !is_transformed(FRAME_CODE(f)) || is_loop(FRAME_CODE(f)))
            break;
        gain++;
    }
    return gain >= MIN_GAIN ? callable : NULL;
}

/* CPython 3.11 has two ways for a call instruction to make its callee's
 * frame, and neither expects to be refused: the specialized calls drop a
 * reference to the callee that the value stack still holds, and set no
 * exception; the generic call forgets the stack's reference without
 * dropping it.  Even the counts out, so that the call fails cleanly. */
static void
balance_refused_call(_PyInterpreterFrame *frame, PyObject *callee)
{
#if PY_VERSION_HEX >= 0x030D0000
    /* 3.13's calls release what they took when refused. */
    (void)frame;
    (void)callee;
#else
    int opcode = _Py_OPCODE(*FRAME_AT(frame));
    if (opcode == CALL_PY_EXACT_ARGS || opcode == CALL_PY_WITH_DEFAULTS)
        Py_INCREF(callee);
    else if (Py_REFCNT(callee) > 1)
        Py_DECREF(callee);
#endif
}

static void *
chunk_alloc(void *ctx, size_t size)
{
    PyThreadState *ts = _PyThreadState_GET();
    if (size <= LARGEST_CHUNK && ts != NULL &&
            LEVELS_LEFT(ts) * 3 < LEVELS_LIMIT(ts) * 2 &&
            CURRENT_FRAME(ts) != NULL && !collecting_on(ts)) {
        _PyInterpreterFrame *frame = CURRENT_FRAME(ts);
        PyObject *callee = refusable_callee(frame);
        if (callee != NULL) {
            balance_refused_call(frame, callee);
            refused_thread = ts;
            refusals++;
            /* The type alone, which allocates nothing. */
            PyErr_SetNone(PyExc_MemoryError);
            return NULL;
        }
    }
    return wrapped.alloc(wrapped.ctx, size);
}

static void
chunk_free(void *ctx, void *ptr, size_t size)
{
    wrapped.free(wrapped.ctx, ptr, size);
}

/* REFUSED: true, once, right after this module refused the current
 * thread's call; what the unwinding handlers test a MemoryError with. */
typedef struct {
    PyObject_HEAD
} Refused;

static int
refused_bool(PyObject *Py_UNUSED(op))
{
    if (refused_thread != NULL && refused_thread == _PyThreadState_GET()) {
        refused_thread = NULL;
        return 1;
    }
    return 0;
}

static PyObject *
refused_repr(PyObject *Py_UNUSED(op))
{
    return PyUnicode_FromString("<stacklessxf refused call>");
}

static PyNumberMethods refused_as_number = {.nb_bool = refused_bool};

static PyTypeObject Refused_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_stacklessxf_depth.Refused",
    .tp_basicsize = sizeof(Refused),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "True once after a call of the current thread was refused for depth.",
    .tp_repr = refused_repr,
    .tp_as_number = &refused_as_number,
};

static PyObject *
configure(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *marker, *unwind_type, *loop_codes;
    if (!PyArg_ParseTuple(args, "OOO!:configure", &marker, &unwind_type, &PyTuple_Type,
                          &loop_codes))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(loop_codes); i++)
        if (!PyCode_Check(PyTuple_GET_ITEM(loop_codes, i))) {
            PyErr_SetString(PyExc_TypeError, "configure: loop codes must be code objects");
            return NULL;
        }
    Py_XSETREF(cfg.marker, Py_NewRef(marker));
    Py_XSETREF(cfg.unwind_type, Py_NewRef(unwind_type));
    Py_XSETREF(cfg.loop_codes, Py_NewRef(loop_codes));
    if (!cfg.installed) {
        PyObject_GetArenaAllocator(&wrapped);
        PyObjectArenaAllocator mine = {NULL, chunk_alloc, chunk_free};
        PyObject_SetArenaAllocator(&mine);
        cfg.installed = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *
levels_left(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(LEVELS_LEFT(_PyThreadState_GET()));
}

static PyObject *
refusal_count(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLong(refusals);
}

/* A garbage collector callback (see gc.callbacks), in C so that no signal
 * handler runs in it. */
static PyObject *
collection(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "collection(phase, info)");
        return NULL;
    }
    int starting = PyUnicode_CompareWithASCIIString(args[0], "start") == 0;
    collecting_thread = starting ? _PyThreadState_GET() : NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"collection", (PyCFunction)(void (*)(void))collection, METH_FASTCALL,
     "collection(phase, info): a garbage collector callback; no call is refused\n"
     "on the thread a collection runs on."},
    {"configure", configure, METH_VARARGS,
     "configure(marker, unwind_type, loop_codes): start refusing deep calls."},
    {"levels_left", levels_left, METH_NOARGS,
     "How many more levels this thread may use before the recursion limit."},
    {"refusal_count", refusal_count, METH_NOARGS, "How many calls were refused so far."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_stacklessxf_depth",
    "Refuses deep calls of stackless code (see stacklessxf.runtime.depth).", -1, methods,
};

PyMODINIT_FUNC
PyInit__stacklessxf_depth(void)
{
    if (PyType_Ready(&Refused_Type) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    PyObject *refused = (PyObject *)PyObject_New(Refused, &Refused_Type);
    if (refused == NULL || PyModule_AddObject(module, "REFUSED", refused) < 0) {
        Py_XDECREF(refused);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
