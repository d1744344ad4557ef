"""Recursion and mutual recursion, with state and handlers around the
recursive calls.

DEEP_CASES go past the interpreter's default recursion limit; plain Python
cannot run them, so they run transformed only and are checked against a
known formula: (name, args, kwargs, expected)."""

from stacklessxf import stackless

LOG = []


@stackless
def fact(n):
    if n <= 1:
        return 1
    return n * fact(n - 1)


@stackless
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@stackless
def is_even_r(n):
    if n == 0:
        return True
    return is_odd_r(n - 1)


@stackless
def is_odd_r(n):
    if n == 0:
        return False
    return is_even_r(n - 1)


@stackless
def ackermann(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


@stackless
def hanoi(n, src, dst, via):
    if n == 0:
        return 0
    moves = hanoi(n - 1, src, via, dst)
    LOG.append((n, src, dst))
    return moves + 1 + hanoi(n - 1, via, dst, src)


@stackless
def tree_sum(tree):
    if isinstance(tree, int):
        return tree
    total = 0
    for child in tree:
        total += tree_sum(child)
    return total


@stackless
def flatten(tree, out):
    if isinstance(tree, list):
        for child in tree:
            flatten(child, out)
    else:
        out.append(tree)
    return out


@stackless
def depth(n):
    if n == 0:
        return 0
    return 1 + depth(n - 1)


@stackless
def sum_to(n, acc=0):
    if n == 0:
        return acc
    return sum_to(n - 1, acc + n)


@stackless
def finally_on_each_level(n):
    if n == 0:
        raise ValueError("bottom")
    try:
        return finally_on_each_level(n - 1)
    finally:
        LOG.append(n)


@stackless
def catch_at_level(n, level):
    if n == 0:
        raise ValueError("bottom")
    try:
        return catch_at_level(n - 1, level) + 1
    except ValueError:
        if n == level:
            return -n
        raise


@stackless
def permutations(items):
    if len(items) <= 1:
        return [list(items)]
    out = []
    for i in range(len(items)):
        rest = items[:i] + items[i + 1:]
        for p in permutations(rest):
            out.append([items[i]] + p)
    return out


@stackless
def memo_fib(n, memo):
    if n in memo:
        return memo[n]
    r = n if n < 2 else memo_fib(n - 1, memo) + memo_fib(n - 2, memo)
    memo[n] = r
    return r


@stackless
def collatz_steps(n):
    if n == 1:
        return 0
    if n % 2 == 0:
        return 1 + collatz_steps(n // 2)
    return 1 + collatz_steps(3 * n + 1)


@stackless
def count_down_log(n):
    LOG.append(("down", n))
    if n > 0:
        count_down_log(n - 1)
    LOG.append(("up", n))
    return n


@stackless
def binary_search(xs, target, lo, hi):
    if lo >= hi:
        return -1
    mid = (lo + hi) // 2
    if xs[mid] == target:
        return mid
    if xs[mid] < target:
        return binary_search(xs, target, mid + 1, hi)
    return binary_search(xs, target, lo, mid)


@stackless
def merge_sort(xs):
    if len(xs) <= 1:
        return xs
    mid = len(xs) // 2
    left = merge_sort(xs[:mid])
    right = merge_sort(xs[mid:])
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


@stackless
def chain_depth(n):
    """Builds a linked chain with a plain loop, then measures it recursively."""
    node = None
    for i in range(n):
        node = (i, node)
    return chain_length(node)


@stackless
def chain_length(node):
    if node is None:
        return 0
    return chain_length(node[1]) + 1


CASES = [
    ("fact", (10,), {}),
    ("fact", (0,), {}),
    ("fib", (15,), {}),
    ("is_even_r", (10,), {}),
    ("is_odd_r", (7,), {}),
    ("ackermann", (2, 3), {}),
    ("hanoi", (4, "a", "c", "b"), {}),
    ("tree_sum", ([1, [2, 3, [4, [5]]], 6],), {}),
    ("flatten", ([1, [2, [3, [4]], 5]], []), {}),
    ("depth", (50,), {}),
    ("sum_to", (100,), {}),
    ("finally_on_each_level", (5,), {}),
    ("catch_at_level", (6, 3), {}),
    ("catch_at_level", (6, 10), {}),
    ("permutations", ([1, 2, 3, 4],), {}),
    ("memo_fib", (60, {}), {}),
    ("collatz_steps", (27,), {}),
    ("count_down_log", (5,), {}),
    ("binary_search", ([1, 3, 5, 7, 9, 11], 9, 0, 6), {}),
    ("binary_search", ([1, 3, 5, 7, 9, 11], 4, 0, 6), {}),
    ("merge_sort", ([5, 2, 9, 1, 5, 6, 0, 3],), {}),
    ("chain_depth", (200,), {}),
]

DEEP_CASES = [
    ("depth", (3000,), {}, 3000),
    ("sum_to", (3000,), {}, 3000 * 3001 // 2),
    ("is_even_r", (3001,), {}, False),
    ("catch_at_level", (3000, 1000), {}, 3000 - 2 * 1000),
    ("chain_depth", (2500,), {}, 2500),
]
