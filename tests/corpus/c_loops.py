"""while and for loops: break, continue, else, and the usual iterables, with
stackless calls in the loop bodies so that loop state crosses resume points."""

from stacklessxf import stackless

LOG = []


@stackless
def step(x):
    LOG.append(("step", x))
    return x + 1


@stackless
def square(x):
    LOG.append(("square", x))
    return x * x


def countdown(n):
    """A plain generator, iterated by stackless code."""
    while n > 0:
        LOG.append(("yield", n))
        yield n
        n -= 1
    LOG.append("countdown done")


@stackless
def while_sum(n):
    total = 0
    i = 0
    while i < n:
        total += square(i)
        i = step(i)
    return total, i


@stackless
def while_break_continue(n):
    i = 0
    acc = []
    while True:
        i = step(i)
        if i > n:
            break
        if i % 3 == 0:
            continue
        acc.append(square(i))
    return acc, i


@stackless
def while_else(n, stop):
    i = 0
    while i < n:
        if square(i) == stop:
            LOG.append("found")
            break
        i += 1
    else:
        LOG.append("exhausted")
        i = step(-1)
    return i


@stackless
def while_condition_calls(limit):
    # The loop condition itself holds a stackless call.
    i = 0
    seen = []
    while square(i) < limit:
        seen.append(i)
        i += 1
    return seen


@stackless
def for_list(items):
    out = []
    for x in items:
        out.append(square(x))
    return out


@stackless
def for_range_after_loop(a, b, s):
    # `i` is unbound after an empty loop: the error must be the same.
    total = 0
    for i in range(a, b, s):
        total = total * 3 + step(i)
    return total, i


@stackless
def for_break_else(items, target):
    for idx, x in enumerate(items):
        if square(x) == target:
            break
    else:
        LOG.append("not found")
        return step(-2)
    return idx


@stackless
def for_continue(items):
    kept = []
    for x in items:
        if x < 0:
            continue
        if square(x) > 50:
            continue
        kept.append(x)
    return kept


@stackless
def dict_items(d):
    out = {}
    for k, v in d.items():
        out[k] = square(v)
        LOG.append(k)
    return out


@stackless
def dict_keys_and_values(d):
    keys = []
    for k in d:
        keys.append(step(len(k)))
    total = 0
    for v in d.values():
        total += square(v)
    return keys, total


@stackless
def enumerate_start(items):
    res = []
    for i, x in enumerate(items, 1):
        res.append((i, step(x) * i))
    return res


@stackless
def zip_loop(xs, ys):
    acc = 0
    for x, y in zip(xs, ys):
        acc += square(x) - step(y)
    return acc


@stackless
def generator_loop(n):
    out = []
    for v in countdown(n):
        out.append(square(v))
        if v == 2:
            break
    return out


@stackless
def generator_expression_loop(n):
    gen = (x * x for x in range(n) if x % 2)
    total = 0
    for v in gen:
        total += step(v)
    return total


@stackless
def nested_loops(n, m):
    grid = []
    for i in range(n):
        row = []
        for j in range(m):
            if j > i:
                break
            row.append(step(i * m + j))
        else:
            row.append("full")
        grid.append(row)
    return grid


@stackless
def nested_loop_continue_outer(rows):
    found = []
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if square(v) > 10:
                found.append((r, c))
                break
        else:
            continue
        found.append(step(r))
    return found


@stackless
def manual_iterator(items):
    it = iter(items)
    out = []
    while True:
        try:
            x = next(it)
        except StopIteration:
            break
        out.append(square(x))
    return out


@stackless
def loop_best(n):
    best = None
    best_i = -1
    for i in range(n):
        v = square(i - 3)
        if best is None or v < best:
            best, best_i = v, i
    return best, best_i


@stackless
def for_unpack_nested(pairs):
    out = []
    for (a, b), c in pairs:
        out.append(square(a) + step(b) * c)
    return out


@stackless
def for_over_string_and_tuple(s, t):
    chars = []
    for ch in s:
        chars.append(ch * step(0))
    n = 0
    for x in t:
        n = n + square(x)
    return "".join(chars), n


@stackless
def loop_grows_list(items):
    # The list iterated over grows inside the loop.
    for x in items:
        if x < 4:
            items.append(step(x) + 3)
    return items


@stackless
def while_nested_break(n):
    i = 0
    pairs = []
    while i < n:
        j = 0
        while True:
            if j >= i:
                break
            pairs.append((i, square(j)))
            j = step(j)
        i += 1
    return pairs


CASES = [
    ("while_sum", (5,), {}),
    ("while_sum", (0,), {}),
    ("while_break_continue", (8,), {}),
    ("while_else", (6, 9), {}),
    ("while_else", (3, 50), {}),
    ("while_condition_calls", (30,), {}),
    ("for_list", ([3, -1, 4, 1, 5],), {}),
    ("for_list", ([],), {}),
    ("for_range_after_loop", (0, 10, 3), {}),
    ("for_range_after_loop", (5, 0, -2), {}),
    ("for_range_after_loop", (3, 3, 1), {}),
    ("for_break_else", ([1, 2, 3, 4], 9), {}),
    ("for_break_else", ([1, 2], 9), {}),
    ("for_continue", ([-3, 2, 9, 5, 7, 1],), {}),
    ("dict_items", ({"a": 1, "b": 2, "c": 3},), {}),
    ("dict_keys_and_values", ({"x": 4, "yy": 5, "zzz": 6},), {}),
    ("enumerate_start", ([10, 20, 30],), {}),
    ("zip_loop", ([1, 2, 3, 4], [5, 6, 7]), {}),
    ("generator_loop", (5,), {}),
    ("generator_loop", (1,), {}),
    ("generator_expression_loop", (8,), {}),
    ("nested_loops", (4, 3), {}),
    ("nested_loop_continue_outer", ([[1, 2], [1, 5, 9], [0], [4]],), {}),
    ("manual_iterator", ((2, 4, 6),), {}),
    ("loop_best", (7,), {}),
    ("for_unpack_nested", ([((1, 2), 3), ((4, 5), 6)],), {}),
    ("for_over_string_and_tuple", ("abc", (1, 2, 3)), {}),
    ("loop_grows_list", ([1, 5, 2],), {}),
    ("while_nested_break", (4,), {}),
]
