"""Expressions with stackless calls inside: unpacking, augmented assignment,
evaluation order, nested calls, f-strings, containers, subscripts, calls
through variables; comprehensions and lambdas with plain calls only."""

from stacklessxf import stackless

LOG = []


@stackless
def echo(x):
    LOG.append(("echo", x))
    return x


@stackless
def twice(x):
    LOG.append(("twice", x))
    return x * 2


@stackless
def add(a, b):
    LOG.append(("add", a, b))
    return a + b


@stackless
def add1(x):
    return x + 1


@stackless
def pair(x):
    return x, x + 1


@stackless
def set_key(d, v):
    d["k"] = v
    return v


@stackless
def next_or_none(xs, i):
    if i < len(xs):
        return xs[i]
    return None


class Box:
    def __init__(self, value):
        self.value = value


@stackless
def make_box(x):
    return Box(echo(x))


@stackless
def unpack_tuple(x):
    a, b = pair(x)
    (c, d), e = pair(a + 10), echo(b)
    first, *rest = echo([x, a, b, c])
    *init, last = pair(e)
    return a, b, c, d, e, first, rest, init, last


@stackless
def unpack_wrong_length(x):
    a, b, c = pair(x)
    return a, b, c


@stackless
def swap_rotate(a, b, c):
    a, b, c = echo(b), echo(c), echo(a)
    return a, b, c


@stackless
def augmented(xs):
    total = 0
    text = ""
    items = []
    for x in xs:
        total += echo(x)
        total *= 2
        total -= twice(1)
        text += str(echo(x))
        items += [twice(x)]
    total //= add(1, 2)
    total **= 2
    return total, text, items


@stackless
def operand_order(d):
    d["k"] = 1
    r1 = d["k"] + set_key(d, 10)
    r2 = set_key(d, 20) + d["k"]
    d["k"] += set_key(d, 5)
    return r1, r2, d["k"]


@stackless
def attribute_augmented(x):
    b = make_box(x)
    b.value += echo(3)
    b.value *= twice(b.value)
    return b.value


@stackless
def nested_calls(x, y):
    return add(twice(x), add(echo(y), twice(add(x, y))))


@stackless
def call_argument_order(x):
    return echo([echo(x), len("ab"), twice(x), *pair(x)])


@stackless
def fstrings(x, width):
    return f"{echo(x)}|{twice(x):>{width}}|{echo('s')!r}|{x + 1:03d}|{add(x, 0.5):.2f}"


@stackless
def comprehensions_plain(xs):
    m = echo(3)
    squares = [v * v for v in xs if v % m]
    d = {v: str(v) for v in squares}
    s = {len(k) for k in d.values()}
    g = sum(v for v in xs)
    return squares, d, sorted(s), g, twice(len(squares))


@stackless
def lambdas_plain(words):
    key = echo(lambda w: (len(w), w))
    by_len = sorted(words, key=key)
    longest = max(words, key=lambda w: len(w))
    return by_len, longest, list(filter(lambda w: "a" in w, words))


@stackless
def unknown_callee(which, x):
    f = twice if which else echo
    table = {"t": twice, "a": add1}
    g = table["a" if which else "t"]
    return f(x), g(x)


@stackless
def pipeline(n):
    ops = [twice, echo, add1, twice]
    v = n
    for op in ops:
        v = op(v)
    return v


@stackless
def subscripts_and_slices(xs):
    ys = list(xs)
    ys[echo(0)] = twice(ys[1])
    window = ys[echo(1):twice(2)]
    return window, ys[::-1], ys[-echo(1)]


@stackless
def walrus_loop(xs):
    out = []
    i = 0
    while (v := next_or_none(xs, i)) is not None:
        out.append(v)
        i += 1
    return out, v


@stackless
def starred_build(xs):
    d = {**echo({"a": 1}), "z": twice(0)}
    return [*echo(xs), *pair(len(xs))], d, (*xs, twice(1))


@stackless
def membership_identity(x, xs):
    return echo(x) in xs, echo(x) is None, echo(x) not in echo(xs)


