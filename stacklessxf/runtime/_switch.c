/* The scheduler's hot path in C: the loop that runs tasklets, schedule(),
 * and the usual cases of channel send and receive.  An optional
 * accelerator of runtime/scheduler.py, runtime/trampoline.py and
 * runtime/channel.py, which do the same in Python when this module is not
 * built; runtime/native_loop.py configures it and says what it covers.
 *
 * Frames the loop calls are entry frames whose caller is the Python frame
 * that called the loop (its *base*).  A switch primitive called by such a
 * frame, stopped at a call that tests for SWITCHED, can switch by returning
 * SWITCHED: nothing but this loop lies beneath the frame.  The primitives
 * here check exactly that and otherwise call their Python versions, whose
 * check walks any stack.
 */
#define PY_SSIZE_T_CLEAN
#include "_cpython.h"
#include "structmember.h"
#include "_handover.h"
#include "_plain.h"
#include "_genexpr.h"

/* What configure() hands over (the runtime's shared objects). */
static struct {
    PyObject *handover;             /* where an unwinding's records are, per thread */
    PyObject *sites, *site_counts;
    PyObject *switched, *unwind_type;
    PyObject *tested_calls;         /* id(code) + offset of each tested call */
    PyObject *slow_schedule;        /* the Python schedule() */
    PyObject *slow_send, *slow_receive; /* the Python channel methods */
    PyObject *count_unwound;        /* records.count_unwound */
    PyObject *count_stacked_records; /* trampoline.count_stacked_records */
} rt;

static PyObject *s_function, *s_resume_function, *s_closure_entry, *s_main, *s_queue;

/* The deque type, which the run queue and the channels' queues are, and
 * the C functions of its methods, called directly: the queues are checked
 * to be exact deques. */
static struct {
    PyTypeObject *type;
    PyCFunction append, appendleft, popleft;
} deque;

/* The C function of the deque method ``name``, whose calling convention
 * is ``flags``; NULL with an exception if it is not. */
static PyCFunction
deque_method(PyObject *type, const char *name, int flags)
{
    PyObject *method = PyObject_GetAttrString(type, name);
    PyCFunction function = NULL;
    if (method != NULL && Py_IS_TYPE(method, &PyMethodDescr_Type) &&
        ((PyMethodDescrObject *)method)->d_method->ml_flags == flags)
        function = ((PyMethodDescrObject *)method)->d_method->ml_meth;
    else if (method != NULL)
        PyErr_Format(PyExc_ImportError, "deque.%s is not the method expected", name);
    Py_XDECREF(method);
    return function;
}

static int
find_deque(void)
{
    PyObject *collections = PyImport_ImportModule("collections");
    PyObject *type = collections == NULL ? NULL
                                         : PyObject_GetAttrString(collections, "deque");
    Py_XDECREF(collections);
    if (type == NULL)
        return -1;
    deque.type = (PyTypeObject *)type;
    deque.append = deque_method(type, "append", METH_O);
    deque.appendleft = deque.append ? deque_method(type, "appendleft", METH_O) : NULL;
    deque.popleft = deque.appendleft ? deque_method(type, "popleft", METH_NOARGS) : NULL;
    return deque.popleft == NULL ? -1 : 0;
}

/* One running loop, on the C stack; loops on one thread nest. */
typedef struct loop_state {
    struct loop_state *outer;
    _PyInterpreterFrame *base;
    PyObject *sched, *main, *queue;
} loop_state;

static Py_tss_t loop_key = Py_tss_NEEDS_INIT;

/* Outcomes of run(). */
enum { STOPPED, MAIN_IS_NEXT, ENDED, HANDED_BACK };

/* Set while a scheduler feature only the Python code has is in use (a
 * schedule or channel callback, a switch trap, a nested run(), ...): the
 * loop hands the next switch back to Python, and the primitives call the
 * Python ones. */
static int python_only;

/* The tasklet fields the C code reads and writes, in the tasklet class's
 * slots, at these offsets. */
enum { F_VALUE, F_ERROR, F_CALL, F_STACK, F_QUEUED, F_BLOCKED, F_BLOCKED_ON, F_ALIVE,
       FIELD_COUNT };
static const char *const field_names[FIELD_COUNT] = {
    "_value", "_error", "_call", "_stack", "_queued", "blocked", "blocked_on", "_alive"};
static Py_ssize_t field_offsets[FIELD_COUNT];
static PyTypeObject *tasklet_type;

/* The same for the scheduler class's. */
enum { S_CURRENT, S_INTERRUPTED, SCHED_FIELD_COUNT };
static const char *const sched_field_names[SCHED_FIELD_COUNT] = {"current", "interrupted"};
static Py_ssize_t sched_field_offsets[SCHED_FIELD_COUNT];
static PyTypeObject *scheduler_type;

/* The offsets of the ``count`` slots ``names`` of the class ``cls``, in
 * ``offsets``; -1 with an exception if one is not a slot. */
static int
find_slots(PyObject *cls, const char *const *names, int count, Py_ssize_t *offsets)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "configure: not a class");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        PyObject *slot = PyObject_GetAttrString(cls, names[i]);
        if (slot == NULL)
            return -1;
        int usable = Py_IS_TYPE(slot, &PyMemberDescr_Type) &&
                     ((PyMemberDescrObject *)slot)->d_member->type == T_OBJECT_EX;
        if (usable)
            offsets[i] = ((PyMemberDescrObject *)slot)->d_member->offset;
        Py_DECREF(slot);
        if (!usable) {
            PyErr_Format(PyExc_TypeError, "configure: %s is not a slot of %R", names[i], cls);
            return -1;
        }
    }
    return 0;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    enum { RUNTIME_OBJECTS = 9 };
    PyObject *objects[RUNTIME_OBJECTS], *tasklet_class, *scheduler_class;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOO:configure", &objects[0], &objects[1],
                          &objects[2], &objects[3], &objects[4], &objects[5],
                          &objects[6], &objects[7], &objects[8], &tasklet_class,
                          &scheduler_class))
        return NULL;
    PyObject **slots[RUNTIME_OBJECTS] = {
        &rt.handover, &rt.sites, &rt.site_counts, &rt.switched, &rt.unwind_type,
        &rt.tested_calls, &rt.slow_schedule, &rt.count_unwound, &rt.count_stacked_records};
    if (!PyObject_TypeCheck(objects[0], &HandOver_Type) || !PyList_Check(objects[1]) ||
        !PyList_Check(objects[2]) || !PyType_Check(objects[4]) ||
        !PyAnySet_Check(objects[5])) {
        PyErr_SetString(PyExc_TypeError, "configure: unexpected runtime objects");
        return NULL;
    }
    /* All or nothing: a failed configure leaves the module as it was. */
    Py_ssize_t offsets[FIELD_COUNT], sched_offsets[SCHED_FIELD_COUNT];
    if (find_slots(tasklet_class, field_names, FIELD_COUNT, offsets) < 0 ||
        find_slots(scheduler_class, sched_field_names, SCHED_FIELD_COUNT, sched_offsets) < 0)
        return NULL;
    memcpy(field_offsets, offsets, sizeof offsets);
    memcpy(sched_field_offsets, sched_offsets, sizeof sched_offsets);
    Py_XSETREF(tasklet_type, (PyTypeObject *)Py_NewRef(tasklet_class));
    Py_XSETREF(scheduler_type, (PyTypeObject *)Py_NewRef(scheduler_class));
    for (int i = 0; i < RUNTIME_OBJECTS; i++)
        Py_XSETREF(*slots[i], Py_NewRef(objects[i]));
    Py_RETURN_NONE;
}

