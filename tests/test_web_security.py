"""The web service's protections over real HTTP (``lmtflow web serve`` on a loopback port):
project authorisation on every route, 404 for unknown/forbidden projects and path traversal,
login throttling with one error text, signed HttpOnly SameSite cookies, CSRF + Origin on
POST, security headers, public projects, and the start-up checks of web.yaml."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.routing import APIRoute

from lmtflow.errors import ConfigError
from lmtflow.web.access import project_access
from lmtflow.web.app import create_app
from lmtflow.web.routes_auth import LOGIN_FAILED
from lmtflow.web.security import require_csrf
from lmtflow.web.settings import Settings, load_settings

from .web_helpers import OTHER, PASSWORD, PROJECT, PUBLIC, csrf_of, login, raw_get


def _calls(dependant) -> set:
    out = set()
    for dep in dependant.dependencies:
        out.add(dep.call)
        out |= _calls(dep)
    return out


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI >= 0.16x wraps those; the
    service includes them without a prefix, so paths are the routes' own)."""
    out = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out += api_routes(r.original_router.routes)
    return out


def _app(tmp_path: Path):
    (tmp_path / "work").mkdir(exist_ok=True)
    return create_app(Settings(work_lmt=tmp_path / "work", data_lmt=None,
                               database=tmp_path / "web.sqlite", secret="x" * 40))  # fmt: skip


def test_every_project_route_checks_access_and_every_post_csrf(tmp_path):
    routes = api_routes(_app(tmp_path).routes)
    project_routes = [r for r in routes if "{pid}" in r.path]
    assert len(project_routes) >= 7
    missing = [r.path for r in project_routes if project_access not in _calls(r.dependant)]
    assert not missing, f"project routes without the project_access dependency: {missing}"
    posts = [r for r in routes if "POST" in r.methods]
    assert {r.path for r in posts} >= {"/login", "/logout"}
    unprotected = [r.path for r in posts if require_csrf not in _calls(r.dependant)]
    assert not unprotected, f"POST routes without CSRF protection: {unprotected}"


def _sample_paths(app, label: int) -> list[str]:
    """A concrete GET URL template (``{pid}`` left) for every project route of the app."""
    values = {"label": str(label), "bank": "0", "k": "3", "plane": "mom0",
              "path": f"{label}/README.html"}  # fmt: skip
    out = []
    for r in api_routes(app.routes):
        if "{pid}" in r.path and "GET" in r.methods and "{job_id}" not in r.path:
            # (the job routes need a job: tests/test_web_jobs.py runs this matrix over them)
            path = r.path.replace("{path:path}", "{path}")
            for key, value in values.items():
                path = path.replace("{" + key + "}", value)
            out.append(path + "?x=1&y=1")
    return out


def test_authorisation_matrix_over_every_project_route(web_server, tmp_path):
    paths = _sample_paths(_app(tmp_path), web_server.tree["map"])
    alice, bob = login(web_server.url, "alice"), login(web_server.url, "bob")
    anonymous = httpx.Client(base_url=web_server.url)
    for template in paths:
        mine, theirs = template.replace("{pid}", PROJECT), template.replace("{pid}", OTHER)
        runner_only = "/attempts/new" in template  # alice is a viewer: 403, not 404
        assert alice.get(mine).status_code == (403 if runner_only else 200), mine
        assert bob.get(theirs).status_code == (403 if runner_only else 200), theirs
        assert alice.get(theirs).status_code == 404, theirs  # forbidden: as if absent
        assert alice.get(template.replace("{pid}", "1999-NOPE-1")).status_code == 404
        r = anonymous.get(mine)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), mine
    assert OTHER not in alice.get("/p/").text and PROJECT in alice.get("/p/").text
    staff = login(web_server.url, "ops").get("/p/").text
    assert all(pid in staff for pid in (PROJECT, OTHER, PUBLIC))


