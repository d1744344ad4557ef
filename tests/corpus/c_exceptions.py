"""try/except/else/finally around stackless calls: exceptions raised by a
stackless callee, handlers and finally blocks that call stackless functions,
re-raising, chaining and sys.exc_info()."""

import sys

from stacklessxf import stackless

LOG = []


class CorpusError(Exception):
    pass


class OtherError(CorpusError):
    pass


@stackless
def fail(kind, msg):
    LOG.append(("fail", kind, msg))
    if kind == "value":
        raise ValueError(msg)
    if kind == "key":
        raise KeyError(msg)
    if kind == "corpus":
        raise CorpusError(msg)
    if kind == "other":
        raise OtherError(msg)
    if kind == "zero":
        return len(msg) // 0
    return msg


@stackless
def echo(x):
    LOG.append(("echo", x))
    return x


@stackless
def lookup(d, key):
    return d[key]


@stackless
def catch_basic(kind):
    try:
        r = fail(kind, "boom")
    except ValueError as e:
        r = "value:" + str(e)
    except (KeyError, ZeroDivisionError) as e:
        r = type(e).__name__ + ":" + str(e)
    return r


@stackless
def try_else_finally(kind):
    try:
        LOG.append("body")
        v = fail(kind, "x")
    except CorpusError as e:
        LOG.append(("handler", echo(type(e).__name__)))
        v = -1
    else:
        LOG.append(("else", echo(v)))
    finally:
        LOG.append(("finally", echo("f")))
    return v


@stackless
def finally_on_the_way_out(kind):
    try:
        fail(kind, "propagate")
    finally:
        echo("cleanup")
    return "completed"


@stackless
def return_in_finally(kind):
    try:
        return fail(kind, "r")
    finally:
        echo("finally")
        return "from finally"


@stackless
def finally_keeps_return_value(x):
    try:
        return echo(x)
    finally:
        x = echo(x + 1)
        LOG.append(("x in finally", x))


@stackless
def nested_try(kind1, kind2):
    out = []
    try:
        try:
            out.append(fail(kind1, "inner"))
        except ValueError as e:
            out.append(("inner caught", str(e)))
            out.append(fail(kind2, "from handler"))
        finally:
            out.append(echo("inner finally"))
    except CorpusError as e:
        out.append(("outer caught", type(e).__name__, str(e)))
    finally:
        out.append("outer finally")
    return out


@stackless
def reraise_after_call(kind):
    try:
        fail(kind, "first")
    except ValueError:
        echo("in handler")
        raise
    return "no error"


@stackless
def reraise_caught_by_caller(kind):
    try:
        r = reraise_after_call(kind)
    except ValueError as e:
        return ("caught again", str(e), echo(1))
    return r


@stackless
def exc_info_after_call(kind):
    try:
        fail(kind, "info")
    except Exception:
        echo("in handler")
        t, v, tb = sys.exc_info()
        LOG.append((t.__name__, str(v), tb is not None))
        same = echo(sys.exc_info()[1] is v)
        return t.__name__, same
    return sys.exc_info()


@stackless
def exc_info_restored_after_inner(kind):
    try:
        fail("value", "outer")
    except ValueError:
        try:
            fail(kind, "inner")
        except Exception as e2:
            LOG.append(("inner", type(e2).__name__))
        echo(1)
        current = sys.exc_info()[1]
        return type(current).__name__, str(current)


@stackless
def raise_from(kind):
    try:
        fail(kind, "low")
    except CorpusError as e:
        raise OtherError("high: " + echo(str(e))) from e
    return "quiet"


@stackless
def implicit_context(kind):
    try:
        fail(kind, "first")
    except ValueError:
        echo("x")
        raise KeyError("second")
    return "quiet"


@stackless
def raise_in_finally(kind):
    try:
        fail(kind, "lost")
    finally:
        echo("f")
        raise CorpusError("from finally")


@stackless
def exception_name_unbound_after_handler(kind):
    e = "before"
    try:
        fail(kind, "z")
    except ValueError as e:
        echo(str(e))
    return e


@stackless
def loop_with_try(kinds):
    results = []
    for kind in kinds:
        try:
            results.append(fail(kind, kind))
        except ValueError:
            results.append("V")
            continue
        except CorpusError:
            results.append("C")
            break
        finally:
            LOG.append(("iteration finally", kind))
        results.append("after")
    else:
        results.append("else")
    return results


@stackless
def continue_in_finally(kinds):
    out = []
    for k in kinds:
        try:
            out.append(fail(k, "c"))
        finally:
            out.append(echo("f"))
            continue
    return out


