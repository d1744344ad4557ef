/* The hand-over of an unwinding's records, one per thread (see _handover.c). */
#ifndef STACKLESSXF_HANDOVER_H
#define STACKLESSXF_HANDOVER_H

#include <Python.h>

/* Where the frames of one unwinding put what the code catching it takes. */
typedef struct {
    PyObject_HEAD
    PyObject *chain;            /* records, innermost first */
    PyObject *tails;            /* site numbers of tail calls passed */
    PyObject *crossed;          /* not empty when chain holds crossing marks */
    PyObject *switch_unwind;    /* the Unwind a switch raises on this thread */
    PyObject *depth_unwind;     /* the Unwind a depth unwinding raises */
} Unwinding;

/* The type of the process-wide object whose attributes are the current
 * thread's Unwinding's. */
extern PyTypeObject HandOver_Type;

/* The current thread's Unwinding of ``handover`` (borrowed), NULL with an
 * exception on failure. */
Unwinding *handover_current(PyObject *handover);

/* Add the types to ``module``; -1 on failure. */
int handover_add_types(PyObject *module);

#endif
