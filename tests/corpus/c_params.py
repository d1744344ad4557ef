"""Every parameter kind: defaults, keyword-only, positional-only, *args and
**kwargs, on stackless functions called from the harness and from each
other; argument errors must read the same."""

from stacklessxf import stackless

LOG = []


@stackless
def echo(x):
    LOG.append(("echo", x))
    return x


@stackless
def defaults(a, b=2, c=None):
    if c is None:
        c = []
    c.append(echo(a + b))
    return c


@stackless
def kwonly(a, *, scale=1, offset=0):
    return echo(a) * scale + offset


@stackless
def kwonly_required(a, *, key):
    return (echo(a), key)


@stackless
def varargs(*args):
    total = 0
    for a in args:
        total += echo(a)
    return total, args


@stackless
def varkw(**kw):
    out = []
    for k in sorted(kw):
        out.append((k, echo(kw[k])))
    return out, kw


@stackless
def all_kinds(a, b=1, *args, c, d=4, **kw):
    e = echo(len(args) + len(kw))
    return [a, b, args, c, d, kw], e


@stackless
def positional_only(a, b, /, c=3):
    return echo(a) - echo(b) + c


@stackless
def forwarding(*args, **kwargs):
    r = all_kinds(*args, **kwargs)
    LOG.append("forwarded")
    return r


@stackless
def keyword_arguments_from_calls(x):
    return kwonly(x, offset=echo(1), scale=echo(3))


@stackless
def append_default(x, acc=[]):
    acc.append(echo(x))
    return acc


@stackless
def shared_mutable_default(x):
    first = append_default(x)
    second = append_default(x + 1)
    contents = list(second)
    second.clear()
    return first is second, contents


@stackless
def defaults_not_shared_when_given(x):
    mine = []
    r = append_default(x, mine)
    return r is mine, mine


@stackless
def bad_call_caught(x):
    try:
        kwonly(x, x)
    except TypeError as e:
        return "TypeError", str(e)
    return "no error"


@stackless
def missing_argument_caught():
    try:
        kwonly_required(1)
    except TypeError as e:
        return str(e)
    return "no error"


@stackless
def star_args_built_from_calls(n):
    parts = []
    for i in range(n):
        parts.append(echo(i))
    return varargs(*parts, echo(100))


@stackless
def kwargs_dict_mutation_is_local(**kw):
    kw["added"] = echo(1)
    return kw


@stackless
def call_with_dict_unpacking(x):
    opts = {"scale": echo(2)}
    opts["offset"] = echo(x)
    return kwonly(x, **opts)


@stackless
def default_evaluated_once(n, seen=()):
    seen = seen + (echo(n),)
    if n > 0:
        return default_evaluated_once(n - 1, seen)
    return seen


CASES = [
    ("defaults", (1,), {}),
    ("defaults", (1, 5), {}),
    ("defaults", (1,), {"c": [9]}),
    ("defaults", (), {"a": 3, "b": 4}),
    ("kwonly", (3,), {"scale": 2}),
    ("kwonly", (3,), {"offset": 7, "scale": 5}),
    ("kwonly", (3, 4), {}),
    ("kwonly", (), {}),
    ("kwonly", (1,), {"bogus": 1}),
    ("kwonly_required", (1,), {"key": "k"}),
    ("kwonly_required", (1,), {}),
    ("varargs", (), {}),
    ("varargs", (1, 2, 3), {}),
    ("varkw", (), {"b": 2, "a": 1}),
    ("all_kinds", (1,), {"c": 3}),
    ("all_kinds", (1, 2, 3, 4), {"c": 5, "z": 6}),
    ("all_kinds", (1, 2), {}),
    ("positional_only", (10, 4), {}),
    ("positional_only", (10, 4), {"c": 0}),
    ("positional_only", (10,), {"b": 4}),
    ("forwarding", (1, 2, 3), {"c": 4, "d": 5, "e": 6}),
    ("forwarding", (), {"c": 4}),
    ("keyword_arguments_from_calls", (5,), {}),
    ("shared_mutable_default", (1,), {}),
    ("defaults_not_shared_when_given", (2,), {}),
    ("bad_call_caught", (1,), {}),
    ("missing_argument_caught", (), {}),
    ("star_args_built_from_calls", (3,), {}),
    ("kwargs_dict_mutation_is_local", (), {"x": 1}),
    ("call_with_dict_unpacking", (4,), {}),
    ("default_evaluated_once", (3,), {}),
]
