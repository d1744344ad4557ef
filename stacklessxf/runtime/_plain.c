/* Whether records pickle as they are, answered at C speed for the usual
 * values (runtime/values.py asks its probe otherwise), and whether pickled
 * rows fit a known table (runtime/portable.py); see _plain.h. */
#include "_plain.h"

/* Values pickle stores as they are: the types of values.ATOMIC. */
static int
is_atomic(PyObject *value)
{
    PyTypeObject *type = Py_TYPE(value);
    return value == Py_None || value == Py_Ellipsis || value == Py_NotImplemented ||
           type == &PyLong_Type || type == &PyUnicode_Type || type == &PyBool_Type ||
           type == &PyFloat_Type || type == &PyBytes_Type || type == &PyComplex_Type ||
           type == &PyRange_Type;
}

static int
items_are_atomic(PyObject **items, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++)
        if (!is_atomic(items[i]))
            return 0;
    return 1;
}

/* A function that pickle finds again by its module and its (undotted)
 * qualified name; 0 where that is not plainly so, -1 on an error. */
static int
found_by_name(PyObject *function)
{
    PyFunctionObject *func = (PyFunctionObject *)function;
    PyObject *qualname = func->func_qualname;
    if (func->func_module == NULL || !PyUnicode_CheckExact(func->func_module) ||
        qualname == NULL || !PyUnicode_CheckExact(qualname) ||
        PyUnicode_FindChar(qualname, '.', 0, PyUnicode_GET_LENGTH(qualname), 1) != -1)
        return 0;
    PyObject *module = PyImport_GetModule(func->func_module);
    if (module == NULL)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *found = PyObject_GetAttr(module, qualname);
    Py_DECREF(module);
    if (found == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(found);
    return found == function;
}

/* 1 if ``value`` pickles as it is, 0 if the probe must say, -1 on an error. */
static int
is_plain(PyObject *value, PyObject *opaque)
{
    if (is_atomic(value))
        return 1;
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyList_Type)
        return items_are_atomic(((PyListObject *)value)->ob_item, PyList_GET_SIZE(value));
    if (type == &PyTuple_Type)
        return items_are_atomic(((PyTupleObject *)value)->ob_item, PyTuple_GET_SIZE(value));
    if (type == &PyFunction_Type)
        return found_by_name(value);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(opaque); i++)
        if (PyObject_TypeCheck(value, (PyTypeObject *)PyTuple_GET_ITEM(opaque, i)))
            return 1;
    return 0;
}

PyObject *
plain_records(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_CheckExact(args[0]) || !PyTuple_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "plain_records(records tuple, opaque types tuple)");
        return NULL;
    }
    PyObject *records = args[0], *opaque = args[1];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(opaque); i++)
        if (!PyType_Check(PyTuple_GET_ITEM(opaque, i))) {
            PyErr_SetString(PyExc_TypeError, "plain_records: the opaque ones must be types");
            return NULL;
        }
    for (Py_ssize_t r = 0; r < PyTuple_GET_SIZE(records); r++) {
        PyObject *record = PyTuple_GET_ITEM(records, r);
        if (!PyTuple_CheckExact(record))
            Py_RETURN_FALSE;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(record); i++) {
            int plain = is_plain(PyTuple_GET_ITEM(record, i), opaque);
            if (plain < 0)
                return NULL;
            if (!plain)
                Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

PyObject *
rows_fit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_CheckExact(args[0]) || !PyDict_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "rows_fit(rows tuple, lengths dict)");
        return NULL;
    }
    PyObject *rows = args[0], *lengths = args[1];
    for (Py_ssize_t r = 0; r < PyTuple_GET_SIZE(rows); r++) {
        PyObject *row = PyTuple_GET_ITEM(rows, r);
        if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) == 0 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(row, 0)))
            Py_RETURN_FALSE;
        PyObject *length = PyDict_GetItemWithError(lengths, PyTuple_GET_ITEM(row, 0));
        if (length == NULL) {
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_FALSE;
        }
        Py_ssize_t expected = PyLong_AsSsize_t(length);
        if (expected == -1 && PyErr_Occurred())
            return NULL;
        if (expected != PyTuple_GET_SIZE(row))
            Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}
