"""Every code block of README.md and docs/*.md runs, as a reader would run it.

A page's ``python`` and ``sh`` blocks run in order, in a folder of their own
(the page's folder).  The Python blocks share one namespace, as if pasted one
after the other into a script run as ``__main__``; each is saved as a file
first, because ``@stackless`` reads its functions' source from a file.  A
``sh`` block runs in bash with this interpreter's scripts (``stacklessxf``,
``python``) first on PATH.  Blocks without a language, or of another one, are
output and diagrams, not code.

An HTML comment on the line just before a block says how to take it:

``<!-- doc-test: skip REASON -->``
    the block is deliberately partial (placeholder paths, elided code, a
    command that installs or benchmarks); it is reported as skipped, with
    REASON.
``<!-- doc-test: file NAME -->``
    the block is a module the page asks the reader to save as NAME: it is
    written there, not run.
``<!-- doc-test: new process -->``
    the block runs in a fresh process ("later, in another process"), and so
    do the Python blocks after it.
``<!-- doc-test: output -->``
    the block is the output of the ``sh`` block before it, with the page's
    folder written as ``/home/user``; it must match line for line.
"""

import concurrent.futures
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass, field

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(
    os.path.join("docs", name)
    for name in os.listdir(os.path.join(REPO_ROOT, "docs"))
    if name.endswith(".md")
)
CODE_LANGUAGES = {"python": "python", "py": "python", "sh": "sh", "bash": "sh",
                  "console": "sh"}
SHOWN_FOLDER = "/home/user"
BLOCK_TIMEOUT = 120

_FENCE = re.compile(r"^(\s*)(```+)\s*([\w-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(skip|file|new process|output)\b\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    page: str
    line: int          # line of the block's first line of code, 1-based
    language: str      # "python", "sh", or "" for output and diagrams
    text: str
    marker: str = ""   # "skip", "file", "new process", "output" or ""
    argument: str = ""
    results: dict = field(default_factory=dict, repr=False)

    @property
    def id(self):
        return f"{self.page}:{self.line}"


def parse_blocks(page):
    """The fenced blocks of PAGE (a path relative to the repository)."""
    with open(os.path.join(REPO_ROOT, page), encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, language = opening.groups()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = textwrap.dedent("\n".join(lines[i + 1:end])) + "\n"
        marker = _MARKER.match(lines[i - 1]) if i > 0 else None
        blocks.append(Block(
            page, i + 2, CODE_LANGUAGES.get(language.lower(), ""), body,
            *(marker.groups() if marker else ())))
        i = end + 1
    return blocks


def check_markers(blocks):
    """Markers that make sense where they are, or a message saying which
    does not."""
    for previous, block in zip([None] + blocks, blocks):
        if block.marker == "skip" and not block.argument:
            return f"{block.id}: a skipped block must say why"
        if block.marker == "file" and (block.language != "python" or not block.argument):
            return f"{block.id}: 'file NAME' marks a Python block"
        if block.marker == "output" and (previous is None or previous.language != "sh"):
            return f"{block.id}: 'output' must follow a sh block"
    return None


ALL_BLOCKS = [block for page in PAGES for block in parse_blocks(page)]
CODE_BLOCKS = [block for block in ALL_BLOCKS if block.language or block.marker == "output"]


# -- running a page --------------------------------------------------------

# A reader's script, fed one block at a time: runs each file named on stdin
# in one namespace as __main__, writes its result beside it, and says so on
# its own stdout (the block's output is captured apart from that).
_SESSION = r"""
import contextlib, io, json, sys, traceback, types

main_module = types.ModuleType("__main__")
main_module.__builtins__ = __builtins__
sys.modules["__main__"] = main_module
channel = sys.stdout
for path in sys.stdin:
    path = path.rstrip("\n")
    output = io.StringIO()
    result = {"ok": True, "error": ""}
    try:
        with open(path) as f:
            code = compile(f.read(), path, "exec")
        with contextlib.redirect_stdout(output):
            exec(code, main_module.__dict__)
    except BaseException:
        result = {"ok": False, "error": traceback.format_exc()}
    result["output"] = output.getvalue()
    with open(path + ".json", "w") as f:
        json.dump(result, f)
    channel.write("\0done\n")
    channel.flush()
"""


def _environment():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _script_path(folder, block):
    """Where a Python block is saved: padded with blank lines so that its
    lines keep the numbers they have in the page."""
    stem = re.sub(r"\W", "_", block.page)
    path = os.path.join(folder, f"{stem}_line{block.line}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n" * (block.line - 1) + block.text)
    return path


class PythonSession:
    """One process running a page's Python blocks, one after the other."""

    def __init__(self, folder):
        self.folder = folder
        driver = os.path.join(folder, "session.py")
        with open(driver, "w") as f:
            f.write(_SESSION)
        self.stderr_path = os.path.join(folder, f"session{id(self)}.stderr")
        with open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, driver], cwd=folder, env=_environment(), text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)

    def run(self, block):
        path = _script_path(self.folder, block)
        timer = threading.Timer(BLOCK_TIMEOUT, self.proc.kill)
        timer.start()
        try:
            self.proc.stdin.write(path + "\n")
            self.proc.stdin.flush()
            for line in self.proc.stdout:
                if line == "\0done\n":
                    with open(path + ".json") as f:
                        return json.load(f)
        except BrokenPipeError:
            pass
        finally:
            timer.cancel()
        with open(self.stderr_path) as f:
            return {"ok": False, "output": "", "error":
                    f"the process ended with status {self.proc.wait()}:\n{f.read()}"}

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(BLOCK_TIMEOUT)


