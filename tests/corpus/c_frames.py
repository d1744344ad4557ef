"""Code that sees its own frame after a call: ``del`` of a variable bound
before the call, and locals(), vars(), dir(), eval() and exec() reading
variables the code never names after the call."""

from stacklessxf import stackless

LOG = []


@stackless
def down(n):
    if n <= 0:
        return 0
    return down(n - 1) + 1


@stackless
def del_after_call(n):
    x = [n]
    depth = down(n)
    del x
    LOG.append(sorted(locals()))
    return depth


@stackless
def del_in_both_branches(n, flag):
    kept = n * 3
    depth = down(n)
    if flag:
        del kept
        return depth, "kept" in locals()
    del depth
    return kept, "depth" in locals()


@stackless
def del_unbound_after_call(n):
    if n < 0:
        never = 1
    down(n)
    try:
        del never
    except UnboundLocalError as exc:
        LOG.append(type(exc).__name__)
    return n


@stackless
def locals_after_call(a, *rest, key="k"):
    y = a + 1
    hidden = [a, y]
    depth = down(a)
    return sorted(locals().items()), depth


@stackless
def eval_after_call(n):
    y = n * 2
    depth = down(n)
    return eval("y + depth + n")


@stackless
def exec_after_call(n):
    y = n + 1
    down(n)
    exec("LOG.append(('exec', y, n))")
    return sorted(vars())


@stackless
def dir_after_nested_calls(n):
    first = n
    second = down(down(n))
    return dir(), second


@stackless
def locals_in_a_loop(n):
    seen = []
    for i in range(3):
        total = down(n + i)
        seen.append(sorted(locals()))
    return seen


CASES = [
    ("del_after_call", (60,), {}),
    ("del_in_both_branches", (50, True), {}),
    ("del_in_both_branches", (50, False), {}),
    ("del_unbound_after_call", (40,), {}),
    ("locals_after_call", (45, 1, 2), {"key": "z"}),
    ("eval_after_call", (70,), {}),
    ("exec_after_call", (55,), {}),
    ("dir_after_nested_calls", (35,), {}),
    ("locals_in_a_loop", (30,), {}),
]
