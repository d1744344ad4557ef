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
    tenfold(total)
    return total, text, list(held)
