"""An import hook that makes the functions of chosen modules stackless as
they are defined, and the ``run`` command's way of running a script so.

A module the hook takes is compiled from its source with one more decorator
on each ``def`` at module level and in class bodies, the innermost one: it
makes the function stackless (or leaves it plain with a TransformWarning)
before any other decorator sees it and before the module's own code can call
it.  The function's code is CPython's compilation of the unchanged source,
which is what the transform expects; functions defined inside functions,
lambdas and ``async def`` stay plain.
"""

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig

# The decorator, reached without adding a name to the module.
_DECORATOR = '__import__("stacklessxf.modules", None, None, ("_",)).make_stackless_or_warn'

# Where the standard library and installed packages live.
LIBRARY_DIRS = tuple(os.path.abspath(sysconfig.get_paths()[key]) + os.sep
                      for key in ("stdlib", "platstdlib", "purelib", "platlib"))


class _AddDecorators(ast.NodeTransformer):
    """Adds the decorator to every def of a module or class body."""

    def visit_FunctionDef(self, node):
        node.decorator_list.append(_decorator_at(node))
        return node   # functions defined inside it stay as they are

    def visit_AsyncFunctionDef(self, node):
        return node

    def visit_Lambda(self, node):
        return node


def _decorator_at(funcdef):
    """The decorator, placed at the line of the ``def``, so that the
    function's first line (its first decorator's) stays what it was."""
    decorator = ast.parse(_DECORATOR, mode="eval").body
    for node in ast.walk(decorator):
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = funcdef.lineno
            node.col_offset = node.end_col_offset = funcdef.col_offset
    return decorator


def transforming_compile(source, path):
    """The code of the module at ``path``, each of its defs decorated."""
    tree = ast.parse(source, filename=path)
    tree = _AddDecorators().visit(tree)
    return compile(tree, path, "exec", dont_inherit=True)


class TransformingLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from source with its functions made stackless.  It
    neither reads nor writes the bytecode cache, which holds the plain
    compilation of the same file."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return transforming_compile(self.get_data(path), path)


class TransformingFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of the packages (and the directories) it was given
    as the other finders do, and has them loaded by TransformingLoader."""

    def __init__(self):
        self.packages = set()
        self.directories = set()

    def takes(self, fullname, filename):
        if _is_ours(fullname):
            return False    # the transform cannot transform itself while it loads
        if any(fullname == name or fullname.startswith(name + ".") for name in self.packages):
            return True
        if filename is None:
            return False
        path = os.path.abspath(filename)
        return not path.startswith(LIBRARY_DIRS) and any(
            path.startswith(directory) for directory in self.directories)

    def find_spec(self, fullname, path=None, target=None):
        # A module it does not take keeps the spec found, which the import
        # system would find again after this finder.
        spec = self._spec_of_the_other_finders(fullname, path, target)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader) \
                and self.takes(fullname, spec.origin):
            spec.loader = TransformingLoader(fullname, spec.origin)
        return spec

    def _spec_of_the_other_finders(self, fullname, path, target):
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def uninstall(self):
        """Modules imported from now on are loaded as usual."""
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.packages.clear()
        self.directories.clear()


_finder = TransformingFinder()


def install(packages=(), directories=()):
    """Makes every function of the named packages (and of the modules in
    ``directories``) stackless as they are imported; modules of them
    imported already are transformed now.  Returns the hook, whose
    ``uninstall()`` removes it."""
    from .modules import transform_module
    if isinstance(packages, str):
        packages = [packages]
    _finder.packages.update(packages)
    _finder.directories.update(os.path.join(os.path.abspath(d), "") for d in directories)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if filename and _finder.takes(name, filename):
            transform_module(module)
    return _finder


def _is_ours(module_name):
    return module_name == "stacklessxf" or module_name.startswith("stacklessxf.")


def run_script(path, argv, packages=()):
    """Runs the script at ``path`` as ``__main__``, as ``python SCRIPT
    ARGS`` would, with its functions, those of the modules next to it and
    of ``packages`` made stackless as they are defined."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    install(packages, [directory])
    loader = TransformingLoader("__main__", path)
    spec = importlib.util.spec_from_file_location("__main__", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    # As for `python SCRIPT`: no spec, and the script's directory first on the path.
    module.__spec__ = None
    sys.modules["__main__"] = module
    sys.argv[:] = [path] + list(argv)
    sys.path[0] = directory
    loader.exec_module(module)
