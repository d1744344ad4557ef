"""Native stackless functions as tasklets (tests/test_native_tasklets.py),
and the bytecode-backend helpers that talk to them.

Native code cannot touch lists, so everything a test checks (an order of
events, a value) leaves native code through a channel, as a return value
(``tasklet._value`` once the tasklet has ended), or as the slots of its
suspended records (``tasklet.frames``).

The functions decorated with ``@stackless(backend=BACKEND)`` use the
backend named by the environment variable ``SX_TEST_BACKEND`` when this
module is imported (native by default): a child process imports the
module under one backend to resume a tasklet pickled under the other.  Their source must not change
between the two imports, and it does not depend on the backend.

Decorators are spelled ``@stackless(...)`` everywhere: a call to a function
defined later in the module (or to itself) is recognized as a stackless call
by that name when the caller is transformed.
"""

import os

import stacklessxf as sx
from stacklessxf import stackless

BACKEND = os.environ.get("SX_TEST_BACKEND", "native")

HUGE = 2**62


# -- 1. schedule() ping-pong -----------------------------------------------------------


@stackless(backend="native")
def ping_pong(tag: int, rounds: int, log: sx.channel) -> int:
    """Sends ``tag * 100 + 2 * i`` before the i-th schedule() and
    ``tag * 100 + 2 * i + 1`` after it; returns tag * (1 + 2 + ... + rounds)."""
    total = 0
    for i in range(rounds):
        log.send(tag * 100 + 2 * i)
        total += tag * (i + 1)
        sx.schedule()
        log.send(tag * 100 + 2 * i + 1)
    return total


@stackless(backend="native")
def switcher(rounds: int) -> int:
    """schedule() ``rounds`` times."""
    done = 0
    while done < rounds:
        sx.schedule()
        done += 1
    return done


# -- 2. channels -----------------------------------------------------------------------


@stackless(backend="native")
def receive_int(ch: sx.channel) -> int:
    x = ch.receive()
    return x * 3


@stackless(backend="native")
def receive_float(ch: sx.channel) -> float:
    x: float = ch.receive()
    return x / 4


@stackless(backend="native")
def receive_bool(ch: sx.channel) -> int:
    x: bool = ch.receive()
    if x:
        return 1
    return 0


@stackless(backend="native")
def send_kinds(ch: sx.channel, k: int) -> int:
    """Sends an int, a float and two bools."""
    ch.send(k)
    ch.send(k / 2)
    ch.send(k > 2)
    ch.send(k < 2)
    return k


@stackless(backend="native")
def summer(ch: sx.channel, n: int) -> int:
    """Receives ``n`` ints; returns their sum weighted by position."""
    total = 0
    for i in range(n):
        x = ch.receive()
        total += x * (i + 1)
    return total


@stackless(backend="native")
def squares(ch: sx.channel, n: int) -> int:
    """Sends the squares 0, 1, 4, ... of ``range(n)``."""
    for i in range(n):
        ch.send(i * i)
    return n


# -- 3. and 4. native frames under a bytecode frame ------------------------------------


@stackless(backend="native")
def native_leaf(ch: sx.channel, base: int) -> int:
    got = ch.receive()  # suspends here
    return got + base


@stackless(backend="native")
def native_middle(ch: sx.channel, k: int) -> int:
    base = k * 10
    below = native_leaf(ch, base)  # suspends here
    return below + k


# -- 5. the watchdog -------------------------------------------------------------------


@stackless(backend="native")
def busy(n: int) -> int:
    k = 0
    while k < n:
        k += 1
    return k


# -- 6. pickling -----------------------------------------------------------------------


@stackless(backend="native")
def weighted(ch: sx.channel, n: int, scale: float) -> float:
    """Receives ``n`` numbers (floats); returns their sum, each weighted by
    ``scale`` and its position."""
    total = 0.0
    for i in range(n):
        x: float = ch.receive()
        total += scale * x * (i + 1)
    return total


@stackless(backend=BACKEND)
def spin(n: int) -> int:
    """A busy loop whose result depends on every step."""
    k = 0
    acc = 7
    while k < n:
        k += 1
        acc = (acc * 31 + k) % 1000003
    return acc


