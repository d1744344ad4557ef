"""Stackless functions for tests/test_faults.py: faults (asynchronous
exceptions, collected tasklets, corrupted pickles) lose nothing."""

from stacklessxf import getmain, schedule, stackless

LOG = []


@stackless
def loop_and_switch(items):
    total = 0
    for item in items:
        total += item
        schedule()
    return total


@stackless
def switch_while_handling():
    try:
        raise KeyError("handled")
    except KeyError:
        schedule()
        raise


@stackless
def switch_in_finally_of_exception():
    try:
        raise ValueError("pending")
    finally:
        schedule()


@stackless
def add(a, b):
    return a + b


@stackless
def receive_into(ch, out):
    out.append(ch.receive())


@stackless
def send_one(ch, value):
    ch.send(value)


@stackless
def throw_to_main(exc):
    LOG.append("before")
    getmain().throw(exc)
    LOG.append("after")


@stackless
def kill_main():
    getmain().kill()
    LOG.append("after kill")


@stackless
def log_and_switch(name, n):
    for i in range(n):
        LOG.append((name, i))
        schedule()
