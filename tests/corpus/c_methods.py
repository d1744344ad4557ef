"""Stackless methods, classmethods and staticmethods, overriding, calls
through attributes, and a stackless __call__."""

from stacklessxf import stackless

LOG = []


@stackless
def echo(x):
    LOG.append(("echo", x))
    return x


class Counter:
    label = "ctr"

    def __init__(self, start=0):
        self.n = start
        self.history = []

    @stackless
    def bump(self, k=1):
        self.n += k
        self.history.append(self.n)
        LOG.append(("bump", type(self).__name__, self.n))
        return self.n

    @stackless
    def bump_many(self, ks):
        for k in ks:
            self.bump(k)
        return self.n, list(self.history)

    @classmethod
    @stackless
    def make(cls, start):
        c = cls(start)
        c.bump(echo(start))
        return c.n, cls.__name__

    @staticmethod
    @stackless
    def twice(x):
        return echo(x) * 2

    @stackless
    def uses_static(self, x):
        return self.twice(x) + Counter.twice(self.n)

    @stackless
    def attribute_after_call(self, k):
        before = self.n
        self.bump(k)
        return before, self.n, self.label

    @stackless
    def failing_bump(self, k):
        self.bump(k)
        if self.n > 5:
            raise OverflowError("counter at %d" % self.n)
        return self.n


class SubCounter(Counter):
    label = "sub"

    @stackless
    def bump(self, k=1):
        LOG.append("sub bump")
        r = Counter.bump(self, k * 10)
        return r + 1

    @stackless
    def safe_bump(self, k):
        try:
            return self.failing_bump(k)
        except OverflowError as e:
            self.n = 0
            return str(e), self.n


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    @stackless
    def __call__(self, x):
        return echo(x) * self.factor


class Node:
    def __init__(self, value, children=()):
        self.value = value
        self.children = list(children)

    @stackless
    def total(self):
        t = self.value
        for c in self.children:
            t += c.total()
        return t

    @stackless
    def depth(self):
        best = 0
        for c in self.children:
            d = c.depth()
            if d > best:
                best = d
        return best + 1


def sample_tree():
    return Node(1, [Node(2, [Node(4), Node(5, [Node(8)])]), Node(3, [Node(6), Node(7)])])


@stackless
def tree_report(extra):
    t = sample_tree()
    t.children.append(Node(extra))
    return t.total(), t.depth()


@stackless
def call_instances(xs):
    s = Scaler(echo(3))
    out = []
    for x in xs:
        out.append(s(x))
    return out


@stackless
def bound_method_through_variable(n):
    c = Counter(n)
    f = c.bump
    f(2)
    g = Counter.twice
    return f(3), g(c.n), c.history


@stackless
def methods_on_builtins(words):
    joined = echo(" ").join(words)
    parts = joined.split()
    parts.sort(key=len)
    return joined.upper(), parts


CASES = [
    ("Counter().bump", (3,), {}),
    ("Counter().bump", (), {}),
    ("Counter().bump_many", ([1, 2, 3],), {}),
    ("Counter.make", (5,), {}),
    ("Counter.twice", (21,), {}),
    ("Counter().twice", (4,), {}),
    ("Counter().uses_static", (6,), {}),
    ("Counter().attribute_after_call", (2,), {}),
    ("Counter().failing_bump", (9,), {}),
    ("SubCounter().bump", (2,), {}),
    ("SubCounter().bump_many", ([1, 2],), {}),
    ("SubCounter.make", (2,), {}),
    ("SubCounter().safe_bump", (1,), {}),
    ("SubCounter().attribute_after_call", (1,), {}),
    ("tree_report", (10,), {}),
    ("call_instances", ([1, 2, 3],), {}),
    ("bound_method_through_variable", (1,), {}),
    ("methods_on_builtins", (["ccc", "a", "bb"],), {}),
]
