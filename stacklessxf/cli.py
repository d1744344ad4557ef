"""The ``stacklessxf`` command (also ``python -m stacklessxf``).

Subcommands:

``demo``
    run the recursion demo (:mod:`stacklessxf.demo`);
``records TARGET``
    print the resume-point report for every stackless function of a module,
    or of every module of a directory or package;
``explain TARGET:FUNC``
    print what the transform made of one stackless function;
``run SCRIPT [--package NAME ...] [ARGS ...]``
    run a script with every function of it, of the modules next to it and
    of the named packages made stackless as they are imported.

TARGET is a file (a name ending in ``.py`` or containing a path separator), a
directory, or a dotted module name.  Every error the user can cause (a
missing file, a module that does not import or raises, a refused function, a
workload that fails) is one line on stderr naming what and where, with exit
status 2.  An exception raised inside stacklessxf itself that is none of its
deliberate errors is a bug, and keeps its traceback.
"""

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import itertools
import os
import pickle
import pkgutil
import sys
import traceback

import stacklessxf
from stacklessxf import reset_stats, stats
from stacklessxf.analysis.report import format_functions, format_report, format_totals
from stacklessxf.core import BACKENDS, registered_functions
from stacklessxf.errors import StaleCodeError, SwitchError, TransformError
from stacklessxf.hook import LIBRARY_DIRS, run_script

EXIT_OK = 0
EXIT_ERROR = 2

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# What stacklessxf raises on purpose, for the user to see; anything else
# raised from its own code is a bug.
_DELIBERATE_ERRORS = (TransformError, SwitchError, StaleCodeError, RuntimeError,
                      TypeError, ValueError, LookupError, ImportError,
                      ArithmeticError, pickle.PicklingError)
_NEVER_DELIBERATE = (KeyError, IndexError, NotImplementedError)

_file_module_ids = itertools.count()
_loaded_files = {}


class CliError(Exception):
    """A failure to report to the user as a single line."""


def is_file_target(target):
    return target.endswith(".py") or "/" in target or os.sep in target


# -- loading what the user named --------------------------------------------

def load_target(target):
    """Import TARGET (a file path or a dotted module name) and return the module."""
    return _reporting_errors(target, lambda: _import_target(target))


def load_modules(target):
    """The modules TARGET names: one for a module, every module of a
    directory or package (the package itself first), in name order."""
    if os.path.isdir(target):
        return _import_directory(target)
    module = load_target(target)
    return [module] + _import_submodules(module)


def _import_target(target):
    if is_file_target(target):
        return _load_file(target)
    # As with ``python -m``, modules in the current directory are found.
    with _on_sys_path(os.getcwd()):
        return importlib.import_module(target)


def _import_directory(directory):
    """A package's modules, or else the modules and packages directly in
    DIRECTORY (a folder that is not a package is not entered)."""
    directory = os.path.abspath(directory)
    if os.path.isfile(os.path.join(directory, "__init__.py")):
        with _on_sys_path(os.path.dirname(directory)):
            return _import_package(os.path.basename(directory), directory)
    modules = []
    with _on_sys_path(directory):
        for entry in sorted(os.listdir(directory)):
            path = os.path.join(directory, entry)
            if entry.endswith(".py") and os.path.isfile(path):
                modules.append(load_target(path))
            elif entry.isidentifier() and os.path.isfile(os.path.join(path, "__init__.py")):
                modules += _import_package(entry, path)
    return modules


def _import_package(name, directory):
    return [_reporting_errors(directory, lambda: importlib.import_module(name))
            ] + _import_submodules(sys.modules[name])


def _import_submodules(module):
    """Every module of the package MODULE, by name; none for a module."""
    if not hasattr(module, "__path__"):
        return []
    found = pkgutil.walk_packages(module.__path__, module.__name__ + ".",
                                  onerror=lambda name: None)
    names = sorted(info.name for info in found)
    return [_reporting_errors(name, lambda name=name: importlib.import_module(name))
            for name in names]