static int
clear_list(PyObject *list)
{
    Py_ssize_t n = PyList_GET_SIZE(list);
    return n ? PyList_SetSlice(list, 0, n, NULL) : 0;
}

/* A new list holding what ``list`` held; ``list`` is left empty. */
static PyObject *
take_all(PyObject *list)
{
    PyObject *taken = PyList_GetSlice(list, 0, PyList_GET_SIZE(list));
    if (taken != NULL && clear_list(list) < 0)
        Py_CLEAR(taken);
    return taken;
}

/* The records and tail sites of an unwinding, taken out of this thread's
 * hand-over (new references) before anything is called.  -1 on error. */
static int
take_unwinding(PyObject **chain, PyObject **tails)
{
    Unwinding *unwinding = handover_current(rt.handover);
    *chain = unwinding == NULL ? NULL : take_all(unwinding->chain);
    *tails = *chain == NULL ? NULL : take_all(unwinding->tails);
    if (*tails == NULL)
        Py_CLEAR(*chain);
    return *chain == NULL ? -1 : 0;
}

/* Where a tasklet's field lies; the caller has checked it is a tasklet. */
static inline PyObject **
field_of(PyObject *task, int field)
{
    return (PyObject **)((char *)task + field_offsets[field]);
}

/* 0 when ``task`` is a tasklet, -1 with an exception if not. */
static int
check_tasklet(PyObject *task)
{
    if (tasklet_type != NULL && PyObject_TypeCheck(task, tasklet_type))
        return 0;
    PyErr_Format(PyExc_TypeError, "not a tasklet: %R", task);
    return -1;
}

static void
set_field(PyObject *task, int field, PyObject *value)
{
    PyObject **slot = field_of(task, field);
    PyObject *old = *slot;
    *slot = Py_NewRef(value);
    Py_XDECREF(old);
}

/* A tasklet's field replaced by ``value``; the old value is returned (new
 * reference). */
static PyObject *
swap_field(PyObject *task, int field, PyObject *value)
{
    PyObject **slot = field_of(task, field);
    PyObject *old = *slot;
    if (old == NULL) {
        PyErr_SetString(PyExc_AttributeError, field_names[field]);
        return NULL;
    }
    *slot = Py_NewRef(value);
    return old;
}

/* The site number of a record, checked; -1 with an exception if it is not
 * a record. */
static Py_ssize_t
site_number(PyObject *record)
{
    Py_ssize_t number = -1;
    if (PyTuple_Check(record) && PyTuple_GET_SIZE(record) > 0)
        number = PyLong_AsSsize_t(PyTuple_GET_ITEM(record, 0));
    if (number >= 0 && number < PyList_GET_SIZE(rt.sites) &&
        number < PyList_GET_SIZE(rt.site_counts))
        return number;
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_SystemError, "not a record: %R", record);
    return -1;
}

/* The records ``chain`` (innermost first) go on ``stack``, innermost last. */
static int
push_records(PyObject *stack, PyObject *chain)
{
    for (Py_ssize_t i = PyList_GET_SIZE(chain) - 1; i >= 0; i--)
        if (PyList_Append(stack, PyList_GET_ITEM(chain, i)) < 0)
            return -1;
    return 0;
}

/* Drop the last item of ``stack`` (a list), which the caller holds a
 * reference to: no slice assignment, no resizing (the stack of a deep
 * recursion grows back soon). */
static void
drop_last(PyObject *stack)
{
    Py_ssize_t n = PyList_GET_SIZE(stack);
    PyObject *last = PyList_GET_ITEM(stack, n - 1);
    PyList_SET_ITEM(stack, n - 1, NULL);
    Py_SET_SIZE(stack, n - 1);
    Py_DECREF(last);
}

/* Records the C loop counted at their sites, by site number, not yet
 * added to the site counts' list: an int made and freed at every switch
 * costs more than the rest of counting.  flush_site_counts adds them, and
 * the statistics call it before they read the list. */
static struct {
    Py_ssize_t *counts;
    Py_ssize_t length;
} pending;

