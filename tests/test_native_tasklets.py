"""Native stackless functions (``backend="native"``) as tasklets: switching,
channels, native frames under bytecode frames, kill, the watchdog, pickling
(here, in a fresh process, and across backends), stale code, cloning,
leaks of native records, and deep recursion.

The functions are in ``native_tasklet_cases.py``.  A fresh process is a
``python -c`` child run from the repository root; the children of one test
run at the same time where they do not depend on each other, since each
spends a few seconds importing and transforming the cases module.
"""

import ast
import copy
import importlib
import os
import pickle
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import pytest

import stacklessxf as sx
from stacklessxf.backends.llvm import live_records
from stacklessxf.runtime.records import SITES
from tests import native_tasklet_cases as cases

REPO = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT = 120

pytestmark = pytest.mark.skipif(
    cases.BACKEND != "native",
    reason="SX_TEST_BACKEND is set: this process must import the cases natively")


@pytest.fixture(autouse=True)
def clean():
    records = live_records()
    yield
    assert sx.getruncount() == 1, "a test left runnable tasklets behind"
    assert live_records() == records, "native records leaked"


def _marked_line(function):
    """The line of ``function``'s source marked ``# suspends here``."""
    code = getattr(function, "__wrapped__", function).__code__
    lines = Path(code.co_filename).read_text().splitlines()
    start = code.co_firstlineno
    for number, line in enumerate(lines[start - 1:], start=start):
        if line.rstrip().endswith("# suspends here"):
            return number
    raise AssertionError(f"no marked line in {function.__qualname__}")


def _site_kinds(task):
    """The class of the resume site of each record of ``task``, innermost
    first: NativeSite for a native record, ResumeSite for a bytecode one."""
    return [type(SITES[record[0]]).__name__ for record in reversed(task._stack)]


# -- fresh processes -------------------------------------------------------------------

# Unpickles ``[tasklet, channel]`` from stdin.  A blocked tasklet is sent the
# values of argv[1] (a Python literal list) from main; a runnable one is run
# to its end.  Prints the kind of each record's resume site, innermost first,
# and then the tasklet's result; or the StaleCodeError unpickling raised.
FINISH = textwrap.dedent("""
    import ast, pickle, sys
    import stacklessxf as sx
    from stacklessxf.errors import StaleCodeError
    from stacklessxf.runtime.records import SITES

    try:
        task, ch = pickle.loads(sys.stdin.buffer.read())
    except StaleCodeError as exc:
        print("StaleCodeError:", exc)
        raise SystemExit(0)
    print(" ".join(type(SITES[r[0]]).__name__ for r in reversed(task._stack)))
    if task.blocked:
        assert task.blocked_on is ch, task
        for value in ast.literal_eval(sys.argv[1]):
            ch.send(value)
    else:
        task.insert()
        assert sx.run() is None
    assert not task.alive, task
    print(repr(task._value))
    """)

# Under the backend of SX_TEST_BACKEND: a cross_total tasklet blocked after
# receiving the values of argv[2] is pickled with its channel into the file
# argv[1]; then the original receives the values of argv[3] and its result
# is printed.
MAKE_CROSS = textwrap.dedent("""
    import ast, pickle, sys
    import stacklessxf as sx
    from tests import native_tasklet_cases as cases

    ch = sx.channel()
    task = sx.tasklet(cases.cross_total)(ch, int(sys.argv[4]), float(sys.argv[5]))
    for value in ast.literal_eval(sys.argv[2]):
        ch.send(value)
    assert task.blocked
    with open(sys.argv[1], "wb") as file:
        file.write(pickle.dumps([task, ch]))
    for value in ast.literal_eval(sys.argv[3]):
        ch.send(value)
    assert not task.alive
    print(repr(task._value))
    """)


