"""Small units of the web service without a server: the work-tree catalogue (ObsNums,
combinations, attempts; the QA index cache), spectrum files of every kind and their windows,
the path checks, passwords and the database migration."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest
from fastapi import HTTPException

from lmtflow.io.spectrum_fits import write_table_ascii
from lmtflow.web import catalog
from lmtflow.web.db import MIGRATIONS, connect, migrate
from lmtflow.web.files import resolve_in_project
from lmtflow.web.passwords import hash_password, verify_password
from lmtflow.web.science import spectrum_payload, windows

PID = "2019-S1-TEST-1"


def _qa(path, obsnum, kind="map", **extra) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    numbers = {"kind": kind, "observation": {"obsnum": obsnum, "source": "Src A", "bank": 0,
               "receiver": "Sequoia", "mode": "Map", "date_obs": "2019-03-01T04:00:00"},
               "cube": {"rms_center_mK": 12.5, "rms_radiometer_ratio": 1.1, "peak_K": 2.0},
               **extra}  # fmt: skip
    path.write_text(json.dumps(numbers))


@pytest.fixture
def tree(tmp_path):
    work = tmp_path / "work"
    _qa(work / PID / "1001" / "qa" / "1001__0.qa.json", 1001)
    _qa(work / PID / "1001" / "qa" / "1001__1.qa.json", 1001)
    _qa(work / PID / "1001" / "attempts" / "coarse" / "qa" / "1001__0.qa.json", 1001)
    _qa(work / PID / "1001_1002" / "qa" / "1001_1002__0.qa.json", 1001, obsnums=[1001, 1002])
    _qa(work / PID / "1001" / "qa" / "1001__0.beams.json", 1001)  # not QA numbers
    _qa(work / PID / "notes" / "qa" / "notes__0.qa.json", 0)  # not an ObsNum directory
    _qa(work / PID / "1003" / "attempts" / "../x" / "qa" / "1003__0.qa.json", 1003)
    migrate(tmp_path / "db.sqlite")
    return work, connect(tmp_path / "db.sqlite")


def test_catalogue_finds_obsnums_banks_attempts_and_combinations(tree):
    work, db = tree
    rows = catalog.project_rows(db, work, PID)
    keys = [(r.label, r.bank, r.attempt) for r in rows]
    assert keys == [("1001", 0, "base"), ("1001", 0, "coarse"), ("1001", 1, "base"),
                    ("1001_1002", 0, "base")]  # fmt: skip
    combo = rows[-1]
    assert combo.combo and combo.obsnums == [1001, 1002] and combo.rms_mK == 12.5
    files = catalog.ProductFiles(work, PID, combo)
    assert files.qa() == work / PID / "1001_1002" / "qa" / "1001_1002__0.qa.json"
    coarse = catalog.ProductFiles(work, PID, rows[1])
    assert coarse.qa() == work / PID / "1001" / "attempts" / "coarse" / "qa" / "1001__0.qa.json"
    assert coarse.compare() is None  # no attempts.html written


def test_qa_index_is_a_cache_of_the_files(tree):
    work, db = tree
    catalog.project_rows(db, work, PID)
    assert db.execute("SELECT COUNT(*) FROM qa_index").fetchone()[0] == 4
    path = work / PID / "1001" / "qa" / "1001__1.qa.json"
    _qa(path, 1001, cube={"rms_center_mK": 99.0})
    os.utime(path, ns=(1, 1))  # a different mtime, even within the clock's resolution
    rows = catalog.project_rows(db, work, PID)
    assert catalog.find_row(rows, "1001", 1, "base").rms_mK == 99.0
    path.unlink()
    assert catalog.find_row(catalog.project_rows(db, work, PID), "1001", 1, "base") is None
    assert db.execute("SELECT COUNT(*) FROM qa_index").fetchone()[0] == 3


def test_rsr_spectrum_on_a_frequency_axis_with_line_windows(tmp_path):
    freq = np.linspace(73.0, 111.0, 500)
    ta = np.exp(-0.5 * ((freq - 92.0) / 0.1) ** 2)
    path = write_table_ascii(tmp_path / "x.rsr.spec.txt",
                             {"freq_ghz": freq, "ta_k": ta, "sigma_k": np.full(500, 0.01)},
                             ["I10565 ObsNum 33551 RSR"])  # fmt: skip
    data = spectrum_payload(path, {"rsr_baseline": {"xlines": "92.0,0.4,100,0.2"}}, None)
    assert data["velocity"] is None
    np.testing.assert_allclose(data["frequency"], freq, rtol=1e-6)
    np.testing.assert_allclose(data["y"], ta, atol=1e-6)
    assert data["windows"] == {"unit": "GHz", "baseline": [],
                               "line": [[91.6, 92.4], [99.8, 100.2]]}  # fmt: skip


def test_windows_of_a_spectral_line_product():
    params = {"baseline": {"b_regions": [[80.0, 330.0], [-370.0, -120.0]],
                           "slice": [-370.0, 330.0]}}  # fmt: skip
    assert windows(params) == {"unit": "km/s", "baseline": [[-370.0, -120.0], [80.0, 330.0]],
                               "line": [[-120.0, 80.0]]}  # fmt: skip


@pytest.mark.parametrize("rel", ["../x.txt", "a/../../x.txt", "/etc/passwd", "a\x00.txt",
                                 ".snakemake/x.txt", "a/.git/x.txt", "x.py", "a\\..\\x.txt",
                                 "", "missing.txt", "dir.txt"])  # fmt: skip
def test_resolve_refuses(tmp_path, rel):
    root = tmp_path / "p"
    (root / "a" / ".git").mkdir(parents=True)
    (root / "dir.txt").mkdir()
    for name in ("a/ok.txt", "x.py", ".snakemake/x.txt", "a/.git/x.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    (tmp_path / "x.txt").write_text("outside")
    assert resolve_in_project(root, "a/ok.txt") == root / "a" / "ok.txt"
    with pytest.raises(HTTPException) as err:
        resolve_in_project(root, rel)
    assert err.value.status_code == 404


def test_symlinks_out_of_the_project_or_into_data_lmt_are_refused(tmp_path):
    root, data = tmp_path / "p", tmp_path / "data_lmt"
    root.mkdir()
    data.mkdir()
    (data / "raw.txt").write_text("raw")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "out.txt").symlink_to(tmp_path / "secret.txt")
    (root / "inside").symlink_to(data)
    (root / "real.txt").write_text("ok")
    (root / "alias.txt").symlink_to(root / "real.txt")
    assert resolve_in_project(root, "alias.txt") == root / "real.txt"
    for rel in ("out.txt", "inside/raw.txt"):
        with pytest.raises(HTTPException):
            resolve_in_project(root, rel, data_lmt=data)
    root2 = data / "project"  # a project inside DATA_LMT: still nothing of DATA_LMT served
    root2.mkdir()
    (root2 / "f.txt").write_text("x")
    with pytest.raises(HTTPException):
        resolve_in_project(root2, "f.txt", data_lmt=data)


def test_passwords_are_salted_scrypt_hashes():
    a, b = hash_password("a long password"), hash_password("a long password")
    assert a != b and a.startswith("scrypt$") and "a long password" not in a
    assert verify_password("a long password", a) and not verify_password("a long passwore", a)
    assert not verify_password("x", "not a hash")


def test_migration_is_idempotent_and_refuses_a_newer_database(tmp_path):
    path = tmp_path / "db.sqlite"
    assert migrate(path) == len(MIGRATIONS) and migrate(path) == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "projects", "memberships", "login_failures", "audit", "qa_index"} <= tables
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        migrate(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_rows_of_one_obsnum_leave_the_others_cached(tree):
    work, db = tree
    catalog.project_rows(db, work, PID)
    only = catalog.project_rows(db, work, PID, only="1001")
    assert {(r.label, r.bank, r.attempt) for r in only} == {
        ("1001", 0, "base"), ("1001", 0, "coarse"), ("1001", 1, "base")}
    assert db.execute("SELECT COUNT(*) FROM qa_index").fetchone()[0] == 4  # combo kept
    assert catalog.project_rows(db, work, PID, only="../1001") == []
