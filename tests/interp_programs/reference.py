"""Running a corpus program under CPython itself, for the output interp must
print: with stacklessxf as ``stackless`` and every function of the program
decorated with ``@stackless`` (the default), or with the greenlet shim."""

import ast
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class _DecorateAll(ast.NodeTransformer):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.decorator_list.insert(0, ast.Name("_sx_stackless", ast.Load()))
        return node


def decorated_source(source):
    tree = _DecorateAll().visit(ast.parse(source))
    return "from stacklessxf import stackless as _sx_stackless\n" + ast.unparse(tree) + "\n"


def run_reference(program, workdir, shim="stacklessxf"):
    """(stdout, stderr's last line, exit status) of ``program`` under CPython."""
    with open(program, encoding="utf-8") as f:
        source = f.read()
    if shim == "stacklessxf":
        source = decorated_source(source)
    path = os.path.join(workdir, "reference_" + os.path.basename(program))
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, f"{shim}_shim"))
    done = subprocess.run([sys.executable, path], capture_output=True, text=True, env=env,
                          cwd=workdir, timeout=300)
    return done.stdout, last_line(done.stderr), done.returncode


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""
