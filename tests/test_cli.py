"""The command line: records, explain, demo, and how it reports bad input."""

import itertools
import os
import subprocess
import sys
import textwrap

import pytest

import stacklessxf
from stacklessxf.cli import main

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SAMPLE = textwrap.dedent(
    """\
    from stacklessxf import stackless


    @stackless
    def count_down(n):
        if n == 0:
            return 0
        return count_down(n - 1)


    @stackless
    def steps(n):
        if n == 0:
            return 0
        return count_down(n - 1) + 1


    @stackless
    def fact(n):
        if n <= 1:
            return 1
        return n * fact(n - 1)


    def plain_helper(x):
        return x + 1
    """
)

_names = itertools.count()


@pytest.fixture
def module_name(monkeypatch, tmp_path):
    """A fresh importable module name; tmp_path is on sys.path."""
    name = f"cli_sample_{os.getpid()}_{next(_names)}"
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_records_on_a_file(tmp_path, capsys):
    path = write(tmp_path, "sample.py", SAMPLE)
    assert main(["records", str(path)]) == 0
    out = capsys.readouterr().out
    for name in ("count_down", "steps", "fact"):
        assert name in out
    assert "plain_helper" not in out
    for kind in ("tail", "stateless", "stateful"):
        assert kind in out
    assert any("total" in line.lower() for line in out.splitlines())


def test_records_accepts_the_bytecode_backend(tmp_path, capsys):
    path = write(tmp_path, "sample.py", SAMPLE)
    assert main(["records", str(path), "--backend", "bytecode"]) == 0
    assert "fact" in capsys.readouterr().out


def test_records_rejects_an_unknown_backend(tmp_path, capsys):
    path = write(tmp_path, "sample.py", SAMPLE)
    assert main(["records", str(path), "--backend", "nonesuch"]) != 0
    assert "nonesuch" in capsys.readouterr().err


def test_records_file_can_import_its_siblings(tmp_path, capsys):
    write(tmp_path, "sibling_helpers.py", "LIMIT = 3\n")
    path = write(
        tmp_path,
        "uses_sibling.py",
        "from sibling_helpers import LIMIT\n" + SAMPLE,
    )
    assert main(["records", str(path)]) == 0
    assert "fact" in capsys.readouterr().out
    sys.modules.pop("sibling_helpers", None)


def test_records_on_a_module_name(module_name, tmp_path, capsys):
    write(tmp_path, f"{module_name}.py", SAMPLE)
    assert main(["records", module_name]) == 0
    out = capsys.readouterr().out
    assert "count_down" in out and "fact" in out


def test_records_on_a_module_without_stackless_functions(tmp_path, capsys):
    path = write(tmp_path, "nothing.py", "def f(x):\n    return x\n")
    assert main(["records", str(path)]) == 0
    assert f"no stackless functions in {path}" in capsys.readouterr().out


def test_records_on_a_syntax_error_names_file_and_line(tmp_path, capsys):
    path = write(tmp_path, "broken.py", "x = 1\n\ndef f(:\n    return x\n")
    status = main(["records", str(path)])
    assert status != 0
    err = capsys.readouterr().err
    assert f"{path}:3" in err
    assert "syntax" in err.lower()
    assert len(err.strip().splitlines()) == 1


def test_records_on_a_missing_file(tmp_path, capsys):
    path = tmp_path / "missing.py"
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert len(err.strip().splitlines()) == 1


def test_records_on_a_missing_module(capsys):
    assert main(["records", "no_such_module_for_stacklessxf"]) == 2
    err = capsys.readouterr().err
    assert "no_such_module_for_stacklessxf" in err
    assert len(err.strip().splitlines()) == 1


def test_records_on_a_refused_function(tmp_path, capsys):
    path = write(
        tmp_path,
        "refused.py",
        "from stacklessxf import stackless\n"
        "\n"
        "@stackless\n"
        "def gen(n):\n"
        "    yield n\n",
    )
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err
    assert "generator" in err or "yield" in err
    assert len(err.strip().splitlines()) == 1


def test_records_on_a_module_that_raises(tmp_path, capsys):
    path = write(tmp_path, "boom.py", "x = 1\nraise ValueError('boom at import')\n")
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}\", line 2" in err  # the module's own traceback
    assert err.strip().splitlines()[-1] == (
        f"stacklessxf: error: importing {path} raised ValueError: boom at import"
    )


def test_records_finds_modules_in_the_current_directory(
    module_name, tmp_path, monkeypatch, capsys
):
    write(tmp_path, f"{module_name}.py", SAMPLE)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    monkeypatch.chdir(tmp_path)
    assert main(["records", module_name]) == 0
    assert "fact" in capsys.readouterr().out
    assert str(tmp_path) not in sys.path


def test_explain_module_function(module_name, tmp_path, capsys):
    write(tmp_path, f"{module_name}.py", SAMPLE)
    assert main(["explain", f"{module_name}:fact"]) == 0
    out = capsys.readouterr().out
    fact = sys.modules[module_name].fact
    assert out.strip() == stacklessxf.explain(fact).strip()
    assert "fact" in out


def test_explain_file_function(tmp_path, capsys):
    path = write(tmp_path, "sample.py", SAMPLE)
    assert main(["explain", f"{path}:steps"]) == 0
    assert "steps" in capsys.readouterr().out


def test_explain_method(module_name, tmp_path, capsys):
    write(
        tmp_path,
        f"{module_name}.py",
        "from stacklessxf import stackless\n"
        "\n"
        "class Walker:\n"
        "    @classmethod\n"
        "    @stackless\n"
        "    def walk(cls, n):\n"
        "        if n == 0:\n"
        "            return 0\n"
        "        return 1 + cls.walk(n - 1)\n",
    )
    assert main(["explain", f"{module_name}:Walker.walk"]) == 0
    out = capsys.readouterr().out
    walk = sys.modules[module_name].Walker.__dict__["walk"].__func__
    assert out.strip() == stacklessxf.explain(walk).strip()


def test_explain_unknown_function(module_name, tmp_path, capsys):
    write(tmp_path, f"{module_name}.py", SAMPLE)
    assert main(["explain", f"{module_name}:plain_helper"]) == 2
    err = capsys.readouterr().err
    assert "plain_helper" in err
    assert "fact" in err  # the functions that do exist are listed


def test_explain_needs_a_function_name(capsys):
    assert main(["explain", "some_module"]) == 2
    assert "TARGET:FUNC" in capsys.readouterr().err


def test_usage_errors_return_a_status():
    assert main([]) != 0
    assert main(["--help"]) == 0


@pytest.mark.slow
def test_demo_runs_as_a_module():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "stacklessxf", "demo"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1,000,000" in proc.stdout
    assert "RecursionError" in proc.stdout
