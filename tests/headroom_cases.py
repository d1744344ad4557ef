"""Stackless recursions that meet the recursion limit somewhere other than
at a call they make themselves (see tests/test_headroom.py)."""

import collections.abc

from stacklessxf import schedule, stackless


def inner(x):
    return x + 1


def helper(x):
    return inner(x) - 1


def nested_helper(x, levels):
    if levels == 0:
        return x
    return nested_helper(x, levels - 1)


class Box:
    def __init__(self, value):
        self._value = value

    @property
    def value(self):
        return self._value

    def __add__(self, other):
        return Box(self._value + other)


@stackless
def through_helper(n):
    if n == 0:
        return 0
    return helper(1) + through_helper(n - 1)


@stackless
def through_helper_chain(n, levels):
    if n == 0:
        return 0
    return nested_helper(1, levels) + through_helper_chain(n - 1, levels)


@stackless
def through_property(n, box):
    if n == 0:
        return 0
    return box.value + through_property(n - 1, box)


@stackless
def through_operator(n, box):
    if n == 0:
        return box
    return through_operator(n - 1, box + 1)


@stackless
def through_abc(n, items):
    if n == 0:
        return 0
    sized = isinstance(items, collections.abc.Sized)
    return int(sized) + through_abc(n - 1, items)


@stackless
def through_tuple_compare(n):
    if n == 0:
        return 0
    less = (n, 1) < (n, 0)
    return int(not less) + through_tuple_compare(n - 1)


@stackless
def through_string_compare(n, s):
    if n == 0:
        return 0
    flag = s == "x"
    return int(flag) + through_string_compare(n - 1, s)


@stackless
def switching_deep(n):
    if n == 0:
        schedule()
        return 0
    return 1 + switching_deep(n - 1)


@stackless
def busy_deep(n):
    if n == 0:
        total = 0
        for i in range(2000):
            total += i
        return total
    return helper(0) + busy_deep(n - 1)


@stackless
def record_result(out, function, *args):
    out.append(function(*args))


def plain_step(n):
    return through_plain_every_level(n)


@stackless
def through_plain_every_level(n):
    if n == 0:
        return 0
    return plain_step(n - 1) + 1


def plain_key(x):
    return -x


@stackless
def sorting_deep(n):
    if n == 0:
        return 0
    first = sorted([3, 1, 2], key=plain_key)[0]
    return first + sorting_deep(n - 1)


@stackless
def with_default(n, step=1):
    if n == 0:
        return 0
    return step + with_default(n - step)


class Walker:
    @stackless
    def down(self, n):
        if n == 0:
            return 0
        return 1 + self.down(n - 1)


@stackless
def with_keyword(n, *, k=1):
    if n == 0:
        return 0
    return k + with_keyword(n - 1, k=k)


@stackless
def huge_allocation_then_recurse(n):
    if n == 0:
        try:
            bytearray(1 << 62)
        except MemoryError:
            return "memory error seen"
        return "allocated"
    return huge_allocation_then_recurse(n - 1)


class CyclicGarbage:
    """Garbage only the collector frees, with a finalizer written in Python."""

    finalized = 0

    def __init__(self):
        self.cycle = self

    def __del__(self):
        CyclicGarbage.finalized += 1


@stackless
def littering(n):
    """Recurse ``n`` deep, leaving cyclic garbage at every level."""
    if n == 0:
        return 0
    CyclicGarbage()
    return 1 + littering(n - 1)
