"""The transform reads source from the file; a file changed after import is
reported, never compiled into something else."""

import importlib.util
import json
import linecache
import os
import pprint
import subprocess
import sys
import textwrap

import pytest

from stacklessxf import TransformError, stackless
from tests.plain_copies import plain_copy

ORIGINAL = textwrap.dedent("""
    def helper(n):
        return n

    def target(n, callback):
        return callback(n) + 1
    """)


def _load(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return path, module


def test_edited_file_is_reported(tmp_path):
    path, module = _load(tmp_path, "edited_after_import", ORIGINAL)
    path.write_text(ORIGINAL.replace("def target(n, callback):",
                                     "def target(n, callback):\n    pass"))
    linecache.checkcache(str(path))
    with pytest.raises(TransformError) as info:
        stackless(module.target)
    assert str(path) in str(info.value)
    assert "edited" in str(info.value)


def test_file_with_syntax_error_is_reported(tmp_path):
    path, module = _load(tmp_path, "broken_after_import", ORIGINAL)
    path.write_text(ORIGINAL + "\ndef broken(:\n")
    linecache.checkcache(str(path))
    with pytest.raises(TransformError, match="syntax error") as info:
        stackless(module.target)
    assert info.value.filename == str(path)
    assert info.value.lineno is not None


@pytest.mark.parametrize("function,args,kwargs", [
    (textwrap.dedent, ("    a\n      b\n",), {}),
    (pprint.pformat, ({"b": [1, 2], "a": (3, {"c": None})},), {"width": 10}),
    (json.dumps, ({"k": [1, 2.5, None]},), {"indent": 2, "sort_keys": True}),
    (json.dumps, ([1, "x"],), {}),
])
def test_library_functions_with_dropped_or_moved_calls_transform(function, args, kwargs):
    """textwrap.dedent has a call in ``if 0 and ...:``, which the compiler
    drops; json.dumps and pprint.pformat end with a method call on a
    constructor call spread over lines, which the compiler places at the
    method's name.  Neither is an edited file."""
    transformed = stackless(plain_copy(function))
    assert transformed is not function
    assert transformed(*args, **kwargs) == function(*args, **kwargs)


ASSERTING = textwrap.dedent("""
    from stacklessxf import stackless

    def positive(n):
        return n > 0

    @stackless
    def checked(n):
        assert positive(n), "not positive"
        return n * 2
    """)


def test_asserts_dropped_under_optimization_are_not_an_edit(tmp_path):
    path = tmp_path / "asserting.py"
    path.write_text(ASSERTING)
    run = subprocess.run(
        [sys.executable, "-O", "-c", "import asserting; print(asserting.checked(-4))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["-8"]


RELOADED = textwrap.dedent("""
    from stacklessxf import stackless

    @stackless
    def bump(n):
        return n + 1
    """)


def test_a_module_reloaded_after_an_edit_is_transformed_from_the_new_text(tmp_path, monkeypatch):
    # importlib.reload does not refresh linecache: the transform must not
    # compile the text it read before the edit (here of the same lines).
    path = tmp_path / "reloaded_after_edit.py"
    path.write_text(RELOADED)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("reloaded_after_edit")
    try:
        assert module.bump(1) == 2
        path.write_text(RELOADED.replace("n + 1", "n + 5").replace("@stackless", "\n\n@stackless"))
        later = os.stat(path).st_mtime + 5
        os.utime(path, (later, later))
        module = importlib.reload(module)
        assert module.bump(1) == 6
    finally:
        sys.modules.pop("reloaded_after_edit", None)
