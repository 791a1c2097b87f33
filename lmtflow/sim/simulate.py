"""Drive a simulation: config -> raw $DATA_LMT tree + truth directory.

Config schema (YAML or dict; example in :data:`lmtflow.sim.presets.EXAMPLE_YAML`)::

    start_utc: "2018-11-16T09:30:00"   # start of the first session (UT)
    sessions:                          # consecutive; each has one receiver set-up and sky
      - name: seq
        start_utc: ...                 # optional; default: 10 min after the previous session
        project_id: 2018-S1-MU-8
        instrument: {...}              # lmtflow.sim.instrument
        faults: {...}                  # lmtflow.sim.instrument (optional)
        sky: {...}                     # lmtflow.sim.skymodel
        observations: [...]            # lmtflow.sim.observation (a Cal first)

Every file is written whole under a ``.part`` name and renamed when complete. Random numbers
come from ``SeedSequence(seed, spawn_key=(session, obsnum, roach + 1))`` (roach files) and
``(session, obsnum, 0)`` (ifproc), so a seed reproduces every array bit for bit.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from lmtflow.constants import ARCSEC_PER_RAD
from lmtflow.errors import ConfigError

from . import astro, physics, truth
from .ifproc_writer import ifproc_filename, write_ifproc
from .instrument import build_instrument
from .observation import Observation, build_observation
from .roach_writer import RoachFile, roach_filename, row_times
from .scan import IFPROC_DT
from .skymodel import parse_sky

RAD = 1.0 / ARCSEC_PER_RAD
DEFAULT_START = "2018-11-16T09:30:00"
CONFIG_KEYS = {"start_utc", "sessions"}
SESSION_KEYS = {"name", "start_utc", "project_id", "instrument", "faults", "sky", "observations"}


@dataclass
class SimulationResult:
    """What a simulation wrote.

    ``data_lmt``: the raw tree ($DATA_LMT: ifproc/, spectrometer/roachN/);
    ``truth_dir``/``truth_path``: the truth directory and its ``truth.json``;
    ``truth``: that file's content (layout in :mod:`lmtflow.sim.truth`);
    ``obsnums``: ObsNums by role (``Cal``, ``Map``, ``Ps``, ``Bs``); ``labels``: label -> ObsNum;
    ``files``: every raw file written; ``nbytes``: their total size; ``seconds``: wall time.
    """

    data_lmt: Path
    truth_dir: Path
    truth_path: Path
    truth: dict[str, Any]
    obsnums: dict[str, list[int]]
    labels: dict[str, int]
    files: list[Path] = field(default_factory=list)
    nbytes: int = 0
    seconds: float = 0.0

    def obs(self, label_or_obsnum: str | int) -> dict[str, Any]:
        """Truth of one observation, by label (``"map"``) or ObsNum."""
        key = label_or_obsnum
        if isinstance(key, str) and key in self.labels:
            key = self.labels[key]
        return self.truth["observations"][str(key)]

    def session(self, label_or_obsnum: str | int) -> dict[str, Any]:
        """Truth of the session (instrument, beams, sky, faults) an observation belongs to."""
        name = self.obs(label_or_obsnum)["session"]
        return next(s for s in self.truth["sessions"] if s["name"] == name)


def default_truth_dir(out_dir: Path) -> Path:
    """``<out>_truth`` next to the raw tree (never inside it)."""
    out_dir = Path(out_dir).resolve()
    return out_dir.parent / f"{out_dir.name}_truth"


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _series(obs: Observation, rng: np.random.Generator) -> dict[str, Any]:
    """The ifproc time series (125 Hz, only inside blocks)."""
    tl, pt, sky = obs.timeline, obs.pointing, obs.sky
    t, idx = tl.sample_times(IFPROC_DT)
    trk = pt.track(tl, t, idx)
    inst = obs.instrument
    ifs = inst.ifproc_indices()
    pix = np.array([inst.inputs[i].pixel for i in ifs])
    px, py = pt.pixel_positions(trk["gx"], trk["gy"], trk["angle"], pix)
    load = tl.load_of(idx)
    nsub = 1 if inst.receiver == "Sequoia" else 5
    level = physics.baseband_levels(obs, px, py, load, rng, nsub, IFPROC_DT)
    subs = (IFPROC_DT / nsub) * np.arange(nsub)
    btime = t.copy() if nsub == 1 else t[:, None] + subs[None, :]
    ra0, dec0 = math.radians(sky.ra_deg), math.radians(sky.dec_deg)
    l0, b0 = math.radians(sky.l_deg), math.radians(sky.b_deg)
    az, el, par = astro.horizontal(t, ra0, dec0)
    n = t.size
    return {
        "Data.TelescopeBackend.TelTime": t,
        "Data.TelescopeBackend.BufPos": tl.bufpos_of(idx).astype(np.int32),
        "Data.TelescopeBackend.Hold": np.zeros(n),
        "Data.TelescopeBackend.TelAzMap": trk["gaz"] * RAD,
        "Data.TelescopeBackend.TelElMap": trk["gel"] * RAD,
        "Data.TelescopeBackend.ActParAng": trk["parang"],
        "Data.TelescopeBackend.ActGalAng": np.full(n, pt.gal_angle),
        "Data.TelescopeBackend.SourceRaAct": ra0 + trk["gra"] * RAD / math.cos(dec0),
        "Data.TelescopeBackend.SourceDecAct": dec0 + trk["gdec"] * RAD,
        "Data.TelescopeBackend.SourceLAct": l0 + trk["gl"] * RAD / math.cos(b0),
        "Data.TelescopeBackend.SourceBAct": b0 + trk["gb"] * RAD,
        "Data.TelescopeBackend.SourceAz": az,
        "Data.TelescopeBackend.SourceEl": el,
        "Data.TelescopeBackend.TelAzAct": az + trk["gaz"] * RAD / np.cos(el),
        "Data.TelescopeBackend.TelElAct": el + trk["gel"] * RAD,
        "Data.TelescopeBackend.TelAzDes": az + trk["gaz"] * RAD / np.cos(el),
        "Data.TelescopeBackend.TelElDes": el + trk["gel"] * RAD,
        "Data.TelescopeBackend.ParAng": par,
        "Data.IfProc.BasebandTime": btime,
        "Data.IfProc.BasebandLevel": level,
    }


def _block_dumps(nchan: int) -> int:
    return max(16, (1 << 20) // nchan)


def roach_dump_times(obs: Observation, rng: np.random.Generator) -> tuple[NDArray, float]:
    """Dump times of one roach file of ``obs`` and the time its file was opened.

    Every ``dump_time_s`` from a random lead before the first block to 0.5 s after the last;
    with the instrument's ``roach_block_margin_s``, only the dumps within that margin of a
    block (the spectrometer idles during slews, as in the real Cal 79447 and Map 79448).
    """
    inst = obs.instrument
    dt = inst.dump_time_s
    lead = rng.uniform(0.3, 0.8)
    t_first = obs.t_start - lead
    nd = int(math.ceil((obs.t_end + 0.5 - t_first) / dt))
    t_all = t_first + dt * np.arange(nd) + rng.uniform(-0.002, 0.002, nd)
    t_open = t_first - rng.uniform(2.0, 4.0)
    margin = inst.roach_block_margin_s
    if margin is not None:
        keep = np.zeros(nd, bool)
        for block in obs.timeline.blocks():
            keep |= (t_all >= block.t0 - margin) & (t_all < block.t1 + margin)
        t_all = t_all[keep]
    return t_all, t_open


def _write_roach(
    obs: Observation, roach: int, out: Path, rng: np.random.Generator
) -> tuple[Path, dict[str, Any]]:
    inst, tl, pt = obs.instrument, obs.timeline, obs.pointing
    t_all, t_open = roach_dump_times(obs, rng)
    nd = t_all.size
    name = roach_filename(
        roach, obs.obsnum, obs.subobsnum, obs.scannum, obs.sky.source_name, t_open
    )
    path = out / "spectrometer" / f"roach{roach}" / name
    nspike = inst.faults.spikes_per_file
    spike_rows = np.sort(rng.choice(4 * nd, size=min(nspike, 4 * nd), replace=False))
    spike_chans = rng.integers(0, inst.nchan, spike_rows.size)
    idx_in = inst.roach_inputs(roach)
    pix = np.array([inst.inputs[i].pixel for i in idx_in])
    step = _block_dumps(inst.nchan)
    with RoachFile(
        path,
        roach=roach,
        obsnum=obs.obsnum,
        subobsnum=obs.subobsnum,
        scannum=obs.scannum,
        source=obs.sky.source_name,
        obspgm=obs.kind,
        nchan=inst.nchan,
        bandwidth_mhz=inst.bandwidth_mhz,
        dtype=inst.dtype,
    ) as rf:
        for a in range(0, nd, step):
            t = t_all[a : a + step]
            seg = tl.locate(t)
            valid = tl.bufpos_of(seg) >= 0
            trk = pt.track(tl, t, seg)
            px, py = pt.pixel_positions(trk["gx"], trk["gy"], trk["angle"], pix)
            rows = row_times(t, rng, first_acc=1000 + a)
            counts = physics.roach_counts(obs, roach, t, valid, tl.load_of(seg), px, py, rng)
            lo, hi = 4 * a, 4 * a + counts.shape[0]
            sel = (spike_rows >= lo) & (spike_rows < hi)
            counts[spike_rows[sel] - lo, spike_chans[sel]] *= np.float32(inst.faults.spike_factor)
            rf.write(rows, counts.astype(inst.dtype, copy=False))
    spikes = [
        {
            "roach": roach,
            "row": int(r),
            "dump": int(r // 4),
            "t_unix": float(t_all[r // 4]),
            "input": int(r % 4),
            "pixel": int(pix[r % 4]),
            "bank": inst.inputs[idx_in[r % 4]].bank,
            "channel": int(c),
        }
        for r, c in zip(spike_rows, spike_chans, strict=True)
    ]
    info = {"ndumps": nd, "first_dump_unix": float(t_all[0]), "t_open_unix": t_open}
    return path, {"info": info, "spikes": spikes}


def _write_observation(
    obs: Observation, out: Path, seed: int, session_index: int
) -> tuple[list[Path], dict[str, Any]]:
    files: list[Path] = []
    ifproc_path = out / "ifproc" / ifproc_filename(obs)
    series = _series(obs, _rng(seed, session_index, obs.obsnum, 0))
    write_ifproc(ifproc_path, obs, series)
    files.append(ifproc_path)
    extra: dict[str, Any] = {
        "ifproc_file": str(ifproc_path.relative_to(out)),
        "n_ifproc_samples": int(series["Data.TelescopeBackend.TelTime"].size),
        "roach_files": {},
        "missing_roach": [],
        "ndumps_per_input": {},
        "first_dump_unix": {},
        "spikes": [],
    }
    par = series["Data.TelescopeBackend.ActParAng"]
    extra["parang_deg"] = {
        "mean": float(np.degrees(par.mean())),
        "min": float(np.degrees(par.min())),
        "max": float(np.degrees(par.max())),
    }
    for roach in obs.instrument.roaches:
        rng = _rng(seed, session_index, obs.obsnum, roach + 1)
        if (obs.obsnum, roach) in obs.instrument.faults.missing_roach:
            extra["missing_roach"].append(roach)
            continue
        path, rinfo = _write_roach(obs, roach, out, rng)
        files.append(path)
        extra["roach_files"][str(roach)] = str(path.relative_to(out))
        extra["ndumps_per_input"][str(roach)] = rinfo["info"]["ndumps"]
        extra["first_dump_unix"][str(roach)] = rinfo["info"]["first_dump_unix"]
        extra["spikes"].extend(rinfo["spikes"])
    return files, extra


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a simulator YAML config."""
    with open(path) as fh:
        cfg = yaml.safe_load(fh)
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: a simulator config must be a mapping")
    return cfg


