"""The parsed trees the transform keeps, out of the cyclic collector's sight.

astroid's trees (of the modules the transform parsed, and of the modules
inference read: builtins alone is some 170,000 objects) are kept for the
life of the process, and every full collection of the garbage collector
would walk all of them again: about 0.3 s each, in any program that made a
single function stackless.  After each transform, the trees of the modules
parsed or read since the last one are untracked (see ``_settle.c``): the
collector no longer walks them, and they are freed by their reference
counts alone, as a tree kept for good is.
Without the C extension the trees stay tracked.
"""

import astroid
from astroid import nodes

from .source import parsed_trees

try:
    from _stacklessxf_settle import untrack_reachable
except ImportError:  # pragma: no cover - the C extension is optional
    untrack_reachable = None

# The roots settled so far, by identity (they are kept for good anyway).
_settled = {}


def settle():
    """Untrack the trees parsed and cached since the last call; returns how
    many objects were untracked."""
    if untrack_reachable is None:
        return 0
    count = 0
    # astroid keeps the first tree cached under each module name and never
    # replaces it (the ones it parses from strings of its own too, under ""),
    # so every cached tree is kept for good.
    for root in [*parsed_trees(), *astroid.MANAGER.astroid_cache.values()]:
        if id(root) not in _settled:
            _settled[id(root)] = root
            # EmptyNode stands for a live object astroid could not describe:
            # that object is the program's, not the tree's.
            count += untrack_reachable(root, nodes.NodeNG, nodes.EmptyNode)
    return count
