"""The reference ``stackless`` for CPython runs of the corpus: stacklessxf's
own tasklets (the program's functions are decorated by reference.py)."""

from stacklessxf import channel, getcurrent, run, schedule, tasklet

__all__ = ["tasklet", "channel", "schedule", "run", "getcurrent"]
