"""Tasklet functions written against the ``stackless`` module, run by
tests/test_stackless_api.py."""

import stackless
from stacklessxf import stackless as switchable

LOG = []


@switchable
def log_schedule(name, retval):
    LOG.append((name, stackless.schedule(retval)))


@switchable
def log_schedule_remove(name):
    LOG.append((name, stackless.schedule_remove("r")))


@switchable
def steps(name, n):
    for i in range(n):
        LOG.append((name, i))
        stackless.schedule()


@switchable
def busy(name):
    n = 0
    while True:
        n += 1
        if n % 50 == 0:
            LOG.append((name, n))


@switchable
def atomic_busy(name, limit):
    n = 0
    stackless.getcurrent().set_atomic(True)
    while n < limit:
        n += 1
    stackless.getcurrent().set_atomic(False)
    LOG.append((name, "atomic part done"))
    while True:
        n += 1


@switchable
def nested_run(name):
    LOG.append((name, "before run"))
    LOG.append((name, "run returned", stackless.run()))


@switchable
def receive_into(ch):
    LOG.append(("received", ch.receive()))


@switchable
def receive_error(ch):
    try:
        ch.receive()
    except Exception as exc:
        LOG.append(("raised", type(exc).__name__, str(exc), exc.__traceback__ is not None))


@switchable
def send_value(ch, value):
    ch.send(value)
    LOG.append(("sent", value))


@switchable
def schedule_catching():
    try:
        stackless.schedule()
    except Exception as exc:
        LOG.append(("caught", type(exc).__name__, str(exc)))
        return "handled"
    return "not thrown"


@switchable
def fail(message):
    stackless.schedule()
    raise KeyError(message)


@switchable
def switch_while_trapped():
    stackless.switch_trap(1)
    try:
        stackless.schedule()
    except RuntimeError as exc:
        LOG.append(("trapped", str(exc)))
    finally:
        stackless.switch_trap(-1)


@switchable
def block_while_trapped(ch):
    stackless.getcurrent().block_trap = True
    try:
        ch.receive()
    except RuntimeError as exc:
        LOG.append(("block trapped", str(exc)))
    finally:
        stackless.getcurrent().block_trap = False


@switchable
def report_self(out):
    current = stackless.getcurrent()
    out.append((current.recursion_depth, current.nesting_level, current.frame.f_code.co_name,
                current.restorable))
    stackless.schedule()


@switchable
def deeper(k, out):
    if k == 0:
        report_self(out)
        return 0
    return deeper(k - 1, out) + 1


class Worker(stackless.tasklet):
    """A tasklet subclass with a method named ``func`` and attributes of its own."""

    def func(self):
        return "the method"


@switchable
def count_forever(name):
    n = 0
    while True:
        n += 1
        stackless.schedule()


@switchable
def log_schedule_default():
    LOG.append(("default", stackless.schedule()))


@switchable
def remove_then_return(name):
    return name, stackless.schedule_remove("r")


def a_tracer(frame, event, arg):
    return None


@switchable
def install_callback_then_steps(seen, n):
    stackless.set_schedule_callback(lambda prev, next: seen.append((prev, next)))
    for i in range(n):
        LOG.append(("cb", i))
        stackless.schedule()


@switchable
def send_two(ch):
    ch.send("one")
    LOG.append(("sender", "after one"))
    ch.send("two")
    LOG.append(("sender", "after two"))


@switchable
def receive_two(ch):
    LOG.append(("receiver", ch.receive()))
    LOG.append(("receiver", ch.receive()))


@switchable
def send_then_stop(ch, values):
    for value in values:
        ch.send(value)
    ch.send_exception(StopIteration)
