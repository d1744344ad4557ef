"""A resumed activation behaves as the one that was suspended: ``del`` finds
its variable, and locals(), vars(), eval() and exec() see the user's
variables with their values, and nothing else, after a switch, after a depth
unwinding, and after a pickle."""

import pickle

import pytest

import stacklessxf as sx
from stacklessxf import stackless
from stacklessxf.testing import low_recursion_limit
from tests.plain_copies import plain_copy

pytestmark = pytest.mark.usefixtures("scheduler_loop")

OUT = []


@pytest.fixture(autouse=True)
def clean():
    OUT.clear()
    yield
    OUT.clear()
    assert sx.getruncount() == 1, "a test left runnable tasklets behind"


@stackless
def del_after_switch(n):
    x = [n]
    sx.schedule()
    del x
    OUT.append("x" in locals())
    return n


@stackless
def frame_after_switch(a, *rest, key=None):
    y = a + 1
    unused = "u"
    sx.schedule()
    seen = dict(locals())
    OUT.append(sorted(seen.items()))
    OUT.append(sorted(vars()))
    OUT.append(eval("y + a"))
    exec("OUT.append(y * 2)")
    return unused


@stackless
def frame_of_a_method_after_switch(self_like):
    sx.schedule()
    OUT.append(sorted(locals()))


def run_in_tasklet(function, *args):
    sx.tasklet(function)(*args)
    sx.run()


@pytest.mark.parametrize("function,args", [
    (del_after_switch, (3,)),
    (frame_after_switch, (1, 2, 3)),
    (frame_of_a_method_after_switch, (None,)),
])
def test_after_a_switch_the_frame_is_as_before(function, args):
    # In main, with nothing else to run, schedule() returns at once: the
    # plain function gives what is expected.
    plain_copy(function)(*args)
    expected = list(OUT)
    OUT.clear()
    run_in_tasklet(function, *args)
    assert OUT == expected


@stackless
def deepen(n):
    if n == 0:
        return 0
    return deepen(n - 1) + 1


@stackless
def del_after_unwinding(n):
    x = n
    depth = deepen(n)
    del x
    return depth, "x" in locals()


@stackless
def frame_after_unwinding(n):
    y = n * 2
    depth = deepen(n)
    return sorted(locals()), eval("y + depth")


@pytest.mark.usefixtures("deep_mode")
def test_after_a_depth_unwinding_del_and_locals_see_the_variables():
    with low_recursion_limit(30):
        assert del_after_unwinding(200) == (200, False)
        assert frame_after_unwinding(200) == (["depth", "n", "y"], 600)


@stackless
def pickled_midway(n):
    x = n
    y = n + 1
    sx.schedule()
    del x
    OUT.append((sorted(locals()), eval("y")))


def test_after_a_pickle_del_and_eval_see_the_variables():
    t = sx.tasklet(pickled_midway)(5)
    sx.schedule()
    copy = pickle.loads(pickle.dumps(t))
    t.kill()
    copy.insert()
    sx.run()
    assert OUT == [(["n", "y"], 6)]
