"""The records report: per-function resume points and the naive/ours totals."""

from stacklessxf.analysis.report import format_report
from tests.test_analysis import analyze_source
from tests.test_ir import DEPTH, FIB

MIXED = """
def f(a, b):
    c = s_keep(a)
    s_last(b + c)
    return s_tail()
"""

QUIET = """
def quiet(x):
    return x + 1
"""


def test_report_lists_every_resume_point_then_the_totals():
    analyses = [analyze_source(DEPTH), analyze_source(FIB), analyze_source(MIXED)]
    lines = format_report(analyses).splitlines()
    assert lines[0] == "depth  (sample.py:2)"
    assert lines[1].startswith("  rp0  5:19  s_depth  stateful(2)  node, $t")
    assert lines[3] == "s_fib  (sample.py:2)"
    assert lines[4] == "  rp0  5:11  s_fib  stateful(1)  n"
    assert lines[7] == "  rp0  3:8  s_keep  stateful(1)  b"
    assert lines[8] == "  rp1  4:4  s_last  stateless  -"
    assert lines[9] == "  rp2  5:11  s_tail  tail  -"
    # naive: depth 2+3, fib 1+2, f 3+3+3 slots; ours: depth 2+2, fib 1+1, f 1
    assert lines[-1] == ("total: naive 7 records, 17 slots; ours 6 records "
                         "(1 tail, 1 stateless shared, 5 stateful), 7 slots")
    assert len(lines) == 11


def test_report_of_a_function_without_resume_points():
    text = format_report([analyze_source(QUIET)])
    assert text.splitlines() == [
        "quiet  (sample.py:2)",
        "  no resume points",
        "total: naive 0 records, 0 slots; ours 0 records "
        "(0 tail, 0 stateless shared, 0 stateful), 0 slots",
    ]


def test_report_totals_agree_with_the_analyses():
    analyses = [analyze_source(DEPTH), analyze_source(MIXED)]
    total = format_report(analyses).splitlines()[-1]
    records = sum(a.records for a in analyses)
    slots = sum(a.slots for a in analyses)
    naive = sum(a.naive_records for a in analyses)
    assert total.startswith(f"total: naive {naive} records")
    assert total.endswith(f"ours {records} records (1 tail, 1 stateless shared, "
                          f"3 stateful), {slots} slots")


def test_report_names_guarded_calls():
    """A call of a plain Python function is a guarded resume point: the
    report says so, since the callee was plain when the caller was
    transformed."""
    from stacklessxf import registered_functions
    from stacklessxf.analysis.report import format_functions
    from tests import rebinding_cases

    info = next(i for i in registered_functions(rebinding_cases.__name__)
                if i.qualname == "calls_later")
    lines = format_functions([info.analysis])
    assert lines[1].startswith("  rp0  ") and \
        "later (guarded: plain when transformed)" in lines[1]
