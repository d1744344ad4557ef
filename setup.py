"""The optional C extension; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[
    # The scheduler's hot path (see stacklessxf/runtime/native_loop.py), the
    # per-thread hand-over of an unwinding's records (runtime/records.py) and
    # the check that records pickle as they are (runtime/values.py).
    # The package works without it, more slowly and with one hand-over for
    # all threads, where it cannot be built.
    Extension("_stacklessxf_switch",
              ["stacklessxf/runtime/_switch.c", "stacklessxf/runtime/_handover.c",
               "stacklessxf/runtime/_plain.c", "stacklessxf/runtime/_genexpr.c"],
              depends=["stacklessxf/runtime/_handover.h", "stacklessxf/runtime/_plain.h",
                       "stacklessxf/runtime/_genexpr.h", "stacklessxf/runtime/_cpython.h"],
              optional=True),
    # The depth probe that keeps stackless frames below half the recursion
    # limit (see stacklessxf/runtime/depth.py).
    Extension("_stacklessxf_depth", ["stacklessxf/runtime/_depth.c"],
              depends=["stacklessxf/runtime/_cpython.h"], optional=True),
    # Takes the parsed trees the transform keeps out of the cyclic garbage
    # collector's walks (see stacklessxf/frontend/settle.py).
    Extension("_stacklessxf_settle", ["stacklessxf/frontend/_settle.c"], optional=True),
])
