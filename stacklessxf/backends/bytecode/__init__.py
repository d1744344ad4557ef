"""The bytecode backend: CPython code objects with resumable call sites."""

from .instrument import instrument

__all__ = ["instrument"]
