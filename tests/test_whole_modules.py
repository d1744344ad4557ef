"""Whole modules made stackless: transform_module, transform_class, the
import hook (install) and ``python -m stacklessxf run``."""

import importlib
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

import stacklessxf
from stacklessxf.cli import split_run_arguments
from stacklessxf.errors import TransformWarning

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Switches inside helper methods, __init__ and with blocks of plain-written
# code: each works only if every function on the way is stackless.
PROGRAM = '''
import stacklessxf

from {helpers} import Account, Audit, deposit_all


class Teller:
    def __init__(self, ch):
        self.opening = ch.receive()          # a switch inside __init__

    def serve(self, ch, log):
        with Audit(log):                     # switches in __enter__ and __exit__
            return self.opening + self.next_amount(ch)

    def next_amount(self, ch):               # a switch in a helper method
        return ch.receive()


def teller(ch, log):
    log.append(Teller(ch).serve(ch, log))


def client(ch, account):
    deposit_all(ch, account, [10, 20])


def main():
    log = []
    ch = stacklessxf.channel()
    stacklessxf.tasklet(teller)(ch, log)
    stacklessxf.tasklet(client)(ch, Account())
    stacklessxf.run()
    return log
'''

HELPERS = '''
import stacklessxf


class Account:
    def __init__(self):
        self.total = 0

    def deposit(self, ch, amount):
        self.total += amount
        ch.send(amount)


class Audit:
    def __init__(self, log):
        self.log = log

    def __enter__(self):
        stacklessxf.schedule()
        self.log.append("open")
        return self

    def __exit__(self, *exc_info):
        stacklessxf.schedule()
        self.log.append("close")


def deposit_all(ch, account, amounts):
    for amount in amounts:
        account.deposit(ch, amount)


def describe(amount):
    match amount:
        case 0:
            return "nothing"
        case _:
            return "something"
'''

EXPECTED_LOG = ["open", "close", 30]


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Writes modules into a directory on sys.path; forgets them after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written = []

    def write(name, text):
        path = tmp_path.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        written.append(name.split(".")[0])
        return path

    yield write
    for name in list(sys.modules):
        if name.split(".")[0] in written:
            del sys.modules[name]


