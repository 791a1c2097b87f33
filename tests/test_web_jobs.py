"""Re-reductions launched from the browser, over real HTTP with real Snakemake runners: the
new-attempt form and its validation, a launch to the new attempts column, the fair queue
(one runner per project, FIFO), identical launches, cancel, a SIGKILLed runner, a server
restart during a run, injection through every string field.

The service runs on a copy of the session's web tree (jobs add attempts to it), with a user
``runa`` (runner of PROJECT) and ``vic`` (viewer). Jobs reduce the Ps ObsNum: its base steps
are done, so an attempt is a few short Snakemake jobs.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shlex
import shutil
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from lmtflow.cli import main as lmtflow_main
from lmtflow.treediff import diff_trees
from lmtflow.web.jobs import job_dir

from .web_helpers import OTHER, PROJECT, csrf_of, login, start_server, write_web_config

PAYLOAD = "$(touch PWN)'\";"
FINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def jobs_server(web_tree, tmp_path_factory):
    root = tmp_path_factory.mktemp("web_jobs")
    shutil.copytree(web_tree["root"], root / "tree", symlinks=True)
    tree = {**web_tree, "root": root / "tree", "work": root / "tree" / "work"}
    # the project file (lmtflow.web.overlay.PROJECT_FILE) names the attempt made before
    (tree["work"] / PROJECT / "project.yaml").write_text(
        f"obsnums: [{tree['map']}, {tree['ps']}, {tree['bs']}]\n"
        "attempts: {coarse: {grid: {resolution: 16}}}\n")  # fmt: skip
    config = write_web_config(root, tree, runner={"cores": 2, "max_runners": 2,
                                                  "max_queued_per_user": 4,
                                                  "max_streams_per_user": 2,
                                                  "max_streams": 3})  # fmt: skip
    pw = root / "pw.txt"
    pw.write_text("runner password 1\n")
    for name, role, pid in (("runa", "runner", PROJECT), ("vic", "viewer", PROJECT),
                            ("otto", "owner", OTHER)):  # fmt: skip
        assert lmtflow_main(["web", "user", "add", name, "--project", pid, "--role", role,
                             "--password-file", str(pw), "--config", str(config)]) == 0  # fmt: skip
    server = start_server(config, tree, root / "server.log")
    server.root = root
    server.pristine = web_tree["work"]  # the tree before any job (read only)
    yield server
    server.stop()


def _client(server, name: str = "runa"):
    return login(server.url, name, "runner password 1")


@pytest.fixture(scope="module")
def runa(jobs_server):
    return _client(jobs_server)


def _db(server) -> sqlite3.Connection:
    conn = sqlite3.connect(server.root / "web.sqlite", timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def _job(server, job_id: int) -> sqlite3.Row:
    with _db(server) as conn:
        return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()


def launch(client, server, name: str, yaml_text: str = "", scope: str | None = None,
           fields: dict | None = None):  # fmt: skip
    ps = str(server.tree["ps"]) if scope is None else scope
    token = csrf_of(client, f"/p/{PROJECT}/attempts/new?obs={ps}")
    data = {"csrf_token": token, "name": name, "scope": ps, "yaml": yaml_text, **(fields or {})}
    return client.post(f"/p/{PROJECT}/attempts", data=data, headers={"Origin": server.url})


def job_id_of(response) -> int:
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    return int(response.headers["location"].rsplit("/", 1)[1])


def wait_final(server, job_id: int, timeout: float = 240) -> sqlite3.Row:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(server, job_id)
        if job["state"] in FINAL:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {_job(server, job_id)['state']}")


def runners(server) -> list[int]:
    """Live runner processes of ``server`` (the process table, not the database; runners of
    other servers on this machine, e.g. a benchmark's, are told apart by their database)."""
    out, database = [], str((server.root / "web.sqlite").resolve())
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if "lmtflow.web.runner" in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            with contextlib.suppress(psutil.Error):
                if p.environ().get("LMTFLOW_WEB_DB") == database:
                    out.append(p.pid)
    return out


def test_form_is_generated_from_the_attempt_schema(jobs_server, runa):
    page = runa.get(f"/p/{PROJECT}/attempts/new", params={"obs": jobs_server.tree["ps"]})
    assert page.status_code == 200
    for name in ("grid.resolution", "baseline.b_order", "calibrate.stype", "rsr.blo"):
        assert f'name="{name}"' in page.text
    assert "arcsec; null = ceil(lambda / 50 m)" in page.text  # the schema's help text
    assert 'name="yaml"' in page.text
    vic = _client(jobs_server, "vic")
    assert vic.get(f"/p/{PROJECT}/attempts/new").status_code == 403
    r = launch(vic, jobs_server, "x", "grid: {resolution: 16}")
    assert r.status_code == 403 and not _all_jobs(jobs_server)


def _all_jobs(server) -> list[sqlite3.Row]:
    with _db(server) as conn:
        return conn.execute("SELECT * FROM jobs ORDER BY id").fetchall()


@pytest.mark.parametrize(("name", "yaml_text", "words"), [
    ("coarse2", "grid: {resoluton: 16}", ["resoluton", "resolution"]),
    ("../x", "grid: {resolution: 16}", ["attempt name", "../x"]),
    ("base", "grid: {resolution: 16}", ["attempt name", "base"]),
    ("a" * 41, "grid: {resolution: 16}", ["attempt name"]),
    ("deep", "data_lmt: /etc", ["data_lmt"]),
    ("deep", "obsnums: [1]", ["obsnums"]),
    ("deep", "sources: {x: {obsnums: [1]}}", ["sources"]),
    ("deep", "flags: /etc/passwd", ["flags"]),
    ("deep", "grid: [", ["not valid YAML"]),
    ("same", "", ["changes nothing"]),
])  # fmt: skip
def test_bad_overlays_are_refused_inline(jobs_server, runa, name, yaml_text, words):
    before = len(_all_jobs(jobs_server))
    r = launch(runa, jobs_server, name, yaml_text)
    assert r.status_code == 422, r.text[:500]
    errors = r.text.split('id="errors"', 1)[1].split("</ul>", 1)[0]
    for word in words:
        assert word.replace("'", "&#39;") in errors or word in errors, errors
    assert len(_all_jobs(jobs_server)) == before


def test_a_form_field_with_a_typo_value_and_a_big_body(jobs_server, runa):
    r = launch(runa, jobs_server, "typo", fields={"grid.resolution": "sixteen"})
    assert r.status_code == 422 and "grid.resolution" in r.text and "sixteen" in r.text
    r = launch(runa, jobs_server, "big", "# " + "x" * 70_000)
    assert r.status_code == 413
    assert not [j for j in _all_jobs(jobs_server) if j["attempt"] in ("typo", "big")]


def test_injection_in_every_string_field_is_refused_or_harmless(jobs_server, runa):
    from lmtflow.web.overlay import form_fields

    work = jobs_server.tree["work"]
    for f in form_fields({}):
        r = launch(runa, jobs_server, "inj", fields={f.name: PAYLOAD})
        assert r.status_code == 422, (f.name, r.status_code)
    r = launch(runa, jobs_server, PAYLOAD, "grid: {resolution: 16}")
    assert r.status_code == 422
    r = launch(runa, jobs_server, "inj", "grid: {resolution: 16}", scope=PAYLOAD)
    assert r.status_code == 404
    for place in (Path.cwd(), work, work.parent, jobs_server.root):
        assert not (place / "PWN").exists()
    assert not list(work.rglob("PWN"))


def test_launch_runs_the_attempt_to_the_attempts_column(jobs_server, runa, capsys):
    ps = jobs_server.tree["ps"]
    # an attempt made from the command line, not in the project file: it keeps its column
    work, data = jobs_server.tree["work"], jobs_server.tree["data_lmt"]
    assert lmtflow_main(["run", str(ps), "--data-lmt", str(data), "--work-lmt", str(work),
                         "--attempt", "cli1", "--set", "baseline.dw=150", "--cores", "2"]) == 0
    capsys.readouterr()
    r = launch(runa, jobs_server, "order2", "baseline: {b_order: 2}")
    job_id = job_id_of(r)
    again = launch(runa, jobs_server, "order2", "baseline: {b_order: 2}")
    assert job_id_of(again) == job_id  # identical launch: the same job
    other = launch(runa, jobs_server, "order2", "baseline: {b_order: 3}")
    assert other.status_code == 409  # same name, other values, while it is active
    job = wait_final(jobs_server, job_id)
    assert job["state"] == "succeeded", job["error"]
    assert job["total"] and job["done"] == job["total"]
    page = runa.get(f"/p/{PROJECT}/jobs/{job_id}").text
    assert "succeeded" in page and "lmtflow run" in page
    status = runa.get(f"/p/{PROJECT}/jobs/{job_id}/status.json").json()
    assert status["state"] == "succeeded" and status["percent"] == 100
    assert f"{job['total']} of {job['total']} steps" in status["log"]
    log = runa.get(f"/p/{PROJECT}/jobs/{job_id}/log")
    assert log.status_code == 200 and "Finished jobid" in log.text
    events = runa.get(f"/p/{PROJECT}/jobs/{job_id}/events")
    assert "event: status" in events.text and "event: end" in events.text
    # the new column: the attempts page of the ObsNum and the project page list it
    product = runa.get(f"/p/{PROJECT}/o/{ps}/", params={"attempt": "order2"})
    assert product.status_code == 200
    zip_url = f"/p/{PROJECT}/files/{ps}/attempts/order2/{ps}_SRDP.zip"
    assert runa.get(zip_url, params={"download": 1}).status_code == 200
    compare = runa.get(f"/p/{PROJECT}/files/{ps}/attempts.html").text
    assert "order2" in compare and "coarse" in compare  # the new column beside the old one
    assert "attempts/cli1/" in compare  # (lost before: a job's config named only its attempts)
    params = (jobs_server.tree["work"] / PROJECT / str(ps) / "attempts" / "order2" / "params"
              / "baseline__0.json").read_text()  # fmt: skip
    assert '"b_order": 2' in params
    history = runa.get(f"/p/{PROJECT}/jobs/").text
    assert "order2" in history and "runa" in history and "b_order" in history
    # the job page's command, run by hand (dry run): the same products, nothing to redo
    command = html.unescape(page.split('<code id="command">', 1)[1].split("</code>", 1)[0])
    argv = shlex.split(command)
    assert argv[:2] == ["lmtflow", "run"] and Path(argv[2]).is_file()
    assert lmtflow_main([*argv[1:], "--dry-run"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    relaunch = runa.get(f"/p/{PROJECT}/attempts/new", params={"job": job_id}).text
    assert 'name="baseline.b_order" value="2"' in relaunch and 'value="order2"' in relaunch


def _wait_state(server, job_id: int, state: str, timeout: float = 60) -> sqlite3.Row:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(server, job_id)
        if job["state"] == state:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is {_job(server, job_id)['state']}, not {state}")


def _wait_log(server, job_id: int, text: str, timeout: float = 120) -> None:
    log = job_dir(server.tree["work"], job_id) / "log.txt"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.is_file() and text in log.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}: no {text!r} in its log")


def _group_alive(pgid: int) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return out


def _by_hand(server, names_dvs) -> Path:
    """The attempts ``names_dvs`` ((name, baseline.dv), ...) one after the other from the
    command line, on a copy of the Ps ObsNum and its Cal as they were before any job; returns
    that work tree."""
    tree, ps = server.tree, str(server.tree["ps"])
    seq = server.root / "sequential"
    others = {str(tree["map"]), str(tree["bs"])}
    shutil.copytree(server.pristine / PROJECT, seq / PROJECT,
                    ignore=lambda d, names: others & set(names))  # fmt: skip
    for name, dv in names_dvs:
        assert lmtflow_main(["run", ps, "--data-lmt", str(tree["data_lmt"]), "--work-lmt",
                             str(seq), "--attempt", name, "--set", f"baseline.dv={dv}",
                             "--cores", "2"]) == 0  # fmt: skip
    return seq


def test_two_launches_queue_fifo_with_one_runner_per_project(jobs_server, runa):
    # The same two attempts from the command line, in their own tree, meanwhile (a thread:
    # `lmtflow run` waits on its Snakemake process): their products are compared below.
    by_hand = ThreadPoolExecutor(1).submit(_by_hand, jobs_server, (("dv80", 80), ("dv120", 120)))
    first = job_id_of(launch(runa, jobs_server, "dv80", "baseline: {dv: 80}"))
    time.sleep(0.1)
    second = job_id_of(launch(runa, jobs_server, "dv120", "baseline: {dv: 120}"))
    page = runa.get(f"/p/{PROJECT}/jobs/{second}").text
    assert "position 2 in the project" in page or _job(jobs_server, first)["state"] != "running"
    seen, most = set(), 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        states = (_job(jobs_server, first)["state"], _job(jobs_server, second)["state"])
        seen.add(states)
        assert states.count("running") <= 1, states
        live = runners(jobs_server)
        assert len(live) <= 1, live
        most = max(most, len(live))
        if all(s in FINAL for s in states):
            break
        time.sleep(0.05)
    assert ("running", "queued") in seen  # FIFO: the first ran while the second waited
    assert most == 1  # the process table did show the runner (the check can see one)
    assert states == ("succeeded", "succeeded"), [_job(jobs_server, j)["error"]
                                                  for j in (first, second)]  # fmt: skip
    a, b = _job(jobs_server, first), _job(jobs_server, second)
    assert a["ended_utc"] <= b["started_utc"]
    # The command line's products of the same attempts: the same, byte for byte.
    tree, ps = jobs_server.tree, str(jobs_server.tree["ps"])
    seq = by_hand.result(timeout=300)
    for name in ("dv80", "dv120"):
        web = tree["work"] / PROJECT / ps / "attempts" / name
        hand = seq / PROJECT / ps / "attempts" / name
        assert list((web / "srdp").glob("*.fits")) and list(web.glob("*.zip"))
        assert diff_trees(web, hand) == []  # SRDP, QA numbers, parameters, the zip


def test_cancel_stops_the_group_and_a_relaunch_works(jobs_server, runa):
    job_id = job_id_of(launch(runa, jobs_server, "cancelme", "baseline: {dv: 90}"))
    job = _wait_state(jobs_server, job_id, "running")
    _wait_log(jobs_server, job_id, "rule ")  # Snakemake has started a job
    token = csrf_of(runa, f"/p/{PROJECT}/jobs/{job_id}")
    t0 = time.monotonic()
    r = runa.post(f"/p/{PROJECT}/jobs/{job_id}/cancel", data={"csrf_token": token},
                  headers={"Origin": jobs_server.url})  # fmt: skip
    assert r.status_code == 303
    wait_final(jobs_server, job_id, timeout=30)
    assert _job(jobs_server, job_id)["state"] == "cancelled"
    assert time.monotonic() - t0 < 30
    deadline = time.monotonic() + 10
    while _group_alive(job["pid_os"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(job["pid_os"])
    again = job_id_of(launch(runa, jobs_server, "cancelme", "baseline: {dv: 90}"))
    assert again != job_id
    done = wait_final(jobs_server, again)
    assert done["state"] == "succeeded", done["error"]
    log = (job_dir(jobs_server.tree["work"], again) / "log.txt").read_text()
    assert "cannot be locked" not in log


def test_live_streams_are_capped_per_user_and_per_server(jobs_server, runa):
    """Event streams of a running job: 2 per user, 3 in all (this server's web.yaml); the
    next gets 429 (the page then polls), and a closed stream frees its slot."""
    job_id = job_id_of(launch(runa, jobs_server, "streams", "baseline: {dv: 85}"))
    _wait_state(jobs_server, job_id, "running")
    path = f"/p/{PROJECT}/jobs/{job_id}/events"
    vic = _client(jobs_server, "vic")
    with contextlib.ExitStack() as open_streams:

        def stream(client):
            return open_streams.enter_context(client.stream("GET", path))

        first, second = stream(runa), stream(runa)
        assert first.status_code == second.status_code == 200
        over = stream(runa)
        assert over.status_code == 429 and "at most 2" in over.read().decode()
        assert stream(vic).status_code == 200  # another user: the server's third
        full = stream(vic)
        assert full.status_code == 429 and "too many" in full.read().decode()
        first.close()
        deadline = time.monotonic() + 10
        while (again := stream(runa)).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert again.status_code == 200
    token = csrf_of(runa, f"/p/{PROJECT}/jobs/{job_id}")
    runa.post(f"/p/{PROJECT}/jobs/{job_id}/cancel", data={"csrf_token": token},
              headers={"Origin": jobs_server.url})  # fmt: skip
    assert wait_final(jobs_server, job_id, timeout=60)["state"] in FINAL


def test_a_sigkilled_runner_fails_with_the_reason(jobs_server, runa):
    job_id = job_id_of(launch(runa, jobs_server, "killed", "baseline: {dv: 70}"))
    job = _wait_state(jobs_server, job_id, "running")
    _wait_log(jobs_server, job_id, "rule ")
    os.kill(job["pid_os"], signal.SIGKILL)
    done = wait_final(jobs_server, job_id, timeout=30)
    assert done["state"] == "failed" and "SIGKILL" in done["error"]
    deadline = time.monotonic() + 10
    while _group_alive(job["pid_os"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(job["pid_os"])  # Snakemake and its jobs did not live on
    page = runa.get(f"/p/{PROJECT}/jobs/{job_id}").text
    assert "SIGKILL" in page
    again = wait_final(jobs_server, job_id_of(launch(runa, jobs_server, "killed",
                                                     "baseline: {dv: 70}")))  # fmt: skip
    assert again["state"] == "succeeded", again["error"]


def test_a_failed_job_names_the_rule_the_obsnum_and_the_error(jobs_server, runa):
    ps = jobs_server.tree["ps"]
    job_id = job_id_of(launch(runa, jobs_server, "nowhere",
                              "baseline: {b_regions: [[90000, 95000]]}"))  # fmt: skip
    job = wait_final(jobs_server, job_id)
    assert job["state"] == "failed"
    assert "rule baseline" in job["error"] and f"obsnum={ps}" in job["error"], job["error"]
    page = runa.get(f"/p/{PROJECT}/jobs/{job_id}").text
    assert "rule baseline" in page


def test_job_routes_follow_the_project_matrix(jobs_server, runa):
    """Every job route: a reader of the project 200, a member of another project 404 (also
    through their own project's URL), anonymous 303 to the login; cancel needs the runner role."""
    job_id = next(j["id"] for j in _all_jobs(jobs_server) if j["state"] in FINAL)  # (earlier)
    vic, otto = _client(jobs_server, "vic"), _client(jobs_server, "otto")
    anonymous = httpx.Client(base_url=jobs_server.url)
    for tail in ("", "/status.json", "/events", "/log"):
        path = f"/p/{PROJECT}/jobs/{job_id}{tail}"
        assert vic.get(path).status_code == 200, path
        assert otto.get(path).status_code == 404, path
        assert otto.get(path.replace(PROJECT, OTHER)).status_code == 404, path
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert otto.get(f"/p/{PROJECT}/jobs/").status_code == 404
    token = csrf_of(vic, f"/p/{PROJECT}/jobs/{job_id}")
    r = vic.post(f"/p/{PROJECT}/jobs/{job_id}/cancel", data={"csrf_token": token},
                 headers={"Origin": jobs_server.url})  # fmt: skip
    assert r.status_code == 403
    r = runa.post(f"/p/{PROJECT}/jobs/{job_id}/cancel", data={"csrf_token": "forged"},
                  headers={"Origin": jobs_server.url})  # fmt: skip
    assert r.status_code == 403


def test_browser_launch_streams_progress_to_success(jobs_server):
    """Playwright with Debian's chromium: ObsNum page -> form -> launch -> the job page's
    progress bar (server-sent events) reaches 100 % and the state 'succeeded'."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from .test_web_browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    ps, url = jobs_server.tree["ps"], jobs_server.url
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "runa")
        page.fill("input[name=password]", "runner password 1")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/p/")
        page.goto(f"{url}/p/{PROJECT}/o/{ps}/")
        page.click(f"text=new attempt of {ps}")
        page.fill("input[name=name]", "browser")
        page.fill("input[name='baseline.dw']", "200")
        page.click("#launch")
        page.wait_for_url(re.compile(rf".*/p/{PROJECT}/(jobs/\d+|attempts)$"), wait_until="commit")
        page.wait_for_selector("#state, #errors")
        assert "/jobs/" in page.url, page.text_content("main")
        page.wait_for_function("() => document.getElementById('state').textContent === 'succeeded'",
                               timeout=240_000)  # fmt: skip
        assert page.eval_on_selector("#bar", "b => b.value") == 100
        page.wait_for_function("() => document.getElementById('log').textContent.includes("
                               "'steps (100%) done')")  # fmt: skip
        steps = page.text_content("#steps")
        done, total = re.match(r"(\d+) of (\d+) steps", steps).groups()
        assert done == total and int(total) > 0
        assert page.is_visible("#results")
        assert not errors
        browser.close()
    params = (jobs_server.tree["work"] / PROJECT / str(ps) / "attempts" / "browser" / "params"
              / "baseline__0.json").read_text()  # fmt: skip
    assert '"dw": 200' in params


def test_server_restart_keeps_live_runners_and_fails_dead_ones(jobs_server, runa):
    # last in the module: the server moves to a new port (the module's clients go stale)
    live = job_id_of(launch(runa, jobs_server, "survivor", "baseline: {dv: 60}"))
    job = _wait_state(jobs_server, live, "running")
    jobs_server.stop()  # the runner leads its own session: it goes on
    assert psutil.pid_exists(job["pid_os"])
    restarted = start_server(jobs_server.config, jobs_server.tree, jobs_server.root / "s2.log")
    jobs_server.url, jobs_server.proc = restarted.url, restarted.proc
    assert _job(jobs_server, live)["state"] in ("running", "succeeded")
    done = wait_final(jobs_server, live)
    assert done["state"] == "succeeded", done["error"]
    # a runner that died while no server watched: failed "server restarted" at the next start
    client = _client(jobs_server)
    dead = job_id_of(launch(client, jobs_server, "orphan", "baseline: {dv: 50}"))
    job = _wait_state(jobs_server, dead, "running")
    jobs_server.stop()
    os.killpg(job["pid_os"], signal.SIGKILL)
    restarted = start_server(jobs_server.config, jobs_server.tree, jobs_server.root / "s3.log")
    jobs_server.url, jobs_server.proc = restarted.url, restarted.proc
    after = _job(jobs_server, dead)
    assert after["state"] == "failed" and "server restarted" in after["error"]
