"""Tasklets pickled while running and resumed elsewhere (tests/test_pickle_tasklets.py)."""

from stacklessxf import schedule, stackless

OUT = []


@stackless
def counter(name, limit):
    n = 0
    while n < limit:
        n += 1
        if n % 3 == 0:
            OUT.append(f"{name} {n}")
        schedule()
    return n


@stackless
def producer(ch, values):
    sent = 0
    for value in values:
        ch.send(value)
        sent += 1
        schedule()
    OUT.append(f"producer sent {sent}")


@stackless
def consumer(ch, count):
    total = 0
    for _ in range(count):
        total += ch.receive()
        OUT.append(f"consumer total {total}")
        schedule()


@stackless
def holds_unpicklable(ch):
    handle = open(__file__)
    try:
        ch.receive()
    finally:
        handle.close()
