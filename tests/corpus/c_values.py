"""Values that pickle does not store by itself, held across calls that may
unwind: closures and lambdas (held, passed on, called after), stackless
functions defined inside stackless functions, exceptions with causes,
bound methods, modules, dict views, builtin iterators and map/filter/zip
over lambdas.  A pickled tasklet must carry all of them and go on the same."""

import collections
import itertools
import math

from stacklessxf import stackless

LOG = []


class ValuesError(Exception):
    pass


@stackless
def echo(x):
    LOG.append(("echo", x))
    return x


@stackless
def apply(f, *args):
    LOG.append(("apply", len(args)))
    return f(*args)


@stackless
def lambda_held_across_calls(n):
    scale = lambda x, k=2: x * k  # noqa: E731
    a = echo(n)
    b = echo(scale(a))
    return scale(b, k=3), scale.__defaults__


@stackless
def closure_passed_down(n):
    total = 0

    def add(k):
        nonlocal total
        total += k
        return total

    first = apply(add, n)
    second = apply(add, echo(n + 1))
    return first, second, total


@stackless
def closures_sharing_state(n):
    def make():
        seen = []

        def push(x):
            seen.append(x)
            return len(seen)

        def peek():
            return list(seen)

        return push, peek

    push, peek = make()
    for i in range(n):
        push(echo(i))
    return peek(), push(99)


@stackless
def lambdas_in_a_table(xs):
    ops = {"neg": lambda v: -v, "sq": lambda v: v * v, "id": lambda v: v}
    out = []
    for name in ("sq", "neg", "id"):
        row = []
        for x in xs:
            row.append(ops[name](echo(x)))
        out.append(row)
    return out


@stackless
def kw_defaults_of_a_closure(n):
    base = echo(n)

    def shift(x, *, by=base, times=1):
        return (x + by) * times

    mid = echo(shift(1))
    return shift(mid, times=2), shift.__kwdefaults__


@stackless
def recursive_closure(n):
    def walk(k):
        return 0 if k == 0 else k + walk(k - 1)

    first = echo(walk(n))
    return first + walk(echo(2))


@stackless
def nested_stackless(n):
    @stackless
    def down(k):
        if k == 0:
            return echo("bottom")
        return down(k - 1) + "."

    return down(n), echo(n)


@stackless
def nested_stackless_closure(n, step):
    acc = []

    @stackless
    def visit(k):
        acc.append(echo(k))
        if k > 0:
            visit(k - step)

    visit(n)
    return acc


@stackless
def nested_stackless_pair(n):
    offset = 10

    @stackless
    def inner(k):
        return echo(k) + offset

    @stackless
    def outer(k):
        return inner(k) * 2 + inner(k + 1)

    return outer(n), apply(outer, n + 1)


@stackless
def exception_held_with_cause(n):
    try:
        try:
            raise KeyError(n)
        except KeyError as inner:
            raise ValuesError("wrapped") from inner
    except ValuesError as exc:
        caught = exc
    echo(n)
    return (repr(caught), repr(caught.__cause__), repr(caught.__context__),
            caught.__suppress_context__)


@stackless
def exception_raised_after_call(n):
    try:
        raise ValueError("first")
    except ValueError as exc:
        pending = exc
    echo(n)
    try:
        raise ValuesError("second") from pending
    except ValuesError as exc:
        return repr(exc), repr(exc.__cause__)


class Tally:
    def __init__(self, start):
        self.n = start

    @stackless
    def add(self, k):
        self.n += echo(k)
        return self.n

    def read(self):
        return self.n


@stackless
def bound_methods_held(n):
    tally = Tally(n)
    add, read = tally.add, tally.read
    echo(read())
    add(2)
    return read(), apply(add, 3), tally.n


@stackless
def module_held(n):
    m = math
    v = echo(n)
    return m.isqrt(v * v + 1), m.__name__


@stackless
def dict_views_held(n):
    table = {"a": 1}
    keys, values, items = table.keys(), table.values(), table.items()
    echo(len(keys))
    table["b"] = n
    echo(len(values))
    ordered = collections.OrderedDict(z=0)
    view = ordered.items()
    ordered["y"] = echo(n)
    return sorted(keys), sorted(values), sorted(items), list(view)


@stackless
def iterators_held(n):
    its = [iter(range(n)), iter([1, 2, 3]), reversed("abc"), enumerate("xy"),
           iter({"k": 1, "l": 2}), iter({"k": 1}.items()), itertools.count(3),
           itertools.islice(itertools.cycle("pq"), 5), zip("ab", itertools.count())]
    firsts = [next(it) for it in its]
    echo(len(firsts))
    rests = [list(itertools.islice(it, 3)) for it in its]
    return firsts, rests


@stackless
def lazy_map_filter_zip(n):
    doubled = map(lambda v: v * 2, range(n))
    evens = filter(lambda v: v % 2 == 0, range(n))
    pairs = zip(map(str, range(n)), doubled)
    head = next(pairs)
    echo(head)
    return head, list(evens), list(pairs)


@stackless
def for_over_a_map_of_lambdas(xs):
    out = []
    for v in map(lambda x: x + 1, xs):
        out.append(echo(v))
    return out


CASES = [
    ("lambda_held_across_calls", (3,), {}),
    ("closure_passed_down", (4,), {}),
    ("closures_sharing_state", (3,), {}),
    ("lambdas_in_a_table", ([1, 2],), {}),
    ("kw_defaults_of_a_closure", (5,), {}),
    ("recursive_closure", (6,), {}),
    ("nested_stackless", (4,), {}),
    ("nested_stackless_closure", (7, 2), {}),
    ("nested_stackless_pair", (3,), {}),
    ("exception_held_with_cause", (2,), {}),
    ("exception_raised_after_call", (2,), {}),
    ("bound_methods_held", (5,), {}),
    ("module_held", (6,), {}),
    ("dict_views_held", (4,), {}),
    ("iterators_held", (5,), {}),
    ("lazy_map_filter_zip", (5,), {}),
    ("for_over_a_map_of_lambdas", ([1, 2, 3],), {}),
]
