"""Write the ifproc netCDF file of one ObsNum in the real LMT layout.

Variables: the minimal set the reference reader needs (reference/data/minimal_sequoia_cdl.txt)
plus plausible extras of the real writer (Source.Az/El/Epoch/LineList, M1.ReqPos,
<rx>.BlankLevel/LoadAmbientTemp, Map.ExecMode, TelAzAct/TelElAct/SourceAz/SourceEl/ParAng...).
Never ``Data.TelescopeBackend.BackendTime``. NETCDF3_64BIT_OFFSET, unlimited ``time``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np

from lmtflow.constants import ARCSEC_PER_RAD, T_AMBIENT_K
from lmtflow.io.ncutil import write_array, write_char, write_scalar

from . import astro
from .observation import Observation

RAD = 1.0 / ARCSEC_PER_RAD  # rad per arcsec
SIM_OPERATOR = "lmtflow simulator"
"""``Header.Telescope.Operator`` of simulated files (ingest copies it to ``OBSERVER``)."""


def ifproc_filename(obs: Observation) -> str:
    date = astro.utc_datetime(obs.t_start).strftime("%Y-%m-%d")
    return f"ifproc_{date}_{obs.obsnum:06d}_{obs.subobsnum:02d}_{obs.scannum:04d}.nc"


def _header(ds: netCDF4.Dataset, obs: Observation) -> None:
    inst, sky, pt = obs.instrument, obs.sky, obs.pointing
    rx = inst.receiver
    wc = lambda n, v, ln=20: write_char(ds, n, v, ln)  # noqa: E731
    ws = lambda n, v, t="f8": write_scalar(ds, n, v, t)  # noqa: E731
    wa = lambda n, v, t="f8": write_array(ds, n, v, t)  # noqa: E731

    wc("Header.Dcs.ObsPgm", obs.kind)
    wc("Header.Dcs.ObsGoal", obs.obsgoal)
    wc("Header.Dcs.Receiver", rx)
    wc("Header.Dcs.ProjectId", obs.project_id, 32)
    ws("Header.Dcs.ObsNum", obs.obsnum, "i4")
    ws("Header.Dcs.SubObsNum", obs.subobsnum, "i4")
    ws("Header.Dcs.ScanNum", obs.scannum, "i4")
    ws("Header.Dcs.IntegrationTime", obs.integration_time)

    galactic = sky.galactic
    wc("Header.Source.SourceName", sky.source_name, 32)
    ws("Header.Source.CoordSys", 2 if galactic else 1, "i4")
    ws("Header.Source.Velocity", sky.velocity_kms)
    ws("Header.Source.VelSys", 0, "i4")
    ra, dec = (0.0, 0.0) if galactic else (math.radians(sky.ra_deg), math.radians(sky.dec_deg))
    wa("Header.Source.Ra", [ra, 0.0])
    wa("Header.Source.Dec", [dec, 0.0])
    wa("Header.Source.L", [math.radians(sky.l_deg), 0.0])
    wa("Header.Source.B", [math.radians(sky.b_deg), 0.0])
    ws("Header.Source.Az", pt.az_des)
    ws("Header.Source.El", pt.el_des)
    ws("Header.Source.Epoch", 2000.0)
    lines = sorted({f"{s.rest_freq_ghz:.6f}" for s in sky.sources})
    wc("Header.Source.LineList", repr(lines), 128)
    wc("Header.Source.BaselineList", "[]", 32)

    ws("Header.IfProc.CalObsNum", obs.cal_obsnum, "i4")
    ws("Header.TimePlace.UTDate", astro.fractional_year(obs.t_start))
    ws("Header.TimePlace.UT1", astro.ut1_rad(obs.t_start))
    ws("Header.Telescope.AzDesPos", pt.az_des)
    ws("Header.Telescope.ElDesPos", pt.el_des)
    wc("Header.Telescope.Operator", SIM_OPERATOR, 32)

    wa("Header.M1.ZernikeC", np.zeros(8))
    ws("Header.M1.ZernikeEnabled", 0, "i4")
    wa("Header.M1.ReqPos", np.zeros(720))
    for name, val in zip(
        (
            "XReq",
            "YReq",
            "ZReq",
            "TipReq",
            "TiltReq",
            "XPcor",
            "YPcor",
            "ZPcor",
            "TipPcor",
            "TiltPcor",
        ),
        (0.0, 0.0, -1.2, 0.0, 0.0, 0.05, -0.02, 0.3, 0.0, 0.0),
        strict=True,
    ):
        ws(f"Header.M2.{name}", val)
    ws("Header.PointModel.ModRev", 12, "i4")
    for name in (
        "AzUserOff",
        "ElUserOff",
        "AzPaddleOff",
        "ElPaddleOff",
        "AzTotalCor",
        "ElTotalCor",
        "AzReceiverOff",
        "ElReceiverOff",
        "AzM2Cor",
        "ElM2Cor",
        "AzPointModelCor",
        "ElPointModelCor",
    ):
        ws(f"Header.PointModel.{name}", 0.0)
    for k in (0, 1):
        ws(f"Header.Tiltmeter_{k}_.TiltX", 1.0e-5 * (k + 1))
        ws(f"Header.Tiltmeter_{k}_.TiltY", -0.5e-5 * (k + 1))
    wa("Header.TempSens.TempSens", 28300.0 + 50.0 * np.sin(np.arange(64)))
    ws("Header.Weather.Temperature", 2.5)
    ws("Header.Weather.Humidity", 35.0)
    ws("Header.Weather.Pressure", 590.0)

    bw_ghz = inst.bandwidth_mhz / 1e3
    nb = inst.nbanks
    ws("Header.SpecBackend.DumpTime", inst.dump_time_s)
    wa("Header.SpecBackend.Bandwidth", [bw_ghz, bw_ghz if nb > 1 else 0.0])
    ws("Header.Radiometer.Tau", 0.15)
    ws("Header.ScanFile.Valid", 1, "i4")

    ref = obs.ref_azel
    ws("Header.Sky.ObsVel", obs.obs_vel)
    ws("Header.Sky.BaryVel", obs.bary_vel)
    wa("Header.Sky.AzReq", [pt.az_des, 0.0])
    wa("Header.Sky.ElReq", [pt.el_des, 0.0])
    wa("Header.Sky.AzOff", [0.0, ref[0] * RAD])
    wa("Header.Sky.ElOff", [0.0, ref[1] * RAD])

    def two(values: list[float]) -> list[float]:
        return list(values) + [0.0] * (2 - len(values))

    line = two(inst.line_freq_ghz)
    skyf = two([ax.sky_freq_hz / 1e9 for ax in obs.axes])
    if rx == "Sequoia":
        if1 = two([6.0] * nb)
        lo1 = skyf[0] - 6.0
    else:
        lo1 = 0.5 * (skyf[0] + skyf[1])
        if1 = two([abs(f - lo1) for f in skyf[:nb]])
    if2 = two([1.5] * nb)
    g = f"Header.{rx}"
    ws(f"{g}.NumPixels", 16 if rx == "Sequoia" else 1, "i4")
    ws(f"{g}.BeamSelected", inst.tracking_beam, "i4")
    ws(f"{g}.NumBands", nb, "i4")
    wa(f"{g}.LineFreq", line)
    ws(f"{g}.DopplerTrack", 1, "i4")
    wa(f"{g}.SkyFreq", skyf)
    ws(f"{g}.Lo1Freq", lo1)
    wa(f"{g}.Lo2Freq", [a - b for a, b in zip(if1, if2, strict=True)])
    wa(f"{g}.If1Freq", if1)
    wa(f"{g}.If2Freq", if2)
    wa(f"{g}.SynthFreq", [lo1 / 6.0] * 2)
    wa(f"{g}.LineOffset", [0.0, 0.0])
    wa(f"{g}.LineRedshift", [0.0, 0.0])
    wa(f"{g}.SynthHarm", [6, 6], "i4")
    wa(f"{g}.SideBand1LoType", [0, 0], "i4")
    wa(f"{g}.SideBand2LoType", [0, 0], "i4")
    wa(f"{g}.SideBand1Lo", [0, 0], "i4")
    wa(f"{g}.SideBand2Lo", [0, 0], "i4")
    ws(f"{g}.VelocityDefinition", 0, "i4")
    ws(f"{g}.BlankLevel", 0.0)
    ws(f"{g}.LoadAmbientTemp", T_AMBIENT_K)

    p = obs.params
    if obs.kind == "Map":
        r = obs.raster
        assert r is not None
        ws("Header.Map.HPBW", p["hpbw_arcsec"] * RAD)
        ws("Header.Map.XLength", p["xlength_arcsec"] * RAD)
        ws("Header.Map.YLength", p["ylength_arcsec"] * RAD)
        ws("Header.Map.XStep", p["xstep"])
        ws("Header.Map.YStep", p["ystep"])
        ws("Header.Map.XRamp", p["xramp_arcsec"] * RAD)
        ws("Header.Map.YRamp", p["yramp_arcsec"] * RAD)
        ws("Header.Map.XOffset", 0.0)
        ws("Header.Map.YOffset", 0.0)
        ws("Header.Map.RowsPerScan", float(p["rows_per_scan"]))
        ws("Header.Map.ScanAngle", math.radians(p["scan_angle_deg"]))
        ws("Header.Map.ScanRate", p["scan_rate_arcsec_s"] * RAD)
        ws("Header.Map.TSamp", inst.dump_time_s)
        ws("Header.Map.ExecMode", 0, "i4")
        wc("Header.Map.MapCoord", p["coord"])
        wc("Header.Map.MapMotion", "Continuous")
    elif obs.kind == "Bs":
        wa("Header.Bs.Beam", p["beams"], "i4")
        ws("Header.Bs.NumRepeats", int(p["nrepeats"]), "i4")
        ws("Header.Bs.NumScans", 2 * int(p["nrepeats"]), "i4")
        ws("Header.Bs.NSamp", int(round(p["block_s"] / inst.dump_time_s)), "i4")
        ws("Header.Bs.TSamp", float(p["block_s"]))
    elif obs.kind == "Ps":
        ws("Header.Ps.NumRepeats", int(p["nrepeats"]), "i4")
        ws("Header.Ps.NumScans", 2 * int(p["nrepeats"]), "i4")
        ws("Header.Ps.NSamp", int(round(p["on_s"] / inst.dump_time_s)), "i4")
        ws("Header.Ps.TMain", float(p["on_s"]))
        ws("Header.Ps.TRef", float(p["ref_s"]))
        wc("Header.Ps.Mode", "Normal")
        wc("Header.Ps.RefSwitch", "Position")


def write_ifproc(path: Path, obs: Observation, series: dict[str, Any]) -> int:
    """Write one ifproc file; ``series`` maps Data.* names to arrays over ``time``.

    ``Data.IfProc.BasebandLevel`` is (time, 16) for Sequoia and (time, 5, 4) for Msip1mm
    (super-sampled; ``BasebandTime`` is then (time, 5)). Returns the file size in bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".nc.part")
    with netCDF4.Dataset(tmp, "w", format="NETCDF3_64BIT_OFFSET") as ds:
        ds.set_fill_off()
        ds.createDimension("time", None)
        _header(ds, obs)
        level = np.asarray(series["Data.IfProc.BasebandLevel"])
        btime = np.asarray(series["Data.IfProc.BasebandTime"])
        ds.createDimension("Data.IfProc.BasebandLevel_xlen", level.shape[1])
        level_dims = ("time", "Data.IfProc.BasebandLevel_xlen")
        if level.ndim == 3:
            ds.createDimension("Data.IfProc.BasebandLevel_ylen", level.shape[2])
            level_dims += ("Data.IfProc.BasebandLevel_ylen",)
        btime_dims: tuple[str, ...] = ("time",)
        if btime.ndim == 2:
            ds.createDimension("Data.IfProc.BasebandTime_xlen", btime.shape[1])
            btime_dims += ("Data.IfProc.BasebandTime_xlen",)
        for name, values in series.items():
            if name == "Data.IfProc.BasebandLevel":
                var = ds.createVariable(name, "f4", level_dims)
            elif name == "Data.IfProc.BasebandTime":
                var = ds.createVariable(name, "f8", btime_dims)
            else:
                dtype = "i4" if name.endswith("BufPos") else "f8"
                var = ds.createVariable(name, dtype, ("time",))
            var[:] = values
    tmp.replace(path)
    return path.stat().st_size
