"""The transform reads source from the file; a file changed after import is
reported, never compiled into something else."""

import importlib.util
import linecache
import sys
import textwrap

import pytest

from stacklessxf import TransformError, stackless

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