static int
count_record_at(Py_ssize_t number)
{
    if (number >= pending.length) {
        Py_ssize_t length = Py_MAX(number + 1, 2 * pending.length);
        Py_ssize_t *grown = PyMem_Realloc(pending.counts, length * sizeof(Py_ssize_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memset(grown + pending.length, 0, (length - pending.length) * sizeof(Py_ssize_t));
        pending.counts = grown;
        pending.length = length;
    }
    pending.counts[number]++;
    return 0;
}

static PyObject *
flush_site_counts(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t sites = rt.site_counts == NULL ? 0 : PyList_GET_SIZE(rt.site_counts);
    for (Py_ssize_t i = 0; i < pending.length && i < sites; i++) {
        if (pending.counts[i] == 0)
            continue;
        PyObject *added = PyLong_FromSsize_t(pending.counts[i]);
        PyObject *sum = added == NULL ? NULL
                                      : PyNumber_Add(PyList_GET_ITEM(rt.site_counts, i), added);
        Py_XDECREF(added);
        if (sum == NULL || PyList_SetItem(rt.site_counts, i, sum) < 0)
            return NULL;
        pending.counts[i] = 0;
    }
    Py_RETURN_NONE;
}

/* The records of a switch (in the hand-over's chain, innermost first, and
 * the tail sites it passed) go back on the tasklet's stack, innermost last,
 * and into the statistics; the hand-over is left empty. */
static int
keep_switched_records(PyObject *stack)
{
    Unwinding *unwinding = handover_current(rt.handover);
    if (unwinding == NULL)
        return -1;
    if (PyList_GET_SIZE(unwinding->chain) == 1 && PyList_GET_SIZE(unwinding->tails) == 0) {
        /* The common case, in which nothing runs Python code: one more
         * record at its site. */
        PyObject *record = PyList_GET_ITEM(unwinding->chain, 0);
        Py_ssize_t number = site_number(record);
        if (number < 0 || count_record_at(number) < 0 || PyList_Append(stack, record) < 0)
            return -1;
        drop_last(unwinding->chain);
        return 0;
    }
    PyObject *chain, *tails;
    if (take_unwinding(&chain, &tails) < 0)
        return -1;
    /* On the stack before Python code counts them (and settles the
     * crossing marks among them, see runtime/specials.py). */
    int status = push_records(stack, chain);
    PyObject *done = status < 0 ? NULL
                                : PyObject_CallFunctionObjArgs(rt.count_stacked_records, stack,
                                                               Py_None, chain, tails, Py_None,
                                                               NULL);
    status = done == NULL ? -1 : 0;
    Py_XDECREF(done);
    Py_DECREF(chain);
    Py_DECREF(tails);
    return status;
}

/* Where a field of the running loop's scheduler lies. */
static inline PyObject **
sched_slot(loop_state *state, int field)
{
    return (PyObject **)((char *)state->sched + sched_field_offsets[field]);
}

/* A scheduler field of the running loop's scheduler (borrowed; NULL with
 * an exception when unset). */
static PyObject *
sched_field(loop_state *state, int field)
{
    PyObject *value = *sched_slot(state, field);
    if (value == NULL)
        PyErr_SetString(PyExc_AttributeError, sched_field_names[field]);
    return value;
}

/* The current tasklet of the running loop (new reference). */
static PyObject *
current_of(loop_state *state)
{
    return Py_XNewRef(sched_field(state, S_CURRENT));
}

/* The tasklet that runs next, as the scheduler's Python next_task does it:
 * made current, its stack, value, error and call in the out-arguments (new
 * references).  Returns STOPPED, MAIN_IS_NEXT, HANDED_BACK, -1 on error, or GO_ON
 * ("go on") when a tasklet was found. */
#define GO_ON (HANDED_BACK + 1)
static int
next_task(loop_state *state, int until_main, PyObject **stack, PyObject **value,
          PyObject **error, PyObject **call)
{
    if (python_only)
        return HANDED_BACK;
    if (!until_main) {
        PyObject *interrupted = sched_field(state, S_INTERRUPTED);
        if (interrupted == NULL)
            return -1;
        if (interrupted != Py_None)
            return STOPPED;
    }
    while (PyObject_Length(state->queue) > 0) {
        PyObject *task = deque.popleft(state->queue, NULL);
        if (task == NULL || check_tasklet(task) < 0) {
            Py_XDECREF(task);
            return -1;
        }
        set_field(task, F_QUEUED, Py_False);
        if (task == state->main) {
            /* Main goes on when it waits, or when an exception was thrown
             * to it (which run() raises). */
            PyObject *thrown = *field_of(task, F_ERROR);
            Py_DECREF(task);
            if (until_main || (thrown != NULL && thrown != Py_None))
                return MAIN_IS_NEXT;
            continue;
        }
        Py_XSETREF(*sched_slot(state, S_CURRENT), Py_NewRef(task));
        *call = swap_field(task, F_CALL, Py_None);
        *value = *call == NULL ? NULL : swap_field(task, F_VALUE, Py_None);
        *error = *value == NULL ? NULL : swap_field(task, F_ERROR, Py_None);
        *stack = *error == NULL ? NULL : *field_of(task, F_STACK);
        if (*stack != NULL && PyList_Check(*stack) &&
            (*call == Py_None || (PyTuple_Check(*call) && PyTuple_GET_SIZE(*call) == 3)))
            Py_INCREF(*stack);
        else if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "tasklet %R has no list of records or a bad call",
                         task);
            *stack = NULL;
        }
        else
            *stack = NULL;
        Py_DECREF(task);
        if (*stack == NULL) {
            Py_CLEAR(*call);
            Py_CLEAR(*value);
            Py_CLEAR(*error);
            return -1;
        }
        return GO_ON;
    }
    return PyErr_Occurred() ? -1 : STOPPED;
}

/* Resume the innermost record of ``stack`` with value and error.  The
 * record leaves the stack only once its resume entry is at hand: an
 * exception raised before (by a signal handler, say) goes to it, unless
 * making the entry failed for it already (``*failed``, at the recursion
 * limit, say): then it is dropped. */
/* The resume entries of sites whose ``function`` is set, by site number:
 * a deep recursion resumes a million records of a few sites, and reading
 * the attribute costs more than the rest of taking a record.  A resume
 * site's ``function`` is set once, when its entry is first built, and
 * setting it forgets the cache (forget_resume_entries); other sites set it
 * when they are made.  A site whose entry needs the record's cells has no
 * ``function`` but its ``closure_entry``, (code, globals, where each cell
 * is in a record), once its first entry was built: the loop makes the
 * function of each record from it.  Direct-mapped; the entries are strong
 * references, the sites live as long as SITES. */
#define RESUME_CACHE_SIZE 256
static struct {
    PyObject *site;             /* compared, never dereferenced */
    PyObject *function;         /* or NULL, and then: */
    PyObject *closure_entry;
} resume_cache[RESUME_CACHE_SIZE];

/* The function of a closure entry (code, globals, positions) for
 * ``record``, whose cells are at those positions (0: a new empty cell). */
static PyObject *
function_with_cells(PyObject *entry, PyObject *record)
{
    PyObject *positions = PyTuple_GET_ITEM(entry, 2);
    Py_ssize_t count = PyTuple_GET_SIZE(positions);
    PyObject *closure = PyTuple_New(count);
    if (closure == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(positions, i));
        PyObject *cell = at > 0 && at < PyTuple_GET_SIZE(record) ? PyTuple_GET_ITEM(record, at)
                                                                : Py_None;
        if (at == -1 && PyErr_Occurred())
            cell = NULL;
        else if (cell == Py_None)
            cell = PyCell_New(NULL);
        else if (PyCell_Check(cell))
            Py_INCREF(cell);
        else {
            PyErr_Format(PyExc_TypeError, "a record's cell slot holds %.100R, not a cell", cell);
            cell = NULL;
        }
        if (cell == NULL) {
            Py_DECREF(closure);
            return NULL;
        }
        PyTuple_SET_ITEM(closure, i, cell);
    }
    PyObject *function = PyFunction_New(PyTuple_GET_ITEM(entry, 0), PyTuple_GET_ITEM(entry, 1));
    if (function != NULL && PyFunction_SetClosure(function, closure) < 0)
        Py_CLEAR(function);
    Py_DECREF(closure);
    return function;
}

