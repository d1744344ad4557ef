"""Arithmetic and control-flow semantics of ``backend="native"``.

``native_cases.py`` is run through the differential harness: loaded plain and
native, every case must give the same outcome (values compared by type and
``repr``, so ``-0.0``, ``nan`` and bool against int all count). The targeted
tests below cover what the harness cannot compare with plain Python:
int64 overflow, errors and their messages, argument checking and
conversion, specialization of unannotated functions, and the constructs the
native backend refuses.
"""

import inspect
import operator
import os
import re
import textwrap

import pytest
from differential import (
    assert_case_matches,
    decorated_functions,
    load_module,
    resolve,
    run_one,
    unload_module,
)

from stacklessxf import TransformError

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_PATH = os.path.join(HERE, "native_cases.py")

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# The plain load gives the cases and the source lines; it needs no backend.
PLAIN = load_module(CASES_PATH, plain=True)


def _case_id(case):
    name, args, kwargs = case
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


CASES = list(PLAIN.CASES)
CASE_IDS = [_case_id(case) for case in CASES]

_native_load = {}


def native_module():
    """``native_cases.py`` loaded with the native backend, once per session;
    a load that failed fails every test that needs it with the same error."""
    if "module" not in _native_load:
        try:
            _native_load["module"] = ("ok", load_module(CASES_PATH, plain=False))
        except Exception as exc:
            _native_load["module"] = ("error", exc)
    status, value = _native_load["module"]
    if status == "error":
        raise RuntimeError(f"loading native_cases.py natively failed: {value!r}") from value
    return value


@pytest.fixture
def native():
    return native_module()


def outcome(func, *args):
    """``("return", type name, value)`` or ``("raise", exception type)``;
    floats by ``repr`` so that ``-0.0`` and ``nan`` compare."""
    try:
        value = func(*args)
    except Exception as exc:
        return ("raise", type(exc))
    return ("return", type(value).__name__, repr(value) if isinstance(value, float) else value)


def fits_int64(value):
    return INT64_MIN <= value <= INT64_MAX


def line_of(function_name, snippet):
    """The line of ``native_cases.py`` inside ``function_name`` that contains
    ``snippet`` (which must occur on exactly one of its lines)."""
    lines, start = inspect.getsourcelines(getattr(PLAIN, function_name))
    hits = [start + i for i, text in enumerate(lines) if snippet in text]
    assert len(hits) == 1, (function_name, snippet, hits)
    return hits[0]


# -- the differential cases ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_native_matches_plain(native, case):
    assert_case_matches(PLAIN, native, case)


def test_cases_return_normally_in_plain_python():
    """Errors are tested below, not through the harness: the native backend
    words its messages itself."""
    for case in CASES:
        result = run_one(PLAIN, case).result
        assert result[0] == "return", (case, result)


def test_every_case_target_is_decorated_and_every_function_has_a_case():
    decorated = decorated_functions(PLAIN)
    assert len(decorated) >= 100
    ids = {id(f) for f in decorated}
    for name, args, kwargs in CASES:
        assert isinstance(args, tuple) and isinstance(kwargs, dict), name
        assert id(resolve(PLAIN, name)) in ids, f"{name} is not decorated"
    named = {case[0] for case in CASES}
    assert not [f.__name__ for f in decorated if f.__name__ not in named]


def test_native_functions_are_stackless_and_wrap_the_original(native):
    for plain_func in decorated_functions(PLAIN):
        func = getattr(native, plain_func.__name__)
        assert getattr(func, "__stackless__", None) is not None, plain_func.__name__
        assert func.__name__ == plain_func.__name__
        assert func.__qualname__ == plain_func.__qualname__
        assert func.__module__ == native.__name__
        assert func.__wrapped__.__code__.co_firstlineno == plain_func.__code__.co_firstlineno


# -- int64: exact results, or OverflowError -------------------------------------------

EDGES = [
    INT64_MIN,
    INT64_MIN + 1,
    -(2**32),
    -(2**31) - 1,
    -3037000500,
    -7,
    -2,
    -1,
    0,
    1,
    2,
    3,
    7,
    2**31,
    2**32,
    3037000499,
    3037000500,
    INT64_MAX - 1,
    INT64_MAX,
]

INT_BINARY = {
    "int_add": operator.add,
    "int_sub": operator.sub,
    "int_mul": operator.mul,
    "int_floordiv": operator.floordiv,
    "int_mod": operator.mod,
}


def expected_int(op, *args):
    """What native code must do for ``op(*args)``: Python's result when it
    fits int64, else OverflowError; Python's error when Python raises."""
    try:
        value = op(*args)
    except Exception as exc:
        return ("raise", type(exc))
    if not fits_int64(value):
        return ("raise", OverflowError)
    return ("return", "int", value)


