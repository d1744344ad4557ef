"""App-level code objects: what the compiler makes of a program's functions,
class bodies and module body, and how a checkpoint names them again.

A code object is app-level data: its instructions are the interpreter's own
(``OPS``), not CPython's, so a checkpoint can hold a frame's instruction index
and value stack without depending on how ``interp`` itself was compiled.  It
pickles as its program file, its path inside the program (``fib``,
``Tree.__init__``, ``main.<locals>.<lambda>@7``) and a fingerprint of its
source and instructions; loading it compiles the file again and refuses
(``StaleCodeError``) when the function changed.
"""

import hashlib


OPS = """
NOP LOAD_CONST LOAD_FAST STORE_FAST DELETE_FAST LOAD_DEREF STORE_DEREF LOAD_GLOBAL STORE_GLOBAL
LOAD_NAME STORE_NAME LOAD_ATTR STORE_ATTR BINARY INPLACE UNARY COMPARE IS IS_NOT CONTAINS NOT_CONTAINS
SUBSCR STORE_SUBSCR DELETE_SUBSCR BUILD_LIST BUILD_TUPLE BUILD_DICT BUILD_SLICE UNPACK CALL CALL_KW
JUMP POP_JUMP_IF_FALSE POP_JUMP_IF_TRUE JUMP_IF_FALSE_OR_POP JUMP_IF_TRUE_OR_POP GET_ITER FOR_ITER
RETURN POP DUP DUP2 ROT2 ROT3 LOAD_CLOSURE MAKE_FUNCTION MAKE_CLASS RAISE RERAISE EXC_MATCH IMPORT NOT SUPER
""".split()
for _number, _name in enumerate(OPS):
    globals()[_name] = _number

# Ops that may call app code (or switch).  A frame stopped in one has its
# instruction index stored and the op's operands popped; when the call
# returns, the ops in PUSHING_OPS push its result.
CALLING_OPS = frozenset(globals()[name] for name in """
BINARY INPLACE UNARY COMPARE SUBSCR STORE_SUBSCR CALL CALL_KW FOR_ITER MAKE_CLASS
""".split())
PUSHING_OPS = CALLING_OPS - {globals()["STORE_SUBSCR"]}


class StaleCodeError(Exception):
    """A checkpoint names app code that is no longer what the program file
    compiles to."""


class Code:
    """One app-level code object (a function, a class body, a module)."""

    def __init__(self, name, path, filename, firstlineno, kind):
        self.name = name
        self.path = path              # unique inside the program
        self.filename = filename
        self.firstlineno = firstlineno
        self.kind = kind              # "function", "class" or "module"
        self.instrs = []              # (op, arg) pairs
        self.lines = []               # line of each instruction
        self.handler_at = []          # index into handlers, or -1, per instruction
        self.handlers = []            # (target, stack depth)
        self.varnames = []            # locals: parameters first
        self.argcount = 0
        self.cellvars = []            # locals that nested functions use
        self.freevars = []            # names of the closure cells
        self.cell_args = []           # (cell index, local index) of parameters that are cells
        self.source = ""
        self.fingerprint = ""
        self.program = None           # the Program that made it

    def finish(self, lines):
        """Fingerprint the code: its own lines of source (not those of the
        functions and classes nested in it), its position, its instructions."""
        own = sorted(set(self.lines) | {self.firstlineno})
        self.source = "\n".join(lines[n - 1] for n in own if 0 < n <= len(lines))
        digest = hashlib.sha256(repr((self.source, own, self.firstlineno, self.instrs,
                                      self.varnames, self.cellvars, self.freevars)).encode())
        self.fingerprint = digest.hexdigest()[:16]

    def line_at(self, pc):
        if 0 <= pc < len(self.lines):
            return self.lines[pc]
        return self.firstlineno

    def __reduce__(self):
        return find_code, (self.filename, self.path, self.fingerprint)

    def __repr__(self):
        return f"<app code {self.path} at {self.filename}:{self.firstlineno}>"


def find_code(filename, path, fingerprint):
    """The code ``path`` of program ``filename`` as this process compiles
    it; StaleCodeError when it is not the code the checkpoint was made with."""
    from .program import load_program
    program = load_program(filename)
    code = program.codes.get(path)
    if code is None:
        raise StaleCodeError(f"{filename}: the checkpoint names app function {path!r}, "
                             f"which the program no longer defines")
    if code.fingerprint != fingerprint:
        raise StaleCodeError(f"{filename}:{code.firstlineno}: app function {path!r} changed "
                             f"since the checkpoint was written; it cannot be resumed")
    return code
