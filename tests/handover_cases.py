"""Stackless code for tests/test_handover.py: deep recursions in two
threads at once, one letting the other in half way through an unwinding."""

import threading

from stacklessxf import stackless
from stacklessxf.runtime.records import HANDOVER


class Handshake:
    """A finalizer that, the first time it runs, lets another thread run
    (``start``) and waits until that thread says it is ``done``.  Held by a
    local that is dead at a call, it runs when an unwinding passes the
    frame and drops the frame's locals."""

    start = done = None

    def __del__(self):
        start, done = Handshake.start, Handshake.done
        if start is not None:
            Handshake.start = None
            start.set()
            done.wait(30)

    @classmethod
    def arm(cls):
        cls.start, cls.done = threading.Event(), threading.Event()
        return cls.start, cls.done


class Inspector:
    """A finalizer that notes the hand-over it sees when it runs."""

    seen = []

    def __init__(self):
        self.cycle = self

    def __del__(self):
        Inspector.seen.append((HANDOVER.chain, HANDOVER.levels_set_aside()))


@stackless
def dropping_sum(n, tag, make):
    """``n * tag``, one activation per level, each keeping ``tag`` live and
    holding a ``make()`` that is dead at its recursive call."""
    if n == 0:
        return 0
    dropped = make()
    return tag + dropping_sum(n - 1, tag, make)