def plan_observations(
    config: dict[str, Any], seed: int = 0, dtype: str | None = None
) -> tuple[list[tuple[int, str, Any, Any, list[Observation]]], dict[str, int]]:
    """Lay out every session and observation of ``config`` (cheap: no data): a list of
    ``(session index, name, sky, instrument, observations)`` and the labels' ObsNums."""
    t_cursor = astro.parse_utc(str(config.get("start_utc", DEFAULT_START)))
    labels: dict[str, int] = {}
    plan = []
    seen: set[int] = set()
    for si, sess in enumerate(config.get("sessions", [])):
        bad = set(sess) - SESSION_KEYS
        if bad:
            raise ConfigError(f"session {si}: unknown key(s) {sorted(bad)}")
        sname = str(sess.get("name", f"session{si}"))
        for key in ("sky", "observations"):
            if key not in sess:
                raise ConfigError(f"session {sname!r}: missing {key!r}")
        sky = parse_sky(sess["sky"])
        inst_cfg = dict(sess.get("instrument", {}))
        if dtype:
            inst_cfg["dtype"] = dtype
        inst = build_instrument(inst_cfg, sess.get("faults"), _rng(seed, si))
        t = astro.parse_utc(str(sess["start_utc"])) if "start_utc" in sess else t_cursor
        last_cal = None
        planned = []
        for k, od in enumerate(sess["observations"]):
            if k:
                t += float(od.get("gap_before_s", 30.0))
            obs = build_observation(od, t, sky, inst, str(sess.get("project_id", "")), last_cal)
            if obs.kind == "Cal":
                last_cal = obs.obsnum
            if obs.obsnum in seen:
                raise ConfigError(f"ObsNum {obs.obsnum} is simulated twice")
            if obs.label in labels:
                raise ConfigError(f"observation label {obs.label!r} is used twice")
            seen.add(obs.obsnum)
            labels[obs.label] = obs.obsnum
            planned.append(obs)
            t = obs.t_end
        plan.append((si, sname, sky, inst, planned))
        t_cursor = t + 600.0
    return plan, labels


