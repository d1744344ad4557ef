"""Stackless functions holding values that pickle does not store by itself
(closures, lambdas, exceptions with causes, modules, dict views, iterators)
across a call that suspends; their records are pickled and resumed in this
process or a fresh one (tests/test_pickle_values.py).  Lines marked
``# suspends here`` are where a record stops."""

import collections
import itertools
import math

import stacklessxf as sx
from stacklessxf import stackless
from tests.unwinding_cases import deep


@stackless
def counter_closure(n):
    count = 10

    def bump(by=1):
        nonlocal count
        count += by
        return count

    bump()
    deep(n)  # suspends here
    bump(5)
    return count, bump()


@stackless
def two_closures_one_cell(n):
    def make():
        total = [0]
        value = 0

        def add(k):
            nonlocal value
            value += k
            total[0] += 1

        def get():
            return value, total[0]

        return add, get

    add, get = make()
    add(3)
    deep(n)  # suspends here
    add(4)
    return get()


@stackless
def lambda_with_defaults(n):
    offset = 7
    scale = lambda x, factor=3, *, shift=offset: x * factor + shift  # noqa: E731
    deep(n)  # suspends here
    return scale(2), scale(2, 10, shift=0), scale.__defaults__, scale.__kwdefaults__


@stackless
def recursive_closure(n):
    def fact(k):
        return 1 if k <= 1 else k * fact(k - 1)

    fact.calls = "kept"
    deep(n)  # suspends here
    return fact(6), fact.calls, fact.__name__


@stackless
def lambdas_in_containers(n):
    ops = {"+": lambda a, b: a + b, "*": lambda a, b: a * b}
    chain = [ops["+"], ops["*"], ops["+"]]
    deep(n)  # suspends here
    return [f(3, 4) for f in chain], chain[0] is chain[2] is ops["+"]


@stackless
def lazy_iterators(n):
    doubled = map(lambda x: x * 2, range(6))
    odd = filter(lambda x: x % 2, range(9))
    pairs = zip(itertools.count(), "abc", strict=False)
    taken = [next(doubled), next(odd), next(pairs)]
    deep(n)  # suspends here
    return taken, list(doubled), list(odd), list(pairs)


def _raise_chained():
    try:
        try:
            raise KeyError("inner")
        except KeyError:
            raise ValueError("outer", 42) from TypeError("cause")
    except ValueError as exc:
        return exc


class Tagged(Exception):
    def __init__(self, message, tag):
        super().__init__(message)
        self.tag = tag


@stackless
def exception_held(n):
    chained = _raise_chained()
    try:
        raise Tagged("tagged", tag=[1, 2])
    except Tagged as exc:
        tagged = exc
    try:
        raise RuntimeError("hidden") from None
    except RuntimeError as exc:
        hidden = exc
    deep(n)  # suspends here
    return (repr(chained), repr(chained.__cause__), repr(chained.__context__),
            chained.__suppress_context__, repr(tagged), tagged.tag,
            hidden.__suppress_context__, hidden.__cause__)


class Account:
    def __init__(self, balance):
        self.balance = balance

    @stackless
    def deposit(self, amount):
        self.balance += amount
        return self.balance

    def describe(self):
        return f"balance {self.balance}"


@stackless
def bound_methods(n):
    account = Account(5)
    deposit, describe = account.deposit, account.describe
    deep(n)  # suspends here
    deposit(10)
    return describe(), deposit.__self__ is account


@stackless
def module_held(n):
    module = math
    deep(n)  # suspends here
    return module.sqrt(n * n), module is math


@stackless
def dict_views(n):
    table = {"a": 1, "b": 2}
    keys, items, values = table.keys(), table.items(), table.values()
    ordered = collections.OrderedDict(x=1)
    ordered_keys = ordered.keys()
    walk = iter(table.items())
    first = next(walk)
    deep(n)  # suspends here
    rest = list(walk)
    table["c"] = 3
    ordered["y"] = 2
    return sorted(keys), sorted(items), sorted(values), list(ordered_keys), first, rest


@stackless
def builtin_iterators(n):
    sources = [iter([1, 2, 3]), reversed([1, 2, 3]), iter((4, 5, 6)), iter(range(3)),
               iter({7}), iter("xyz"), iter(b"abc"), iter(bytearray(b"de")),
               enumerate("pq"), reversed("rs"), iter(collections.deque([8, 9])),
               itertools.count(5), itertools.cycle("ab"), itertools.chain([1], [2]),
               itertools.islice(range(10), 2, 6), itertools.accumulate([1, 2, 3]),
               itertools.product("ab", repeat=2), itertools.permutations([1, 2, 3], 2),
               itertools.combinations([1, 2, 3], 2), itertools.repeat("r", 3),
               itertools.starmap(pow, [(2, 3), (3, 2)]), itertools.zip_longest([1], [2, 3]),
               itertools.takewhile(lambda x: x < 3, [1, 2, 5]),
               itertools.dropwhile(lambda x: x < 3, [1, 5, 2]),
               iter(reversed({"k": 1, "l": 2})), iter({"m": 1}.values())]
    heads = [next(source) for source in sources]
    deep(n)  # suspends here
    return heads, [list(itertools.islice(source, 4)) for source in sources]


@stackless
def nested_stackless_in_chain(n):
    @stackless
    def inner(k, base):
        return (deep(k) is None) + base + k  # suspends here

    result = inner(n, 100)
    return result + 1


@stackless
def stackless_closures_in_chain(n):
    factor = 3

    @stackless
    def scaled(k):
        return (deep(k) is None) * k * factor  # suspends here

    @stackless
    def twice(k):
        first = scaled(k)
        return first + scaled(k)

    return twice(n) + 1


# -- tasklets ------------------------------------------------------------------

OUT = []


def make_worker(label, steps):
    """A stackless closure to run as a tasklet's function."""
    @stackless
    def worker(stride):
        say = lambda i: f"{label} {i}"  # noqa: E731
        for i in range(0, steps, stride):
            OUT.append(say(i))
            sx.schedule()
        OUT.append(say("done"))

    return worker


@stackless
def holds_across_switch(value, rounds):
    seen = []
    for i in range(rounds):
        seen.append(i)
        sx.schedule()  # switches here
    OUT.append((type(value).__name__, seen))
