"""The simulated raw files have the layout of the reference (minimal CDL superset, §1-3)."""

from __future__ import annotations

import re

import netCDF4
import numpy as np
import pytest

# Variables of reference/data/minimal_sequoia_cdl.txt, by netCDF type (c char, i int,
# d double, f float). {rx} is the receiver group.
_CDL_IFPROC = {
    "c": "Header.Dcs.ObsPgm Header.Dcs.ObsGoal Header.Dcs.Receiver Header.Dcs.ProjectId "
    "Header.Source.SourceName",
    "i": "Header.Dcs.ObsNum Header.Dcs.SubObsNum Header.Dcs.ScanNum Header.Source.CoordSys "
    "Header.Source.VelSys Header.IfProc.CalObsNum Header.M1.ZernikeEnabled "
    "Header.PointModel.ModRev Header.ScanFile.Valid Header.{rx}.NumPixels "
    "Header.{rx}.BeamSelected Header.{rx}.NumBands Header.{rx}.DopplerTrack "
    "Header.{rx}.SynthHarm Header.{rx}.SideBand1LoType Header.{rx}.SideBand2LoType "
    "Header.{rx}.SideBand1Lo Header.{rx}.SideBand2Lo Header.{rx}.VelocityDefinition "
    "Data.TelescopeBackend.BufPos",
    "d": "Header.Dcs.IntegrationTime Header.Source.Velocity Header.Source.Ra Header.Source.Dec "
    "Header.Source.L Header.Source.B Header.TimePlace.UTDate Header.TimePlace.UT1 "
    "Header.Telescope.AzDesPos Header.Telescope.ElDesPos Header.M1.ZernikeC Header.M2.XReq "
    "Header.M2.YReq Header.M2.ZReq Header.M2.TipReq Header.M2.TiltReq Header.M2.XPcor "
    "Header.M2.YPcor Header.M2.ZPcor Header.M2.TipPcor Header.M2.TiltPcor "
    "Header.PointModel.AzUserOff Header.PointModel.ElUserOff Header.PointModel.AzPaddleOff "
    "Header.PointModel.ElPaddleOff Header.PointModel.AzTotalCor Header.PointModel.ElTotalCor "
    "Header.PointModel.AzReceiverOff Header.PointModel.ElReceiverOff Header.PointModel.AzM2Cor "
    "Header.PointModel.ElM2Cor Header.PointModel.AzPointModelCor "
    "Header.PointModel.ElPointModelCor Header.Tiltmeter_0_.TiltX Header.Tiltmeter_0_.TiltY "
    "Header.Tiltmeter_1_.TiltX Header.Tiltmeter_1_.TiltY Header.TempSens.TempSens "
    "Header.Weather.Temperature Header.SpecBackend.DumpTime Header.SpecBackend.Bandwidth "
    "Header.Radiometer.Tau Header.Sky.ObsVel Header.Sky.BaryVel Header.Sky.AzReq "
    "Header.Sky.ElReq Header.Sky.AzOff Header.Sky.ElOff Header.{rx}.LineFreq "
    "Header.{rx}.SkyFreq Header.{rx}.Lo1Freq Header.{rx}.Lo2Freq Header.{rx}.If1Freq "
    "Header.{rx}.If2Freq Header.{rx}.SynthFreq Header.{rx}.LineOffset Header.{rx}.LineRedshift "
    "Data.TelescopeBackend.TelTime Data.TelescopeBackend.Hold Data.TelescopeBackend.TelAzMap "
    "Data.TelescopeBackend.TelElMap Data.TelescopeBackend.ActParAng "
    "Data.TelescopeBackend.ActGalAng Data.TelescopeBackend.SourceRaAct "
    "Data.TelescopeBackend.SourceDecAct Data.TelescopeBackend.SourceLAct "
    "Data.TelescopeBackend.SourceBAct Data.IfProc.BasebandTime",
    "f": "Data.IfProc.BasebandLevel",
}
_CDL_MAP = {
    "c": "Header.Map.MapCoord Header.Map.MapMotion",
    "d": "Header.Map.HPBW Header.Map.XLength Header.Map.YLength Header.Map.XStep "
    "Header.Map.YStep Header.Map.XRamp Header.Map.YRamp Header.Map.XOffset Header.Map.YOffset "
    "Header.Map.RowsPerScan Header.Map.ScanAngle Header.Map.ScanRate Header.Map.TSamp",
}
_CDL_BS = {
    "i": "Header.Bs.Beam Header.Bs.NumRepeats Header.Bs.NumScans Header.Bs.NSamp",
    "d": "Header.Bs.TSamp",
}
_CDL_ROACH = {
    "i": "Header.Telescope.ObsNum Header.Mode.numchannels Data.Integrate.Inputs "
    "Data.Integrate.acc_n",
    "d": "Header.Mode.Bandwidth Data.Integrate.time Data.Integrate.read_time "
    "Data.Integrate.sync_time",
    "f": "Data.Integrate.Data",
}
# superset the real WARES writer has (reference §3.1)
_ROACH_SUPERSET = [
    "Header.Mode.Clock",
    "Header.Mode.ADCStreams",
    "Header.Mode.Gain",
    "Header.Mode.Shift",
    "Header.Mode.sync_LCM",
    "Header.Mode.PFBTaps",
    "Header.Mode.FFTSize",
    "Header.Mode.FFTInputs",
    "Header.Mode.roach_id",
    "Header.Mode.nbram",
    "Header.Telescope.SubObsNum",
    "Header.Telescope.ScanNum",
    "Header.Mode.Bitcode",
    "Header.Telescope.source_name",
    "Header.Telescope.obspgm",
    "Data.Integrate.sync_n",
    "Data.Integrate.sync_scale",
    "Data.Integrate.sync_period",
]
_KIND = {"c": "S", "i": "i", "d": "f", "f": "f"}
_SIZE = {"c": 1, "i": 4, "d": 8, "f": 4}

