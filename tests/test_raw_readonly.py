"""A workflow run never writes to the raw tree: same files, bytes and times before and after."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lmtflow.sim import simulate

from .conftest import make_tiny_config
from .workflow_helpers import run


def _snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """sha256, mtime (ns) and mode of every file and directory under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.stat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        out[str(p.relative_to(root))] = (digest, st.st_mtime_ns, st.st_mode)
    return out


def test_raw_tree_unchanged_by_a_run(tmp_path):
    sim = simulate(make_tiny_config(), tmp_path / "data_lmt", seed=3)
    before = _snapshot(sim.data_lmt)
    assert sum(1 for d, _, _ in before.values() if d != "dir") >= 10  # ifproc + roach files
    proc, ran = run(sim.data_lmt, tmp_path / "run", [sim.labels["map"]])
    assert ran["ingest"] == 2 and ran["srdp"] == 1, proc.stderr[-2000:]
    assert _snapshot(sim.data_lmt) == before
