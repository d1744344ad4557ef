"""Stackless functions run as tasklets by tests/test_tasklets.py."""

from stacklessxf import schedule, schedule_remove, stackless

LOG = []


@stackless
def worker(name, n):
    for i in range(n):
        LOG.append((name, i))
        schedule()
    return name


@stackless
def producer(ch, values):
    for value in values:
        ch.send(value)


@stackless
def consumer(ch, count, out):
    for _ in range(count):
        out.append(ch.receive())


@stackless
def echo(requests, replies, count):
    for _ in range(count):
        replies.send(requests.receive() * 2)


@stackless
def deep_then_switch(k):
    if k == 0:
        schedule()
        return 0
    return deep_then_switch(k - 1) + 1


def plain_helper(f):
    return f()


def plain_switcher():
    schedule()


@stackless
def switch_through_plain_frame():
    return plain_helper(plain_switcher)


@stackless
def iterate_channel(ch, out):
    for value in ch:
        out.append(value)


@stackless
def failing(ch):
    ch.receive()
    raise KeyError("tasklet failed")


@stackless
def catch_sent_exception(ch, out):
    try:
        ch.receive()
    except ValueError as exc:
        out.append(str(exc))


@stackless
def keep_state_across_switches(ch, out):
    total = 0
    seen = []
    try:
        while True:
            value = ch.receive()
            if value is None:
                break
            total += value
            seen.append(value)
    finally:
        out.append((total, seen))


@stackless
def cleanup_on_kill(ch, out):
    try:
        ch.receive()
        out.append("not reached")
    finally:
        out.append("finally ran")


@stackless
def record_thrown(out):
    try:
        schedule()
    except LookupError as exc:
        out.append(repr(exc))
    return "done"


@stackless
def nested_for_frames(k, ch):
    if k == 0:
        return ch.receive()
    marker = k * 10
    return nested_for_frames(k - 1, ch) + marker


@stackless
def counting(name, steps):
    total = 0
    items = []
    for i in range(steps):
        total += i
        items.append(i)
        schedule()
    LOG.append((name, total, items))


@stackless
def send_all(ch, values, out):
    out.append(ch.send_sequence(values))


@stackless
def remove_self_then_finish(out):
    out.append("before")
    schedule_remove()
    out.append("after")


@stackless
def record_received(ch, out):
    try:
        out.append(ch.receive())
    except KeyError as exc:
        out.append(("thrown", str(exc), exc.__traceback__ is not None))


@stackless
def schedule_values(name):
    LOG.append((name, schedule(1), schedule(retval=2), schedule()))


@stackless
def counted_switches(n, out):
    for i in range(n):
        schedule()
        out.append(i)


@stackless
def echo_switches(n, value, error_type):
    # Each switch hands value back through schedule(); every tenth one
    # raises and catches an exception across the switch.
    for i in range(n):
        if schedule(value) is not value:
            raise AssertionError("schedule() returned another value")
        if i % 10 == 0:
            try:
                raise error_type(value)
            except error_type:
                schedule()


@stackless
def channel_actor(name, ops, channels, log):
    # Runs one generated program of channel operations (see
    # tests/test_scheduler_loops.py), logging what it sees.
    for op, number in ops:
        if op == "send":
            channels[number].send((name, len(log)))
            log.append((name, "sent", number))
        elif op == "receive":
            log.append((name, "got", number, channels[number].receive()))
        else:
            schedule()
            log.append((name, "scheduled"))
