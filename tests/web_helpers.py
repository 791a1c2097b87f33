"""Helpers of the web service tests: a reduced work tree with three projects, the real server
started with ``lmtflow web serve`` on a free loopback port, and logged-in HTTP clients."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from lmtflow.cli import main as lmtflow_main

from .workflow_helpers import run, write_config

PROJECT = "2018-S1-MU-8"  # the small preset's project: alice's
OTHER = "2099-OTHER-1"  # bob's; alice must not see it
PUBLIC = "2010-PUBLIC-1"  # public since 2020
PASSWORD = "correct horse battery"
USERS = {"alice": PROJECT, "bob": OTHER, "carol": PROJECT, "dave": PROJECT}


def make_web_tree(small_sim, root: Path, reduced_dir: Path | None = None) -> dict:
    """Map, Ps and Bs ObsNums reduced with one attempt (``coarse``), plus two more projects:
    OTHER (copies of the Map and Ps ObsNums) and PUBLIC (the Ps ObsNum), without SDFITS.

    ``reduced_dir``: the map ObsNum's directory of the session's ``reduced`` fixture; its run
    directory is copied first (mtimes and Snakemake's records kept), so the map's base steps
    are up to date and only Ps, Bs and the attempt run here."""
    labels = small_sim.labels
    nums = [labels["map"], labels["ps"], labels["bs"]]
    if reduced_dir is not None:
        shutil.copytree(reduced_dir.parents[2], root, symlinks=True, dirs_exist_ok=True)
    cfg = write_config(root / "config.yaml", attempts={"coarse": {"grid": {"resolution": 16}}})
    run(small_sim.data_lmt, root, nums, configfile=cfg)
    work = root / "work"
    skip = shutil.ignore_patterns("*.sdfits")
    for pid, copied in ((OTHER, ("map", "ps")), (PUBLIC, ("ps",))):
        for label in copied:
            n = str(labels[label])
            shutil.copytree(work / PROJECT / n, work / pid / n, ignore=skip)
    return {"root": root, "work": work, "data_lmt": Path(small_sim.data_lmt),
            "map": labels["map"], "ps": labels["ps"], "bs": labels["bs"]}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_web_config(root: Path, tree: dict, **extra) -> Path:
    secret = root / "secret"
    secret.write_text("s" * 8 + os.urandom(24).hex() + "\n")
    secret.chmod(0o600)
    config = root / "web.yaml"
    config.write_text(yaml.safe_dump({"work_lmt": str(tree["work"]),
                                      "data_lmt": str(tree["data_lmt"]),
                                      "database": str(root / "web.sqlite"),
                                      "secret_file": str(secret), **extra}))  # fmt: skip
    return config


@dataclass
class Server:
    url: str
    config: Path
    proc: subprocess.Popen
    tree: dict

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(config: Path, tree: dict, log: Path, env: dict | None = None) -> Server:
    """``lmtflow web serve`` as a child process (in ``env``, default this process's);
    waits until /healthz answers."""
    port = free_port()
    env = {**(env or os.environ), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmtflow.cli", "web", "serve", "--config", str(config),
         "--port", str(port)],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return Server(url, config, proc, tree)
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not answer: {log.read_text()[-2000:]}")


def add_users(config: Path, root: Path) -> None:
    """alice (viewer of PROJECT), bob (viewer of OTHER), carol, dave, staff 'ops'; PUBLIC is
    public since 2020-01-01. Through the real CLI, with a password file."""
    pw = root / "password.txt"
    pw.write_text(PASSWORD + "\n")
    for name, pid in USERS.items():
        assert lmtflow_main(["web", "user", "add", name, "--project", pid, "--role", "viewer",
                             "--password-file", str(pw), "--config", str(config)]) == 0  # fmt: skip
    assert lmtflow_main(["web", "user", "add", "ops", "--staff", "--password-file", str(pw),
                         "--config", str(config)]) == 0  # fmt: skip
    assert lmtflow_main(["web", "project", "set", PUBLIC, "--public-after", "2020-01-01",
                         "--config", str(config)]) == 0  # fmt: skip


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    return CSRF.search(client.get(path).text).group(1)


def login(url: str, name: str, password: str = PASSWORD) -> httpx.Client:
    """A client logged in as ``name`` (asserts the 303 to /p/)."""
    client = httpx.Client(base_url=url, timeout=30)
    token = csrf_of(client)
    r = client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                    headers={"Origin": url})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/p/", (r.status_code, r.text[:300])
    return client


def raw_get(url: str, path: str, client: httpx.Client | None = None) -> int:
    """Status of GET ``path`` sent byte for byte (no client-side normalisation of ``..``),
    with the session cookie of ``client``."""
    host, port = url.removeprefix("http://").split(":")
    cookie = "; ".join(f"{k}={v}" for k, v in (client.cookies.items() if client else []))
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                  "Connection: close\r\n\r\n".encode("latin-1"))
        head = s.recv(64).decode("latin-1")
    return int(head.split()[1])