@pytest.mark.parametrize("name", sorted(INT_BINARY))
def test_int_binary_on_int64_edges(native, name):
    func = getattr(native, name)
    wrong = []
    for a in EDGES:
        for b in EDGES:
            want = expected_int(INT_BINARY[name], a, b)
            got = outcome(func, a, b)
            if got != want:
                wrong.append(((a, b), want, got))
    assert not wrong, f"{len(wrong)} wrong, first ones: {wrong[:5]}"


@pytest.mark.parametrize("name,op", [("int_neg", operator.neg), ("int_pos", operator.pos), ("int_abs", abs)])
def test_int_unary_on_int64_edges(native, name, op):
    func = getattr(native, name)
    wrong = []
    for a in EDGES:
        want = expected_int(op, a)
        got = outcome(func, a)
        if got != want:
            wrong.append((a, want, got))
    assert not wrong, wrong


def expected_int_pow(a, b):
    if b < 0:
        return ("raise", ValueError)  # native cannot give Python's float
    if abs(a) >= 2 and b > 64:
        return ("raise", OverflowError)  # without computing a huge power
    return expected_int(operator.pow, a, b)


POW_BASES = EDGES + [-10, -3, 10]
POW_EXPONENTS = [0, 1, 2, 3, 5, 18, 19, 22, 23, 31, 32, 39, 40, 62, 63, 64, 65, 100, 2**40, INT64_MAX]


def test_int_pow_on_int64_edges(native):
    wrong = []
    for a in POW_BASES:
        for b in POW_EXPONENTS:
            want = expected_int_pow(a, b)
            got = outcome(native.int_pow, a, b)
            if got != want:
                wrong.append(((a, b), want, got))
    assert not wrong, f"{len(wrong)} wrong, first ones: {wrong[:5]}"


@pytest.mark.parametrize(
    "a,b",
    [(2, -1), (-3, -2), (1, -1), (-1, -3), (7, INT64_MIN), (INT64_MAX, -1)],
)
def test_int_pow_negative_exponent_is_value_error(native, a, b):
    with pytest.raises(ValueError):
        native.int_pow(a, b)


# (function, arguments, function whose line overflows, text of that line)
OVERFLOWS = [
    ("int_add", (INT64_MAX, 1), "int_add", "c = a + b"),
    ("int_add", (INT64_MIN, -1), "int_add", "c = a + b"),
    ("int_sub", (INT64_MIN, 1), "int_sub", "c = a - b"),
    ("int_sub", (INT64_MAX, -1), "int_sub", "c = a - b"),
    ("int_sub", (0, INT64_MIN), "int_sub", "c = a - b"),
    ("int_mul", (2**32, 2**31), "int_mul", "c = a * b"),
    ("int_mul", (INT64_MIN, -1), "int_mul", "c = a * b"),
    ("int_mul", (-3037000500, 3037000500), "int_mul", "c = a * b"),
    ("int_pow", (2, 63), "int_pow", "c = a ** b"),
    ("int_pow", (-2, 64), "int_pow", "c = a ** b"),
    ("int_pow", (3, 40), "int_pow", "c = a ** b"),
    ("int_pow", (10, 19), "int_pow", "c = a ** b"),
    ("int_neg", (INT64_MIN,), "int_neg", "c = -a"),
    ("int_abs", (INT64_MIN,), "int_abs", "c = abs(a)"),
    ("int_floordiv", (INT64_MIN, -1), "int_floordiv", "c = a // b"),
    # inside loops, recursion and augmented assignment
    ("fact", (21,), "fact", "return n * fact(n - 1)"),
    ("triple_loop", (40,), "triple_loop", "x *= 3"),
    ("aug_int", (INT64_MAX, 0), "aug_int", "x *= 7"),
    # every operation is checked: fib(92) fits, but the loop also computes fib(93)
    ("fib_iter", (92,), "fib_iter", "a, b = b, a + b"),
    # the message names the function where the operation is, not its caller
    ("add_via_call", (INT64_MAX, 1), "int_add", "c = a + b"),
]


@pytest.mark.parametrize(
    "name,args,where,snippet", OVERFLOWS, ids=[_case_id((o[0], o[1], {})) for o in OVERFLOWS]
)
def test_overflow_names_function_and_line(native, name, args, where, snippet):
    with pytest.raises(OverflowError) as info:
        getattr(native, name)(*args)
    message = str(info.value)
    qualname = getattr(PLAIN, where).__qualname__
    line = line_of(where, snippet)
    assert re.search(rf"\b{re.escape(qualname)}\b", message), message
    assert re.search(rf"(\bline |:){line}(?!\d)", message), (line, message)


