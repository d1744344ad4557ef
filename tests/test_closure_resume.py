"""Records of functions with free variables: their resume entries need the
record's cells, so each resume makes a function.  The C loop makes it from
the site's closure entry, with each record's own cells."""

import pytest

import stacklessxf as sx
from stacklessxf.runtime.records import SITES


def counters(label, log):
    """A stackless closure over ``label`` and ``seen``, which it updates."""
    seen = []

    @sx.stackless
    def count(n):
        for i in range(n):
            seen.append(i)
            log.append((label, len(seen)))
            sx.schedule()
        return label, seen

    return count


@pytest.mark.usefixtures("scheduler_loop")
def test_each_record_resumes_with_its_own_cells():
    log = []
    first, second = counters("a", log), counters("b", log)
    tasks = [sx.tasklet(first)(3), sx.tasklet(second)(3)]
    sx.run()
    assert log == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3)]
    assert [t._value for t in tasks] in ([None, None], [("a", [0, 1, 2]), ("b", [0, 1, 2])])


@pytest.mark.usefixtures("scheduler_loop")
def test_a_record_whose_cell_slot_holds_no_cell_is_refused():
    log = []
    count = counters("c", log)
    task = sx.tasklet(count)(5)
    sx.schedule()       # the tasklet runs to its first switch
    assert log == [("c", 1)] and len(task._stack) == 1
    record = task._stack[-1]
    site = SITES[record[0]]
    cells = [i + 1 for i, slot in enumerate(site.slots) if slot.kind == "cell"]
    assert cells, site.slots
    broken = list(record)
    broken[cells[0]] = "not a cell"
    task._stack[-1] = tuple(broken)
    with pytest.raises(TypeError, match="cell"):
        sx.run()
    assert not task.alive