def _run_shell(folder, block):
    proc = subprocess.run(["bash", "-e", "-c", block.text], cwd=folder, env=_environment(),
                          capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
    return {"ok": proc.returncode == 0, "output": proc.stdout,
            "error": f"exit status {proc.returncode}:\n{proc.stderr}"}


def run_page(folder, blocks):
    """Run the code blocks of one page in order, as described above; after a
    block fails, the later ones are reported as not run."""
    session, failed = None, None
    try:
        for block in blocks:
            if block.marker == "skip" or not block.language:
                continue
            if failed is not None:
                block.results = {"ok": False, "output": "",
                                 "error": f"not run: the block at {failed.id} failed"}
            elif block.marker == "file":
                with open(os.path.join(folder, block.argument), "w", encoding="utf-8") as f:
                    f.write(block.text)
                continue
            elif block.language == "sh":
                block.results = _run_shell(folder, block)
            else:
                if session is None or block.marker == "new process":
                    if session is not None:
                        session.close()
                    session = PythonSession(folder)
                block.results = session.run(block)
            if not block.results["ok"] and failed is None:
                failed = block
    finally:
        if session is not None:
            session.close()


@pytest.fixture(scope="module")
def page_folders(tmp_path_factory):
    """Every page run, two at a time: page -> the folder it ran in."""
    folders = {page: str(tmp_path_factory.mktemp(re.sub(r"\W", "_", page)))
               for page in PAGES}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(run_page, folders[page], [b for b in ALL_BLOCKS if b.page == page])
                for page in PAGES]
        for run in runs:
            run.result()
    return folders


@pytest.mark.parametrize("page", PAGES)
def test_markers_are_well_formed(page):
    assert check_markers(parse_blocks(page)) is None


@pytest.mark.parametrize("block", CODE_BLOCKS, ids=[b.id for b in CODE_BLOCKS])
def test_block(block, request):
    if block.marker == "skip":
        pytest.skip(f"{block.id}: {block.argument}")
    if block.marker == "file":
        compile(block.text, block.argument, "exec")
        return
    folder = request.getfixturevalue("page_folders")[block.page]
    if block.marker == "output":
        blocks = [b for b in ALL_BLOCKS if b.page == block.page]
        command = blocks[blocks.index(block) - 1]
        _fail_unless_ran(command)
        shown = command.results["output"].replace(folder, SHOWN_FOLDER)
        assert shown.splitlines() == block.text.rstrip("\n").splitlines()
        return
    _fail_unless_ran(block)


def _fail_unless_ran(block):
    if not block.results.get("ok"):
        pytest.fail(f"{block.id} failed\n{block.results.get('error')}\n"
                    f"output:\n{block.results.get('output')}", pytrace=False)


# -- the collector itself --------------------------------------------------

def test_parse_blocks_reads_languages_markers_and_lines(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n"
        "\n"
        "```python\n"
        "x = 1\n"
        "```\n"
        "<!-- doc-test: skip elided code -->\n"
        "```sh\n"
        "stacklessxf records path/to/module.py\n"
        "```\n"
        "<!-- doc-test: new process -->\n"
        "  ```python\n"
        "  print(x)\n"
        "  ```\n"
        "```\n"
        "a diagram\n"
        "```\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", str(tmp_path))
    blocks = parse_blocks("page.md")
    assert [(b.line, b.language, b.marker, b.argument) for b in blocks] == [
        (4, "python", "", ""),
        (8, "sh", "skip", "elided code"),
        (12, "python", "new process", ""),
        (15, "", "", ""),
    ]
    assert blocks[2].text == "print(x)\n"


def test_run_page_shares_a_namespace_until_a_new_process(tmp_path):
    blocks = [
        Block("page.md", 1, "python", "import os\nx = os.getpid()\n"),
        Block("page.md", 5, "python", "print(x)\n"),
        Block("page.md", 9, "python", "print(x)\n", "new process"),
    ]
    run_page(str(tmp_path), blocks)
    assert blocks[0].results["ok"] and blocks[1].results["ok"]
    assert blocks[1].results["output"].strip().isdigit()
    assert not blocks[2].results["ok"]
    assert "NameError" in blocks[2].results["error"]


