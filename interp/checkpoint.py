"""Checkpoints: the whole app-level state of a program, and its resumption.

A checkpoint is a pickle of app-level data only: every live app tasklet
with its chain of entries (frames and named special entries), what it waits
for, the run queue's order, each channel's waiting tasklets in order, and
everything these reach (globals, instances, functions).  App code objects
are named by program file, path and fingerprint.  Nothing in it names a
record or a function of ``interp`` itself, so any build of the interpreter
resumes it: the resuming process rebuilds its own activations from the app
entries (``resume_entries``), nested as they were.
"""

import os
import pickle
import sys

import stacklessxf as sx
from stacklessxf import stackless
from stacklessxf.runtime.scheduler import _per_thread

from .eval import (collect_into, finish_class, finish_init, finish_operator, push, run_frame)
from .code import PUSHING_OPS
from .objects import ClassBody, Collecting, Frame, InitCheck, ReflectedOperator
from .tasklets import CHANNELS, TASKLETS, redo_operation, run_tasklet

FORMAT = "interp checkpoint 1"

# What a tasklet does when the resumed program reaches it.
NEW, REDO, DELIVER, PAUSED = "new", "redo", "deliver", "paused"


def snapshot():
    """The app-level state, from the current tasklet, before the switch
    operation it is about to make."""
    sched = _per_thread.scheduler
    current = sched.current.app
    queue = [task.app for task in sched.queue if hasattr(task, "app")]
    channels = [(channel, [entry[0].app for entry in channel.sx._waiting])
                for channel in CHANNELS if channel.sx._waiting]
    states = {}
    main = None
    for tasklet in TASKLETS:
        task = tasklet.sx
        if task is None or not task.alive:
            continue
        if tasklet.is_main:
            main = tasklet
        if tasklet is current or task.blocked:
            states[tasklet] = (REDO, None)
        elif task._call is not None:
            states[tasklet] = (NEW, None)
        elif task._queued:
            states[tasklet] = (DELIVER, (task._value, task._error))
        else:
            states[tasklet] = (PAUSED, (None, None))
    program = main.top
    while type(program) is not Frame or program.back is not main:
        program = program.back
    return {"format": FORMAT, "program": program.code.filename, "main": main,
            "current": current, "queue": queue, "channels": channels,
            "states": list(states.items())}


def write_checkpoint_and_exit(filename):
    state = snapshot()
    with open(filename, "wb") as f:
        pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class CheckpointError(Exception):
    """The file is not a checkpoint this interpreter can resume."""


def load_checkpoint(filename):
    """The state in ``filename``; app code is found again (and checked) as it
    loads."""
    with open(filename, "rb") as f:
        try:
            state = pickle.load(f)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise CheckpointError(f"{filename}: not an interp checkpoint ({exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{filename}: not an interp checkpoint")
    return state


def restore(state):
    """Rebuild the stacklessxf tasklets of a loaded checkpoint; return the
    main app tasklet, ready for the driver."""
    states = dict(state["states"])
    # Blocked tasklets make their operation again, in each channel's order:
    # with nobody on the other side, each one blocks where it was.
    for channel, waiting in state["channels"]:
        for tasklet in waiting:
            tasklet.start(resume_tasklet, REDO)
    sx.run()
    for channel, waiting in state["channels"]:
        for tasklet in waiting:
            if not tasklet.sx.blocked:
                raise CheckpointError(f"{tasklet!r} did not block again on {channel!r}")
    current = state["current"]
    current.start(resume_tasklet, REDO)
    for tasklet in state["queue"]:
        kind, deliver = states[tasklet]
        if kind == NEW:
            tasklet.start(run_tasklet)
        else:
            tasklet.deliver = deliver
            tasklet.start(resume_tasklet, DELIVER)
    for tasklet, (kind, deliver) in states.items():
        if kind == PAUSED:
            tasklet.deliver = deliver
            tasklet.start(resume_tasklet, DELIVER)
            tasklet.sx.remove()
    return state["main"]


@stackless
def resume_tasklet(tasklet, mode):
    if mode == REDO:
        try:
            value = redo_operation(tasklet)
            error = None
        except BaseException as caught:
            value, error = None, caught
    else:
        (value, error), tasklet.deliver = tasklet.deliver, None
    return resume_entries(tasklet.chain(), 0, value, error)


@stackless
def resume_entries(chain, index, value, error):
    """Go on with ``chain[index]`` once the entries inside it are done; the
    innermost gets ``value`` or ``error``, the result of the call it is
    stopped in."""
    if index + 1 < len(chain):
        try:
            value = resume_entries(chain, index + 1, value, error)
            error = None
        except BaseException as caught:
            value, error = None, caught
    return continue_entry(chain[index], value, error)


@stackless
def continue_entry(entry, value, error):
    kind = type(entry)
    if kind is Frame:
        deliver_to_frame(entry, value, error)
        return run_frame(entry)
    if error is not None:
        entry.tasklet.top = entry.back
        raise error
    if kind is InitCheck:
        return finish_init(entry, value)
    if kind is ReflectedOperator:
        return finish_operator(entry, value)
    if kind is Collecting:
        push(entry.items, value)
        return collect_into(entry)
    if kind is ClassBody:
        return finish_class(entry, value)
    raise CheckpointError(f"unknown entry {entry!r} in a checkpoint")


def deliver_to_frame(frame, value, error):
    """The frame is stopped at a calling instruction: hand it the result."""
    if error is not None:
        frame.error = error
        return
    op, _ = frame.code.instrs[frame.pc]
    if op in PUSHING_OPS:
        push(frame.stack, value)
    frame.pc += 1


def resume_checkpoint(filename):
    """Load ``filename`` and run the program it holds to the end."""
    from .runner import drive, finish
    return finish(drive(restore(load_checkpoint(filename))))
