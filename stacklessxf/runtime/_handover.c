/* The hand-over of an unwinding's records, one per thread.
 *
 * The frames of an unwinding leave their records where the code that
 * catches it takes them.  They cannot call anything to find that place
 * (they may run at the recursion limit, and a call lets other threads in),
 * so they read it as attributes of one constant object, a HandOver, whose
 * attributes are those of the current thread's Unwinding, found here in C.
 * Each thread has its own, so two threads' unwindings never mix, even when
 * one lets the other in half way (a finalizer run by the collector).
 *
 * A thread's Unwindings form a stack: push() sets the current one aside and
 * starts a fresh one, pop() brings it back.  Code that runs in the middle of
 * an unwinding on the same thread (the collector's finalizers) runs between
 * the two, so an unwinding of its own does not mix with the one it
 * interrupted.
 *
 * Its attribute caller_is_transformed is the test an unwinding frame makes
 * to choose between passing the Unwind on and running the trampoline in
 * place: whether the frame it returns to carries the transformed marker.
 * Made here, it reads the interpreter's frames (through _cpython.h)
 * instead of creating frame objects to walk.
 */
#include "_handover.h"
#include "structmember.h"
#include "_cpython.h"

typedef struct {
    PyObject_HEAD
    PyObject *unwind_type;      /* the Unwind class */
    PyObject *marker;           /* the last constant of every transformed code */
    PyObject *refused;          /* true once a call was refused (runtime/depth.py), or NULL */
} HandOver;

/* An Unwinding with the one set aside beneath it. */
typedef struct {
    Unwinding base;
    PyObject *below;
    int for_collection;         /* pushed when a garbage collection started */
} Level;

/* The last Unwinding looked up (borrowed from its thread state's dict,
 * which owns it), to skip the dict on most lookups: valid only for the
 * thread state (by its unique id) and HandOver it was found for, and
 * cleared by the level when it goes away.  One for the process, as the
 * interpreter lock serialises lookups; threads taking turns just miss. */
static struct {
    PyObject *owner;
    uint64_t thread;
    Level *level;
} cache;

static int
level_traverse(Level *self, visitproc visit, void *arg)
{
    Py_VISIT(self->base.chain);
    Py_VISIT(self->base.tails);
    Py_VISIT(self->base.crossed);
    Py_VISIT(self->base.switch_unwind);
    Py_VISIT(self->base.depth_unwind);
    Py_VISIT(self->below);
    return 0;
}

static int
level_clear(Level *self)
{
    Py_CLEAR(self->base.chain);
    Py_CLEAR(self->base.tails);
    Py_CLEAR(self->base.crossed);
    Py_CLEAR(self->base.switch_unwind);
    Py_CLEAR(self->base.depth_unwind);
    Py_CLEAR(self->below);
    return 0;
}

static void
level_dealloc(Level *self)
{
    if (cache.level == self)
        cache.level = NULL;
    PyObject_GC_UnTrack(self);
    level_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject Level_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_stacklessxf_switch.Unwinding",
    .tp_basicsize = sizeof(Level),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)level_traverse,
    .tp_clear = (inquiry)level_clear,
    .tp_dealloc = (destructor)level_dealloc,
};

/* An Unwind instance made without running Python code (its class's
 * __init__ is not called: the slots it would set are set here). */
static PyObject *
new_unwind(HandOver *self, const char *reason)
{
    PyTypeObject *type = (PyTypeObject *)self->unwind_type;
    PyObject *text = PyUnicode_InternFromString(reason);
    PyObject *args = text == NULL ? NULL : PyTuple_Pack(1, text);
    PyObject *exc = args == NULL ? NULL : type->tp_new(type, args, NULL);
    if (exc != NULL && (PyObject_SetAttrString(exc, "reason", text) < 0 ||
                        PyObject_SetAttrString(exc, "origin", Py_None) < 0))
        Py_CLEAR(exc);
    Py_XDECREF(args);
    Py_XDECREF(text);
    return exc;
}

