"""SRDP: place the science-ready cube and weight map under ``srdp/`` with their parameters."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..io.atomic import atomic_path, write_json


def _copy(src: str | Path, dst: str | Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def make_srdp(
    cube: str | Path,
    weight: str | Path,
    param_files: Sequence[str | Path],
    cube_out: str | Path,
    weight_out: str | Path,
    params_out: str | Path,
) -> None:
    """Copy the products into the SRDP directory and write every step's parameters beside."""
    steps = {}
    for path in param_files:
        step = Path(path).name.split("__")[0]
        steps[step] = json.loads(Path(path).read_text())
    _copy(cube, cube_out)
    _copy(weight, weight_out)
    write_json(params_out, {"lmtflow": __version__, "steps": steps,
                            "files": [Path(cube_out).name, Path(weight_out).name]})  # fmt: skip
