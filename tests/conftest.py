"""Fixtures shared by the test modules."""

import sys

import pytest

import stacklessxf as sx
from stacklessxf.runtime import depth, native_loop, trampoline


@pytest.fixture(params=["C loop", "Python loop"])
def scheduler_loop(request, monkeypatch):
    """Runs a test under each of the scheduler's loops: the C one (where the
    extension is built) and the Python one; the value names the loop.  The
    loop that resumes the records of frames a plain caller waits for follows."""
    if request.param == "C loop":
        if native_loop._switch is None:
            pytest.skip("the C extension _stacklessxf_switch is not built")
        monkeypatch.setattr(native_loop, "available", True)
        monkeypatch.setattr(trampoline, "C_PLAIN_CALLER_LOOP", native_loop.resume_for_plain_caller)
    else:
        monkeypatch.setattr(native_loop, "available", False)
        monkeypatch.setattr(trampoline, "C_PLAIN_CALLER_LOOP", None)
    return request.param


@pytest.fixture
def deep_records():
    """Deep stackless recursion unwound into records, as without the C
    extension's frames mode: for tests of the records, the unwinding and
    the trampoline."""
    before = sx.deep_recursion("records")
    yield
    sx.deep_recursion(before)


@pytest.fixture(params=["frames", "records"])
def deep_mode(request):
    """Each deep_recursion() mode in turn (frames only where the C
    extension is built)."""
    if request.param == "frames" and depth.REFUSED is None:
        pytest.skip("deep recursion as frames needs the C extension")
    before = sx.deep_recursion(request.param)
    yield request.param
    sx.deep_recursion(before)


@pytest.fixture
def default_recursion_limit():
    """The interpreter's default recursion limit, whatever the test run set."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)