static Level *
new_level(HandOver *self, PyObject *below)
{
    Level *level = PyObject_GC_New(Level, &Level_Type);
    if (level == NULL)
        return NULL;
    Unwinding *u = &level->base;
    u->chain = u->tails = u->crossed = u->switch_unwind = u->depth_unwind = NULL;
    level->below = Py_XNewRef(below);
    level->for_collection = 0;
    PyObject_GC_Track(level);
    if ((u->chain = PyList_New(0)) == NULL || (u->tails = PyList_New(0)) == NULL ||
        (u->crossed = PyList_New(0)) == NULL ||
        (u->switch_unwind = new_unwind(self, "switch")) == NULL ||
        (u->depth_unwind = new_unwind(self, "depth")) == NULL)
        Py_CLEAR(level);
    return level;
}

/* Make ``level`` the current thread's current one. */
static int
set_current(HandOver *self, Level *level)
{
    PyObject *dict = PyThreadState_GetDict();
    if (dict == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "no thread state to keep an unwinding's records");
        return -1;
    }
    cache.level = NULL;     /* before the old level can go away */
    if (PyDict_SetItem(dict, (PyObject *)self, (PyObject *)level) < 0)
        return -1;
    cache.owner = (PyObject *)self;
    cache.thread = PyThreadState_GetID(PyThreadState_Get());
    cache.level = level;
    return 0;
}

static Level *
current_level_of(HandOver *self, PyThreadState *ts)
{
    uint64_t thread = PyThreadState_GetID(ts);
    if (cache.level != NULL && cache.owner == (PyObject *)self && cache.thread == thread)
        return cache.level;
    PyObject *dict = PyThreadState_GetDict();
    PyObject *found = dict == NULL ? NULL : PyDict_GetItemWithError(dict, (PyObject *)self);
    if (found != NULL && Py_IS_TYPE(found, &Level_Type)) {
        cache.owner = (PyObject *)self;
        cache.thread = thread;
        cache.level = (Level *)found;
        return cache.level;
    }
    if (PyErr_Occurred())
        return NULL;
    Level *level = new_level(self, NULL);
    int failed = level == NULL || set_current(self, level) < 0;
    Py_XDECREF(level);      /* the thread's dict holds it */
    return failed ? NULL : cache.level;
}

static Level *
current_level(HandOver *self)
{
    return current_level_of(self, PyThreadState_Get());
}

Unwinding *
handover_current(PyObject *handover)
{
    return (Unwinding *)current_level((HandOver *)handover);
}

/* -- the HandOver type ----------------------------------------------- */

enum { A_CHAIN, A_TAILS, A_CROSSED, A_SWITCH_UNWIND, A_DEPTH_UNWIND, A_CALLER_IS_TRANSFORMED,
       A_PASS_ON, A_CHAIN_TAKEN, ATTRIBUTE_COUNT };
static const char *const attribute_names[ATTRIBUTE_COUNT] = {
    "chain", "tails", "crossed", "switch_unwind", "depth_unwind", "caller_is_transformed",
    "pass_on", "chain_taken"};
static PyObject *attribute_strings[ATTRIBUTE_COUNT];

static int
attribute_index(PyObject *name)
{
    for (int i = 0; i < ATTRIBUTE_COUNT; i++)
        if (name == attribute_strings[i])
            return i;
    if (!PyUnicode_Check(name))
        return -1;
    for (int i = 0; i < ATTRIBUTE_COUNT; i++)
        if (PyUnicode_Compare(name, attribute_strings[i]) == 0)
            return i;
    return -1;
}

/* Whether the frame running now returns to one whose code carries the
 * marker (the frame Python's f_back names: incomplete frames skipped). */
static PyObject *
caller_is_transformed_on(HandOver *self, PyThreadState *ts)
{
    _PyInterpreterFrame *frame = SX_CURRENT_FRAME(ts);
    _PyInterpreterFrame *caller = frame == NULL ? NULL : frame->previous;
    while (caller != NULL && _PyFrame_IsIncomplete(caller))
        caller = caller->previous;
    if (caller == NULL)
        Py_RETURN_FALSE;
    PyObject *consts = SX_FRAME_CODE(caller)->co_consts;
    Py_ssize_t n = PyTuple_GET_SIZE(consts);
    return PyBool_FromLong(n > 0 && PyTuple_GET_ITEM(consts, n - 1) == self->marker);
}

static PyObject *
caller_is_transformed(HandOver *self)
{
    return caller_is_transformed_on(self, PyThreadState_Get());
}

