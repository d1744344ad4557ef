"""Channels: rendezvous points where one tasklet hands a value to another.

Semantics follow Stackless Python's channels: a sender with no receiver
waiting blocks in the channel's queue (and a receiver with no sender); when
both sides meet, ``preference`` says who runs next: -1 (the default) the
receiver, 1 the sender, 0 whoever is running goes on.
"""

import collections
import copyreg
import sys

from . import native_loop
from .generators import innermost_record
from .records import SITES, SWITCHED
from .registry import runtime_piece
from .scheduler import (
    HOOKS,
    _check_can_switch,
    _check_switch_trap,
    _enqueue,
    _exception_of,
    _hooks_changed,
    _hand_over,
    _per_thread,
    _switch_primitive,
    _wait,
)

SENDING, RECEIVING = 1, -1

# What a channel's pickled state holds by name; any other attribute of its
# instance dictionary (a subclass's) is pickled as such.
_OWN_FIELDS = frozenset({"_waiting", "_preference", "closing", "_main_iterating"})


def _waits_at_a_for_loop(task):
    """Whether ``task``'s innermost record (inside the generators it runs)
    waits at a ``for`` loop's ``__next__`` (a site the backend names
    ``for-next@line:col``)."""
    record = innermost_record(task._stack)
    return record is not None and SITES[record[0]].name.startswith("for-next@")


def _entry(task, direction, *delivered):
    """A waiting entry (tasklet, direction, value, error) from a pickled
    one, which before had (value, error) or None as its third item."""
    if len(delivered) == 1:
        delivered = delivered[0] or (None, None)
    value, error = delivered
    return task, direction, value, error


class _PythonChannelFields:
    """A channel's fields and its send and receive, where the C extension
    is not built.  Where it is, they are a C type's, whose send and receive
    read the fields directly and call these methods for the cases they
    leave."""

    def __init__(self):
        # The waiting tasklets' entries (tasklet, direction, value, error),
        # first first; a receiver's value and error are None.
        self._waiting = collections.deque()
        self._preference = -1
        self.closing = False

    @property
    def preference(self):
        """Who runs next when a transfer takes place: -1, 0 or 1."""
        return self._preference

    @preference.setter
    def preference(self, value):
        if not isinstance(value, int) or value not in (-1, 0, 1):
            raise ValueError(f"channel preference must be -1, 0 or 1, not {value!r:.100}")
        self._preference = int(value)

    @_switch_primitive
    def send(self, value):
        return self._send(value, None, sys._getframe(1))

    @_switch_primitive
    def receive(self):
        return self._receive(sys._getframe(1))


_ChannelFields = _PythonChannelFields
if native_loop.available:
    _ChannelFields = native_loop.channel_fields(_PythonChannelFields.send,
                                                _PythonChannelFields.receive)


