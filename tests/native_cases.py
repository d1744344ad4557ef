"""Typed functions for the native backend: arithmetic and control flow.

A module for ``tests/differential.py``: it is loaded once plain and once with
``backend="native"``, and every case of ``CASES`` must give the same outcome.
Native functions cannot touch lists, so ``LOG`` stays empty.

Every case returns normally in plain Python. Errors (overflow, division by
zero, bad argument types) are tested in ``test_native_semantics.py``, which
also calls functions of this module with arguments that overflow int64.
Functions stay inside the typed subset: no strings (not even docstrings), no
containers, one type per variable, no variable that may be unbound.
"""

from stacklessxf import stackless

LOG = []

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
NAN = float("nan")
INF = float("inf")


# -- int arithmetic ------------------------------------------------------------


@stackless(backend="native")
def int_add(a: int, b: int) -> int:
    c = a + b
    return c


@stackless(backend="native")
def int_sub(a: int, b: int) -> int:
    c = a - b
    return c


@stackless(backend="native")
def int_mul(a: int, b: int) -> int:
    c = a * b
    return c


@stackless(backend="native")
def int_floordiv(a: int, b: int) -> int:
    c = a // b
    return c


@stackless(backend="native")
def int_mod(a: int, b: int) -> int:
    c = a % b
    return c


@stackless(backend="native")
def int_pow(a: int, b: int) -> int:
    c = a ** b
    return c


@stackless(backend="native")
def int_truediv(a: int, b: int) -> float:
    c = a / b
    return c


@stackless(backend="native")
def int_neg(a: int) -> int:
    c = -a
    return c


@stackless(backend="native")
def int_pos(a: int) -> int:
    c = +a
    return c


@stackless(backend="native")
def int_abs(a: int) -> int:
    c = abs(a)
    return c


@stackless(backend="native")
def int_expr(a: int, b: int, c: int) -> int:
    return (a + b) * c - a // (abs(c) + 1) + b % 7 - (-a) ** 2


@stackless(backend="native")
def triple_loop(n: int) -> int:
    x = 1
    for _ in range(n):
        x *= 3
    return x


@stackless(backend="native")
def aug_int(a: int, b: int) -> int:
    x = a
    x += b
    x -= 3
    x *= 7
    x //= 2
    x %= 1000
    x **= 2
    return x


# -- float arithmetic ----------------------------------------------------------


@stackless(backend="native")
def float_add(x: float, y: float) -> float:
    return x + y


@stackless(backend="native")
def float_sub(x: float, y: float) -> float:
    return x - y


@stackless(backend="native")
def float_mul(x: float, y: float) -> float:
    return x * y


@stackless(backend="native")
def float_div(x: float, y: float) -> float:
    return x / y


@stackless(backend="native")
def float_floordiv(x: float, y: float) -> float:
    return x // y


@stackless(backend="native")
def float_mod(x: float, y: float) -> float:
    return x % y


@stackless(backend="native")
def float_pow(x: float, y: float) -> float:
    return x ** y


@stackless(backend="native")
def float_neg(x: float) -> float:
    return -x


@stackless(backend="native")
def float_pos(x: float) -> float:
    return +x


@stackless(backend="native")
def float_abs(x: float) -> float:
    return abs(x)


@stackless(backend="native")
def aug_float(x: float, y: float) -> float:
    z = x
    z += y
    z -= 0.25
    z *= 3.0
    z /= 2.0
    z //= 0.5
    z %= 7.0
    z **= 2.0
    return z


@stackless(backend="native")
def make_inf(x: float) -> float:
    return x * 1e308 * 10.0


@stackless(backend="native")
def make_nan(x: float) -> float:
    inf = x * 1e308 * 10.0
    return inf - inf


@stackless(backend="native")
def nan_code(x: float) -> int:
    big = x * 1e308
    inf = big * 10.0
    nan = inf - inf
    return (
        (nan == nan)
        + 2 * (nan != nan)
        + 4 * (nan < 1.0)
        + 8 * (nan >= nan)
        + 16 * (inf > big)
        + 32 * (-inf < -big)
    )


@stackless(backend="native")
def float_sum(n: int) -> float:
    total: float = 0.0
    for i in range(n):
        total += 0.1 * i
    return total


@stackless(backend="native")
def harmonic(n: int) -> float:
    s = 0.0
    for k in range(1, n + 1):
        s += 1 / k
    return s


@stackless(backend="native")
def newton_sqrt(x: float) -> float:
    g = x if x > 1.0 else 1.0
    for _ in range(30):
        g = (g + x / g) / 2.0
    return g


# -- mixed int and float ----------------------------------------------------------


@stackless(backend="native")
def mixed_add(a: int, x: float) -> float:
    return a + x


@stackless(backend="native")
def mixed_sub(x: float, a: int) -> float:
    return x - a


@stackless(backend="native")
def mixed_floordiv(a: int, x: float) -> float:
    return a // x


