"""Generator expressions that run as stackless generators: held in a
variable, passed on, nested, returned, looped over by stackless code, with
stackless calls inside them.  Recursion through a generator's iteration
counts against the recursion limit, as with CPython's generators, so the
recursion here is shallow."""

from stacklessxf import stackless

LOG = []


class Node:
    def __init__(self, *kids):
        self.kids = kids


@stackless
def twice(x):
    LOG.append(("twice", x))
    return 2 * x


@stackless
def failing(x):
    if x == 3:
        raise KeyError(x)
    return x


@stackless
def total_of(items):
    total = 0
    for item in items:
        total += item
    return total


@stackless
def held_then_drained(xs, scale):
    doubled = (twice(x) * scale for x in xs if x)
    LOG.append("made")
    return [value for value in doubled]


@stackless
def first_match(xs):
    return next((twice(x) for x in xs if x > 1), None)


@stackless
def passed_on(xs):
    return total_of(twice(x) + 1 for x in xs)


@stackless
def plain_body_held(xs):
    squares = (x * x for x in xs)
    twice(0)
    return total_of(squares)


@stackless
def plain_one_shares_a_cell(xs):
    scale = 1
    scaled = (x * scale for x in xs)
    first = next(scaled)
    twice(first)
    scale = 100
    return first, list(scaled)


@stackless
def plain_body_of_two_clauses_held(rows):
    products = (a * b for row in rows for a, b in row)
    twice(0)
    return total_of(products)


@stackless
def nested(rows):
    out = []
    for row_values in ((twice(v) for v in row) for row in rows):
        for value in row_values:
            out.append(value)
    return out


@stackless
def two_on_a_line(xs):
    up, down = (twice(x) for x in xs), (twice(-x) for x in xs)
    return [(next(up), next(down)) for _ in xs]


@stackless
def several_loops(rows):
    pairs = (twice(a) + b for row in rows if row for a, b in row if b)
    return list_of(pairs)


@stackless
def list_of(items):
    return [item for item in items]


@stackless
def make_lazy(xs):
    return (twice(x) for x in xs)


@stackless
def drained_by_caller(xs):
    gen = make_lazy(xs)
    LOG.append(("first", next(gen)))
    return total_of(gen)


@stackless
def raising_inside(xs):
    gen = (failing(x) for x in xs)
    seen = []
    try:
        for value in gen:
            seen.append(value)
    except KeyError as exc:
        seen.append(("caught", exc.args))
    seen.append(next(gen, "exhausted"))
    return seen


@stackless
def closed_early(xs):
    gen = (twice(x) for x in xs)
    first = next(gen)
    gen.close()
    return first, next(gen, "closed")


@stackless
def lazy_height(node):
    return 1 + greatest(lazy_height(kid) for kid in node.kids)


@stackless
def greatest(items):
    best = 0
    for item in items:
        if item > best:
            best = item
    return best


def chain(n):
    node = Node()
    for _ in range(n):
        node = Node(node, Node())
    return node


@stackless
def chain_height(n):
    return lazy_height(chain(n))


CASES = [
    ("held_then_drained", ([1, 0, 2, 3], 5), {}),
    ("held_then_drained", ([], 1), {}),
    ("first_match", ([0, 1, 4, 5],), {}),
    ("first_match", ([1],), {}),
    ("passed_on", ([1, 2, 3],), {}),
    ("plain_body_held", ([1, 2, 3],), {}),
    ("plain_one_shares_a_cell", ([1, 2, 3],), {}),
    ("plain_body_of_two_clauses_held", ([[(1, 2), (3, 4)], [], [(5, 6)]],), {}),
    ("nested", ([[1, 2], [], [3]],), {}),
    ("two_on_a_line", ([1, 2],), {}),
    ("several_loops", ([[(1, 1), (2, 0)], [], [(3, 2)]],), {}),
    ("drained_by_caller", ([4, 5, 6],), {}),
    ("raising_inside", ([1, 2, 3, 4],), {}),
    ("closed_early", ([7, 8],), {}),
    ("chain_height", (2,), {}),
]
