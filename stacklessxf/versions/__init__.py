"""Everything that depends on the CPython version, for the runtime and the
transform alike (see ``base`` for what a version module provides).

``current`` describes the running interpreter.  This package is the only
place that looks at ``sys.version_info``.
"""

import importlib
import sys

TAG = f"py{sys.version_info[0]}{sys.version_info[1]}"

try:
    current = importlib.import_module(f"{__name__}.{TAG}").VERSION
except ModuleNotFoundError as missing:  # pragma: no cover - depends on the interpreter
    if missing.name != f"{__name__}.{TAG}":
        raise
    raise ImportError(
        f"stacklessxf does not support {sys.implementation.name} "
        f"{sys.version_info[0]}.{sys.version_info[1]}") from None
