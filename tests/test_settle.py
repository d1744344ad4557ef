"""The parsed trees a transform keeps stay out of the cyclic garbage
collector's walks (stacklessxf/frontend/settle.py): a program that made one
function stackless does not pay for astroid's trees at every full
collection, and the collector still frees what it should."""

import gc
import weakref

import astroid
import pytest

from stacklessxf import stackless
from stacklessxf.frontend import settle
from tests.test_import_layers import run_fresh

built = pytest.mark.skipif(settle.untrack_reachable is None,
                           reason="the settle extension is not built")

# Tracked objects a first transform may leave behind: inference's caches and
# the transformed code's own, about 18,000 – 19,000 on each version where the
# package is installed in place, and up to 20,700 on 3.12 installed from a
# clean clone (the tree of ``builtins`` alone is some 170,000 when tracked,
# and the trees of a first transform left 148,000).
LEFT_BY_A_FIRST_TRANSFORM = 30_000


@built
def test_a_first_transform_leaves_few_objects_for_the_collector(tmp_path):
    counts = run_fresh("""
        import gc, json
        from stacklessxf import stackless
        gc.collect()
        before = len(gc.get_objects())

        @stackless
        def total(xs, i):
            if i == len(xs):
                return 0
            return xs[i] + total(xs, i + 1)

        gc.collect()
        print(json.dumps([before, len(gc.get_objects()), total(list(range(5)), 0)]))
    """, tmp_path)
    before, after, result = counts
    assert result == 10
    assert after - before <= LEFT_BY_A_FIRST_TRANSFORM, counts


def _transformed_one():
    @stackless
    def twice(x):
        return 2 * x
    return twice


@built
def test_the_trees_a_transform_read_are_untracked():
    _transformed_one()
    builtins_tree = astroid.MANAGER.astroid_cache["builtins"]
    assert not gc.is_tracked(builtins_tree)
    len_def = builtins_tree.locals["len"][0]
    assert not gc.is_tracked(len_def)
    assert not gc.is_tracked(builtins_tree.locals)
    assert not gc.is_tracked(builtins_tree.locals["len"])


@built
def test_a_live_object_a_tree_stands_for_stays_tracked():
    """An EmptyNode holds a value of the program's, not the tree's."""
    class Anything:
        pass

    value = [Anything()]
    node = astroid.nodes.EmptyNode()
    node.object = value
    holder = astroid.nodes.List()
    holder.elts = [node]
    assert settle.untrack_reachable(holder, astroid.nodes.NodeNG, astroid.nodes.EmptyNode) == 3
    assert not gc.is_tracked(node) and not gc.is_tracked(holder.elts)
    assert gc.is_tracked(value) and gc.is_tracked(value[0])


@built
def test_a_cycle_that_refers_to_a_settled_tree_is_still_collected():
    _transformed_one()
    builtins_tree = astroid.MANAGER.astroid_cache["builtins"]

    class Garbage:
        pass

    cycle = Garbage()
    cycle.me = cycle
    cycle.tree = builtins_tree
    alive = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert alive() is None


@built
def test_untrack_reachable_checks_its_arguments():
    with pytest.raises(TypeError):
        settle.untrack_reachable([], "NodeNG", astroid.nodes.EmptyNode)
    assert settle.untrack_reachable(5, astroid.nodes.NodeNG, astroid.nodes.EmptyNode) == 0


def test_astroid_keeps_the_first_tree_cached_under_a_name():
    """What settling every cached tree relies on: a cached tree is never
    replaced, so none of them becomes garbage the collector should find."""
    first = astroid.parse("x = 1", module_name="sx_settle_probe")
    astroid.parse("x = 2", module_name="sx_settle_probe")
    assert astroid.MANAGER.astroid_cache["sx_settle_probe"] is first
