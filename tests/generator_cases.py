"""Stackless generator functions (tests/test_generators.py); importable, so
that a fresh process finds them by name."""

from stacklessxf import schedule, stackless

OUT = []


@stackless
def double(x):
    OUT.append(("double", x))
    return 2 * x


@stackless
def depth(n):
    if n == 0:
        return 0
    return 1 + depth(n - 1)


@stackless
def squares(n):
    total = 0
    for i in range(n):
        sent = yield double(i) * i // 2
        if sent is not None:
            total += sent
    return total


@stackless
def with_cleanup(log):
    try:
        log.append("start")
        yield 1
        log.append("after 1")
        yield 2
    finally:
        log.append("finally")


@stackless
def catches(log):
    while True:
        try:
            value = yield len(log)
            log.append(("got", value))
        except ValueError as exc:
            log.append(("caught", str(exc)))
        except GeneratorExit:
            log.append("exit")
            raise


@stackless
def ignores_exit():
    while True:
        try:
            yield 1
        except GeneratorExit:
            pass


@stackless
def delegating(inner):
    result = yield from inner
    yield ("result", result)
    return result


@stackless
def echo(log):
    value = None
    try:
        while True:
            value = yield value
            log.append(value)
            if value == "stop":
                return "stopped"
    finally:
        log.append("echo finally")


@stackless
def parameters(a, b=2, *rest, c, d=4, **extra):
    yield a
    yield b
    yield rest
    yield c
    yield d
    yield extra


@stackless
def deep_body(n):
    yield depth(n)
    yield depth(n // 2)


@stackless
def raises_stop():
    yield 1
    raise StopIteration("from the body")


@stackless
def yields_in_expressions(xs):
    total = double((yield "first"))
    for x in xs:
        total += (yield x) or 0
    return (yield total)


@stackless
def returns_at_once(x):
    if x:
        return x
    yield x


@stackless
def nested_yield_from(n):
    yield from squares(n)
    inner = squares(n)
    yield from inner
    yield from [100, 101]


@stackless
def switching(name, n):
    """A body that switches tasklets between its yields."""
    for i in range(n):
        OUT.append((name, "step", i))
        schedule()
        yield (name, i)


@stackless
def drive(name, n):
    """Stackless code driving a switching generator with a for loop."""
    got = []
    for item in switching(name, n):
        got.append(item)
        OUT.append((name, "got", item))
    return got


@stackless
def drive_by_next(name, n):
    gen = switching(name, n)
    got = []
    while True:
        try:
            got.append(next(gen))
        except StopIteration:
            break
        OUT.append((name, "next", got[-1]))
    return got


class Tree:
    def __init__(self, value, *kids):
        self.value = value
        self.kids = kids

    @stackless
    def walk(self):
        yield self.value
        for kid in self.kids:
            yield from kid.walk()


def plain_generator(n):
    yield from range(n)


def make_closure_generator(step):
    @stackless
    def counting(n):
        for i in range(n):
            yield i * step
    return counting


@stackless
def drive_inline(name, n):
    """What ``drive`` does, written without a generator."""
    got = []
    for i in range(n):
        OUT.append((name, "step", i))
        schedule()
        item = (name, i)
        got.append(item)
        OUT.append((name, "got", item))
    return got


@stackless
def relay(name, n):
    result = yield from switching(name, n)
    OUT.append((name, "relayed", result))
    yield (name, "end")


@stackless
def drive_relay(name, n):
    got = []
    for item in relay(name, n):
        got.append(item)
        OUT.append((name, "got", item))
    return got


@stackless
def pairs(name, n):
    """A generator whose body drives another switching generator with next()."""
    inner = switching(name, n)
    while True:
        try:
            first = next(inner)
        except StopIteration:
            return
        schedule()
        yield (first, "paired")


@stackless
def drive_pairs(name, n):
    got = []
    for item in pairs(name, n):
        got.append(item)
        OUT.append((name, "got", item))
    return got


@stackless
def drive_by_send(name, n):
    gen = echo_switching(name)
    got = [gen.send(None)]
    for i in range(n):
        got.append(gen.send(i))
        OUT.append((name, "sent", i))
    return got


@stackless
def echo_switching(name):
    value = None
    while True:
        schedule()
        value = yield (name, value)


@stackless
def scaled(ch, factor):
    """A generator over a channel: each value received, scaled."""
    for value in ch:
        yield value * factor


@stackless
def sum_channel(name, ch):
    total = 0
    for value in ch:
        total += value
        OUT.append((name, "received", value))
    OUT.append((name, "closed", total))
    return total


@stackless
def sum_scaled(name, ch):
    total = 0
    for value in scaled(ch, 10):
        total += value
        OUT.append((name, "scaled", value))
    return total


@stackless
def produce(name, ch, values):
    for value in values:
        ch.send(value)
        OUT.append((name, "sent", value))
        schedule()
    ch.close()
    OUT.append((name, "closed"))


@stackless
def consume_with_list(name, n):
    """list() is C code: a switch inside the generator cannot pass it."""
    return list(switching(name, n))


@stackless
def switching_double(x):
    OUT.append(("double", x))
    schedule()
    return 2 * x


@stackless
def comprehend(xs):
    """Comprehensions around a call that switches."""
    doubled = [switching_double(x) for x in xs if x]
    table = {x: switching_double(x) for x in xs}
    return doubled, table, max((switching_double(x) for x in xs), default=None)


@stackless
def switching_with_cleanup(name, n):
    try:
        for i in range(n):
            schedule()
            yield i
    finally:
        OUT.append((name, "generator finally"))


@stackless
def drive_with_cleanup(name, n):
    try:
        for item in switching_with_cleanup(name, n):
            OUT.append((name, "got", item))
    finally:
        OUT.append((name, "driver finally"))
