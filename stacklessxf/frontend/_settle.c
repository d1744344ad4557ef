/* Parsed trees out of the cyclic garbage collector's sight.
 *
 * The parsed trees the transform keeps (astroid's tree of builtins alone is
 * some 170,000 objects) are kept until the process ends, and every full
 * collection walks all of them again: 0.3 s each, in any program that made
 * one function stackless.  untrack_reachable takes such a tree out of the
 * collector's lists.  An untracked object is never freed by the collector,
 * only by its reference count; that is what a tree kept for good needs, and
 * a cycle made of other objects that merely refer to the tree is still
 * found (the tree counts as a reference from outside it).
 *
 * The walk follows the references the collector itself follows
 * (tp_traverse), from the root to instances of the node type and to plain
 * lists, tuples, dicts and sets, and no further: a live object some node
 * refers to (a module's value that astroid could not describe) stays as it
 * was.  Instances of the leaf type are untracked but not entered.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyTypeObject *node_type, *leaf_type;
    PyObject **todo;
    Py_ssize_t size, capacity;
    int failed;
} walk;

static int
is_part_of_the_tree(PyObject *obj, walk *w)
{
    PyTypeObject *type = Py_TYPE(obj);
    return type == &PyList_Type || type == &PyTuple_Type || type == &PyDict_Type ||
           type == &PySet_Type || PyType_IsSubtype(type, w->node_type);
}

/* Untrack ``obj`` and keep it to be entered, if it belongs to the tree. */
static int
take(PyObject *obj, void *arg)
{
    walk *w = (walk *)arg;
    if (obj == NULL || !PyObject_GC_IsTracked(obj) || !is_part_of_the_tree(obj, w))
        return 0;
    if (w->size == w->capacity) {
        Py_ssize_t capacity = w->capacity ? 2 * w->capacity : 1024;
        PyObject **todo = PyMem_Realloc(w->todo, capacity * sizeof(PyObject *));
        if (todo == NULL) {
            w->failed = 1;
            return -1;
        }
        w->todo = todo;
        w->capacity = capacity;
    }
    /* No reference is taken: nothing runs that could free the tree
     * (tp_traverse calls no Python code), and the untracking is what
     * marks an object as seen. */
    PyObject_GC_UnTrack(obj);
    w->todo[w->size++] = obj;
    return 0;
}

/* untrack_reachable(root, node_type, leaf_type) -> the number of objects
 * taken out of the collector's sight. */
static PyObject *
untrack_reachable(PyObject *module, PyObject *args)
{
    PyObject *root;
    walk w = {NULL, NULL, NULL, 0, 0, 0};
    if (!PyArg_ParseTuple(args, "OO!O!:untrack_reachable", &root, &PyType_Type, &w.node_type,
                          &PyType_Type, &w.leaf_type))
        return NULL;
    Py_ssize_t count = 0;
    take(root, &w);
    while (w.size > 0 && !w.failed) {
        PyObject *obj = w.todo[--w.size];
        count++;
        if (PyType_IsSubtype(Py_TYPE(obj), w.leaf_type))
            continue;
        traverseproc traverse = Py_TYPE(obj)->tp_traverse;
        if (traverse != NULL && traverse(obj, take, &w) < 0)
            break;
    }
    /* What was untracked but not entered stays untracked: it is part of
     * the tree all the same. */
    PyMem_Free(w.todo);
    if (w.failed)
        return PyErr_NoMemory();
    return PyLong_FromSsize_t(count);
}

static PyMethodDef methods[] = {
    {"untrack_reachable", untrack_reachable, METH_VARARGS,
     "untrack_reachable(root, node_type, leaf_type): take root and the nodes, lists, tuples,\n"
     "dicts and sets reachable from it out of the cyclic garbage collector's sight;\n"
     "returns how many."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_stacklessxf_settle",
    "Kept parsed trees out of the cyclic collector's sight (see stacklessxf.frontend.settle).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__stacklessxf_settle(void)
{
    return PyModule_Create(&module_def);
}
