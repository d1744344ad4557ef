"""Generator expressions of stackless functions (tests/test_genexprs.py);
importable, so that a fresh process finds them by name."""

from stacklessxf import schedule, stackless

OUT = []


@stackless
def tenfold(x):
    OUT.append(("tenfold", x))
    return 10 * x


@stackless
def switching_values(xs):
    """A generator expression whose body switches tasklets."""
    return (pause_then(tenfold, x) for x in xs if x)


@stackless
def pause_then(function, x):
    schedule()
    return function(x)


@stackless
def collect(xs, out):
    for value in switching_values(xs):
        out.append(value)
    return out


@stackless
def shapes(xs):
    """Which of these stay CPython's generators (see test_genexprs)."""
    total = sum(x for x in xs)
    text = ",".join(str(x) for x in xs)
    for x in (x * 2 for x in xs):
        total += x
    held = (x + 1 for x in xs)
    pairs = (x * y for x in xs for y in xs)
    makers = (lambda: x for x in xs)
    tenfold(total)
    return total, text, list(held), list(pairs), [make() for make in list(makers)]


@stackless
def keeps_a_plain_one(xs, out):
    """CPython's generator expression, held across switches, sharing the
    cell of ``scale`` with this function."""
    scale = 1
    scaled = (x * scale for x in xs)
    out.append(next(scaled))
    schedule()
    scale = 100
    schedule()
    out.extend(scaled)
    OUT.append(("kept", out))


def plain_pairs(xs):
    return (x * y for x in xs for y in xs)


def plain_makers(xs):
    return (lambda: x for x in xs)


def plain_squares(xs):
    return (x * x for x in xs)