class Child:
    """A ``python -c script args...`` child, started at once from the
    repository root with SX_TEST_BACKEND set to ``backend``, reading
    ``stdin`` (bytes)."""

    def __init__(self, script, *args, backend="native", stdin=b"", path=()):
        env = dict(os.environ, SX_TEST_BACKEND=backend)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), *map(str, path), env.get("PYTHONPATH", "")])
        with tempfile.TemporaryFile() as data:
            data.write(stdin)
            data.seek(0)
            self.process = subprocess.Popen(
                [sys.executable, "-c", script, *map(str, args)], cwd=REPO, env=env,
                stdin=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = None

    def output(self):
        """The lines it printed; it must have exited with status 0."""
        if self.lines is None:
            try:
                out, err = self.process.communicate(timeout=CHILD_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.stop()
                raise
            assert self.process.returncode == 0, (
                f"the child exited with status {self.process.returncode}:\n{err.decode()}")
            self.lines = out.decode().splitlines()
        return self.lines

    def stop(self):
        """Kill it if it still runs (a test failed before reading it)."""
        if self.lines is None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.communicate()


# -- 1. a native function as a tasklet's function --------------------------------------


# Each ping_pong(tag, 3, log) sends tag*100 + 0, then schedule()s, then
# sends tag*100 + 1 and tag*100 + 2, schedule()s, and so on: with two of
# them, schedule() alternates between them.
PING_PONG_ORDER = [100, 200, 101, 102, 201, 202, 103, 104, 203, 204, 105, 205]


def test_schedule_ping_pong_between_native_tasklets_with_a_bytecode_consumer():
    log, out = sx.channel(), []
    first = sx.tasklet(cases.ping_pong)(1, 3, log)
    second = sx.tasklet(cases.ping_pong)(2, 3, log)
    consumer = sx.tasklet(cases.collect)(log, 12, out)
    sx.run()
    assert out == PING_PONG_ORDER
    assert not first.alive and not second.alive and not consumer.alive
    assert (first._value, second._value) == (1 + 2 + 3, 2 * (1 + 2 + 3))


def test_schedule_ping_pong_between_native_tasklets_with_main_as_consumer():
    log = sx.channel()
    first = sx.tasklet(cases.ping_pong)(1, 3, log)
    second = sx.tasklet(cases.ping_pong)(2, 3, log)
    assert [log.receive() for _ in range(12)] == PING_PONG_ORDER
    sx.run()
    assert (first._value, second._value) == (6, 12)


def test_native_tasklet_between_schedules_is_records():
    log = sx.channel()
    task = sx.tasklet(cases.ping_pong)(7, 2, log)
    assert log.receive() == 700
    sx.schedule()                        # ping_pong runs on to its schedule()
    assert task.alive and task.scheduled and not task.blocked
    frames = task.frames
    assert [f.function for f in frames] == ["ping_pong"]
    assert frames[0].slots["tag"] == 7 and frames[0].slots["total"] == 7
    assert _site_kinds(task) == ["NativeSite"]
    assert [log.receive() for _ in range(3)] == [701, 702, 703]
    sx.run()
    assert task._value == 7 + 14


# -- 2. channels -----------------------------------------------------------------------


@pytest.mark.parametrize("function,sent,result", [
    (cases.receive_int, 7, 21),
    (cases.receive_int, -(2**61), -3 * 2**61),
    (cases.receive_int, True, 3),            # an int receive takes a bool
    (cases.receive_float, 2.5, 0.625),
    (cases.receive_float, 3, 0.75),          # a float receive takes an int
    (cases.receive_bool, True, 1),
    (cases.receive_bool, False, 0),
], ids=["int", "big int", "bool as int", "float", "int as float", "True", "False"])
def test_native_receive(function, sent, result):
    ch = sx.channel()
    task = sx.tasklet(function)(ch)
    sx.schedule()
    assert task.blocked and ch.balance == -1
    ch.send(sent)
    assert not task.alive
    assert type(task._value) is type(result) and task._value == result


def test_native_sends_of_int_float_and_bool():
    ch = sx.channel()
    task = sx.tasklet(cases.send_kinds)(ch, 5)
    received = [ch.receive() for _ in range(4)]
    assert [(type(v), v) for v in received] == [
        (int, 5), (float, 2.5), (bool, True), (bool, False)]
    sx.run()
    assert task._value == 5


def test_native_summer_receives_from_a_bytecode_producer():
    ch = sx.channel()
    summer = sx.tasklet(cases.summer)(ch, 5)
    producer = sx.tasklet(cases.produce)(ch, [3, 1, 4, 1, 5])
    sx.run()
    assert summer._value == 3 * 1 + 1 * 2 + 4 * 3 + 1 * 4 + 5 * 5
    assert producer._value == 5 and ch.balance == 0


def test_bytecode_consumer_receives_from_a_native_producer():
    ch, out = sx.channel(), []
    consumer = sx.tasklet(cases.collect)(ch, 6, out)
    producer = sx.tasklet(cases.squares)(ch, 6)
    sx.run()
    assert out == [0, 1, 4, 9, 16, 25]
    assert [type(v) for v in out] == [int] * 6
    assert producer._value == 6 and consumer._value == 6 and ch.balance == 0


@pytest.mark.parametrize("receiver_first", [True, False],
                         ids=["receiver waits", "sender waits"])
def test_wrong_type_received_raises_type_error_in_the_native_tasklet(receiver_first):
    # A bystander: a native summer fed by a bytecode producer on its own channel.
    other = sx.channel()
    bystander = sx.tasklet(cases.summer)(other, 3)
    feeder = sx.tasklet(cases.produce)(other, [10, 20, 30])
    ch = sx.channel()
    if receiver_first:
        receiver = sx.tasklet(cases.receive_int)(ch)
        sender = sx.tasklet(cases.produce)(ch, ["seven"])
    else:
        sender = sx.tasklet(cases.produce)(ch, ["seven"])
        receiver = sx.tasklet(cases.receive_int)(ch)
    with pytest.raises(TypeError, match=r"must be int, not str"):
        sx.run()
    assert not receiver.alive
    sx.run()                          # everything else goes on
    assert not sender.alive and sender._value == 1
    assert bystander._value == 10 + 40 + 90 and not feeder.alive
    assert ch.balance == 0 and other.balance == 0
    # The native function still works.
    again = sx.tasklet(cases.receive_int)(ch)
    sx.schedule()
    ch.send(4)
    assert again._value == 12


# -- 3. bytecode frames over native frames ---------------------------------------------


def test_bytecode_function_calling_native_code_that_blocks():
    ch, out = sx.channel(), []
    task = sx.tasklet(cases.outer_bytecode)(ch, out)
    sx.schedule()
    assert task.blocked and ch.balance == -1 and out == []
    frames = task.frames
    assert [f.function for f in frames] == ["native_leaf", "native_middle", "outer_bytecode"]
    assert _site_kinds(task) == ["NativeSite", "NativeSite", "ResumeSite"]
    assert frames[0].slots == {"base": 40}
    assert frames[1].slots == {"k": 4}
    assert frames[2].slots["label"] == "outer" and frames[2].slots["out"] is out
    assert [f.lineno for f in frames] == [
        _marked_line(cases.native_leaf), _marked_line(cases.native_middle),
        _marked_line(cases.outer_bytecode)]
    assert all(f.filename == cases.__file__ for f in frames)
    text = task.format_stack()
    assert text.index("outer_bytecode") < text.index("native_middle") < text.index("native_leaf")
    assert "base = 40" in text and "k = 4" in text
    ch.send(2)
    assert out == [("outer", 2 + 40 + 4)]
    assert not task.alive and task._value == 46


# -- 4. kill ---------------------------------------------------------------------------


def test_kill_inside_native_code_runs_the_bytecode_finally():
    before = live_records()
    ch, out = sx.channel(), []
    task = sx.tasklet(cases.guarded)(ch, out)
    sx.schedule()
    assert task.blocked
    assert [f.function for f in task.frames] == ["native_leaf", "native_middle", "guarded"]
    task.kill()
    assert out == ["TaskletExit", "finally ran"]
    assert not task.alive and not task.blocked and ch.balance == 0
    assert live_records() == before


def test_kill_a_native_tasklet_blocked_on_a_channel():
    before = live_records()
    ch = sx.channel()
    task = sx.tasklet(cases.native_middle)(ch, 3)
    sx.schedule()
    assert task.blocked and ch.balance == -1
    task.kill()
    assert not task.alive and ch.balance == 0
    assert live_records() == before


def test_kill_deep_in_native_recursion_runs_the_bytecode_finally():
    before = live_records()
    out = []
    task = sx.tasklet(cases.guarded_deep)(20_000, out)
    sx.schedule()                      # it switches at the bottom
    assert task.scheduled and len(task._stack) == 20_000 + 2
    task.kill()
    assert out == ["finally ran"] and not task.alive
    assert live_records() == before


# -- 5. the watchdog -------------------------------------------------------------------


def test_watchdog_interrupts_a_native_busy_loop():
    task = sx.tasklet(cases.busy)(cases.HUGE)
    assert sx.run(1000) is task
    assert task.alive and not task.scheduled and not task.blocked
    [frame] = task.frames
    # Saved at the loop's head, named after the while statement (line 129).
    assert frame.function == "busy" and frame.resume_point == "loop@129:4"
    first = frame.slots["k"]
    assert frame.slots["n"] == cases.HUGE
    assert 900 <= first <= 1000
    # It goes on from where it stopped, for about as many ticks again.
    task.insert()
    assert sx.run(1000) is task
    second = task.frames[0].slots["k"]
    assert 900 <= second - first <= 1000
    task.insert()
    assert sx.run(50_000) is task
    assert 49_000 <= task.frames[0].slots["k"] - second <= 50_000
    task.kill()
    assert not task.alive


def test_watchdog_interrupted_native_loop_runs_to_its_end():
    task = sx.tasklet(cases.busy)(20_000)
    interruptions = 0
    while sx.run(1000) is task:
        task.insert()
        interruptions += 1
    assert not task.alive and task._value == 20_000
    assert 18 <= interruptions <= 20


# -- 6. pickling -----------------------------------------------------------------------


def test_tasklet_blocked_in_native_code_pickles_and_resumes_here():
    """(In a fresh process: the native-to-native case of
    test_blocked_tasklet_resumes_across_backends.)"""
    ch = sx.channel()
    task = sx.tasklet(cases.weighted)(ch, 4, 0.5)
    ch.send(1.5)
    ch.send(2)
    assert task.blocked and task.frames[0].slots["i"] == 2
    blob = pickle.dumps([task, ch])
    ch.send(3)
    ch.send(4.25)
    expected = task._value
    assert expected == 0.5 * (1.5 * 1 + 2 * 2 + 3 * 3 + 4.25 * 4)

    copy_task, copy_ch = pickle.loads(blob)
    assert copy_task.blocked and copy_task.blocked_on is copy_ch
    assert copy_ch.balance == -1 and copy_ch is not ch
    assert _site_kinds(copy_task) == ["NativeSite"]
    assert copy_task.frames[0].slots["total"] == 0.5 * (1.5 + 4)
    copy_ch.send(3)
    copy_ch.send(4.25)
    assert not copy_task.alive and copy_task._value == expected


def test_watchdog_interrupted_native_tasklet_pickles():
    """A record saved at a native loop's watchdog tick is saved at the
    loop's head, which the bytecode backend can resume at too: the tasklet
    finishes under either backend in a fresh process."""
    n = 3_000_000
    task = sx.tasklet(cases.spin)(n)
    assert sx.run(1000) is task
    assert task.frames[0].resume_point == "loop@153:4"
    blob = pickle.dumps([task, None])
    children = [Child(FINISH, "[]", stdin=blob),
                Child(FINISH, "[]", stdin=blob, backend="bytecode")]
    try:
        task.insert()
        assert sx.run() is None
        expected = task._value
        assert expected == cases.spin(n)

        copy_task, none = pickle.loads(blob)
        assert none is None and copy_task.alive and not copy_task.scheduled
        copy_task.insert()
        assert sx.run() is None
        assert copy_task._value == expected

        assert children[0].output() == ["NativeSite", repr(expected)]
        assert children[1].output() == ["ResumeSite", repr(expected)]
    finally:
        for child in children:
            child.stop()


def test_watchdog_record_in_nested_loops_resumes_under_the_bytecode_backend():
    """The record holds the outer and the inner loop's range iterators (the
    bytecode backend's value stack at the inner loop's head)."""
    n = 600
    task = sx.tasklet(cases.grid)(n)
    assert sx.run(5000) is task
    [frame] = task.frames
    assert isinstance(frame.slots["$stack0"], type(iter(range(0))))
    assert isinstance(frame.slots["$stack1"], type(iter(range(0))))
    blob = pickle.dumps([task, None])
    child = Child(FINISH, "[]", stdin=blob, backend="bytecode")
    try:
        task.insert()
        assert sx.run() is None
        assert child.output() == ["ResumeSite", repr(task._value)]
        assert task._value == cases.grid.__wrapped__(n)
    finally:
        child.stop()


def test_bytecode_watchdog_records_resume_under_the_native_backend(tmp_path):
    """The bytecode backend's watchdog stops before a loop's jump back (with
    the while test's value on its value stack); the native backend resumes
    such a record at the loop's head."""
    script = textwrap.dedent("""
        import pickle, sys
        import stacklessxf as sx
        from tests import native_tasklet_cases as cases
        task = sx.tasklet(cases.grid)(300)
        assert sx.run(20000) is task
        other = sx.tasklet(cases.spin)(300000)
        task.remove()
        assert sx.run(7000) is other
        with open(sys.argv[1], "wb") as file:
            pickle.dump([task, other], file)
        """)
    blob_path = tmp_path / "tasklets.pickle"
    Child(script, blob_path, backend="bytecode").output()
    task, other = pickle.loads(blob_path.read_bytes())
    assert _site_kinds(task) == ["NativeSite"] and _site_kinds(other) == ["NativeSite"]
    assert task.frames[0].resume_point.startswith("tick@")
    # The while test's value, where its closing test jumps back itself
    # (3.11); 3.12's jumps out when false, then back with nothing stacked.
    assert other.frames[0].slots.get("$stack0", True) is True
    task.insert()
    other.insert()
    assert sx.run() is None
    assert task._value == cases.grid.__wrapped__(300)
    assert other._value == cases.spin.__wrapped__(300000)


CROSS_ARGS = (5, 0.25)
CROSS_FIRST, CROSS_REST = [3, -2], [7, 1, 10]
BACKENDS = ("native", "bytecode")


@pytest.fixture(scope="module")
def cross_runs(tmp_path_factory):
    """For each (pickled under, resumed under) backends: the result the
    original tasklet gave, and the child that resumes its pickle (all
    started at once)."""
    blob_path = tmp_path_factory.mktemp("cross") / "bytecode.pickle"
    maker = Child(MAKE_CROSS, blob_path, CROSS_FIRST, CROSS_REST, *CROSS_ARGS,
                  backend="bytecode")
    children = [maker]
    try:
        ch = sx.channel()
        task = sx.tasklet(cases.cross_total)(ch, *CROSS_ARGS)
        for value in CROSS_FIRST:
            ch.send(value)
        assert task.blocked
        blobs = {"native": pickle.dumps([task, ch])}
        for value in CROSS_REST:
            ch.send(value)
        expected = {"native": task._value}
        runs = {}
        for target in BACKENDS:
            child = Child(FINISH, CROSS_REST, stdin=blobs["native"], backend=target)
            children.append(child)
            runs["native", target] = expected["native"], child
        expected["bytecode"] = ast.literal_eval(maker.output()[0])
        blobs["bytecode"] = blob_path.read_bytes()
        for target in BACKENDS:
            child = Child(FINISH, CROSS_REST, stdin=blobs["bytecode"], backend=target)
            children.append(child)
            runs["bytecode", target] = expected["bytecode"], child
        yield runs
    finally:
        for child in children:
            child.stop()


@pytest.mark.parametrize("source", BACKENDS)
@pytest.mark.parametrize("target", BACKENDS)
def test_blocked_tasklet_resumes_across_backends(cross_runs, source, target):
    expected, child = cross_runs[source, target]
    assert expected == cases.cross_expected(CROSS_FIRST + CROSS_REST, CROSS_ARGS[1])
    kind = {"native": "NativeSite", "bytecode": "ResumeSite"}[target]
    assert child.output() == [f"{kind} {kind}", repr(expected)]


# -- 7. stale code ---------------------------------------------------------------------

STALE_SOURCE = textwrap.dedent("""\
    import stacklessxf as sx
    from stacklessxf import stackless


    @stackless(backend="native")
    def waiter(ch: sx.channel, k: int) -> int:
        got = ch.receive()
        return got + k
    """)


def test_unpickling_against_changed_source_is_stale(tmp_path, monkeypatch):
    name = "native_stale_" + re.sub(r"\W", "_", tmp_path.name)
    same, edited = tmp_path / "same", tmp_path / "edited"
    same.mkdir()
    edited.mkdir()
    (same / f"{name}.py").write_text(STALE_SOURCE)
    (edited / f"{name}.py").write_text(STALE_SOURCE.replace("got + k", "got - k"))
    monkeypatch.syspath_prepend(str(same))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(name)
        ch = sx.channel()
        task = sx.tasklet(module.waiter)(ch, 5)
        sx.schedule()
        assert task.blocked and _site_kinds(task) == ["NativeSite"]
        blob = pickle.dumps([task, ch])
        task.kill()
    finally:
        sys.modules.pop(name, None)
    children = [Child(FINISH, "[10]", stdin=blob, path=[same]),
                Child(FINISH, "[10]", stdin=blob, path=[edited])]
    try:
        assert children[0].output() == ["NativeSite", "15"]
        [stale] = children[1].output()
        assert stale.startswith("StaleCodeError:")
        assert f"{name}.waiter " in stale
    finally:
        for child in children:
            child.stop()


# -- 8. cloning ------------------------------------------------------------------------


def test_copy_of_a_tasklet_suspended_in_native_code_is_independent():
    ch = sx.channel()
    task = sx.tasklet(cases.fork_point)(ch, 4)
    sx.schedule()                      # it schedule()s inside fork_inner
    assert task.scheduled and not task.blocked
    assert [f.function for f in task.frames] == ["fork_inner", "fork_point"]
    twin = task.copy()
    also = copy.deepcopy(task)
    for clone in (twin, also):
        assert clone is not task and clone.alive and clone.scheduled
        assert _site_kinds(clone) == ["NativeSite", "NativeSite"]
        assert clone.frames[0].slots["x"] == 40 and clone.frames[1].slots == {"x": 40}
        # Everything in the records is copied, the channel too.
        assert clone.frames[0].slots["ch"] is not ch
    ch.send(1)                         # the original takes it; the clones block
    assert not task.alive and task._value == 40 + 1 * 1000 + 40
    assert twin.blocked and also.blocked
    assert len({id(twin.blocked_on), id(also.blocked_on), id(ch)}) == 3
    twin.blocked_on.send(2)
    also.blocked_on.send(3)
    assert (twin._value, also._value) == (2080, 3080)


def test_copy_of_a_watchdog_interrupted_native_tasklet():
    n = 200_000
    task = sx.tasklet(cases.spin)(n)
    assert sx.run(1000) is task
    k = task.frames[0].slots["k"]
    task.insert()
    twin = task.copy()
    also = copy.deepcopy(task)
    assert twin.scheduled and also.scheduled
    task.kill()                        # the clones do not need the original
    assert twin.frames[0].slots["k"] == also.frames[0].slots["k"] == k
    assert sx.run() is None
    assert twin._value == also._value == cases.spin(n)


def test_copy_of_a_tasklet_blocked_in_native_code_is_refused():
    ch = sx.channel()
    task = sx.tasklet(cases.native_middle)(ch, 2)
    sx.schedule()
    with pytest.raises(RuntimeError, match="blocked"):
        task.copy()
    with pytest.raises(RuntimeError, match="blocked"):
        copy.deepcopy(task)
    ch.send(1)
    assert task._value == 1 + 20 + 2


# -- 9. no leak ------------------------------------------------------------------------


def _switch_many(total):
    before = live_records()
    first = sx.tasklet(cases.switcher)(total // 2)
    second = sx.tasklet(cases.switcher)(total // 2)
    sx.run()
    assert (first._value, second._value) == (total // 2, total // 2)
    assert live_records() == before


def test_no_native_record_leaks_after_many_switches():
    _switch_many(20_000)


@pytest.mark.slow
def test_no_native_record_leaks_after_a_million_switches():
    _switch_many(1_000_000)


def test_no_native_record_leaks_after_many_unwinds():
    before = live_records()
    for _ in range(3):
        # Records of deep recursion, resumed from a shallow stack.
        assert cases.depth(200_000) == 200_000
        # An error at the bottom frees the records still to resume.
        with pytest.raises(ZeroDivisionError):
            cases.fail_at_bottom(100_000)
        # A call-out that raises frees the records waiting for it.
        ch = sx.channel()
        sx.tasklet(cases.produce)(ch, ["not an int"])
        receiver = sx.tasklet(cases.dive_then_receive)(ch, 50_000)
        with pytest.raises(TypeError):
            sx.run()
        assert not receiver.alive
        sx.run()
        # Blocked deep, then killed.
        receiver = sx.tasklet(cases.dive_then_receive)(ch, 50_000)
        sx.schedule()
        assert receiver.blocked
        receiver.kill()
        # Blocked deep, then resumed.
        receiver = sx.tasklet(cases.dive_then_receive)(ch, 50_000)
        sx.schedule()
        ch.send(1)
        assert receiver._value == 50_001
        assert live_records() == before


# -- 10. deep recursion ----------------------------------------------------------------


def test_native_recursion_a_million_deep():
    assert cases.depth(1_000_000) == 1_000_000


def test_native_recursion_in_threads():
    """Each thread's entry sets its own stack limit; threads compile and
    unwind at the same time."""
    results = []
    threads = [threading.Thread(target=lambda k=k: results.append(cases.depth(200_000 + k)))
               for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200_000, 200_001, 200_002, 200_003]


@pytest.mark.parametrize("even,odd", [(cases.is_even, cases.is_odd),
                                      (cases.is_even_tail, cases.is_odd_tail)],
                         ids=["calls keep activations", "tail calls"])
def test_native_mutual_recursion_200_000_deep(even, odd):
    assert even(200_000) is True
    assert odd(200_000) is False
    assert even(200_001) is False
    assert odd(200_001) is True


def test_native_recursion_in_a_tasklet_switching_at_the_bottom():
    log, out = sx.channel(), []
    task = sx.tasklet(cases.dive_then_switch)(100_000)
    other = sx.tasklet(cases.ping_pong)(3, 1, log)
    consumer = sx.tasklet(cases.collect)(log, 2, out)
    sx.schedule()
    # The native recursion switched at depth 100,000 and let the others run.
    assert task.alive and task.scheduled
    assert len(task._stack) == 100_001
    assert task.frames[0].function == task.frames[-1].function == "dive_then_switch"
    assert out == [300]
    sx.run()
    assert not task.alive and task._value == 100_000
    assert out == [300, 301] and not other.alive and not consumer.alive
