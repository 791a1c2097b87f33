"""The service's SQLite database: connection settings and schema migrations.

The database holds what the work tree cannot: users, projects (``public_after``),
memberships, login failures, an audit trail and an index of the QA numbers (a cache: the
qa.json files stay the truth, lmtflow.web.catalog refreshes rows whose file changed).

Migrations are an append-only list; ``PRAGMA user_version`` counts those applied, so a new
table (the job queue of the browser re-reductions) is one more entry at the end. Never edit
an entry that has shipped.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

MIGRATIONS: list[str] = [
    # 1: accounts, projects, login throttling, audit, QA index
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        staff INTEGER NOT NULL DEFAULT 0,
        session_epoch INTEGER NOT NULL DEFAULT 0,  -- bumped on a password change: old logins end
        created_utc TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE projects (
        pid TEXT PRIMARY KEY,
        public_after TEXT  -- ISO date; NULL: never public
    );
    CREATE TABLE memberships (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        pid TEXT NOT NULL REFERENCES projects(pid) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'runner', 'owner')),
        PRIMARY KEY (user_id, pid)
    );
    CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL COLLATE NOCASE,
        ip TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX login_failures_key ON login_failures (name, ip, at);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        user TEXT,
        ip TEXT,
        action TEXT NOT NULL,
        detail TEXT
    );
    CREATE TABLE qa_index (
        pid TEXT NOT NULL,
        label TEXT NOT NULL,       -- ObsNum or combination name
        attempt TEXT NOT NULL,     -- 'base' or the attempt name
        bank INTEGER NOT NULL,
        qa_path TEXT NOT NULL,     -- relative to the project directory
        qa_mtime_ns INTEGER NOT NULL,
        qa_size INTEGER NOT NULL,
        row_json TEXT NOT NULL,    -- the project page's row (lmtflow.web.catalog.IndexRow)
        PRIMARY KEY (pid, label, attempt, bank)
    );
    """,
    # 2: the job queue of re-reductions launched from the browser (lmtflow.web.jobs)
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        pid TEXT NOT NULL,
        attempt TEXT NOT NULL,
        scope TEXT NOT NULL,           -- '' (whole project) or the ObsNum/combination launched from
        overlay_json TEXT NOT NULL,    -- canonical JSON (sorted keys) of the attempt overlay
        config_json TEXT NOT NULL,     -- the whole config the runner writes to its config file
        user TEXT NOT NULL,
        ip TEXT,
        state TEXT NOT NULL CHECK (state IN
            ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        created_utc TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        started_utc TEXT,
        ended_utc TEXT,
        pid_os INTEGER,                -- the runner's process id (its process group too)
        cancel_requested REAL,         -- time.time() of the user's cancel
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER,
        error TEXT,                    -- why it failed (rule, ObsNum, lmtflow's error text)
        config_sha TEXT,
        version TEXT
    );
    CREATE INDEX jobs_queue ON jobs (state, pid, id);
    """,
    # 3: logins ended by 'log out' (the cookie is signed, not stored: a copy of it would
    # otherwise stay valid until it expires); rows are kept until the login would have expired
    """
    CREATE TABLE ended_sessions (
        sid TEXT PRIMARY KEY,
        until REAL NOT NULL  -- time.time() after which the cookie has expired anyway
    );
    """,
]


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout, foreign keys on and rows by name."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def migrate(path: str | Path) -> int:
    """Create the database if needed and apply the migrations it lacks; return its version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            conn.execute("ROLLBACK")
            raise RuntimeError(f"database {path} is version {version}, newer than this lmtflow")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
        path.chmod(0o600)
        return len(MIGRATIONS)
    finally:
        conn.close()


def _statements(script: str) -> list[str]:
    """The statements of a migration (executescript would commit the open transaction)."""
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class ConnectionPool:
    """Open connections reused across requests (opening one costs a file open, the WAL index
    mapping and two PRAGMAs per request otherwise). A request takes a connection and gives it
    back; at most ``keep`` idle ones are kept, so the pool's size is bounded by the requests
    in flight, not by the run's length. A connection given back inside a transaction (a
    request that failed half-way) is rolled back first; one that fails that is closed."""

    def __init__(self, path: str | Path, keep: int = 8) -> None:
        self.path, self.keep = Path(path), keep
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return connect(self.path)

    def release(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
