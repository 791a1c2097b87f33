"""Attempts a work tree holds, and the values that made them.

An attempt lives on disk as ``<work>/<ProjectId>/<label>/attempts/<name>/``; its values
(the overlay) live only in the config that made it. Every run of :func:`lmtflow.workflow
.run_attempt` and ``lmtflow run`` saves that config under
:data:`lmtflow.workflow.CONFIGS_DIR`, so the overlays can be read back from there. The web
service needs them: a web job regenerates the attempts pages (one column per attempt of its
config), and an attempt made from the command line must keep its column.

Decisions (an observatory server where PIs work both from a shell and the browser):

* a web job keeps every attempt of the project file, of the earlier web jobs and of the
  configs saved by command-line runs that reduce one of its ObsNums (an attempt that equals
  the base for an ObsNum has no directory of its own, so the directories alone cannot tell);
* the values are those of the newest record of that name (a re-made attempt has a newer
  config); a config naming an attempt it did not run still counts, so such an attempt may be
  reduced by the next web job that regenerates the attempts page;
* an attempt directory that no record explains cannot be rebuilt: the job's log says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .attempts import ATTEMPTS_DIR
from .combination import configured_obsnums

Record = tuple[float, dict[str, Any]]
"""(time of the record, the attempt's overlay)."""


def config_obsnums(raw: Mapping[str, Any]) -> set[int]:
    """The ObsNums a saved config reduces (:func:`lmtflow.combination.configured_obsnums`:
    ``obsnums``, its sources' and their combinations'); none for a config too malformed to
    read (a saved config is a record, not an input of this run)."""
    try:
        return set(configured_obsnums(dict(raw)))
    except (AttributeError, KeyError, TypeError, ValueError):
        return set()


def label_obsnums(labels: Iterable[str]) -> set[int]:
    """The ObsNums of ObsNum and combination labels (``79448``, ``79448_79451``)."""
    return {int(p) for label in labels for p in label.split("_") if p.isdigit()}


def saved_config_attempts(work_lmt: str | Path, obsnums: set[int]) -> dict[str, Record]:
    """Name -> newest (mtime, overlay) of the attempts in the configs saved under the work
    tree that reduce one of ``obsnums``; unreadable files are skipped (they are records, not
    inputs of this run)."""
    from .workflow import CONFIGS_DIR

    found: dict[str, Record] = {}
    for path in Path(work_lmt, CONFIGS_DIR).glob("*.yaml"):
        try:
            when = path.stat().st_mtime
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(raw, dict) or not config_obsnums(raw) & obsnums:
            continue
        for name, overlay in (raw.get("attempts") or {}).items():
            if isinstance(overlay, dict) and when >= found.get(name, (-1.0, {}))[0]:
                found[name] = (when, overlay)
    return found


def attempts_on_disk(project_dir: Path, labels: Iterable[str]) -> set[str]:
    """Names of the attempt directories of ``labels`` in a project directory."""
    names: set[str] = set()
    for label in labels:
        try:
            with os.scandir(Path(project_dir, label, ATTEMPTS_DIR)) as entries:
                names |= {e.name for e in entries if e.is_dir()}
        except OSError:
            continue
    return names


def newest(*sources: Mapping[str, Record]) -> dict[str, Record]:
    """Merge records by name; the newest wins (a later source wins a tie)."""
    out: dict[str, Record] = {}
    for source in sources:
        for name, record in source.items():
            if name not in out or record[0] >= out[name][0]:
                out[name] = record
    return out
