"""Comprehensions and generator expressions around stackless calls: they
run inline in the function's frame, so the calls inside them are resume
points of the function (and recursion through them has no depth limit)."""

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
def list_comp(xs, offset):
    return [twice(x) + offset for x in xs if x % 2 == 0]


@stackless
def set_and_dict(xs):
    doubled = {twice(x) for x in xs}
    table = {x: twice(x) for x in xs if x}
    return sorted(doubled), table


@stackless
def nested_loops(rows):
    return [twice(cell) for row in rows for cell in row if cell]


@stackless
def nested_comprehensions(rows):
    return [[twice(cell) for cell in row] for row in rows]


@stackless
def consumers(xs):
    return (sum(twice(x) for x in xs), max((twice(x) for x in xs), default=-1),
            min(twice(x) for x in xs), sorted(twice(x) for x in xs),
            tuple(twice(x) for x in xs), len(list(twice(x) for x in xs)))


@stackless
def comprehension_in_iterable(xs):
    return [twice(y) for y in [twice(x) for x in xs]]


@stackless
def captured_variable(xs, scale):
    made = [twice(x) * scale for x in xs]
    return made, (lambda: scale)()


@stackless
def raises_inside(xs):
    try:
        return [failing(x) for x in xs]
    except KeyError as exc:
        return ("failed at", exc.args)


@stackless
def height(node):
    return 1 + max((height(kid) for kid in node.kids), default=0)


@stackless
def size(node):
    return 1 + sum([size(kid) for kid in node.kids])


@stackless
def is_big(x):
    LOG.append(("is_big", x))
    return x > 2


@stackless
def deciding(xs):
    """any and all stop at the item that decides them, as the builtins
    consumed lazily do: the calls after it are never made."""
    return (any(is_big(x) for x in xs), all(is_big(x) for x in xs if x != 1),
            any(is_big(a * b) for a in xs for b in xs if a < b),
            all(twice(x) for x in xs))


@stackless
def all_leaves_deep(node):
    return all(all_leaves_deep(kid) for kid in node.kids) and len(node.kids) != 1


def chain(n):
    node = Node()
    for _ in range(n):
        node = Node(node, Node())
    return node


@stackless
def tree_height(n):
    return height(chain(n))


@stackless
def tree_size(n):
    return size(chain(n))


@stackless
def tree_all_leaves(n):
    return all_leaves_deep(chain(n))


class Table:
    def __init__(self, rows=(("a", [1, 2]), ("b", []))):
        self.rows = rows

    @stackless
    def totals(self):
        return {name: sum(twice(v) for v in values) for name, values in self.rows}


CASES = [
    ("list_comp", ([1, 2, 3, 4], 10), {}),
    ("list_comp", ([], 0), {}),
    ("set_and_dict", ([0, 1, 2, 2],), {}),
    ("nested_loops", ([[1, 0], [2, 3], []],), {}),
    ("nested_comprehensions", ([[1, 2], [], [3]],), {}),
    ("consumers", ([3, 1, 2],), {}),
    ("comprehension_in_iterable", ([1, 2],), {}),
    ("captured_variable", ([1, 2], 3), {}),
    ("raises_inside", ([1, 2, 3, 4],), {}),
    ("raises_inside", ([1, 2],), {}),
    ("tree_height", (40,), {}),
    ("tree_size", (40,), {}),
    ("deciding", ([1, 2, 3, 4],), {}),
    ("deciding", ([0, 3, 1],), {}),
    ("deciding", ([],), {}),
    ("deciding", ([5, "x"],), {}),
    ("tree_all_leaves", (30,), {}),
    ("Table().totals", (), {}),
]

DEEP_CASES = [
    ("tree_height", (3000,), {}, 3001),
    ("tree_size", (3000,), {}, 2 * 3000 + 1),
    ("tree_all_leaves", (3000,), {}, True),
]
