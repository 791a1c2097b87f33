"""Errors that name the file, ObsNum or key at fault and the problem."""

from __future__ import annotations

from pathlib import Path


class LmtflowError(Exception):
    """Base class of every error lmtflow raises on purpose."""


class RawDataError(LmtflowError):
    """A raw LMT file is missing, unreadable, or not what was expected."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}")


class ObsNumError(LmtflowError):
    """An ObsNum cannot be reduced (not found, wrong kind, missing calibration)."""

    def __init__(self, obsnum: int, problem: str):
        self.obsnum = obsnum
        self.problem = problem
        super().__init__(f"ObsNum {obsnum}: {problem}")


class ConfigError(LmtflowError):
    """The configuration names an unknown key or holds an invalid value."""


class ProductError(LmtflowError):
    """An intermediate or final product is missing or malformed."""
