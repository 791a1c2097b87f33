"""SRDP: place the science-ready files under ``srdp/`` with every parameter that made them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..io.atomic import atomic_path, write_json


def copy_product(src: str | Path, dst: str | Path) -> None:
    """Copy a product into the SRDP directory (atomically). A copy, not a hard link: a link
    shares the source's modification time, which Snakemake takes for an outdated output."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def write_srdp_params(param_files: Sequence[str | Path], out: str | Path) -> None:
    """One JSON with the parameters of every step (``{step: {...}}``) and the version."""
    steps = {}
    for path in param_files:
        step = Path(path).name.split("__")[0]
        steps[step] = json.loads(Path(path).read_text())
    write_json(out, {"lmtflow": __version__, "steps": steps})
