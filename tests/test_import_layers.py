"""What importing loads: the runtime sits below the transform and never
imports it, and ``import stacklessxf`` loads the runtime only; the transform
(with astroid) is loaded by the first function made stackless."""

import json
import os
import subprocess
import sys
import textwrap

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRANSFORM_PACKAGES = ("stacklessxf.core", "stacklessxf.frontend", "stacklessxf.ir",
                      "stacklessxf.analysis", "stacklessxf.backends")
HEAVY_LIBRARIES = ("astroid", "llvmlite")


def run_fresh(code, directory):
    """Runs ``code``, as a script in ``directory``, in a new interpreter;
    returns what it printed, read as JSON."""
    script = directory / "fresh_process.py"
    script.write_text(textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    result = subprocess.run([sys.executable, str(script)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


LOADED = "print(json.dumps(sorted(m for m in sys.modules if m.startswith(PREFIXES))))"


def loaded_after(statements, directory):
    return run_fresh(f"""
        import json, sys
        PREFIXES = {TRANSFORM_PACKAGES + HEAVY_LIBRARIES!r}
        {statements}
        {LOADED}
    """, directory)


def test_the_runtime_imports_nothing_of_the_transform(tmp_path):
    loaded = loaded_after(
        "import pkgutil, importlib, stacklessxf.runtime as runtime; "
        "[importlib.import_module(m.name) for m in "
        "pkgutil.iter_modules(runtime.__path__, 'stacklessxf.runtime.')]", tmp_path)
    assert loaded == []


def test_import_stacklessxf_loads_neither_the_transform_nor_astroid_nor_llvmlite(tmp_path):
    assert loaded_after("import stacklessxf", tmp_path) == []
    assert loaded_after("from stacklessxf import stackless, explain, registered_functions",
                        tmp_path) == []


def test_decorating_loads_the_transform_but_not_llvmlite(tmp_path):
    module = tmp_path / "decorated.py"
    module.write_text("from stacklessxf import stackless\n\n\n"
                      "@stackless\ndef f(n):\n    return n\n")
    loaded = loaded_after("import decorated", tmp_path)
    assert "stacklessxf.core" in loaded and "astroid" in loaded
    assert not [name for name in loaded if name.startswith("llvmlite")]


def test_the_runtimes_own_stackless_methods_are_built_with_the_transform(tmp_path):
    built = run_fresh("""
        import json
        import stacklessxf
        from stacklessxf.runtime import channel as channel_module
        before = channel_module.channel.__dict__["send_sequence"]

        @stacklessxf.stackless
        def f():
            pass

        after = channel_module.channel.__dict__["send_sequence"]
        print(json.dumps([before is channel_module._send_sequence,
                          after is channel_module._send_sequence,
                          after.__stackless__.function is after]))
    """, tmp_path)
    assert built == [False, True, True]


def test_a_runtime_method_made_a_tasklet_switches_with_nothing_decorated(tmp_path):
    # The first access of the method builds it, before its frame runs.
    received = run_fresh("""
        import json, sys
        import stacklessxf
        ch = stacklessxf.channel()
        stacklessxf.tasklet(ch.send_sequence)([1, 2, 3])
        print(json.dumps([ch.receive(), ch.receive(), ch.receive()]))
    """, tmp_path)
    assert received == [1, 2, 3]
