"""The app's ``stackless`` module: tasklets, channels, ``schedule``, ``run``
and ``getcurrent``, with stacklessxf's semantics.

Every app tasklet, the program's main one included, runs in a stacklessxf
tasklet of its own, so an app switch is a stacklessxf switch and the
interpreter's activations become records.  The process's own main tasklet
is the driver (:mod:`interp.runner`): it plays the part stacklessxf gives to
the main tasklet (an exception that ends a tasklet goes on in the app's
main tasklet; ``run()`` returns when no other tasklet is runnable).

Every call of ``schedule``, ``send``, ``receive`` and ``run`` is a *switch
point*: it is counted, and a checkpoint is written at the K-th one, before
the operation; the operation an app tasklet is in is kept in its ``op``, so
a checkpoint knows what each suspended tasklet waits for.
"""

import stacklessxf as sx
from stacklessxf import stackless

from .eval import call_value
from .objects import BUILTINS, MODULES, AppModule, Builtin


class SwitchPoints:
    """Counts switch points; writes the checkpoint, or measures records."""

    def __init__(self):
        self.count = 0
        self.checkpoint_at = 0
        self.checkpoint_file = None
        self.measure = None         # records: called (stackless) at each switch point



SWITCH_POINTS = SwitchPoints()


def switch_point(tasklet):
    points = SWITCH_POINTS
    points.count += 1
    if points.count == points.checkpoint_at:
        from .checkpoint import write_checkpoint_and_exit
        write_checkpoint_and_exit(points.checkpoint_file)
TASKLETS = []       # every app tasklet, in creation order
CHANNELS = []
LAST_NUMBER = [0]   # tasklets are numbered 1, 2, ... in the order the program made them


class AppTasklet:
    """An app tasklet.  It is also the root of its chain of app entries: the
    outermost frame's ``back``."""

    def __init__(self, func=None, is_main=False):
        self.func = func
        self.is_main = is_main
        LAST_NUMBER[0] += 1
        self.number = LAST_NUMBER[0]
        self.sx = None              # the stacklessxf tasklet running it
        self.call = None            # (function, args) until it starts
        self.top = self             # the innermost entry of its chain
        self.back = None
        self.tasklet = self
        self.op = None              # the switch operation it is in
        self.deliver = None         # (value, error) to go on with, after a resume
        TASKLETS.append(self)

    def __call__(self, *args):
        if self.sx is not None:
            raise RuntimeError("tasklet is already set up")
        self.call = (self.func, list(args))
        self.start(run_tasklet)
        return self

    def start(self, body, *args):
        self.sx = sx.tasklet(body)(self, *args)
        self.sx.app = self

    @property
    def alive(self):
        return self.sx is not None and self.sx.alive

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["sx"], state["top"]
        state["chain"] = self.chain()
        return state

    def __setstate__(self, state):
        chain = state.pop("chain")
        self.__dict__.update(state)
        self.sx = None
        self.top = self
        for entry in chain:
            entry.back, self.top = self.top, entry
        TASKLETS.append(self)
        LAST_NUMBER[0] = max(LAST_NUMBER[0], self.number)

    def chain(self):
        """The entries of the tasklet's chain, outermost first."""
        entries = []
        entry = self.top
        while entry is not self:
            entries.append(entry)
            entry = entry.back
        entries.reverse()
        return entries

    def __repr__(self):
        return f"<tasklet {self.number}{' (main)' if self.is_main else ''}>"


@stackless
def run_tasklet(tasklet):
    func, args = tasklet.call
    tasklet.call = None
    return call_value(func, args, None, tasklet)


def current_tasklet():
    return sx.getcurrent().app


class NestedRoot:
    """The root of app calls made outside every app tasklet (printing a
    checkpoint's values calls their ``__repr__``)."""

    def __init__(self):
        self.top = self.tasklet = self
        self.back = None


def current_entry():
    tasklet = getattr(sx.getcurrent(), "app", None)
    return tasklet.top if tasklet is not None else NestedRoot()


def getcurrent(args, kwargs, caller):
    return current_tasklet()


class AppChannel:
    def __init__(self):
        self.sx = sx.channel()
        CHANNELS.append(self)

    @property
    def balance(self):
        return self.sx.balance

    @property
    def preference(self):
        return self.sx.preference

    @preference.setter
    def preference(self, value):
        self.sx.preference = value

    @stackless
    def send(self, args, kwargs, caller):
        value, = args
        tasklet = current_tasklet()
        tasklet.op = ("send", self, value)
        switch_point(tasklet)
        if SWITCH_POINTS.measure is not None:
            SWITCH_POINTS.measure(tasklet)
        return self.sx.send(value)

    @stackless
    def receive(self, args, kwargs, caller):
        tasklet = current_tasklet()
        tasklet.op = ("receive", self)
        switch_point(tasklet)
        if SWITCH_POINTS.measure is not None:
            SWITCH_POINTS.measure(tasklet)
        return self.sx.receive()

    def __getstate__(self):
        # The waiting tasklets are the checkpoint's to restore, in order.
        return {"preference": self.sx.preference}

    def __setstate__(self, state):
        self.sx = sx.channel()
        self.sx.preference = state["preference"]
        CHANNELS.append(self)

    def __repr__(self):
        return "<channel>"


# The app calls a channel's send and receive as builtins bound to it.
AppChannel.app_methods = {"send": AppChannel.send, "receive": AppChannel.receive}


@stackless
def schedule(args, kwargs, caller):
    tasklet = current_tasklet()
    tasklet.op = ("schedule",)
    switch_point(tasklet)
    if SWITCH_POINTS.measure is not None:
        SWITCH_POINTS.measure(tasklet)
    return sx.schedule(None)


@stackless
def run(args, kwargs, caller):
    """From the main tasklet: wait until no other tasklet is runnable.  The
    main tasklet leaves the run queue; the driver puts it back when the
    queue is empty."""
    tasklet = current_tasklet()
    if not tasklet.is_main:
        raise RuntimeError("run() must be called from the main tasklet")
    tasklet.op = ("run",)
    switch_point(tasklet)
    if SWITCH_POINTS.measure is not None:
        SWITCH_POINTS.measure(tasklet)
    return sx.schedule_remove(None)


@stackless
def redo_operation(tasklet):
    """Make again the switch operation ``tasklet`` was in when a checkpoint
    caught it before the operation took place (or blocked in it)."""
    op = tasklet.op
    if op[0] == "schedule":
        return sx.schedule(None)
    if op[0] == "send":
        return op[1].sx.send(op[2])
    if op[0] == "receive":
        return op[1].sx.receive()
    return sx.schedule_remove(None)


# The module's functions are builtins (called by the evaluation loop's own
# call, so that a switch can pass through it by return); its classes are
# Python classes, called as such.
for _name, _fn in (("schedule", schedule), ("run", run), ("getcurrent", getcurrent)):
    BUILTINS[f"stackless.{_name}"] = Builtin(f"stackless.{_name}", _fn)
MODULES["stackless"] = AppModule("stackless", {
    "tasklet": AppTasklet, "channel": AppChannel,
    **{name: BUILTINS[f"stackless.{name}"] for name in ("schedule", "run", "getcurrent")},
})
