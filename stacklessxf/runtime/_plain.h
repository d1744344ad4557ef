/* Whether records pickle, or pickled rows load, as they are (see _plain.c). */
#ifndef STACKLESSXF_PLAIN_H
#define STACKLESSXF_PLAIN_H

#include <Python.h>

/* plain_records(records, opaque): True when every record of the tuple
 * ``records`` is a tuple of values that pickle stores as they are -- atomic
 * values, lists and tuples of them, functions found by their name, objects
 * of the ``opaque`` types (a tuple of types); False when a value is of any
 * other kind, which the caller's probe then looks into. */
PyObject *plain_records(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

/* rows_fit(rows, lengths): True when every row of the tuple ``rows`` is a
 * tuple whose first item is an int that the dict ``lengths`` maps to the
 * row's length; False otherwise. */
PyObject *rows_fit(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif
