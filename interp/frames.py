"""``python -m interp frames FILE``: the app frames of a checkpoint's
tasklets, innermost first, like a traceback."""

import sys

from .checkpoint import DELIVER, NEW, PAUSED, REDO, load_checkpoint
from .objects import EMPTY, Frame

WAITING = {NEW: "not started", DELIVER: "runnable", PAUSED: "waiting in run()"}


def describe_wait(tasklet, kind, state):
    if kind != REDO:
        return WAITING[kind]
    op = tasklet.op
    if tasklet is state["current"]:
        return f"switching: {op[0]}()"
    return f"blocked in {op[0]}()"


def print_frames(filename, out=None):
    out = out or sys.stdout
    state = load_checkpoint(filename)
    for tasklet, (kind, _) in state["states"]:
        main = " (main)" if tasklet.is_main else ""
        print(f"tasklet {tasklet.number}{main}: {describe_wait(tasklet, kind, state)}",
              file=out)
        if kind == NEW:
            func, args = tasklet.call
            print(f"  will call {func!r} with {len(args)} argument(s)", file=out)
        for entry in reversed(tasklet.chain()):
            print_entry(entry, out)
    return 0


def print_entry(entry, out):
    if type(entry) is not Frame:
        print(f"  {entry.describe()}", file=out)
        return
    code = entry.code
    line = code.line_at(entry.pc)
    print(f'  File "{code.filename}", line {line}, in {code.name}', file=out)
    source = code.program.source_line(line) if code.program else ""
    if source:
        print(f"    {source}", file=out)
    values = local_values(entry)
    if values:
        print("    locals: " + ", ".join(f"{name}={short_repr(value)}"
                                         for name, value in values), file=out)


def local_values(frame):
    code = frame.code
    if frame.locals is None:
        return []
    values = [(name, value) for name, value in zip(code.varnames, frame.locals)
              if value is not EMPTY and not name.startswith(".")]
    if frame.cells:
        for name, cell in zip(code.cellvars + code.freevars, frame.cells):
            if cell.value is not EMPTY:
                values.append((name, cell.value))
    return values


def short_repr(value):
    try:
        text = repr(value)
    except Exception as exc:        # an app __repr__ that fails
        text = f"<unprintable: {exc}>"
    return text if len(text) <= 60 else text[:57] + "..."