@stackless(backend="native")
def mixed_mod(x: float, a: int) -> float:
    return x % a


@stackless(backend="native")
def mixed_pow(x: float, n: int) -> float:
    return x ** n


@stackless(backend="native")
def int_float_pow(a: int, x: float) -> float:
    return a ** x


@stackless(backend="native")
def mixed_poly(a: int, x: float) -> float:
    return a * x + a - x / a


@stackless(backend="native")
def aug_mixed(x: float, n: int) -> float:
    x += n
    x *= n
    x /= n
    x -= n
    return x


# -- bool arithmetic -------------------------------------------------------------


@stackless(backend="native")
def bool_sum(p: bool, q: bool) -> int:
    return p + q


@stackless(backend="native")
def bool_ops(p: bool, q: bool) -> int:
    return (p + q) * 100 + (p - q) * 10 + p * q + (-p) + (+q) + p % 2 + q // 1 + p ** q


@stackless(backend="native")
def bool_half(p: bool) -> float:
    return p / 2


@stackless(backend="native")
def bool_and(p: bool, q: bool) -> bool:
    return p and q


@stackless(backend="native")
def bool_or(p: bool, q: bool) -> bool:
    return p or q


@stackless(backend="native")
def bool_not(p: bool) -> bool:
    return not p


@stackless(backend="native")
def bool_cmp(p: bool, q: bool) -> int:
    return (p == q) + 2 * (p < q) + 4 * (p >= q) + 8 * (p == 1) + 16 * (q < 0.5)


@stackless(backend="native")
def bool_max(p: bool, q: bool) -> bool:
    return max(p, q)


# -- comparisons -------------------------------------------------------------------


@stackless(backend="native")
def int_cmp_code(a: int, b: int) -> int:
    return (a < b) + 2 * (a <= b) + 4 * (a == b) + 8 * (a != b) + 16 * (a > b) + 32 * (a >= b)


@stackless(backend="native")
def float_cmp_code(x: float, y: float) -> int:
    return (x < y) + 2 * (x <= y) + 4 * (x == y) + 8 * (x != y) + 16 * (x > y) + 32 * (x >= y)


@stackless(backend="native")
def mixed_cmp_code(a: int, x: float) -> int:
    return (a < x) + 2 * (a <= x) + 4 * (a == x) + 8 * (a != x) + 16 * (a > x) + 32 * (a >= x)


@stackless(backend="native")
def mixed_cmp_code_rev(x: float, a: int) -> int:
    return (x < a) + 2 * (x <= a) + 4 * (x == a) + 8 * (x != a) + 16 * (x > a) + 32 * (x >= a)


@stackless(backend="native")
def int_eq_float(a: int, x: float) -> bool:
    return a == x


@stackless(backend="native")
def int_lt_float(a: int, x: float) -> bool:
    return a < x


@stackless(backend="native")
def chain_lt(a: int, b: int, c: int) -> bool:
    return a < b < c


@stackless(backend="native")
def chain_peak(a: int, b: int, c: int) -> bool:
    return a < b > c


@stackless(backend="native")
def chain_eq(a: int, b: int, c: int) -> bool:
    return a == b == c


@stackless(backend="native")
def chain_mixed(a: int, x: float, b: int, y: float) -> bool:
    return a <= x < b <= y


@stackless(backend="native")
def chain_in_if(a: int, b: int, c: int) -> int:
    if 0 <= a < b <= c != 10:
        return 1
    elif a > b >= c:
        return 2
    return 3


# -- and, or, not ------------------------------------------------------------------


@stackless(backend="native")
def int_and(a: int, b: int) -> int:
    return a and b


@stackless(backend="native")
def int_or(a: int, b: int) -> int:
    return a or b


@stackless(backend="native")
def float_and(x: float, y: float) -> float:
    return x and y


@stackless(backend="native")
def float_or(x: float, y: float) -> float:
    return x or y


@stackless(backend="native")
def int_not(a: int) -> bool:
    return not a


@stackless(backend="native")
def float_not(x: float) -> bool:
    return not x


@stackless(backend="native")
def logic(a: int, b: int) -> bool:
    return a > 0 and b > 0 or not a < b


@stackless(backend="native")
def short_circuit_and(a: int, b: int) -> bool:
    return b != 0 and a // b > 1


@stackless(backend="native")
def short_circuit_or(a: int, b: int) -> bool:
    return b == 0 or a % b == 0


@stackless(backend="native")
def truthiness(a: int, x: float) -> int:
    code = 0
    if a:
        code += 1
    if x:
        code += 2
    if not a:
        code += 4
    n = a
    while n:
        n -= 1 if n > 0 else -1
        code += 8
    return code


# -- conditional expressions --------------------------------------------------------


@stackless(backend="native")
def sign(a: int) -> int:
    return 1 if a > 0 else (-1 if a < 0 else 0)


