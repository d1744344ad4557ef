"""Stackless generators driven by stackless code: for loops, next(), send(),
throw(), close(), yield from, return values, and generators whose bodies
make stackless calls (and recurse deep)."""

from stacklessxf import stackless

LOG = []


@stackless
def step(x):
    LOG.append(("step", x))
    return x + 1


@stackless
def depth(n):
    if n == 0:
        return 0
    return step(depth(n - 1)) - 0


@stackless
def counting(n):
    i = 0
    while i < n:
        sent = yield i
        LOG.append(("sent", sent))
        i = step(i)
    return ("counted", i)


@stackless
def guarded(items):
    try:
        for item in items:
            yield step(item)
    except ValueError as exc:
        LOG.append(("caught", str(exc)))
        yield "recovered"
    finally:
        LOG.append("guarded finally")


@stackless
def chained(n):
    first = yield from counting(n)
    LOG.append(("first", first))
    second = yield from [step(n), step(n + 1)]
    return first, second


@stackless
def deep_values(n):
    yield depth(n)
    yield step(n)


@stackless
def collect_for(n):
    got = []
    for value in counting(n):
        got.append(step(value))
    return got


@stackless
def collect_next(n):
    gen = chained(n)
    got = []
    while True:
        try:
            got.append(next(gen))
        except StopIteration as stop:
            return got, stop.value


@stackless
def collect_send(n):
    gen = counting(n)
    got = [gen.send(None)]
    try:
        while True:
            got.append(gen.send(step(got[-1])))
    except StopIteration as stop:
        got.append(stop.value)
    return got


@stackless
def throw_into(items):
    gen = guarded(items)
    got = [next(gen)]
    got.append(gen.throw(ValueError("stop")))
    gen.close()
    return got


@stackless
def close_early(items):
    gen = guarded(items)
    got = [next(gen), next(gen)]
    gen.close()
    got.append(list(gen))
    return got


@stackless
def collect_deep(n):
    return [step(value) for value in deep_values(n)]


CASES = [
    ("collect_for", (4,), {}),
    ("collect_next", (3,), {}),
    ("collect_send", (3,), {}),
    ("throw_into", ([1, 2, 3],), {}),
    ("close_early", ([5, 6, 7],), {}),
    ("collect_deep", (30,), {}),
]

DEEP_CASES = [
    ("collect_deep", (3000,), {}, [3001, 3002]),
]
