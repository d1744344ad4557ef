"""A channel's fields and its send and receive: a C type where the extension
is built (runtime/_switch.c), Python code where it is not; the C methods
take the usual cases without running Python code."""

import collections
import gc
import os
import pickle
import subprocess
import sys
import weakref

import pytest

import stacklessxf as sx
from stacklessxf.frontend.calls import PLAIN, SWITCH, classify_object
from stacklessxf.runtime import native_loop

from tests import fault_cases as cases

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_c_loop = pytest.mark.skipif(native_loop._switch is None,
                                  reason="the C extension _stacklessxf_switch is not built")


def test_send_and_receive_are_switches_bound_or_not():
    ch = sx.channel()
    for method in (sx.channel.send, sx.channel.receive, ch.send, ch.receive):
        assert classify_object(method) == SWITCH, method
    # Other C methods bound to an instance stay plain.
    assert classify_object([].append) == PLAIN
    assert classify_object(collections.deque().popleft) == PLAIN


MODULE_CHANNEL = sx.channel()


@sx.stackless
def send_to_module_channel(values):
    for value in values:
        MODULE_CHANNEL.send(value)


@sx.stackless
def receive_from_module_channel(count, out):
    for _ in range(count):
        out.append(MODULE_CHANNEL.receive())


@pytest.mark.usefixtures("scheduler_loop")
def test_a_module_level_channel_switches_where_its_methods_are_called():
    out = []
    sx.tasklet(send_to_module_channel)(range(5))
    sx.tasklet(receive_from_module_channel)(5, out)
    sx.run()
    assert out == list(range(5))
    assert send_to_module_channel.__stackless__.switch_arrives
    assert receive_from_module_channel.__stackless__.switch_arrives


class CountingChannel(sx.channel):
    """Counts the operations the C methods leave to the Python code."""

    def __init__(self):
        super().__init__()
        self.in_python = 0

    def _send(self, *args):
        self.in_python += 1
        return super()._send(*args)

    def _receive(self, *args):
        self.in_python += 1
        return super()._receive(*args)


@sx.stackless
def ping(there, back, rounds, out):
    for i in range(rounds):
        there.send(i)
        out.append(back.receive())


@sx.stackless
def pong(there, back, rounds):
    for _ in range(rounds):
        back.send(there.receive() * 10)


@needs_c_loop
@pytest.mark.parametrize("preference", [-1, 0, 1])
def test_the_c_methods_take_a_ping_pong_without_python_code(preference):
    there, back, out = CountingChannel(), CountingChannel(), []
    there.preference = back.preference = preference
    sx.tasklet(ping)(there, back, 50, out)
    sx.tasklet(pong)(there, back, 50)
    sx.run()
    assert out == [10 * i for i in range(50)]
    assert there.in_python == back.in_python == 0
    # The main tasklet's receive is the Python code's, and so the counts
    # above could have seen one.
    sx.tasklet(cases.send_one)(there, "to main")
    assert there.receive() == "to main" and there.in_python == 1


@needs_c_loop
def test_the_waiting_entries_are_a_deque():
    ch = sx.channel()
    assert isinstance(ch._waiting, collections.deque) and not ch._waiting
    with pytest.raises(TypeError, match="deque"):
        ch._waiting = []
    assert ch.preference == -1 and ch.closing is False


def test_a_channel_subclass_keeps_its_attributes_and_pickles():
    ch = CountingChannel()
    ch.in_python = 7
    ch.preference = 1
    again = pickle.loads(pickle.dumps(ch))
    assert type(again) is CountingChannel
    assert again.preference == 1 and again.in_python == 7


@pytest.mark.usefixtures("scheduler_loop")
def test_a_channel_in_a_cycle_with_its_waiting_tasklet_is_collected():
    ch = sx.channel()
    waiter = sx.tasklet(cases.receive_into)(ch, [ch])
    sx.run()
    assert waiter.blocked and ch.balance == -1
    gone = weakref.ref(ch)
    waiter.kill()
    del ch, waiter
    gc.collect()
    assert gone() is None


@needs_c_loop
def test_site_counts_taken_by_the_c_loop_reach_the_statistics():
    sx.reset_stats()
    there, back, out = sx.channel(), sx.channel(), []
    sx.tasklet(ping)(there, back, 20, out)
    sx.tasklet(pong)(there, back, 20)
    sx.run()
    # Each round suspends each side once, at the call that blocks.
    assert sx.stats().records_saved >= 40
    sx.reset_stats()
    assert sx.stats().records_saved == 0


WITHOUT_THE_EXTENSION = """
import sys
sys.modules["_stacklessxf_switch"] = None
import pickle
import stacklessxf as sx
from stacklessxf.runtime import channel, native_loop
assert not native_loop.available
assert channel.channel.__mro__[1] is channel._PythonChannelFields
from tests.test_channel_fields import ping, pong

there, back, out = sx.channel(), sx.channel(), []
there.preference = 1
try:
    there.preference = 2
except ValueError as exc:
    print("refused:", exc)
sx.tasklet(ping)(there, back, 5, out)
waiter = sx.tasklet(pong)(there, back, 5)
sx.run()
print(out)
blocked = sx.tasklet(ping)(there, back, 1, out)
sx.run()
again = pickle.loads(pickle.dumps(there))
print(again.balance, again.preference, again.queue is not None)
"""


def test_channels_work_without_the_extension():
    done = subprocess.run([sys.executable, "-c", WITHOUT_THE_EXTENSION], capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("refused: channel preference must be -1, 0 or 1, not 2")
    assert lines[1] == str([0, 10, 20, 30, 40])
    assert lines[2] == "1 1 True"


@pytest.mark.usefixtures("scheduler_loop")
def test_a_channel_pickled_with_the_earlier_entries_loads():
    # Entries were (tasklet, direction, (value, error)) for a sender and
    # (tasklet, direction, None) for a receiver.
    ch, out = sx.channel(), []
    sender = sx.tasklet(cases.send_one)(ch, "kept")
    sx.run()
    state = ch.__reduce__()[2]
    task, direction, value, error = state["queue"][0]
    assert (task, direction, value, error) == (sender, 1, "kept", None)
    again = sx.channel()
    again.__setstate__(dict(state, queue=[(task, direction, (value, error))]))
    assert list(again._waiting) == [(sender, 1, "kept", None)]
    receiver_state = dict(state, queue=[(task, -1, None)])
    again.__setstate__(receiver_state)
    assert list(again._waiting) == [(sender, -1, None, None)]
    # The sender still waits on the first channel, whose receive delivers.
    sx.tasklet(cases.receive_into)(ch, out)
    sx.run()
    assert out == ["kept"]
