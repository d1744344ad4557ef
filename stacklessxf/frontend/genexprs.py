"""A generator expression seen as the generator function CPython compiles.

CPython compiles ``(elt for x in xs if c for y in x)`` as a generator
function of one parameter, ``.0`` (the outermost iterator, computed where
the expression stands), whose body is::

    for x in .0:
        if c:
            for y in x:
                yield elt

The function built here is that body, as an astroid ``FunctionDef`` whose
new nodes (the loops, tests, the ``yield``) hold the expression's own parts:
those keep their parents, so names in them are looked up as in the
expression.  The ``yield`` has the span of the whole expression, which is
where the generator backend puts the call that stands for it (see
``backends.bytecode.generators``).  ``origin`` is the expression.
"""

from astroid import nodes

PARAMETER = ".0"

_functions = {}


def as_function(genexpr):
    """The generator function ``genexpr`` compiles to (built once)."""
    function = _functions.get(genexpr)
    if function is None:
        function = _functions[genexpr] = _build(genexpr)
    return function


def origin(funcdef):
    """The generator expression a function was built from, or None."""
    return getattr(funcdef, "genexpr", None)


def _build(genexpr):
    span = _span(genexpr)
    function = nodes.FunctionDef("<genexpr>", parent=genexpr.parent, **span)
    arguments = nodes.Arguments(None, None, function)
    parameter = nodes.AssignName(PARAMETER, parent=arguments, **span)
    arguments.postinit(args=[parameter], defaults=[], kwonlyargs=[], kw_defaults=[],
                       annotations=[None], posonlyargs=[], kwonlyargs_annotations=[],
                       posonlyargs_annotations=[])
    function.postinit(arguments, [_loops(genexpr, 0, function, span)])
    function.genexpr = genexpr
    function.locals = {PARAMETER: [parameter], **genexpr.locals}
    return function


def _loops(genexpr, index, parent, span):
    generator = genexpr.generators[index]
    loop = nodes.For(parent=parent, **span)
    source = nodes.Name(PARAMETER, parent=loop, **span) if index == 0 else generator.iter
    body = inner = []
    container = loop
    for condition in generator.ifs:
        test = nodes.If(parent=container, **span)
        inner.append(test)
        test.postinit(condition, [], [])
        container, inner = test, test.body
    if index + 1 < len(genexpr.generators):
        inner.append(_loops(genexpr, index + 1, container, span))
    else:
        statement = nodes.Expr(parent=container, **span)
        value = nodes.Yield(parent=statement, **span)
        value.postinit(genexpr.elt)
        statement.postinit(value)
        inner.append(statement)
    loop.postinit(generator.target, source, body, [], None)
    return loop


def _span(node):
    return {"lineno": node.lineno, "col_offset": node.col_offset,
            "end_lineno": node.end_lineno, "end_col_offset": node.end_col_offset}
