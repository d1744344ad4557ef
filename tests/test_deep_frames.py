"""Deep stackless recursion as frames (``deep_recursion("frames")``, the
default where the C extension is built): transformed frames that their
callers' evaluation loops run stop counting against the recursion limit, so
the recursion needs no unwinding, and what it calls keeps the whole limit.
"""

import sys
import threading

import pytest

import stacklessxf as sx
from stacklessxf.runtime import depth

pytestmark = [
    pytest.mark.skipif(
        depth.REFUSED is None, reason="the frames mode is a C extension, not built here"),
    pytest.mark.usefixtures("default_recursion_limit"),
]

DEEP = 50_000


@sx.stackless
def down(n, bottom):
    if n == 0:
        return bottom()
    return down(n - 1, bottom) + 1


def test_frames_is_the_default_and_the_mode_can_be_set_and_restored():
    assert sx.deep_recursion() == "frames"
    assert sx.deep_recursion("records") == "frames"
    try:
        assert sx.deep_recursion() == "records"
    finally:
        assert sx.deep_recursion("frames") == "records"
    with pytest.raises(ValueError, match="'frames' and 'records'"):
        sx.deep_recursion("stack")


def test_a_deep_recursion_saves_no_record_and_refuses_no_call():
    sx.reset_stats()
    refusals = depth.refusal_count()
    assert down(DEEP, lambda: 0) == DEEP
    assert sx.stats().records_saved == 0
    assert depth.refusal_count() == refusals


@pytest.mark.usefixtures("deep_records")
def test_the_same_recursion_in_records_mode_is_unwound():
    sx.reset_stats()
    assert down(DEEP, lambda: 0) == DEEP
    assert sx.stats().records_saved > DEEP // 2


def test_past_the_frame_memory_deep_recursion_unwinds_into_records():
    before = sx.frame_memory(1 << 20)
    try:
        sx.reset_stats()
        levels = depth.levels_left()
        assert down(DEEP, lambda: 0) == DEEP
        assert depth.levels_left() == levels
    finally:
        assert sx.frame_memory(before) == 1 << 20
    # A MiB of chunks holds a few thousand frames; the rest became records.
    assert DEEP // 2 < sx.stats().records_saved < DEEP


def test_frame_memory_takes_a_number_of_bytes():
    for wrong in (-1, 1.5, "1M"):
        with pytest.raises(ValueError, match="number of bytes"):
            sx.frame_memory(wrong)
    assert sx.frame_memory() == 256 << 20     # the documented default, unchanged


def _deepest_plain_recursion():
    deepest = [0]

    def runaway(n):
        deepest[0] = n
        return runaway(n + 1)

    with pytest.raises(RecursionError):
        runaway(0)
    return deepest[0]


def test_plain_code_called_at_depth_has_the_whole_limit():
    shallow = _deepest_plain_recursion()
    seen = []
    assert down(DEEP, lambda: seen.append(_deepest_plain_recursion()) or 0) == DEEP
    # The frames of the last chunk of the interpreter's stack count until
    # the plain recursion needs a new one.
    assert seen[0] >= shallow - 5


def test_levels_left_at_depth_lose_at_most_a_chunk_of_frames():
    seen = []
    assert down(DEEP, lambda: seen.append(depth.levels_left()) or 0) == DEEP
    assert seen[0] >= sys.getrecursionlimit() - 250


def _raise(exc):
    raise exc


@pytest.mark.parametrize("exc", [ValueError("at the bottom"), KeyboardInterrupt(), MemoryError()])
def test_the_budget_is_whole_again_after_a_deep_recursion(exc):
    before = depth.levels_left()
    assert down(DEEP, lambda: 0) == DEEP
    assert depth.levels_left() == before
    with pytest.raises(type(exc)):
        down(DEEP, lambda: _raise(exc))
    assert depth.levels_left() == before


def test_threads_recursing_deep_at_once_keep_their_own_budgets():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    results, budgets = {}, {}

    def work(k):
        before = depth.levels_left()
        results[k] = down(DEEP + k, lambda: 0)
        budgets[k] = (before, depth.levels_left())

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert results == {k: DEEP + k for k in range(3)}
    assert all(before == after for before, after in budgets.values())


@pytest.mark.usefixtures("scheduler_loop")
def test_a_tasklet_switching_at_depth_is_unwound_then():
    @sx.stackless
    def bottom():
        sx.schedule()
        return 0

    t = sx.tasklet(down)(DEEP, bottom)
    t.run()
    # At the switch every frame became a record.
    assert len(t._stack) >= DEEP
    sx.run()
    assert not t.alive and t._value == DEEP
