"""interp: a corpus of app programs run by the interpreter, checkpointed at
every switch point and resumed, and resumed by a modified build of interp,
always printing what CPython prints for the same program."""

import gc
import os
import pickletools
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import interp.checkpoint  # noqa: F401  (transformed once, before the forks)
import interp.cli
import interp.frames  # noqa: F401
import interp.records  # noqa: F401
import interp.runner  # noqa: F401
from stacklessxf.runtime import depth

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "interp_programs")
sys.path.insert(0, PROGRAMS)
from reference import last_line, run_reference  # noqa: E402

# The reference each program runs under in CPython: stacklessxf itself with
# every function decorated, or the greenlet shim for the programs that
# switch where stacklessxf refuses in plain code (operator methods, map).
CORPUS = {"recursion": "stacklessxf", "classes": "stacklessxf", "closures": "stacklessxf",
          "exceptions": "stacklessxf", "channels": "stacklessxf", "specials": "greenlet",
          "uncaught": "stacklessxf"}
QUICK = [name for name in CORPUS if name != "recursion"]


def program(name):
    return os.path.join(PROGRAMS, name + ".py")


@pytest.fixture(scope="module", autouse=True)
def warm_interpreter(tmp_path_factory):
    """Run the corpus once in this process, then forget its state.

    stacklessxf builds a function's resume entry for a call site the first
    time an activation is resumed there, and for the evaluation loop (a
    large function) that takes seconds; the forked runs below inherit what
    is built here instead of each building it again."""
    import io
    from interp import checkpoint, program as programs, records, runner, tasklets

    def forget():
        del tasklets.TASKLETS[:], tasklets.CHANNELS[:], records.MEASUREMENTS[:]
        records.NAIVE_OF_RECORD.clear()
        programs._PROGRAMS.clear()
        tasklets.SWITCH_POINTS.count = 0
        tasklets.LAST_NUMBER[0] = 0

    workdir = tmp_path_factory.mktemp("warm")
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = io.StringIO()
    try:
        for name in QUICK:
            runner.run_program(program(name))
        forget()
        file = workdir / "warm.ckpt"
        run_interp(["run", program("specials"), "--checkpoint-at", "5", "--checkpoint",
                    str(file)], workdir)
        checkpoint.resume_checkpoint(str(file))
    finally:
        sys.stdout, sys.stderr = saved
        forget()


def run_interp(argv, tmp_path):
    """``python -m interp ARGV`` in a fresh process forked from this one
    (interp is imported, nothing has run): (stdout, stderr, status)."""
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 99
        # A fresh interpreter has no gc callbacks; other test modules leave
        # some in this process (hypothesis does), which the child would run
        # in the middle of a deep recursion.
        gc.callbacks.clear()
        try:
            with open(out_path, "w") as out, open(err_path, "w") as err:
                sys.stdout, sys.stderr = out, err
                try:
                    status = interp.cli.main(argv)
                except SystemExit as exc:
                    status = exc.code if isinstance(exc.code, int) else 2
                except BaseException:
                    import traceback
                    traceback.print_exc()
                out.flush()
                err.flush()
        finally:
            os._exit(status or 0)
    _, status = os.waitpid(pid, 0)
    return out_path.read_text(), err_path.read_text(), os.waitstatus_to_exitcode(status)


_references = {}


def reference(name, tmp_path_factory):
    if name not in _references:
        workdir = tmp_path_factory.mktemp("reference")
        _references[name] = run_reference(program(name), str(workdir), CORPUS[name])
    return _references[name]


def assert_same(result, expected):
    out, err, status = result
    expected_out, expected_last, expected_status = expected
    assert out == expected_out
    assert last_line(err) == expected_last
    assert status == expected_status


def checkpoint_and_resume(name, k, tmp_path, resume=None):
    """Output of ``run --checkpoint-at k`` followed by ``resume`` (None when
    the program ended before k switch points)."""
    file = tmp_path / f"k{k}.ckpt"
    out, err, status = run_interp(["run", program(name), "--checkpoint-at", str(k),
                                   "--checkpoint", str(file)], tmp_path)
    if not file.exists():
        return None, (out, err, status)
    assert status == 0 and err == "", err
    more_out, more_err, more_status = (resume or run_interp)(["resume", str(file)], tmp_path)
    return file, (out + more_out, more_err, more_status)


@pytest.mark.parametrize("name", QUICK)
def test_run_prints_what_cpython_prints(name, tmp_path, tmp_path_factory):
    assert_same(run_interp(["run", program(name)], tmp_path), reference(name, tmp_path_factory))


