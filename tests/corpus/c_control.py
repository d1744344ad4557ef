"""Branches, boolean operators, conditional expressions and chained
comparisons with stackless calls in every position."""

from stacklessxf import stackless

LOG = []


@stackless
def ident(x):
    LOG.append(("ident", x))
    return x


@stackless
def double(x):
    LOG.append(("double", x))
    return 2 * x


@stackless
def is_even(n):
    LOG.append(("is_even", n))
    return n % 2 == 0


@stackless
def classify(n):
    if n < 0:
        kind = "negative"
        size = double(-n)
    elif n == 0:
        kind = "zero"
        size = 0
    elif n < 10:
        kind = "small"
        size = double(n)
    else:
        kind = "large"
        size = ident(n) + double(n)
    LOG.append((kind, size))
    return kind, size


@stackless
def nested_branches(a, b):
    if ident(a) > b:
        if is_even(a):
            r = double(a) - b
        else:
            r = a - double(b)
    else:
        if is_even(b) and is_even(a):
            r = double(a + b)
        elif is_even(b) or ident(a) > 3:
            r = -ident(b)
        else:
            r = 0
    return r


@stackless
def short_circuit_and(a, b):
    # The right operand runs only when the left one is true.
    r = ident(a) and double(b)
    LOG.append(("and", r))
    return r


@stackless
def short_circuit_or(a, b):
    return ident(a) or double(b) or "none"


@stackless
def not_and_mix(a, b, c):
    return not ident(a) or (ident(b) and not ident(c))


@stackless
def conditional_expr(n):
    v = double(n) if is_even(n) else ident(n) - 1
    w = (ident(v) if v > 5 else double(v)) + (1 if n else ident(100))
    return v, w


@stackless
def chained_compare(a, b, c):
    # The middle operand is evaluated once, the last one only if the first
    # comparison holds.
    return ident(a) < double(b) <= ident(c)


@stackless
def chained_in_if(x):
    if 0 <= ident(x) < 10 != double(x):
        return "digit"
    elif -10 < x < 0:
        return "negative digit"
    return "other"


@stackless
def truthiness(values):
    out = []
    for v in values:
        if ident(v):
            out.append("T")
        else:
            out.append("F")
    return "".join(out)


@stackless
def early_returns(n):
    if n == 0:
        return ident("zero")
    if is_even(n):
        if n > 100:
            return double(n)
        return ident(n) // 2
    LOG.append("fell through")


@stackless
def if_without_else(n):
    r = [n]
    if is_even(n):
        r.append(double(n))
    if n > 3:
        r.append(ident(-n))
    if not r:
        r.append("never")
    return r


@stackless
def boolean_value_kept(a, b):
    # The left operand's value is what `or` returns when it is true; it is
    # computed before the call in the right operand.
    first = a or ident(b)
    second = ident(a) and ident(b) or double(b)
    return first, second


CASES = [
    ("classify", (-4,), {}),
    ("classify", (0,), {}),
    ("classify", (7,), {}),
    ("classify", (42,), {}),
    ("nested_branches", (6, 2), {}),
    ("nested_branches", (5, 2), {}),
    ("nested_branches", (2, 4), {}),
    ("nested_branches", (5, 8), {}),
    ("nested_branches", (1, 7), {}),
    ("short_circuit_and", (0, 5), {}),
    ("short_circuit_and", (3, 5), {}),
    ("short_circuit_and", ("", "x"), {}),
    ("short_circuit_or", (0, 0), {}),
    ("short_circuit_or", (0, 4), {}),
    ("short_circuit_or", ([1], 4), {}),
    ("not_and_mix", (1, 1, 0), {}),
    ("not_and_mix", (0, 1, 1), {}),
    ("not_and_mix", (1, 0, 1), {}),
    ("conditional_expr", (4,), {}),
    ("conditional_expr", (1,), {}),
    ("conditional_expr", (0,), {}),
    ("chained_compare", (1, 2, 5), {}),
    ("chained_compare", (9, 2, 5), {}),
    ("chained_compare", (1, 3, 5), {}),
    ("chained_in_if", (3,), {}),
    ("chained_in_if", (12,), {}),
    ("chained_in_if", (-3,), {}),
    ("truthiness", ([0, 1, "", "a", None, [], [0]],), {}),
    ("early_returns", (0,), {}),
    ("early_returns", (102,), {}),
    ("early_returns", (8,), {}),
    ("early_returns", (7,), {}),
    ("if_without_else", (2,), {}),
    ("if_without_else", (5,), {}),
    ("if_without_else", (8,), {}),
    ("boolean_value_kept", (0, 3), {}),
    ("boolean_value_kept", (2, 0), {}),
    ("boolean_value_kept", (2, 5), {}),
]
