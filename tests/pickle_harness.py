"""Pickling at every switch: a corpus case runs as a tasklet that the
watchdog interrupts at every tick where it can be suspended; each time the
tasklet is pickled, loaded, and the loaded copy goes on in its place.  One
of those pickles per case is also resumed in a fresh process.

The case's function is called by :func:`drive`, a stackless function that
puts the outcome in a list, ``box``; the tasklet, ``box`` and the case's
arguments are pickled together, so the copy's arguments are the ones its
records use (the case may mutate them).  The module's ``LOG`` is pickled by
reference (a record may hold ``LOG.append``): the copy appends to the
module's list, and in the fresh process to that module's, which starts
with what was logged before the pickle.
"""

import copy
import io
import os
import pickle
import subprocess
import sys

import stacklessxf as sx
from stacklessxf import stackless

from differential import Outcome, describe_exception, normalize, reset_module, resolve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Past this many ticks a case runs on without the watchdog.
MAX_PICKLES = 150


@stackless
def drive(target, args, kwargs, box):
    try:
        value = target(*args, **kwargs)
    except Exception as exc:
        box.append(("raise", exc))
    else:
        box.append(("return", value))


def run_pickling_at_every_switch(module, case, ticks=None):
    """Runs ``case`` of ``module`` (a transformed corpus load) as described
    above, pickling at every tick, or at the ticks numbered in ``ticks``
    (counted from 0; at the others the tasklet just goes on).  Returns its
    Outcome, the pickles made, in order, and the messages of the pickles
    refused (after which the tasklet went on)."""
    name, args, kwargs = case[:3]
    reset_module(module)
    target = resolve(module, name)
    args, kwargs, box = copy.deepcopy(args), copy.deepcopy(kwargs), []
    task = sx.tasklet(drive)(target, args, kwargs, box)
    pickles, refusals = [], []
    tick = 0
    while True:
        interrupted = sx.run(1 if tick < MAX_PICKLES else 0)
        if interrupted is None:
            break
        tick += 1
        if ticks is not None and tick - 1 not in ticks:
            interrupted.insert()
            continue
        interrupted.remove()
        try:
            pickles.append(dumps(module, (interrupted, box, args, kwargs, list(module.LOG))))
        except pickle.PicklingError as exc:
            refusals.append(str(exc))   # the tasklet must run on untouched
            interrupted.insert()
            continue
        task, box, args, kwargs, _ = loads(module, pickles[-1])
        _forget(interrupted)
        task.insert()
    return outcome_of(module, box, args, kwargs), pickles, refusals


def count_ticks(module, case):
    """How many ticks ``case`` is interrupted at (up to MAX_PICKLES) when
    nothing is pickled: the ticks run_pickling_at_every_switch can pick."""
    name, args, kwargs = case[:3]
    reset_module(module)
    box = []
    sx.tasklet(drive)(resolve(module, name), copy.deepcopy(args), copy.deepcopy(kwargs), box)
    tick = 0
    while True:
        interrupted = sx.run(1 if tick < MAX_PICKLES else 0)
        if interrupted is None:
            break
        tick += 1
        interrupted.insert()
    assert box, "the case's tasklet did not finish"
    return tick


class _Pickler(pickle.Pickler):
    def __init__(self, file, log):
        super().__init__(file)
        self.log = log

    def persistent_id(self, obj):
        return "LOG" if obj is self.log else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, log):
        super().__init__(file)
        self.log = log

    def persistent_load(self, pid):
        assert pid == "LOG", pid
        return self.log


def dumps(module, value):
    file = io.BytesIO()
    _Pickler(file, module.LOG).dump(value)
    return file.getvalue()


def loads(module, blob):
    return _Unpickler(io.BytesIO(blob), module.LOG).load()


def _forget(task):
    """The loaded copy goes on instead of ``task``, which must not: when
    collected, a suspended tasklet gets TaskletExit, which would run its
    ``finally`` blocks a second time."""
    task._alive = False


def outcome_of(module, box, args, kwargs):
    if not box:
        raise AssertionError("the case's tasklet did not finish")
    kind, value = box[0]
    result = ("raise", describe_exception(value)) if kind == "raise" else \
        ("return", normalize(value))
    snapshot = getattr(module, "snapshot_state", None)
    return Outcome(result=result, log=normalize(module.LOG),
                   arguments=normalize((args, kwargs)),
                   state=normalize(snapshot()) if snapshot is not None else None)


# -- the fresh process ---------------------------------------------------------

def resume_each(module, blobs):
    """The Outcome of resuming each pickle of ``blobs`` (made by
    run_pickling_at_every_switch on ``module``) here, each after the module
    is reset; for a pickle refused as stale, ``("stale", message)``."""
    outcomes = []
    for blob in blobs:
        reset_module(module)
        try:
            task, box, args, kwargs, log = loads(module, blob)
        except (sx.StaleCodeError, pickle.UnpicklingError) as exc:
            outcomes.append(("stale", str(exc)))
            continue
        module.LOG[:] = log
        task.insert()
        sx.run()
        outcomes.append(outcome_of(module, box, args, kwargs))
    return outcomes


CHILD = r"""
import importlib.util, pickle, sys
sys.path[:0] = [ROOT, ROOT + "/tests"]
from tests import pickle_harness
path, name, runs = pickle.load(sys.stdin.buffer)
spec = importlib.util.spec_from_file_location(name, path)
module = importlib.util.module_from_spec(spec)
sys.modules[name] = module
spec.loader.exec_module(module)
sys.stdout.buffer.write(pickle.dumps(pickle_harness.resume_each(module, runs)))
""".replace("ROOT", repr(ROOT), 2)


def resume_in_fresh_process(module, blobs, python=sys.executable):
    """The Outcomes of resuming each pickle of ``blobs`` (made by
    run_pickling_at_every_switch on ``module``) in one new interpreter,
    ``python``, that loads the module's file under the same name; for a
    pickle that interpreter refuses as stale, ``("stale", message)``."""
    request = pickle.dumps((module.__file__, module.__name__, blobs), protocol=4)
    done = subprocess.run([python, "-c", CHILD], input=request,
                          capture_output=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, f"{python}: {done.stderr.decode()}"
    return pickle.loads(done.stdout)
