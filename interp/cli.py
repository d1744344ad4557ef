"""``python -m interp run|resume|frames|records``."""

import argparse
import sys

from .code import StaleCodeError
from .compiler import SubsetError


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m interp",
                                     description="an interpreter for a subset of Python, "
                                                 "compiled by stacklessxf")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a program")
    run.add_argument("program")
    run.add_argument("--checkpoint-at", type=int, metavar="K", default=0,
                     help="stop at the K-th switch point and write the app state")
    run.add_argument("--checkpoint", metavar="FILE", help="where --checkpoint-at writes")
    resume = sub.add_parser("resume", help="go on with a checkpoint in this process")
    resume.add_argument("file")
    frames = sub.add_parser("frames", help="print the app frames of a checkpoint")
    frames.add_argument("file")
    records = sub.add_parser("records", help="run a program and count the records at each "
                                             "switch point")
    records.add_argument("program")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.checkpoint_at and not args.checkpoint:
        parser.error("--checkpoint-at needs --checkpoint FILE")
    try:
        return COMMANDS[args.command](args)
    except (SubsetError, StaleCodeError, OSError) as exc:
        sys.stdout.flush()
        print(f"interp: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .checkpoint import CheckpointError
        if isinstance(exc, CheckpointError):
            sys.stdout.flush()
            print(f"interp: {exc}", file=sys.stderr)
            return 2
        raise


def cmd_run(args):
    from .runner import run_program
    from .tasklets import SWITCH_POINTS
    SWITCH_POINTS.checkpoint_at = args.checkpoint_at
    SWITCH_POINTS.checkpoint_file = args.checkpoint
    return run_program(args.program)


def cmd_resume(args):
    from .checkpoint import resume_checkpoint
    return resume_checkpoint(args.file)


def cmd_frames(args):
    from .frames import print_frames
    return print_frames(args.file)


def cmd_records(args):
    from .records import measure_program
    return measure_program(args.program)


COMMANDS = {"run": cmd_run, "resume": cmd_resume, "frames": cmd_frames,
            "records": cmd_records}
