"""Helpers for tests that want to see unwinding happen on small inputs."""

import contextlib
import sys


def current_depth():
    """Number of Python frames on the calling thread's stack."""
    depth = 0
    frame = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


@contextlib.contextmanager
def low_recursion_limit(headroom=30):
    """Lower the interpreter's recursion limit to `headroom` frames above the
    caller, so that stackless code inside the block unwinds and resumes often.
    """
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(current_depth() + headroom)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
