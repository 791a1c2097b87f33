"""Attacks on the web service over real HTTP (``lmtflow web serve`` on a loopback port), one
test per hole that an audit found open: a copied cookie outliving 'log out', YAML alias bombs
and deep nesting in the attempt form, numbers too big for SQLite or a seek, names too long for
the file system, unbounded uploads, markup in a raw header's source name drawn by plotly, and
private responses a proxy could cache.

The server runs over a private copy of two ObsNums of the session's ``web_tree`` (no SDFITS),
so these tests may plant hostile headers and job rows without touching the shared tree.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
import yaml

from lmtflow.cli import main as lmtflow_main
from lmtflow.layout import safe_source
from lmtflow.web.jobs import job_dir

from .web_helpers import (
    OTHER,
    PASSWORD,
    PROJECT,
    add_users,
    csrf_of,
    login,
    start_server,
    write_web_config,
)

HOSTILE_SOURCE = '<b>bold</b><a href="https://evil.example/">x</a><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def attack_server(web_tree, tmp_path_factory):
    """A server over PROJECT/<bs> whose source name is markup (its SRDP files renamed as the
    pipeline names them), OTHER/<ps>, job 1 of PROJECT and job 2 of OTHER (both failed, with
    a log); alice is a runner of PROJECT."""
    root = tmp_path_factory.mktemp("web_attacks")
    work = root / "work"
    skip = shutil.ignore_patterns("*.sdfits")
    bs, ps = str(web_tree["bs"]), str(web_tree["ps"])
    shutil.copytree(web_tree["work"] / PROJECT / bs, work / PROJECT / bs, ignore=skip)
    shutil.copytree(web_tree["work"] / OTHER / ps, work / OTHER / ps, ignore=skip)
    qa = work / PROJECT / bs / "qa" / f"{bs}__0.qa.json"
    numbers = json.loads(qa.read_text())
    old = numbers["observation"]["source"]
    numbers["observation"]["source"] = HOSTILE_SOURCE
    qa.write_text(json.dumps(numbers))
    for f in (work / PROJECT / bs).rglob(f"{safe_source(old)}_*"):
        f.rename(f.with_name(f.name.replace(safe_source(old), safe_source(HOSTILE_SOURCE), 1)))
    tree = {"work": work, "data_lmt": web_tree["data_lmt"], "bs": bs, "ps": ps}
    config = write_web_config(root, tree)
    add_users(config, root)
    assert lmtflow_main(["web", "user", "grant", "alice", "--project", PROJECT, "--role",
                         "runner", "--config", str(config)]) == 0  # fmt: skip
    server = start_server(config, tree, root / "server.log")
    db = sqlite3.connect(yaml.safe_load(config.read_text())["database"])
    for pid, user in ((PROJECT, "alice"), (OTHER, "bob")):
        db.execute("INSERT INTO jobs (pid, attempt, scope, overlay_json, config_json, user, "
                   "state) VALUES (?, 'x', '', '{}', '{}', ?, 'failed')", (pid, user))
    db.commit()
    db.close()
    for job in (1, 2):
        job_dir(work, job).mkdir(parents=True)
        (job_dir(work, job) / "log.txt").write_text(f"log of job {job}\n")
    yield server
    server.stop()


def _post_attempt(client: httpx.Client, url: str, **form: str) -> httpx.Response:
    token = csrf_of(client, f"/p/{PROJECT}/attempts/new")
    return client.post(f"/p/{PROJECT}/attempts", data={"csrf_token": token, "name": "evil",
                                                       **form}, headers={"Origin": url})


def test_logout_ends_the_login_also_for_a_copy_of_its_cookie(attack_server):
    url = attack_server.url
    alice = login(url, "alice")
    stolen = httpx.Client(base_url=url, cookies=dict(alice.cookies))
    assert stolen.get(f"/p/{PROJECT}/").status_code == 200
    r = alice.post("/logout", data={"csrf_token": csrf_of(alice, "/p/")}, headers={"Origin": url})
    assert r.status_code == 303
    r = stolen.get(f"/p/{PROJECT}/")  # the signed cookie is still well formed, but logged out
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert login(url, "alice").get(f"/p/{PROJECT}/").status_code == 200  # a new login works


def _alias_bomb(levels: int) -> str:
    """``levels`` lists of 9 aliases of the list before: 9**levels numbers in ~30*levels bytes."""
    lines = ["x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join([*lines, f"baseline: {{birdies: *a{levels - 1}}}"])


def test_yaml_alias_bombs_and_deep_nesting_are_refused(attack_server):
    url = attack_server.url
    alice = login(url, "alice")
    # 6 levels: 531441 numbers; the error page repeated them all (3.5 MB; 9 levels: GBs)
    r = _post_attempt(alice, url, yaml=_alias_bomb(6))
    assert r.status_code == 422 and "aliases" in r.text and len(r.content) < 100_000
    # deep nesting made PyYAML recurse past Python's limit: 500
    r = _post_attempt(alice, url, yaml="grid: " + "{a: " * 3000 + "1" + "}" * 3000)
    assert r.status_code == 422 and "nested deeper" in r.text
    r = _post_attempt(alice, url, **{"grid.resolution": "[" * 20000})
    assert r.status_code == 422 and "is not a YAML value" in r.text
    r = _post_attempt(alice, url, yaml="baseline: {windows: [[-100, -50], [50, 100]]}")
    assert "nested deeper" not in r.text and "aliases" not in r.text  # real overlays pass


def test_numbers_and_names_too_big_get_4xx_not_a_server_error(attack_server):
    url = attack_server.url
    alice = login(url, "alice")
    huge = "9" * 30
    for path in (f"/jobs/{huge}", f"/jobs/{huge}/log", f"/jobs/{huge}/status.json",
                 f"/jobs/1/status.json?offset={huge}", f"/attempts/new?job={huge}",
                 f"/o/{'9' * 300}/", f"/o/{'9' * 300}/spectrum.json",
                 f"/attempts/new?obs={'9' * 300}"):  # fmt: skip
        r = alice.get(f"/p/{PROJECT}{path}")
        assert r.status_code in (404, 422), (path, r.status_code)
    r = alice.post(f"/p/{PROJECT}/jobs/{huge}/cancel", headers={"Origin": url},
                   data={"csrf_token": csrf_of(alice, "/p/")})  # fmt: skip
    assert r.status_code in (404, 422)
    r = _post_attempt(alice, url, scope="9" * 300, yaml="grid: {resolution: 16}")
    assert r.status_code == 404
    # an event stream resumed from an offset past any file's end: no log, then the end
    r = alice.get(f"/p/{PROJECT}/jobs/1/events", headers={"Last-Event-ID": huge})
    assert r.status_code == 200 and "event: end" in r.text
    assert alice.get(f"/p/{PROJECT}/jobs/2").status_code == 404  # OTHER's job: as if absent


def test_every_request_body_is_capped_uploads_too(attack_server):
    """A multipart 'file' posted to /login (by anyone) was spooled to a temporary file whole."""
    url = attack_server.url
    client = httpx.Client(base_url=url, timeout=60)
    token = csrf_of(client)
    boundary = "b0undary"

    def upload():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
               f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; "
               "filename=\"big.bin\"\r\n\r\n").encode()  # fmt: skip
        for _ in range(32):  # 8 MB, sent chunked: no Content-Length to refuse up front
            yield b"\0" * (256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"Origin": url, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    for path in ("/login", "/logout"):
        assert client.post(path, content=upload(), headers=headers).status_code == 413, path
    r = client.post("/login", content=b"x" * 100_000, headers=headers)  # declared length
    assert r.status_code == 413
    login(url, "alice")  # an ordinary form still passes


def test_private_responses_carry_cache_control_private(attack_server):
    alice = login(attack_server.url, "alice")
    bs = attack_server.tree["bs"]
    for path in ("/jobs/1/log", "/jobs/1/status.json", f"/o/{bs}/spectrum.json"):
        r = alice.get(f"/p/{PROJECT}{path}")
        assert r.status_code == 200 and "private" in r.headers.get("cache-control", ""), path


def test_source_name_markup_is_shown_as_text_in_the_plot(attack_server):
    """plotly reads <b>, <a href> in a title as markup: a raw header's source name could put
    a link to another site into the plot."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from .test_web_browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (install-test-deps.sh)")
    alice = login(attack_server.url, "alice")
    bs = attack_server.tree["bs"]
    title = alice.get(f"/p/{PROJECT}/o/{bs}/spectrum.json").json()["title"]
    assert title.startswith(HOSTILE_SOURCE)  # the JSON carries the name as it is
    page_html = alice.get(f"/p/{PROJECT}/o/{bs}/spectrum").text
    assert "<b>bold" not in page_html and "<img src=x" not in page_html  # Jinja escapes it
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": k, "value": v, "url": attack_server.url}
                             for k, v in alice.cookies.items()])  # fmt: skip
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{attack_server.url}/p/{PROJECT}/o/{bs}/spectrum")
        page.wait_for_selector(".gtitle", timeout=30_000)
        shown = page.text_content(".gtitle")
        links = page.eval_on_selector_all(".main-svg a", "els => els.length")
        browser.close()
    assert shown.startswith(HOSTILE_SOURCE) and links == 0 and not dialogs, shown


def test_staff_can_disable_a_user_and_revoke_a_role(attack_server):
    """Before, a role could only be granted and an account never closed (short of SQL)."""
    url, config = attack_server.url, str(attack_server.config)
    bob, carol = login(url, "bob"), login(url, "carol")
    assert carol.get(f"/p/{PROJECT}/").status_code == 200
    assert lmtflow_main(["web", "user", "revoke", "carol", "--project", PROJECT,
                         "--config", config]) == 0  # fmt: skip
    assert carol.get(f"/p/{PROJECT}/").status_code == 404  # at once, same login
    assert lmtflow_main(["web", "user", "disable", "bob", "--config", config]) == 0
    assert bob.get(f"/p/{OTHER}/").status_code == 303  # logged out
    client = httpx.Client(base_url=url)
    form = {"username": "bob", "password": PASSWORD, "csrf_token": csrf_of(client)}
    assert client.post("/login", data=form, headers={"Origin": url}).status_code == 401
