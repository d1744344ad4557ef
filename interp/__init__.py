"""interp: an interpreter for a subset of Python, written in stacklessxf's
subset and compiled by it, as PyPy's interpreter is written in RPython.

``python -m interp run PROG.py`` runs a program; see docs/interp.md for the
app subset, the commands, and the checkpoint format.
"""