def test_public_project_is_readable_anonymously(web_server):
    anonymous = httpx.Client(base_url=web_server.url)
    ps = web_server.tree["ps"]
    assert PUBLIC in anonymous.get("/p/").text and PROJECT not in anonymous.get("/p/").text
    for path in ("/", f"/o/{ps}/", f"/o/{ps}/spectrum.json", f"/files/{ps}/README.html"):
        assert anonymous.get(f"/p/{PUBLIC}{path}").status_code == 200, path


TRAVERSALS = [
    "/files/../../{other}/{ps}/README.html",
    "/files/%2e%2e/%2e%2e/{other}/{ps}/README.html",
    "/files/%2e%2e%2f%2e%2e%2f{other}%2f{ps}%2fREADME.html",
    "/files/..%2f..%2f..%2fweb.yaml",
    "/files/{ps}/%2e%2e/%2e%2e/{other}/{ps}/README.html",
    "/files//etc/passwd",
    "/files/%2fetc%2fpasswd",
    "/files/{ps}/README.html%00.png",
    "/files/{ps}/README.html%00",
    "/files/.snakemake/log/x.txt",
    "/files/{ps}/.hidden.txt",
    "/files/link_out/README.html",
    "/files/link_data.txt",
    "/files/{ps}/logs",
    "/files/{ps}/params",
]


def test_path_traversal_gives_404(web_server):
    work, ps = web_server.tree["work"], web_server.tree["ps"]
    project = work / PROJECT
    (project / ".snakemake" / "log").mkdir(parents=True, exist_ok=True)
    (project / ".snakemake" / "log" / "x.txt").write_text("internal")
    (project / str(ps) / ".hidden.txt").write_text("hidden")
    raw_file = next(web_server.tree["data_lmt"].rglob("*.nc"))
    for name, target in (("link_out", work / OTHER / str(ps)), ("link_data.txt", raw_file)):
        if not (project / name).is_symlink():
            (project / name).symlink_to(target)
    alice = login(web_server.url, "alice")
    assert raw_get(web_server.url, f"/p/{PROJECT}/files/{ps}/README.html", alice) == 200
    for template in TRAVERSALS:
        path = f"/p/{PROJECT}" + template.format(other=OTHER, ps=ps)
        assert raw_get(web_server.url, path, alice) == 404, path


def _try_login(client: httpx.Client, url: str, name: str, password: str) -> httpx.Response:
    form = {"username": name, "password": password, "csrf_token": csrf_of(client)}
    return client.post("/login", data=form, headers={"Origin": url})


def test_login_throttled_with_one_message(web_server):
    url = web_server.url
    client = httpx.Client(base_url=url)
    texts = []
    for name, password in [("carol", "wrong password 1"), ("nosuchuser", "wrong password 2")]:
        r = _try_login(client, url, name, password)
        assert r.status_code == 401
        texts.append(r.text.split('role="alert">')[1].split("<")[0])
    assert texts[0] == texts[1] == LOGIN_FAILED
    for i in range(4):  # carol's 2nd..5th failure
        assert _try_login(client, url, "carol", f"bad {i}").status_code == 401
    r = _try_login(client, url, "carol", PASSWORD)
    assert r.status_code == 429  # even the right password, until the window passes
    login(url, "dave")  # another user from the same address is not blocked


def test_session_cookie_signed_httponly_samesite_and_hash_stored(web_server):
    client = httpx.Client(base_url=web_server.url)
    r = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                     "csrf_token": csrf_of(client)},
                    headers={"Origin": web_server.url})  # fmt: skip
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get(f"/p/{PROJECT}/").status_code == 200
    value = client.cookies["lmtflow_session"]
    payload, rest = value.split(".", 1)
    forged = httpx.Client(base_url=web_server.url, cookies={"lmtflow_session": payload + "." +
                                                            rest[::-1]})  # fmt: skip
    assert forged.get(f"/p/{PROJECT}/").status_code == 303  # a tampered cookie is no login
    db = sqlite3.connect(yaml.safe_load(web_server.config.read_text())["database"])
    stored = db.execute("SELECT password_hash FROM users WHERE name = 'alice'").fetchone()[0]
    assert PASSWORD not in stored and stored.startswith("scrypt$")