IFPROC_RE = re.compile(r"^ifproc_(\d{4}-\d{2}-\d{2})_(\d{6})_(\d{2})_(\d{4})\.nc$")
ROACH_RE = re.compile(r"^roach(\d)_(\d+)_(\d+)_(\d+)_(.+)_(\d{4}-\d{2}-\d{2})_(\d{6})\.nc$")


def _expected(groups: list[dict[str, str]], rx: str = "Sequoia") -> dict[str, str]:
    out = {}
    for g in groups:
        for code, names in g.items():
            for n in names.split():
                out[n.format(rx=rx)] = code
    return out


def _ifproc_path(sim, obsnum):
    return sim.data_lmt / sim.obs(obsnum)["ifproc_file"]


def _roach_paths(sim, obsnum):
    return {int(r): sim.data_lmt / p for r, p in sim.obs(obsnum)["roach_files"].items()}


def _check_vars(ds: netCDF4.Dataset, expected: dict[str, str]) -> None:
    for name, code in expected.items():
        assert name in ds.variables, f"missing {name}"
        var = ds.variables[name]
        assert var.dtype.kind == _KIND[code] and var.dtype.itemsize == _SIZE[code], (
            name,
            var.dtype,
        )
        if code == "c":
            assert var.dimensions == (f"{name}_slen",)
        elif var.dimensions and var.dimensions[0] != "time":
            assert var.dimensions == (f"{name}_xlen",), name


@pytest.mark.parametrize("label", ["cal", "map", "ps", "bs"])
def test_ifproc_superset_of_cdl(small_sim, label):
    groups = [_CDL_IFPROC] + {"map": [_CDL_MAP], "bs": [_CDL_BS]}.get(label, [])
    with netCDF4.Dataset(_ifproc_path(small_sim, label)) as ds:
        assert ds.data_model == "NETCDF3_64BIT_OFFSET"
        assert ds.dimensions["time"].isunlimited()
        _check_vars(ds, _expected(groups))
        assert "Data.TelescopeBackend.BackendTime" not in ds.variables
        assert len(ds.dimensions["Data.IfProc.BasebandLevel_xlen"]) == 16
        assert ds.variables["Data.IfProc.BasebandLevel"].dimensions == (
            "time",
            "Data.IfProc.BasebandLevel_xlen",
        )
        assert ds.variables["Header.TempSens.TempSens"].size >= 64
        for name in ("Header.Source.Ra", "Header.Sky.AzOff", "Header.Sequoia.LineFreq"):
            assert ds.variables[name].size == 2
        if label == "ps":
            assert "Header.Ps.NumRepeats" in ds.variables


def test_ifproc_1mm_supersampled_baseband(small_sim):
    with netCDF4.Dataset(_ifproc_path(small_sim, "ps_1mm")) as ds:
        _check_vars(ds, _expected([_CDL_IFPROC], rx="Msip1mm"))
        lev = ds.variables["Data.IfProc.BasebandLevel"]
        assert lev.dimensions == (
            "time",
            "Data.IfProc.BasebandLevel_xlen",
            "Data.IfProc.BasebandLevel_ylen",
        )
        assert lev.shape[1:] == (5, 4)
        assert ds.variables["Data.IfProc.BasebandTime"].shape[1:] == (5,)
        assert int(ds.variables["Header.Msip1mm.NumPixels"][0]) == 1
        assert int(ds.variables["Header.Msip1mm.NumBands"][0]) == 2


