/* What a CPython generator expression's frame holds (see _genexpr.c). */
#ifndef STACKLESSXF_GENEXPR_H
#define STACKLESSXF_GENEXPR_H

#include <Python.h>

/* genexpr_parts(generator): (iterator, cells) of a CPython generator of
 * one parameter that has not started or is suspended: the value of its
 * parameter (a generator expression's ``.0``, the iterator it loops over)
 * and a tuple of the cells of its free variables, which its frame holds
 * and nothing else gives.  ValueError for a running or finished one. */
PyObject *genexpr_parts(PyObject *module, PyObject *generator);

#endif
