"""An unwinding's records are handed over per thread: two threads'
unwindings never mix, and the collector's finalizers get a hand-over of
their own."""

import gc
import sys
import threading

import pytest

from stacklessxf.runtime.records import HANDOVER, PER_THREAD_HANDOVER

from tests import handover_cases as cases

pytestmark = [
    pytest.mark.skipif(not PER_THREAD_HANDOVER,
                       reason="the C extension _stacklessxf_switch is not built"),
    pytest.mark.usefixtures("deep_records"),
]

DEEP = 3000


@pytest.fixture
def low_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    yield
    sys.setrecursionlimit(old)


def test_a_thread_let_in_half_way_through_an_unwinding_unwinds_on_its_own(low_limit):
    start, done = cases.Handshake.arm()
    results = {}

    def first():
        results["first"] = cases.dropping_sum(DEEP, 1, cases.Handshake)

    def second():
        start.wait(30)
        try:
            results["second"] = cases.dropping_sum(DEEP, 1000, object)
        finally:
            done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert done.is_set(), "the first thread's unwinding never let the second one in"
    assert results == {"first": DEEP, "second": 1000 * DEEP}


def test_each_thread_has_its_own_hand_over():
    seen = {}

    def look(tag):
        seen[tag] = (id(HANDOVER.chain), id(HANDOVER.switch_unwind),
                     HANDOVER.switch_unwind.reason, HANDOVER.depth_unwind.reason)

    threads = [threading.Thread(target=look, args=(tag,)) for tag in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = (id(HANDOVER.chain), id(HANDOVER.switch_unwind), "switch", "depth")
    assert seen["a"][2:] == seen["b"][2:] == mine[2:]
    assert len({seen["a"][:2], seen["b"][:2], mine[:2]}) == 3


def test_the_collectors_finalizers_get_a_hand_over_of_their_own():
    cases.Inspector.seen.clear()
    cases.Inspector()
    gc.collect()
    [(chain, set_aside)] = cases.Inspector.seen
    assert chain is not HANDOVER.chain and set_aside == 1
    assert HANDOVER.levels_set_aside() == 0


def test_push_sets_the_unwinding_aside_and_pop_brings_it_back():
    chain = HANDOVER.chain
    HANDOVER.push()
    try:
        assert HANDOVER.chain is not chain and HANDOVER.levels_set_aside() == 1
    finally:
        HANDOVER.pop()
    assert HANDOVER.chain is chain
    with pytest.raises(RuntimeError, match="without a push"):
        HANDOVER.pop()


def test_chain_taken_hands_the_records_over_in_a_new_list_and_empties_the_chain():
    HANDOVER.push()
    try:
        chain = HANDOVER.chain
        chain += [(1, "a"), (2, "b")]
        taken = HANDOVER.chain_taken
        assert taken == [(1, "a"), (2, "b")] and taken is not chain
        assert HANDOVER.chain is chain and chain == []
        assert HANDOVER.chain_taken == []
    finally:
        HANDOVER.pop()


def _raised_here(exception):
    try:
        raise exception
    except BaseException as caught:
        return caught


def _raised_one_frame_down(exception):
    def below():
        raise exception
    try:
        below()
    except BaseException as caught:
        return caught


def test_a_refusal_of_the_asking_frames_own_call_starts_a_depth_unwinding():
    HANDOVER.push()
    try:
        HANDOVER.chain.append((1, "stale"))
        HANDOVER.tails.append(7)
        refusal = _raised_here(RecursionError("limit"))
        unwind = HANDOVER[refusal]
        assert unwind is HANDOVER.depth_unwind
        assert unwind.__traceback__ is refusal.__traceback__
        # The code of the frame that called the one whose call was refused.
        assert unwind.origin is sys._getframe().f_code
        assert HANDOVER.chain == [] and HANDOVER.tails == []
    finally:
        HANDOVER.pop()


@pytest.mark.parametrize("exception", [
    _raised_one_frame_down(RecursionError("in a callee")),   # refused further in
    _raised_here(ValueError("not a refusal")),
    _raised_here(MemoryError("a real one")),                 # the depth check refused nothing
    RecursionError("never raised"),                          # no traceback
    "not an exception",
], ids=["deeper", "other-type", "real-memory-error", "no-traceback", "not-an-exception"])
def test_anything_else_starts_nothing(exception):
    HANDOVER.push()
    try:
        HANDOVER.chain.append((1, "kept"))
        assert HANDOVER[exception] is None
        assert HANDOVER.chain == [(1, "kept")] and HANDOVER.depth_unwind.origin is None
    finally:
        HANDOVER.pop()
