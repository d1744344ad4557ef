/* The depth probe: a constant of every stackless function that makes
 * may-unwind calls, tested for truth on entry.  It is true when less than
 * half of the recursion limit is left on the calling thread; the function
 * then calls runtime.depth.start_depth_unwinding, which moves the stackless
 * frames into records so that the stack is shallow again.  Plain code called
 * from stackless code therefore always has at least half of the limit to
 * itself.
 *
 * A truth test of an object with nb_bool calls that slot directly: two
 * instructions and one C call on the normal path, no Python frame.
 *
 * A thread can be made *quiet*: the probe stays false for it until its
 * stack gets a given amount deeper, or shallower than where that began.
 * Where the frames above the nearest plain caller are too few for an
 * unwinding to gain anything, probing again at every call would only cost
 * time.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define Py_BUILD_CORE 1
#include "internal/pycore_pystate.h"   /* _PyThreadState_GET, inline */
#undef Py_BUILD_CORE

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "the depth probe reads CPython 3.11's thread state"
#endif

typedef struct {
    PyObject_HEAD
    PyThreadState *quiet_thread;   /* compared, never dereferenced */
    int quiet_from;                /* levels left when the quiet span began */
    int quiet_until;               /* the probe stays false while more is left */
} DepthProbe;

static inline int
levels_left(PyThreadState *ts)
{
    return ts->recursion_remaining;
}

static int
probe_bool(PyObject *op)
{
    DepthProbe *self = (DepthProbe *)op;
    PyThreadState *ts = _PyThreadState_GET();
    int left = levels_left(ts);
    if (left * 2 >= ts->recursion_limit)
        return 0;
    if (ts == self->quiet_thread) {
        if (left <= self->quiet_from && left >= self->quiet_until)
            return 0;
        /* Deeper than the span, or back above where it began: it is over. */
        self->quiet_thread = NULL;
    }
    return 1;
}

static PyObject *
probe_quiet(PyObject *op, PyObject *arg)
{
    DepthProbe *self = (DepthProbe *)op;
    int span = _PyLong_AsInt(arg);
    if (span == -1 && PyErr_Occurred())
        return NULL;
    if (span < 0) {
        PyErr_SetString(PyExc_ValueError, "quiet: the span must not be negative");
        return NULL;
    }
    PyThreadState *ts = PyThreadState_Get();
    self->quiet_thread = ts;
    self->quiet_from = levels_left(ts);
    self->quiet_until = self->quiet_from - span;
    Py_RETURN_NONE;
}

static PyObject *
probe_wake(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DepthProbe *self = (DepthProbe *)op;
    if (self->quiet_thread == PyThreadState_Get())
        self->quiet_thread = NULL;
    Py_RETURN_NONE;
}

static PyObject *
probe_levels_left(PyObject *Py_UNUSED(op), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(levels_left(PyThreadState_Get()));
}

static PyObject *
probe_repr(PyObject *Py_UNUSED(op))
{
    return PyUnicode_FromString("<stacklessxf depth probe>");
}

static PyMethodDef probe_methods[] = {
    {"quiet", probe_quiet, METH_O,
     "Keep the probe false on this thread until SPAN more levels are used."},
    {"wake", probe_wake, METH_NOARGS, "End this thread's quiet span."},
    {"levels_left", probe_levels_left, METH_NOARGS,
     "How many more levels this thread may use before the recursion limit."},
    {NULL, NULL, 0, NULL},
};

static PyNumberMethods probe_as_number = {.nb_bool = probe_bool};

static PyTypeObject DepthProbe_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_stacklessxf_depth.DepthProbe",
    .tp_basicsize = sizeof(DepthProbe),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "True when less than half of the recursion limit is left.",
    .tp_repr = probe_repr,
    .tp_as_number = &probe_as_number,
    .tp_methods = probe_methods,
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_stacklessxf_depth",
    "The depth probe of stackless functions (see stacklessxf.runtime.depth).", -1, NULL,
};

PyMODINIT_FUNC
PyInit__stacklessxf_depth(void)
{
    if (PyType_Ready(&DepthProbe_Type) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    DepthProbe *probe = PyObject_New(DepthProbe, &DepthProbe_Type);
    if (probe == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    probe->quiet_thread = NULL;
    probe->quiet_from = probe->quiet_until = 0;
    if (PyModule_AddObject(module, "PROBE", (PyObject *)probe) < 0) {
        Py_DECREF(probe);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
