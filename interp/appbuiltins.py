"""The builtins app code sees.

Most are Python's own, called as they are: ``print``, ``len``, ``str``,
``range`` and the others run no app code, or run it through an instance's
Python protocol methods (``str()`` of an app instance calls its
``__str__``), to its end.  The ones here know about app values:
``isinstance`` (app classes), ``map`` (lazy, over app functions), and the
builtins that consume an iterable (``list``, ``tuple``, ``sorted``, ``sum``,
``min``, ``max``), which call a map's app function themselves so a switch
may happen inside it.
"""

import builtins

from stacklessxf import stackless

from .eval import collect_for, get_attribute, is_instance, iterate
from .objects import BUILTINS, AppMap, Builtin

PASSED_THROUGH = """
print len range abs str int float bool dict repr enumerate zip reversed round divmod chr ord
any all set frozenset hash id iter next pow
BaseException Exception ArithmeticError LookupError AssertionError AttributeError IndexError
KeyError NameError NotImplementedError RuntimeError StopIteration TypeError ValueError
ZeroDivisionError OverflowError RecursionError UnboundLocalError KeyboardInterrupt
NotImplemented
""".split()


def define(name):
    def register(fn):
        BUILTINS[name] = Builtin(name, fn)
        return fn
    return register


@stackless
def app_list(args, kwargs, caller):
    return collect_for("list", args, kwargs, caller)


@stackless
def app_tuple(args, kwargs, caller):
    return collect_for("tuple", args, kwargs, caller)


@stackless
def app_sorted(args, kwargs, caller):
    return collect_for("sorted", args, kwargs, caller)


@stackless
def app_sum(args, kwargs, caller):
    return collect_for("sum", args, kwargs, caller)


@stackless
def app_min(args, kwargs, caller):
    return collect_for("min", args, kwargs, caller)


@stackless
def app_max(args, kwargs, caller):
    return collect_for("max", args, kwargs, caller)


def app_isinstance(args, kwargs, caller):
    value, classinfo = args
    return is_instance(value, classinfo)


def app_map(args, kwargs, caller):
    if len(args) < 2:
        raise TypeError("map() must have at least two arguments.")
    return AppMap(args[0], [iterate(arg) for arg in args[1:]])


def app_getattr(args, kwargs, caller):
    if len(args) == 3:
        try:
            return get_attribute(args[0], args[1])
        except AttributeError:
            return args[2]
    return get_attribute(*args)


def app_hasattr(args, kwargs, caller):
    try:
        get_attribute(*args)
    except AttributeError:
        return False
    return True


def install():
    for name in PASSED_THROUGH:
        BUILTINS[name] = getattr(builtins, name)
    BUILTINS["object"] = object
    for name, fn in (("isinstance", app_isinstance), ("map", app_map),
                     ("getattr", app_getattr), ("hasattr", app_hasattr), ("list", app_list),
                     ("tuple", app_tuple), ("sorted", app_sorted), ("sum", app_sum),
                     ("min", app_min), ("max", app_max)):
        BUILTINS[name] = Builtin(name, fn, getattr(builtins, name, None))


install()
