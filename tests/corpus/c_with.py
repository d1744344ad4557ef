"""with statements whose bodies, handlers and surrounding finally blocks call
stackless functions; context managers that suppress, ones written with
contextlib, and ones whose __enter__/__exit__ (and a class whose __init__) are
stackless themselves, which the interpreter calls from C."""

import contextlib

from stacklessxf import stackless

LOG = []


class Recorder:
    """A plain context manager that logs its enter and exit."""

    def __init__(self, name, suppress=False):
        self.name = name
        self.suppress = suppress

    def __enter__(self):
        LOG.append(("enter", self.name))
        return self.name.upper()

    def __exit__(self, et, ev, tb):
        LOG.append(("exit", self.name, et.__name__ if et else None, str(ev) if ev else None))
        return self.suppress


@contextlib.contextmanager
def managed(name):
    LOG.append(("open", name))
    try:
        yield name + "!"
    except ValueError as e:
        LOG.append(("managed caught", str(e)))
    finally:
        LOG.append(("close", name))


@stackless
def work(x):
    LOG.append(("work", x))
    if x < 0:
        raise ValueError("negative %d" % x)
    return x * 10


@stackless
def make_recorder(name, suppress=False):
    return Recorder(name, suppress)


@stackless
def with_body_call(x):
    with Recorder("a") as tag:
        r = work(x)
        LOG.append(tag)
    return r


@stackless
def with_suppress(x):
    with Recorder("s", suppress=True):
        r = work(x)
        LOG.append("after work")
    return "suppressed" if x < 0 else r


@stackless
def with_multiple(x, y):
    with Recorder("outer") as a, Recorder("inner") as b:
        v = work(x) + work(y)
    return a + b + str(v)


@stackless
def with_inside_try(x):
    try:
        with Recorder("w"):
            work(x)
            return "ok"
    except ValueError as e:
        return "caught " + str(e) + " " + str(work(1))
    finally:
        LOG.append(work(2))


@stackless
def with_return_in_body(x):
    with Recorder("r"):
        return work(x)


@stackless
def with_in_loop(items):
    out = []
    for x in items:
        with Recorder(str(x), suppress=x == -2):
            if x == 0:
                continue
            if x > 50:
                break
            out.append(work(x))
    return out


@stackless
def with_manager_from_call(x):
    mgr = make_recorder("made")
    with mgr as t:
        return t + str(work(x))


@stackless
def with_manager_expression_is_call(x):
    with make_recorder("direct", suppress=True) as t:
        LOG.append(t)
        work(x)
    return "after"


@stackless
def with_handler_reraises(x):
    with Recorder("outer"):
        try:
            work(x)
        except ValueError:
            work(5)
            raise
    return "fine"


@stackless
def with_contextmanager(x):
    with managed("m") as n:
        v = work(x)
        LOG.append((n, v))
    return "done"


@stackless
def with_nested_blocks(x):
    with Recorder("one"):
        a = work(x)
        with Recorder("two", suppress=True):
            b = work(x - 10)
            LOG.append("unreached when negative")
        c = work(x + 1)
    return a, c


@stackless
def with_exit_sees_handled_state(x):
    with Recorder("h"):
        try:
            work(x)
        except ValueError as e:
            LOG.append(("handled", str(e)))
        after = work(3)
    return after


@stackless
def with_in_finally(x):
    try:
        return work(x)
    finally:
        with Recorder("f"):
            work(7)


@stackless
def count_down(n):
    if n == 0:
        return 0
    return count_down(n - 1) + 1


class Deep:
    """A context manager whose stackless methods recurse ``n`` deep; its
    __exit__ suppresses ValueError."""

    def __init__(self, n):
        self.n = n

    @stackless
    def __enter__(self):
        return count_down(self.n)

    @stackless
    def __exit__(self, et, ev, tb):
        LOG.append(("deep exit", count_down(self.n), et.__name__ if et else None))
        return et is ValueError


@stackless
def with_stackless_manager(n, error=None):
    with Deep(n) as got:
        LOG.append(("entered", got))
        if error is not None:
            raise error(n)
    return got


class Built:
    @stackless
    def __init__(self, n):
        self.size = count_down(n)


@stackless
def build(n, cls=Built):
    made = cls(n)
    return made.size + 1


CASES = [
    ("with_body_call", (4,), {}),
    ("with_body_call", (-4,), {}),
    ("with_suppress", (3,), {}),
    ("with_suppress", (-3,), {}),
    ("with_multiple", (1, 2), {}),
    ("with_multiple", (1, -2), {}),
    ("with_inside_try", (5,), {}),
    ("with_inside_try", (-5,), {}),
    ("with_return_in_body", (6,), {}),
    ("with_return_in_body", (-6,), {}),
    ("with_in_loop", ([1, 0, -2, 3, 60, 4],), {}),
    ("with_in_loop", ([1, -1, 2],), {}),
    ("with_manager_from_call", (2,), {}),
    ("with_manager_from_call", (-2,), {}),
    ("with_manager_expression_is_call", (-1,), {}),
    ("with_handler_reraises", (-7,), {}),
    ("with_handler_reraises", (7,), {}),
    ("with_contextmanager", (3,), {}),
    ("with_contextmanager", (-3,), {}),
    ("with_nested_blocks", (20,), {}),
    ("with_nested_blocks", (4,), {}),
    ("with_nested_blocks", (-4,), {}),
    ("with_exit_sees_handled_state", (-1,), {}),
    ("with_in_finally", (2,), {}),
    ("with_in_finally", (-2,), {}),
    ("with_stackless_manager", (3,), {}),
    ("with_stackless_manager", (3, ValueError), {}),
    ("with_stackless_manager", (3, KeyError), {}),
    ("build", (4,), {}),
]

DEEP_CASES = [
    ("with_stackless_manager", (3000,), {}, 3000),
    ("with_stackless_manager", (3000, ValueError), {}, 3000),
    ("build", (3000,), {}, 3001),
]
