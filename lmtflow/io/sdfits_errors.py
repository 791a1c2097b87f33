"""The error raised for a missing, truncated or malformed SDFITS file."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ProductError


class SDFITSError(ProductError):
    """An SDFITS file is missing, truncated, malformed, or was written incompletely."""

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}")
