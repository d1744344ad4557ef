"""Stackless functions for tests/test_faults.py: faults (asynchronous
exceptions, collected tasklets, corrupted pickles) lose nothing."""

from stacklessxf import getmain, schedule, schedule_remove, stackless

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


@stackless
def deep_with_finally(k, entered, ran, bottom=None):
    """Recurses ``k`` deep; every activation notes that it started and that
    its ``finally`` ran; ``bottom`` (if given) is called at the bottom."""
    entered[k] += 1
    try:
        if k == 0:
            return bottom() if bottom is not None else 0
        return deep_with_finally(k - 1, entered, ran, bottom) + 1
    finally:
        ran[k] += 1


@stackless
def schedule_then_zero():
    schedule()
    return 0


@stackless
def deep_then_schedule(k, entered, ran):
    return deep_with_finally(k, entered, ran, schedule_then_zero)


class Manager:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        LOG.append(("exit", exc[0].__name__ if exc[0] else None))
        return False


@stackless
def wait_in_with_and_finally(ch):
    try:
        with Manager():
            ch.receive()
            LOG.append("received")
    finally:
        LOG.append("finally")


@stackless
def pause_in_finally():
    try:
        schedule_remove()
    finally:
        LOG.append("finally")
