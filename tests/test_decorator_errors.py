"""Bad input to the decorator: each is a clear error naming what and where."""

import contextlib
import functools

import pytest

import stacklessxf as sx
from stacklessxf import TransformError, stackless
from tests.plain_copies import plain_copy


def test_generator_function_is_accepted():
    def gen():
        yield 1

    assert list(stackless(gen)()) == [1]


def test_async_def_is_refused():
    async def coro():
        return 1

    with pytest.raises(TransformError, match="async"):
        stackless(coro)


def test_async_generator_is_refused():
    async def agen():
        yield 1

    with pytest.raises(TransformError, match="async"):
        stackless(agen)


@pytest.mark.parametrize("thing", [42, len, int, "text", object()])
def test_non_function_is_a_type_error(thing):
    with pytest.raises(TypeError, match="function defined with def"):
        stackless(thing)


def test_lambda_is_refused():
    square = lambda x: x * x  # noqa: E731
    with pytest.raises(TransformError, match="lambda"):
        stackless(square)


def test_source_not_available():
    namespace = {}
    exec("def made_up(x):\n    return x\n", namespace)
    with pytest.raises(TransformError, match="source of made_up is not available"):
        stackless(namespace["made_up"])


def test_decorating_twice_is_a_type_error():
    @stackless
    def once(x):
        return x

    with pytest.raises(TypeError, match="already stackless"):
        stackless(once)


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend"):
        stackless(backend="quantum")


def test_backend_can_be_named():
    @stackless(backend="bytecode")
    def named(x):
        return x + 1

    assert named(1) == 2
    assert named.__stackless__.qualname.endswith("named")


def test_metadata_is_kept():
    @stackless
    def documented(a, b=2, *, c=3):
        """Adds things."""
        return a + b + c

    assert documented.__doc__ == "Adds things."
    assert documented.__name__ == "documented"
    assert documented(1) == 6
    assert documented(1, c=0) == 3


def test_explain_refuses_plain_function():
    def plain():
        return 1

    with pytest.raises(TypeError, match="not a stackless function"):
        sx.explain(plain)


def test_async_refusal_points_at_the_await():
    async def coro(other):
        value = 1
        return await other

    with pytest.raises(TransformError) as info:
        stackless(coro)
    assert info.value.lineno == coro.__code__.co_firstlineno + 2
    assert info.value.construct == "await"


def passing_through(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    return wrapper


def _plain_sum(n):
    return n + 1


def _numbers():
    yield 1


@pytest.mark.parametrize("wrap,decorator", [
    (passing_through, f"{__name__}.passing_through"),
    (functools.lru_cache(maxsize=None), "functools._lru_cache_wrapper"),
    (functools.cache, "functools._lru_cache_wrapper"),
    (functools.singledispatch, "functools.singledispatch"),
])
def test_a_wrapper_made_by_another_decorator_is_refused(wrap, decorator):
    """Transforming the wrapper would leave the wrapped function plain, and
    a wrapper cannot in general be rebuilt around a transformed function."""
    with pytest.raises(TransformError) as info:
        stackless(wrap(_plain_sum))
    message = str(info.value)
    assert decorator in message and "_plain_sum" in message
    assert info.value.construct == "decorator"
    assert info.value.filename == __file__
    assert info.value.lineno == _plain_sum.__code__.co_firstlineno


def test_a_context_manager_is_refused_naming_contextmanager():
    with pytest.raises(TransformError, match="contextlib.contextmanager"):
        stackless(contextlib.contextmanager(_numbers))


def test_stackless_beneath_the_other_decorator_works():
    cached = functools.lru_cache(maxsize=None)(stackless(plain_copy(_plain_sum)))
    assert cached(2) == 3
    wrapped = passing_through(stackless(plain_copy(_plain_sum)))
    assert wrapped(4) == 5


def make_stackless_wrapper(function):
    @stackless
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs) * 10
    return wrapper


def test_a_wrapper_written_with_stackless_on_its_def_is_transformed():
    wrapper = make_stackless_wrapper(_plain_sum)
    assert wrapper(1) == 20
    assert wrapper.__stackless__.original_code.co_name == "wrapper"
    assert wrapper.__wrapped__ is _plain_sum
