"""``import stackless`` gives stacklessxf's Stackless-compatible module,
stacklessxf.compat (see docs/stackless.md)."""

import sys

from stacklessxf import compat

sys.modules[__name__] = compat
