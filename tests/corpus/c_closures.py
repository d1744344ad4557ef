"""Closures, nonlocal and global. A cell shared between a stackless function
and nested functions created before a stackless call must still be shared
after the call."""

from stacklessxf import stackless

LOG = []
COUNTER = 0


def reset_state():
    global COUNTER
    COUNTER = 0
    globals().pop("CREATED", None)


def snapshot_state():
    return {"COUNTER": COUNTER, "CREATED": globals().get("CREATED", "<unset>")}


@stackless
def echo(x):
    LOG.append(("echo", x))
    return x


@stackless
def bump(n):
    global COUNTER
    COUNTER += n
    LOG.append(("bump", COUNTER))
    return COUNTER


@stackless
def read_global():
    return COUNTER * 2


@stackless
def call_twice(f):
    a = f()
    b = f()
    return a + b


@stackless
def global_across_calls(n):
    global COUNTER
    COUNTER = 100
    a = bump(n)
    COUNTER -= 1
    b = read_global()
    return a, b, COUNTER


@stackless
def global_read_before_call(n):
    # COUNTER is read before bump() changes it.
    return COUNTER + bump(n), COUNTER


@stackless
def global_create():
    global CREATED
    CREATED = echo(5)
    return CREATED + 1


@stackless
def missing_global():
    v = echo(1)
    return v + NOT_DEFINED_ANYWHERE  # noqa: F821


@stackless
def shared_cell(n):
    total = 0

    def add(k):
        nonlocal total
        total += k
        return total

    def get():
        return total

    add(n)
    r = bump(n)
    add(r)
    total += 1
    x = bump(1)
    return get(), add(x), total


@stackless
def closure_created_before_call(xs):
    seen = []
    count = 0

    def note(v):
        nonlocal count
        count += 1
        seen.append(v)

    for x in xs:
        note(echo(x))
    return count, seen


@stackless
def closure_passed_to_stackless(n):
    state = {"n": n}
    acc = 0

    def inc():
        nonlocal acc
        acc += 1
        state["n"] += acc
        return acc

    r = call_twice(inc)
    acc += 10
    return r, acc, state, inc()


@stackless
def make_adder(k):
    base = echo(k)

    def adder(x):
        return x + base

    return adder


@stackless
def use_returned_closure(k, xs):
    add = make_adder(k)
    return [add(x) for x in xs]


@stackless
def cell_rebound_from_call():
    value = "old"

    def peek():
        return value

    before = peek()
    value = echo("new")
    after = peek()
    return before, after


@stackless
def lambda_sees_rebinding(n):
    factor = echo(n)
    f = lambda x: x * factor + len(str(x))  # noqa: E731
    out = list(map(f, range(3)))
    factor = echo(factor + 1)
    out.append(f(10))
    return out


@stackless
def closure_factory_chain(n):
    def make_counter():
        cnt = 0

        def inc():
            nonlocal cnt
            cnt += 1
            return cnt

        return inc

    inc = make_counter()
    a = inc()
    b = echo(a + n)
    c = inc()
    return a, b, c


@stackless
def parameter_is_cell(x):
    def get():
        return x

    x = echo(x) + 1
    g1 = get()
    x = echo(x) * 2
    return g1, get()


@stackless
def late_binding(n):
    fs = []
    for i in range(n):
        fs.append(lambda: i * 10)
        echo(i)
    i = echo(99)
    return [f() for f in fs]


@stackless
def nested_def_reads_global_and_cell(n):
    local = echo(n)

    def both():
        return COUNTER, local

    bump(3)
    local = local * 2
    return both()


@stackless
def nonlocal_from_stackless_writer(n):
    log = []

    def record(tag):
        log.append((tag, len(log)))

    record("start")
    total = 0
    for i in range(n):
        total += bump(i)
        record("loop")
    record("end")
    return total, log


@stackless
def class_in_function(n):
    size = echo(n)

    class Box:
        def __init__(self, v):
            self.v = v

        def scaled(self):
            return self.v * size

    b = Box(echo(3))
    size = size + 1
    return b.scaled()


CASES = [
    ("global_across_calls", (5,), {}),
    ("global_read_before_call", (4,), {}),
    ("global_create", (), {}),
    ("missing_global", (), {}),
    ("shared_cell", (3,), {}),
    ("closure_created_before_call", ([4, 5, 6],), {}),
    ("closure_passed_to_stackless", (1,), {}),
    ("use_returned_closure", (10, [1, 2, 3]), {}),
    ("cell_rebound_from_call", (), {}),
    ("lambda_sees_rebinding", (2,), {}),
    ("closure_factory_chain", (7,), {}),
    ("parameter_is_cell", (3,), {}),
    ("late_binding", (3,), {}),
    ("nested_def_reads_global_and_cell", (4,), {}),
    ("nonlocal_from_stackless_writer", (4,), {}),
    ("class_in_function", (2,), {}),
]