@stackless
def break_in_finally(kinds):
    out = []
    for k in kinds:
        try:
            out.append(fail(k, "b"))
        finally:
            if k != "ok":
                out.append(echo("stop"))
                break
    return out


@stackless
def uncaught_from_callee(kind):
    v = echo(10)
    return v + fail(kind, "oops")


@stackless
def handler_uses_exception_after_call(kind):
    try:
        fail(kind, "m")
    except (ValueError, KeyError) as err:
        prefix = echo("handled")
        return prefix + ":" + type(err).__name__ + ":" + str(err)
    return "none"


@stackless
def catch_builtin_from_callee(d, key):
    try:
        return lookup(d, key)
    except KeyError as e:
        return ("missing", e.args, echo(len(d)))


@stackless
def assert_after_call(x):
    assert echo(x) > 0, "must be positive"
    assert x < 100, echo("too big")
    return x


@stackless
def try_in_handler_and_finally(kind):
    out = []
    try:
        fail(kind, "a")
    except Exception:
        try:
            out.append(fail("corpus", "in handler"))
        except CorpusError as e:
            out.append(str(e))
    finally:
        try:
            out.append(fail("value", "in finally"))
        except ValueError as e:
            out.append(str(e))
    return out


@stackless
def exception_object_survives_call(kind):
    saved = None
    try:
        fail(kind, "keep")
    except Exception as e:
        saved = e
    r = echo(2)
    if saved is None:
        return r
    return r, type(saved).__name__, saved.args


@stackless
def reraise_different_after_handler_call(kind):
    try:
        try:
            fail(kind, "orig")
        except ValueError as e:
            n = echo(len(str(e)))
            raise CorpusError(n)
    except CorpusError as c:
        return "converted", c.args, type(c.__context__).__name__
    return "nothing"


CASES = [
    ("catch_basic", ("value",), {}),
    ("catch_basic", ("key",), {}),
    ("catch_basic", ("zero",), {}),
    ("catch_basic", ("ok",), {}),
    ("catch_basic", ("corpus",), {}),
    ("try_else_finally", ("ok",), {}),
    ("try_else_finally", ("other",), {}),
    ("try_else_finally", ("value",), {}),
    ("finally_on_the_way_out", ("ok",), {}),
    ("finally_on_the_way_out", ("key",), {}),
    ("return_in_finally", ("ok",), {}),
    ("return_in_finally", ("value",), {}),
    ("finally_keeps_return_value", (5,), {}),
    ("nested_try", ("ok", "ok"), {}),
    ("nested_try", ("value", "ok"), {}),
    ("nested_try", ("value", "other"), {}),
    ("nested_try", ("value", "key"), {}),
    ("nested_try", ("corpus", "ok"), {}),
    ("reraise_after_call", ("value",), {}),
    ("reraise_after_call", ("key",), {}),
    ("reraise_caught_by_caller", ("value",), {}),
    ("reraise_caught_by_caller", ("ok",), {}),
    ("exc_info_after_call", ("value",), {}),
    ("exc_info_after_call", ("ok",), {}),
    ("exc_info_restored_after_inner", ("key",), {}),
    ("exc_info_restored_after_inner", ("ok",), {}),
    ("raise_from", ("corpus",), {}),
    ("raise_from", ("value",), {}),
    ("implicit_context", ("value",), {}),
    ("raise_in_finally", ("value",), {}),
    ("raise_in_finally", ("ok",), {}),
    ("exception_name_unbound_after_handler", ("value",), {}),
    ("exception_name_unbound_after_handler", ("ok",), {}),
    ("loop_with_try", (["ok", "value", "ok", "corpus", "ok"],), {}),
    ("loop_with_try", (["ok", "value"],), {}),
    ("continue_in_finally", (["ok", "value", "key", "ok"],), {}),
    ("break_in_finally", (["ok", "ok", "value", "ok"],), {}),
    ("uncaught_from_callee", ("zero",), {}),
    ("uncaught_from_callee", ("ok",), {}),
    ("handler_uses_exception_after_call", ("key",), {}),
    ("handler_uses_exception_after_call", ("ok",), {}),
    ("catch_builtin_from_callee", ({"a": 1}, "a"), {}),
    ("catch_builtin_from_callee", ({"a": 1}, "b"), {}),
    ("assert_after_call", (5,), {}),
    ("assert_after_call", (-5,), {}),
    ("assert_after_call", (500,), {}),
    ("try_in_handler_and_finally", ("value",), {}),
    ("try_in_handler_and_finally", ("ok",), {}),
    ("exception_object_survives_call", ("other",), {}),
    ("exception_object_survives_call", ("ok",), {}),
    ("reraise_different_after_handler_call", ("value",), {}),
    ("reraise_different_after_handler_call", ("key",), {}),
]
