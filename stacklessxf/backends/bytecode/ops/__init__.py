"""The bytecode backend's instruction facts and sequences, one module per
CPython version (``base`` holds what they share); ``current`` is the
running interpreter's, an instance of its module's ``Ops``."""

import importlib

from ....versions import TAG

try:
    current = importlib.import_module(f"{__name__}.{TAG}").OPS
except ModuleNotFoundError as missing:  # pragma: no cover - depends on the interpreter
    if missing.name != f"{__name__}.{TAG}":
        raise
    raise ImportError(f"the bytecode backend has no instruction module for {TAG}") from None
