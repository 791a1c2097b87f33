"""The RSR simulator writes files in the layout of rsr_raw_and_algorithms.md (§1-2, §6)."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from lmtflow.cli import main
from lmtflow.io.ncutil import read_char
from lmtflow.io.rsr import RsrFileError, chassis_files, read_chassis, read_corr_cal
from lmtflow.rsr.constants import SLOTS, synthetic_corr_cal


def test_file_names_and_tree(rsr_sim):
    root = rsr_sim.data_lmt
    assert rsr_sim.obsnums == {"Cal": [33550, 33552], "Bs": [33551, 33553]}
    for obsnum in (33550, 33551, 33552, 33553):
        files = chassis_files(root, obsnum)
        assert sorted(files) == [0, 1, 2, 3]
        for c, path in files.items():
            assert path.parent.name == f"RedshiftChassis{c}"
            assert path.name == f"RedshiftChassis{c}_2015-01-22_{obsnum:06d}_00_0001.nc"
    assert not (root / "ifproc").exists()  # §1.4: no ifproc files for RSR ObsNums
    assert sorted(p.name for p in (root / "rsr" / "cal").iterdir()) == [
        f"corr_cal_1401_{c}.nc" for c in range(4)
    ]
    with pytest.raises(RsrFileError, match="ObsNum 12345"):
        chassis_files(root, 12345)


def test_variables_dims_dtypes(rsr_sim):
    path = chassis_files(rsr_sim.data_lmt, 33551)[2]
    with netCDF4.Dataset(path) as ds:
        assert ds.data_model == "NETCDF3_64BIT_OFFSET"
        assert ds.dimensions["time"].isunlimited()
        v = ds.variables
        groups = {n.split(".")[1] for n in v if "RedshiftChassis" in n}
        assert groups == {"RedshiftChassis_2_"}
        acc = v["Data.RedshiftChassis_2_.AccData"]
        assert acc.dimensions[0] == "time" and acc.shape == (120, 6, 256) and acc.dtype == "f8"
        assert v["Data.RedshiftChassis_2_.RefData"].shape == (120, 6, 256)
        assert v["Data.RedshiftChassis_2_.AccSamples"].shape == (120, 6)
        assert "Data.RedshiftChassis_2_.AccSamples_xlen" in ds.dimensions
        assert v["Data.Dcs.BufPos"][:].tolist() == [0, 1] * 60
        assert v["Data.Sky.Time"].shape == (120,)
        for name in ("Header.Dcs.ObsNum", "Header.Bs.NumRepeats", "Header.TimePlace.UTDate",
                     "Header.RedshiftChassis_2_.CorrCalId", "Header.RedshiftChassis_2_.CalObsNum",
                     "Header.Radiometer.Tau", "Header.ScanFile.Valid"):  # fmt: skip
            assert v[name].shape == (), name  # 0-d scalars
        for name in ("Header.Source.Ra", "Header.Source.Dec", "Header.Sky.AzReq",
                     "Header.Sky.ElReq"):  # fmt: skip
            assert v[name].shape == (2,) and v[name][0] != 0
        assert v["Header.RedshiftChassis_2_.SlotNumber"][:].tolist() == list(SLOTS)
        assert v["Header.RedshiftChassis_2_.BoardNumber"][:].tolist() == list(range(6))
        assert v["Header.RedshiftChassis_2_.Gain"].dtype.kind == "i"
        assert int(v["Header.RedshiftChassis_2_.ChassisNumber"][...]) == 2
        assert int(v["Header.RedshiftChassis_2_.CalObsNum"][...]) == 33550
        assert v["Header.Rsfend.Temperature"][6] == 280.0
        assert 2015.0 < float(v["Header.TimePlace.UTDate"][...]) < 2015.1
        raw = v["Header.Dcs.ObsPgm"]
        raw.set_auto_chartostring(False)
        text = b"".join(raw[:].tolist())
        assert len(text) == 128 and text.rstrip(b" ") == b"Bs" and b"\0" not in text
        assert read_char(ds, "Header.Dcs.Receiver") == "RedshiftReceiver"
        assert not any(n.startswith(("Header.Spectrum", "Data.Spectrum")) for n in v)
    # ~48124 samples per second, normalised ACF at lag 0 of order 1e5
    x = read_chassis(path)
    assert np.allclose(x.samples / (48124 * 30.0), 0.98, atol=0.011)
    assert 3e4 < np.median(x.ref[:, :, 0]) < 4e5


def test_cal_file(rsr_sim):
    path = chassis_files(rsr_sim.data_lmt, 33550)[0]
    x = read_chassis(path)
    assert x.obspgm == "Cal" and x.acc.shape == (6, 6, 256)
    with netCDF4.Dataset(path) as ds:
        assert int(ds.variables["Header.Cal.CalMode"][...]) == 1
    hot, sky = x.acc[0, :, 0], x.acc[1, :, 0]
    assert np.all(hot > 2 * sky)  # Tamb 280 K > Tsys ~100 K


def test_corr_cal(rsr_sim):
    cc = read_corr_cal(rsr_sim.data_lmt / "rsr" / "cal", 1401, 3)
    assert cc.shape == (6, 256, 256)
    assert np.allclose(cc[4], synthetic_corr_cal())
    with netCDF4.Dataset(rsr_sim.data_lmt / "rsr/cal/corr_cal_1401_3.nc") as ds:
        assert ds.variables["Header.RedshiftChassis_3_.slotno"][:].tolist() == list(SLOTS)
        assert ds.variables["Header.RedshiftChassis_3_.obsdate"].units.startswith("hours since")
    with pytest.raises(RsrFileError, match="corr_cal_9_3.nc"):
        read_corr_cal(rsr_sim.data_lmt / "rsr" / "cal", 9, 3)


def test_faults_in_lags(rsr_sim):
    """Injected faults are visible in the per-lag dump-to-dump rms; clean lags are 0.1-1."""
    sigma = {c: read_chassis(p).acc.std(axis=0) for c, p in
             chassis_files(rsr_sim.data_lmt, 33551).items()}  # fmt: skip
    assert sigma[1][2, 100] > 2.5  # noisy lag
    assert sigma[2][0, 77] < 0.01  # dead lag
    clean = sigma[0][1]
    assert 0.1 < np.median(clean) < 1.0
    assert np.median(sigma[3][5]) > 3 * np.median(sigma[3][4])  # bad board
    # the second ObsNum has no faults
    s2 = read_chassis(chassis_files(rsr_sim.data_lmt, 33553)[1]).acc.std(axis=0)
    assert s2.max() < 2.5 and s2.min() > 0.01


def test_cli_preset(tmp_path, capsys):
    assert main(["simulate", "--preset", "rsr", "--out", str(tmp_path / "d")]) == 0
    assert "Bs   33551 33553" in capsys.readouterr().out
