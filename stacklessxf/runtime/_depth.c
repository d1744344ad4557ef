/* Recursion that stackless code does not pay for, and headroom below the
 * limit, at no cost on the normal path.
 *
 * CPython keeps its frames on a per-thread stack of 16 KiB chunks and asks
 * the arena allocator for a new chunk when a call does not fit in the last
 * one (a few hundred frames apart).  This module wraps that allocator.
 *
 * A Python frame that its caller's evaluation loop runs (no C code between
 * the two) takes no C stack, which is what the recursion limit guards; the
 * interpreter counts it all the same.  So when a new chunk is made, the
 * transformed frames of the full chunk below it that their callers' loops
 * run are given back to the thread's recursion budget, and taken again
 * when the new chunk is freed, which is when the frames of the chunk below
 * are the last ones again.  Stackless recursion therefore never nears the
 * limit by itself, needs no unwinding and costs what a plain call costs;
 * the frames of the last chunk, plain frames and frames started by C code
 * count as the interpreter counts them.  Once the chunks of a thread's
 * given-back frames take frame_memory bytes, nothing more is given back:
 * the frames fill a third of the limit, a call is refused as below, and
 * the stack is unwound into records, which keep only what is live.
 *
 * Where transformed frames fill a third of the limit all the same (frames
 * started by C code, frames past frame_memory, every frame when nothing is
 * given back: deep_recursion("records")), a chunk asked for by a
 * call instruction of transformed code that guards it (an unwinding
 * handler covers it) and whose callee is a Python function, with enough
 * transformed frames beneath for an unwinding to gain something, is
 * *refused*: the call fails with MemoryError before the callee starts,
 * exactly like a call the recursion limit refuses, and the guarding
 * handler, which asks REFUSED whether the MemoryError was this module's,
 * saves a retry record and unwinds.  So stackless frames stay well below
 * the limit, and whatever they call keeps the rest of it.
 *
 * Only such calls are refused: a callee called from C code (a sort key, a
 * property), a finalizer the garbage collector runs in the middle of such a
 * call, a trace or profile function called while the frame is stopped at
 * one (the interpreter would drop the function that failed), or any other
 * allocation goes through, since failing there would lose work already
 * done.
 */
#define PY_SSIZE_T_CLEAN
#define SX_NEED_OPCODE_TABLES
#include "_cpython.h"
/* The public headers' alias of a function the internal GC header defines
 * as its own inline function. */
#undef _PyGC_FINALIZED
#define Py_BUILD_CORE 1
#include "internal/pycore_pystate.h"
#undef Py_BUILD_CORE

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
/* Whether transformed frames run by their callers' loops are given back
 * (deep_recursion("frames")); otherwise they count, and deep stackless
 * recursion unwinds into records. */
static int give_back = 1;

/* The levels given back for each chunk this module made while a thread
 * ran frames, most recent last: a thread frees its chunks in the reverse
 * order, so the one freed is almost always the last.  The thread state is
 * compared and written, never freed here (a thread clears its chunks
 * before its state goes). */
typedef struct {
    void *chunk;
    PyThreadState *thread;
    int levels;
    size_t thread_bytes;    /* the sizes of the thread's chunks up to this one */
} Credit;
static Credit *credits;
static Py_ssize_t credit_count, credit_room;
/* The most memory of chunks a thread's given-back frames may take: past
 * it they count again, so that a deeper recursion unwinds into records
 * (which keep only what is live) and starts again from a short stack. */
static size_t frame_memory = (size_t)256 << 20;
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
    while (SX_BASE_OPCODE(code, index) == EXTENDED_ARG) {
        oparg = (oparg | _Py_OPARG(*instr)) << 8;
        instr++;
        index++;
    }
    if (SX_BASE_OPCODE(code, index) != LOAD_CONST)
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
    PyCodeObject *code = SX_FRAME_CODE(frame);
    if (!is_transformed(code))
        return NULL;
    int index = (int)(SX_FRAME_INSTR(frame) - _PyCode_CODE(code));
    if (index < 0 || !SX_IS_CALL(SX_BASE_OPCODE(code, index)))
        return NULL;
    int target, depth;
    if (!find_handler(code, index, &target, &depth) || !loads_unwind_type(code, target))
        return NULL;
    /* The call's own items sit just above the handler's depth: the
     * callable and NULL, or a function and its self (SX_CALL_CALLABLE).
     * They are still in place while the call makes the callee's frame. */
    PyObject **items = frame->localsplus + code->co_nlocalsplus + depth;
    PyObject *callable = SX_CALL_CALLABLE(items);
    if (callable == NULL || !PyFunction_Check(callable))
        return NULL;
    int gain = 0;
    for (_PyInterpreterFrame *f = frame; f != NULL && gain < MIN_GAIN; f = sx_caller(f)) {
        if (!is_transformed(SX_FRAME_CODE(f)) || is_loop(SX_FRAME_CODE(f)))
            break;
        gain++;
    }
    return gain >= MIN_GAIN ? callable : NULL;
}

/* A call instruction does not expect its callee's frame to be refused: a
 * call that has already dropped the callee's reference although the value
 * stack still holds it (SX_REFUSED_CALL_KEEPS_CALLEE) needs one more; one
 * that forgets the stack's reference without dropping it needs one less.
 * Even the counts out, so that the call fails cleanly. */
