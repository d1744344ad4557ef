"""Channels: rendezvous points where one tasklet hands a value to another.

Semantics follow Stackless Python's channels: a sender with no receiver
waiting blocks in the channel's queue (and a receiver with no sender); when
both sides meet, ``preference`` says who runs next: -1 (the default) the
receiver, 1 the sender, 0 whoever is running goes on.
"""

import collections
import sys

from . import native_loop
from .records import SWITCHED
from .registry import runtime_piece
from .scheduler import (
    _check_can_switch,
    _enqueue,
    _hand_over,
    _per_thread,
    _switch_primitive,
    _wait,
)

SENDING, RECEIVING = 1, -1


class channel:
    def __init__(self):
        self.queue = collections.deque()   # (tasklet, direction, (value, error))
        self.preference = -1
        self.closing = False

    @property
    def preference(self):
        """Who runs next when a transfer takes place: -1, 0 or 1."""
        return self.__dict__["preference"]

    @preference.setter
    def preference(self, value):
        # Kept in the instance dictionary, where the C methods read it.
        if not isinstance(value, int) or value not in (-1, 0, 1):
            raise ValueError(f"channel preference must be -1, 0 or 1, not {value!r:.100}")
        self.__dict__["preference"] = int(value)

    @property
    def balance(self):
        """Waiting senders (positive) or receivers (negative); all waiting
        tasklets go the same way."""
        return self.queue[0][1] * len(self.queue) if self.queue else 0

    @property
    def closed(self):
        return self.closing and not self.queue

    def close(self):
        """No further sends or receives may block on this channel."""
        self.closing = True

    def open(self):
        self.closing = False

    @_switch_primitive
    def send(self, value):
        return self._send(value, None, sys._getframe(1))

    @_switch_primitive
    def send_exception(self, exc_type, *args):
        return self._send(None, exc_type(*args), sys._getframe(1))

    @_switch_primitive
    def send_throw(self, exc, tb=None):
        if tb is not None:
            exc = exc.with_traceback(tb)
        return self._send(None, exc, sys._getframe(1))

    @_switch_primitive
    def receive(self):
        return self._receive(sys._getframe(1))

    def _receive(self, caller_frame):
        sched = _per_thread.scheduler
        by_return = _check_can_switch(sched, caller_frame)
        if self.queue and self.queue[0][1] == SENDING:
            sender, _, (value, error) = self.queue.popleft()
            sender.blocked, sender.blocked_on = False, None
            sender._value = sender._error = None
            if self.preference == SENDING:
                # A tasklet switches away (and gets the value when resumed);
                # main runs the others and goes on here.
                if _hand_over(sched, sender, by_return, (value, error)) is SWITCHED:
                    return SWITCHED
            else:
                _enqueue(sched, sender)
            if error is not None:
                raise error
            return value
        return self._block_and_wait(sched, RECEIVING, None, by_return)

    def _send(self, value, error, caller_frame):
        sched = _per_thread.scheduler
        by_return = _check_can_switch(sched, caller_frame)
        current = sched.current
        if self.queue and self.queue[0][1] == RECEIVING:
            receiver, _, _ = self.queue.popleft()
            receiver.blocked, receiver.blocked_on = False, None
            receiver._value, receiver._error = value, error
            receiver.tempval = value
            if self.preference == RECEIVING:
                return _hand_over(sched, receiver, by_return)
            _enqueue(sched, receiver)
            return None
        current._value = None
        return self._block_and_wait(sched, SENDING, (value, error), by_return)

    def _block_and_wait(self, sched, direction, payload, by_return):
        if self.closing:
            raise ValueError("channel is closed")
        current = sched.current
        entry = (current, direction, payload)
        current.blocked = True
        current.blocked_on = self
        self.queue.append(entry)
        if not current.is_main:
            return _wait(sched, by_return)     # unwinds; resumed when unblocked
        try:
            return _wait(sched)
        except BaseException:
            # Main gave up waiting (deadlock, or a tasklet's exception).
            self._forget(current)
            current.blocked = False
            current.blocked_on = None
            raise

    def _forget(self, task):
        """Drop ``task``'s waiting entry (it is being killed or gave up)."""
        for entry in list(self.queue):
            if entry[0] is task:
                self.queue.remove(entry)

    def __reduce__(self):
        # The waiting tasklets pickle with the channel; pickling them and the
        # channel in one dumps keeps them sharing it.
        return channel, (), {"queue": list(self.queue), "preference": self.preference,
                             "closing": self.closing}

    def __setstate__(self, state):
        self.queue = collections.deque(state["queue"])
        self.preference = state["preference"]
        self.closing = state["closing"]

    def __iter__(self):
        return self

    def __next__(self):
        # Called by the interpreter for a for loop: in stackless code that is
        # not a call the frame can be suspended at, so a receive that has to
        # wait raises SwitchError there; in plain (main) code it just waits.
        if self.closed:
            raise StopIteration
        return self._receive(sys._getframe(1))

    def __repr__(self):
        return f"<channel balance={self.balance} preference={self.preference}>"


def _send_sequence(self, values):
    """Send every value of ``values`` in turn; returns how many were sent.
    Made stackless by the transform, so it can wait at each send like its
    caller."""
    count = 0
    for value in values:
        self.send(value)
        count += 1
    return count


runtime_piece(channel, "send_sequence", _send_sequence)

if native_loop.available:
    # The C methods take the usual cases and call these for the rest.
    channel.send, channel.receive = native_loop.channel_methods(channel.send, channel.receive)
