"""Calls of native functions from Python: the builtin entry (see
``backends/llvm/pyentry.py``) takes a call with ints, floats and bools
without running Python code, and hands everything else to the Python
bridge, which behaves as the native backend always has: argument errors
naming the parameter, exceptions raised by native code, call-outs that
switch tasklets, the watchdog, deep recursion.

Whether Python code ran is seen by a profile function, which the
interpreter calls for every Python frame that starts ("call" events).
"""

import inspect
import math
import pickle
import sys

import pytest

import stacklessxf as sx
from stacklessxf.backends.llvm import NativeFunction, live_records

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@sx.stackless(backend="native")
def add(a: int, b: float) -> float:
    return a + b


@sx.stackless(backend="native")
def twice(n: int) -> int:
    return 2 * n


@sx.stackless(backend="native")
def negate(flag: bool) -> bool:
    return not flag


@sx.stackless(backend="native")
def nothing(n: int) -> None:
    n + 1


@sx.stackless(backend="native")
def identity_float(x: float) -> float:
    return x


@sx.stackless(backend="native")
def divide(a: int, b: int) -> int:
    return a // b


@sx.stackless(backend="native")
def combine(a, b):
    return a + b


@sx.stackless(backend="native")
def down(n: int) -> int:
    if n == 0:
        return 0
    return down(n - 1) + 1


@sx.stackless(backend="native")
def pause(n: int) -> int:
    for i in range(n):
        sx.schedule()
    return n


@sx.stackless(backend="native")
def spin(n: int) -> int:
    k = 0
    while k < n:
        k += 1
    return k


@sx.stackless
def calls_pause(n, log, name):
    log.append((name, "start"))
    result = pause(n)
    log.append((name, "end", result))
    return result


@sx.stackless
def calls_spin(n):
    return spin(n) + 1


@pytest.fixture(autouse=True)
def clean():
    records = live_records()
    yield
    assert sx.getruncount() == 1, "a test left runnable tasklets behind"
    assert live_records() == records, "native records leaked"