def _reporting_errors(target, load):
    """LOAD's result, with what can go wrong while importing TARGET turned
    into a CliError of one line."""
    try:
        return load()
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
        raise CliError(f"cannot import {target}: {exc}{_package_hint(target, exc)}") from exc
    except Exception as exc:
        raise _user_error(exc, f"importing {target}") from exc


def _package_hint(target, exc):
    """For a file of a package that uses relative imports: its module name."""
    if not is_file_target(target) or "relative import" not in str(exc):
        return ""
    root, name = _package_module_name(os.path.abspath(target))
    if "." not in name:
        return ""
    return f"; it is module {name} of a package: use {name} (from {root})"


def _package_module_name(path):
    """The directory from which PATH imports, and its dotted name there."""
    parts = [os.path.splitext(os.path.basename(path))[0]]
    directory = os.path.dirname(path)
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.insert(0, os.path.basename(directory))
        directory = os.path.dirname(directory)
    return directory, ".".join(parts)


def _user_error(exc, doing):
    """A CliError for EXC, raised by user code while DOING something, naming
    where it was raised; EXC itself if it is a bug of stacklessxf."""
    frames = _traceback_frames(exc)
    deliberate = isinstance(exc, _DELIBERATE_ERRORS) and not isinstance(
        exc, _NEVER_DELIBERATE)
    if frames and frames[-1][0].startswith(_PACKAGE_DIR) and not deliberate:
        return exc
    where = _user_frame(frames)
    prefix = f"{where[0]}:{where[1]}: " if where else ""
    return CliError(f"{prefix}{doing} raised {type(exc).__name__}: {exc}")


def _traceback_frames(exc):
    frames, tb = [], exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _user_frame(frames):
    """The innermost frame in the user's code: outside stacklessxf and the
    import machinery, and preferably outside the libraries installed."""
    ours = [f for f in frames if not f[0].startswith(_PACKAGE_DIR)
            and not f[0].startswith("<frozen")]
    outside_libraries = [f for f in ours if not f[0].startswith(LIBRARY_DIRS)]
    found = outside_libraries or ours
    return found[-1] if found else None


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
    if os.path.isdir(path):
        raise CliError(f"{path}: a directory; only records reads directories")
    if not os.path.isfile(path):
        raise CliError(f"{path}: no such file")
    path = os.path.abspath(path)
    if path in _loaded_files:
        return _loaded_files[path]
    name = _file_module_name(path)
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
    _loaded_files[path] = module
    return module


