"""A program: one file compiled to app-level code objects, once per process."""

import os

from .compiler import compile_program


class Program:
    def __init__(self, filename, source):
        self.filename = filename
        self.source = source
        self.lines = source.splitlines()
        self.module_code, self.codes = compile_program(filename, source)
        for code in self.codes.values():
            code.program = self

    def source_line(self, lineno):
        if 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1].strip()
        return ""


_PROGRAMS = {}


def load_program(filename):
    """The program in ``filename`` (compiled once per process)."""
    key = os.path.abspath(filename)
    program = _PROGRAMS.get(key)
    if program is None:
        with open(key, encoding="utf-8") as f:
            source = f.read()
        program = _PROGRAMS[key] = Program(key, source)
    return program
