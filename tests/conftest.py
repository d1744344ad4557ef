"""Fixtures shared by the test modules."""

import pytest

from stacklessxf.runtime import native_loop, trampoline


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
