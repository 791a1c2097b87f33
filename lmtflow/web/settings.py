"""``web.yaml``: the service's settings, checked against ``web_schema.yaml``, and its secret.

Misspelt keys are errors naming the nearest valid key (the same explanation as the workflow's
config, :mod:`lmtflow.config`). Relative paths are taken from the directory of ``web.yaml``.
"""

from __future__ import annotations

import secrets
import stat
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..config import _explain, _fill_defaults
from ..errors import ConfigError

SCHEMA_PATH = Path(__file__).with_name("web_schema.yaml")
MIN_SECRET_CHARS = 32


@dataclass(frozen=True)
class Settings:
    """What the service needs to run; ``secret`` signs the session cookies."""

    work_lmt: Path
    data_lmt: Path | None
    database: Path
    secret: str
    host: str = "127.0.0.1"
    port: int = 8000
    secure_cookie: bool = False
    session_hours: float = 12.0
    login_failures: int = 5
    login_window_s: float = 900.0
    dev: bool = False
    runner: dict = field(default_factory=dict)
    """The ``runner`` section of web.yaml (cores, profile, caps, free disk, wall time)."""

    def with_bind(self, host: str | None, port: int | None) -> Settings:
        return replace(self, host=host or self.host, port=port or self.port)


@cache
def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def check_web_config(raw: Any, where: str = "web.yaml") -> dict[str, Any]:
    """Validate a parsed ``web.yaml``; return it with defaults filled; raise ConfigError."""
    schema = _schema()
    if raw is None:
        raw = {}
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(raw),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        text = "\n".join(_explain(schema, e) for e in errors).replace("config key", "key")
        raise ConfigError(f"{where}: {text}")
    return _fill_defaults(schema, schema, dict(raw))


def read_secret(path: str | Path) -> str:
    """The session secret from ``path``; refuse a short one or one others may read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"secret_file {path}: cannot read it ({exc.strerror})") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"secret_file {path}: readable by others; run chmod 600 {path}")
    if len(text) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"secret_file {path}: {len(text)} characters, need at least {MIN_SECRET_CHARS} "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return text


def write_secret(path: str | Path) -> Path:
    """Write a new random secret readable by its owner only (used by ``lmtflow web demo``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(secrets.token_urlsafe(48) + "\n")
    return path


def load_settings(config: str | Path, dev: bool = False, need_secret: bool = True) -> Settings:
    """Read and check ``web.yaml``. Without ``secret_file`` only ``dev`` runs (with a random
    secret, so logins end when the service stops); ``need_secret=False`` is for the admin
    commands, which touch only the database."""
    config = Path(config)
    try:
        raw = yaml.safe_load(config.read_text())
    except OSError as exc:
        raise ConfigError(f"{config}: cannot read it ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{config}: not valid YAML: {exc}") from exc
    cfg = check_web_config(raw, str(config))
    here = config.resolve().parent

    def where(value: str | None) -> Path | None:
        return None if value is None else (here / Path(value).expanduser())

    if cfg["secret_file"]:
        secret = read_secret(where(cfg["secret_file"]))
    elif dev or not need_secret:
        secret = secrets.token_urlsafe(48)
    else:
        raise ConfigError(
            f"{config}: no secret_file; the service signs its session cookies with it and will "
            "not start without one (or run with --dev on a private machine)"
        )
    work = where(cfg["work_lmt"])
    if need_secret and not work.is_dir():
        raise ConfigError(f"{config}: work_lmt {work} is not a directory")
    return Settings(
        work_lmt=work.resolve(),
        data_lmt=where(cfg["data_lmt"]).resolve() if cfg["data_lmt"] else None,
        database=where(cfg["database"]),
        secret=secret,
        host=cfg["host"],
        port=cfg["port"],
        secure_cookie=cfg["secure_cookie"],
        session_hours=float(cfg["session_hours"]),
        login_failures=cfg["login_limit"]["failures"],
        login_window_s=60.0 * cfg["login_limit"]["window_minutes"],
        dev=dev,
        runner=dict(cfg["runner"]),
    )