def test_post_needs_csrf_token_and_origin(web_server):
    url = web_server.url
    alice, bob = login(url, "alice"), login(url, "bob")
    token, bob_token = csrf_of(alice, "/p/"), csrf_of(bob, "/p/")
    for data, headers in [({}, {"Origin": url}),  # no token
                          ({"csrf_token": bob_token}, {"Origin": url}),  # another session's
                          ({"csrf_token": token}, {"Origin": "http://evil.example"}),
                          ({"csrf_token": token}, {})]:  # fmt: skip
        assert alice.post("/logout", data=data, headers=headers).status_code == 403
    assert alice.get(f"/p/{PROJECT}/").status_code == 200  # still logged in
    assert alice.post("/logout", data={"csrf_token": token}, headers={"Origin": url}
                      ).status_code == 303  # fmt: skip
    assert alice.get(f"/p/{PROJECT}/").status_code == 303


def test_security_headers_on_pages_files_and_errors(web_server):
    alice = login(web_server.url, "alice")
    ps = web_server.tree["ps"]
    for path in ("/login", f"/p/{PROJECT}/", f"/p/{PROJECT}/files/{ps}/README.html",
                 "/p/1999-NOPE-1/", "/static/app.js"):  # fmt: skip
        h = alice.get(path).headers
        assert "default-src 'self'" in h["content-security-policy"], path
        assert "script-src 'self';" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
    assert alice.get(f"/p/{PROJECT}/").headers["cache-control"] == "no-store"


def test_password_change_ends_other_logins(web_server, tmp_path):
    dave = login(web_server.url, "dave")
    assert dave.get(f"/p/{PROJECT}/").status_code == 200
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + " new\n")
    from lmtflow.cli import main

    assert main(["web", "user", "passwd", "dave", "--password-file", str(pw),
                 "--config", str(web_server.config)]) == 0  # fmt: skip
    assert dave.get(f"/p/{PROJECT}/").status_code == 303
    login(web_server.url, "dave", PASSWORD + " new")


def test_serve_refuses_without_secret_and_config_errors_name_the_key(tmp_path):
    (tmp_path / "work").mkdir()
    config = tmp_path / "web.yaml"
    config.write_text(yaml.safe_dump({"work_lmt": "work"}))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    cmd = [sys.executable, "-m", "lmtflow.cli", "web", "serve", "--config", str(config)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0 and "secret_file" in proc.stderr
    assert load_settings(config, dev=True).dev  # --dev runs with a random secret
    config.write_text(yaml.safe_dump({"work_lmt": "work", "secert_file": "s"}))
    with pytest.raises(ConfigError, match="secert_file.*did you mean 'secret_file'"):
        load_settings(config, dev=True)
    secret = tmp_path / "s"
    secret.write_text("x" * 40)
    secret.chmod(0o644)
    config.write_text(yaml.safe_dump({"work_lmt": "work", "secret_file": "s"}))
    with pytest.raises(ConfigError, match="readable by others"):
        load_settings(config)
    secret.chmod(0o600)
    settings = load_settings(config)
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.database == tmp_path / "web.sqlite"


def test_web_demo_serves_with_a_printed_login(web_server, tmp_path):
    """The README's 'lmtflow web demo': prints the URL and a one-time password for user 'pi',
    who owns every project of the demo tree; no account exists before."""
    import re
    import time

    from .web_helpers import free_port

    out = tmp_path / "demo"
    out.mkdir()
    (out / "work_lmt").symlink_to(web_server.tree["work"])
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    cmd = [sys.executable, "-m", "lmtflow.cli", "web", "demo", "--out", str(out),
           "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        m = re.search(r"open (http://127\.0\.0\.1:\d+/) and log in as user 'pi' with password "
                      r"'([^']+)'", line)  # fmt: skip
        assert m, line
        url = m.group(1).rstrip("/")
        for _ in range(100):
            try:
                httpx.get(url + "/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        pi = login(url, "pi", m.group(2))
        assert all(pid in pi.get("/p/").text for pid in (PROJECT, OTHER, PUBLIC))
        assert (out / "web" / "secret").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(10)
