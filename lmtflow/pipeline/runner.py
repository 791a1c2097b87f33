"""Glue for the Snakemake scripts: logging to the rule's log file and reading parameter files."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any


def setup_logging(log_file: str | Path | None) -> None:
    """Send lmtflow's log records to the job's log file (and stderr)."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=handlers, force=True,
    )  # fmt: skip
    logging.captureWarnings(True)  # a job's Python warnings go to its log file too


def read_params(path: str | Path) -> dict[str, Any]:
    """A per-step parameter file written by the workflow."""
    return json.loads(Path(path).read_text())