/* Drop the traceback ``unwind`` has gathered so far. */
static void
drop_traceback(PyObject *unwind)
{
    if (unwind != NULL && ((PyBaseExceptionObject *)unwind)->traceback != NULL &&
            ((PyBaseExceptionObject *)unwind)->traceback != Py_None)
        PyException_SetTraceback(unwind, Py_None);
}

/* pass_on: caller_is_transformed, and when it is true, the thread's two
 * Unwind instances (one of which passes now) lose the traceback gathered
 * so far, as the frame re-raising it would otherwise drop it itself:
 * nothing reads it, and freeing it (and the frame objects it holds) now
 * keeps unwinding cheap. */
static PyObject *
pass_on(HandOver *self)
{
    PyThreadState *ts = PyThreadState_Get();
    PyObject *result = caller_is_transformed_on(self, ts);
    if (result != Py_True)
        return result;
    Level *level = current_level_of(self, ts);
    if (level == NULL) {
        Py_DECREF(result);
        return NULL;
    }
    drop_traceback(level->base.depth_unwind);
    drop_traceback(level->base.switch_unwind);
    return result;
}

/* chain_taken: the records of the thread's chain in a new list, the chain
 * left empty: what the frame that catches an unwinding hands to the
 * trampoline, taken before it calls anything. */
static PyObject *
chain_taken(HandOver *self)
{
    Level *level = current_level(self);
    if (level == NULL)
        return NULL;
    PyObject *chain = level->base.chain;
    PyObject *records = PyList_GetSlice(chain, 0, PyList_GET_SIZE(chain));
    if (records != NULL && PyList_SetSlice(chain, 0, PyList_GET_SIZE(chain), NULL) < 0)
        Py_CLEAR(records);
    return records;
}

static PyObject *
handover_getattro(HandOver *self, PyObject *name)
{
    /* The one read of every frame an unwinding passes, first. */
    if (name == attribute_strings[A_PASS_ON])
        return pass_on(self);
    int index = attribute_index(name);
    if (index < 0)
        return PyObject_GenericGetAttr((PyObject *)self, name);
    if (index == A_CALLER_IS_TRANSFORMED)
        return caller_is_transformed(self);
    if (index == A_PASS_ON)
        return pass_on(self);
    if (index == A_CHAIN_TAKEN)
        return chain_taken(self);
    Level *level = current_level(self);
    if (level == NULL)
        return NULL;
    Unwinding *u = &level->base;
    PyObject *values[A_CALLER_IS_TRANSFORMED] = {u->chain, u->tails, u->crossed,
                                                 u->switch_unwind, u->depth_unwind};
    return Py_NewRef(values[index]);
}

/* Whether ``exc``, which reached the handler of a call, says the call was
 * refused: a RecursionError, or the MemoryError of a refused call (the
 * depth check's marker is true, once, right after it refused one); -1 on
 * failure. */
static int
is_refusal(HandOver *self, PyObject *exc)
{
    if (PyErr_GivenExceptionMatches(exc, PyExc_RecursionError))
        return 1;
    if (self->refused == NULL || !PyErr_GivenExceptionMatches(exc, PyExc_MemoryError))
        return 0;
    return PyObject_IsTrue(self->refused);
}

/* handover[exc]: the thread's depth Unwind when ``exc`` is a refusal of the
 * very call whose handler asks (its traceback has one entry: the frame
 * that made it); None otherwise.  A depth unwinding then starts: the Unwind
 * takes that traceback and, as its origin, the code of the refusing frame's
 * caller (not a frame: frame objects would keep every unwound activation's
 * locals alive), and the chain and tails are emptied.  Calls nothing, as
 * it runs at the limit. */
static PyObject *
handover_start_depth_unwind(HandOver *self, PyObject *exc)
{
    int refusal = PyExceptionInstance_Check(exc) ? is_refusal(self, exc) : 0;
    if (refusal < 0)
        return NULL;
    PyObject *tb = refusal ? PyException_GetTraceback(exc) : NULL;
    if (tb == NULL || !PyTraceBack_Check(tb) || ((PyTracebackObject *)tb)->tb_next != NULL) {
        Py_XDECREF(tb);
        Py_RETURN_NONE;
    }
    Level *level = current_level(self);
    PyFrameObject *caller = level == NULL ? NULL
        : PyFrame_GetBack(((PyTracebackObject *)tb)->tb_frame);
    PyObject *origin = caller == NULL ? Py_NewRef(Py_None) : (PyObject *)PyFrame_GetCode(caller);
    Py_XDECREF(caller);
    PyObject *unwind = level == NULL ? NULL : level->base.depth_unwind;
    int failed = unwind == NULL || PyException_SetTraceback(unwind, tb) < 0 ||
        PyObject_SetAttrString(unwind, "origin", origin) < 0 ||
        PyList_SetSlice(level->base.chain, 0, PY_SSIZE_T_MAX, NULL) < 0 ||
        PyList_SetSlice(level->base.tails, 0, PY_SSIZE_T_MAX, NULL) < 0;
    Py_DECREF(origin);
    Py_DECREF(tb);
    return failed ? NULL : Py_NewRef(unwind);
}

