"""The command line: records, explain, demo, and how it reports bad input."""

import itertools
import os
import subprocess
import sys
import textwrap

import pytest

import stacklessxf
from stacklessxf.cli import build_parser, main

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
        "async def coro(n):\n"
        "    await n\n",
    )
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err
    assert "async" in err
    assert len(err.strip().splitlines()) == 1


def test_records_on_a_module_that_raises(tmp_path, capsys):
    path = write(tmp_path, "boom.py", "x = 1\nraise ValueError('boom at import')\n")
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"stacklessxf: error: {path}:2: importing {path} raised ValueError: boom at import"
    ]


def test_an_error_raised_in_a_library_names_the_users_line(tmp_path, capsys):
    path = write(tmp_path, "bad_json.py", "import json\n\nDATA = json.loads('{')\n")
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith(f"stacklessxf: error: {path}:3: importing {path} raised JSONDecodeError")


def test_a_bug_in_stacklessxf_keeps_its_traceback(tmp_path, monkeypatch):
    import stacklessxf.core

    # A KeyError raised from the transform's own code is no user's doing.
    monkeypatch.setattr(stacklessxf.core, "transform", {}.__getitem__)
    path = write(tmp_path, "sample.py", SAMPLE)
    with pytest.raises(KeyError):
        main(["records", str(path)])


def test_a_deliberate_error_of_stacklessxf_is_one_line(tmp_path, capsys):
    path = write(tmp_path, "decorates_a_class.py",
                 "from stacklessxf import stackless\n\n\n@stackless\nclass C:\n    pass\n")
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert f"{path}:4: importing {path} raised TypeError: stackless expects a function" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"stacklessxf {stacklessxf.__version__}"
    assert main(["--version"]) == 0


PACKAGE_MODULE = textwrap.dedent(
    """\
    from stacklessxf import stackless

    from .limits import LIMIT


    @stackless
    def {name}(n):
        if n <= LIMIT:
            return 0
        return {name}(n - 1)
    """
)


def make_package(root, name="shapes"):
    package = root / name
    (package / "inner").mkdir(parents=True)
    write(package, "__init__.py", "")
    write(package, "limits.py", "LIMIT = 0\n")
    write(package, "walk.py", PACKAGE_MODULE.format(name="walk"))
    write(package / "inner", "__init__.py", "")
    write(package / "inner", "run.py",
          PACKAGE_MODULE.format(name="run").replace(".limits", "..limits"))
    return package


@pytest.fixture
def clean_modules():
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_records_on_a_directory_reports_every_module(tmp_path, capsys, clean_modules):
    folder = tmp_path / "folder"
    folder.mkdir()
    write(folder, "first_sample.py", SAMPLE)
    write(folder, "plain_module.py", "X = 1\n")
    make_package(folder, "shapes_in_folder")
    assert main(["records", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"module first_sample  ({folder / 'first_sample.py'})" in out
    assert "module shapes_in_folder.walk" in out
    assert "module shapes_in_folder.inner.run" in out
    assert "no stackless functions in: plain_module, shapes_in_folder, " in out
    assert out.strip().splitlines()[-1].startswith("total: naive 5 records")


def test_records_on_the_current_directory(tmp_path, monkeypatch, capsys, clean_modules):
    write(tmp_path, "here_sample.py", SAMPLE)
    monkeypatch.chdir(tmp_path)
    assert main(["records", "."]) == 0
    out = capsys.readouterr().out
    assert "count_down  (" in out and "fact  (" in out


def test_records_on_a_package_reports_every_module(tmp_path, monkeypatch, capsys,
                                                    clean_modules):
    make_package(tmp_path)
    monkeypatch.chdir(tmp_path)
    for target in ("shapes", "shapes/", str(tmp_path / "shapes")):
        assert main(["records", target]) == 0
        out = capsys.readouterr().out
        assert "module shapes.walk" in out and "module shapes.inner.run" in out
        assert "no stackless functions in: shapes, shapes.inner, shapes.limits" in out


def test_records_on_a_package_file_with_relative_imports_names_its_module(
        tmp_path, capsys, clean_modules):
    make_package(tmp_path)
    path = tmp_path / "shapes" / "inner" / "run.py"
    assert main(["records", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert f"use shapes.inner.run (from {tmp_path})" in err


def test_records_on_a_directory_names_the_module_that_fails(tmp_path, capsys, clean_modules):
    folder = tmp_path / "failing"
    folder.mkdir()
    write(folder, "good_sample.py", SAMPLE)
    path = write(folder, "raises_at_import.py", "\n\nraise RuntimeError('no')\n")
    assert main(["records", str(folder)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"stacklessxf: error: {path}:3: importing {path} raised RuntimeError: no"]


WORKLOADS = SAMPLE + textwrap.dedent(
    """\


    with open(__file__ + ".imports", "a") as log:
        log.write("imported\\n")


    def workload():
        return fact(50)


    def needs_arguments(n, *rest):
        return fact(n)


    def raises():
        fact(3)
        raise LookupError("the workload failed")
    """
)


def test_run_imports_the_file_once(tmp_path, capsys, clean_modules):
    path = write(tmp_path, "workloads.py", WORKLOADS)
    assert main(["records", str(path), "--run", f"{path}:workload"]) == 0
    assert f"run {path}:workload: unwound activations" in capsys.readouterr().out
    assert (tmp_path / "workloads.py.imports").read_text() == "imported\n"


def test_run_of_a_function_that_needs_arguments(tmp_path, capsys, clean_modules):
    path = write(tmp_path, "workloads.py", WORKLOADS)
    assert main(["records", str(path), "--run", f"{path}:needs_arguments"]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"stacklessxf: error: --run {path}:needs_arguments: needs_arguments(n, *rest) "
        "needs arguments; --run calls it with none"]
    assert captured.out == ""  # nothing reported before the error


def test_run_of_a_function_that_raises(tmp_path, capsys, clean_modules):
    path = write(tmp_path, "workloads.py", WORKLOADS)
    assert main(["records", str(path), "--run", f"{path}:raises"]) == 2
    err = capsys.readouterr().err
    line = WORKLOADS.splitlines().index('    raise LookupError("the workload failed")') + 1
    assert err.splitlines() == [
        f"stacklessxf: error: {path}:{line}: --run {path}:raises raised "
        "LookupError: the workload failed"]


def test_run_of_a_missing_function_names_no_internal_module(tmp_path, capsys):
    path = write(tmp_path, "sample.py", SAMPLE)  # "sample" shadows no module here
    path_again = write(tmp_path, "json.py", SAMPLE)  # "json" is loaded already
    for target in (path, path_again):
        assert main(["records", str(target), "--run", f"{target}:nonesuch"]) == 2
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"stacklessxf: error: --run {target}:nonesuch: no function nonesuch in {target}"]
    sys.modules.pop("sample", None)


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


def test_explain_a_function_defined_inside_another(tmp_path, capsys):
    path = write(
        tmp_path,
        "nested.py",
        "from stacklessxf import stackless\n"
        "\n"
        "def outer():\n"
        "    @stackless\n"
        "    def inner(n):\n"
        "        return 0 if n == 0 else inner(n - 1) + 1\n"
        "    return inner\n"
        "\n"
        "INNER = outer()\n",
    )
    assert main(["explain", f"{path}:outer.<locals>.inner"]) == 0
    out = capsys.readouterr().out
    inner = sys.modules["nested"].INNER
    assert out.strip() == stacklessxf.explain(inner).strip()
    sys.modules.pop("nested", None)


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