def roach_spectra_counts(config: dict[str, Any], seed: int = 0) -> dict[int, dict[int, int]]:
    """Spectra (rows: dumps x 4 inputs) of every roach file ``simulate(config, seed=seed)``
    writes, per ObsNum and roach, from the schedule alone (no data written)."""
    plan, _ = plan_observations(config, seed)
    counts: dict[int, dict[int, int]] = {}
    for si, _, _, inst, planned in plan:
        for obs in planned:
            counts[obs.obsnum] = {
                roach: 4 * roach_dump_times(obs, _rng(seed, si, obs.obsnum, roach + 1))[0].size
                for roach in inst.roaches
                if (obs.obsnum, roach) not in inst.faults.missing_roach
            }
    return counts


def simulate(
    config: dict[str, Any],
    out_dir: str | Path,
    seed: int = 0,
    truth_dir: str | Path | None = None,
    dtype: str | None = None,
    name: str = "custom",
) -> SimulationResult:
    """Write the raw data set described by ``config`` under ``out_dir`` and its truth beside it.

    ``dtype`` overrides every session's roach Data dtype (``float32``/``float64``).
    """
    t_wall = time.perf_counter()
    bad = set(config) - CONFIG_KEYS
    if bad:
        raise ConfigError(f"simulator config: unknown key(s) {sorted(bad)}; valid: {CONFIG_KEYS}")
    out = Path(out_dir).resolve()
    tdir = Path(truth_dir).resolve() if truth_dir else default_truth_dir(out)
    if tdir == out or out in tdir.parents:
        raise ConfigError(f"truth directory {tdir} must not be inside the raw tree {out}")
    files: list[Path] = []
    sessions_truth, observations = [], {}
    obsnums: dict[str, list[int]] = {"Cal": [], "Map": [], "Ps": [], "Bs": []}
    plan, labels = plan_observations(config, seed, dtype)  # a config error writes nothing
    (out / "ifproc").mkdir(parents=True, exist_ok=True)
    for si, sname, sky, inst, planned in plan:
        for roach in inst.roaches:
            (out / "spectrometer" / f"roach{roach}").mkdir(parents=True, exist_ok=True)
        session_truth = truth.session_truth(sname, inst, sky)
        for obs in planned:
            written, extra = _write_observation(obs, out, seed, si)
            files.extend(written)
            observations[str(obs.obsnum)] = truth.observation_truth(obs, sname, extra)
            obsnums[obs.kind].append(obs.obsnum)
            session_truth["obsnums"].append(obs.obsnum)
        sessions_truth.append(session_truth)
    nbytes = sum(p.stat().st_size for p in files)
    doc = {
        "format": "lmtflow-sim-truth",
        "version": 1,
        "preset": name,
        "seed": seed,
        "data_lmt": str(out),
        "obsnums": obsnums,
        "labels": labels,
        "conventions": truth.CONVENTIONS,
        "sessions": sessions_truth,
        "observations": observations,
        "nbytes": nbytes,
    }
    tpath = truth.write_truth(doc, tdir)
    (tdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return SimulationResult(
        data_lmt=out,
        truth_dir=tdir,
        truth_path=tpath,
        truth=doc,
        obsnums=obsnums,
        labels=labels,
        files=files,
        nbytes=nbytes,
        seconds=time.perf_counter() - t_wall,
    )


def clean(out_dir: str | Path, truth_dir: str | Path | None = None) -> None:
    """Remove a simulated tree and its truth directory."""
    out = Path(out_dir).resolve()
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(Path(truth_dir) if truth_dir else default_truth_dir(out), ignore_errors=True)