class channel(_ChannelFields):
    @property
    def queue(self):
        """The first tasklet waiting on the channel, or None."""
        return self._waiting[0][0] if self._waiting else None

    @property
    def balance(self):
        """Waiting senders (positive) or receivers (negative); all waiting
        tasklets go the same way."""
        waiting = self._waiting
        return waiting[0][1] * len(waiting) if waiting else 0

    @property
    def closed(self):
        return self.closing and not self._waiting

    def close(self):
        """No further sends or receives may block on this channel."""
        self.closing = True
        self._end_iterations()

    def open(self):
        self.closing = False

    @_switch_primitive
    def send_exception(self, exc, *args):
        """Send ``exc(*args)``: the receiver raises it."""
        if not (isinstance(exc, type) and issubclass(exc, BaseException)):
            raise TypeError(f"send_exception() needs an exception class, not {exc!r:.100}")
        return self._send(None, exc(*args), sys._getframe(1))

    @_switch_primitive
    def send_throw(self, exc, val=None, tb=None):
        """Send an exception with the arguments of a ``raise``: an existing
        one keeps its traceback."""
        return self._send(None, _exception_of(exc, val, tb), sys._getframe(1))

    def _receive(self, caller_frame):
        sched = _per_thread.scheduler
        waiting = self._waiting
        partner = bool(waiting) and waiting[0][1] == SENDING
        if HOOKS.active:
            self._before_action(sched, False, partner, SENDING)
        by_return = _check_can_switch(sched, caller_frame)
        if partner:
            sender, _, value, error = waiting.popleft()
            sender.blocked, sender.blocked_on = False, None
            sender._value = sender._error = None
            if self.schedule_all:
                return self._both_run_later(sched, sender, by_return, (value, error))
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
        return self._block_and_wait(sched, RECEIVING, None, None, by_return)

    def _send(self, value, error, caller_frame):
        sched = _per_thread.scheduler
        waiting = self._waiting
        partner = bool(waiting) and waiting[0][1] == RECEIVING
        if HOOKS.active:
            self._before_action(sched, True, partner, RECEIVING)
        by_return = _check_can_switch(sched, caller_frame)
        current = sched.current
        if partner:
            receiver = waiting.popleft()[0]
            receiver.blocked, receiver.blocked_on = False, None
            receiver._value, receiver._error = value, error
            if self.schedule_all:
                return self._both_run_later(sched, receiver, by_return, (None, None))
            if self.preference == RECEIVING:
                return _hand_over(sched, receiver, by_return)
            _enqueue(sched, receiver)
            return None
        current._value = None
        return self._block_and_wait(sched, SENDING, value, error, by_return)

    @property
    def schedule_all(self):
        """While true, a transfer puts both tasklets at the end of the run
        queue, the partner first, whatever the preference."""
        return self in HOOKS.scheduling_all

    @schedule_all.setter
    def schedule_all(self, flag):
        if flag:
            HOOKS.scheduling_all.add(self)
        else:
            HOOKS.scheduling_all.discard(self)
        _hooks_changed()

    @staticmethod
    def _both_run_later(sched, partner, by_return, delivered):
        current = sched.current
        current._value, current._error = delivered
        _enqueue(sched, partner)
        _enqueue(sched, current)
        return _wait(sched, by_return)

    def _before_action(self, sched, sending, partner, switch_preference):
        """The channel callback, block trap and switch trap, before an
        action changes anything: the action switches when it blocks, or
        when the preference favours the partner."""
        current = sched.current
        callback = HOOKS.channel_callback
        if callback is not None:
            callback(self, current, sending, not partner)
        if not partner and current._block_trap:
            raise RuntimeError("this tasklet does not like to be blocked.")
        if not partner or self.preference == switch_preference or self.schedule_all:
            _check_switch_trap(sched)

    def _block_and_wait(self, sched, direction, value, error, by_return):
        if self.closing:
            raise ValueError("Send/receive operation on a closed channel")
        current = sched.current
        entry = (current, direction, value, error)
        current.blocked = True
        current.blocked_on = self
        self._waiting.append(entry)
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
        for entry in list(self._waiting):
            if entry[0] is task:
                self._waiting.remove(entry)

    def __reduce__(self):
        # The waiting tasklets pickle with the channel; pickling them and the
        # channel in one dumps keeps them sharing it.  A subclass's class
        # and attributes come along (made without calling its __init__).
        state = {"queue": list(self._waiting), "preference": self.preference,
                 "closing": self.closing, "schedule_all": self.schedule_all}
        attributes = {name: value for name, value in getattr(self, "__dict__", {}).items()
                      if name not in _OWN_FIELDS}
        if attributes:
            state["attributes"] = attributes
        return copyreg.__newobj__, (type(self),), state

    def __setstate__(self, state):
        self._waiting = collections.deque(_entry(*entry) for entry in state["queue"])
        self.preference = state["preference"]
        self.closing = state["closing"]
        self.schedule_all = state.get("schedule_all", False)
        self.__dict__.update(state.get("attributes", {}))

    # Iteration: ``for value in channel`` receives until the channel is
    # closed.  In stackless code, the loop's frame is suspended at its
    # FOR_ITER (the backend guards it) while the receive waits; in main, the
    # receive just waits.  Closing the channel ends the loops waiting on it.

    def __iter__(self):
        return self

    def __next__(self):
        if self.closed:
            raise StopIteration
        sched = _per_thread.scheduler
        if sched.current is not sched.main:
            return self._receive(sys._getframe(1))
        self.__dict__["_main_iterating"] = True
        try:
            return self._receive(sys._getframe(1))
        finally:
            self.__dict__["_main_iterating"] = False

    def _end_iterations(self):
        """Wake the receivers waiting in a ``for`` loop over this channel
        with StopIteration, which ends their loops."""
        sched = _per_thread.scheduler
        for entry in list(self._waiting):
            task, direction = entry[:2]
            in_loop = (self.__dict__.get("_main_iterating", False) if task.is_main
                       else _waits_at_a_for_loop(task))
            if direction == RECEIVING and in_loop:
                self._waiting.remove(entry)
                task.blocked, task.blocked_on = False, None
                task._value, task._error = None, StopIteration()
                _enqueue(sched, task)

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

