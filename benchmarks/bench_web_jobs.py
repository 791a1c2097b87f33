"""Click to start, end to success: the latency of re-reductions launched from the browser
(loopback only; not a test).

The small preset's Ps ObsNum is reduced once (its base), then ``lmtflow web serve`` runs
attempts of it (a baseline change: baseline, spectrum, products, QA, pages, zip):

1. one job alone;
2. N jobs (default 10) launched at once in the same project: they queue, one runner at a time.

For every job it prints, from the POST of the launch: the runner's start (state ``running``
on the job page's event stream), the first Snakemake job (its ``rule``/``localrule`` record
in the job's log file) and the page showing progress (a status event with a step total);
then from Snakemake's end (its ``steps (100%) done`` line in the log) to the page showing
``succeeded``. The page's numbers come from its server-sent events, as a browser sees them.

    python benchmarks/bench_web_jobs.py [--jobs 10] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmtflow.web import accounts  # noqa: E402
from lmtflow.web.db import connect, migrate  # noqa: E402
from lmtflow.web.jobs import job_dir  # noqa: E402
from tests.web_helpers import csrf_of, login, start_server  # noqa: E402

PASSWORD = "benchmark password"


class Watch:
    """Times (perf_counter) of one job's milestones, filled by two threads."""

    def __init__(self, url: str, cookies, pid: str, job_id: int, log: Path, posted: float):
        self.posted = posted
        self.seen: dict[str, float] = {}
        self.threads = [threading.Thread(target=self._events, args=(url, cookies, pid, job_id),
                                         daemon=True),
                        threading.Thread(target=self._log, args=(log,), daemon=True)]  # fmt: skip
        for t in self.threads:
            t.start()

    def _mark(self, what: str) -> None:
        self.seen.setdefault(what, time.perf_counter())

    def _events(self, url: str, cookies, pid: str, job_id: int) -> None:
        with httpx.Client(base_url=url, cookies=cookies, timeout=None) as c, \
                c.stream("GET", f"/p/{pid}/jobs/{job_id}/events") as r:  # fmt: skip
            event = ""
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "status":
                    s = json.loads(line[6:])
                    if s["state"] != "queued":
                        self._mark("page: running")
                    if s["total"]:
                        self._mark("page: progress")
                    if s["state"] in ("succeeded", "failed", "cancelled"):
                        self._mark("page: " + s["state"])
                elif event == "end":
                    return

    def _log(self, log: Path) -> None:
        while "page: succeeded" not in self.seen and "page: failed" not in self.seen:
            text = log.read_text() if log.is_file() else ""
            if "\nrule " in text or "\nlocalrule " in text:
                self._mark("first Snakemake job")
            if "steps (100%) done" in text:
                self._mark("Snakemake done")
            time.sleep(0.05)

    def join(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout)

    def since_post(self, what: str) -> float:
        return self.seen.get(what, float("nan")) - self.posted

    def end_to_page(self) -> float:
        return self.seen.get("page: succeeded", float("nan")) - self.seen.get("Snakemake done",
                                                                              float("nan"))


def prepare(tmp: Path, data: str | None) -> tuple[Path, Path, int, str]:
    """The small preset (or ``data``) and its Ps ObsNum's base reduction: data, work, ObsNum,
    ProjectId."""
    from lmtflow.sim import simulate_preset
    from lmtflow.workflow import run_in_process

    if data:
        data_lmt = Path(data).resolve()
        ps = 79449
    else:
        sim = simulate_preset("small", tmp / "data_lmt", seed=20181116)
        data_lmt, ps = Path(sim.data_lmt), sim.labels["ps"]
    work = tmp / "work"
    t = time.perf_counter()
    run_in_process(data_lmt, work, [ps], cores=2, directory=tmp)
    pid = next(p.name for p in work.iterdir() if p.is_dir() and not p.name.startswith("."))
    print(f"base of Ps {ps} ({pid}) reduced in {time.perf_counter() - t:.0f} s")
    return data_lmt, work, ps, pid


def launch(client: httpx.Client, url: str, pid: str, ps: int, name: str, dv: int
           ) -> tuple[int, float]:  # fmt: skip
    token = csrf_of(client, f"/p/{pid}/attempts/new?obs={ps}")
    t = time.perf_counter()
    r = client.post(f"/p/{pid}/attempts", data={"csrf_token": token, "name": name, "scope": str(ps),
                    "yaml": f"baseline: {{dv: {dv}}}"}, headers={"Origin": url})  # fmt: skip
    assert r.status_code == 303, (r.status_code, r.text[:500])
    return int(r.headers["location"].rsplit("/", 1)[1]), t


def report(title: str, watches: list[Watch]) -> None:
    print(f"\n{title}")
    keys = ["page: running", "first Snakemake job", "page: progress"]
    head = " ".join(f"{k:>20s}" for k in [*keys, "end -> page success"])
    print(f"  {'job':>4s} {head}")
    for i, w in enumerate(watches, 1):
        print(f"  {i:4d} " + " ".join(f"{w.since_post(k):19.2f}s" for k in keys)
              + f" {w.end_to_page():19.2f}s")  # fmt: skip
    gaps = [w.end_to_page() for w in watches]
    print(f"  click -> first Snakemake job: first job {watches[0].since_post(keys[1]):.2f} s, "
          f"last job {watches[-1].since_post(keys[1]):.2f} s (queued behind the others); "
          f"end -> page shows success: median {statistics.median(gaps):.2f} s, "
          f"max {max(gaps):.2f} s")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=10, help="jobs queued at once in scenario 2")
    ap.add_argument("--data", help="a raw tree of the small preset (else simulated)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_web_jobs_"))
    data_lmt, work, ps, pid = prepare(tmp, args.data)
    secret = tmp / "secret"
    secret.write_text(os.urandom(32).hex())
    secret.chmod(0o600)
    config = tmp / "web.yaml"
    config.write_text(yaml.safe_dump({
        "work_lmt": str(work), "data_lmt": str(data_lmt), "database": str(tmp / "web.sqlite"),
        "secret_file": str(secret),
        "runner": {"cores": 2, "max_queued_per_user": args.jobs + 1,
                   "max_streams_per_user": args.jobs + 2}}))  # fmt: skip
    migrate(tmp / "web.sqlite")
    db = connect(tmp / "web.sqlite")
    accounts.add_user(db, "bench", PASSWORD, staff=True)
    db.close()
    server = start_server(config, {}, tmp / "server.log")
    url = server.url
    try:
        client = login(url, "bench", PASSWORD)
        print(f"load average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        job_id, posted = launch(client, url, pid, ps, "one", 81)
        one = Watch(url, client.cookies, pid, job_id, job_dir(work, job_id) / "log.txt", posted)
        one.join(600)
        report("1 job alone (seconds from the POST)", [one])
        watches = []
        for i in range(args.jobs):
            job_id, posted = launch(client, url, pid, ps, f"q{i}", 82 + i)
            watches.append(Watch(url, client.cookies, pid, job_id,
                                 job_dir(work, job_id) / "log.txt", posted))  # fmt: skip
        for w in watches:
            w.join(3600)
        report(f"{args.jobs} jobs launched at once in one project (seconds from each POST)",
               watches)  # fmt: skip
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