def test_a_failing_block_reports_its_page_line(tmp_path):
    blocks = [
        Block("page.md", 7, "python", "y = 1\nraise ValueError('documented')\n"),
        Block("page.md", 12, "python", "print('after')\n"),
    ]
    run_page(str(tmp_path), blocks)
    assert 'line 8' in blocks[0].results["error"]
    assert "ValueError: documented" in blocks[0].results["error"]
    assert "page.md:7 failed" in blocks[1].results["error"]


def test_file_blocks_are_importable_by_later_blocks(tmp_path):
    blocks = [
        Block("page.md", 1, "python", "VALUE = 42\n", "file", "saved.py"),
        Block("page.md", 5, "python", "import saved\nprint(saved.VALUE)\n"),
        Block("page.md", 9, "sh", "python -c 'import saved; print(saved.VALUE + 1)'\n"),
    ]
    run_page(str(tmp_path), blocks)
    assert blocks[1].results["output"] == "42\n"
    assert blocks[2].results["output"] == "43\n"


def test_markers_that_make_no_sense_are_reported():
    python = Block("page.md", 3, "python", "x = 1\n")
    assert check_markers([Block("page.md", 1, "python", "", "skip")]) is not None
    assert check_markers([Block("page.md", 1, "sh", "ls\n", "file", "a.py")]) is not None
    assert check_markers([python, Block("page.md", 7, "", "x\n", "output")]) is not None
    assert check_markers([python]) is None



# -- what the pages say, beyond their examples -----------------------------

DECORATOR_ORDERS = textwrap.dedent("""\
    from stacklessxf import stackless


    class Walker:
        @classmethod
        @stackless
        def below_classmethod(cls, n):
            return 0 if n == 0 else 1 + cls.below_classmethod(n - 1)

        @stackless
        @classmethod
        def above_classmethod(cls, n):
            return 0 if n == 0 else 1 + cls.above_classmethod(n - 1)

        @staticmethod
        @stackless
        def below_staticmethod(n):
            return 0 if n == 0 else 1 + Walker.below_staticmethod(n - 1)

        @stackless
        @staticmethod
        def above_staticmethod(n):
            return 0 if n == 0 else 1 + Walker.above_staticmethod(n - 1)
    """)


def test_stackless_goes_above_or_below_classmethod_and_staticmethod(tmp_path):
    """docs/subset.md: either order transforms the function (it recurses past
    the interpreter's limit)."""
    path = tmp_path / "decorator_orders.py"
    path.write_text(DECORATOR_ORDERS)
    spec = importlib.util.spec_from_file_location("decorator_orders", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    deep = sys.getrecursionlimit() * 3
    for name in ("below_classmethod", "above_classmethod",
                 "below_staticmethod", "above_staticmethod"):
        assert getattr(module.Walker, name)(deep) == deep, name


MAIN_SCRIPT_COUNTER = textwrap.dedent("""\
    import pickle
    import sys

    import stacklessxf as sx


    @sx.stackless
    def counter(name):
        n = 0
        while True:
            n += 1


    if sys.argv[1] == "save":
        sx.tasklet(counter)("a")
        t = sx.run(1000)
        with open("counter.pickle", "wb") as f:
            pickle.dump(t, f)
        t.kill()
    else:
        with open("counter.pickle", "rb") as f:
            t = pickle.load(f)
        t.insert()
        print(sx.run(1000).alive)
    """)


def _python(folder, *args):
    return subprocess.run([sys.executable, *args], cwd=folder, env=_environment(),
                          capture_output=True, text=True, timeout=BLOCK_TIMEOUT)


def test_a_tasklet_of_main_resumes_only_under_the_same_script(tmp_path):
    """docs/tasklets.md: a function must live in an importable module; one
    defined in __main__ is found again by the same script only, and anywhere
    else unpickling says so."""
    (tmp_path / "script.py").write_text(MAIN_SCRIPT_COUNTER)
    (tmp_path / "other.py").write_text(
        "import pickle\n"
        "with open('counter.pickle', 'rb') as f:\n"
        "    pickle.load(f)\n")
    saved = _python(tmp_path, "script.py", "save")
    assert saved.returncode == 0, saved.stderr
    same_script = _python(tmp_path, "script.py", "load")
    assert same_script.returncode == 0, same_script.stderr
    assert same_script.stdout.strip() == "True"
    elsewhere = _python(tmp_path, "other.py")
    last_line = elsewhere.stderr.strip().splitlines()[-1]
    assert last_line.startswith("LookupError: "), elsewhere.stderr
    assert "__main__.counter" in last_line
    assert "importable module" in last_line
