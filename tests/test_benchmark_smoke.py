"""Smoke run of benchmarks/bench_pipeline.py on a tiny simulated ObsNum (speed is not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import make_tiny_config

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_pipeline.py"


def test_pipeline_benchmark_runs_and_reports(tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(make_tiny_config()))
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--sim-config", str(cfg), "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    for stage in ("ingest_cal", "tsys", "ingest", "calibrate", "baseline", "grid1", "grid2"):
        assert f"\n{stage} " in out
    for line in (
        "raw -> baselined SDFITS",
        "cold snakemake run",
        "re-run after a grid edit",
        "ratio end-to-end / netCDF4 read",
        "ratio re-run after grid edit / grid step",
        "re-run after a grid edit from one Python session",
    ):
        assert line in out
    assert "MB/s of raw data" in out and "M channel-samples/s" in out
