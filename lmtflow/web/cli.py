"""``lmtflow web ...``: serve, manage users and projects, and serve the demo products.

Every admin command takes ``--config web.yaml`` and touches only the database. Passwords are
read from a prompt (twice) or from ``--password-file`` (its first line), never from argv.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import getpass
import os
import secrets
import sys
from pathlib import Path

from ..errors import ConfigError

DEFAULT_CONFIG = "web.yaml"


def _settings(args: argparse.Namespace, serving: bool = False):
    from .settings import load_settings

    return load_settings(args.config, dev=getattr(args, "dev", False), need_secret=serving)


def _db(args: argparse.Namespace):
    from .db import connect, migrate

    settings = _settings(args)
    migrate(settings.database)
    return connect(settings.database)


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            lines = Path(args.password_file).read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"--password-file {args.password_file}: {exc.strerror}") from exc
        if not lines or not lines[0]:
            raise ConfigError(f"--password-file {args.password_file}: empty first line")
        return lines[0]
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the two passwords differ")
    return first


MALLOC_ARENAS = 2


def limit_malloc_arenas(n: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would) unless the environment sets
    it. glibc gives each thread that allocates its own arena (up to 8 per core), each keeping
    the memory freed in it: the thread pool's file reads and renders then raise the server's
    RSS by ~100 MB under fifty clients, and it stays there; with two arenas the RSS levels
    off after the first burst (docs/benchmarks.md). Returns whether the cap was set."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(-8, n))  # -8: M_ARENA_MAX of glibc's malloc.h
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


def _serve(settings) -> int:
    import uvicorn

    from .app import create_app

    limit_malloc_arenas()  # before the server's threads start
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                proxy_headers=False, server_header=False)  # fmt: skip
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args, serving=True).with_bind(args.host, args.port)
    if settings.dev:
        print("lmtflow web: --dev: a random session secret (logins end at restart)",
              file=sys.stderr)  # fmt: skip
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.secure_cookie:
        print(f"lmtflow web: warning: {settings.host} is not loopback and secure_cookie is off; "
              "serve through an https reverse proxy and set secure_cookie: true",
              file=sys.stderr)  # fmt: skip
    print(f"lmtflow web: serving {settings.work_lmt} at http://{settings.host}:{settings.port}/")
    return _serve(settings)


def _cmd_user_add(args: argparse.Namespace) -> int:
    from . import accounts

    if bool(args.project) != bool(args.role):
        raise ConfigError("--project and --role go together")
    conn = _db(args)
    password = _password(args)
    with conn:
        conn.execute("BEGIN")
        accounts.add_user(conn, args.name, password, staff=args.staff)
        if args.project:
            accounts.set_membership(conn, args.name, args.project, args.role)
        accounts.audit(conn, "user add", args.name, "cli",
                       f"staff={args.staff} project={args.project} role={args.role}")  # fmt: skip
    print(f"user {args.name} added" + (f" ({args.role} of {args.project})" if args.project else ""))
    return 0


def _change_user(args: argparse.Namespace, action: str, change, detail: str = "") -> None:
    """Apply ``change(conn, accounts)`` to the database and audit it as ``action`` on user
    ``args.name``, in one transaction."""
    from . import accounts

    conn = _db(args)
    with conn:
        conn.execute("BEGIN")
        change(conn, accounts)
        accounts.audit(conn, action, args.name, "cli", detail)


def _cmd_user_passwd(args: argparse.Namespace) -> int:
    password = _password(args)
    _change_user(args, "user passwd", lambda c, a: a.set_password(c, args.name, password))
    print(f"password of {args.name} changed; their other logins have ended")
    return 0


def _cmd_user_grant(args: argparse.Namespace) -> int:
    _change_user(args, "user grant",
                 lambda c, a: a.set_membership(c, args.name, args.project, args.role),
                 f"{args.project}={args.role}")  # fmt: skip
    print(f"{args.name} is {args.role} of {args.project}")
    return 0


def _cmd_user_revoke(args: argparse.Namespace) -> int:
    _change_user(args, "user revoke",
                 lambda c, a: a.revoke_membership(c, args.name, args.project), args.project)
    print(f"{args.name} has no role in {args.project} any more")
    return 0


def _cmd_user_disable(args: argparse.Namespace) -> int:
    _change_user(args, "user disable", lambda c, a: a.disable_user(c, args.name))
    print(f"{args.name} is disabled and logged out ('user passwd {args.name}' enables again)")
    return 0


def _date(text: str) -> dt.date | None:
    if text.lower() in ("never", "none", ""):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD (or 'never')") from exc


def _cmd_project_set(args: argparse.Namespace) -> int:
    from . import accounts

    conn = _db(args)
    with conn:
        conn.execute("BEGIN")
        accounts.set_public_after(conn, args.pid, args.public_after)
        accounts.audit(conn, "project set", None, "cli", f"{args.pid} public_after="
                       f"{args.public_after}")  # fmt: skip
    when = args.public_after.isoformat() if args.public_after else "never"
    print(f"project {args.pid}: public from {when}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """Serve ``lmtflow demo``'s products: web.yaml, secret and database under OUT/web, a
    user 'pi' (owner of every demo project) with a new random password printed here."""
    import yaml

    from . import accounts
    from .access import project_dirs
    from .db import connect, migrate
    from .settings import load_settings, write_secret

    out = Path(args.out).resolve()
    work = out / "work_lmt"
    if not work.is_dir() or not project_dirs(work):
        raise ConfigError(f"no demo products in {work}; run 'lmtflow demo --out {args.out}' first")
    web = out / "web"
    web.mkdir(parents=True, exist_ok=True)
    config = web / "web.yaml"
    config.write_text(yaml.safe_dump({"work_lmt": "../work_lmt", "data_lmt": "../data_lmt",
                                      "database": "web.sqlite", "secret_file": "secret",
                                      "host": args.host, "port": args.port}))  # fmt: skip
    if not (web / "secret").exists():
        write_secret(web / "secret")
    settings = load_settings(config)
    migrate(settings.database)
    password = secrets.token_urlsafe(12)
    conn = connect(settings.database)
    with conn:
        conn.execute("BEGIN")
        if accounts.get_user(conn, "pi") is None:
            accounts.add_user(conn, "pi", password)
        else:
            accounts.set_password(conn, "pi", password)
        for pid in project_dirs(work):
            accounts.set_membership(conn, "pi", pid, "owner")
    conn.close()
    print(f"lmtflow web: open http://{settings.host}:{settings.port}/ and log in as "
          f"user 'pi' with password '{password}' (new at every start; Ctrl-C stops)")  # fmt: skip
    print(f"  settings: {config}")
    sys.stdout.flush()
    return _serve(settings)


def add_web(sub: argparse._SubParsersAction) -> None:
    """Register ``lmtflow web`` and its subcommands (called from lmtflow.cli)."""
    web = sub.add_parser("web", help="the web service: serve products, manage access",
                         description="The data server's web service (README: 'Web service').")
    cmds = web.add_subparsers(dest="web_command", metavar="WEB_COMMAND", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=DEFAULT_CONFIG, help="web.yaml (default ./web.yaml)")
        return p

    p = with_config(cmds.add_parser("serve", help="start the service"))
    p.add_argument("--host", help="bind address (default from web.yaml: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default from web.yaml: 8000)")
    p.add_argument("--dev", action="store_true",
                   help="allow a missing secret_file (random secret; private machines only)")
    p.set_defaults(func=_cmd_serve)

    user = cmds.add_parser("user", help="add, disable users; passwords; grant, revoke projects")
    ucmds = user.add_subparsers(dest="user_command", metavar="USER_COMMAND", required=True)
    p = with_config(ucmds.add_parser("add", help="add a user"))
    p.add_argument("name")
    p.add_argument("--staff", action="store_true", help="observatory staff: sees every project")
    p.add_argument("--project", help="a ProjectId the user belongs to")
    p.add_argument("--role", choices=["viewer", "runner", "owner"], help="role in --project")
    p.add_argument("--password-file", help="read the password from this file's first line")
    p.set_defaults(func=_cmd_user_add)
    p = with_config(ucmds.add_parser("passwd", help="set a new password"))
    p.add_argument("name")
    p.add_argument("--password-file", help="read the password from this file's first line")
    p.set_defaults(func=_cmd_user_passwd)
    p = with_config(ucmds.add_parser("grant", help="give a user a role in a project"))
    p.add_argument("name")
    p.add_argument("--project", required=True)
    p.add_argument("--role", required=True, choices=["viewer", "runner", "owner"])
    p.set_defaults(func=_cmd_user_grant)
    p = with_config(ucmds.add_parser("revoke", help="take a user's role in a project away"))
    p.add_argument("name")
    p.add_argument("--project", required=True)
    p.set_defaults(func=_cmd_user_revoke)
    p = with_config(ucmds.add_parser("disable", help="end a user's logins and refuse new ones"))
    p.add_argument("name")
    p.set_defaults(func=_cmd_user_disable)

    project = cmds.add_parser("project", help="project settings")
    pcmds = project.add_subparsers(dest="project_command", metavar="PROJECT_COMMAND",
                                   required=True)  # fmt: skip
    p = with_config(pcmds.add_parser("set", help="set when a project's data become public"))
    p.add_argument("pid")
    p.add_argument("--public-after", required=True, type=_date,
                   help="YYYY-MM-DD from which anyone may read it, or 'never'")
    p.set_defaults(func=_cmd_project_set)

    p = cmds.add_parser("demo", help="serve the products of 'lmtflow demo' (prints the login)")
    p.add_argument("--out", default="demo", help="the directory given to 'lmtflow demo' (demo)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_cmd_demo)
