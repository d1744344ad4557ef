"""``python -m stacklessxf``: the command line of :mod:`stacklessxf.cli`."""

import sys

from stacklessxf.cli import main

sys.exit(main())