@pytest.mark.parametrize("name", QUICK)
def test_checkpoint_at_every_switch_point_then_resume(name, tmp_path, tmp_path_factory):
    expected = reference(name, tmp_path_factory)
    k = 1
    while True:
        file, result = checkpoint_and_resume(name, k, tmp_path)
        assert_same(result, expected)
        if file is None:
            break
        k += 1
    assert k > 3, "the program should switch a few times"


NEEDS_EARLY_REFUSALS = pytest.mark.skipif(
    depth.REFUSED is None, reason="without the C extension _stacklessxf_depth the recursion "
    "limit is met in the interpreter's plain helpers")


@NEEDS_EARLY_REFUSALS
def test_recursion_100000_deep_runs_and_resumes_at_the_bottom(tmp_path, tmp_path_factory):
    expected = reference("recursion", tmp_path_factory)
    assert_same(run_interp(["run", program("recursion")], tmp_path), expected)
    # The third switch point is the schedule() 100,000 frames down.
    file, result = checkpoint_and_resume("recursion", 3, tmp_path)
    assert file is not None
    assert_same(result, expected)


@pytest.mark.slow
@NEEDS_EARLY_REFUSALS
def test_recursion_checkpoint_at_every_switch_point(tmp_path, tmp_path_factory):
    expected = reference("recursion", tmp_path_factory)
    for k in range(1, 10):
        file, result = checkpoint_and_resume("recursion", k, tmp_path)
        assert_same(result, expected)
        if file is None:
            break


def test_the_two_references_agree(tmp_path):
    # The greenlet shim stands in for stacklessxf where stacklessxf refuses
    # to switch in plain code; where both run, they print the same.
    for name in ("classes", "channels"):
        assert run_reference(program(name), str(tmp_path), "greenlet") == \
            run_reference(program(name), str(tmp_path), "stacklessxf")


# -- the checkpoint holds app-level state only --------------------------------

ALLOWED_GLOBALS = {("interp.code", "find_code"), ("interp.objects", "builtin_named"),
                   ("interp.objects", "app_module_named")}


def referenced_globals(file):
    names, strings = set(), []
    with open(file, "rb") as f:
        for op, arg, _ in pickletools.genops(f):
            if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                strings.append(arg)
            elif op.name == "STACK_GLOBAL":
                names.add((strings[-2], strings[-1]))
            elif op.name == "GLOBAL":
                names.add(tuple(arg.split(" ", 1)))
    return names


def test_a_checkpoint_names_app_objects_and_no_interpreter_function(tmp_path):
    file, _ = checkpoint_and_resume("specials", 4, tmp_path)
    names = referenced_globals(file)
    assert ("interp.code", "find_code") in names
    for module, name in names:
        assert not module.startswith("stacklessxf"), (module, name)
        if module.startswith("interp."):
            assert (module, name) in ALLOWED_GLOBALS or module == "interp.objects" and \
                name[0].isupper() or module == "interp.tasklets" and name[0].isupper(), \
                (module, name)


def modified_build(tmp_path):
    """A copy of interp/ whose every module moved down a line and whose
    argument decoding and special helpers have edited bodies."""
    source = os.path.dirname(interp.cli.__file__)
    copy = tmp_path / "build" / "interp"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.glob("*.py"):
        path.write_text("# a line that moves every function down\n" + path.read_text())
    eval_path = copy / "eval.py"
    text = eval_path.read_text()
    for old, new in (("    code = func.code\n    count = code.argcount\n",
                      "    code = func.code\n    edited = True\n    count = code.argcount\n"),
                     ("def finish_init(entry, result):\n",
                      "def finish_init(entry, result):\n    assert entry is not None\n")):
        assert old in text
        text = text.replace(old, new, 1)
    eval_path.write_text(text)
    return copy.parent