static void
balance_refused_call(_PyInterpreterFrame *frame, PyObject *callee)
{
    int opcode = _Py_OPCODE(*SX_FRAME_INSTR(frame));
    if (SX_REFUSED_CALL_IS_CLEAN(opcode))
        return;
    if (SX_REFUSED_CALL_KEEPS_CALLEE(opcode))
        Py_INCREF(callee);
    else if (Py_REFCNT(callee) > 1)
        Py_DECREF(callee);
}

/* How many frames of the thread's last chunk are transformed and run by
 * their callers' evaluation loops.  The chunk's frames come first on the
 * chain of callers, with generators' and shim frames between them (a shim
 * may lie in the chunk too: it runs no code); the first frame of the
 * thread's stack outside it ends them. */
static int
uncounted_levels(PyThreadState *ts)
{
    _PyStackChunk *chunk = ts->datastack_chunk;
    const char *low = (const char *)chunk, *high = low + chunk->size;
    int levels = 0;
    for (_PyInterpreterFrame *f = SX_CURRENT_FRAME(ts); f != NULL; f = f->previous) {
        if (SX_IS_SHIM(f))
            continue;
        if ((const char *)f < low || (const char *)f >= high) {
            if (f->owner == FRAME_OWNED_BY_THREAD)
                break;
            continue;
        }
        if (!SX_STARTED_BY_C(f) && is_transformed(SX_FRAME_CODE(f)))
            levels++;
    }
    return levels;
}

/* The newest of ``ts``'s credits, or NULL. */
static Credit *
newest_credit(PyThreadState *ts)
{
    for (Py_ssize_t i = credit_count - 1; i >= 0; i--)
        if (credits[i].thread == ts)
            return &credits[i];
    return NULL;
}

static int
remember_credit(void *chunk, size_t size, PyThreadState *ts, int levels, size_t bytes_before)
{
    if (credit_count == credit_room) {
        Py_ssize_t room = credit_room ? 2 * credit_room : 64;
        Credit *more = PyMem_RawRealloc(credits, (size_t)room * sizeof(Credit));
        if (more == NULL)
            return -1;
        credits = more;
        credit_room = room;
    }
    credits[credit_count++] = (Credit){chunk, ts, levels, bytes_before + size};
    return 0;
}

static void
forget_credit(void *chunk)
{
    for (Py_ssize_t i = credit_count - 1; i >= 0; i--) {
        if (credits[i].chunk == chunk) {
            SX_RECURSION_REMAINING(credits[i].thread) -= credits[i].levels;
            memmove(&credits[i], &credits[i + 1], (size_t)(credit_count - i - 1) * sizeof(Credit));
            credit_count--;
            return;
        }
    }
}

static void *
chunk_alloc(void *ctx, size_t size)
{
    PyThreadState *ts = _PyThreadState_GET();
    if (size > LARGEST_CHUNK || ts == NULL || SX_CURRENT_FRAME(ts) == NULL ||
            ts->datastack_chunk == NULL)
        return wrapped.alloc(wrapped.ctx, size);
    int levels = 0;
    size_t bytes_before = 0;
    if (give_back) {
        Credit *newest = newest_credit(ts);
        bytes_before = newest != NULL ? newest->thread_bytes : 0;
        if (bytes_before + size <= frame_memory)
            levels = uncounted_levels(ts);
    }
    if ((SX_RECURSION_REMAINING(ts) + levels) * 3 < SX_RECURSION_LIMIT(ts) * 2 &&
            !collecting_on(ts) && !ts->tracing) {
        _PyInterpreterFrame *frame = SX_CURRENT_FRAME(ts);
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
    void *chunk = wrapped.alloc(wrapped.ctx, size);
    if (chunk != NULL && levels > 0 && remember_credit(chunk, size, ts, levels, bytes_before) == 0)
        SX_RECURSION_REMAINING(ts) += levels;
    return chunk;
}

static void
chunk_free(void *ctx, void *ptr, size_t size)
{
    if (size <= LARGEST_CHUNK && credit_count > 0)
        forget_credit(ptr);
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
    return PyLong_FromLong(SX_RECURSION_REMAINING(_PyThreadState_GET()));
}

static PyObject *
give_back_levels(PyObject *Py_UNUSED(module), PyObject *arg)
{
    int before = give_back;
    if (arg != Py_None) {
        int on = PyObject_IsTrue(arg);
        if (on < 0)
            return NULL;
        give_back = on;
    }
    return PyBool_FromLong(before);
}

static PyObject *
set_frame_memory(PyObject *Py_UNUSED(module), PyObject *arg)
{
    size_t before = frame_memory;
    if (arg != Py_None) {
        size_t limit = PyLong_AsSize_t(arg);
        if (limit == (size_t)-1 && PyErr_Occurred())
            return NULL;
        frame_memory = limit;
    }
    return PyLong_FromSize_t(before);
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
    {"give_back_levels", give_back_levels, METH_O,
     "give_back_levels(on): whether transformed frames that their callers' loops run\n"
     "stop counting against the recursion limit; returns the setting before\n"
     "(None changes nothing)."},
    {"frame_memory", set_frame_memory, METH_O,
     "frame_memory(limit): the most bytes of frame stack a thread's given-back frames\n"
     "may take; returns the limit before (None changes nothing)."},
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
