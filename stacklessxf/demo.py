"""Recursion a million levels deep, written as plain recursion.

Run it with ``python -m stacklessxf demo``.
"""

import sys
import time

from stacklessxf import explain, stackless

TREE_DEPTH = 1_000_000


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right


def degenerate_tree(depth):
    """A binary tree that is one long left spine of DEPTH nodes, built in a loop."""
    root = None
    for _ in range(depth):
        root = Node(root, None)
    return root


@stackless
def depth(node):
    if node is None:
        return 0
    return 1 + max(depth(node.left), depth(node.right))


def plain_depth(node):
    if node is None:
        return 0
    return 1 + max(plain_depth(node.left), plain_depth(node.right))


def main():
    limit = sys.getrecursionlimit()
    print(
        f"A binary tree {TREE_DEPTH:,} levels deep, measured by a recursive function.\n"
        f"Plain Python stops with RecursionError at about {limit:,} levels "
        f"(the interpreter's recursion limit);\n"
        f"the @stackless version of the same function is not bounded by that limit."
    )
    print()

    tree = degenerate_tree(TREE_DEPTH)

    try:
        plain_depth(tree)
    except RecursionError as exc:
        print(f"plain depth(tree):     RecursionError: {exc}")
    else:
        print("plain depth(tree):     finished (the recursion limit is set high here)")

    start = time.perf_counter()
    result = depth(tree)
    elapsed = time.perf_counter() - start
    print(f"stackless depth(tree): {result:,} in {elapsed:.2f} s")
    print()

    print("What the transform made of depth() (stacklessxf.explain):")
    print()
    print(explain(depth))