def resume_with_build(build):
    def resume(argv, tmp_path):
        code = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(build)!r})
            import interp.cli
            assert interp.cli.__file__.startswith({str(build)!r}), interp.cli.__file__
            sys.exit(interp.cli.main({argv!r}))
        """)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=str(tmp_path), timeout=300)
        return done.stdout, done.stderr, done.returncode
    return resume


@pytest.mark.parametrize("name,k", [("specials", 7), ("channels", 9)])
def test_a_modified_build_of_interp_resumes_a_checkpoint(name, k, tmp_path, tmp_path_factory):
    resume = resume_with_build(modified_build(tmp_path))
    file, result = checkpoint_and_resume(name, k, tmp_path, resume)
    assert file is not None
    assert_same(result, reference(name, tmp_path_factory))


def test_changed_app_code_is_refused_naming_the_function(tmp_path):
    prog = tmp_path / "prog.py"
    shutil.copy(program("classes"), prog)
    file = tmp_path / "ck"
    run_interp(["run", str(prog), "--checkpoint-at", "3", "--checkpoint", str(file)], tmp_path)
    prog.write_text(prog.read_text().replace("self.side * self.side", "self.side ** 2"))
    out, err, status = run_interp(["resume", str(file)], tmp_path)
    assert status == 2 and out == ""
    assert "Square.area" in err and "changed since the checkpoint" in err


def test_a_program_that_ends_before_k_writes_no_checkpoint(tmp_path, tmp_path_factory):
    file = tmp_path / "never"
    result = run_interp(["run", program("closures"), "--checkpoint-at", "1000",
                         "--checkpoint", str(file)], tmp_path)
    assert not file.exists()
    assert_same(result, reference("closures", tmp_path_factory))


# -- errors and tracebacks ---------------------------------------------------------

def test_app_traceback_names_file_line_and_function_as_cpython(tmp_path):
    out, err, status = run_interp(["run", program("uncaught")], tmp_path)
    # The greenlet shim runs the file itself, so its lines are the file's.
    env = dict(os.environ, PYTHONPATH=os.path.join(PROGRAMS, "greenlet_shim"))
    done = subprocess.run([sys.executable, program("uncaught")], capture_output=True,
                          text=True, env=env)
    assert status == done.returncode == 1
    assert out == done.stdout

    def frames(text):
        return [line for line in text.splitlines() if line.startswith("  File")]
    assert frames(err) == frames(done.stderr)
    assert len(frames(err)) == 3
    assert err.splitlines()[-1] == "ZeroDivisionError: integer division or modulo by zero"


@pytest.mark.parametrize("source,line,construct", [
    ("x = 1\ny = [i for i in range(3)]\n", 2, "a list comprehension"),
    ("def f(*args):\n    return args\n", 1, "*args"),
    ("import os\n", 1, "import of 'os'"),
    ("x = 1\n\nx = f'{x}'\n", 3, "an f-string"),
])
def test_a_construct_outside_the_app_subset_names_file_and_line(source, line, construct,
                                                                tmp_path):
    prog = tmp_path / "bad.py"
    prog.write_text(source)
    out, err, status = run_interp(["run", str(prog)], tmp_path)
    assert status == 2 and out == ""
    assert f"{prog}:{line}: " in err and construct in err, err


# -- records and frames ---------------------------------------------------------------

def records_report(name, tmp_path):
    out, err, status = run_interp(["records", program(name)], tmp_path)
    assert status == 0, err
    return out


def test_records_without_specials_are_one_per_app_frame(tmp_path):
    out = records_report("channels", tmp_path)
    last = out.strip().splitlines()[-1]
    match = re.fullmatch(r"records per app frame: naive (\d+\.\d\d), ours (\d+\.\d\d)", last)
    assert match, last
    assert match.group(2) == "1.00"
    assert float(match.group(1)) > 2
    assert re.search(r"^slots per app frame: naive \d+\.\d\d, ours \d+\.\d\d$", out, re.M)
    assert "special records: none" in out


def test_records_name_every_special_with_its_reason(tmp_path):
    out = records_report("specials", tmp_path)
    table = out[out.index("special records:"):]
    for function, kind in (("call_class", "__init__ result check"),
                           ("instance_binary_op", "operator with reflected fallback"),
                           ("collect_into", "builtin consuming map")):
        assert re.search(rf"{function} at \S+: \d+ times? \({re.escape(kind)}\): \S", table), \
            table
    assert "unexpected" not in table
    ours = float(re.search(r"ours (\d+\.\d\d)$", out.strip()).group(1))
    assert ours > 1.0


def test_frames_prints_every_tasklet_innermost_first(tmp_path):
    file, _ = checkpoint_and_resume("classes", 5, tmp_path)
    out, err, status = run_interp(["frames", str(file)], tmp_path)
    assert status == 0, err
    assert "tasklet 1 (main)" in out
    assert re.search(r'File ".*classes.py", line \d+, in __init__\n.*\n    locals: self=', out)
    assert "special: __init__ result check" in out
    inner = out.index("in __init__")
    assert inner < out.index("special: __init__ result check") < out.index("in builder")
