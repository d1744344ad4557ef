"""State that crosses resume points: partially built containers, values
computed before a call and used after it, many live locals, live iterators,
aliasing and object identity."""

from stacklessxf import stackless

LOG = []


@stackless
def square(x):
    LOG.append(("square", x))
    return x * x


@stackless
def length(s):
    return len(s)


@stackless
def identity(x):
    return x


@stackless
def combine(*parts):
    LOG.append(("combine", parts))
    return sum(parts)


class Acc:
    def __init__(self):
        self.items = []
        self.total = 0


@stackless
def partial_list(n):
    out = []
    for i in range(n):
        out.append(square(i))
        LOG.append(list(out))
    return out


@stackless
def partial_dict(keys):
    d = {}
    for k in keys:
        d[k] = length(k)
        d[k + "!"] = length(k) + len(d)
    return d


@stackless
def values_before_and_after(x):
    a = x * 2
    b = [a, x]
    c = square(a)
    b.append(c)
    d = square(c % 7) + a
    return a, b, c, d


@stackless
def list_literal_with_calls(x):
    return [x, square(x), x + 1, square(x + 1), x + 2]


@stackless
def dict_literal_with_calls(x):
    return {"a": x, "b": square(x), "c": [square(1), x], "d": (x, square(2))}


@stackless
def calls_in_call_arguments(x):
    return combine(x, square(x), combine(square(1), x + 1, square(2)), x * 3)


@stackless
def many_locals(n):
    a = n
    b = square(a)
    c = a + b
    d = square(c % 5)
    e = [a, b]
    f = {"c": c}
    g = square(d % 3) + len(e)
    h = (a, b, c, d)
    e.append(square(g % 4))
    f["h"] = h
    i = combine(a, b, c, d, g)
    return a, b, c, d, e, f, g, h, i


@stackless
def string_accumulation(words):
    s = ""
    lengths = []
    for w in words:
        s += w
        lengths.append(length(s))
        s += "/"
    return s, lengths


@stackless
def live_iterator(xs):
    it = iter(xs)
    first = next(it)
    v = square(first)
    second = next(it, None)
    w = square(second if second is not None else 0)
    rest = list(it)
    return v, w, rest


@stackless
def aliasing_preserved(xs):
    ys = xs
    square(len(xs))
    ys.append("added")
    r = identity(ys)
    return r is xs, xs


@stackless
def object_state(n):
    acc = Acc()
    for i in range(n):
        acc.items.append(square(i))
        acc.total = acc.total + acc.items[-1]
    return acc.total, acc.items


@stackless
def same_object_returned(x):
    obj = [x]
    r = identity(obj)
    r.append(square(x))
    return r is obj, obj


@stackless
def counters_in_dict(words):
    counts = {}
    for w in words:
        n = length(w)
        counts[n] = counts.get(n, 0) + 1
    return counts


@stackless
def nested_containers(n):
    grid = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            grid[i][j] = square(i - j)
    return grid


@stackless
def value_used_after_several_calls(x):
    base = x * 7
    square(1)
    square(2)
    square(3)
    return base + 1


@stackless
def running_pair(xs):
    lo = hi = None
    for x in xs:
        s = square(x)
        if lo is None or s < lo:
            lo = s
        if hi is None or s > hi:
            hi = s
    return lo, hi


CASES = [
    ("partial_list", (5,), {}),
    ("partial_dict", (["a", "bb", "ccc"],), {}),
    ("values_before_and_after", (3,), {}),
    ("list_literal_with_calls", (4,), {}),
    ("dict_literal_with_calls", (5,), {}),
    ("calls_in_call_arguments", (2,), {}),
    ("many_locals", (3,), {}),
    ("string_accumulation", (["ab", "c", "def"],), {}),
    ("live_iterator", ([2, 3, 4, 5],), {}),
    ("live_iterator", ([2],), {}),
    ("live_iterator", ([],), {}),
    ("aliasing_preserved", ([1, 2],), {}),
    ("object_state", (4,), {}),
    ("same_object_returned", (3,), {}),
    ("counters_in_dict", (["a", "bb", "cc", "d", "eee"],), {}),
    ("nested_containers", (3,), {}),
    ("value_used_after_several_calls", (6,), {}),
    ("running_pair", ([3, -5, 1, 4],), {}),
]
