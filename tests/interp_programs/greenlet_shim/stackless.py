"""A second reference ``stackless`` for CPython runs of the corpus, on
greenlets, with stacklessxf's scheduling rules (round-robin run queue;
channels of preference -1: the receiver runs at once, the sender right
after it; an exception that ends a tasklet goes on in main; main waiting
with nothing runnable is a deadlock).  Greenlets switch anywhere, so it
runs the programs that switch inside operator methods or ``map``, which
stacklessxf refuses in plain CPython code."""

import collections

import greenlet


class TaskletExit(SystemExit):
    pass


class tasklet:
    def __init__(self, func=None, _main=False):
        self.func = func
        self.is_main = _main
        self.alive = _main
        self.blocked = False
        self.value = self.error = None
        self.greenlet = greenlet.getcurrent() if _main else None
        self.args = ()
        self.ended_with = None

    def __call__(self, *args):
        self.args = args
        self.greenlet = greenlet.greenlet(lambda *_: _body(self), parent=_main_greenlet)
        self.alive = True
        _queue.append(self)
        return self


_main_greenlet = greenlet.getcurrent()
_main = tasklet(_main=True)
_current = _main
_queue = collections.deque()


def getcurrent():
    return _current


def _run_queue(until_main):
    global _current
    while _queue:
        task = _queue.popleft()
        if task is _main:
            if until_main:
                return
            continue
        _current = task
        value, error, task.value, task.error = task.value, task.error, None, None
        try:
            if error is not None:
                task.greenlet.throw(error)
            else:
                task.greenlet.switch(value)
        finally:
            _current = _main
        if task.greenlet.dead:
            task.alive = False
            if task.ended_with is not None and not isinstance(task.ended_with, TaskletExit):
                raise task.ended_with
    if until_main:
        raise RuntimeError("Deadlock: the last runnable tasklet cannot be blocked.")


def _wait():
    """The current tasklet waits until it is taken from the queue again."""
    me = _current
    if me is _main:
        try:
            _run_queue(until_main=True)
        except BaseException:
            if me in _queue:
                _queue.remove(me)
            raise
        value, error, me.value, me.error = me.value, me.error, None, None
        if error is not None:
            raise error
        return value
    return _main_greenlet.switch()


def _body(task):
    try:
        task.func(*task.args)
        task.ended_with = None
    except BaseException as error:
        task.ended_with = error


def schedule():
    _queue.append(_current)
    return _wait()


def run():
    if _current is not _main:
        raise RuntimeError("run() must be called from the main tasklet")
    _run_queue(until_main=False)


class channel:
    def __init__(self):
        self.queue = collections.deque()   # (tasklet, direction, value)
        self.preference = -1

    @property
    def balance(self):
        return self.queue[0][1] * len(self.queue) if self.queue else 0

    def receive(self):
        if self.queue and self.queue[0][1] == 1:
            sender, _, value = self.queue.popleft()
            sender.blocked = False
            _queue.append(sender)
            return value
        return self._block(-1, None)

    def send(self, value):
        if self.queue and self.queue[0][1] == -1:
            receiver, _, _ = self.queue.popleft()
            receiver.blocked = False
            receiver.value = value
            _queue.appendleft(_current)
            _queue.appendleft(receiver)
            return _wait()
        return self._block(1, value)

    def _block(self, direction, value):
        me = _current
        entry = (me, direction, value)
        me.blocked = True
        self.queue.append(entry)
        try:
            return _wait()
        except BaseException:
            if entry in self.queue:
                self.queue.remove(entry)
            me.blocked = False
            raise
