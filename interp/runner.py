"""Running a program: the driver that stands in for stacklessxf's main
tasklet, and the app traceback of an exception nothing caught."""

import sys

import stacklessxf as sx
from stacklessxf.runtime.scheduler import DEADLOCK

from . import appbuiltins  # noqa: F401  (installs the builtins)
from .eval import ProgramEnded, app_traceback, app_value, run_frame
from .objects import Frame, Instance
from .program import load_program
from .tasklets import AppTasklet


def start_program(filename):
    """The program's main tasklet, ready to run its module code."""
    program = load_program(filename)
    namespace = {"__name__": "__main__"}
    main = AppTasklet(is_main=True)
    frame = Frame(program.module_code, None, namespace, namespace, None, None, main)
    main.start(run_main, frame)
    return main


@sx.stackless
def run_main(main, frame):
    return run_frame(frame)


def drive(main):
    """Run the tasklets until the program ends; return the exception that
    ended it, or None.  As in stacklessxf, an exception that ends a tasklet
    goes on in the main tasklet, and the main tasklet waiting with nothing
    runnable is a deadlock."""
    pending = None
    while True:
        try:
            if pending is not None:
                error, pending = pending, None
                main.sx.throw(error)
                continue
            sx.run()
        except ProgramEnded:
            return None
        except BaseException as error:
            if not main.sx.alive:
                return error
            pending = error
            continue
        if not main.sx.alive:
            return None
        if main.sx.blocked:
            pending = RuntimeError(DEADLOCK)
        elif main.sx.paused:
            main.sx.insert()        # run() is over: nothing else is runnable
        else:
            return None


def report(error, out=None):
    """Print an exception that ended the program, as CPython does."""
    out = out or sys.stderr
    print("Traceback (most recent call last):", file=out)
    for filename, lineno, name in reversed(app_traceback(error)):
        print(f'  File "{filename}", line {lineno}, in {name}', file=out)
        line = _source_line(filename, lineno)
        if line:
            print(f"    {line}", file=out)
    print(exception_summary(error), file=out)


def exception_summary(error):
    value = app_value(error)
    if type(value) is Instance:
        text = value.exception_text()
        name = value.cls.name
    else:
        text = str(value)
        name = type(value).__qualname__
        module = type(value).__module__
        if module not in ("builtins", "__main__"):
            name = f"{module}.{name}"
    return f"{name}: {text}" if text else name


def _source_line(filename, lineno):
    try:
        return load_program(filename).source_line(lineno)
    except OSError:
        return ""


def finish(error):
    """Flush the program's output and give its exit status."""
    sys.stdout.flush()
    if error is None:
        return 0
    if isinstance(error, SystemExit):
        return error.code if isinstance(error.code, int) else 1
    report(error)
    return 1


def run_program(filename):
    return finish(drive(start_program(filename)))
