"""``python -m interp records PROG.py``: how many interpreter-level records
an app switch leaves, per app frame, against the naive transform's count.

At every switch point, before the operation, the switching tasklet hands
control for a moment to an inspector tasklet (``tasklet.run()``): the
switching tasklet's activations become records, exactly those of the real
switch plus the inspector's own one (the switch operation's call of
``measure_switch``), which is left out.  The inspector reads them from the
tasklet's heap stack and, for the naive baseline, adds the activations that
left no record because their call was a tail call (the statistics' tail
counts of this unwinding) and the switch operation's own activation.
"""

import os
import sys
from collections import Counter

import stacklessxf as sx
from stacklessxf import stackless
from stacklessxf.runtime.records import SITES
from stacklessxf.runtime.stats import _naive_slots

from .objects import SPECIALS, Frame, Special
from .runner import drive, finish, start_program
from .tasklets import SWITCH_POINTS

# Functions whose records are the measuring's own, not the interpreter's.
INSTRUMENT = {"measure_switch", "schedule", "run", "AppChannel.send", "AppChannel.receive"}
# The interpreter function whose record holds an app frame.
EVAL_LOOP = "run_frame"
# The helper functions whose records are special entries, by kind.
SPECIAL_FUNCTIONS = {"call_class": "__init__ result check",
                     "instance_binary_op": "operator with reflected fallback",
                     "collect_into": "builtin consuming map",
                     "build_class": "class body"}


class Measurement:
    def __init__(self, number, tasklet, frames, specials, ours, naive, ours_slots,
                 naive_slots, special_records, unseen):
        self.unseen = unseen    # records of depth unwindings: tail calls inside unknown
        self.number, self.tasklet, self.frames, self.specials = number, tasklet, frames, specials
        self.ours, self.naive, self.ours_slots, self.naive_slots = ours, naive, ours_slots, \
            naive_slots
        self.special_records = special_records


MEASUREMENTS = []


# For each record seen so far (by id, the record kept alive with it): the
# naive records and slots it stands for, its own activation's and those of
# the tail calls just inside it.
NAIVE_OF_RECORD = {}
INTERP_DIRECTORY = os.path.dirname(os.path.abspath(__file__))


@stackless
def measure_switch(tasklet):
    inspector = sx.tasklet(inspect_switch)
    inspector(tasklet, live_activations(sys._getframe(1)))
    return inspector.run()


def live_activations(frame):
    """The interpreter's activations running in this tasklet, innermost
    first: the switch operation's, then the others (the measuring's own
    left out)."""
    activations = []
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == INTERP_DIRECTORY:
        if frame.f_code.co_qualname != "measure_switch":
            activations.append(frame.f_code.co_qualname)
        frame = frame.f_back
    return activations


def naive_slots_of(qualname):
    """Every variable of the function: what the naive transform saves."""
    for site in SITES:
        if site.function_info.qualname == qualname:
            return len(site.function_info.analysis.variables)
    return 0


def is_new(record):
    known = NAIVE_OF_RECORD.get(id(record))
    return known is None or known[0] is not record


def attribute(new_records, activations):
    """Match the records this unwinding made (innermost first) with the
    activations that were running: an activation that made no record made a
    tail call, and counts with the record just outside it.  Returns the
    naive records and slots outside every new record."""
    records = slots = 0
    index = 0
    for name in activations:
        records += 1
        if index < len(new_records) and \
                SITES[new_records[index][0]].function_info.qualname == name:
            record = new_records[index]
            slots += _naive_slots(SITES[record[0]])
            NAIVE_OF_RECORD[id(record)] = (record, records, slots)
            records = slots = 0
            index += 1
        else:
            slots += naive_slots_of(name)
    return records, slots


def inspect_switch(tasklet, activations):
    stack = [record for record in tasklet.sx._stack
             if SITES[record[0]].function_info.qualname not in INSTRUMENT]
    new_records = [record for record in reversed(stack) if is_new(record)]
    base_records, base_slots = attribute(new_records, activations)
    if not hasattr(tasklet, "naive_base"):
        tasklet.naive_base = (base_records, base_slots)
    naive, naive_slots = tasklet.naive_base
    unseen = 0
    for record in stack:
        # A record of a depth unwinding (never seen at a switch) counts once.
        known = NAIVE_OF_RECORD.get(id(record))
        if known is None or known[0] is not record:
            unseen += 1
            known = (record, 1, _naive_slots(SITES[record[0]]))
        naive += known[1]
        naive_slots += known[2]
    special_records = Counter()
    for record in stack:
        site = SITES[record[0]]
        if site.function_info.qualname != EVAL_LOOP:
            special_records[(site.function_info.qualname, site.name)] += 1
    frames = specials = 0
    entry = tasklet.top
    while entry is not tasklet:
        if type(entry) is Frame:
            frames += 1
        elif isinstance(entry, Special):
            specials += 1
        entry = entry.back
    MEASUREMENTS.append(Measurement(len(MEASUREMENTS) + 1, tasklet, frames, specials,
                                    len(stack), naive,
                                    sum(len(record) - 1 for record in stack), naive_slots,
                                    special_records, unseen))


def measure_program(filename, out=None):
    out = out or sys.stdout
    SWITCH_POINTS.measure = measure_switch
    status = finish(drive(start_program(filename)))
    SWITCH_POINTS.measure = None
    sys.stdout.flush()
    print_report(MEASUREMENTS, out)
    return status


def print_report(measurements, out):
    print("\nswitch  tasklet     app frames  specials  records (ours/naive)  "
          "slots (ours/naive)", file=out)
    for m in measurements:
        print(f"{m.number:6}  {str(m.tasklet.number) + (' main' if m.tasklet.is_main else ''):10}"
              f"  {m.frames:10}  {m.specials:8}  {m.ours:9} / {m.naive:<8}  "
              f"{m.ours_slots:8} / {m.naive_slots}", file=out)
    specials = Counter()
    for m in measurements:
        specials.update(m.special_records)
    print("\nspecial records:", "none" if not specials else "", file=out)
    for (function, site), count in sorted(specials.items()):
        kind = SPECIAL_FUNCTIONS.get(function)
        reason = SPECIALS[kind] if kind else "not a documented special: an interpreter " \
                                             "helper keeps a record here"
        print(f"  {function} at {site}: {count} time{'s' if count != 1 else ''} "
              f"({kind or 'unexpected'}): {reason}", file=out)
    frames = sum(m.frames for m in measurements)
    print(file=out)
    unseen = sum(m.unseen for m in measurements)
    if unseen:
        print(f"{unseen} records on the chains were left by unwindings for depth, where the "
              f"tail calls inside them are not seen: naive counts each of them once", file=out)
    if not frames:
        print("no app-level switch: nothing to measure", file=out)
        return
    print(f"slots per app frame: naive {sum(m.naive_slots for m in measurements) / frames:.2f}, "
          f"ours {sum(m.ours_slots for m in measurements) / frames:.2f}", file=out)
    print(f"records per app frame: naive {sum(m.naive for m in measurements) / frames:.2f}, "
          f"ours {sum(m.ours for m in measurements) / frames:.2f}", file=out)
