"""The `records` report: resume points per function, then naive against ours."""


def format_report(analyses):
    """Every function's resume points with kind and live slots, then totals."""
    return "\n".join(format_functions(analyses) + [format_totals(analyses)])


def format_functions(analyses):
    """The report's lines for each function, without the totals."""
    lines = []
    for analysis in analyses:
        lines.append(f"{analysis.qualname}  ({analysis.filename}:{analysis.lineno})")
        if not analysis.resume_points:
            lines.append("  no resume points")
        for point in analysis.resume_points:
            live = ", ".join(point.live) or "-"
            lineno, col = point.span[:2]
            callee = point.callee
            if point.reason.startswith("guarded"):
                callee += " (guarded: plain when transformed)"
            lines.append(f"  rp{point.id}  {lineno}:{col}  {callee}  {point.label}  {live}")
    return lines


def format_totals(analyses):
    naive_records = sum(a.naive_records for a in analyses)
    naive_slots = sum(a.naive_slots for a in analyses)
    records = sum(a.records for a in analyses)
    slots = sum(a.slots for a in analyses)
    tail, stateless, stateful = (sum(a.count(kind) for a in analyses)
                                 for kind in ("tail", "stateless", "stateful"))
    return (f"total: naive {naive_records} records, {naive_slots} slots; "
            f"ours {records} records ({tail} tail, {stateless} stateless shared, "
            f"{stateful} stateful), {slots} slots")
