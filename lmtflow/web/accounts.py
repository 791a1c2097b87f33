"""Users, projects and memberships in the database (the admin CLI and the login use these)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
from dataclasses import dataclass

from ..errors import ConfigError
from .passwords import DUMMY_HASH, hash_password, verify_password

ROLES = ("viewer", "runner", "owner")
"""viewer: read pages and products; runner: also launch re-reductions; owner: also manage."""
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    id: int
    name: str
    staff: bool
    session_epoch: int


def _user(row: sqlite3.Row | None) -> User | None:
    if row is None:
        return None
    return User(row["id"], row["name"], bool(row["staff"]), row["session_epoch"])


def check_password_text(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"password too short: {len(password)} characters, need {MIN_PASSWORD}")
    return password


def check_pid(pid: str) -> str:
    if not PROJECT_ID.match(pid):
        raise ConfigError(f"project id {pid!r} is not valid (letters, digits, _ . + -)")
    return pid


def add_user(conn: sqlite3.Connection, name: str, password: str, staff: bool = False) -> User:
    """A new user with a hashed password; a taken name is an error."""
    if not USER_NAME.match(name):
        raise ConfigError(f"user name {name!r} is not valid (letters, digits, _ . @ + -)")
    check_password_text(password)
    try:
        conn.execute("INSERT INTO users (name, password_hash, staff) VALUES (?, ?, ?)",
                     (name, hash_password(password), int(staff)))  # fmt: skip
    except sqlite3.IntegrityError as exc:
        raise ConfigError(f"user {name!r} exists already (use 'user passwd')") from exc
    return get_user(conn, name)


def get_user(conn: sqlite3.Connection, name: str) -> User | None:
    return _user(conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone())


def user_by_id(conn: sqlite3.Connection, uid: int) -> User | None:
    return _user(conn.execute("SELECT * FROM users WHERE id = ?", (uid,)).fetchone())


def set_password(conn: sqlite3.Connection, name: str, password: str) -> None:
    """Change a password and end the user's other logins (their session epoch moves on)."""
    check_password_text(password)
    cur = conn.execute(
        "UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE name = ?",
        (hash_password(password), name),
    )
    if cur.rowcount == 0:
        raise ConfigError(f"no user {name!r}")


def authenticate(conn: sqlite3.Connection, name: str, password: str) -> User | None:
    """The user when the password matches; None otherwise (same cost for an unknown name or
    a disabled account)."""
    row = conn.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
    enabled = row is not None and row["password_hash"] != DISABLED
    ok = verify_password(password, row["password_hash"] if enabled else DUMMY_HASH)
    return _user(row) if ok and enabled else None


DISABLED = "disabled"
"""The password hash of a disabled account: no password matches it ('user passwd' enables)."""


def disable_user(conn: sqlite3.Connection, name: str) -> None:
    """No more logins for ``name``, and their current logins end (the row stays: job history
    and the audit name the user)."""
    cur = conn.execute("UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 "
                       "WHERE name = ?", (DISABLED, name))  # fmt: skip
    if cur.rowcount == 0:
        raise ConfigError(f"no user {name!r}")


def revoke_membership(conn: sqlite3.Connection, name: str, pid: str) -> None:
    """Take the user's role in a project away (from the next request on)."""
    user = get_user(conn, name)
    if user is None:
        raise ConfigError(f"no user {name!r}")
    cur = conn.execute("DELETE FROM memberships WHERE user_id = ? AND pid = ?", (user.id, pid))
    if cur.rowcount == 0:
        raise ConfigError(f"user {name!r} has no role in {pid}")


def end_session(conn: sqlite3.Connection, sid: str, lifetime_s: float) -> None:
    """Log out the login ``sid`` for good (its cookie may have been copied); forget logins
    ended so long ago that their cookies have expired."""
    now = time.time()
    conn.execute("DELETE FROM ended_sessions WHERE until < ?", (now,))
    conn.execute("INSERT OR REPLACE INTO ended_sessions (sid, until) VALUES (?, ?)",
                 (sid, now + lifetime_s))  # fmt: skip


def session_ended(conn: sqlite3.Connection, sid: str) -> bool:
    return conn.execute("SELECT 1 FROM ended_sessions WHERE sid = ?", (sid,)).fetchone() is not None


def ensure_project(conn: sqlite3.Connection, pid: str) -> None:
    conn.execute("INSERT OR IGNORE INTO projects (pid) VALUES (?)", (check_pid(pid),))


def set_public_after(conn: sqlite3.Connection, pid: str, date: dt.date | None) -> None:
    """From ``date`` on, anyone may read the project (None: never)."""
    ensure_project(conn, pid)
    conn.execute("UPDATE projects SET public_after = ? WHERE pid = ?",
                 (date.isoformat() if date else None, pid))  # fmt: skip


def set_membership(conn: sqlite3.Connection, name: str, pid: str, role: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"role {role!r} is not one of {', '.join(ROLES)}")
    user = get_user(conn, name)
    if user is None:
        raise ConfigError(f"no user {name!r}")
    ensure_project(conn, pid)
    conn.execute("INSERT INTO memberships (user_id, pid, role) VALUES (?, ?, ?) "
                 "ON CONFLICT (user_id, pid) DO UPDATE SET role = excluded.role",
                 (user.id, pid, role))  # fmt: skip


def role_of(conn: sqlite3.Connection, user: User | None, pid: str) -> str | None:
    """The user's role in the project (staff: owner everywhere), None without one."""
    if user is None:
        return None
    if user.staff:
        return "owner"
    row = conn.execute("SELECT role FROM memberships WHERE user_id = ? AND pid = ?",
                       (user.id, pid)).fetchone()  # fmt: skip
    return row["role"] if row else None


def public_projects(conn: sqlite3.Connection, today: dt.date | None = None) -> set[str]:
    """Projects whose data are public (``public_after`` on or before today, UTC)."""
    today = today or dt.datetime.now(dt.UTC).date()
    rows = conn.execute("SELECT pid FROM projects WHERE public_after IS NOT NULL "
                        "AND public_after <= ?", (today.isoformat(),))  # fmt: skip
    return {r["pid"] for r in rows}


def member_projects(conn: sqlite3.Connection, user: User | None) -> dict[str, str]:
    """ProjectId -> role of the user's memberships."""
    if user is None:
        return {}
    rows = conn.execute("SELECT pid, role FROM memberships WHERE user_id = ?", (user.id,))
    return {r["pid"]: r["role"] for r in rows}


def audit(conn: sqlite3.Connection, action: str, user: str | None, ip: str | None,
          detail: str = "") -> None:  # fmt: skip
    conn.execute("INSERT INTO audit (user, ip, action, detail) VALUES (?, ?, ?, ?)",
                 (user, ip, action, detail))  # fmt: skip