/* The function that resumes a record of site ``site`` (number ``number``),
 * built for ``record`` if need be (new reference; NULL with an exception). */
static PyObject *
resume_function_of(PyObject *site, Py_ssize_t number, PyObject *record)
{
    size_t slot = (size_t)number % RESUME_CACHE_SIZE;
    if (resume_cache[slot].site == site)
        return resume_cache[slot].function != NULL
                   ? Py_NewRef(resume_cache[slot].function)
                   : function_with_cells(resume_cache[slot].closure_entry, record);
    PyObject *resume = PyObject_GetAttr(site, s_function);
    if (resume == Py_None) {
        /* A site whose entry needs the record's cells gets a new function
         * per record and keeps None; the Python code builds the first. */
        Py_DECREF(resume);
        resume = PyObject_CallMethodOneArg(site, s_resume_function, record);
        if (resume == NULL)
            return NULL;
        PyObject *entry = PyObject_GetAttr(site, s_closure_entry);
        if (entry != NULL && PyTuple_CheckExact(entry) && PyTuple_GET_SIZE(entry) == 3 &&
            PyCode_Check(PyTuple_GET_ITEM(entry, 0)) && PyDict_Check(PyTuple_GET_ITEM(entry, 1)) &&
            PyTuple_CheckExact(PyTuple_GET_ITEM(entry, 2))) {
            Py_CLEAR(resume_cache[slot].function);
            Py_XSETREF(resume_cache[slot].closure_entry, Py_NewRef(entry));
            resume_cache[slot].site = site;
        }
        Py_XDECREF(entry);
        PyErr_Clear();      /* no entry to keep: the next record asks again */
        return resume;
    }
    if (resume != NULL) {
        Py_XSETREF(resume_cache[slot].function, Py_NewRef(resume));
        Py_CLEAR(resume_cache[slot].closure_entry);
        resume_cache[slot].site = site;
    }
    return resume;
}

static PyObject *
forget_resume_entries(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    for (int i = 0; i < RESUME_CACHE_SIZE; i++) {
        resume_cache[i].site = NULL;
        Py_CLEAR(resume_cache[i].function);
        Py_CLEAR(resume_cache[i].closure_entry);
    }
    Py_RETURN_NONE;
}

static PyObject *
resume_innermost(PyObject *stack, PyObject *value, PyObject *error, PyObject **failed)
{
    PyObject *record = Py_NewRef(PyList_GET_ITEM(stack, PyList_GET_SIZE(stack) - 1));
    PyObject *result = NULL, *resume = NULL;
    Py_ssize_t number = site_number(record);
    if (number >= 0)
        resume = resume_function_of(PyList_GET_ITEM(rt.sites, number), number, record);
    Py_ssize_t n = PyList_GET_SIZE(stack);
    int drop = resume != NULL || record == *failed;
    *failed = resume == NULL && !drop ? record : NULL;
    if (drop) {
        if (n > 0 && PyList_GET_ITEM(stack, n - 1) == record)
            drop_last(stack);
        else if (PyList_SetSlice(stack, n - 1, n, NULL) < 0)
            Py_CLEAR(resume);
    }
    if (resume != NULL) {
        /* The first argument stands for the function's own first argument,
         * which the resume entry restores from the record. */
        PyObject *args[4] = {Py_None, record, value, error};
        result = PyObject_Vectorcall(resume, args, 4, NULL);
        Py_DECREF(resume);
    }
    Py_DECREF(record);
    return result;
}

/* The exception being raised, normalized, with its traceback attached. */
static PyObject *
fetch_exception(void)
{
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    if (tb != NULL)
        PyException_SetTraceback(exc, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return exc;
}

/* Hand what ``count_stacked_records`` made of an unwinding's records (or
 * the exception it raised) to the records: an error for them, or none. */
static void
take_count(PyObject *counted, PyObject **value, PyObject **error)
{
    Py_SETREF(*value, Py_NewRef(Py_None));
    if (counted == NULL)
        Py_SETREF(*error, fetch_exception());
    else
        Py_SETREF(*error, counted);
}

/* Take the records of ``list`` out of the collector's sight.  No reference
 * cycle can go through the records of a plain caller's loop: nothing but
 * the loop's own lists refers to them, and they are released in order as
 * they resume; so the collector, which would visit each of them at every
 * young collection while a deep recursion piles them up, need not. */
static void
untrack_records(PyObject *list)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *record = PyList_GET_ITEM(list, i);
        if (PyTuple_CheckExact(record) && PyObject_GC_IsTracked(record))
            PyObject_GC_UnTrack(record);
    }
}

/* The records of a depth unwinding go on ``stack``, from a shallow stack,
 * before any Python code runs, and are counted for the loop whose code is
 * ``loop_code`` (``untrack``: and taken out of the collector's sight).
 * Returns what ``count_stacked_records`` returns, NULL with its exception. */
static PyObject *
stack_deep_unwinding(PyObject *stack, PyObject *exc, PyObject *loop_code, int untrack)
{
    PyObject *chain, *tails, *counted = NULL;
    if (take_unwinding(&chain, &tails) == 0 && push_records(stack, chain) == 0) {
        counted = PyObject_CallFunctionObjArgs(rt.count_stacked_records, stack, exc, chain,
                                               tails, loop_code, NULL);
        if (untrack)
            untrack_records(chain);
    }
    Py_XDECREF(chain);
    Py_XDECREF(tails);
    return counted;
}

/* run(sched, until_main): run the queued tasklets from their records until
 * one ends (ENDED, with its value and error), the queue is empty or the
 * watchdog interrupted one (STOPPED), or main is taken from the queue
 * (MAIN_IS_NEXT, with ``until_main`` or an exception thrown to main), or
 * the Python loop has to take over (HANDED_BACK, see python_only).
 * Returns (outcome, value, error). */
