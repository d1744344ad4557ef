"""Unlimited recursion wherever the recursion limit is met.

Each recursion below is far deeper than the limit, and each step does
something that itself needs a few levels of stack: a plain helper (or a
chain of them), a property, an operator method, an ABC check, a tuple or
string comparison (C-level recursion checks count against the same limit),
a trace or profile function, the watchdog's tick.  As frames, stackless
frames do not count against the limit; as records, the depth check keeps
them in the lower part of it: either way all of these find room.
"""

import cProfile
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import stacklessxf as sx
from stacklessxf.runtime import depth
from tests import headroom_cases as cases

pytestmark = [
    pytest.mark.skipif(
        depth.REFUSED is None, reason="the depth check is a C extension, not built here"),
    pytest.mark.usefixtures("default_recursion_limit"),
]

DEEP = 20_000
ROOT = Path(__file__).resolve().parent.parent


CASES = {
    "plain helper calling a plain function": (lambda: cases.through_helper(DEEP), DEEP),
    "chain of 300 plain calls": (lambda: cases.through_helper_chain(DEEP // 10, 300), DEEP // 10),
    "property": (lambda: cases.through_property(DEEP, cases.Box(1)), DEEP),
    "operator method": (lambda: cases.through_operator(DEEP, cases.Box(0))._value, DEEP),
    "isinstance with an ABC": (lambda: cases.through_abc(DEEP, [1]), DEEP),
    "tuple comparison": (lambda: cases.through_tuple_compare(DEEP), DEEP),
    "string comparison": (lambda: cases.through_string_compare(DEEP, "x"), DEEP),
}


@pytest.mark.usefixtures("deep_mode")
@pytest.mark.parametrize("run,expected", CASES.values(), ids=CASES.keys())
def test_limit_met_beyond_a_stackless_call(run, expected):
    assert run() == expected


@pytest.mark.usefixtures("deep_mode")
def test_what_stackless_code_calls_keeps_half_the_limit():
    seen = []

    def spy(x):
        seen.append(depth.levels_left())
        return x + 1

    cases.inner, real = spy, cases.inner
    try:
        assert cases.through_helper(3000) == 3000
    finally:
        cases.inner = real
    assert min(seen) >= sys.getrecursionlimit() // 2


def _traced(run, install, remove):
    install()
    try:
        return run()
    finally:
        remove()


@pytest.mark.usefixtures("deep_mode")
def test_under_settrace():
    events = []

    def tracer(frame, event, arg):
        events.append(event)
        return None

    got = _traced(lambda: cases.through_helper(5000), lambda: sys.settrace(tracer),
                  lambda: sys.settrace(None))
    assert got == 5000 and events.count("call") > 5000


@pytest.mark.usefixtures("deep_mode")
def test_under_setprofile():
    calls = [0]

    def profiler(frame, event, arg):
        if event == "call":
            calls[0] += 1

    got = _traced(lambda: cases.through_helper(5000), lambda: sys.setprofile(profiler),
                  lambda: sys.setprofile(None))
    assert got == 5000 and calls[0] > 5000


@pytest.mark.usefixtures("deep_mode")
def test_under_cprofile():
    profile = cProfile.Profile()
    got = _traced(lambda: cases.through_helper(5000), profile.enable, profile.disable)
    assert got == 5000
    stats = {key[2]: value for key, value in profile.getstats_by_name().items()} \
        if hasattr(profile, "getstats_by_name") else None
    assert stats is None or stats


@pytest.mark.usefixtures("deep_mode")
def test_under_coverage():
    coverage = pytest.importorskip("coverage")
    cov = coverage.Coverage(data_file=None, include=[cases.__file__])
    got = _traced(lambda: cases.through_helper(5000), cov.start, cov.stop)
    assert got == 5000
    _, statements, _, missing, _ = cov.analysis2(cases.__file__)
    assert 38 not in missing  # through_helper's recursive line ran


@pytest.mark.usefixtures("deep_mode")
def test_deep_switching_tasklets(scheduler_loop):
    out = []
    sx.tasklet(cases.record_result)(out, cases.through_helper, DEEP)
    sx.tasklet(cases.record_result)(out, cases.switching_deep, DEEP)
    sx.run()
    assert sorted(out) == [DEEP, DEEP]


@pytest.mark.usefixtures("deep_mode")
def test_deep_tasklet_under_the_watchdog():
    out = []
    t = sx.tasklet(cases.record_result)(out, cases.busy_deep, 3000)
    while (interrupted := sx.run(500)) is not None:
        interrupted.insert()
    assert not t.alive and out == [sum(range(2000))]


def test_switch_under_a_plain_caller_names_it(scheduler_loop):
    """A deep recursion called by a plain function in a tasklet runs from a
    trampoline of that plain call; a switch there has the plain frame in
    its way."""
    errors = []

    def plain_caller():
        try:
            cases.switching_deep(DEEP)
        except sx.SwitchError as exc:
            errors.append(str(exc))

    sx.tasklet(plain_caller)()
    sx.run()
    assert len(errors) == 1 and "plain_caller" in errors[0]


@pytest.mark.usefixtures("deep_mode")
def test_deep_plain_caller_still_gets_its_result():
    """Stackless code called by plain code that is already more than half
    the limit deep: an unwinding gains little there, so calls are not
    refused for it, and the results stay right."""

    def plain(k):
        if k == 0:
            return cases.through_helper(2000)
        return plain(k - 1)

    assert plain(700) == 2000


def test_recursion_through_a_plain_frame_at_every_level_fails_as_plain_python():
    """Each plain frame stops an unwinding; the limit is then met as it is
    in plain Python, in the user's code."""
    with pytest.raises(RecursionError) as info:
        cases.through_plain_every_level(DEEP)
    innermost = traceback.extract_tb(info.value.__traceback__)[-1]
    assert innermost.filename == cases.__file__
    assert innermost.name in ("through_plain_every_level", "plain_step")


@pytest.mark.usefixtures("deep_mode")
def test_callee_called_from_c_is_not_refused():
    """sorted() calls its key from C: refusing that frame would lose the
    sort's work, so only direct calls are refused."""
    assert cases.sorting_deep(DEEP) == 3 * DEEP


CALL_SHAPES = {
    "exact arguments": (cases.with_default, lambda: cases.with_default(DEEP)),
    "defaults": (cases.with_default, lambda: cases.with_default(DEEP, 1)),
    "method": (cases.Walker.down, lambda: cases.Walker().down(DEEP)),
    "keyword": (cases.with_keyword, lambda: cases.with_keyword(DEEP)),
}


@pytest.mark.usefixtures("deep_records")
@pytest.mark.parametrize("function,run", CALL_SHAPES.values(), ids=CALL_SHAPES.keys())
def test_refused_calls_keep_reference_counts(function, run):
    """CPython's call instructions do not expect a frame to be refused; the
    depth check evens the counts out for each way a call makes its frame."""
    run()
    before, refusals = sys.getrefcount(function), depth.refusal_count()
    assert run() == DEEP
    assert depth.refusal_count() > refusals
    assert sys.getrefcount(function) == before


def test_a_real_memory_error_is_not_taken_for_a_refusal():
    assert cases.huge_allocation_then_recurse(DEEP) == "memory error seen"


FINALIZERS_IN_A_DEEP_RECURSION = """
import gc, sys
from tests import headroom_cases as cases
lost = []
sys.unraisablehook = lost.append
gc.set_threshold(20, 5, 5)
sys.setrecursionlimit(400)
print(cases.littering(20000), len(lost))
"""


CALLBACKS_IN_A_DEEP_RECURSION = """
import gc, sys
from tests import headroom_cases as cases
calls, lost = [], []
# Ahead of every other callback, the runtime's own included.
gc.callbacks.insert(0, lambda phase, info: calls.append(phase))
sys.unraisablehook = lost.append
gc.set_threshold(20, 5, 5)
sys.setrecursionlimit(400)
print(cases.littering(20000), len(lost), len(calls) > 100)
"""


@pytest.mark.parametrize("script", [FINALIZERS_IN_A_DEEP_RECURSION, CALLBACKS_IN_A_DEEP_RECURSION],
                         ids=["finalizers", "callbacks"])
def test_what_the_collector_runs_in_a_deep_recursion_is_not_refused(script):
    """The collector runs finalizers and its callbacks from wherever an
    allocation triggered it, perhaps a call the depth check would refuse:
    theirs go through (in a fresh process, where the stack's height is
    known)."""
    done = subprocess.run([sys.executable, "-c", script],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["20000", "0"]
    assert done.stdout.split()[2:] in ([], ["True"])
