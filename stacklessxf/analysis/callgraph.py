"""Which stackless functions may switch: a fixpoint over the call graph.

A function may switch when one of its own calls is a switch primitive or a
callee that cannot be proven plain, or when it calls a stackless function
that may switch.  A stackless callee we know nothing about counts as one that
may switch.
"""

from stacklessxf.ir.model import CallSite

__all__ = ["CallSite", "may_switch", "may_switch_among", "switch_may_arrive"]

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


def may_switch_among(qualnames, analyses):
    """Those of ``qualnames`` (keys of ``analyses``) that :func:`may_switch`
    would return, found by searching only the part of the call graph they
    reach: a function may switch exactly when a function it reaches by
    stackless calls (itself included) makes a switching call or a stackless
    call out of ``analyses``.  Transforming a module function by function,
    each asks about its own callees, where the fixpoint went over the whole
    module for each."""
    return {qualname for qualname in qualnames if _reaches_a_switch(qualname, analyses)}


def _reaches_a_switch(start, analyses):
    seen, pending = {start}, [start]
    while pending:
        for call in analyses[pending.pop()].calls:
            if call.kind in SWITCHING:
                return True
            if call.kind == "stackless":
                if call.target not in analyses:
                    return True
                if call.target not in seen:
                    seen.add(call.target)
                    pending.append(call.target)
    return False


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
