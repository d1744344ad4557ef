"""Running tasklets pickle, resume here or in a fresh process, and survive a
failed pickle."""

import os
import pickle
import subprocess
import sys

import pytest

import stacklessxf as sx
from tests import pickled_tasklet_cases as cases

# Every test runs under both scheduler loops (see conftest.scheduler_loop).
pytestmark = pytest.mark.usefixtures("scheduler_loop")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RESUME_IN_CHILD = """
import pickle, sys
import stacklessxf as sx
from tests import pickled_tasklet_cases as cases
tasklets = pickle.loads(sys.stdin.buffer.read())
for t in tasklets:
    if isinstance(t, sx.tasklet) and not t.blocked:
        t.insert()
sx.run()
print("\\n".join(cases.OUT))
"""


@pytest.fixture(autouse=True)
def clean():
    cases.OUT.clear()
    yield
    cases.OUT.clear()


def _resume_in_child(blob):
    done = subprocess.run([sys.executable, "-c", RESUME_IN_CHILD], input=blob,
                          capture_output=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().splitlines()


def test_running_tasklet_resumes_in_a_fresh_process():
    t = sx.tasklet(cases.counter)("a", 10)
    for _ in range(4):
        sx.schedule()
    assert cases.OUT == ["a 3"]
    blob = pickle.dumps([t])
    sx.run()                      # the original goes on here
    expected = cases.OUT[1:]
    assert _resume_in_child(blob) == expected
    assert expected == ["a 6", "a 9"]


def test_producer_and_consumer_share_their_channel_after_unpickling():
    ch = sx.channel()
    producer = sx.tasklet(cases.producer)(ch, [1, 2, 3, 4])
    consumer = sx.tasklet(cases.consumer)(ch, 4)
    sx.schedule()
    sx.schedule()
    assert producer.alive and consumer.alive
    blob = pickle.dumps([producer, consumer, ch])
    done_before = len(cases.OUT)
    sx.run()
    expected = cases.OUT[done_before:]
    assert expected and expected[-1] == "producer sent 4"

    cases.OUT.clear()
    p2, c2, ch2 = pickle.loads(blob)
    assert {id(t.blocked_on) for t in (p2, c2) if t.blocked} <= {id(ch2)}
    for t in (p2, c2):
        if not t.blocked:
            t.insert()
    sx.run()
    assert cases.OUT == expected
    assert _resume_in_child(blob) == expected


def test_failed_pickle_names_the_variable_and_leaves_the_tasklet_intact():
    ch = sx.channel()
    t = sx.tasklet(cases.holds_unpicklable)(ch)
    sx.schedule()
    with pytest.raises(pickle.PicklingError) as info:
        pickle.dumps(t)
    message = str(info.value)
    assert "holds_unpicklable" in message and "'handle'" in message
    assert str(cases.holds_unpicklable.__code__.co_firstlineno + 4) in message
    assert t.alive and t.blocked
    ch.send(None)                 # still runnable after the failed pickle
    assert not t.alive


def test_running_and_main_tasklets_are_refused():
    with pytest.raises(pickle.PicklingError, match="running"):
        pickle.dumps(sx.getmain())
