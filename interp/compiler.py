"""From a program's source to app-level code objects.

The program is parsed by Python's own parser (``ast``) and its scopes are
read from ``symtable``; this module walks the tree and emits the
interpreter's instructions (``code.OPS``).  A construct outside the app
subset is a :class:`SubsetError` naming the program's file, line and the
construct.
"""

import ast
import symtable

from . import code as ops
from .code import Code


class SubsetError(Exception):
    """A construct of the program is outside the app subset."""

    def __init__(self, filename, node, construct):
        self.filename, self.lineno, self.construct = filename, node.lineno, construct
        super().__init__(f"{filename}:{node.lineno}: {construct} is outside the app subset "
                         f"of interp")


BINARY_OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv",
              ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow",
              ast.BitAnd: "and", ast.BitOr: "or", ast.BitXor: "xor",
              ast.LShift: "lshift", ast.RShift: "rshift"}
COMPARE_OPS = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt",
               ast.GtE: "ge"}
UNARY_OPS = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "invert"}
OTHER_COMPARES = {ast.Is: ops.IS, ast.IsNot: ops.IS_NOT, ast.In: ops.CONTAINS,
                  ast.NotIn: ops.NOT_CONTAINS}

# What each op does to the value stack's depth, given its argument.
STACK_EFFECT = {
    ops.NOP: 0, ops.LOAD_CONST: 1, ops.LOAD_FAST: 1, ops.STORE_FAST: -1, ops.DELETE_FAST: 0,
    ops.LOAD_DEREF: 1, ops.STORE_DEREF: -1, ops.LOAD_GLOBAL: 1, ops.STORE_GLOBAL: -1,
    ops.LOAD_NAME: 1, ops.STORE_NAME: -1, ops.LOAD_ATTR: 0, ops.STORE_ATTR: -2,
    ops.BINARY: -1, ops.INPLACE: -1, ops.UNARY: 0, ops.NOT: 0, ops.COMPARE: -1, ops.IS: -1,
    ops.IS_NOT: -1, ops.CONTAINS: -1, ops.NOT_CONTAINS: -1, ops.SUBSCR: -1,
    ops.STORE_SUBSCR: -3, ops.DELETE_SUBSCR: -2, ops.BUILD_SLICE: -2, ops.JUMP: 0,
    ops.POP_JUMP_IF_FALSE: -1, ops.POP_JUMP_IF_TRUE: -1, ops.JUMP_IF_FALSE_OR_POP: -1,
    ops.JUMP_IF_TRUE_OR_POP: -1, ops.GET_ITER: 0, ops.FOR_ITER: 1, ops.RETURN: -1, ops.POP: -1,
    ops.DUP: 1, ops.DUP2: 2, ops.LOAD_CLOSURE: 1, ops.ROT2: 0, ops.ROT3: 0, ops.RAISE: -1, ops.RERAISE: -1,
    ops.EXC_MATCH: -1, ops.IMPORT: 1, ops.SUPER: 1,
}


def compile_program(filename, source):
    """Every code object of the program, by path, and the module's code."""
    tree = ast.parse(source, filename)
    table = symtable.symtable(source, filename, "exec")
    codes = {}
    module = CodeBuilder(filename, source, codes, table, "<module>", "<module>", "module",
                         tree, None)
    module.compile_body(tree.body)
    module.emit_return_none(tree)
    module.finish()
    return module.code, codes


class Loop:
    def __init__(self, head, is_for, finally_depth):
        self.head, self.is_for, self.finally_depth = head, is_for, finally_depth
        self.breaks = []