@stackless(backend="native")
def safe_div(a: int, b: int) -> int:
    return a // b if b != 0 else 0


@stackless(backend="native")
def cond_float(x: float) -> float:
    return x if x >= 0.0 else -x


@stackless(backend="native")
def cond_call(n: int) -> int:
    return fib(n) if n < 15 else n


# -- abs, min, max ------------------------------------------------------------------


@stackless(backend="native")
def int_min2(a: int, b: int) -> int:
    return min(a, b)


@stackless(backend="native")
def int_min3(a: int, b: int, c: int) -> int:
    return min(a, b, c)


@stackless(backend="native")
def int_max3(a: int, b: int, c: int) -> int:
    return max(a, b, c)


@stackless(backend="native")
def float_min(x: float, y: float) -> float:
    return min(x, y)


@stackless(backend="native")
def float_max(x: float, y: float) -> float:
    return max(x, y)


@stackless(backend="native")
def float_max3(x: float, y: float, z: float) -> float:
    return max(x, y, z)


@stackless(backend="native")
def nested_minmax(a: int, b: int, c: int) -> int:
    return max(min(a, b), min(b, c), -abs(c))


# -- if / elif / else, pass ------------------------------------------------------------


@stackless(backend="native")
def classify(n: int) -> int:
    if n < 0:
        return -1
    elif n == 0:
        return 0
    elif n < 10:
        return 1
    elif n < 100:
        return 2
    else:
        return 3


@stackless(backend="native")
def grade(x: float) -> int:
    if x >= 90.0:
        g = 4
    elif x >= 75.5:
        g = 3
    elif x > 50:
        g = 2
    else:
        g = 0
    return g


@stackless(backend="native")
def with_pass(n: int) -> int:
    if n > 0:
        pass
    else:
        n = -n
    for _ in range(3):
        pass
    while n > 100:
        n -= 100
    return n


# -- while, break, continue -------------------------------------------------------------


@stackless(backend="native")
def collatz_steps(n: int) -> int:
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


@stackless(backend="native")
def loop_control(n: int) -> int:
    total = 0
    i = 0
    while True:
        i += 1
        if i > n:
            break
        if i % 3 == 0:
            continue
        total += i
        if total > 100:
            break
    return total * 1000 + i


@stackless(backend="native")
def nested_break(n: int) -> int:
    total = 0
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            if (i + j) % 3 == 0:
                continue
            total += i * j
        if total > 500:
            break
    return total


@stackless(backend="native")
def while_float(x: float) -> int:
    count = 0
    while x > 1.0:
        x /= 2.0
        count += 1
    return count


# -- for over range --------------------------------------------------------------------


@stackless(backend="native")
def range_hash1(n: int) -> int:
    h = 7
    for i in range(n):
        h = (h * 31 + i) % 1000003
    return h


@stackless(backend="native")
def range_hash2(a: int, b: int) -> int:
    h = 7
    for i in range(a, b):
        h = (h * 31 + i) % 1000003
    return h


@stackless(backend="native")
def range_hash3(a: int, b: int, s: int) -> int:
    h = 7
    for i in range(a, b, s):
        h = (h * 31 + i) % 1000003
    return h


@stackless(backend="native")
def range_count(a: int, b: int, s: int) -> int:
    count = 0
    for _ in range(a, b, s):
        count += 1
    return count


@stackless(backend="native")
def range_last(a: int, b: int, s: int) -> int:
    last = 0
    for i in range(a, b, s):
        last = i
    return last


@stackless(backend="native")
def countdown(n: int) -> int:
    h = 0
    for i in range(n, 0, -2):
        h = h * 10 + i % 10
    return h


