"""Record statistics: what unwinding has saved since start (or a reset),
next to what the naive transform would have saved for the same unwindings."""

from collections import namedtuple

from . import native_loop
from .records import SITE_COUNTS, SITES, Slot

# A named tuple rather than a dataclass: dataclasses imports inspect, which
# would double the time ``import stacklessxf`` takes.
_FIELDS = (
    "records_saved",        # records made (stateful, and shared stateless ones)
    "records_elided",       # tail calls unwound without a record
    "shared_records_used",  # of records_saved: the shared stateless records
    "slots_saved",          # values held by the records made
    "naive_records",        # one record per unwound activation
    "naive_slots",          # every local (and temporary) of each of them
    # Of records_saved: (kind, count) of the special records, those standing
    # for C code the interpreter calls stackless code from, and those saved
    # at a with statement's calls of its manager.
    "specials",
)


class Stats(namedtuple("Stats", _FIELDS, defaults=((),))):
    __slots__ = ()

    def format(self):
        text = (f"unwound activations: {self.naive_records}; records: ours "
                f"{self.records_saved} ({self.shared_records_used} shared stateless, "
                f"{self.records_elided} tail calls without one), naive "
                f"{self.naive_records}; slots: ours {self.slots_saved}, naive "
                f"{self.naive_slots}")
        if self.specials:
            text += "; " + ", ".join(f"{kind} {count}" for kind, count in self.specials)
        return text


def stats():
    """The record statistics since start or the last ``reset_stats()``."""
    native_loop.flush_site_counts()
    saved = elided = shared = slots = naive_slots = 0
    specials = {}
    for site, count in zip(SITES, SITE_COUNTS):
        if not count:
            continue
        if site.kind.startswith("special:"):
            specials[site.kind] = specials.get(site.kind, 0) + count
        naive_slots += count * _naive_slots(site)
        if site.kind == "tail":
            elided += count
            continue
        saved += count
        slots += count * len(site.slots)
        if not site.slots:
            shared += count
    return Stats(saved, elided, shared, slots, saved + elided, naive_slots,
                 tuple(sorted(specials.items())))


def reset_stats():
    native_loop.flush_site_counts()
    SITE_COUNTS[:] = [0] * len(SITE_COUNTS)


def _naive_slots(site):
    """The naive transform saves every variable of the function, and the
    temporaries alive at the call."""
    temporaries = sum(1 for slot in site.slots if slot.kind == Slot.STACK)
    analysis = site.function_info.analysis
    return len(analysis.variables) + temporaries