@stackless(backend=BACKEND)
def cross_leaf(ch: sx.channel, i: int) -> int:
    x = ch.receive()
    return x * (i + 1)


@stackless(backend=BACKEND)
def grid(n: int) -> int:
    """Nested loops: a watchdog record holds both range iterators."""
    acc = 0
    for i in range(n):
        for j in range(n):
            acc = (acc * 7 + i * j) % 1000003
    return acc


@stackless(backend=BACKEND)
def cross_total(ch: sx.channel, n: int, scale: float) -> float:
    """Blocks inside cross_leaf, two activations deep, with a range
    iterator, floats and a channel in its records."""
    total = 0.5
    for i in range(n):
        total += scale * cross_leaf(ch, i)
    return total


def cross_expected(values, scale):
    """What cross_total gives when it receives ``values``, in plain Python."""
    total = 0.5
    for i, x in enumerate(values):
        total += scale * (x * (i + 1))
    return total


# -- 8. cloning ------------------------------------------------------------------------


@stackless(backend="native")
def fork_point(ch: sx.channel, start: int) -> int:
    """schedule()s inside a nested native call, then receives."""
    x = start * 10
    y = fork_inner(ch, x)
    return x + y


@stackless(backend="native")
def fork_inner(ch: sx.channel, x: int) -> int:
    sx.schedule()
    got = ch.receive()
    return got * 1000 + x


# -- 9. switches and unwinds -----------------------------------------------------------


@stackless(backend="native")
def dive_then_receive(ch: sx.channel, n: int) -> int:
    """Recursion ``n`` deep that receives at the bottom."""
    if n == 0:
        got = ch.receive()
        return got
    return dive_then_receive(ch, n - 1) + 1


@stackless(backend="native")
def fail_at_bottom(n: int) -> int:
    """Recursion ``n`` deep that divides by zero at the bottom."""
    if n == 0:
        return 1 // n
    return fail_at_bottom(n - 1) + 1


# -- 10. deep recursion ----------------------------------------------------------------


@stackless(backend="native")
def depth(n: int) -> int:
    if n == 0:
        return 0
    return depth(n - 1) + 1


# `and n > 0` (true there) keeps the calls out of tail position: every level
# keeps an activation until the one below returns.


@stackless(backend="native")
def is_even(n: int) -> bool:
    if n == 0:
        return True
    return is_odd(n - 1) and n > 0


@stackless(backend="native")
def is_odd(n: int) -> bool:
    if n == 0:
        return False
    return is_even(n - 1) and n > 0


@stackless(backend="native")
def is_even_tail(n: int) -> bool:
    if n == 0:
        return True
    return is_odd_tail(n - 1)


@stackless(backend="native")
def is_odd_tail(n: int) -> bool:
    if n == 0:
        return False
    return is_even_tail(n - 1)


@stackless(backend="native")
def dive_then_switch(n: int) -> int:
    """Recursion ``n`` deep; schedule() at the bottom, then unwinds adding
    one per level."""
    if n == 0:
        sx.schedule()
        return 0
    return dive_then_switch(n - 1) + 1


# -- bytecode-backend helpers ----------------------------------------------------------


@stackless
def collect(ch, count, out):
    """Receive ``count`` values and append each to ``out``."""
    for _ in range(count):
        out.append(ch.receive())
    return count


@stackless
def produce(ch, values):
    """Send every value of ``values``."""
    sent = 0
    for value in values:
        ch.send(value)
        sent += 1
    return sent


@stackless
def outer_bytecode(ch, out):
    """A bytecode frame below two native ones (native_middle, native_leaf)
    that block on ``ch``."""
    label = "outer"
    result = native_middle(ch, 4)  # suspends here
    out.append((label, result))
    return result


@stackless
def guarded(ch, out):
    """Calls native code that blocks on ``ch``; records how it ends."""
    try:
        value = native_middle(ch, 1)
        out.append(("finished", value))
    except sx.TaskletExit:
        out.append("TaskletExit")
        raise
    finally:
        out.append("finally ran")


@stackless
def guarded_deep(n, out):
    """Native recursion ``n`` deep that switches at the bottom, under a
    bytecode frame with a finally block."""
    try:
        value = dive_then_switch(n)
        out.append(("finished", value))
    finally:
        out.append("finally ran")
