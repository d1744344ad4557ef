"""Fixtures shared by the test modules."""

import pytest

from stacklessxf.runtime import native_loop


@pytest.fixture(params=["C loop", "Python loop"])
def scheduler_loop(request, monkeypatch):
    """Runs a test under each of the scheduler's loops: the C one (where the
    extension is built) and the Python one; the value names the loop."""
    if request.param == "C loop":
        if native_loop._switch is None:
            pytest.skip("the C extension _stacklessxf_switch is not built")
        monkeypatch.setattr(native_loop, "available", True)
    else:
        monkeypatch.setattr(native_loop, "available", False)
    return request.param
