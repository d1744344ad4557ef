"""Stackless methods that the interpreter calls back from C: a with
statement's __enter__/__exit__, __init__ run by a class call, and the
callbacks a switch cannot pass (__next__ from a for loop, operators,
properties, subscripts, C functions taking a callback)."""

import sys

import stacklessxf as sx

LOG = []
DEPTH = 5000     # deeper than the recursion limit the depth tests set


@sx.stackless
def deep(k):
    if k == 0:
        return 0
    return deep(k - 1) + 1


class Managed:
    """A context manager whose methods switch (or recurse deeply)."""

    def __init__(self, name, suppress=False, depth=0):
        self.name = name
        self.suppress = suppress
        self.depth = depth

    @sx.stackless
    def __enter__(self):
        LOG.append((self.name, "enter"))
        sx.schedule()
        LOG.append((self.name, "entered", deep(self.depth)))
        return self.name.upper()

    @sx.stackless
    def __exit__(self, kind, value, tb):
        LOG.append((self.name, "exit", kind.__name__ if kind else None))
        sx.schedule()
        LOG.append((self.name, "exited", deep(self.depth)))
        return self.suppress


@sx.stackless
def with_body(name, fail, suppress=False, depth=0):
    try:
        with Managed(name, suppress, depth) as entered:
            LOG.append((name, "body", entered))
            sx.schedule()
            if fail:
                raise ValueError(name)
            LOG.append((name, "body done"))
        LOG.append((name, "after"))
        return "done"
    except ValueError as exc:
        LOG.append((name, "caught", str(exc)))
        return "caught"


class Point:
    @sx.stackless
    def __init__(self, x, depth=0):
        LOG.append(("init", x))
        sx.schedule()
        self.x = x + deep(depth)
        LOG.append(("init done", x))


class Point3(Point):
    pass


class BadInit:
    @sx.stackless
    def __init__(self):
        sx.schedule()
        return 5


@sx.stackless
def construct(cls, *args):
    made = cls(*args)
    LOG.append(("made", type(made).__name__, made.x))
    return made


@sx.stackless
def construct_positional(cls, x):
    made = cls(x)
    LOG.append(("made", type(made).__name__, made.x))
    return made


@sx.stackless
def construct_bad(cls):
    try:
        cls()
    except TypeError as exc:
        LOG.append(("refused", str(exc)))


class Switching:
    """Methods the interpreter calls back, each of which switches."""

    def __init__(self):
        self.items = [1, 2]

    @sx.stackless
    def __next__(self):
        sx.schedule()
        if not self.items:
            raise StopIteration
        return self.items.pop()

    def __iter__(self):
        return self

    @sx.stackless
    def __add__(self, other):
        sx.schedule()
        return other

    @sx.stackless
    def __getitem__(self, key):
        sx.schedule()
        return key

    @property
    @sx.stackless
    def prop(self):
        sx.schedule()
        return 1


@sx.stackless
def switching_key(x):
    sx.schedule()
    return -x


@sx.stackless
def for_loop(obj):
    for item in obj:
        LOG.append(item)


@sx.stackless
def operator(obj):
    return obj + 1


@sx.stackless
def subscript(obj):
    return obj[3]


@sx.stackless
def property_read(obj):
    return obj.prop


@sx.stackless
def identity(value):
    return value


@sx.stackless
def sorted_by_switching_key(values):
    values = identity(values)       # a call that may switch: the code is instrumented
    return sorted(values, key=switching_key)


@sx.stackless
def refused(kind, obj):
    """Run one callback that cannot switch; log what happened and carry on."""
    LOG.append(("start", kind))
    try:
        CALLBACKS[kind](obj)
    except sx.SwitchError as exc:
        LOG.append(("refused", kind, str(exc)))
    LOG.append(("goes on", kind))


CALLBACKS = {"for": for_loop, "operator": operator, "subscript": subscript,
             "property": property_read, "sorted": sorted_by_switching_key}


def run_to_end(function, *args):
    """Run ``function(*args)`` in a tasklet beside one that logs its turns;
    the tasklet's result."""
    t = sx.tasklet(function)(*args)
    sx.tasklet(_ticker)()
    sx.run()
    return t._value


@sx.stackless
def _ticker():
    for turn in range(3):
        LOG.append(("tick", turn))
        sx.schedule()


def limit_recursion():
    return _RecursionLimit()


class _RecursionLimit:
    def __enter__(self):
        self.saved = sys.getrecursionlimit()
        sys.setrecursionlimit(1000)

    def __exit__(self, *exc):
        sys.setrecursionlimit(self.saved)