static PyMappingMethods handover_as_mapping = {
    .mp_subscript = (binaryfunc)handover_start_depth_unwind,
};

/* watch_refusals(refused): the depth check's marker (runtime/depth.py),
 * which handover[exc] asks about a MemoryError. */
static PyObject *
handover_watch_refusals(HandOver *self, PyObject *refused)
{
    Py_XSETREF(self->refused, Py_NewRef(refused));
    Py_RETURN_NONE;
}

static PyObject *
handover_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *unwind_type, *marker;
    static char *keywords[] = {"unwind_type", "marker", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O:HandOver", keywords, &PyType_Type,
                                     &unwind_type, &marker))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)unwind_type,
                          (PyTypeObject *)PyExc_BaseException)) {
        PyErr_SetString(PyExc_TypeError, "HandOver: the unwind type is not an exception");
        return NULL;
    }
    HandOver *self = (HandOver *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->unwind_type = Py_NewRef(unwind_type);
        self->marker = Py_NewRef(marker);
        self->refused = NULL;
    }
    return (PyObject *)self;
}

static void
handover_dealloc(HandOver *self)
{
    if (cache.owner == (PyObject *)self)
        cache.level = NULL;
    Py_XDECREF(self->unwind_type);
    Py_XDECREF(self->marker);
    Py_XDECREF(self->refused);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
push(HandOver *self, int for_collection)
{
    Level *below = current_level(self);
    if (below == NULL)
        return -1;
    Level *level = new_level(self, (PyObject *)below);
    if (level != NULL)
        level->for_collection = for_collection;
    int failed = level == NULL || set_current(self, level) < 0;
    Py_XDECREF(level);
    return failed ? -1 : 0;
}

static int
pop(HandOver *self, Level *level)
{
    /* The level goes away when the dict lets it go: keep ``below`` alive. */
    Level *below = (Level *)Py_NewRef(level->below);
    int failed = set_current(self, below) < 0;
    Py_DECREF(below);
    return failed ? -1 : 0;
}

static PyObject *
handover_push(HandOver *self, PyObject *unused)
{
    if (push(self, 0) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
handover_pop(HandOver *self, PyObject *unused)
{
    Level *level = current_level(self);
    if (level == NULL)
        return NULL;
    if (level->below == NULL || level->for_collection) {
        PyErr_SetString(PyExc_RuntimeError, "pop() without a push()");
        return NULL;
    }
    if (pop(self, level) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* A callback of the garbage collector (see gc.callbacks): the collector's
 * finalizers run in the middle of whatever allocated, perhaps an unwinding,
 * so what they unwind goes to a fresh level.  Written in C so that no
 * signal handler can run (and have its exception dropped) in between. */
static PyObject *
handover_collecting(HandOver *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "collecting(phase, info)");
        return NULL;
    }
    if (PyUnicode_CompareWithASCIIString(args[0], "start") == 0) {
        if (push(self, 1) < 0)
            return NULL;
    }
    else {
        Level *level = current_level(self);
        if (level == NULL || (level->for_collection && pop(self, level) < 0))
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
handover_depth(HandOver *self, PyObject *unused)
{
    Level *level = current_level(self);
    if (level == NULL)
        return NULL;
    Py_ssize_t depth = 0;
    for (PyObject *below = level->below; below != NULL; below = ((Level *)below)->below)
        depth++;
    return PyLong_FromSsize_t(depth);
}

static PyMethodDef handover_methods[] = {
    {"push", (PyCFunction)handover_push, METH_NOARGS,
     "Set this thread's unwinding aside and start a fresh one."},
    {"pop", (PyCFunction)handover_pop, METH_NOARGS,
     "Bring back the unwinding the last push() set aside."},
    {"watch_refusals", (PyCFunction)handover_watch_refusals, METH_O,
     "watch_refusals(refused)\n--\n\n"
     "The depth check's marker, true once right after it refused a call:\n"
     "handover[exc] then takes a MemoryError for a refusal."},
    {"levels_set_aside", (PyCFunction)handover_depth, METH_NOARGS,
     "How many of this thread's unwindings are set aside."},
    {"collecting", (PyCFunction)(void (*)(void))handover_collecting, METH_FASTCALL,
     "collecting(phase, info)\n--\n\n"
     "A garbage collector callback: sets this thread's unwinding aside while\n"
     "a collection runs."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject HandOver_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_stacklessxf_switch.HandOver",
    .tp_doc = "HandOver(unwind_type, marker)\n--\n\n"
              "Its attributes chain, tails, crossed, switch_unwind and depth_unwind are\n"
              "the current thread's: where the frames of an unwinding leave their records.\n"
              "caller_is_transformed: whether the frame reading it returns to one whose\n"
              "code's last constant is the marker.  pass_on: the same, and when true, the\n"
              "thread's Unwind instances lose the traceback gathered so far.  chain_taken:\n"
              "the chain's records in a new list, the chain emptied.  handover[exc]: the\n"
              "depth Unwind, started, when exc is a refusal of the asking frame's call;\n"
              "else None.",
    .tp_basicsize = sizeof(HandOver),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = handover_new,
    .tp_dealloc = (destructor)handover_dealloc,
    .tp_getattro = (getattrofunc)handover_getattro,
    .tp_as_mapping = &handover_as_mapping,
    .tp_methods = handover_methods,
};

/* -- statistics -------------------------------------------------------- */

/* count_sites(numbers, counts): add one to ``counts[n]`` for each site
 * number ``n`` of ``numbers`` (records: their first items; or numbers),
 * adding each run of equal numbers at once: a deep recursion unwinds
 * hundreds of records of one site. */
static PyObject *
count_sites(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "count_sites(numbers, counts): two lists");
        return NULL;
    }
    PyObject *numbers = args[0], *counts = args[1];
    Py_ssize_t size = PyList_GET_SIZE(numbers);
    for (Py_ssize_t start = 0, end; start < size; start = end) {
        PyObject *number = PyList_GET_ITEM(numbers, start);
        if (PyTuple_Check(number) && PyTuple_GET_SIZE(number) > 0)
            number = PyTuple_GET_ITEM(number, 0);
        for (end = start + 1; end < size; end++) {
            PyObject *next = PyList_GET_ITEM(numbers, end);
            if (PyTuple_Check(next) && PyTuple_GET_SIZE(next) > 0)
                next = PyTuple_GET_ITEM(next, 0);
            if (next != number)
                break;
        }
        Py_ssize_t index = PyLong_AsSsize_t(number);
        if (index == -1 && PyErr_Occurred())
            return NULL;
        if (index < 0 || index >= PyList_GET_SIZE(counts)) {
            PyErr_Format(PyExc_IndexError, "count_sites: no site %zd", index);
            return NULL;
        }
        Py_ssize_t count = PyLong_AsSsize_t(PyList_GET_ITEM(counts, index));
        if (count == -1 && PyErr_Occurred())
            return NULL;
        PyObject *counted = PyLong_FromSsize_t(count + (end - start));
        if (counted == NULL || PyList_SetItem(counts, index, counted) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef handover_functions[] = {
    {"count_sites", (PyCFunction)(void (*)(void))count_sites, METH_FASTCALL,
     "count_sites(numbers, counts)\n--\n\n"
     "Add one to counts[n] for each site number n of numbers (records or numbers)."},
    {NULL, NULL, 0, NULL},
};

int
handover_add_types(PyObject *module)
{
    for (int i = 0; i < ATTRIBUTE_COUNT; i++)
        if (attribute_strings[i] == NULL &&
            (attribute_strings[i] = PyUnicode_InternFromString(attribute_names[i])) == NULL)
            return -1;
    if (PyType_Ready(&Level_Type) < 0 || PyType_Ready(&HandOver_Type) < 0 ||
        PyModule_AddFunctions(module, handover_functions) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "HandOver", (PyObject *)&HandOver_Type);
}
