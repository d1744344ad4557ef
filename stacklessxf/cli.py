"""The ``stacklessxf`` command (also ``python -m stacklessxf``).

Subcommands:

``demo``
    run the recursion demo (:mod:`stacklessxf.demo`);
``records TARGET``
    print the resume-point report for every stackless function of a module;
``explain TARGET:FUNC``
    print what the transform made of one stackless function.

TARGET is a file (a name ending in ``.py`` or containing a path separator) or
a dotted module name.  A module that cannot be loaded or transformed is
reported in one line on stderr (after the traceback, for an exception raised
by the module's own code) and the exit status is 2.
"""

import argparse
import contextlib
import importlib
import importlib.util
import itertools
import os
import sys
import traceback

from stacklessxf import explain, reset_stats, stats
from stacklessxf.analysis.report import format_report
from stacklessxf.core import BACKENDS, registered_functions
from stacklessxf.errors import TransformError

EXIT_OK = 0
EXIT_ERROR = 2

_file_module_ids = itertools.count()


class CliError(Exception):
    """A failure to report to the user as a single line."""


def is_file_target(target):
    return target.endswith(".py") or "/" in target or os.sep in target


def load_target(target):
    """Import TARGET (a file path or a dotted module name) and return the module."""
    try:
        if is_file_target(target):
            return _load_file(target)
        # As with ``python -m``, modules in the current directory are found.
        with _on_sys_path(os.getcwd()):
            return importlib.import_module(target)
    except CliError:
        raise
    except SyntaxError as exc:
        where = exc.filename or target
        if exc.lineno is not None:
            where += f":{exc.lineno}"
        raise CliError(f"{where}: syntax error: {exc.msg}") from exc
    except TransformError as exc:
        raise CliError(f"cannot transform: {exc}") from exc
    except ImportError as exc:
        raise CliError(f"cannot import {target}: {exc}") from exc
    except Exception as exc:
        # An error in the module's own code: its traceback is the useful part.
        _print_module_traceback(exc)
        raise CliError(
            f"importing {target} raised {type(exc).__name__}: {exc}"
        ) from exc


@contextlib.contextmanager
def _on_sys_path(directory):
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass


def _load_file(path):
    if not os.path.isfile(path):
        raise CliError(f"{path}: no such file")
    path = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    if not stem.isidentifier():
        stem = "module"
    name = f"_stacklessxf_file_{next(_file_module_ids)}_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CliError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, like any imported module, so that the code
    # in it (and the transform) can find the module by its name.
    sys.modules[name] = module
    try:
        with _on_sys_path(os.path.dirname(path)):
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _print_module_traceback(exc):
    """Print EXC's traceback from the first frame outside this file and the
    import machinery."""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename != __file__ and not filename.startswith("<frozen"):
            break
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)


def resolve_qualname(module, qualname):
    """The object named QUALNAME inside MODULE, looking through classmethod
    and staticmethod to the function they hold."""
    obj = module
    for part in qualname.split("."):
        namespace = getattr(obj, "__dict__", {})
        if part in namespace:
            obj = namespace[part]
        else:
            obj = getattr(obj, part)
        if isinstance(obj, (classmethod, staticmethod)):
            obj = obj.__func__
    return obj


def cmd_demo(args):
    # Imported here: importing the demo transforms its function.
    from stacklessxf import demo

    demo.main()
    return EXIT_OK


def cmd_records(args):
    # The records are the analysis' classification of each resume point, which
    # every backend shares, so the backend choice needs no further handling.
    # The transform runs when a module applies @stackless, so any refusal has
    # already been reported by load_target.
    module = load_target(args.target)
    funcs = registered_functions(module.__name__)
    if not funcs:
        print(f"no stackless functions in {args.target}")
    else:
        print(format_report([f.analysis for f in funcs]))
    if args.workload:
        workload = _resolve_workload(args.workload)
        reset_stats()
        workload()
        print(f"run {args.workload}: {stats().format()}")
    return EXIT_OK


def _resolve_workload(spec):
    target, sep, qualname = spec.rpartition(":")
    if not sep or not target or not qualname:
        raise CliError(f"expected --run MODULE:FUNC, got {spec!r}")
    module = load_target(target)
    try:
        return resolve_qualname(module, qualname)
    except AttributeError as exc:
        raise CliError(f"no function {qualname!r} in {target}: {exc}") from exc


def cmd_explain(args):
    target, sep, qualname = args.target.rpartition(":")
    if not sep or not target or not qualname:
        raise CliError(f"expected TARGET:FUNC, got {args.target!r}")
    module = load_target(target)
    names = [f.qualname for f in registered_functions(module.__name__)]
    if qualname not in names:
        known = ", ".join(names) if names else "none"
        raise CliError(
            f"no stackless function {qualname!r} in {target} "
            f"(stackless functions there: {known})"
        )
    try:
        fn = resolve_qualname(module, qualname)
    except AttributeError as exc:
        raise CliError(
            f"{qualname!r} in {target} is not reachable from the module's "
            f"top level: {exc}"
        ) from exc
    print(explain(fn, llvm=args.llvm))
    return EXIT_OK


def build_parser():
    parser = argparse.ArgumentParser(
        prog="stacklessxf",
        description="Stackless transform for a subset of Python.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo_parser = sub.add_parser(
        "demo", help="recurse a million levels deep through a stackless function"
    )
    demo_parser.set_defaults(run=cmd_demo)

    records_parser = sub.add_parser(
        "records",
        help="report the resume points and records of a module's stackless functions",
    )
    records_parser.add_argument(
        "target", metavar="TARGET", help="a .py file or a dotted module name"
    )
    records_parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="bytecode",
        help="backend the records are reported for (default: %(default)s)",
    )
    records_parser.add_argument(
        "--run",
        dest="workload",
        metavar="MODULE:FUNC",
        help="call FUNC (no arguments) and print the records its unwindings "
        "saved, next to what the naive transform would have saved",
    )
    records_parser.set_defaults(run=cmd_records)

    explain_parser = sub.add_parser(
        "explain", help="show the IR, resume points and live slots of one function"
    )
    explain_parser.add_argument(
        "target",
        metavar="TARGET:FUNC",
        help="a .py file or dotted module name, a colon, and the function's qualified name",
    )
    explain_parser.add_argument(
        "--llvm", action="store_true",
        help="for a native function, also show the LLVM IR it is compiled to",
    )
    explain_parser.set_defaults(run=cmd_explain)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        return args.run(args)
    except CliError as exc:
        print(f"stacklessxf: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
