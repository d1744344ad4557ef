"""The IR: a small control-flow graph that both backends compile from."""

from stacklessxf.ir.lower import lower
from stacklessxf.ir.model import (
    Block,
    Branch,
    Call,
    CallSite,
    Const,
    Eval,
    Function,
    Jump,
    Prim,
    Raise,
    Return,
    Store,
    Tree,
)
from stacklessxf.ir.printer import format_function
from stacklessxf.ir.verify import IRError, verify

__all__ = [
    "Block", "Branch", "Call", "CallSite", "Const", "Eval", "Function", "IRError", "Jump",
    "Prim", "Raise", "Return", "Store", "Tree", "format_function", "lower", "verify",
]
