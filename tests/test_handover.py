"""An unwinding's records are handed over per thread: two threads'
unwindings never mix, and the collector's finalizers get a hand-over of
their own."""

import gc
import sys
import threading

import pytest

from stacklessxf.runtime.records import HANDOVER, PER_THREAD_HANDOVER

from tests import handover_cases as cases

pytestmark = pytest.mark.skipif(not PER_THREAD_HANDOVER,
                                reason="the C extension _stacklessxf_switch is not built")

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
