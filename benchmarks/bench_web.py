"""Web service load and scale (loopback only, bounded in requests and time; not a test).

1. Scale: a project of N ObsNums (default 500: copies of the demo map's QA numbers, thumbnail
   and page, ObsNums rewritten) next to the demo project: the project page's render time, first
   view (QA numbers indexed into SQLite) and later views (index reused).
2. Cost: one client alone, each page kind in turn: the median latency and the server's CPU
   per request (from /proc: independent of the machine's load, unlike the wall time).
3. Warm-up: every client once through the pages and one cube download each (caches, thread
   pool and allocator reach their working size; RSS is noted after it).
4. Browsing, the target's model: C users (default 50), each a browser: a page view, then a
   think time drawn uniformly from [THINK_MIN, THINK_MAX] s (1-3 s), again, for --seconds.
   A view is one of five kinds, chosen uniformly -- the project page, an ObsNum page, a QA page
   (README.html), the spectrum page with spectrum.json at a random pixel, the cube page and
   one step of its channel slider (a random channel) -- with the images the page embeds,
   fetched over up to 6 kept-alive connections as a browser does; static assets and images once per
   user (the browser's cache). Each user also downloads the demo cube once, starting at a
   random moment of the first half, while browsing on. Reported: the page (HTML document)
   latency, the whole view (page and its images), images, spectrum.json, downloads.
5. Saturation: C clients in a closed loop with no think time (a minimal raw-socket client, so
   the server and not the load generator is the bottleneck), --rounds times through six
   requests, one cube download each. This measures throughput; its latency is queueing
   (p95 ~ clients / throughput), not what a user browsing sees.

The server's RSS (anonymous memory and file-backed pages, e.g. the memory-mapped cube, apart)
is printed at the start, after the warm-up, after each phase and at its peak.

    python benchmarks/bench_web.py [--demo DIR] [--obsnums 500] [--clients 50] [--rounds 4]

``--demo DIR`` reuses the output of ``lmtflow demo --out DIR`` (else it is made in a tmp dir);
``--tree DIR`` runs the server from another lmtflow checkout (before/after comparisons).
Run it without ``nice``: the server keeps the priority the script starts with and the load
generator, which needs more CPU than the server, lowers its own by ``--client-nice`` (10).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from astropy.io import fits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from web_load import THINK_MAX, THINK_MIN, Stats, browsing_user, client_loop, view_kinds  # noqa: E402

from lmtflow import layout  # noqa: E402
from lmtflow.web import accounts  # noqa: E402
from lmtflow.web.db import connect, migrate  # noqa: E402
from tests.web_helpers import free_port, login  # noqa: E402

PASSWORD = "benchmark password"
BIG = "2099-BENCH-500"
ALONE = 200  # requests of each kind by one client alone (CPU is counted in 10 ms ticks)


def demo_tree(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg).resolve()
    from lmtflow.demo import run_demo

    run_demo(tmp / "demo", cores=2)
    return tmp / "demo"


def make_big_project(work: Path, n: int) -> tuple[str, int]:
    """BIG with ``n`` ObsNums cloned from the demo map (qa.json, mom0 thumbnail, README)."""
    pid = next(p.name for p in work.iterdir()
               if p.is_dir() and p.name != BIG and not p.name.startswith("."))  # fmt: skip
    src = next(d for d in (work / pid).iterdir() if (d / "qa").is_dir())
    num = int(src.name)
    qa = json.loads(layout.path(work, layout.QA_NUMBERS, pid=pid, obsnum=num, bank=0).read_text())
    thumb = layout.path(work, layout.QA_PLOT, pid=pid, obsnum=num, bank=0, plot="mom0")
    readme = layout.path(work, layout.README, pid=pid, obsnum=num)
    shutil.rmtree(work / BIG, ignore_errors=True)
    for i in range(n):
        obs = 200000 + i
        out = layout.path(work, layout.QA_NUMBERS, pid=BIG, obsnum=obs, bank=0)
        out.parent.mkdir(parents=True)
        qa["observation"].update(obsnum=obs, date_obs=f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}")
        out.write_text(json.dumps(qa))
        os.link(thumb, layout.path(work, layout.QA_PLOT, pid=BIG, obsnum=obs, bank=0, plot="mom0"))
        os.link(readme, layout.path(work, layout.README, pid=BIG, obsnum=obs))
    return pid, num


def proc_kb(pid: int) -> dict[str, int]:
    """The kB fields of /proc/PID/status (VmRSS, RssAnon, RssFile, VmHWM, ...)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_text(pid: int) -> str:
    k = proc_kb(pid)
    return (f"RSS {k['VmRSS'] / 1e3:.0f} MB (anonymous {k['RssAnon'] / 1e3:.0f}, "
            f"file-backed {k['RssFile'] / 1e3:.0f})")  # fmt: skip


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def report(name: str, out: Stats, wall: float, cpu: float, server: int) -> None:
    n = sum(len(v) for k, v in out.items() if not k.startswith("_") and k != "view")
    got = out.get("_bytes", [])
    print(f"{name}: {n} requests in {wall:.1f} s = {n / wall:.0f} req/s, "
          f"{sum(got) / 1e6:.0f} MB downloaded; "
          f"server CPU {cpu:.1f} s "
          f"({cpu / max(n, 1) * 1e3:.1f} ms a request, busy {cpu / wall:.0%} of a core), "
          f"load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    for kind, values in out.items():
        if not kind.startswith("_"):
            print(f"  {kind:14s} n={len(values):5d}  p50 {pct(values, 50) * 1e3:7.1f} ms  "
                  f"p95 {pct(values, 95) * 1e3:7.1f} ms")  # fmt: skip
    print(f"  server {rss_text(server)}")


def phase(name: str, server: int, make_loops) -> Stats:
    """Run the coroutines of ``make_loops(out)`` at once; print their statistics."""
    out: Stats = {}
    cpu0, t = cpu_s(server), time.perf_counter()

    async def run_all() -> None:
        await asyncio.gather(*make_loops(out))

    asyncio.run(run_all())
    report(name, out, time.perf_counter() - t, cpu_s(server) - cpu0, server)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", help="reuse an 'lmtflow demo --out DIR' directory")
    ap.add_argument("--tree", default=str(ROOT), help="the lmtflow checkout the server runs")
    ap.add_argument("--obsnums", type=int, default=500)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=40, help="length of the browsing phase")
    ap.add_argument("--rounds", type=int, default=4, help="saturation: rounds per client")
    ap.add_argument("--limit", type=float, default=60, help="wall-clock limit of other phases")
    ap.add_argument("--no-download", action="store_true", help="pages only, no cube downloads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--server-nice", type=int, default=0,
                    help="the server's priority change (negative, as root: a server that does "
                         "not share its CPU with the machine's other work)")
    ap.add_argument("--client-nice", type=int, default=10,
                    help="the load generator lowers its priority by this after starting the "
                         "server (run the script itself without nice)")  # fmt: skip
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_web_"))
    demo = demo_tree(args.demo, tmp)
    work = demo / "work_lmt"
    t = time.perf_counter()
    pid, num = make_big_project(work, args.obsnums)
    print(f"project {BIG}: {args.obsnums} ObsNums written in {time.perf_counter() - t:.1f} s")

    secret = tmp / "secret"
    secret.write_text(os.urandom(32).hex())
    secret.chmod(0o600)
    config = tmp / "web.yaml"
    config.write_text(yaml.safe_dump({"work_lmt": str(work), "database": str(tmp / "web.sqlite"),
                                      "secret_file": str(secret)}))  # fmt: skip
    migrate(tmp / "web.sqlite")
    db = connect(tmp / "web.sqlite")
    accounts.add_user(db, "bench", PASSWORD, staff=True)
    db.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(args.tree).resolve())}
    server = subprocess.Popen([sys.executable, "-m", "lmtflow.cli", "web", "serve", "--config",
                               str(config), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=lambda: os.nice(args.server_nice))  # fmt: skip
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        client = login(url, "bench", PASSWORD)
        print(f"server from {args.tree} at nice {os.getpriority(os.PRIO_PROCESS, server.pid)}; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip

        times = []
        for _ in range(6):
            t = time.perf_counter()
            r = client.get(f"/p/{BIG}/")
            times.append(time.perf_counter() - t)
            rows = r.text.count("<tr>") - 1
            assert r.status_code == 200 and rows == args.obsnums, (r.status_code, rows)
        print(f"project page of {args.obsnums} ObsNums: first view {times[0] * 1e3:.0f} ms "
              f"(indexes the QA numbers), later views median "
              f"{statistics.median(times[1:]) * 1e3:.0f} ms")  # fmt: skip

        cube = next((work / pid / str(num) / "srdp").glob(f"*_{num}__0.fits"))
        shape = tuple(fits.getdata(cube, memmap=True).shape)
        base = f"/p/{pid}"
        paths = [("page", f"{base}/"), ("page", f"{base}/o/{num}/"),
                 ("page", f"{base}/files/{num}/README.html"),
                 ("image", f"{base}/files/{num}/qa/{num}__0.mom0.png"),
                 ("spectrum.json", f"{base}/o/{num}/spectrum.json?x=40&y=40"),
                 ("channel png", f"{base}/o/{num}/cube/0/chan/300.png")]  # fmt: skip
        cube_url = "" if args.no_download else f"{base}/files/{num}/srdp/{cube.name}"
        client.get(paths[-1][1])  # open the cube once (cached memory map)
        print(f"one client alone (the server's own cost; medians of {ALONE}):")
        for _, path in paths:
            one, cpu0 = [], cpu_s(server.pid)
            for _ in range(ALONE):
                t = time.perf_counter()
                client.get(path)
                one.append(time.perf_counter() - t)
            cpu = (cpu_s(server.pid) - cpu0) / ALONE
            print(f"  {path.split('/')[-1] or path:24s} {statistics.median(one) * 1e3:6.1f} ms, "
                  f"server CPU {cpu * 1e3:5.1f} ms")  # fmt: skip
        start = proc_kb(server.pid)["VmRSS"]
        print(f"server at the start: {rss_text(server.pid)}")
        # The load generator (fifty users' browsers in one asyncio process) must not take the
        # server's CPU: on a shared machine it goes below the server, not beside it. (Not
        # before: one client alone waiting for the CPU would stretch the phase, and the
        # server's own background ticks would be counted into its CPU per request.)
        os.nice(args.client_nice)
        print(f"load generator now at nice {os.nice(0)}")
        cookies = client.cookies
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())

        phase("warm-up", server.pid, lambda out: [
            client_loop(url, cookie, paths, cube_url, 1, time.monotonic() + args.limit, out)
            for _ in range(args.clients)])  # fmt: skip
        warm = proc_kb(server.pid)["VmRSS"]

        kinds = view_kinds(base, num, shape)
        print(f"browsing: {args.clients} users, think time uniform {THINK_MIN:g}-{THINK_MAX:g} s "
              f"between page views, {args.seconds:g} s")  # fmt: skip
        phase("browsing", server.pid, lambda out: [
            browsing_user(url, cookie, kinds, cube_url, args.seconds, args.seed * 1000 + i, out)
            for i in range(args.clients)])  # fmt: skip
        phase(f"saturation ({args.clients} clients, no think time)", server.pid, lambda out: [
            client_loop(url, cookie, paths, cube_url, args.rounds,
                        time.monotonic() + args.limit, out)
            for _ in range(args.clients)])  # fmt: skip
        end, peak = proc_kb(server.pid)["VmRSS"], proc_kb(server.pid)["VmHWM"]
        print(f"server RSS: start {start / 1e3:.0f} MB, after warm-up {warm / 1e3:.0f} MB, "
              f"end {end / 1e3:.0f} MB, peak {peak / 1e3:.0f} MB; growth after the warm-up "
              f"{(end - warm) / 1e3:+.0f} MB")  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work / BIG, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
