"""pyarrow's first ``pa.array`` call imports pandas, when it is installed, only to ask whether
the values are pandas objects: 0.3-0.5 s of a command's start, and 60 MB, for a question whose
answer is always no in our commands. ``skip_pandas_probe`` lets that first probe fail at once.

pyarrow remembers the failed probe and still imports pandas for everything that needs it
(``Table.to_pandas`` retries the import), but from then on it takes pandas objects handed to
``pa.array`` for plain sequences. So only the commands that own their process and never hand
pandas objects to pyarrow (``serve``, ``convert``) call this; the library never does.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def skip_pandas_probe() -> None:
    """Make pyarrow's pandas probe fail fast (nothing to do once pandas is imported)."""
    if "pandas" in sys.modules:
        return
    try:
        import pyarrow as pa
    except ImportError:  # the pyarrow-free runtime: no probe to skip
        return

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])  # the probe: pyarrow tries pandas once, here
    finally:
        sys.meta_path.remove(blocker)
    log.debug("pyarrow's pandas probe skipped")


class _NoPandas(importlib.abc.MetaPathFinder):
    """A finder that refuses to import pandas (and only pandas)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"{name} is skipped for pyarrow's probe", name=name)
        return None
