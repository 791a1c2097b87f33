"""Atomic output: write to a temporary file beside the target, rename only on success.

A killed or failed job therefore never leaves a file at the final path that looks complete.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def remove_stale_parts(final: str | Path) -> int:
    """Delete the temporary ``.<name>.*.part`` files a killed writer of ``final`` left behind.

    Called when ``final`` is about to be written again: Snakemake never runs two jobs for one
    output at once, so a ``.part`` of the same target is a leftover. Returns how many went.
    """
    final = Path(final)
    stale = list(final.parent.glob(f".{glob.escape(final.name)}.*.part"))
    for part in stale:
        part.unlink(missing_ok=True)
    return len(stale)


@contextlib.contextmanager
def atomic_path(final: str | Path, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success rename it to ``final``.

    ``fsync`` flushes the file to disk before the rename (durable across a power cut).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if fsync:
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_json(path: str | Path, values: Any) -> None:
    """Write ``values`` as sorted-key JSON (stable bytes for Snakemake's checksums)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(values, sort_keys=True, indent=1) + "\n")
