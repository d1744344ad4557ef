"""sx.stats(): records saved by unwinding, against the naive transform."""

import subprocess
import sys

import pytest

import stacklessxf as sx
from tests import unwinding_cases as cases


def _most_unwindings(deep):
    """Each unwinding takes at least a quarter of the limit's frames: it
    starts past a third of the limit (runtime/depth.py)."""
    return deep // (sys.getrecursionlimit() // 4) + 1


@pytest.mark.usefixtures("deep_records")
def test_stateful_records_are_counted_with_their_slots():
    sx.reset_stats()
    xs = list(range(5000))
    assert cases.total(xs, 0) == sum(xs)
    stats = sx.stats()
    assert stats.records_saved > 4000 and stats.records_elided == 0
    # total(xs, i) keeps one value (xs[i]) where the naive transform keeps
    # xs, i and that value; the record where an unwinding starts (the
    # refused call's retry) keeps xs, i and xs[i].
    assert stats.slots_saved < stats.records_saved * 1.1
    assert stats.naive_slots == 3 * stats.naive_records
    assert stats.naive_records == stats.records_saved


@pytest.mark.usefixtures("deep_records")
def test_tail_calls_are_counted_as_elided():
    sx.reset_stats()
    assert cases.tail_count(5000, 0) == 5000 * 5001 // 2
    stats = sx.stats()
    assert stats.records_elided > 4000
    # Only where each unwinding starts: the refused call's retry record.
    assert stats.records_saved <= _most_unwindings(5000)
    assert stats.naive_records == stats.records_saved + stats.records_elided


@pytest.mark.usefixtures("deep_records")
def test_stateless_records_are_shared():
    sx.reset_stats()
    assert cases.stateless_steps(4001) == 1
    stats = sx.stats()
    assert stats.shared_records_used > 3000
    assert stats.slots_saved < stats.records_saved


def test_reset():
    cases.total(list(range(3000)), 0)
    sx.reset_stats()
    assert sx.stats() == sx.stats().__class__(0, 0, 0, 0, 0, 0)


def test_records_cli_runs_a_workload(tmp_path):
    module = tmp_path / "workload_module.py"
    module.write_text(
        "from stacklessxf import stackless\n\n"
        "@stackless\n"
        "def total(xs, i):\n"
        "    if i == len(xs):\n"
        "        return 0\n"
        "    return xs[i] + total(xs, i + 1)\n\n"
        "def workload():\n"
        "    total(list(range(3000)), 0)\n")
    done = subprocess.run(
        [sys.executable, "-m", "stacklessxf", "records", str(module),
         "--run", f"{module}:workload"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "stateful(1)" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"run {module}:workload: unwound activations:")
    assert "naive" in last
