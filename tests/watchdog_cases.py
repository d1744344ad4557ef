"""Busy stackless code for the watchdog tests (tests/test_watchdog.py)."""

from stacklessxf import stackless

OUT = []


@stackless
def counter(name):
    n = 0
    while True:
        n += 1
        if n % 10 == 0:
            OUT.append(f"{name} {n}")


@stackless
def recursive_busy(k):
    if k == 0:
        return 0
    return recursive_busy(k - 1) + 1


@stackless
def finite(n):
    total = 0
    for i in range(n):
        total += i
    OUT.append(total)
    return total


def plain_loop(n):
    total = 0
    for i in range(n):
        total += finite(3)
    return total


@stackless
def busy_through_plain_frame(n):
    return plain_loop(n)
