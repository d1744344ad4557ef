"""Stackless functions for test_switch_by_return: a switch passes each
frame either by returning the switch marker or by an unwinding.  A
tasklet's first switch always unwinds (C code ran its function), so the
functions switch once before the switch each one is about."""

import contextlib
import sys

import stacklessxf as sx

LOG = []


@sx.stackless
def shallow(n):
    for i in range(n):
        sx.schedule()
        LOG.append(("shallow", i))


@sx.stackless
def inner(tag):
    sx.schedule()
    return tag


@sx.stackless
def middle(tag):
    return [inner(tag), inner(tag)]


@sx.stackless
def deep(tag):
    LOG.append(middle(tag))


@sx.stackless
def through_plain_call(tag):
    sx.schedule()
    LOG.append(inner(tag))


@sx.stackless
def through_star_args(tag):
    sx.schedule()
    args = (tag,)
    LOG.append(inner(*args))


@sx.stackless
def add_after_switch(total, value):
    sx.schedule()
    return total + value


@sx.stackless
def through_c_code(call_through_c, values):
    sx.schedule()
    call_through_c(add_after_switch, values)


@sx.stackless
def in_finally(tag):
    sx.schedule()
    try:
        sx.schedule()
        LOG.append((tag, "body"))
    finally:
        LOG.append((tag, "finally"))


@contextlib.contextmanager
def noted(tag):
    LOG.append((tag, "enter"))
    yield
    LOG.append((tag, "exit"))


@sx.stackless
def in_with(tag):
    sx.schedule()
    with noted(tag):
        sx.schedule()
        LOG.append((tag, "body"))


@sx.stackless
def in_except(tag):
    sx.schedule()
    try:
        raise ValueError(tag)
    except ValueError:
        sx.schedule()
        LOG.append((tag, repr(sys.exc_info()[1])))
    LOG.append((tag, sys.exc_info()[1]))


@sx.stackless
def exc_info_elsewhere(tag):
    sx.schedule()
    LOG.append((tag, sys.exc_info()[1]))


@sx.stackless
def pair(a, b):
    return (a, b)


@sx.stackless
def switch_value(value):
    sx.schedule()
    return value


@sx.stackless
def nested_call_arguments(tag):
    sx.schedule()
    # The switch happens with pair's NULL, callable and first argument on
    # the value stack.
    LOG.append(pair(tag, switch_value(tag + "!")))


@sx.stackless
def tail_switch(value):
    return switch_value(value)


@sx.stackless
def via_tail(tag):
    sx.schedule()
    LOG.append(tail_switch(tag))


@sx.stackless
def note(tag):
    LOG.append(tag)


@sx.stackless
def runs_other(other, how):
    sx.schedule()
    LOG.append("before")
    if how == "run":
        other.run()
    else:
        other.switch()
    LOG.append("after")
