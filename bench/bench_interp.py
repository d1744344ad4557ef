"""Benchmarks for interp, the interpreter compiled by stacklessxf.

    python bench/bench_interp.py

1. App-level fib(20) and a tasklet ping-pong, run by the transformed
   interpreter and by the same interpreter untransformed (``@stackless``
   replaced by the identity, in a process of its own): the normal path's
   cost of the transform, target at most TARGET.  Untransformed, the
   interpreter cannot switch, so there the two sides of the ping-pong run
   one after the other and ``schedule()`` returns at once: the ping-pong's
   ratio is the app work plus the switches against the app work alone.
2. Checkpoint size per app frame: a program stopped DEPTH app frames deep.
3. An app-level switch (the ping-pong's extra time over the untransformed
   run, per switch) against a stacklessxf ``schedule()`` switch between two
   stackless functions.

Each time is the best of ROUNDS runs in one process, after one warm-up run,
and the best of PROCESSES such processes per build, taking turns.  On a
loaded machine times vary more than the ratio being measured, so the
executed bytecodes of fib(12) are counted too: that ratio is exact.
"""

import os
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

ROUNDS = 3
PROCESSES = 3       # per build, interleaved: the best is kept
TARGET = 1.10
SWITCHES = 20_000
DEPTH = 10_000

# fib(20) is called from PAD app frames deep, for each PAD in PADS: CPython
# 3.11 allocates its frame stack in 16 KiB chunks and frees a chunk when the
# frame that needed it returns, so a recursion that goes back and forth
# across a chunk's end allocates and frees a chunk per call; where that end
# falls depends on how deep the recursion starts and on the frames' sizes
# (the transform's frames are larger), so each build is timed over a range
# of starting depths.
FIB = """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

def pad(k):
    if k == 0:
        return fib(20)
    return pad(k - 1)

print(pad(PAD))
"""
PADS = range(0, 16, 2)

PING_PONG = f"""
import stackless

def side(name, n):
    i = 0
    total = 0
    while i < n:
        total = total + i * 2
        stackless.schedule()
        i += 1
    print(name, total)

stackless.tasklet(side)("ping", {SWITCHES // 2})
stackless.tasklet(side)("pong", {SWITCHES // 2})
stackless.run()
"""

# The same app work, for the untransformed interpreter, which cannot switch:
# schedule() returns at once and the two sides run one after the other.
PING_PONG_PLAIN = PING_PONG.replace("stackless.tasklet(side)", "side").replace(
    "stackless.run()", "")

DEEP = f"""
import stackless

def down(n):
    if n == 0:
        stackless.schedule()
        return 0
    return down(n - 1) + 1

print(down({DEPTH}))
"""


def child(mode, program, count=False):
    """Run ``program`` ROUNDS times with the interpreter built as ``mode``;
    print the best time (the mean over the starting depths), or with
    ``count`` the bytecodes one run executes."""
    if mode == "plain":
        import stacklessxf
        stacklessxf.stackless = lambda function=None, **_: function
        stacklessxf.schedule = lambda retval=None: retval
    if count:
        print(executed_bytecodes(program))
        return
    paths = [program] if "PAD" not in open(program).read() else [
        padded(program, pad) for pad in PADS]
    print(sum(best_time(path) for path in paths) / len(paths))


def padded(program, pad):
    path = f"{program[:-3]}_{pad}.py"
    with open(program) as f, open(path, "w") as out:
        out.write(f.read().replace("PAD", str(pad)))
    return path


def best_time(program):
    import io

    from interp.runner import drive, start_program
    best = float("inf")
    for _ in range(ROUNDS + 1):
        saved, sys.stdout = sys.stdout, io.StringIO()
        try:
            started = time.perf_counter()
            error = drive(start_program(program))
            elapsed = time.perf_counter() - started
        finally:
            sys.stdout = saved
        if error is not None:
            raise error
        best = min(best, elapsed)
    return best


