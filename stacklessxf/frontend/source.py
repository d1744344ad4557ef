"""Locate the astroid node of a live function object."""

import hashlib
import linecache
import types

import astroid
from astroid import nodes

from ..errors import TransformError
from .genexprs import PARAMETER, as_function

_parsed_modules = {}
_definitions_of = {}


def _module_node(filename, module_globals, qualname):
    # The file as it is now: importlib.reload does not refresh linecache, so
    # a module reloaded after an edit would be read as it was before.
    linecache.checkcache(filename)
    lines = linecache.getlines(filename, module_globals)
    if not lines:
        raise TransformError(
            f"source of {qualname} is not available (functions defined in "
            "exec'd strings or at an interactive prompt cannot be transformed)",
            filename, None, None, "source")
    text = "".join(lines)
    key = (filename, hashlib.sha1(text.encode()).hexdigest())
    module = _parsed_modules.get(key)
    if module is None:
        modname = module_globals.get("__name__", "") if module_globals else ""
        try:
            module = astroid.parse(text, module_name=modname, path=filename)
        except astroid.AstroidSyntaxError as exc:
            error = exc.error
            raise TransformError(f"syntax error: {error.msg}", filename,
                                 getattr(error, "lineno", None),
                                 getattr(error, "offset", None), "syntax") from None
        _parsed_modules[key] = module
    return module


def parsed_trees():
    """The module trees parsed so far (kept for good: a function transformed
    later may be in any of them)."""
    return list(_parsed_modules.values())


def _first_line(node):
    if node.decorators is not None and node.decorators.nodes:
        return node.decorators.nodes[0].lineno
    return node.lineno


def has_stackless_decorator(funcdef):
    """Whether ``@stackless`` (or ``@x.stackless``, with or without
    arguments) is among the decorators written on ``funcdef``."""
    for decorator in funcdef.decorators.nodes if funcdef.decorators else ():
        if isinstance(decorator, nodes.Call):
            decorator = decorator.func
        name = getattr(decorator, "attrname", None) or getattr(decorator, "name", None)
        if name == "stackless":
            return True
    return False


def locate(function):
    """Return (filename, funcdef node) for ``function``."""
    code = function.__code__
    filename = code.co_filename
    qualname = function.__qualname__
    if filename.startswith("<") and filename.endswith(">"):
        raise TransformError(
            f"source of {qualname} is not available (defined in {filename})",
            filename, code.co_firstlineno, None, "source")
    module = _module_node(filename, function.__globals__, qualname)
    node = _definitions(module).get(definition_key(code))
    if isinstance(node, nodes.FunctionDef):
        return filename, node
    if isinstance(node, nodes.GeneratorExp):
        return filename, as_function(node)
    if node is not None:
        raise TransformError("a lambda cannot be transformed; use def",
                             filename, node.lineno, node.col_offset, "lambda")
    raise TransformError(
        f"cannot find the definition of {qualname} at line "
        f"{code.co_firstlineno} of its file (was it edited after import?)",
        filename, code.co_firstlineno, None, "source")


def definition_key(code):
    """(name, first line) of a function's code; for a generator
    expression's, (name, line, column) where it starts: where its code
    loads its iterator parameter."""
    if code.co_name != "<genexpr>":
        return code.co_name, code.co_firstlineno
    import dis      # here: only a generator expression needs it
    for instruction in dis.get_instructions(code):
        if instruction.argval == PARAMETER:
            return code.co_name, instruction.positions.lineno, instruction.positions.col_offset
    return code.co_name, code.co_firstlineno


def _definitions(module):
    """The functions, lambdas and generator expressions of a parsed module
    by definition_key; built once per module (a walk of the whole tree per
    function made transforming a module quadratic)."""
    found = _definitions_of.get(module)
    if found is None:
        found = {}
        for node in module.nodes_of_class((nodes.FunctionDef, nodes.Lambda, nodes.GeneratorExp)):
            if isinstance(node, nodes.FunctionDef):
                found.setdefault((node.name, _first_line(node)), node)
            elif isinstance(node, nodes.Lambda):
                found.setdefault(("<lambda>", node.lineno), node)
            else:
                found.setdefault(("<genexpr>", node.lineno, node.col_offset), node)
        _definitions_of[module] = found
    return found


def compiles_to_loaded_code(code, module_globals):
    """Whether the source the transform reads (the file of ``code``, a
    function's code as CPython compiled it, as ``linecache`` has it)
    compiles to ``code``: same instructions at the same positions.  Decides
    between a call the compiler dropped and a file edited after import."""
    lines = linecache.getlines(code.co_filename, module_globals)
    try:
        module = compile("".join(lines), code.co_filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return any(_same_code(candidate, code) for candidate in _code_objects(module))


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _same_code(a, b):
    return (a.co_qualname == b.co_qualname and a.co_firstlineno == b.co_firstlineno
            and a.co_code == b.co_code and list(a.co_positions()) == list(b.co_positions()))
