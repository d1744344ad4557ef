"""The stackless functions of the process, by module, and the runtime's own.

The transform adds to the registry; the runtime reads it (the watchdog swaps
every function's code).  It lives here, below the transform, so that the
runtime never imports the transform.
"""

_by_module = {}

# Methods of the runtime that must be stackless, still plain.
_pending_pieces = []

# Set by the package: loads the transform, whose loading builds the pieces.
load_transform = None


def register(info):
    _by_module.setdefault(info.module, []).append(info)


def registered_functions(module_name):
    """The stackless functions defined in ``module_name``, in order."""
    return list(_by_module.get(module_name, ()))


def all_functions():
    """Every stackless function of the process."""
    return [info for infos in _by_module.values() for info in infos]


class RuntimePiece:
    """A method of the runtime that must be stackless, in its class until the
    transform makes it so: when the transform loads, or at the first access
    (the method's frame must be transformed code before it runs)."""

    def __init__(self, owner, name, function):
        self.owner, self.name, self.function = owner, name, function

    def __get__(self, instance, owner=None):
        if self in _pending_pieces:
            load_transform()
        return self.function.__get__(instance, owner)


def runtime_piece(owner, name, function):
    """Puts ``function`` in class ``owner`` as method ``name``, to be made
    stackless with the transform."""
    piece = RuntimePiece(owner, name, function)
    _pending_pieces.append(piece)
    setattr(owner, name, piece)


def build_runtime_pieces(make_stackless):
    """Makes every pending piece stackless (in place) and a plain method of
    its class; called by the transform as it loads."""
    while _pending_pieces:
        piece = _pending_pieces.pop(0)
        make_stackless(piece.function)
        setattr(piece.owner, piece.name, piece.function)
