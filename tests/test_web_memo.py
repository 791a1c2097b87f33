"""The web service's per-request shortcuts stay correct: file-keyed memos, the project listing
cache, the SQLite connection pool and ETag revalidation (no server, no reduction needed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from fastapi import HTTPException

from lmtflow.web.access import project_dirs
from lmtflow.web.db import ConnectionPool, migrate
from lmtflow.web.files import CHUNK, file_response
from lmtflow.web.memo import Memo


def _age(path: Path, seconds: float = 10.0) -> None:
    """Set ``path``'s mtime in the past (older than the memos' racy window)."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_memo_recomputes_when_a_file_is_replaced_and_not_before(tmp_path):
    f = tmp_path / "cube.fits"
    f.write_text("one")
    _age(f, 20)
    memo: Memo[str] = Memo(max_items=8)
    calls = []

    def compute() -> str:
        calls.append(1)
        return f.read_text()

    assert memo.get((f,), "k", compute) == "one"
    assert memo.get((f,), "k", compute) == "one"
    assert len(calls) == 1
    new = tmp_path / "new.fits"  # a reduction writes a new file and renames it over the old
    new.write_text("two")
    _age(new)
    new.replace(f)
    assert memo.get((f,), "k", compute) == "two"
    assert memo.get((f,), "other", compute) == "two"
    assert len(calls) == 3


def test_memo_does_not_keep_a_file_written_just_now(tmp_path):
    f = tmp_path / "qa.json"
    f.write_text("fresh")
    memo: Memo[str] = Memo(max_items=8)
    memo.get((f,), "k", f.read_text)
    assert len(memo) == 0  # mtime within the racy window: a same-tick rewrite could hide
    _age(f)
    memo.get((f,), "k", f.read_text)
    assert len(memo) == 1


def test_memo_is_bounded_by_items_and_bytes(tmp_path):
    f = tmp_path / "x.fits"
    f.write_text("x")
    _age(f)
    memo: Memo[bytes] = Memo(max_items=4, max_bytes=1000, size=len)
    for k in range(10):
        memo.get((f,), k, lambda: b"a" * 100)
    assert len(memo) == 4 and memo.nbytes == 400
    for k in range(10, 20):
        memo.get((f,), k, lambda: b"b" * 240)
    assert memo.nbytes <= 1000 and len(memo) == 4
    memo.get((f,), "huge", lambda: b"c" * 600)  # over a quarter of the bound: not kept
    assert memo.nbytes <= 1000 and all(v[1] == 240 for v in memo._items.values())


def test_project_listing_follows_the_work_tree(tmp_path):
    (tmp_path / "2020-S1-A-1").mkdir()
    _age(tmp_path)
    assert set(project_dirs(tmp_path)) == {"2020-S1-A-1"}
    listing = project_dirs(tmp_path)
    listing["forged"] = tmp_path  # callers get a copy: the cached listing is not changed
    assert set(project_dirs(tmp_path)) == {"2020-S1-A-1"}
    (tmp_path / "2021-S1-B-2").mkdir()  # a new project appears at once
    assert set(project_dirs(tmp_path)) == {"2020-S1-A-1", "2021-S1-B-2"}
    (tmp_path / "2020-S1-A-1").rmdir()  # within the same clock tick as the mkdir
    assert set(project_dirs(tmp_path)) == {"2021-S1-B-2"}


def test_connection_pool_reuses_rolls_back_and_stays_bounded(tmp_path):
    db = tmp_path / "web.sqlite"
    migrate(db)
    pool = ConnectionPool(db, keep=2)
    a = pool.acquire()
    pool.release(a)
    assert pool.acquire() is a
    a.execute("BEGIN")
    a.execute("INSERT INTO projects (pid) VALUES ('2020-S1-A-1')")
    pool.release(a)  # a request that failed inside its transaction
    b = pool.acquire()
    assert b is a and not b.in_transaction
    assert b.execute("SELECT COUNT(*) FROM projects").fetchone()[0] == 0
    held = [b, pool.acquire(), pool.acquire(), pool.acquire()]
    assert len({id(c) for c in held}) == 4
    for c in held:
        pool.release(c)
    assert len(pool._idle) == 2  # the rest were closed
    pool.close()
    assert pool._idle == []


def test_file_response_streams_in_chunks_and_answers_304_to_its_etag(tmp_path):
    f = tmp_path / "a.png"
    f.write_bytes(b"\x89PNG" + bytes(1000))
    first = file_response(f)
    assert first.status_code == 200 and first.chunk_size == CHUNK
    etag = first.headers["etag"]
    again = file_response(f, if_none_match=f'"other", {etag}')
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert file_response(f, if_none_match='"other"').status_code == 200
    f.unlink()
    with pytest.raises(HTTPException) as err:
        file_response(f)
    assert err.value.status_code == 404
