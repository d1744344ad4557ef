"""Functions made stackless after their definition (see tests/test_rebinding.py)."""

import functools

from stacklessxf import schedule, stackless


def total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + total(xs, i + 1)


total = stackless(total)


def is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)


def is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)


is_even = stackless(is_even)
is_odd = stackless(is_odd)


def depth_by_default(n, _again=None):
    if n == 0:
        return 0
    return 1 + _again(n - 1, _again)


def by_default(n, _self=depth_by_default):
    return _self(n, _self)


# After the default argument holds the plain function object:
stackless(depth_by_default)


def walk_table(n):
    if n == 0:
        return 0
    return 1 + TABLE["walk"](n - 1)


TABLE = {"walk": walk_table}
# After the table holds the plain function object:
stackless(walk_table)


def make_counter():
    def count(n):
        if n == 0:
            return 0
        return 1 + count(n - 1)
    return count


def partial_step(step, n):
    if n == 0:
        return 0
    return step + PARTIAL(n - 1)


PARTIAL = functools.partial(partial_step, 1)
stackless(partial_step)


def countdown(n):
    if n == 0:
        return 0
    return 1 + countdown(n - 1)


class Walker:
    def down(self, n):
        if n == 0:
            return 0
        return 1 + self.down(n - 1)


def later(n):
    if n == 0:
        schedule()
        return 0
    return 1 + later(n - 1)


def calls_later(n):
    return later(n) + 1


calls_later = stackless(calls_later)
# The callee only after its caller: the caller's call of it is guarded.
later = stackless(later)


@stackless
def record_result(out, function, *args):
    out.append(function(*args))
