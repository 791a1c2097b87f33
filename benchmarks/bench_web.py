"""Web service load and scale (loopback only; not a test).

1. A project of N ObsNums (default 500: copies of the demo map's QA numbers, thumbnail and
   page, with their ObsNums rewritten) next to the demo project: the project page's render time,
   first view (QA numbers indexed into SQLite) and later views (index reused).
2. C concurrent clients (default 50) browse pages (project, ObsNum, QA page, a plot,
   spectrum.json, a channel map) and each downloads the demo cube once, bounded by a request
   count per client and a wall-clock limit. Prints requests/s, p50/p95 latency per kind and
   the server's RSS (start, during, end, peak).

    python benchmarks/bench_web.py [--demo DIR] [--obsnums 500] [--clients 50] [--rounds 4]

``--demo DIR`` reuses the output of ``lmtflow demo --out DIR`` (else it is made in a tmp dir).
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
import threading
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmtflow import layout  # noqa: E402
from lmtflow.web import accounts  # noqa: E402
from lmtflow.web.db import connect, migrate  # noqa: E402
from tests.web_helpers import free_port, login  # noqa: E402

PASSWORD = "benchmark password"
BIG = "2099-BENCH-500"


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


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


async def client_loop(url: str, cookies, paths: list[tuple[str, str]], cube: str, rounds: int,
                      deadline: float, out: dict[str, list[float]]) -> None:  # fmt: skip
    async with httpx.AsyncClient(base_url=url, cookies=cookies, timeout=60) as c:
        for r in range(rounds):
            for kind, path in paths:
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                resp = await c.get(path)
                assert resp.status_code == 200, (path, resp.status_code)
                out.setdefault(kind, []).append(time.perf_counter() - t)
            if r == 0 and cube:  # one cube download per client, streamed in 1 MB reads
                t = time.perf_counter()
                async with c.stream("GET", cube) as resp:
                    size = 0
                    async for chunk in resp.aiter_bytes(1 << 20):
                        size += len(chunk)
                out.setdefault("cube download", []).append(time.perf_counter() - t)
                out.setdefault("_bytes", []).append(size)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", help="reuse an 'lmtflow demo --out DIR' directory")
    ap.add_argument("--obsnums", type=int, default=500)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=4, help="page rounds per client")
    ap.add_argument("--seconds", type=float, default=120, help="wall-clock limit of the load")
    ap.add_argument("--no-download", action="store_true", help="pages only, no cube downloads")
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
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "lmtflow.cli", "web", "serve", "--config",
                               str(config), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        client = login(url, "bench", PASSWORD)

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
        base = f"/p/{pid}"
        paths = [("page", f"{base}/"), ("page", f"{base}/o/{num}/"),
                 ("page", f"{base}/files/{num}/README.html"),
                 ("plot", f"{base}/files/{num}/qa/{num}__0.mom0.png"),
                 ("spectrum.json", f"{base}/o/{num}/spectrum.json?x=40&y=40"),
                 ("channel png", f"{base}/o/{num}/cube/0/chan/300.png")]  # fmt: skip
        cube_url = "" if args.no_download else f"{base}/files/{num}/srdp/{cube.name}"
        client.get(paths[-1][1])  # open the cube once (cached memory map)
        for _, path in paths:  # one client alone: the server's own time per request
            one = []
            for _ in range(5):
                t = time.perf_counter()
                client.get(path)
                one.append(time.perf_counter() - t)
            print(f"  alone: {path.split('/')[-1] or path:24s} median "
                  f"{statistics.median(one) * 1e3:6.1f} ms")  # fmt: skip
        print(f"load average before the load: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        samples, stop = [], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(rss_kb(server.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out: dict[str, list[float]] = {}
        deadline = time.monotonic() + args.seconds
        t = time.perf_counter()

        async def run_all() -> None:
            loops = [client_loop(url, client.cookies, paths, cube_url, args.rounds, deadline, out)
                     for _ in range(args.clients)]  # fmt: skip
            await asyncio.gather(*loops)

        asyncio.run(run_all())
        wall = time.perf_counter() - t
        stop.set()
        sampler.join()
        n = sum(len(v) for k, v in out.items() if not k.startswith("_"))
        got = out.get("_bytes", [])
        print(f"load: {args.clients} clients, {n} requests in {wall:.1f} s = {n / wall:.0f} req/s; "
              f"{sum(got) / 1e6:.0f} MB of cube downloads "
              f"({len(got)} x {cube.stat().st_size / 1e6:.1f} MB)")
        for kind, values in out.items():
            if not kind.startswith("_"):
                print(f"  {kind:14s} n={len(values):4d}  p50 {pct(values, 50) * 1e3:7.1f} ms  "
                      f"p95 {pct(values, 95) * 1e3:7.1f} ms")  # fmt: skip
        third = max(1, len(samples) // 3)
        middle = statistics.median(samples[third : 2 * third] or samples)
        peak = rss_kb(server.pid, "VmHWM")
        print(f"server RSS: start {samples[0] / 1e3:.0f} MB, middle {middle / 1e3:.0f} MB, "
              f"end {samples[-1] / 1e3:.0f} MB, peak {peak / 1e3:.0f} MB")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work / BIG, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
