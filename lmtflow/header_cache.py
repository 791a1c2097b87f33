"""A cache of raw ifproc headers in the work tree, for large projects.

Every Snakemake start reads the header of every ObsNum the config names (and of its Cal):
a run, a dry run, and on a cluster each job's own Snakemake process. For a 64-ObsNum mosaic
that is 128 netCDF files, ~3 s each time. The cache keeps the header values of each ifproc
file with its size and modification time (JSON, ``<work>/.lmtflow/ifproc_headers.json``); a
file whose size or time changed is read again, and a missing, damaged or unwritable cache only
means reading the files. Raw data are never written.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from .io.atomic import atomic_path
from .io.ifproc import IfProcHeader, read_header

CACHE_FILE = Path(".lmtflow") / "ifproc_headers.json"
VERSION = 1


def _to_json(header: IfProcHeader) -> dict[str, Any]:
    values = dataclasses.asdict(header)
    values["path"] = str(header.path)
    return values


def _from_json(values: dict[str, Any]) -> IfProcHeader:
    kinds = {f.name: f.type for f in dataclasses.fields(IfProcHeader)}
    out = {k: tuple(v) if "tuple" in str(kinds.get(k)) else v for k, v in values.items()}
    out["path"] = Path(values["path"])
    return IfProcHeader(**out)


class HeaderCache:
    """``read(path)``: the header of an ifproc file, from the cache when the file is unchanged."""

    def __init__(self, work_lmt: str | Path) -> None:
        self.path = Path(work_lmt) / CACHE_FILE
        self.entries: dict[str, Any] = {}
        self.changed = False
        try:
            doc = json.loads(self.path.read_text())
            if doc.get("version") == VERSION:
                self.entries = dict(doc["headers"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no cache yet, or an unreadable one: read the files

    def read(self, path: str | Path) -> IfProcHeader:
        path = Path(path)
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        entry = self.entries.get(str(path))
        if entry is not None and entry.get("stamp") == stamp:
            try:
                return _from_json(entry["header"])
            except (KeyError, TypeError, ValueError):
                pass  # an entry of another version of the header: read the file
        header = read_header(path)
        self.entries[str(path)] = {"stamp": stamp, "header": _to_json(header)}
        self.changed = True
        return header

    def save(self) -> None:
        """Write the cache if it changed (silently not, where the work tree is not writable)."""
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.path) as tmp:
                tmp.write_text(json.dumps({"version": VERSION, "headers": self.entries}))
            self.changed = False
        except OSError:
            pass


def cached_reader(work_lmt: str | Path | None) -> HeaderCache | None:
    """A cache in ``work_lmt`` unless ``LMTFLOW_HEADER_CACHE=0`` or no work tree is given."""
    if not work_lmt or os.environ.get("LMTFLOW_HEADER_CACHE", "1") == "0":
        return None
    return HeaderCache(work_lmt)
