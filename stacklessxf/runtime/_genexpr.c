/* The parts of a CPython generator expression that stand for its whole
 * state between two items (runtime/values.py rebuilds one from them); see
 * _genexpr.h. */
#include "_cpython.h"
#include "_genexpr.h"

PyObject *
genexpr_parts(PyObject *module, PyObject *generator)
{
    if (!PyGen_CheckExact(generator)) {
        PyErr_SetString(PyExc_TypeError, "genexpr_parts() takes a generator");
        return NULL;
    }
    PyGenObject *gen = (PyGenObject *)generator;
    if (gen->gi_frame_state >= FRAME_EXECUTING) {
        PyErr_SetString(PyExc_ValueError, "the generator is running or finished");
        return NULL;
    }
    _PyInterpreterFrame *frame = (_PyInterpreterFrame *)gen->gi_iframe;
    PyCodeObject *code = (PyCodeObject *)SX_FRAME_CODE(frame);
    if (code->co_argcount != 1 || frame->localsplus[0] == NULL) {
        PyErr_SetString(PyExc_ValueError, "the generator has no parameter of its own");
        return NULL;
    }
    int first_free = code->co_nlocalsplus - code->co_nfreevars;
    PyObject *cells = PyTuple_New(code->co_nfreevars);
    if (cells == NULL)
        return NULL;
    for (int i = 0; i < code->co_nfreevars; i++) {
        PyObject *cell = frame->localsplus[first_free + i];
        if (cell == NULL || !PyCell_Check(cell)) {
            Py_DECREF(cells);
            PyErr_SetString(PyExc_ValueError, "the generator's free variables are not cells");
            return NULL;
        }
        PyTuple_SET_ITEM(cells, i, Py_NewRef(cell));
    }
    return Py_BuildValue("(ON)", frame->localsplus[0], cells);
}