static PyObject *
run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "run(sched, until_main)");
        return NULL;
    }
    if (scheduler_type == NULL || !PyObject_TypeCheck(args[0], scheduler_type)) {
        PyErr_Format(PyExc_TypeError, "run: not a scheduler: %R", args[0]);
        return NULL;
    }
    int until_main = PyObject_IsTrue(args[1]);
    if (until_main < 0)
        return NULL;
    loop_state state = {PyThread_tss_get(&loop_key),
                        SX_CURRENT_FRAME(PyThreadState_GET()), args[0]};
    state.main = PyObject_GetAttr(state.sched, s_main);
    state.queue = state.main == NULL ? NULL : PyObject_GetAttr(state.sched, s_queue);
    if (state.queue != NULL && !Py_IS_TYPE(state.queue, deque.type))
        PyErr_Format(PyExc_TypeError, "run: the run queue is not a deque: %R", state.queue);
    if (state.queue == NULL || PyErr_Occurred()) {
        Py_XDECREF(state.main);
        Py_XDECREF(state.queue);
        return NULL;
    }
    PyObject *stack = NULL, *value = NULL, *error = NULL, *call = NULL, *out = NULL;
    PyObject *failed = NULL;    /* see resume_innermost (not a reference) */
    int outcome = next_task(&state, until_main, &stack, &value, &error, &call);
    if (outcome != GO_ON) {
        if (outcome >= 0)
            out = Py_BuildValue("iOO", outcome, Py_None, Py_None);
        goto done;
    }
    if (PyThread_tss_set(&loop_key, &state) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot keep the loop's state");
        goto done;
    }
    for (;;) {
        PyObject *result;
        if (call != Py_None) {
            result = PyObject_Call(PyTuple_GET_ITEM(call, 0), PyTuple_GET_ITEM(call, 1),
                                   PyTuple_GET_ITEM(call, 2));
            Py_SETREF(call, Py_NewRef(Py_None));
        }
        else if (PyList_GET_SIZE(stack) > 0) {
            result = resume_innermost(stack, value, error, &failed);
        }
        else {
            /* Ended: marked so here, as no signal handler can run before. */
            PyObject *current = current_of(&state);
            if (current != NULL && check_tasklet(current) == 0) {
                set_field(current, F_ALIVE, Py_False);
                set_field(current, F_VALUE, value);
                out = Py_BuildValue("iOO", ENDED, value, error);
            }
            Py_XDECREF(current);
            break;
        }
        if (result != NULL) {
            Py_SETREF(value, result);
            Py_SETREF(error, Py_NewRef(Py_None));
            if (result != rt.switched)
                continue;
            /* A switch passed the frames by returning. */
        }
        else {
            PyObject *exc = fetch_exception();
            if (!PyObject_TypeCheck(exc, (PyTypeObject *)rt.unwind_type)) {
                Py_SETREF(value, Py_NewRef(Py_None));
                Py_SETREF(error, exc);
                continue;
            }
            PyException_SetTraceback(exc, Py_None);
            Unwinding *unwinding = handover_current(rt.handover);
            if (unwinding == NULL) {
                Py_DECREF(exc);
                Py_SETREF(value, Py_NewRef(Py_None));
                Py_SETREF(error, fetch_exception());
                continue;
            }
            if (exc != unwinding->switch_unwind) {
                /* Too deep: the records go on here; what the Python code
                 * counting them raises (a signal handler's exception, say)
                 * goes to them. */
                PyObject *counted = stack_deep_unwinding(
                    stack, exc, (PyObject *)SX_FRAME_CODE(state.base), 0);
                Py_DECREF(exc);
                take_count(counted, &value, &error);
                continue;
            }
            Py_DECREF(exc);
        }
        /* A tasklet switch: its records go back on its stack, and the loop
         * goes on with the next tasklet. */
        if (keep_switched_records(stack) < 0)
            break;
        Py_CLEAR(stack);
        Py_CLEAR(value);
        Py_CLEAR(error);
        Py_CLEAR(call);
        outcome = next_task(&state, until_main, &stack, &value, &error, &call);
        if (outcome != GO_ON) {
            if (outcome >= 0)
                out = Py_BuildValue("iOO", outcome, Py_None, Py_None);
            break;
        }
    }
    PyThread_tss_set(&loop_key, state.outer);
done:
    Py_XDECREF(stack);
    Py_XDECREF(value);
    Py_XDECREF(error);
    Py_XDECREF(call);
    Py_DECREF(state.main);
    Py_DECREF(state.queue);
    return out;
}

/* resume_plain(stack, chain, tails, loop_code): the trampoline loop for
 * the records ``stack`` of an unwinding (``chain`` and ``tails``, not yet
 * counted) whose outermost frame was called by plain code (see
 * trampoline.run_unwound), run from the Python frame whose code is
 * ``loop_code``.  Resumes them from the top until none is left and returns
 * (value, error): what the outermost returned or raised. */
static PyObject *
resume_plain(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        !PyList_Check(args[2]) || !PyCode_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "resume_plain(stack, chain, tails, loop_code)");
        return NULL;
    }
    PyObject *stack = args[0], *loop_code = args[3];
    PyObject *value = Py_NewRef(Py_None), *error = Py_NewRef(Py_None);
    PyObject *failed = NULL;    /* see resume_innermost (not a reference) */
    take_count(PyObject_CallFunctionObjArgs(rt.count_stacked_records, stack, Py_None, args[1],
                                            args[2], loop_code, NULL),
               &value, &error);
    untrack_records(stack);
    /* The stack itself too: only this loop and its caller's frame refer to
     * it, and a full collection would otherwise visit every record of a
     * deep recursion. */
    if (PyObject_GC_IsTracked(stack))
        PyObject_GC_UnTrack(stack);
    while (PyList_GET_SIZE(stack) > 0) {
        PyObject *result = resume_innermost(stack, value, error, &failed);
        if (result != NULL && result != rt.switched) {
            Py_SETREF(value, result);
            Py_SETREF(error, Py_NewRef(Py_None));
            continue;
        }
        PyObject *exc = result == NULL ? fetch_exception() : NULL;
        Py_XDECREF(result);
        Unwinding *unwinding = exc == NULL ? NULL : handover_current(rt.handover);
        if (exc != NULL && !PyObject_TypeCheck(exc, (PyTypeObject *)rt.unwind_type)) {
            Py_SETREF(value, Py_NewRef(Py_None));
            Py_SETREF(error, exc);
            continue;
        }
        if (unwinding == NULL || exc == unwinding->switch_unwind) {
            /* A switch never gets here: the switch primitives refuse to
             * suspend frames a plain caller waits for. */
            Py_XDECREF(exc);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_SystemError, "a switch unwound past a plain caller");
            Py_SETREF(value, Py_NewRef(Py_None));
            Py_SETREF(error, fetch_exception());
            continue;
        }
        /* Too deep again. */
        PyException_SetTraceback(exc, Py_None);
        PyObject *counted = stack_deep_unwinding(stack, exc, loop_code, 1);
        Py_DECREF(exc);
        take_count(counted, &value, &error);
    }
    return Py_BuildValue("(NN)", value, error);
}

