"""Shapes of real library code whose calls CPython compiles at other
positions than the call's own span, or not at all: method chains split over
lines (the call then starts at the method's name), a constructor call over
several lines followed by a method call (as ``json.dumps`` and
``pprint.pformat`` end), and calls in code the compiler drops (``if 0 and
...:``, as in ``textwrap.dedent``)."""

import re

from stacklessxf import stackless

LOG = []

_blank = re.compile(r"^[ \t]+$", re.MULTILINE)
_indent = re.compile(r"(^[ \t]*)(?:[^ \t\n])", re.MULTILINE)


@stackless
def normalized(s):
    return (s
            .strip()
            .lower())


@stackless
def shout(word):
    LOG.append(("shout", word))
    return word.upper()


class Text:
    def __init__(self, value):
        self.value = value

    @stackless
    def then(self, fn):
        return Text(fn(self.value))


@stackless
def chained_stackless_methods(word):
    result = (Text(word)
              .then(shout)
              .then(normalized)
              .then(shout))
    return result.value


class Encoder:
    def __init__(self, *, indent=None, separators=None, sort_keys=False):
        self.indent = indent
        self.separators = separators or (", ", ": ")
        self.sort_keys = sort_keys

    @stackless
    def encode(self, obj):
        items = []
        if isinstance(obj, dict):
            keys = sorted(obj) if self.sort_keys else list(obj)
            for k in keys:
                items.append(encode_key(k) + self.separators[1] + self.encode(obj[k]))
            return "{" + self.separators[0].join(items) + "}"
        if isinstance(obj, list):
            for v in obj:
                items.append(self.encode(v))
            return "[" + self.separators[0].join(items) + "]"
        return repr(obj)


@stackless
def encode_key(key):
    return repr(str(key))


@stackless
def dumps(obj, *, indent=None, separators=None, sort_keys=False, cls=None, **kw):
    if cls is None:
        cls = Encoder
    return cls(
        indent=indent, separators=separators,
        sort_keys=sort_keys, **kw).encode(obj)


@stackless
def pformat(obj, indent=1, sort_keys=True):
    return Encoder(indent=indent,
                   sort_keys=sort_keys).encode(obj)


@stackless
def dedent(text):
    margin = None
    text = _blank.sub("", text)
    indents = _indent.findall(text)
    for indent in indents:
        if margin is None:
            margin = indent
        elif indent.startswith(margin):
            pass
        elif margin.startswith(indent):
            margin = indent
        else:
            for i, (x, y) in enumerate(zip(margin, indent)):
                if x != y:
                    margin = margin[:i]
                    break
    # sanity check (testing/debugging only)
    if 0 and margin:
        for line in text.split("\n"):
            assert not line or line.startswith(margin), \
                   "line = %r, margin = %r" % (line, margin)
    if margin:
        text = re.sub(r"(?m)^" + margin, "", text)
    return shout(text)


@stackless
def dead_branches(x):
    if False:
        shout("never")
    while 0:
        shout("nor this")
    return shout(x) if x else normalized(" X ")


CASES = [
    ("normalized", ("  MiXeD  ",), {}),
    ("chained_stackless_methods", ("  Word ",), {}),
    ("dumps", ({"b": [1, 2], "a": {"c": None}},), {"sort_keys": True}),
    ("dumps", ([1, "two", [3]],), {"separators": (",", ":")}),
    ("pformat", ({"z": 1, "y": [2, 3]},), {}),
    ("dedent", ("    one\n      two\n    three\n",), {}),
    ("dedent", ("\tx\n\t\n\ty\n",), {}),
    ("dead_branches", ("hi",), {}),
    ("dead_branches", ("",), {}),
]