def test_char_variables_space_padded_without_encoding(small_sim):
    with netCDF4.Dataset(_ifproc_path(small_sim, "map")) as ds:
        for name, var in ds.variables.items():
            if var.dtype.kind != "S":
                continue
            assert "_Encoding" not in var.ncattrs(), name
            var.set_auto_chartostring(False)
            raw = b"".join(np.asarray(var[:]).tolist())
            assert b"\x00" not in raw, name
            assert len(raw) == var.size
        pgm = ds.variables["Header.Dcs.ObsPgm"]
        pgm.set_auto_chartostring(False)
        assert b"".join(pgm[:].tolist()).decode().strip() == "Map"
        coord = ds.variables["Header.Map.MapCoord"]
        coord.set_auto_chartostring(False)
        raw = b"".join(coord[:].tolist())
        assert raw == b"Ra".ljust(len(raw), b" ")


@pytest.mark.parametrize("label", ["cal", "map", "ps_1mm"])
def test_roach_superset_and_rows(small_sim, label):
    paths = _roach_paths(small_sim, label)
    truth = small_sim.obs(label)
    nchan = small_sim.session(label)["instrument"]["nchan"]
    for roach, path in paths.items():
        with netCDF4.Dataset(path) as ds:
            assert ds.data_model == "NETCDF3_64BIT_OFFSET"
            assert ds.dimensions["time"].isunlimited()
            _check_vars(ds, _expected([_CDL_ROACH]))
            for name in _ROACH_SUPERSET:
                assert name in ds.variables, name
            assert len(ds.dimensions["numinputs"]) == 4
            assert ds.variables["Data.Integrate.Data"].dimensions == ("time", "numchannels")
            assert int(ds.variables["Header.Mode.numchannels"][0]) == nchan > 1024
            assert int(ds.variables["Header.Telescope.ObsNum"][0]) == truth["obsnum"]
            assert ds.variables["Data.Integrate.time"].long_name == "Epoch time"
            inputs = ds.variables["Data.Integrate.Inputs"][:]
            n = inputs.size
            assert n % 4 == 0
            assert np.array_equal(inputs, np.tile(np.arange(4), n // 4))
            assert n // 4 == truth["ndumps_per_input"][str(roach)]


def test_roach_dtype_option(tmp_path, tiny_config):
    from lmtflow.sim import simulate

    res = simulate(tiny_config(), tmp_path / "d", seed=3, dtype="float64")
    path = next((res.data_lmt / "spectrometer").rglob("roach0_*.nc"))
    with netCDF4.Dataset(path) as ds:
        assert ds.variables["Data.Integrate.Data"].dtype == np.float64


def test_file_names_and_tree(small_sim):
    root = small_sim.data_lmt
    truth_dir = small_sim.truth_path.parent
    assert root not in truth_dir.parents and truth_dir != root
    assert not list(root.rglob("*truth*")) and not list(root.rglob("*.part"))
    ifprocs = sorted(p.name for p in (root / "ifproc").iterdir())
    assert len(ifprocs) == 7
    for name in ifprocs:
        m = IFPROC_RE.match(name)
        assert m, name
        obs = small_sim.obs(int(m.group(2)))
        assert (int(m.group(3)), int(m.group(4))) == (obs["subobsnum"], obs["scannum"])
        assert m.group(1) == obs["date"]
    assert IFPROC_RE.match(small_sim.obs("map")["ifproc_file"].split("/")[-1]).group(3) == "01"
    for obsnum, obs in small_sim.truth["observations"].items():
        assert len(obs["roach_files"]) == (1 if obs["receiver"] == "Msip1mm" else 4)
        for roach, rel in obs["roach_files"].items():
            assert rel.startswith(f"spectrometer/roach{roach}/")
            m = ROACH_RE.match(rel.split("/")[-1])
            assert m, rel
            assert m.group(1) == roach and m.group(2) == obsnum  # ObsNum not zero-padded
            assert m.group(5) == obs["source_name"]
            # HHMMSS = UT a few seconds before the first dump
            with netCDF4.Dataset(root / rel) as ds:
                t0 = float(ds.variables["Data.Integrate.time"][0]) - float(
                    ds.variables["Data.Integrate.read_time"][0]
                )
            import datetime as dt

            stamp = dt.datetime.strptime(m.group(6) + m.group(7), "%Y-%m-%d%H%M%S")
            opened = stamp.replace(tzinfo=dt.UTC).timestamp()
            assert 1.0 < t0 - opened < 6.0
