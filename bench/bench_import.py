"""Import-time benchmark for stacklessxf: prints one ratio per line, each
with its target.

    python bench/bench_import.py [--runs N]

Each measurement starts a fresh interpreter (the one running this script)
that runs one statement and exits: ``pass``, ``import greenlet`` and
``import stacklessxf``.  The runs are interleaved, and the median wall time of
each is compared with the median of ``pass``, the cost of starting the
interpreter at all.  A last line checks, in one more fresh process, that the
import loaded neither the transform nor astroid nor llvmlite.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STATEMENTS = {
    "pass": "pass",
    "import greenlet": "import greenlet",
    "import stacklessxf": "import stacklessxf",
}
IMPORT_TARGET = 2.0
RUNS = 21

HEAVY_PREFIXES = ("astroid", "llvmlite", "stacklessxf.core", "stacklessxf.frontend",
                  "stacklessxf.ir", "stacklessxf.analysis", "stacklessxf.backends")


def _environment(pycache):
    """As a user's imports run: from compiled bytecode (kept in ``pycache``,
    written by a first, untimed run)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def time_statement(statement, env):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], env=env, check=True)
    return time.perf_counter() - start


def measure(runs, env):
    for statement in STATEMENTS.values():
        time_statement(statement, env)
    seconds = {name: [] for name in STATEMENTS}
    for _ in range(runs):
        for name, statement in STATEMENTS.items():
            seconds[name].append(time_statement(statement, env))
    return {name: statistics.median(times) for name, times in seconds.items()}


def modules_loaded_by_import(env):
    probe = ("import sys, stacklessxf; "
             f"print(' '.join(m for m in sys.modules if m.startswith({HEAVY_PREFIXES!r})))")
    result = subprocess.run([sys.executable, "-c", probe], env=env,
                            check=True, capture_output=True, text=True)
    return result.stdout.split()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS,
                        help="fresh processes per statement (default: %(default)s)")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, {args.runs} fresh processes each, median")
    with tempfile.TemporaryDirectory() as pycache:
        env = _environment(pycache)
        medians = measure(args.runs, env)
        heavy = modules_loaded_by_import(env)
    floor = medians["pass"]
    print(f"python -c pass: {floor * 1e3:.1f} ms")
    greenlet = medians["import greenlet"]
    ours = medians["import stacklessxf"]
    print(f"import greenlet / pass: {greenlet / floor:.2f}x  [{greenlet * 1e3:.1f} ms]")
    print(f"import stacklessxf / pass: {ours / floor:.2f}x (target <= {IMPORT_TARGET:.0f}x)"
          f"  [{ours * 1e3:.1f} ms; {(ours - floor) * 1e3:.1f} ms over pass,"
          f" {(ours - greenlet) * 1e3:+.1f} ms against import greenlet]")
    print("import stacklessxf loads the transform, astroid or llvmlite: "
          + (f"yes, {len(heavy)} modules, {', '.join(heavy[:5])}, ... (should be none)" if heavy else "no"))


if __name__ == "__main__":
    main()