def test_results_after_an_overflow_are_still_right(native):
    """An overflow leaves no state behind: the same functions keep working."""
    with pytest.raises(OverflowError):
        native.fact(25)
    assert native.fact(20) == 2432902008176640000
    with pytest.raises(OverflowError):
        native.int_neg(INT64_MIN)
    assert native.int_neg(INT64_MIN + 1) == INT64_MAX


# -- division by zero and other errors ----------------------------------------------------

ZERO_DIVISIONS = [
    ("int_floordiv", (5, 0)),
    ("int_floordiv", (0, 0)),
    ("int_floordiv", (INT64_MIN, 0)),
    ("int_mod", (5, 0)),
    ("int_mod", (-5, 0)),
    ("int_truediv", (5, 0)),
    ("int_truediv", (0, 0)),
    ("float_div", (5.0, 0.0)),
    ("float_div", (5.0, -0.0)),
    ("float_div", (0.0, 0.0)),
    ("float_floordiv", (5.0, 0.0)),
    ("float_floordiv", (-5.0, -0.0)),
    ("float_mod", (5.0, 0.0)),
    ("float_mod", (-0.0, 0.0)),
    ("mixed_floordiv", (5, 0.0)),
    ("mixed_mod", (5.0, 0)),
    ("ratio", (1, 0)),
    ("ratio", (1.5, 0.0)),
    ("float_pow", (0.0, -1.0)),
    ("float_pow", (-0.0, -3.0)),
    ("mixed_pow", (0.0, -1)),
    ("int_float_pow", (0, -1.0)),
    ("power", (0.0, -1)),
]


@pytest.mark.parametrize("name,args", ZERO_DIVISIONS, ids=[_case_id((n, a, {})) for n, a in ZERO_DIVISIONS])
def test_zero_division(native, name, args):
    with pytest.raises(ZeroDivisionError):
        getattr(PLAIN, name)(*args)
    with pytest.raises(ZeroDivisionError):
        getattr(native, name)(*args)


def test_short_circuit_and_conditional_expression_skip_the_division(native):
    assert native.short_circuit_and(9, 0) is False
    assert native.short_circuit_or(9, 0) is True
    assert native.safe_div(7, 0) == 0


@pytest.mark.parametrize(
    "a,b",
    [(INT64_MAX, 2**54 + 1), (-INT64_MAX, 2**54 + 1), (8171561219939161467, 2177846766610798758)],
)
def test_int_true_division_is_correctly_rounded(native, a, b):
    """Python divides ints exactly and rounds once; converting both operands
    to float first rounds three times and gives a different float here."""
    assert float(a) / float(b) != a / b
    assert repr(native.int_truediv(a, b)) == repr(a / b)


# -- arguments --------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("scale", ("3", 2.0), "count"),
    ("scale", ([3], 2.0), "count"),
    ("scale", (2.5, 2.0), "count"),
    ("scale", (None, 2.0), "count"),
    ("scale", (3, "2.0"), "factor"),
    ("scale", (3, None), "factor"),
    ("scale", (3, [2.0]), "factor"),
    ("int_double", ("21",), "n"),
    ("fib", ("10",), "n"),
    ("float_abs", ("-1.5",), "x"),
]


@pytest.mark.parametrize(
    "name,args,parameter", BAD_ARGUMENTS, ids=[_case_id((n, a, {})) for n, a, _ in BAD_ARGUMENTS]
)
def test_bad_argument_type_is_type_error_naming_the_parameter(native, name, args, parameter):
    with pytest.raises(TypeError) as info:
        getattr(native, name)(*args)
    assert re.search(rf"\b{parameter}\b", str(info.value)), str(info.value)


def test_float_parameters_convert_int_and_bool(native):
    assert outcome(native.float_add, 1, 2) == ("return", "float", "3.0")
    assert outcome(native.float_mod, -7, 2) == ("return", "float", "1.0")
    assert outcome(native.float_div, True, 4) == ("return", "float", "0.25")
    assert outcome(native.scale, 3, 2) == ("return", "float", "6.0")
    assert outcome(native.scale, 3, True) == ("return", "float", "3.0")
    assert outcome(native.float_neg, 0) == ("return", "float", "-0.0")


def test_int_parameters_accept_bool(native):
    assert outcome(native.int_add, True, True) == ("return", "int", 2)
    assert outcome(native.int_double, False) == ("return", "int", 0)
    assert native.fib(True) == 1


# -- modules written for one test -------------------------------------------------------

HEADER = "from stacklessxf import stackless\n"