/* The answers of at_tested_call, by call (code address plus offset, as in
 * the tested calls' set): a switch asks about the few calls a loop of
 * tasklets switches at, and making an int to look one up in the set costs
 * as much as the rest of the question.  Direct-mapped; forgotten whenever
 * the set changes (forget_tested_calls), so no answer outlives the code it
 * was given for. */
#define TESTED_CACHE_SIZE 256
static struct {
    size_t call;                /* 0: empty */
    int tested;
} tested_cache[TESTED_CACHE_SIZE];

static PyObject *
forget_tested_calls(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    memset(tested_cache, 0, sizeof tested_cache);
    Py_RETURN_NONE;
}

/* Whether ``frame`` is stopped at a call whose result it tests for SWITCHED. */
static int
at_tested_call(_PyInterpreterFrame *frame)
{
    PyCodeObject *code = SX_FRAME_CODE(frame);
    size_t offset = (char *)SX_FRAME_INSTR(frame) - (char *)_PyCode_CODE(code);
    size_t call = (size_t)code + offset;
    size_t slot = (call >> 1) % TESTED_CACHE_SIZE;
    if (tested_cache[slot].call == call)
        return tested_cache[slot].tested;
    PyObject *key = PyLong_FromSize_t(call);
    if (key == NULL)
        return -1;
    int found = PySet_Contains(rt.tested_calls, key);
    Py_DECREF(key);
    if (found >= 0) {
        tested_cache[slot].call = call;
        tested_cache[slot].tested = found;
    }
    return found;
}

/* The running loop, when the frame that called the running builtin is one
 * it called itself and is stopped at a tested call: such a frame can switch
 * by returning SWITCHED.  NULL (with no exception) when it is not, and NULL
 * with an exception on error. */
static loop_state *
loop_of_caller(void)
{
    loop_state *state = python_only ? NULL : PyThread_tss_get(&loop_key);
    if (state == NULL)
        return NULL;
    _PyInterpreterFrame *caller = SX_CURRENT_FRAME(PyThreadState_GET());
    if (caller == NULL || sx_caller(caller) != state->base)
        return NULL;
    return at_tested_call(caller) == 1 ? state : NULL;
}

/* The current tasklet is switched away from: the primitive returns SWITCHED
 * to the frames it passes (and the loop), with the hand-over empty for
 * their records. */
static PyObject *
switch_away(void)
{
    Unwinding *unwinding = handover_current(rt.handover);
    if (unwinding == NULL || clear_list(unwinding->chain) < 0 ||
        clear_list(unwinding->tails) < 0)
        return NULL;
    return Py_NewRef(rt.switched);
}

