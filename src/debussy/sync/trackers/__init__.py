"""The tracker clients: the only product code that imports httpx.

httpx's ``__init__`` imports ``httpx._main`` (its own command line, which pulls
in ``rich.syntax``, ``rich.progress`` and pygments) whenever click, rich and
pygments are installed, as they are here: 20-40 ms on every command that talks to
a tracker, for a command line Debussy never runs. A ``None`` entry in
``sys.modules`` is Python's documented way to make an import fail
(https://docs.python.org/3/reference/import.html#the-module-cache), and httpx
expects that import to fail when its CLI extras are missing: it then defines a
stub ``httpx.main``. ``setdefault`` leaves an ``httpx._main`` already imported alone.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # pyright: ignore[reportArgumentType]
