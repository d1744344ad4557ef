"""Transform-time benchmark: every function of real modules made stackless.

    python bench/bench_transform.py [MODULE ...]

Each module (by default a few of the standard library's) is copied under a
new name into a temporary directory, imported, and given to
``stacklessxf.transform_module``, which makes each of its functions and
methods stackless in turn; each of those is timed.  The first function of a
module pays for reading and parsing its file.  The name ``corpus`` stands
for the test corpus (``tests/corpus/c_*.py``): each of its modules is
imported once, as it is, and each ``@stackless`` its import applies is timed.
Each module (and the corpus) runs in a fresh process, after the transform
itself is loaded, so that no module finds the work of another (parsed files,
inferred imports) done.  Printed per module: the median time per function,
as wall time and as the process' CPU time (which the machine's other load
does not inflate), the mean, the maximum, how many functions the subset
refused (they stay plain, and count too), and the CPU time of the whole
module's transform (what happens between the functions included).
With ``--repeat N`` each module is measured in N fresh processes and each
function counts with its least time: the machine's other load only ever
adds time.
"""

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ("ipaddress", "fractions", "posixpath", "textwrap", "json.decoder", "corpus")
CORPUS = "corpus"
TARGET_MS = 5.0


def transform_copy(module_name):
    """Per-function (wall, cpu) seconds of transforming a copy of the module."""
    import importlib

    import stacklessxf
    import stacklessxf.core  # noqa: F401  (loaded before the clock starts)
    from stacklessxf import modules

    source = importlib.import_module(module_name).__file__
    directory = tempfile.mkdtemp()
    try:
        copy_name = "bench_copy_of_" + module_name.replace(".", "_")
        shutil.copy(source, os.path.join(directory, copy_name + ".py"))
        sys.path.insert(0, directory)
        copy = importlib.import_module(copy_name)
        times = []
        real = modules.make_stackless_or_warn

        def timed(function, result=None):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return real(function, result)
            finally:
                times.append((time.perf_counter() - wall, time.process_time() - cpu))

        modules.make_stackless_or_warn = timed
        cpu = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stacklessxf.transform_module(copy)
        return {"times": times, "skipped": len(result.skipped),
                "total_cpu": time.process_time() - cpu}
    finally:
        shutil.rmtree(directory)


def transform_corpus():
    """Per-function (wall, cpu) seconds of each ``@stackless`` that importing
    the corpus modules applies."""
    import stacklessxf
    import stacklessxf.core  # noqa: F401  (loaded before the clock starts)
    from tests import differential

    times, real = [], stacklessxf.stackless

    def timed(function=None, **options):
        if function is None:
            return functools.partial(timed, **options)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return real(function, **options)
        finally:
            times.append((time.perf_counter() - wall, time.process_time() - cpu))

    stacklessxf.stackless = timed
    cpu = time.process_time()
    for path in differential.corpus_paths():
        differential.unload_module(differential.load_module(path, plain=False))
    return {"times": times, "skipped": 0, "total_cpu": time.process_time() - cpu}


def measure_in_fresh_process(module_name):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, __file__, "--child", module_name], env=env,
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def least_of(runs):
    """One measurement of runs of the same transforms in the same order:
    per function (and for the whole), the least time any run took."""
    least = dict(runs[0])
    least["times"] = [[min(times) for times in zip(*per_run)]
                      for per_run in zip(*(run["times"] for run in runs))]
    least["total_cpu"] = min(run["total_cpu"] for run in runs)
    return least


def report(module_name, measured):
    wall = [w * 1e3 for w, _ in measured["times"]]
    cpu = [c * 1e3 for _, c in measured["times"]]
    print(f"{module_name}: {len(wall)} functions ({measured['skipped']} refused, left plain),"
          f" median {statistics.median(wall):.1f} ms wall, {statistics.median(cpu):.1f} ms CPU"
          f" per function (target <= {TARGET_MS:.0f} ms)"
          f"  [mean {statistics.mean(wall):.1f} ms, max {max(wall):.0f} ms, total"
          f" {sum(wall) / 1e3:.2f} s wall, {measured['total_cpu']:.2f} s CPU]")
    return wall, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=MODULES, metavar="MODULE")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure each module in N fresh processes, keep each "
                             "function's least time (default 1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name = args.modules[0]
        print(json.dumps(transform_corpus() if name == CORPUS else transform_copy(name)))
        return
    runs = "a fresh process" if args.repeat == 1 else \
        f"{args.repeat} fresh processes, each function's least time"
    print(f"Python {sys.version.split()[0]}; each module in {runs}")
    all_wall, all_cpu = [], []
    for module_name in args.modules:
        measured = least_of([measure_in_fresh_process(module_name)
                             for _ in range(max(1, args.repeat))])
        wall, cpu = report(module_name, measured)
        all_wall += wall
        all_cpu += cpu
    if len(args.modules) > 1:
        print(f"all {len(all_wall)} functions: median {statistics.median(all_wall):.1f} ms"
              f" wall, {statistics.median(all_cpu):.1f} ms CPU (target <= {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