class CodeBuilder:
    """Emits one code object; nested functions and classes get their own."""

    def __init__(self, filename, source, codes, table, name, path, kind, node, parent):
        self.filename, self.source, self.codes = filename, source, codes
        self.table, self.parent, self.node = table, parent, node
        self.code = Code(name, path, filename, getattr(node, "lineno", 1), kind)
        self.code.consts = []
        codes[path] = self.code
        self.children = {}
        for child in table.get_children():
            self.children.setdefault((child.get_name(), child.get_lineno()), []).append(child)
        self.line = self.code.firstlineno
        self.depth = 0
        self.handlers = []        # stack of active handler indexes
        self.finallies = []       # stack of (finally body, handler depth)
        self.loops = []
        self.except_vars = []     # hidden locals holding the exceptions being handled
        self.hidden = 0
        if kind == "function":
            self._scope_of_function()

    # -- scopes -------------------------------------------------------------

    def _scope_of_function(self):
        code, table = self.code, self.table
        args = self.node.args
        params = [a.arg for a in args.args]
        frees = set(table.get_frees())
        cells = set()
        for child in table.get_children():
            for name in self._frees_reaching(child):
                if name in table.get_locals() or name in params:
                    cells.add(name)
        code.varnames = list(params)
        for name in table.get_locals():
            if name not in code.varnames:
                code.varnames.append(name)
        code.argcount = len(params)
        code.cellvars = sorted(cells)
        code.freevars = sorted(frees)
        code.cell_args = [(code.cellvars.index(p), i) for i, p in enumerate(params) if p in cells]
        self.cells = code.cellvars + code.freevars

    def _frees_reaching(self, table):
        names = set(table.get_frees()) if table.get_type() == "function" else set()
        for child in table.get_children():
            names |= self._frees_reaching(child)
        return names

    def child_table(self, name, node):
        tables = self.children.get((name, node.lineno))
        if not tables:
            self.refuse(node, "this definition")
        return tables.pop(0)

    # -- emitting -----------------------------------------------------------

    def refuse(self, node, construct):
        raise SubsetError(self.filename, node, construct)

    def emit(self, op, arg=None):
        code = self.code
        code.instrs.append((op, arg))
        code.lines.append(self.line)
        code.handler_at.append(self.handlers[-1] if self.handlers else -1)
        if op == ops.CALL:
            self.depth -= arg
        elif op in (ops.BUILD_LIST, ops.BUILD_TUPLE):
            self.depth += 1 - arg
        elif op == ops.CALL_KW:
            self.depth -= arg[0] + len(arg[1])
        elif op == ops.BUILD_DICT:
            self.depth += 1 - 2 * arg
        elif op == ops.UNPACK:
            self.depth += arg - 1
        elif op == ops.MAKE_FUNCTION:
            self.depth -= arg[1]
            self.depth += 1 - len(arg[2])  # the closure cells are loaded onto the stack
        elif op == ops.MAKE_CLASS:
            self.depth -= arg[1] + len(arg[2]) - 1
        else:
            self.depth += STACK_EFFECT[op]
        return len(code.instrs) - 1

    def here(self):
        return len(self.code.instrs)

    def patch(self, index, target=None):
        op, _ = self.code.instrs[index]
        self.code.instrs[index] = (op, self.here() if target is None else target)

    def const(self, value):
        self.emit(ops.LOAD_CONST, value)

    def new_hidden(self, what):
        self.hidden += 1
        name = f".{what}{self.hidden}"
        if self.code.kind == "function":
            self.code.varnames.append(name)
        return name

    def finish(self):
        self.code.finish(self.source.splitlines())

    def emit_return_none(self, node):
        self.const(None)
        self.emit(ops.RETURN)

    # -- names --------------------------------------------------------------

    def load_name(self, name):
        self._name_op(name, ops.LOAD_FAST, ops.LOAD_DEREF, ops.LOAD_GLOBAL, ops.LOAD_NAME)

    def store_name(self, name):
        self._name_op(name, ops.STORE_FAST, ops.STORE_DEREF, ops.STORE_GLOBAL, ops.STORE_NAME)

    def _name_op(self, name, fast, deref, global_, by_name):
        kind = self.code.kind
        if kind == "function":
            if name in self.cells:
                self.emit(deref, self.cells.index(name))
                return
            try:
                symbol = self.table.lookup(name)
            except KeyError:
                symbol = None
            if symbol is None or symbol.is_global() or symbol.is_declared_global():
                if name not in self.code.varnames:
                    self.emit(global_, name)
                    return
            if name in self.code.varnames:
                self.emit(fast, self.code.varnames.index(name))
            else:
                self.emit(global_, name)
            return
        if kind == "class":
            try:
                symbol = self.table.lookup(name)
                if symbol.is_free():
                    self.refuse(self.node, f"a class body using the enclosing function's "
                                           f"variable {name!r}")
            except KeyError:
                pass
        self.emit(by_name, name)

    # -- statements ---------------------------------------------------------

    def compile_body(self, statements):
        for statement in statements:
            self.statement(statement)

    def statement(self, node):
        self.line = node.lineno
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            self.refuse(node, f"the statement {type(node).__name__}")
        method(node)

    def stmt_Expr(self, node):
        self.expr(node.value)
        self.emit(ops.POP)

    def stmt_Pass(self, node):
        pass

    def stmt_Global(self, node):
        if self.code.kind != "function":
            self.refuse(node, "a global statement outside a function")

    def stmt_Nonlocal(self, node):
        pass

    def stmt_Assign(self, node):
        self.expr(node.value)
        for i, target in enumerate(node.targets):
            if i < len(node.targets) - 1:
                self.emit(ops.DUP)
            self.store(target)

    def stmt_AugAssign(self, node):
        op = BINARY_OPS.get(type(node.op))
        if op is None:
            self.refuse(node, f"the operator {type(node.op).__name__}")
        target = node.target
        if isinstance(target, ast.Name):
            self.load_name(target.id)
            self.expr(node.value)
            self.emit(ops.INPLACE, op)
            self.store_name(target.id)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value)
            self.emit(ops.DUP)
            self.emit(ops.LOAD_ATTR, target.attr)
            self.expr(node.value)
            self.emit(ops.INPLACE, op)
            self.emit(ops.ROT2)
            self.emit(ops.STORE_ATTR, target.attr)
        elif isinstance(target, ast.Subscript):
            self.expr(target.value)
            self.subscript_index(target)
            self.emit(ops.DUP2)
            self.emit(ops.SUBSCR)
            self.expr(node.value)
            self.emit(ops.INPLACE, op)
            self.emit(ops.ROT3)
            self.emit(ops.STORE_SUBSCR)
        else:
            self.refuse(node, "this augmented assignment target")

    def store(self, target):
        if isinstance(target, ast.Name):
            self.store_name(target.id)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value)
            self.emit(ops.STORE_ATTR, target.attr)
        elif isinstance(target, ast.Subscript):
            self.expr(target.value)
            self.subscript_index(target)
            self.emit(ops.STORE_SUBSCR)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                self.refuse(target, "starred assignment")
            self.emit(ops.UNPACK, len(target.elts))
            for element in target.elts:
                self.store(element)
        else:
            self.refuse(target, f"assignment to {type(target).__name__}")

    def stmt_Delete(self, node):
        for target in node.targets:
            if isinstance(target, ast.Name) and self.code.kind == "function" and \
                    target.id in self.code.varnames and target.id not in self.cells:
                self.emit(ops.DELETE_FAST, self.code.varnames.index(target.id))
            elif isinstance(target, ast.Subscript):
                self.expr(target.value)
                self.subscript_index(target)
                self.emit(ops.DELETE_SUBSCR)
            else:
                self.refuse(node, "this del target")

    def stmt_Return(self, node):
        if self.code.kind != "function":
            self.refuse(node, "return outside a function")
        if node.value is None:
            self.const(None)
        else:
            self.expr(node.value)
        if self.finallies:
            hidden = self.new_hidden("return")
            self.store_name(hidden)
            self.run_finallies(0)
            self.load_name(hidden)
        self.emit(ops.RETURN)

    def run_finallies(self, down_to):
        """Inline the bodies of the finally blocks being left, innermost first,
        each outside its own try."""
        saved_handlers, saved_finallies = self.handlers, self.finallies
        for index in range(len(saved_finallies) - 1, down_to - 1, -1):
            body, handler_count = saved_finallies[index]
            self.handlers = saved_handlers[:handler_count]
            self.finallies = saved_finallies[:index]
            self.compile_body(body)
        self.handlers, self.finallies = saved_handlers, saved_finallies

    def stmt_If(self, node):
        self.expr(node.test)
        skip = self.emit(ops.POP_JUMP_IF_FALSE, None)
        self.compile_body(node.body)
        if node.orelse:
            end = self.emit(ops.JUMP, None)
            self.patch(skip)
            self.compile_body(node.orelse)
            self.patch(end)
        else:
            self.patch(skip)

    def stmt_While(self, node):
        head = self.here()
        self.expr(node.test)
        leave = self.emit(ops.POP_JUMP_IF_FALSE, None)
        loop = Loop(head, False, len(self.finallies))
        self.loops.append(loop)
        self.compile_body(node.body)
        self.loops.pop()
        self.line = node.lineno
        self.emit(ops.JUMP, head)
        self.patch(leave)
        self.compile_body(node.orelse)
        for index in loop.breaks:
            self.patch(index)

    def stmt_For(self, node):
        self.expr(node.iter)
        self.emit(ops.GET_ITER)
        head = self.here()
        leave = self.emit(ops.FOR_ITER, None)
        loop = Loop(head, True, len(self.finallies))
        self.loops.append(loop)
        self.store(node.target)
        self.compile_body(node.body)
        self.loops.pop()
        self.line = node.lineno
        self.emit(ops.JUMP, head)
        self.patch(leave)
        self.depth -= 1         # FOR_ITER's exit pops the iterator
        self.compile_body(node.orelse)
        for index in loop.breaks:
            self.patch(index)

    def stmt_Break(self, node):
        loop = self.current_loop(node, "break")
        self.run_finallies(loop.finally_depth)
        if loop.is_for:
            self.emit(ops.POP)
            self.depth += 1
        loop.breaks.append(self.emit(ops.JUMP, None))

    def stmt_Continue(self, node):
        loop = self.current_loop(node, "continue")
        self.run_finallies(loop.finally_depth)
        self.emit(ops.JUMP, loop.head)

    def current_loop(self, node, what):
        if not self.loops:
            self.refuse(node, f"{what} outside a loop")
        return self.loops[-1]

    def stmt_Raise(self, node):
        if node.cause is not None:
            self.refuse(node, "raise ... from ...")
        if node.exc is None:
            if not self.except_vars:
                self.refuse(node, "a bare raise outside an except block")
            self.load_name(self.except_vars[-1])
            self.emit(ops.RERAISE)
        else:
            self.expr(node.exc)
            self.emit(ops.RAISE)

    def stmt_Assert(self, node):
        self.expr(node.test)
        skip = self.emit(ops.POP_JUMP_IF_TRUE, None)
        self.load_name("AssertionError")
        if node.msg is not None:
            self.expr(node.msg)
            self.emit(ops.CALL, 1)
        self.emit(ops.RAISE)
        self.patch(skip)

    def push_handler(self):
        self.code.handlers.append(None)
        index = len(self.code.handlers) - 1
        self.handlers = self.handlers + [index]
        return index

    def set_handler(self, index, depth):
        self.code.handlers[index] = (self.here(), depth)

    def stmt_Try(self, node):
        if node.finalbody:
            self.try_finally(node)
        else:
            self.try_except(node)

    def try_finally(self, node):
        depth = self.depth
        handler = self.push_handler()
        self.finallies = self.finallies + [(node.finalbody, len(self.handlers) - 1)]
        if node.handlers:
            self.try_except(node)
        else:
            self.compile_body(node.body)
        self.finallies = self.finallies[:-1]
        self.handlers = self.handlers[:-1]
        self.compile_body(node.finalbody)
        end = self.emit(ops.JUMP, None)
        self.set_handler(handler, depth)
        self.depth = depth + 1
        hidden = self.new_hidden("finally")
        self.store_name(hidden)
        self.compile_body(node.finalbody)
        self.load_name(hidden)
        self.emit(ops.RERAISE)
        self.patch(end)
        self.depth = depth

    def try_except(self, node):
        depth = self.depth
        handler = self.push_handler()
        self.compile_body(node.body)
        self.handlers = self.handlers[:-1]
        self.compile_body(node.orelse)
        ends = [self.emit(ops.JUMP, None)]
        self.set_handler(handler, depth)
        self.depth = depth + 1
        for clause in node.handlers:
            self.line = clause.lineno
            skip = None
            if clause.type is not None:
                self.emit(ops.DUP)
                self.expr(clause.type)
                self.emit(ops.EXC_MATCH)
                skip = self.emit(ops.POP_JUMP_IF_FALSE, None)
            hidden = self.new_hidden("exception")
            if clause.name:
                self.emit(ops.DUP)
                self.store_name(clause.name)
            self.store_name(hidden)
            self.except_vars.append(hidden)
            self.compile_body(clause.body)
            self.except_vars.pop()
            ends.append(self.emit(ops.JUMP, None))
            self.depth = depth + 1
            if skip is not None:
                self.patch(skip)
        if not node.handlers or node.handlers[-1].type is not None:
            self.emit(ops.RERAISE)
        for index in ends:
            self.patch(index)
        self.depth = depth

    def stmt_Import(self, node):
        for alias in node.names:
            if alias.name != "stackless":
                self.refuse(node, f"import of {alias.name!r} (app code imports only stackless)")
            self.emit(ops.IMPORT, alias.name)
            self.store_name(alias.asname or alias.name)

    def stmt_ImportFrom(self, node):
        if node.module != "stackless" or node.level:
            self.refuse(node, f"import from {node.module!r} (app code imports only stackless)")
        for alias in node.names:
            if alias.name == "*":
                self.refuse(node, "import *")
            self.emit(ops.IMPORT, "stackless")
            self.emit(ops.LOAD_ATTR, alias.name)
            self.store_name(alias.asname or alias.name)

    def stmt_FunctionDef(self, node):
        if node.decorator_list:
            self.refuse(node, "a decorator")
        self.make_function(node, node.name, node.body)
        self.store_name(node.name)

    def stmt_ClassDef(self, node):
        if node.decorator_list or node.keywords:
            self.refuse(node, "a class decorator or class keyword")
        if len(node.bases) > 1:
            self.refuse(node, "multiple inheritance")
        table = self.child_table(node.name, node)
        path = self.child_path(node.name)
        body = CodeBuilder(self.filename, self.source, self.codes, table, node.name, path,
                           "class", node, self)
        body.compile_body(node.body)
        body.emit_return_none(node)
        body.finish()
        for base in node.bases:
            self.expr(base)
        self.emit(ops.MAKE_CLASS, (body.code, len(node.bases), ()))
        self.store_name(node.name)

    def child_path(self, name):
        if self.code.kind == "module":
            return name
        if self.code.kind == "class":
            return f"{self.code.path}.{name}"
        return f"{self.code.path}.<locals>.{name}"

    def make_function(self, node, name, body):
        args = node.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            self.refuse(node, "*args, **kwargs, keyword-only or positional-only parameters")
        table = self.child_table(name if name != "<lambda>" else "lambda", node)
        if name == "<lambda>":
            path = self.child_path(f"<lambda>@{node.lineno}:{node.col_offset}")
        else:
            path = self.child_path(name)
        builder = CodeBuilder(self.filename, self.source, self.codes, table, name, path,
                              "function", node, self)
        if isinstance(body, list):
            builder.compile_body(body)
            builder.emit_return_none(node)
        else:
            builder.line = body.lineno
            builder.expr(body)
            builder.emit(ops.RETURN)
        builder.finish()
        for default in args.defaults:
            self.expr(default)
        for free in builder.code.freevars:
            self.load_cell(node, free)
        self.emit(ops.MAKE_FUNCTION, (builder.code, len(args.defaults),
                                      tuple(builder.code.freevars)))

    def load_cell(self, node, name):
        """Push the cell of ``name`` itself (not its value), for a closure."""
        if self.code.kind == "class" and name == "__class__":
            self.emit(ops.LOAD_NAME, ".class_cell")
            return
        if self.code.kind != "function" or name not in self.cells:
            self.refuse(node, f"a closure over {name!r} here")
        self.emit(ops.LOAD_CLOSURE, self.cells.index(name))

    # -- expressions ----------------------------------------------------------

    def expr(self, node):
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            self.refuse(node, _describe(node))
        if hasattr(node, "lineno"):
            self.line = node.lineno
        method(node)

    def expr_Constant(self, node):
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            self.refuse(node, f"the constant {node.value!r}")
        self.const(node.value)

    def expr_Name(self, node):
        self.load_name(node.id)

    def expr_Attribute(self, node):
        self.expr(node.value)
        self.emit(ops.LOAD_ATTR, node.attr)

    def expr_Subscript(self, node):
        self.expr(node.value)
        self.subscript_index(node)
        self.emit(ops.SUBSCR)

    def subscript_index(self, node):
        index = node.slice
        if isinstance(index, ast.Slice):
            if index.step is not None:
                self.refuse(node, "a slice with a step")
            for part in (index.lower, index.upper):
                if part is None:
                    self.const(None)
                else:
                    self.expr(part)
            self.const(None)
            self.emit(ops.BUILD_SLICE)
        else:
            self.expr(index)

    def expr_BinOp(self, node):
        op = BINARY_OPS.get(type(node.op))
        if op is None:
            self.refuse(node, f"the operator {type(node.op).__name__}")
        self.expr(node.left)
        self.expr(node.right)
        self.line = node.lineno
        self.emit(ops.BINARY, op)

    def expr_UnaryOp(self, node):
        self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            self.emit(ops.NOT)
        else:
            self.emit(ops.UNARY, UNARY_OPS[type(node.op)])

    def expr_BoolOp(self, node):
        jump = ops.JUMP_IF_FALSE_OR_POP if isinstance(node.op, ast.And) else \
            ops.JUMP_IF_TRUE_OR_POP
        ends = []
        for value in node.values[:-1]:
            self.expr(value)
            ends.append(self.emit(jump, None))
        self.expr(node.values[-1])
        for index in ends:
            self.patch(index)

    def expr_IfExp(self, node):
        self.expr(node.test)
        skip = self.emit(ops.POP_JUMP_IF_FALSE, None)
        self.expr(node.body)
        end = self.emit(ops.JUMP, None)
        self.depth -= 1
        self.patch(skip)
        self.expr(node.orelse)
        self.patch(end)

    def compare_one(self, node, op):
        other = OTHER_COMPARES.get(type(op))
        if other is not None:
            self.emit(other)
        else:
            self.line = node.lineno
            self.emit(ops.COMPARE, COMPARE_OPS[type(op)])

    def expr_Compare(self, node):
        self.expr(node.left)
        if len(node.ops) == 1:
            self.expr(node.comparators[0])
            self.compare_one(node, node.ops[0])
            return
        cleanups = []
        for op, right in zip(node.ops[:-1], node.comparators[:-1]):
            self.expr(right)
            self.emit(ops.DUP)
            self.emit(ops.ROT3)
            self.compare_one(node, op)
            cleanups.append(self.emit(ops.JUMP_IF_FALSE_OR_POP, None))
        self.expr(node.comparators[-1])
        self.compare_one(node, node.ops[-1])
        end = self.emit(ops.JUMP, None)
        for index in cleanups:
            self.patch(index)
        self.depth += 1
        self.emit(ops.ROT2)
        self.emit(ops.POP)
        self.patch(end)

    def expr_Call(self, node):
        if any(isinstance(a, ast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            self.refuse(node, "a call with *args or **kwargs")
        if isinstance(node.func, ast.Name) and node.func.id == "super" and not node.args \
                and self.code.kind == "function" and "__class__" in self.cells:
            self.emit(ops.LOAD_DEREF, self.cells.index("__class__"))
            if not self.code.argcount:
                self.refuse(node, "super() in a function without parameters")
            self.emit(ops.LOAD_FAST, 0)
            self.emit(ops.SUPER)
            self.depth -= 2
            return
        self.expr(node.func)
        for arg in node.args:
            self.expr(arg)
        for keyword in node.keywords:
            self.expr(keyword.value)
        self.line = node.lineno
        if node.keywords:
            self.emit(ops.CALL_KW, (len(node.args), tuple(k.arg for k in node.keywords)))
        else:
            self.emit(ops.CALL, len(node.args))

    def expr_Lambda(self, node):
        self.make_function(node, "<lambda>", node.body)

    def expr_List(self, node):
        self.sequence(node, ops.BUILD_LIST)

    def expr_Tuple(self, node):
        self.sequence(node, ops.BUILD_TUPLE)

    def sequence(self, node, op):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            self.refuse(node, "a starred element")
        for element in node.elts:
            self.expr(element)
        self.emit(op, len(node.elts))

    def expr_Dict(self, node):
        if any(key is None for key in node.keys):
            self.refuse(node, "** in a dict display")
        for key, value in zip(node.keys, node.values):
            self.expr(key)
            self.expr(value)
        self.emit(ops.BUILD_DICT, len(node.keys))


def _describe(node):
    names = {"ListComp": "a list comprehension", "DictComp": "a dict comprehension",
             "SetComp": "a set comprehension", "GeneratorExp": "a generator expression",
             "JoinedStr": "an f-string", "Yield": "yield", "YieldFrom": "yield from",
             "Await": "await", "Set": "a set display", "NamedExpr": "an assignment expression",
             "Starred": "a starred expression"}
    return names.get(type(node).__name__, f"the expression {type(node).__name__}")
