"""Which stackless functions may switch: a fixpoint over the call graph.

A function may switch when one of its own calls is a switch primitive or a
callee that cannot be proven plain, or when it calls a stackless function
that may switch.  A stackless callee we know nothing about counts as one that
may switch.
"""

from stacklessxf.ir.model import CallSite

__all__ = ["CallSite", "may_switch", "switch_may_arrive"]

SWITCHING = frozenset({"switch", "unknown"})


def may_switch(analyses):
    """The qualnames, among the keys of `analyses`, of the functions that may switch."""
    switching = {
        qualname for qualname, analysis in analyses.items()
        if any(call.kind in SWITCHING for call in analysis.calls)
    }
    changed = True
    while changed:
        changed = False
        for qualname, analysis in analyses.items():
            if qualname not in switching and _calls_switching(analysis, analyses, switching):
                switching.add(qualname)
                changed = True
    return switching


def _calls_switching(analysis, analyses, switching):
    return any(call.kind == "stackless" and _target_may_switch(call, analyses, switching)
               for call in analysis.calls)


def _target_may_switch(call, analyses, switching):
    return call.target not in analyses or call.target in switching


def switch_may_arrive(call, analyses, switching):
    """Whether a switch may end ``call``, given ``switching``, what
    :func:`may_switch` returned for ``analyses``: a switch primitive, a
    callee that cannot be proven plain, or a stackless function that may
    switch (one not among ``analyses`` may)."""
    return call.kind in SWITCHING or (
        call.kind == "stackless" and _target_may_switch(call, analyses, switching))
