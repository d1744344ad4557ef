"""Stackless functions whose records are pickled, and resumed in this
process or in a fresh one.  Lines marked ``# suspends here`` are where the
tests expect a record to say it stopped."""

import sys

from stacklessxf import stackless
from tests.unwinding_cases import deep


@stackless
def collect(n):
    if n == 0:
        return []
    label = "level" + str(n)
    below = collect(n - 1)
    below.append(label)
    return below


@stackless
def loop_and_append(n):
    acc = [n]
    for i in range(3):
        acc.append(deep(n, i))
    return acc


@stackless
def while_handling(n):
    try:
        raise ValueError("pending")
    except ValueError:
        deep(n)
        return repr(sys.exc_info()[1])


@stackless
def maybe_bound(flag, n):
    if flag:
        x = "bound"
    deep(n)
    try:
        return x
    except UnboundLocalError:
        return "unbound"


@stackless
def late_cell(n):
    first = deep(n, 1)
    later = first + 1

    def read():
        return later

    return read()


@stackless
def holds(value, n):
    deep(n)  # suspends here
    return value


@stackless
def counted(n):
    count = 0

    def bump():
        nonlocal count
        count += 1

    bump()
    deep(n)  # suspends here
    bump()
    return count


class Base:
    def step(self, n):
        return n


class Climber(Base):
    """Every activation of ``climb`` keeps the class's ``__class__`` cell
    (zero-argument super() needs it after the call)."""

    def __init__(self, unit):
        self.unit = unit

    @stackless
    def climb(self, n):
        if n == 0:
            return 0
        return self.climb(n - 1) + super().step(self.unit)


def note(value):
    return value


@stackless
def with_finally(n):
    try:
        result = deep(n, "body")
    finally:
        note(len("finally"))
    return result
