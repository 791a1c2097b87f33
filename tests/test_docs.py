"""The documentation: built with warnings as errors, its parameter reference complete."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

from lmtflow.config import load_schema
from lmtflow.schema_reference import missing_descriptions, parameter_rows, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_config_key_has_a_description():
    assert missing_descriptions() == []


def test_a_key_without_description_is_reported():
    schema = copy.deepcopy(load_schema())
    del schema["definitions"]["steps"]["properties"]["grid"]["properties"]["rmax"]["description"]
    assert missing_descriptions(schema) == ["steps.grid.rmax"]


def test_reference_lists_every_step_key_with_default_and_lmtoy_name():
    schema = load_schema()
    rows = {r.key: r for r in parameter_rows(schema)}
    for step, node in schema["definitions"]["steps"]["properties"].items():
        for key in node["properties"]:
            assert f"steps.{step}.{key}" in rows
    dv = rows["steps.baseline.dv"]
    assert (dv.default, dv.lmtoy, dv.allowed) == ("100", "dv", "> 0")
    assert rows["attempts.<name>.grid"].description == "the keys of `steps.grid`"
    text = render_markdown()
    assert "| `b_order` | integer | `0` | >= -1; <= 9 |" in text


def test_docs_build_without_warnings(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "html"
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    params = (out / "parameters.html").read_text()
    for key in ("tsys_bdrop", "rms_cut", "missing_roach", "otf_select"):
        assert key in params
    assert "BUFPOS" in (out / "products.html").read_text()  # the generated SDFITS columns
    assert "<svg" in (out / "architecture.html").read_text() or list(out.glob("_images/*.svg"))
    api = (out / "api.html").read_text()
    assert "run_attempt" in api and "lmtflow.interactive" in api