@stackless
def delete_names_and_items(d, k):
    v = echo(d[k])
    del d[k]
    tmp = twice(v)
    del tmp
    return v, d


@stackless
def float_results(x):
    nan = float("nan")
    return echo(x) / 3, nan, twice(float(x)) ** 0.5, -0.0 * echo(1)


@stackless
def division_by_zero(a, b):
    return echo(a) // b


@stackless
def big_integers(n):
    return echo(2) ** n + twice(3) ** (n // 2)


@stackless
def unary_ops(x):
    return -echo(x), ~twice(x), not echo(x), +echo(x)


@stackless
def dict_literal_order():
    return {echo("a"): echo(1), echo("b"): echo(2), echo("a"): echo(3)}


@stackless
def tuple_comparison(a, b):
    return (echo(a), 1) < (echo(b), 2), [twice(a)] == [twice(b)]


@stackless
def string_building(words):
    out = ""
    for w in words:
        out = out + echo(w).upper() + "-" * twice(len(w) % 2)
    return out.strip("-"), "%s=%d" % (echo("n"), twice(21))


@stackless
def type_error_in_expression(x):
    return echo(x) + twice("a")


@stackless
def conditional_import(x):
    import math
    from operator import mul
    return mul(math.floor(echo(x)), twice(2))


@stackless
def sets_and_frozensets(xs):
    s = set()
    for x in xs:
        s.add(twice(x) % 5)
    f = frozenset(s) | {echo(9)}
    return sorted(s), sorted(f)


@stackless
def many_locals(a0, a1):
    # Past sixteen locals, two loaded together are two instructions (the
    # pair's instruction numbers each local with four bits).
    a2, a3, a4, a5, a6, a7, a8, a9 = a0 + 1, a1 + 1, a0 + 2, a1 + 2, a0 + 3, a1 + 3, a0 + 4, a1 + 4
    a10, a11, a12, a13, a14, a15, a16, a17 = a2 * 2, a3 * 2, a4 * 2, a5 * 2, a6, a7, a8, a9
    a18 = echo(a16 - a17)
    a19 = echo(a0 - a17)
    return a17 - a16, a15 - a0, a18, a19, a1 * a17, echo(a14 + a13) + a16 - a12 + a19


CASES = [
    ("unpack_tuple", (1,), {}),
    ("unpack_wrong_length", (1,), {}),
    ("swap_rotate", (1, 2, 3), {}),
    ("augmented", ([1, 2, 3],), {}),
    ("operand_order", ({},), {}),
    ("attribute_augmented", (2,), {}),
    ("nested_calls", (3, 4), {}),
    ("call_argument_order", (5,), {}),
    ("fstrings", (7, 5), {}),
    ("comprehensions_plain", ([1, 2, 3, 4, 5, 6],), {}),
    ("lambdas_plain", (["bb", "a", "ccc", "ab"],), {}),
    ("unknown_callee", (True, 5), {}),
    ("unknown_callee", (False, 5), {}),
    ("pipeline", (3,), {}),
    ("subscripts_and_slices", ([1, 2, 3, 4, 5],), {}),
    ("walrus_loop", ([3, 1, 2],), {}),
    ("starred_build", ((1, 2),), {}),
    ("membership_identity", (2, [1, 2]), {}),
    ("membership_identity", (None, [1]), {}),
    ("delete_names_and_items", ({"a": 1, "b": 2}, "a"), {}),
    ("delete_names_and_items", ({"a": 1}, "q"), {}),
    ("float_results", (4,), {}),
    ("division_by_zero", (5, 0), {}),
    ("division_by_zero", (7, 2), {}),
    ("big_integers", (100,), {}),
    ("unary_ops", (5,), {}),
    ("dict_literal_order", (), {}),
    ("tuple_comparison", (1, 1), {}),
    ("tuple_comparison", (2, 1), {}),
    ("string_building", (["ab", "c", "def"],), {}),
    ("type_error_in_expression", (1,), {}),
    ("conditional_import", (3.7,), {}),
    ("sets_and_frozensets", ([1, 2, 3, 7],), {}),
    ("many_locals", (3, 10), {}),
]