def _file_module_name(path):
    """The file's own name, as its neighbours import it, unless a module of
    that name is loaded already."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.isidentifier() and stem not in sys.modules and stem not in sys.builtin_module_names:
        return stem
    return f"_stacklessxf_file_{next(_file_module_ids)}_{stem if stem.isidentifier() else 'module'}"


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


# -- the subcommands --------------------------------------------------------

def cmd_demo(args):
    # Imported here: importing the demo transforms its function.
    from stacklessxf import demo

    demo.main()
    return EXIT_OK


def cmd_records(args):
    # The records are the analysis' classification of each resume point, which
    # every backend shares, so the backend choice needs no further handling.
    # The transform runs when a module applies @stackless, so any refusal has
    # already been reported while loading.
    modules = load_modules(args.target)
    workload = _resolve_workload(args.workload) if args.workload else None
    print(_format_modules(args.target, modules))
    if workload is not None:
        reset_stats()
        try:
            workload()
        except Exception as exc:
            raise _user_error(exc, f"--run {args.workload}") from exc
        print(f"run {args.workload}: {stats().format()}")
    return EXIT_OK


def _format_modules(target, modules):
    if len(modules) == 1:
        funcs = registered_functions(modules[0].__name__)
        return format_report([f.analysis for f in funcs]) if funcs else (
            f"no stackless functions in {target}")
    lines, analyses, without = [], [], []
    for module in modules:
        funcs = registered_functions(module.__name__)
        if not funcs:
            without.append(module.__name__)
            continue
        lines.append(f"module {module.__name__}  ({module.__file__})")
        lines += format_functions([f.analysis for f in funcs])
        analyses += [f.analysis for f in funcs]
    if without:
        lines.append(f"no stackless functions in: {', '.join(without)}")
    if analyses:
        lines.append(format_totals(analyses))
    return "\n".join(lines) if lines else f"no modules in {target}"


def _resolve_workload(spec):
    target, sep, qualname = spec.rpartition(":")
    if not sep or not target or not qualname:
        raise CliError(f"expected --run MODULE:FUNC, got {spec!r}")
    module = load_target(target)
    try:
        workload = resolve_qualname(module, qualname)
    except AttributeError:
        raise CliError(f"--run {spec}: no function {qualname} in {target}") from None
    if not callable(workload):
        raise CliError(f"--run {spec}: {qualname} in {target} is not a function")
    _check_takes_no_arguments(spec, workload)
    return workload


def _check_takes_no_arguments(spec, workload):
    try:
        signature = inspect.signature(workload)
    except (TypeError, ValueError):
        return  # not introspectable: let the call tell
    try:
        signature.bind()
    except TypeError:
        raise CliError(f"--run {spec}: {workload.__qualname__}{signature} needs arguments; "
                       "--run calls it with none") from None


def cmd_explain(args):
    target, sep, qualname = args.target.rpartition(":")
    if not sep or not target or not qualname:
        raise CliError(f"expected TARGET:FUNC, got {args.target!r}")
    module = load_target(target)
    funcs = registered_functions(module.__name__)
    found = [f for f in funcs if f.qualname == qualname]
    if not found:
        known = ", ".join(f.qualname for f in funcs) if funcs else "none"
        raise CliError(
            f"no stackless function {qualname!r} in {target} "
            f"(stackless functions there: {known})"
        )
    # The registry has every stackless function, those defined inside other
    # functions too, where no name from the module reaches.
    print(found[-1].explain(args.llvm))
    return EXIT_OK


def cmd_run(args):
    packages, script_args = split_run_arguments(args.arguments)
    packages = args.package + packages
    if not os.path.isfile(args.script):
        raise CliError(f"{args.script}: no such file")
    try:
        run_script(args.script, script_args, packages)
    except Exception as exc:
        # As `python SCRIPT` shows it: from the script's frames on.
        _print_from_script(exc, os.path.abspath(args.script))
        return 1
    return EXIT_OK


def split_run_arguments(words):
    """The ``--package NAME`` options that follow the script, and the
    script's own arguments: what comes after them (or after ``--``)."""
    packages = []
    while words:
        if words[0] == "--":
            return packages, words[1:]
        if words[0] == "--package" and len(words) > 1:
            packages.append(words[1])
            words = words[2:]
        elif words[0].startswith("--package="):
            packages.append(words[0].partition("=")[2])
            words = words[1:]
        else:
            break
    return packages, words


def _print_from_script(exc, script):
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="stacklessxf",
        description="Stackless transform for a subset of Python.",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {stacklessxf.__version__}")
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
        "target", metavar="TARGET",
        help="a .py file, a directory, or a dotted module or package name"
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

    run_parser = sub.add_parser(
        "run", help="run a script with every function of it, of the modules next to it "
        "and of the named packages made stackless",
        usage="%(prog)s [--package NAME ...] SCRIPT [--package NAME ...] [--] [ARGS ...]")
    run_parser.add_argument(
        "--package", action="append", default=[], metavar="NAME",
        help="also make the functions of package (or module) NAME stackless; repeatable")
    run_parser.add_argument("script", metavar="SCRIPT", help="the script to run, as __main__")
    run_parser.add_argument(
        "arguments", nargs=argparse.REMAINDER, metavar="ARGS",
        help="--package options, then the script's own arguments (after -- if they "
        "could be taken for a --package)")
    run_parser.set_defaults(run=cmd_run)
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