@pytest.fixture
def write_module(tmp_path):
    """Writes source (dedented, after an import of ``stackless``) to a new file;
    returns its path. Modules loaded from it are unloaded afterwards."""
    loaded = []

    def write(stem, body):
        path = tmp_path / f"{stem}.py"
        path.write_text(HEADER + textwrap.dedent(body))
        return path

    def load(path):
        module = load_module(str(path), plain=False)
        loaded.append(module)
        return module

    write.load = load
    yield write
    for module in loaded:
        unload_module(module)


SPECIALIZED = """

@stackless(backend="native")
def poly(x):
    return x * x + 3 * x - 1


@stackless(backend="native")
def combine(a, b):
    return a * 2 + b


@stackless(backend="native")
def twice_poly(n: int) -> float:
    return poly(n) + poly(n / 2)
"""


def test_unannotated_function_specializes_per_argument_types(write_module):
    path = write_module("specialize_int_first", SPECIALIZED)
    mod = write_module.load(path)
    assert outcome(mod.poly, 2) == ("return", "int", 9)
    assert outcome(mod.poly, 2.5) == ("return", "float", "12.75")
    assert outcome(mod.poly, 2) == ("return", "int", 9)
    assert outcome(mod.poly, True) == ("return", "int", 3)
    assert outcome(mod.poly, -0.5) == ("return", "float", "-2.25")
    assert outcome(mod.poly, 3037000499) == ("raise", OverflowError)
    assert outcome(mod.poly, 1e200) == ("return", "float", repr(1e200 * 1e200 + 3 * 1e200 - 1))


def test_specialization_order_does_not_matter(write_module):
    path = write_module("specialize_float_first", SPECIALIZED)
    mod = write_module.load(path)
    assert outcome(mod.poly, 2.5) == ("return", "float", "12.75")
    assert outcome(mod.poly, 2) == ("return", "int", 9)
    assert outcome(mod.combine, 1, 2.0) == ("return", "float", "4.0")
    assert outcome(mod.combine, 1, 2) == ("return", "int", 4)
    assert outcome(mod.combine, 1.5, 2) == ("return", "float", "5.0")
    assert outcome(mod.combine, True, 2) == ("return", "int", 4)
    assert outcome(mod.combine, 1, True) == ("return", "int", 3)
    assert outcome(mod.twice_poly, 3) == ("return", "float", repr(17 + (1.5 * 1.5 + 3 * 1.5 - 1)))


# Constructs outside the typed subset: (name, lines inside the function, the
# text of the line the error must point at).
REFUSED = [
    ("list_literal", ["xs = [n, m]"], "xs = [n, m]"),
    ("string", ['label = "abc"'], 'label = "abc"'),
    ("try_statement", ["try:", "    m = m // n", "except ZeroDivisionError:", "    m = 0"], "try:"),
    ("print_call", ["print(n)"], "print(n)"),
    ("len_call", ["m = len(n)"], "m = len(n)"),
    ("plain_function_call", ["m = plain_helper(n)"], "m = plain_helper(n)"),
]


def refused_source(lines):
    body = "\n".join("    " + line for line in lines)
    return (
        "\n\ndef plain_helper(n):\n    return n + 1\n\n\n"
        '@stackless(backend="native")\n'
        "def target(n: int) -> int:\n"
        "    m = n + 1\n"
        f"{body}\n"
        "    return m\n"
    )


@pytest.mark.parametrize("stem,lines,at", REFUSED, ids=[r[0] for r in REFUSED])
def test_construct_outside_subset_is_transform_error(write_module, stem, lines, at):
    path = write_module(f"refuse_{stem}", refused_source(lines))
    line = path.read_text().splitlines().index("    " + at) + 1
    # at decoration time when syntactic, at the first call when type-dependent
    with pytest.raises(TransformError) as info:
        write_module.load(path).target(3)
    message = str(info.value)
    assert re.search(rf"{re.escape(path.name)}:{line}(?!\d)", message), (line, message)
    assert "bytecode backend" in message, message


TYPE_CHANGES = [
    (
        "int_then_float",
        """
        @stackless(backend="native")
        def target(n: int) -> int:
            x = n + 1
            x = x / 2
            return n
        """,
    ),
    (
        "int_then_float_in_branch",
        """
        @stackless(backend="native")
        def target(n: int) -> int:
            y = 1
            if n > 0:
                y = 2.5
            return n
        """,
    ),
    (
        "float_then_int_in_loop",
        """
        @stackless(backend="native")
        def target(n: int) -> int:
            z = 0.5
            for i in range(n):
                z = i
            return n
        """,
    ),
]


@pytest.mark.parametrize("stem,body", TYPE_CHANGES, ids=[t[0] for t in TYPE_CHANGES])
def test_variable_changing_type_is_transform_error(write_module, stem, body):
    path = write_module(f"retype_{stem}", body)
    with pytest.raises(TransformError) as info:
        write_module.load(path).target(3)
    assert path.name in str(info.value)