@stackless(backend="native")
def range_exprs(n: int) -> int:
    total = 0
    for i in range(n * 2 - 1, -n, -(n // 2 + 1)):
        total = total * 3 + i
    return total


@stackless(backend="native")
def loop_var_after(n: int) -> int:
    i = -1
    for i in range(n):
        pass
    return i


@stackless(backend="native")
def loop_var_after_step(n: int) -> int:
    i = 100
    for i in range(n, -1, -3):
        pass
    return i


@stackless(backend="native")
def smallest_divisor(n: int) -> int:
    i = 0
    for i in range(2, 100):
        if n % i == 0:
            break
    return i


@stackless(backend="native")
def loop_var_reassigned(n: int) -> int:
    total = 0
    i = -1
    for i in range(n):
        total += i
        i = i * 100
    return total * 1000 + i


@stackless(backend="native")
def range_bound_once(n: int) -> int:
    count = 0
    for i in range(n):
        n -= 1
        count += 1
    return count * 100 + n


# -- tuple assignment ----------------------------------------------------------------------


@stackless(backend="native")
def fib_iter(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@stackless(backend="native")
def swap_order(a: int, b: int) -> int:
    a, b = b, a
    return a * 10 - b


@stackless(backend="native")
def mixed_tuple(n: int, x: float) -> float:
    n, x = n + 1, x * 2.0
    x, y = x + n, x - n
    return x * y


@stackless(backend="native")
def rotate3(a: int, b: int, c: int) -> int:
    for _ in range(4):
        a, b, c = b, c, a
    return a * 100 + b * 10 + c


# -- calls between native functions ----------------------------------------------------


@stackless(backend="native")
def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@stackless(backend="native")
def fact(n: int) -> int:
    if n <= 1:
        return 1
    return n * fact(n - 1)


@stackless(backend="native")
def is_even(n: int) -> bool:
    if n == 0:
        return True
    return is_odd(n - 1)


@stackless(backend="native")
def is_odd(n: int) -> bool:
    if n == 0:
        return False
    return is_even(n - 1)


@stackless(backend="native")
def gcd(a: int, b: int) -> int:
    return a if b == 0 else gcd(b, a % b)


@stackless(backend="native")
def ackermann(m: int, n: int) -> int:
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann(m - 1, 1)
    return ackermann(m - 1, ackermann(m, n - 1))


@stackless(backend="native")
def power(x: float, n: int) -> float:
    if n == 0:
        return 1.0
    if n < 0:
        return 1.0 / power(x, -n)
    half = power(x, n // 2)
    if n % 2 == 0:
        return half * half
    return half * half * x


@stackless(backend="native")
def is_prime(k: int) -> bool:
    if k < 2:
        return False
    d = 2
    while d * d <= k:
        if k % d == 0:
            return False
        d += 1
    return True


@stackless(backend="native")
def count_primes(n: int) -> int:
    count = 0
    for k in range(n):
        if is_prime(k):
            count += 1
    return count


@stackless(backend="native")
def hyp(x: float, y: float) -> float:
    return (x * x + y * y) ** 0.5


@stackless(backend="native")
def path_length(n: int) -> float:
    total = 0.0
    for i in range(n):
        total += hyp(i, i + 1)
    return total


@stackless(backend="native")
def call_expr(n: int) -> int:
    return int_add(fib(n), int_mul(n, 2)) - sign(n - 5)


@stackless(backend="native")
def add_via_call(a: int, b: int) -> int:
    return int_add(a, b)


# -- None results ----------------------------------------------------------------------


@stackless(backend="native")
def nothing(n: int) -> None:
    x = n * 2
    if x > 10:
        return
    x = x + 1


@stackless(backend="native")
def falls_off(n: int):
    if n > 0:
        n -= 1


@stackless(backend="native")
def calls_nothing(n: int) -> int:
    nothing(n)
    falls_off(n)
    return n + 1


# -- parameters: annotated, unannotated, converted ---------------------------------------


@stackless(backend="native")
def int_double(n: int) -> int:
    return n * 2


@stackless(backend="native")
def half(x: float) -> float:
    return x / 2


@stackless(backend="native")
def scale(count: int, factor: float) -> float:
    return count * factor


@stackless(backend="native")
def poly(x):
    return x * x + 3 * x - 1


@stackless(backend="native")
def ratio(a, b):
    return a / b


@stackless(backend="native")
def generic_max(a, b):
    return max(a, b)


@stackless(backend="native")
def scale_by(n, factor: float):
    return n * factor


@stackless(backend="native")
def square(x):
    return x * x


@stackless(backend="native")
def sum_squares(n: int) -> int:
    total = 0
    for i in range(n):
        total += square(i)
    return total


@stackless(backend="native")
def sum_squares_float(x: float) -> float:
    return square(x) + square(x / 2)


M = INT64_MAX
N = INT64_MIN

CASES = [
    # int + - * with results at the edges of int64
    ("int_add", (2, 3), {}),
    ("int_add", (-7, 3), {}),
    ("int_add", (M - 1, 1), {}),
    ("int_add", (N, M), {}),
    ("int_add", (N + 1, -1), {}),
    ("int_sub", (5, 9), {}),
    ("int_sub", (N + 1, 1), {}),
    ("int_sub", (-1, M), {}),
    ("int_sub", (), {"a": 10, "b": 3}),
    ("int_mul", (-6, 7), {}),
    ("int_mul", (2**32, -(2**31)), {}),
    ("int_mul", (-1, M), {}),
    ("int_mul", (N, 1), {}),
    ("int_mul", (3037000499, 3037000499), {}),
    ("int_mul", (-3037000499, 3037000499), {}),
    ("int_mul", (0, N), {}),
    # // and % floor toward -inf
    ("int_floordiv", (7, 2), {}),
    ("int_floordiv", (-7, 2), {}),
    ("int_floordiv", (7, -2), {}),
    ("int_floordiv", (-7, -2), {}),
    ("int_floordiv", (-6, 3), {}),
    ("int_floordiv", (0, -3), {}),
    ("int_floordiv", (-1, 5), {}),
    ("int_floordiv", (N, 2), {}),
    ("int_floordiv", (N, 1), {}),
    ("int_floordiv", (M, -1), {}),
    ("int_floordiv", (N, M), {}),
    ("int_mod", (7, 2), {}),
    ("int_mod", (-7, 2), {}),
    ("int_mod", (7, -2), {}),
    ("int_mod", (-7, -2), {}),
    ("int_mod", (-6, 3), {}),
    ("int_mod", (-1, 5), {}),
    ("int_mod", (N, -1), {}),
    ("int_mod", (N, 7), {}),
    ("int_mod", (N, M), {}),
    ("int_mod", (M, N), {}),
    # ** with negative bases, zero, and results close to the limits
    ("int_pow", (2, 10), {}),
    ("int_pow", (-2, 3), {}),
    ("int_pow", (-3, 4), {}),
    ("int_pow", (2, 62), {}),
    ("int_pow", (-2, 63), {}),
    ("int_pow", (3, 39), {}),
    ("int_pow", (-3, 39), {}),
    ("int_pow", (7, 22), {}),
    ("int_pow", (10, 18), {}),
    ("int_pow", (0, 0), {}),
    ("int_pow", (0, 5), {}),
    ("int_pow", (5, 0), {}),
    ("int_pow", (1, 10**18), {}),
    ("int_pow", (-1, 10**18 + 1), {}),
    ("int_pow", (-1, M), {}),
    ("int_pow", (N, 1), {}),
    # true division of ints is a float
    ("int_truediv", (7, 2), {}),
    ("int_truediv", (-7, 2), {}),
    ("int_truediv", (1, 3), {}),
    ("int_truediv", (6, 3), {}),
    ("int_truediv", (0, 5), {}),
    ("int_truediv", (0, -5), {}),
    ("int_truediv", (2**53, 3), {}),
    # unary - + abs
    ("int_neg", (5,), {}),
    ("int_neg", (M,), {}),
    ("int_neg", (0,), {}),
    ("int_pos", (-5,), {}),
    ("int_abs", (-7,), {}),
    ("int_abs", (N + 1,), {}),
    ("int_abs", (M,), {}),
    ("int_expr", (7, -3, 4), {}),
    ("int_expr", (-9, 11, -2), {}),
    ("triple_loop", (39,), {}),
    ("aug_int", (10, 5), {}),
    ("aug_int", (-10, 3), {}),
    ("aug_int", (0, 0), {}),
    # floats
    ("float_add", (0.1, 0.2), {}),
    ("float_add", (-0.0, -0.0), {}),
    ("float_add", (-0.0, 0.0), {}),
    ("float_sub", (0.0, 0.0), {}),
    ("float_sub", (1e16, 1.0), {}),
    ("float_mul", (1e308, 10.0), {}),
    ("float_mul", (-0.0, 5.0), {}),
    ("float_div", (1.0, 3.0), {}),
    ("float_div", (-1.0, 1e-320), {}),
    ("float_div", (0.0, -2.0), {}),
    ("float_floordiv", (7.5, 2.0), {}),
    ("float_floordiv", (-7.5, 2.0), {}),
    ("float_floordiv", (7.5, -2.0), {}),
    ("float_floordiv", (-7.5, -2.0), {}),
    ("float_floordiv", (1.0, 0.1), {}),
    ("float_floordiv", (-0.0, 3.0), {}),
    ("float_floordiv", (0.0, -3.0), {}),
    ("float_floordiv", (5.0, 2.5), {}),
    ("float_floordiv", (1e308, 1e-308), {}),
    ("float_floordiv", (INF, 1.0), {}),
    ("float_mod", (7.5, 2.0), {}),
    ("float_mod", (-7.5, 2.0), {}),
    ("float_mod", (7.5, -2.0), {}),
    ("float_mod", (-7.5, -2.0), {}),
    ("float_mod", (-0.0, 5.0), {}),
    ("float_mod", (0.0, -5.0), {}),
    ("float_mod", (-5.0, 2.5), {}),
    ("float_mod", (5.0, -2.5), {}),
    ("float_mod", (-1e-20, 1.0), {}),
    ("float_mod", (1.0, 0.1), {}),
    ("float_mod", (1e300, 1e-300), {}),
    ("float_mod", (INF, 2.0), {}),
    ("float_mod", (3.0, INF), {}),
    ("float_mod", (-3.0, INF), {}),
    ("float_pow", (2.0, 0.5), {}),
    ("float_pow", (-2.0, 3.0), {}),
    ("float_pow", (2.0, -2.0), {}),
    ("float_pow", (0.0, 0.0), {}),
    ("float_pow", (-0.0, 3.0), {}),
    ("float_pow", (-8.0, 2.0), {}),
    ("float_pow", (1.5, 10.0), {}),
    ("float_pow", (10.0, -300.0), {}),
    ("float_pow", (-1.0, 1e300), {}),
    ("float_pow", (1.0, NAN), {}),
    ("float_pow", (NAN, 0.0), {}),
    ("float_neg", (0.0,), {}),
    ("float_neg", (-2.5,), {}),
    ("float_pos", (-0.0,), {}),
    ("float_abs", (-0.0,), {}),
    ("float_abs", (-2.5,), {}),
    ("float_abs", (-INF,), {}),
    ("aug_float", (1.5, 2.25), {}),
    ("aug_float", (-3.0, 0.5), {}),
    ("make_inf", (1.0,), {}),
    ("make_inf", (-1.0,), {}),
    ("make_nan", (1.0,), {}),
    ("nan_code", (1.0,), {}),
    ("nan_code", (0.0,), {}),
    ("float_sum", (10,), {}),
    ("float_sum", (0,), {}),
    ("harmonic", (10,), {}),
    ("newton_sqrt", (2.0,), {}),
    ("newton_sqrt", (0.25,), {}),
    # mixed int and float
    ("mixed_add", (1, 0.5), {}),
    ("mixed_add", (2**53 + 1, 0.0), {}),
    ("mixed_add", (M, 1.0), {}),
    ("mixed_sub", (0.5, 3), {}),
    ("mixed_sub", (0.0, 0), {}),
    ("mixed_floordiv", (7, 2.0), {}),
    ("mixed_floordiv", (-7, 2.0), {}),
    ("mixed_floordiv", (7, -0.3), {}),
    ("mixed_mod", (-7.0, 3), {}),
    ("mixed_mod", (7.5, -2), {}),
    ("mixed_pow", (2.5, 3), {}),
    ("mixed_pow", (2.0, -2), {}),
    ("mixed_pow", (-0.5, -3), {}),
    ("int_float_pow", (2, 0.5), {}),
    ("int_float_pow", (-2, 2.0), {}),
    ("int_float_pow", (4, -0.5), {}),
    ("mixed_poly", (3, 0.25), {}),
    ("mixed_poly", (-7, 1.5), {}),
    ("aug_mixed", (1.25, 3), {}),
    ("aug_mixed", (-0.5, -2), {}),
    # bools do arithmetic as ints
    ("bool_sum", (True, True), {}),
    ("bool_sum", (True, False), {}),
    ("bool_ops", (True, True), {}),
    ("bool_ops", (True, False), {}),
    ("bool_ops", (False, True), {}),
    ("bool_ops", (False, False), {}),
    ("bool_half", (True,), {}),
    ("bool_half", (False,), {}),
    ("bool_and", (True, False), {}),
    ("bool_and", (True, True), {}),
    ("bool_or", (False, False), {}),
    ("bool_or", (False, True), {}),
    ("bool_not", (False,), {}),
    ("bool_cmp", (True, False), {}),
    ("bool_cmp", (False, True), {}),
    ("bool_max", (False, True), {}),
    ("bool_max", (False, False), {}),
    # comparisons
    ("int_cmp_code", (1, 2), {}),
    ("int_cmp_code", (2, 2), {}),
    ("int_cmp_code", (N, M), {}),
    ("int_cmp_code", (M, -1), {}),
    ("float_cmp_code", (0.0, -0.0), {}),
    ("float_cmp_code", (NAN, 1.0), {}),
    ("float_cmp_code", (NAN, NAN), {}),
    ("float_cmp_code", (-INF, INF), {}),
    ("float_cmp_code", (1.5, 1.25), {}),
    # int against float is exact, also beyond 2**53
    ("mixed_cmp_code", (2**53, 2.0**53), {}),
    ("mixed_cmp_code", (2**53 + 1, 2.0**53), {}),
    ("mixed_cmp_code", (2**53 + 1, 2.0**53 + 2), {}),
    ("mixed_cmp_code", (M, 2.0**63), {}),
    ("mixed_cmp_code", (N, -(2.0**63)), {}),
    ("mixed_cmp_code", (N + 1, -(2.0**63)), {}),
    ("mixed_cmp_code", (3, 3.5), {}),
    ("mixed_cmp_code", (-3, -3.5), {}),
    ("mixed_cmp_code", (0, -0.0), {}),
    ("mixed_cmp_code", (5, NAN), {}),
    ("mixed_cmp_code", (M, INF), {}),
    ("mixed_cmp_code", (N, -INF), {}),
    ("mixed_cmp_code_rev", (2.0**53, 2**53 + 1), {}),
    ("mixed_cmp_code_rev", (9.2e18, M), {}),
    ("mixed_cmp_code_rev", (2.0**63, M), {}),
    ("mixed_cmp_code_rev", (-(2.0**63), N), {}),
    ("int_eq_float", (2**53 + 1, 2.0**53), {}),
    ("int_eq_float", (2**53, 2.0**53), {}),
    ("int_eq_float", (M, 2.0**63), {}),
    ("int_lt_float", (M, 2.0**63), {}),
    ("int_lt_float", (2**53 + 1, 2.0**53), {}),
    ("chain_lt", (1, 2, 3), {}),
    ("chain_lt", (1, 3, 2), {}),
    ("chain_lt", (2, 1, 3), {}),
    ("chain_peak", (1, 5, 2), {}),
    ("chain_peak", (1, 5, 7), {}),
    ("chain_eq", (4, 4, 4), {}),
    ("chain_eq", (4, 4, 5), {}),
    ("chain_mixed", (1, 1.0, 2, 2.0), {}),
    ("chain_mixed", (1, 1.5, 2, 1.5), {}),
    ("chain_mixed", (2**53 + 1, 2.0**53, M, 2.0**63), {}),
    ("chain_in_if", (1, 2, 3), {}),
    ("chain_in_if", (1, 2, 10), {}),
    ("chain_in_if", (5, 3, 3), {}),
    ("chain_in_if", (-1, 2, 3), {}),
    # and, or, not
    ("int_and", (0, 5), {}),
    ("int_and", (3, 5), {}),
    ("int_and", (-1, 0), {}),
    ("int_or", (0, 5), {}),
    ("int_or", (3, 5), {}),
    ("int_or", (0, 0), {}),
    ("float_and", (0.0, 3.0), {}),
    ("float_and", (-0.0, 3.0), {}),
    ("float_and", (1.5, 3.0), {}),
    ("float_and", (NAN, 3.0), {}),
    ("float_or", (0.0, 2.5), {}),
    ("float_or", (-0.0, 0.0), {}),
    ("float_or", (1.5, 2.5), {}),
    ("int_not", (0,), {}),
    ("int_not", (-3,), {}),
    ("float_not", (-0.0,), {}),
    ("float_not", (NAN,), {}),
    ("float_not", (0.5,), {}),
    ("logic", (1, 2), {}),
    ("logic", (-1, 2), {}),
    ("logic", (3, -2), {}),
    ("logic", (-3, -3), {}),
    ("short_circuit_and", (9, 0), {}),
    ("short_circuit_and", (9, 4), {}),
    ("short_circuit_and", (3, 4), {}),
    ("short_circuit_or", (9, 0), {}),
    ("short_circuit_or", (9, 3), {}),
    ("short_circuit_or", (9, 4), {}),
    ("truthiness", (3, 0.0), {}),
    ("truthiness", (-2, -0.0), {}),
    ("truthiness", (0, 0.5), {}),
    ("truthiness", (0, NAN), {}),
    # conditional expressions
    ("sign", (5,), {}),
    ("sign", (-5,), {}),
    ("sign", (0,), {}),
    ("safe_div", (7, 0), {}),
    ("safe_div", (-7, 2), {}),
    ("cond_float", (-0.0,), {}),
    ("cond_float", (-2.5,), {}),
    ("cond_call", (10,), {}),
    ("cond_call", (40,), {}),
    # abs, min, max (ties keep the first argument, nan follows Python's order)
    ("int_min2", (3, -4), {}),
    ("int_min2", (N, M), {}),
    ("int_min3", (5, 2, 9), {}),
    ("int_max3", (5, 2, 9), {}),
    ("int_max3", (-5, -2, -9), {}),
    ("float_min", (0.0, -0.0), {}),
    ("float_min", (-0.0, 0.0), {}),
    ("float_min", (NAN, 1.0), {}),
    ("float_min", (1.0, NAN), {}),
    ("float_min", (2.5, -1.5), {}),
    ("float_max", (0.0, -0.0), {}),
    ("float_max", (-0.0, 0.0), {}),
    ("float_max", (NAN, 1.0), {}),
    ("float_max", (1.0, NAN), {}),
    ("float_max3", (1.0, 3.5, 2.0), {}),
    ("float_max3", (-INF, -1e300, -INF), {}),
    ("nested_minmax", (3, 8, -2), {}),
    ("nested_minmax", (-5, -8, 7), {}),
    # if / elif / else, pass
    ("classify", (-4,), {}),
    ("classify", (0,), {}),
    ("classify", (7,), {}),
    ("classify", (42,), {}),
    ("classify", (1000,), {}),
    ("grade", (95.0,), {}),
    ("grade", (75.5,), {}),
    ("grade", (60.0,), {}),
    ("grade", (50.0,), {}),
    ("grade", (NAN,), {}),
    ("with_pass", (250,), {}),
    ("with_pass", (-7,), {}),
    # while, break, continue
    ("collatz_steps", (27,), {}),
    ("collatz_steps", (1,), {}),
    ("collatz_steps", (97,), {}),
    ("loop_control", (5,), {}),
    ("loop_control", (50,), {}),
    ("loop_control", (0,), {}),
    ("nested_break", (6,), {}),
    ("nested_break", (30,), {}),
    ("while_float", (1000.0,), {}),
    ("while_float", (0.5,), {}),
    # for over range with 1, 2 and 3 arguments
    ("range_hash1", (10,), {}),
    ("range_hash1", (0,), {}),
    ("range_hash1", (-3,), {}),
    ("range_hash2", (-3, 4), {}),
    ("range_hash2", (5, 5), {}),
    ("range_hash2", (5, 2), {}),
    ("range_hash3", (0, 10, 3), {}),
    ("range_hash3", (10, 0, -3), {}),
    ("range_hash3", (10, -10, -7), {}),
    ("range_hash3", (-1, -10, -2), {}),
    ("range_hash3", (-3, 4, 2), {}),
    ("range_hash3", (0, 5, -1), {}),
    ("range_hash3", (5, 0, 1), {}),
    ("range_count", (0, 10, 3), {}),
    ("range_count", (0, 9, 3), {}),
    ("range_count", (10, 0, -3), {}),
    ("range_count", (M - 5, M, 2), {}),
    ("range_count", (N + 5, N, -2), {}),
    ("range_count", (N, M, 2**62), {}),
    ("range_count", (N, M, M), {}),
    ("range_count", (M, N, N), {}),
    ("range_last", (M - 5, M, 2), {}),
    ("range_last", (M - 1, M, 1), {}),
    ("range_last", (N + 5, N, -2), {}),
    ("range_last", (N, M, 2**62), {}),
    ("range_last", (N, M, M), {}),
    ("range_last", (M, N, N), {}),
    ("countdown", (9,), {}),
    ("countdown", (10,), {}),
    ("range_exprs", (4,), {}),
    ("range_exprs", (7,), {}),
    # the loop variable after the loop
    ("loop_var_after", (5,), {}),
    ("loop_var_after", (1,), {}),
    ("loop_var_after", (0,), {}),
    ("loop_var_after_step", (10,), {}),
    ("loop_var_after_step", (9,), {}),
    ("loop_var_after_step", (-5,), {}),
    ("smallest_divisor", (91,), {}),
    ("smallest_divisor", (97,), {}),
    ("smallest_divisor", (101,), {}),
    ("loop_var_reassigned", (4,), {}),
    ("loop_var_reassigned", (0,), {}),
    ("range_bound_once", (5,), {}),
    # tuple assignment
    ("fib_iter", (0,), {}),
    ("fib_iter", (10,), {}),
    ("fib_iter", (91,), {}),
    ("swap_order", (3, 4), {}),
    ("mixed_tuple", (2, 2.5), {}),
    ("rotate3", (1, 2, 3), {}),
    # calls between native functions
    ("fib", (0,), {}),
    ("fib", (20,), {}),
    ("fact", (0,), {}),
    ("fact", (20,), {}),
    ("is_even", (0,), {}),
    ("is_even", (7,), {}),
    ("is_odd", (7,), {}),
    ("is_even", (50,), {}),
    ("gcd", (48, 18), {}),
    ("gcd", (-48, 18), {}),
    ("gcd", (48, -18), {}),
    ("ackermann", (2, 3), {}),
    ("ackermann", (3, 3), {}),
    ("power", (2.0, 10), {}),
    ("power", (1.5, -3), {}),
    ("power", (-2.0, 7), {}),
    ("power", (10.0, 0), {}),
    ("is_prime", (97,), {}),
    ("is_prime", (1,), {}),
    ("count_primes", (100,), {}),
    ("hyp", (3.0, 4.0), {}),
    ("path_length", (5,), {}),
    ("call_expr", (10,), {}),
    ("call_expr", (3,), {}),
    ("add_via_call", (M - 3, 3), {}),
    # None results
    ("nothing", (2,), {}),
    ("nothing", (20,), {}),
    ("falls_off", (3,), {}),
    ("calls_nothing", (4,), {}),
    # parameters: bool for int, int and bool for float, unannotated ones
    ("int_double", (21,), {}),
    ("int_double", (True,), {}),
    ("half", (3,), {}),
    ("half", (True,), {}),
    ("half", (-0.0,), {}),
    ("half", (2.5,), {}),
    ("scale", (3, 0.5), {}),
    ("scale", (True, 0.25), {}),
    ("poly", (2,), {}),
    ("poly", (2.5,), {}),
    ("poly", (-3,), {}),
    ("poly", (True,), {}),
    ("poly", (-0.5,), {}),
    ("poly", (7,), {}),
    ("ratio", (1, 4), {}),
    ("ratio", (1.0, 4.0), {}),
    ("ratio", (3, 0.5), {}),
    ("ratio", (-0.5, 2), {}),
    ("generic_max", (3, 5), {}),
    ("generic_max", (3.5, -1.0), {}),
    ("generic_max", (True, False), {}),
    ("scale_by", (3, 0.5), {}),
    ("scale_by", (1.5, 0.5), {}),
    ("square", (4,), {}),
    ("square", (-1.5,), {}),
    ("sum_squares", (10,), {}),
    ("sum_squares_float", (3.0,), {}),
]