def import_quietly(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(name)
    return module, caught


def is_stackless(function):
    # functools.wraps copies __stackless__ onto a wrapper.
    info = getattr(function, "__stackless__", None)
    return info is not None and info.function is function


# -- transform_module and transform_class ----------------------------------

def test_transform_module_makes_every_function_and_method_stackless(modules, scheduler_loop):
    modules("wm_helpers1", HELPERS)
    modules("wm_program1", PROGRAM.format(helpers="wm_helpers1"))
    helpers = importlib.import_module("wm_helpers1")
    program = importlib.import_module("wm_program1")
    with pytest.warns(TransformWarning):
        stacklessxf.transform_module(helpers)
    result = stacklessxf.transform_module(program)
    assert sorted(result.transformed) == ["Teller.__init__", "Teller.next_amount",
                                          "Teller.serve", "client", "main", "teller"]
    assert result.skipped == []
    assert program.main() == EXPECTED_LOG


def test_transform_module_leaves_imported_functions_alone(modules):
    modules("wm_helpers2", HELPERS)
    modules("wm_program2", PROGRAM.format(helpers="wm_helpers2"))
    program = importlib.import_module("wm_program2")
    stacklessxf.transform_module(program)
    assert not is_stackless(program.deposit_all)
    assert not is_stackless(program.Account.deposit)


def test_a_refused_function_stays_plain_with_a_warning_naming_it(modules):
    path = modules("wm_helpers3", HELPERS)
    helpers = importlib.import_module("wm_helpers3")
    with pytest.warns(TransformWarning) as caught:
        result = stacklessxf.transform_module(helpers)
    [warning] = caught
    assert str(warning.message).startswith("describe stays plain: ")
    assert "[match]" in str(warning.message)
    assert warning.filename == str(path)
    assert warning.lineno == HELPERS.splitlines().index("    match amount:") + 1
    assert [name for name, _ in result.skipped] == ["describe"]
    assert not is_stackless(helpers.describe)
    assert helpers.describe(0) == "nothing"
    assert is_stackless(helpers.deposit_all) and is_stackless(helpers.Audit.__exit__)


def test_transform_module_reaches_descriptors_wrapped_functions_and_nested_classes(modules):
    module = modules("wm_kinds", '''
        import functools


        def logged(function):
            @functools.wraps(function)
            def wrapper(*args):
                return function(*args)
            return wrapper


        class Shape:
            class Unit:
                def size(self):
                    return 1

            @classmethod
            def make(cls):
                return cls()

            @staticmethod
            def sides():
                return 4

            @property
            def area(self):
                return 2

            @area.setter
            def area(self, value):
                pass

            @logged
            def scaled(self, k):
                return k


        alias = Shape.sides
    ''')
    module = importlib.import_module("wm_kinds")
    result = stacklessxf.transform_module(module)
    assert sorted(result.transformed) == [
        "Shape.Unit.size", "Shape.area", "Shape.area", "Shape.make", "Shape.scaled",
        "Shape.sides", "logged"]
    assert is_stackless(module.Shape.__dict__["make"].__func__)
    assert is_stackless(module.Shape.area.fset)
    # The function the decorator wrapped, not the wrapper, which a closure made.
    assert is_stackless(module.Shape.scaled.__wrapped__)
    assert not is_stackless(module.Shape.scaled)
    assert module.Shape().scaled(3) == 3 and module.Shape.make().sides() == 4


def test_transform_module_twice_changes_nothing(modules):
    modules("wm_twice", "def f():\n    return 1\n")
    module = importlib.import_module("wm_twice")
    assert stacklessxf.transform_module(module).transformed == ["f"]
    assert stacklessxf.transform_module(module) == ([], [])
    assert module.f() == 1


def test_transform_class_does_one_class(modules):
    modules("wm_class", "class A:\n    def f(self):\n        return 1\n\n\n"
                        "def g():\n    return 2\n")
    module = importlib.import_module("wm_class")
    assert stacklessxf.transform_class(module.A).transformed == ["A.f"]
    assert is_stackless(module.A.f) and not is_stackless(module.g)


# -- the import hook --------------------------------------------------------

@pytest.fixture
def hook():
    installed = []

    def install(*args, **kwargs):
        installed.append(stacklessxf.install(*args, **kwargs))
        return installed[-1]

    yield install
    for finder in installed:
        finder.uninstall()


def test_install_transforms_a_package_as_it_is_imported(modules, hook, scheduler_loop):
    modules("wm_bank.__init__", "")
    modules("wm_bank.helpers", HELPERS)
    modules("wm_bank.program", PROGRAM.format(helpers="wm_bank.helpers"))
    modules("wm_outside", "def f():\n    return 1\n")
    hook(packages=["wm_bank"])
    program, caught = import_quietly("wm_bank.program")
    outside = importlib.import_module("wm_outside")
    assert is_stackless(program.Teller.__init__) and is_stackless(program.deposit_all)
    assert not is_stackless(outside.f)
    assert [str(w.message).split(":")[0] for w in caught] == ["describe stays plain"]
    assert program.main() == EXPECTED_LOG


def test_the_hook_transforms_functions_before_the_modules_own_code_runs(modules, hook,
                                                                       scheduler_loop):
    # The module runs its tasklets while it is being imported, as a script
    # does; its functions are stackless by then, and before other decorators.
    modules("wm_runs_at_import", '''
        import functools
        import stacklessxf

        log = []


        def logged(function):
            @functools.wraps(function)
            def wrapper(*args):
                return function(*args)
            return wrapper


        @logged
        def logged_ping(n):
            return n


        def ping(n):
            log.append(n)
            stacklessxf.schedule()


        def worker(n):
            ping(n)
            ping(n)


        stacklessxf.tasklet(worker)(1)
        stacklessxf.tasklet(worker)(2)
        stacklessxf.run()
    ''')
    hook(packages=["wm_runs_at_import"])
    module = importlib.import_module("wm_runs_at_import")
    assert module.log == [1, 2, 1, 2]
    # Made stackless before the other decorator wrapped it.
    assert is_stackless(module.logged_ping.__wrapped__)
    assert not is_stackless(module.logged_ping)


def test_install_transforms_the_modules_imported_already(modules, hook):
    modules("wm_early", "def f():\n    return 1\n")
    module = importlib.import_module("wm_early")
    assert not is_stackless(module.f)
    hook(packages="wm_early")
    assert is_stackless(module.f)


def test_the_hook_leaves_the_bytecode_cache_to_the_plain_compilation(modules, hook,
                                                                      monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = modules("wm_cached", "def f():\n    return 1\n")
    hook(packages=["wm_cached"])
    module = importlib.import_module("wm_cached")
    assert is_stackless(module.f)
    assert not os.path.exists(importlib.util.cache_from_source(str(path)))


def test_after_uninstall_modules_import_as_usual(modules, hook):
    modules("wm_later", "def f():\n    return 1\n")
    hook(packages=["wm_later"]).uninstall()
    assert not is_stackless(importlib.import_module("wm_later").f)


# -- python -m stacklessxf run ---------------------------------------------

SCRIPT = '''
import sys

from {program} import main

print(main(), sys.argv[1:])
'''


def run_command(*args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    return subprocess.run([sys.executable, "-m", "stacklessxf", "run", *args], cwd=cwd,
                          env=env, capture_output=True, text=True)


def test_run_makes_the_script_and_its_modules_stackless(tmp_path):
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "program.py").write_text(PROGRAM.format(helpers="helpers"))
    (tmp_path / "game.py").write_text(SCRIPT.format(program="program"))
    result = run_command("game.py", "-v", "x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{EXPECTED_LOG} ['-v', 'x']\n"
    assert "TransformWarning: describe stays plain" in result.stderr


def test_run_transforms_the_named_packages(tmp_path):
    library = tmp_path / "lib"
    (library / "wm_shop").mkdir(parents=True)
    (library / "wm_shop" / "__init__.py").write_text("")
    (library / "wm_shop" / "helpers.py").write_text(HELPERS)
    (library / "wm_shop" / "program.py").write_text(PROGRAM.format(helpers="wm_shop.helpers"))
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "game.py").write_text(
        f"import sys\nsys.path.insert(0, {str(library)!r})\n" + SCRIPT.format(
            program="wm_shop.program"))
    result = run_command("game.py", "--package", "wm_shop", "--", "--package", cwd=scripts)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{EXPECTED_LOG} ['--package']\n"
    # Without it, the package's functions are plain and the first switch is refused.
    result = run_command("game.py", cwd=scripts)
    assert result.returncode == 1
    assert "SwitchError" in result.stderr


def test_run_exits_as_the_script_does(tmp_path):
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "fails.py").write_text("def f():\n    raise ValueError('boom')\n\n\nf()\n")
    assert run_command("exits.py", cwd=tmp_path).returncode == 3
    failed = run_command("fails.py", cwd=tmp_path)
    assert failed.returncode == 1
    lines = failed.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith(f'  File "{tmp_path / "fails.py"}", line 5')
    assert lines[-1] == "ValueError: boom"
    missing = run_command("missing.py", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (
        2, "stacklessxf: error: missing.py: no such file\n")


def test_run_arguments_split_into_packages_and_the_scripts_own():
    assert split_run_arguments(["--package", "a", "--package=b", "-x", "--package", "c"]) == (
        ["a", "b"], ["-x", "--package", "c"])
    assert split_run_arguments(["--package", "a", "--", "--package", "b"]) == (
        ["a"], ["--package", "b"])
    assert split_run_arguments([]) == ([], [])


def test_the_hook_never_takes_stacklessxf_itself(hook, tmp_path):
    # A script run from a checkout has the package in its folder.
    finder = hook(packages=["stacklessxf"], directories=[tmp_path])
    assert not finder.takes("stacklessxf.modules", str(tmp_path / "stacklessxf" / "modules.py"))
    assert finder.takes("elsewhere", str(tmp_path / "elsewhere.py"))
