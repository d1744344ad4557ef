"""Errors raised by stacklessxf."""


class TransformError(Exception):
    """A function cannot be transformed: names the construct and where it is."""

    def __init__(self, message, filename=None, lineno=None, col=None, construct=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.construct = construct
        super().__init__(self._format())

    def _format(self):
        where = self.filename or "<unknown>"
        if self.lineno is not None:
            where += f":{self.lineno}"
            if self.col is not None:
                where += f":{self.col}"
        what = f" [{self.construct}]" if self.construct else ""
        return f"{where}: {self.message}{what}"


class SwitchError(RuntimeError):
    """A tasklet tried to switch while a plain (not transformed) frame was on
    its stack; names that frame."""


class StaleCodeError(Exception):
    """Saved records belong to code that has changed since they were made.

    Raised instead of resuming them into different code; names the function.
    """

    def __init__(self, message, module=None, qualname=None):
        self.module = module
        self.qualname = qualname
        super().__init__(message)


class TransformWarning(UserWarning):
    """A function of a module transformed as a whole stays plain, or a
    generator expression of a stackless function that would be better
    stackless stays CPython's: the transform refused it (the message says
    why and where)."""