def python_frames_of(function, *args, **kwargs):
    """(result, qualnames of the Python frames that started) of one call."""
    started = []

    def profile(frame, event, arg):
        if event == "call":
            started.append(frame.f_code.co_qualname)

    sys.setprofile(profile)
    try:
        result = function(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return result, started


def warm(function, *args):
    function(*args)
    return function


# -- the fast path ------------------------------------------------------------------


@pytest.mark.parametrize("function,args,expected", [
    (add, (2, 0.5), 2.5),
    (add, (True, 1.0), 2.0),          # an annotated int parameter takes a bool
    (add, (1, 2), 3.0),               # an annotated float parameter takes an int
    (add, (1, False), 1.0),
    (add, (INT64_MAX, 0.0), float(INT64_MAX)),
    (twice, (INT64_MIN // 2,), INT64_MIN),
    (twice, (-21,), -42),
    (negate, (True,), False),
    (negate, (False,), True),
    (nothing, (3,), None),
    (identity_float, (-0.0,), -0.0),
    (identity_float, (math.inf,), math.inf),
], ids=repr)
def test_a_call_with_simple_arguments_runs_no_python_code(function, args, expected):
    warm(function, *args)
    result, started = python_frames_of(function, *args)
    assert started == []
    assert type(result) is type(expected) and repr(result) == repr(expected)


def test_float_to_int_conversion_of_an_annotated_parameter_rounds_as_python():
    # 2**53 + 1 is not a float: it rounds to even, as float() does.
    assert warm(add, 0, 0.0)(2**53 + 1, 0.0) == float(2**53 + 1)
    assert add(-(2**62) - 1, 0.0) == float(-(2**62) - 1)


def test_nan_goes_through_unchanged():
    result, started = python_frames_of(warm(identity_float, 1.0), math.nan)
    assert started == [] and math.isnan(result)


def test_unannotated_function_runs_each_compiled_specialization_without_python_code():
    warm(combine, 1, 2)
    warm(combine, 1.5, 2.5)
    warm(combine, True, False)
    for args, expected in [((3, 4), 7), ((0.25, 0.5), 0.75), ((True, True), 2)]:
        result, started = python_frames_of(combine, *args)
        assert started == [] and result == expected and type(result) is type(expected)


def test_unannotated_function_compiles_a_new_specialization_on_the_way():
    warm(combine, 1, 2)
    result, started = python_frames_of(combine, 1, 0.5)
    assert result == 1.5 and started       # (int, float) was compiled by this call
    result, started = python_frames_of(combine, 2, 0.25)
    assert result == 2.25 and started == []


def test_deep_recursion_from_the_fast_path():
    warm(down, 1)
    before = live_records()
    result, started = python_frames_of(down, 1_000_000)
    assert result == 1_000_000 and started == []
    assert live_records() == before


def test_every_native_function_has_its_own_entry():
    warm(twice, 1)
    warm(down, 1)
    assert isinstance(twice, NativeFunction) and isinstance(down, NativeFunction)
    assert type(twice) is not type(down)
    assert type(twice).__call__ is not type(down).__call__
    assert (twice(5), down(5)) == (10, 5)


def test_the_function_keeps_its_name_signature_and_pickles_by_reference():
    warm(add, 1, 1.0)
    assert add.__name__ == "add" and add.__qualname__ == "add"
    assert str(inspect.signature(add)) == "(a: int, b: float) -> float"
    assert repr(add) == "<native stackless function add>"
    assert pickle.loads(pickle.dumps(add)) is add


# -- what goes to the bridge ------------------------------------------------------------


def test_keyword_arguments_take_the_bridge():
    warm(add, 1, 1.0)
    result, started = python_frames_of(add, 1, b=0.5)
    assert result == 1.5 and started
    assert add(b=0.25, a=2) == 2.25


def test_a_wrong_number_of_arguments_is_the_signature_type_error():
    warm(add, 1, 1.0)
    with pytest.raises(TypeError, match="missing a required argument: 'b'"):
        add(1)
    with pytest.raises(TypeError, match="too many positional arguments"):
        add(1, 2.0, 3)


@pytest.mark.parametrize("args,message", [
    ((1.5, 1.0), "add() argument 'a' must be int, not float"),
    (("1", 1.0), "add() argument 'a' must be int, not str"),
    ((1, "x"), "add() argument 'b' must be float, not str"),
    ((1, None), "add() argument 'b' must be float, not NoneType"),
])
def test_a_wrong_argument_type_is_a_type_error_naming_the_parameter(args, message):
    warm(add, 1, 1.0)
    with pytest.raises(TypeError) as info:
        add(*args)
    assert str(info.value) == message


def test_an_unannotated_parameter_of_another_type_is_a_type_error():
    warm(combine, 1, 2)
    with pytest.raises(TypeError) as info:
        combine(1, "2")
    assert str(info.value) == ("combine() argument 'b' must be int, float, bool or "
                               "channel, not str")


@pytest.mark.parametrize("value", [2**63, INT64_MIN - 1, 10**30])
def test_an_int_beyond_64_bits_is_an_overflow_error(value):
    warm(twice, 1)
    with pytest.raises(OverflowError) as info:
        twice(value)
    assert str(info.value) == f"twice() argument 'n' is {value}, which does not fit in 64 bits"


def test_subclasses_of_int_and_float_are_refused_as_before():
    class Int(int):
        pass

    class Float(float):
        pass

    warm(add, 1, 1.0)
    with pytest.raises(TypeError, match="add\\(\\) argument 'a' must be int, not Int"):
        add(Int(3), 0.5)
    with pytest.raises(TypeError, match="add\\(\\) argument 'b' must be float, not Float"):
        add(3, Float(0.5))


def test_an_exception_raised_by_native_code_comes_through_the_entry():
    warm(divide, 7, 2)
    with pytest.raises(ZeroDivisionError) as info:
        divide(1, 0)
    assert str(info.value) == "integer division or modulo by zero"
    assert any("raised by native code: divide at line" in note
               for note in info.value.__notes__)
    assert divide(7, 2) == 3      # and the next call is fine


def test_an_overflow_in_native_code_comes_through_the_entry():
    warm(twice, 1)
    with pytest.raises(OverflowError, match="integer overflow in twice"):
        twice(INT64_MAX)


def test_a_switch_in_native_code_called_by_a_tasklet_passes_the_entry():
    warm(pause, 0)
    log = []
    first = sx.tasklet(calls_pause)(2, log, "first")
    second = sx.tasklet(calls_pause)(2, log, "second")
    sx.run()
    assert log == [("first", "start"), ("second", "start"),
                   ("first", "end", 2), ("second", "end", 2)]
    assert not first.alive and not second.alive


def test_a_tasklet_suspended_in_a_native_call_is_records():
    warm(pause, 0)
    log = []
    task = sx.tasklet(calls_pause)(3, log, "only")
    task.run()
    assert task.alive and log == [("only", "start")]
    functions = [frame.function for frame in task.frames]
    assert functions == ["pause", "calls_pause"]
    sx.run()
    assert log[-1] == ("only", "end", 3) and not task.alive


def test_the_watchdog_interrupts_native_code_called_through_the_entry():
    warm(spin, 1)
    task = sx.tasklet(calls_spin)(3 * 10**8)   # ends in about a second unless interrupted
    assert sx.run(1000) is task
    frames = task.frames
    assert [frame.function for frame in frames] == ["spin", "calls_spin"]
    assert 0 < frames[0].slots["k"] <= 1000
    task.kill()
    # After the watchdog, calls take the fast path again.
    result, started = python_frames_of(spin, 5)
    assert result == 5 and started == []
