"""Functions whose activations are forced to unwind and resume at chosen
points: every call to ``deep(k)`` with k well above the interpreter's
recursion limit unwinds the whole stackless stack above its caller."""

import sys

from stacklessxf import stackless

LIMIT_BEATING = 3000
LOG = []


@stackless
def deep(k, value=None):
    if k == 0:
        return value
    return deep(k - 1, value)


@stackless
def deep_raise(k, exc):
    if k == 0:
        raise exc
    return deep_raise(k - 1, exc)


@stackless
def reraise_after_call():
    try:
        raise KeyError("handled")
    except KeyError:
        deep(LIMIT_BEATING)
        raise


@stackless
def exc_info_after_call():
    try:
        raise ValueError("being handled")
    except ValueError:
        deep(LIMIT_BEATING)
        return repr(sys.exc_info()[1])


@stackless
def exc_info_cleared_after_handler():
    try:
        raise ValueError("x")
    except ValueError:
        deep(LIMIT_BEATING)
    return sys.exc_info()


@stackless
def nested_handlers_after_call():
    try:
        raise KeyError("outer")
    except KeyError:
        try:
            raise ValueError("inner")
        except ValueError:
            deep(LIMIT_BEATING)
            inner = repr(sys.exc_info()[1])
        outer = repr(sys.exc_info()[1])
    return inner, outer, sys.exc_info()


@stackless
def call_in_finally_after_exception():
    try:
        try:
            raise ZeroDivisionError("in body")
        finally:
            LOG.append(deep(LIMIT_BEATING, "finally ran"))
    except ZeroDivisionError as exc:
        return f"caught {exc}"


@stackless
def call_in_with_body(manager):
    with manager as entered:
        LOG.append(deep(LIMIT_BEATING, entered))
        return "body done"


@stackless
def loop_over_everything():
    out = []
    for i, (a, b) in enumerate(zip([1, 2, 3], "xyz")):
        out.append((i, a, deep(LIMIT_BEATING, b)))
    for key, val in {"k1": 1, "k2": 2}.items():
        out.append(deep(LIMIT_BEATING, key) * val)
    for g in (x * x for x in range(3)):
        out.append(deep(LIMIT_BEATING, g))
    total = 0
    for i in range(4):
        if i == 2:
            continue
        total += deep(LIMIT_BEATING, i)
    else:
        out.append(total)
    return out


@stackless
def shared_cell():
    count = 0

    def bump():
        nonlocal count
        count += 1
        return count

    bump()
    deep(LIMIT_BEATING)
    bump()
    return count, bump()


@stackless
def maybe_unbound(flag):
    if flag:
        x = "bound"
    deep(LIMIT_BEATING)
    try:
        return x
    except UnboundLocalError:
        return "unbound"


@stackless
def deleted_local():
    x = 1
    del x
    deep(LIMIT_BEATING)
    try:
        return x
    except UnboundLocalError as exc:
        return type(exc).__name__


@stackless
def catch_from_deep():
    try:
        deep_raise(LIMIT_BEATING, IndexError("from the bottom"))
    except IndexError as exc:
        return f"caught {exc}"


@stackless
def values_across_calls(a, b):
    return [a, deep(LIMIT_BEATING, b), a + b, deep(LIMIT_BEATING, a * b)]


@stackless
def nested_stackless_args(x):
    return deep(LIMIT_BEATING, deep(LIMIT_BEATING, x) + len(str(deep(10, x))))


@stackless
def keyword_and_star_calls(*args, **kwargs):
    first = deep(k=LIMIT_BEATING, value=args)
    second = deep(*(LIMIT_BEATING, kwargs))
    third = deep(LIMIT_BEATING, **{"value": len(args)})
    return first, second, third


class Walker:
    def __init__(self, scale):
        self.scale = scale

    @stackless
    def walk(self, k):
        if k == 0:
            return self.scale
        return self.walk(k - 1) + self.scale

    @stackless
    def twice(self, k):
        return [self.walk(k), self.deep_via_method(k)]

    @stackless
    def deep_via_method(self, k):
        return self.walk(k) * 2

    @classmethod
    @stackless
    def make_and_walk(cls, scale, k):
        return cls(scale).walk(k)

    @staticmethod
    @stackless
    def static_depth(k):
        return deep(k, "static")


@stackless
def count_down_chain(n):
    """Deep recursion through a call with a non-trivial argument (spilled)."""
    if n <= 0:
        return 0
    return count_down_chain(int(str(n - 1))) + 1


@stackless
def raise_with_line(k):
    if k == 0:
        raise RuntimeError("at the bottom")
    return raise_with_line(k - 1)


@stackless
def total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + total(xs, i + 1)


class Base:
    def describe(self, k):
        return f"base{k}"


class Derived(Base):
    @stackless
    def describe(self, k):
        deep(LIMIT_BEATING)
        return "derived+" + super().describe(k)


@stackless
def shed(n):
    """Each activation holds 10 kB that is dead across its call."""
    if n == 0:
        return 0
    big = bytearray(10_000)
    size = len(big)
    return size + shed(n - 1)


@stackless
def tail_count(n, acc):
    if n == 0:
        return acc
    return tail_count(n - 1, acc + n)


@stackless
def stateless_steps(n):
    if n == 0:
        return 0
    deep_then_nothing(n - 1)
    return 1


@stackless
def deep_then_nothing(n):
    if n == 0:
        return None
    stateless_steps(n - 1)
    return None