/* ``task`` joins the run queue, at its end or (``first``) its front. */
static int
enqueue(loop_state *state, PyObject *task, int first)
{
    if (check_tasklet(task) < 0)
        return -1;
    set_field(task, F_QUEUED, Py_True);
    PyObject *done = (first ? deque.appendleft : deque.append)(state->queue, task);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

/* The Python version of a primitive, for the cases the C one leaves. */
static PyObject *
call_python(PyObject *function, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (PyErr_Occurred())
        return NULL;
    if (function == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_stacklessxf_switch is not configured");
        return NULL;
    }
    return PyObject_Vectorcall(function, args, nargs, kwnames);
}

/* schedule(retval=None), as the Python one, which it calls unless the caller
 * is a frame this loop called, stopped at a tested call. */
static PyObject *
schedule(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    loop_state *state = kwnames == NULL && nargs <= 1 ? loop_of_caller() : NULL;
    if (state == NULL)
        return call_python(rt.slow_schedule, args, nargs, kwnames);
    PyObject *current = current_of(state);
    if (current == NULL)
        return NULL;
    int status = enqueue(state, current, 0);
    if (status == 0)
        set_field(current, F_VALUE, nargs ? args[0] : current);
    Py_DECREF(current);
    return status < 0 ? NULL : switch_away();
}

/* -- channels ---------------------------------------------------------------
 * The channel's fields, as a type the channel class of runtime/channel.py
 * derives from, and the usual cases of its send and receive, as channel.py
 * does them: a partner waits (and no exception is to be delivered), or none
 * does and the caller blocks.  Everything else (a closing channel, an
 * exception to deliver, a caller the loop cannot switch by return) goes to
 * the Python functions before anything changes. */

enum { SENDING = 1, RECEIVING = -1 };

typedef struct {
    PyObject_HEAD
    PyObject *waiting;          /* a deque of (tasklet, direction, value, error) */
    int preference;             /* -1, 0 or 1 */
    char closing;
} ChannelObject;

static PyTypeObject Channel_Type;

static PyObject *
channel_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    ChannelObject *self = (ChannelObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->waiting = PyObject_CallNoArgs((PyObject *)deque.type);
    if (self->waiting == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->preference = RECEIVING;
    return (PyObject *)self;
}

static int
channel_traverse(ChannelObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->waiting);
    return 0;
}

static int
channel_clear(ChannelObject *self)
{
    Py_CLEAR(self->waiting);
    return 0;
}

static void
channel_dealloc(ChannelObject *self)
{
    PyObject_GC_UnTrack(self);
    channel_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The waiting entries, read where a clear could have left none. */
static PyObject *
channel_get_waiting(ChannelObject *self, void *Py_UNUSED(closure))
{
    if (self->waiting == NULL)
        self->waiting = PyObject_CallNoArgs((PyObject *)deque.type);
    return Py_XNewRef(self->waiting);
}

static int
channel_set_waiting(ChannelObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    if (value == NULL || !Py_IS_TYPE(value, deque.type)) {
        PyErr_SetString(PyExc_TypeError, "a channel's waiting entries are a deque");
        return -1;
    }
    Py_XSETREF(self->waiting, Py_NewRef(value));
    return 0;
}

static PyObject *
channel_get_preference(ChannelObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->preference);
}

static int
channel_set_preference(ChannelObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    int overflow = 0;
    long preference = value != NULL && PyLong_Check(value)
                          ? PyLong_AsLongAndOverflow(value, &overflow) : 2;
    if (preference == -1 && PyErr_Occurred())
        return -1;
    if (overflow || preference < -1 || preference > 1) {
        PyErr_Format(PyExc_ValueError, "channel preference must be -1, 0 or 1, not %.100R",
                     value == NULL ? Py_None : value);
        return -1;
    }
    self->preference = (int)preference;
    return 0;
}

static PyGetSetDef channel_getset[] = {
    {"_waiting", (getter)channel_get_waiting, (setter)channel_set_waiting,
     "The waiting tasklets' entries (tasklet, direction, value, error), first first.",
     NULL},
    {"preference", (getter)channel_get_preference, (setter)channel_set_preference,
     "Who runs next when a transfer takes place: -1 (the receiver), 1 (the sender) or 0 "
     "(whoever is running).", NULL},
    {NULL},
};

static PyMemberDef channel_members[] = {
    {"closing", T_BOOL, offsetof(ChannelObject, closing), 0,
     "Whether close() was called and open() not since."},
    {NULL},
};

/* What a channel operation reads of the channel. */
typedef struct {
    PyObject *queue;            /* borrowed, as the partner's entry */
    PyObject *partner_entry;    /* the head of the queue if it waits the other way */
} channel_view;

/* 1 when ``ch`` can be handled here (``view`` filled), 0 when the Python
 * function must handle it, -1 on error. */
static int
view_channel(ChannelObject *ch, int direction, channel_view *view)
{
    if (ch->waiting == NULL || ch->closing)
        return 0;
    view->queue = ch->waiting;
    view->partner_entry = NULL;
    if (Py_SIZE(view->queue) == 0)
        return 1;                                      /* the caller blocks */
    PyObject *head = PySequence_GetItem(view->queue, 0);
    if (head == NULL)
        return -1;
    int usable = 0;
    if (PyTuple_CheckExact(head) && PyTuple_GET_SIZE(head) == 4 &&
        PyLong_CheckExact(PyTuple_GET_ITEM(head, 1))) {
        if (PyLong_AsLong(PyTuple_GET_ITEM(head, 1)) == direction) {
            usable = 1;                                /* the caller blocks too */
        }
        else {
            /* A partner waits; a sender's exception is the Python code's. */
            usable = direction == SENDING || PyTuple_GET_ITEM(head, 3) == Py_None;
            view->partner_entry = head;     /* the queue keeps it alive */
        }
    }
    Py_DECREF(head);
    return usable;
}

/* The waiting partner, taken from the channel's queue and unblocked, its
 * value and error set (new reference). */
static PyObject *
take_partner(channel_view *view, PyObject *value)
{
    PyObject *entry = deque.popleft(view->queue, NULL);
    if (entry == NULL)
        return NULL;
    PyObject *partner = Py_NewRef(PyTuple_GET_ITEM(entry, 0));
    Py_DECREF(entry);
    if (check_tasklet(partner) < 0) {
        Py_DECREF(partner);
        return NULL;
    }
    set_field(partner, F_BLOCKED, Py_False);
    set_field(partner, F_BLOCKED_ON, Py_None);
    set_field(partner, F_VALUE, value);
    set_field(partner, F_ERROR, Py_None);
    return partner;
}

/* The current tasklet blocks on the channel, waiting with ``value`` (a
 * sender's; None for a receiver). */
static PyObject *
block_on(loop_state *state, PyObject *ch, channel_view *view, int direction,
         PyObject *value)
{
    PyObject *current = current_of(state);
    if (current == NULL || check_tasklet(current) < 0) {
        Py_XDECREF(current);
        return NULL;
    }
    PyObject *entry = PyTuple_New(4);
    if (entry == NULL) {
        Py_DECREF(current);
        return NULL;
    }
    PyTuple_SET_ITEM(entry, 0, Py_NewRef(current));
    PyTuple_SET_ITEM(entry, 1, PyLong_FromLong(direction));     /* a small int */
    PyTuple_SET_ITEM(entry, 2, Py_NewRef(value));
    PyTuple_SET_ITEM(entry, 3, Py_NewRef(Py_None));
    PyObject *done = deque.append(view->queue, entry);
    if (done != NULL) {
        if (direction == SENDING)
            set_field(current, F_VALUE, Py_None);
        set_field(current, F_BLOCKED, Py_True);
        set_field(current, F_BLOCKED_ON, ch);
    }
    Py_XDECREF(done);
    Py_DECREF(entry);
    Py_DECREF(current);
    return done == NULL ? NULL : switch_away();
}

/* ``partner`` runs next, then the current tasklet, which gets ``value``
 * when it goes on. */
static PyObject *
hand_over(loop_state *state, PyObject *partner, PyObject *value)
{
    PyObject *current = current_of(state);
    if (current == NULL)
        return NULL;
    int status = enqueue(state, current, 1);
    if (status == 0) {
        set_field(current, F_VALUE, value);
        set_field(current, F_ERROR, Py_None);
        status = enqueue(state, partner, 1);
    }
    Py_DECREF(current);
    return status < 0 ? NULL : switch_away();
}

/* The Python function for a channel method's call ``self.method(*args)``
 * that the C code leaves. */
static PyObject *
call_python_method(PyObject *function, PyObject *self, PyObject *const *args,
                   Py_ssize_t nargs, PyObject *kwnames)
{
    enum { ROOM = 8 };
    PyObject *room[ROOM];
    Py_ssize_t total = 1 + nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
    PyObject **full = total <= ROOM ? room : PyMem_New(PyObject *, total);
    if (full == NULL)
        return PyErr_NoMemory();
    full[0] = self;
    memcpy(full + 1, args, (total - 1) * sizeof(PyObject *));
    PyObject *result = call_python(function, full, 1 + nargs, kwnames);
    if (full != room)
        PyMem_Free(full);
    return result;
}

/* 1 when the C code takes a call of send (``direction`` SENDING, one
 * argument) or receive (none), with ``state`` and ``view`` filled; 0 when
 * the Python function must take it; -1 on error. */
static int
take_channel_call(ChannelObject *ch, Py_ssize_t nargs, PyObject *kwnames, int direction,
                  loop_state **state, channel_view *view)
{
    Py_ssize_t expected = direction == SENDING ? 1 : 0;
    *state = kwnames == NULL && nargs == expected ? loop_of_caller() : NULL;
    if (*state == NULL)
        return PyErr_Occurred() ? -1 : 0;
    return view_channel(ch, direction, view);
}

static PyObject *
channel_send(ChannelObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    channel_view view;
    loop_state *state;
    int taken = take_channel_call(self, nargs, kwnames, SENDING, &state, &view);
    if (taken <= 0)
        return taken < 0 ? NULL
                         : call_python_method(rt.slow_send, (PyObject *)self, args, nargs,
                                              kwnames);
    PyObject *value = args[0];
    if (view.partner_entry == NULL)
        return block_on(state, (PyObject *)self, &view, SENDING, value);
    PyObject *receiver = take_partner(&view, value);
    if (receiver == NULL)
        return NULL;
    PyObject *result = NULL;
    if (self->preference == RECEIVING)
        result = hand_over(state, receiver, Py_None);
    else if (enqueue(state, receiver, 0) == 0)
        result = Py_NewRef(Py_None);
    Py_DECREF(receiver);
    return result;
}

static PyObject *
channel_receive(ChannelObject *self, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames)
{
    channel_view view;
    loop_state *state;
    int taken = take_channel_call(self, nargs, kwnames, RECEIVING, &state, &view);
    if (taken <= 0)
        return taken < 0 ? NULL
                         : call_python_method(rt.slow_receive, (PyObject *)self, args, nargs,
                                              kwnames);
    if (view.partner_entry == NULL)
        return block_on(state, (PyObject *)self, &view, RECEIVING, Py_None);
    PyObject *value = Py_NewRef(PyTuple_GET_ITEM(view.partner_entry, 2));
    PyObject *sender = take_partner(&view, Py_None);
    PyObject *result = NULL;
    if (sender != NULL) {
        if (self->preference == SENDING)
            result = hand_over(state, sender, value);
        else if (enqueue(state, sender, 0) == 0)
            result = Py_NewRef(value);
        Py_DECREF(sender);
    }
    Py_DECREF(value);
    return result;
}

static PyMethodDef channel_methods[] = {
    {"send", (PyCFunction)(void (*)(void))channel_send, METH_FASTCALL | METH_KEYWORDS,
     "send(value)\n--\n\nSend value to a receiver, waiting for one if none waits."},
    {"receive", (PyCFunction)(void (*)(void))channel_receive, METH_FASTCALL | METH_KEYWORDS,
     "receive()\n--\n\nReceive a value from a sender, waiting for one if none waits."},
    {NULL},
};

static PyTypeObject Channel_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_stacklessxf_switch.ChannelFields",
    .tp_doc = "The fields of a channel, and its send and receive.",
    .tp_basicsize = sizeof(ChannelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = channel_new,
    .tp_dealloc = (destructor)channel_dealloc,
    .tp_traverse = (traverseproc)channel_traverse,
    .tp_clear = (inquiry)channel_clear,
    .tp_methods = channel_methods,
    .tp_members = channel_members,
    .tp_getset = channel_getset,
};

/* configure_channels(send, receive): the Python functions, called with the
 * channel first, for the cases the C methods leave. */
static PyObject *
configure_channels(PyObject *module, PyObject *args)
{
    PyObject *send, *receive;
    if (!PyArg_ParseTuple(args, "OO:configure_channels", &send, &receive))
        return NULL;
    Py_XSETREF(rt.slow_send, Py_NewRef(send));
    Py_XSETREF(rt.slow_receive, Py_NewRef(receive));
    Py_RETURN_NONE;
}

/* set_python_only(flag): see python_only. */
static PyObject *
set_python_only(PyObject *module, PyObject *flag)
{
    int on = PyObject_IsTrue(flag);
    if (on < 0)
        return NULL;
    python_only = on;
    Py_RETURN_NONE;
}

/* give_code_version(function): see SX_GIVE_CODE_VERSION. */
static PyObject *
give_code_version(PyObject *module, PyObject *function)
{
    if (!PyFunction_Check(function)) {
        PyErr_SetString(PyExc_TypeError, "give_code_version() takes a function");
        return NULL;
    }
    SX_GIVE_CODE_VERSION((PyFunctionObject *)function);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(schedule_doc,
"schedule(retval=current)\n--\n\n"
"Let the other runnable tasklets run; the current one goes to the end\n"
"of the queue.");

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, NULL},
    {"run", (PyCFunction)(void (*)(void))run, METH_FASTCALL, NULL},
    {"resume_plain", (PyCFunction)(void (*)(void))resume_plain, METH_FASTCALL, NULL},
    {"forget_resume_entries", forget_resume_entries, METH_NOARGS,
     "Forget the resume entries the loops know by site (a site's function changed)."},
    {"schedule", (PyCFunction)(void (*)(void))schedule, METH_FASTCALL | METH_KEYWORDS,
     schedule_doc},
    {"configure_channels", configure_channels, METH_VARARGS, NULL},
    {"set_python_only", set_python_only, METH_O, NULL},
    {"flush_site_counts", flush_site_counts, METH_NOARGS,
     "Add the records the loops counted to the site counts."},
    {"forget_tested_calls", forget_tested_calls, METH_NOARGS,
     "Forget what the loops know of the tested calls (the set of them changed)."},
    {"give_code_version", give_code_version, METH_O, NULL},
    {"plain_records", (PyCFunction)(void (*)(void))plain_records, METH_FASTCALL,
     "Whether records pickle as they are, for the usual values (see _plain.h)."},
    {"rows_fit", (PyCFunction)(void (*)(void))rows_fit, METH_FASTCALL,
     "Whether pickled rows fit a table's lengths (see _plain.h)."},
    {"genexpr_parts", genexpr_parts, METH_O,
     "(iterator, cells) of a CPython generator expression between two items"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_stacklessxf_switch",
    "The scheduler's hot path in C (see stacklessxf.runtime.native_loop).", -1, methods,
};

static int
intern_names(void)
{
    struct { PyObject **slot; const char *text; } names[] = {
        {&s_function, "function"}, {&s_resume_function, "resume_function"},
        {&s_closure_entry, "closure_entry"},
        {&s_main, "main"}, {&s_queue, "queue"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
            return -1;
    return 0;
}

PyMODINIT_FUNC
PyInit__stacklessxf_switch(void)
{
    if (PyThread_tss_create(&loop_key) != 0 || intern_names() < 0 || find_deque() < 0 ||
        PyType_Ready(&Channel_Type) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && (handover_add_types(module) < 0 ||
                           PyModule_AddObjectRef(module, "ChannelFields",
                                                 (PyObject *)&Channel_Type) < 0 ||
                           PyModule_AddIntConstant(module, "STOPPED", STOPPED) < 0 ||
                           PyModule_AddIntConstant(module, "MAIN_IS_NEXT", MAIN_IS_NEXT) < 0 ||
                           PyModule_AddIntConstant(module, "ENDED", ENDED) < 0 ||
                           PyModule_AddIntConstant(module, "HANDED_BACK", HANDED_BACK) < 0))
        Py_CLEAR(module);
    return module;
}