def executed_bytecodes(program):
    """Bytecodes executed by one run after a first one: deterministic,
    unlike times on a loaded machine."""
    import io

    from interp.runner import drive, start_program
    executed = [0]

    def trace(frame, event, arg):
        frame.f_trace_opcodes, frame.f_trace_lines = True, False

        def count(frame, event, arg):
            if event == "opcode":
                executed[0] += 1
            return count
        return count

    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        drive(start_program(program))
        sys.settrace(trace)
        drive(start_program(program))
        sys.settrace(None)
    finally:
        sys.stdout = saved
    return executed[0]


def write(source, workdir, name="program.py"):
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(source)
    return path


def child_result(mode, path, *extra):
    done = subprocess.run([sys.executable, __file__, "--child", mode, path, *extra],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def timed_pair(source, plain_source, workdir):
    """Best times of the transformed and the untransformed build, each run
    in PROCESSES processes taking turns."""
    path, plain_path = write(source, workdir), write(plain_source, workdir, "plain.py")
    transformed, plain = [], []
    for _ in range(PROCESSES):
        transformed.append(child_result("transformed", path))
        plain.append(child_result("plain", plain_path))
    return min(transformed), min(plain)


def checkpoint_bytes(workdir):
    path = os.path.join(workdir, "deep.py")
    with open(path, "w") as f:
        f.write(DEEP)
    file = os.path.join(workdir, "deep.ckpt")
    subprocess.run([sys.executable, "-m", "interp", "run", path, "--checkpoint-at", "1",
                    "--checkpoint", file], check=True, capture_output=True)
    return os.path.getsize(file) / (DEPTH + 2)      # down() frames, <module>, slack


def stacklessxf_switch_time():
    import stacklessxf as sx

    @sx.stackless
    def side(n):
        for _ in range(n):
            sx.schedule()

    best = float("inf")
    for _ in range(ROUNDS):
        sx.tasklet(side)(SWITCHES // 2)
        sx.tasklet(side)(SWITCHES // 2)
        started = time.perf_counter()
        sx.run()
        best = min(best, time.perf_counter() - started)
    return best / SWITCHES


def main():
    with tempfile.TemporaryDirectory() as workdir:
        results = []
        for name, source, plain_source in (("fib(20)", FIB, FIB),
                                           ("ping-pong", PING_PONG, PING_PONG_PLAIN)):
            transformed, plain = timed_pair(source, plain_source, workdir)
            results.append((name, transformed, plain))
            print(f"{name:10} transformed {transformed * 1e3:8.1f} ms   untransformed "
                  f"{plain * 1e3:8.1f} ms   ratio {transformed / plain:5.2f}x")
        small_fib = write(FIB.replace("fib(20)", "fib(12)").replace("PAD", "0"), workdir,
                          "fib12.py")
        counts = [child_result(mode, small_fib, "count") for mode in ("transformed", "plain")]
        print(f"fib(12) bytecodes executed: transformed {counts[0]:.0f}, untransformed "
              f"{counts[1]:.0f}, ratio {counts[0] / counts[1]:.3f}x")
        per_frame = checkpoint_bytes(workdir)
    print(f"checkpoint: {per_frame:.0f} bytes per app frame ({DEPTH} frames deep)")
    _, transformed, plain = results[1]
    app_switch = (transformed - plain) / SWITCHES
    sx_switch = stacklessxf_switch_time()
    print(f"app-level switch: {app_switch * 1e6:.2f} us; stacklessxf schedule() switch: "
          f"{sx_switch * 1e6:.2f} us ({app_switch / sx_switch:.1f}x)")
    fib_ratio = results[0][1] / results[0][2]
    print(f"fib(20) normal path: {fib_ratio:.2f}x "
          f"({'within' if fib_ratio <= TARGET else 'over'} the {TARGET:.2f}x target)")


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], count=len(sys.argv) == 5)
    else:
        main()
