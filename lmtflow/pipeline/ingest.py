"""Ingest: raw netCDF of one ObsNum and bank -> raw SDFITS (counts of every kept dump).

Rows are dump-major (dump, beam, pol); each row carries the BufPos of its dump and the
position of its beam with the beam offset removed using that dump's own parallactic angle
(lmtslr uses one mean angle per pixel and ObsNum; per dump is exact). Memory is bounded: the
spectra are read and written in blocks of dumps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import ObsNumError, RawDataError
from ..geometry import beam_offsets_azel, beam_offsets_sky
from ..io.ifproc import IfProcHeader, find_ifproc, read_header, read_series
from ..io.roach import RoachFile, find_roach_files, roach_inputs_for_bank
from ..io.sdfits_columns import obsmode, spectral_axis_columns
from ..io.sdfits_writer import SDFITSWriter
from ..sidereal import lst_seconds
from ..timeline import Timeline, build_timeline
from ..validate import check_dump_clocks, flag_nonfinite
from .obsmeta import obs_keywords

log = logging.getLogger(__name__)

BLOCK_BYTES = 4 << 20  # spectra per block: small blocks reuse cached, already-mapped pages
CTYPES = {0: ("AZ", "EL"), 1: ("RA", "DEC"), 2: ("GLON", "GLAT")}
POL_CODES = {1: (-5,), 2: (-5, -6)}  # XX, YY


@dataclass(frozen=True)
class BankLayout:
    """Which board and input feeds each (beam, pol) of a bank."""

    boards: list[int]  # roach numbers present, in board order of the timeline
    beams: list[int]  # pixel id of each beam
    npol: int
    source: NDArray[np.int_]  # (nbeam, npol, 2): (board index, input)
    absent: list[int]  # pixels of the bank's boards whose roach file is missing


def bank_layout(header: IfProcHeader, bank: int, present: list[int]) -> BankLayout:
    """Beams and polarisations of a bank from the boards whose files exist."""
    wiring = roach_inputs_for_bank(header.receiver, bank)
    boards = [n for n in wiring if n in present]
    absent = sorted({pixel for n, ins in wiring.items() if n not in present for _, pixel in ins})
    if header.receiver == "Msip1mm":
        (inputs,) = [[k for k, _ in wiring[n]] for n in boards] or [[]]
        src = np.array([[[0, k] for k in inputs]])
        return BankLayout(boards, [inputs[0]], len(inputs), src, absent)
    beams, src = [], []
    for i, n in enumerate(boards):
        for k, pixel in wiring[n]:
            beams.append(pixel)
            src.append([[i, k]])
    return BankLayout(boards, beams, 1, np.array(src), absent)


def _beam_positions(
    header: IfProcHeader, tl: Timeline, lay: BankLayout, map_coord: int
) -> tuple[NDArray, NDArray]:
    """Offsets (arcsec) of every (dump, beam) from the source, beam offsets removed."""
    board_of_beam = lay.source[:, 0, 0]
    x = tl.x[:, board_of_beam]
    y = tl.y[:, board_of_beam]
    el = np.radians(header.el_deg)
    pixels = np.asarray(lay.beams)
    if map_coord == 0:
        gx, gy = beam_offsets_azel(el, header.tracking_beam, pixels, header.receiver)
        gx, gy = np.broadcast_to(gx, x.shape), np.broadcast_to(gy, y.shape)
    else:
        angle = tl.angle[:, board_of_beam]
        gx, gy = beam_offsets_sky(el, angle, header.tracking_beam, pixels, header.receiver)
    return x - gx, y - gy


def _absolute(
    header: IfProcHeader, map_coord: int, dx: NDArray, dy: NDArray
) -> tuple[NDArray, NDArray]:
    """Absolute longitude/latitude (deg) of offsets (arcsec) about the source (or Az/El)."""
    lon0, lat0 = header.center(map_coord)
    lat = lat0 + dy / 3600.0
    lon = (lon0 + dx / 3600.0 / np.cos(np.radians(lat0))) % 360.0
    return lon, lat


def open_bank(data_lmt: str | Path, obsnum: int, bank: int) -> tuple[IfProcHeader, list[RoachFile]]:
    """The header and the roach files of one ObsNum and bank; missing boards are logged."""
    header = read_header(find_ifproc(data_lmt, obsnum))
    if bank not in header.banks:
        raise ObsNumError(obsnum, f"has no bank {bank} (banks: {header.banks})")
    wanted = list(roach_inputs_for_bank(header.receiver, bank))
    files = find_roach_files(data_lmt, obsnum, wanted)
    missing = [n for n in wanted if n not in files]
    if not files:
        raise ObsNumError(obsnum, f"no roach files for bank {bank} (roach{wanted})")
    if missing:
        log.warning("ObsNum %d bank %d: roach files missing for roach%s", obsnum, bank, missing)
    boards = [RoachFile.open(files[n]) for n in sorted(files)]
    nchans = {b.nchan for b in boards}
    if len(nchans) != 1:
        raise ObsNumError(obsnum, f"roach files of bank {bank} disagree on nchan: {nchans}")
    return header, boards


def velocity_frame_columns(header: IfProcHeader) -> dict[str, float | str]:
    """``VELDEF``, ``VFRAME`` and ``RVSYS`` (m/s) of an ObsNum, GBT SDFITS meanings.

    ``VFRAME`` is the velocity of the VELDEF frame with respect to the telescope, taken from the
    observation's own Doppler data (lmtslr: ``v_sky = ObsVel + V_lsr`` and, for VelSys 1,
    ``v_sky = ObsVel + V_bary - BaryVel``). The LMT sets its LO once per ObsNum from these
    header values (the raw files hold no per-dump Doppler series), so the row's topocentric
    axis and its VFRAME agree; files that combine ObsNums carry each one's own value.
    ``RVSYS = VELOCITY + VFRAME`` (the source's velocity with respect to the telescope).
    """
    if header.velsys == 1:
        veldef, vframe_kms = "RADI-BAR", header.obs_vel_kms - header.bary_vel_kms
    else:
        veldef, vframe_kms = "RADI-LSR", header.obs_vel_kms
    return {
        "VELDEF": veldef,
        "VFRAME": vframe_kms * 1e3,
        "RVSYS": (header.vsource_kms + vframe_kms) * 1e3,
    }


def ingest(data_lmt: str | Path, obsnum: int, bank: int, out: str | Path) -> Path:
    """Write the raw SDFITS of one ObsNum and bank; return its path."""
    header, boards = open_bank(data_lmt, obsnum, bank)
    series = read_series(header.path, header)
    lay = bank_layout(header, bank, [b.roach for b in boards])
    map_coord = header.map_coord()
    check_dump_clocks(header, series, boards)
    tl = build_timeline(series, boards, map_coord, header.dump_time_s)
    if tl.ndump == 0:
        raise RawDataError(boards[0].path, "no roach dump falls inside the ifproc time range")
    nchan = boards[0].nchan
    axis = header.spectral_axis(bank, nchan, boards[0].bandwidth_mhz)
    dx, dy = _beam_positions(header, tl, lay, map_coord)  # absolute positions: per block
    nbeam, npol = len(lay.beams), lay.npol
    log.info("ObsNum %d bank %d: %d dumps x %d beams x %d pol kept", obsnum, bank, tl.ndump,
             nbeam, npol)  # fmt: skip
    ctype2, ctype3 = CTYPES[map_coord]
    constants = {
        "OBJECT": header.source,
        "SCAN": header.obsnum,
        "OBSMODE": obsmode(header.obspgm if header.obspgm in ("Map", "Ps", "Bs") else "Map", "raw"),
        "FRONTEND": header.receiver,
        "DURATION": header.dump_time_s,
        "EXPOSURE": header.dump_time_s,
        "TSYS": 1.0,
        "CTYPE2": ctype2,
        "CTYPE3": ctype3,
        "RADESYS": "FK5" if map_coord == 1 else ("GALACTIC" if map_coord == 2 else "ALTAZ"),
        "RESTFREQ": axis.rest_freq_hz,
        "VELOCITY": header.vsource_kms * 1e3,
        **velocity_frame_columns(header),
        "OBSERVER": header.observer[:32],
        "AZIMUTH": header.az_deg,
        "ELEVATIO": header.el_deg,
        "IFNUM": bank,
        "SIDEBAND": "L" if axis.sideband == 1 else "U",
        **{k: v for k, v in spectral_axis_columns(axis).items() if k != "OBSFREQ"},
        "OBSFREQ": axis.sky_freq_hz,
    }
    keywords = obs_keywords(header, bank, axis, map_coord)
    if lay.absent:
        keywords["NOFILEBM"] = (",".join(map(str, lay.absent)), "beams without data: no roach file")
    beams = np.asarray(lay.beams, dtype=np.int16)
    pols = np.arange(npol, dtype=np.int16)
    polcode = np.asarray(POL_CODES[npol], dtype=np.int16)

    def columns(d0: int, d1: int) -> dict[str, NDArray]:
        shape = (d1 - d0, nbeam, npol)

        def per_row(values: NDArray) -> NDArray:
            return np.broadcast_to(values, shape).reshape(-1)

        utc = tl.time[d0:d1][:, lay.source[:, 0, 0]]
        lon, lat = _absolute(header, map_coord, dx[d0:d1], dy[d0:d1])
        return {
            "UTCTIME": per_row(utc[:, :, None]),
            "LST": per_row(lst_seconds(utc)[:, :, None]),
            "INTNUM": per_row(np.arange(d0, d1, dtype=np.int32)[:, None, None]),
            "BUFPOS": per_row(tl.bufpos[d0:d1, None, None].astype(np.int16)),
            "FDNUM": per_row(beams[None, :, None]),
            "PLNUM": per_row(pols[None, None, :]),
            "CRVAL4": per_row(polcode[None, None, :]),
            "LMTXOFF": per_row(dx[d0:d1, :, None]),
            "LMTYOFF": per_row(dy[d0:d1, :, None]),
            "CRVAL2": per_row(lon[:, :, None]),
            "CRVAL3": per_row(lat[:, :, None]),
        }

    with SDFITSWriter(
        out,
        tl.ndump * nbeam * npol,
        nchan,
        projid=header.project_id,
        instrume=header.receiver,
        datadims=(tl.ndump, nbeam, npol, 1, nchan),
        tscale="Raw",
        constants=constants,
        header=keywords,
    ) as writer:
        nonfinite = _copy_spectra(writer, boards, lay, tl, nchan, columns)
        _report_nonfinite(obsnum, bank, boards, nonfinite, tl.ndump * nbeam * npol)
    return Path(out)


def _copy_spectra(
    writer: SDFITSWriter,
    boards: list[RoachFile],
    lay: BankLayout,
    tl: Timeline,
    nchan: int,
    columns: Callable[[int, int], dict[str, NDArray]],
) -> NDArray[np.int64]:
    """Read the spectra of every kept dump block by block and append them with ``columns``.

    Two block buffers, reused (fresh pages are slow to fault in): the next block is read while
    a helper thread appends the previous one (the copy and ``write`` release the GIL). Returns
    the number of spectra flagged for NaN/Inf per (board, input).
    """
    nonfinite = np.zeros((len(boards), 4), dtype=np.int64)
    step = max(1, BLOCK_BYTES // (4 * len(lay.beams) * lay.npol * nchan))
    shape = (min(step, tl.ndump), len(lay.beams), lay.npol, 1, nchan)
    buffers = [np.empty(shape, np.float32) for _ in range(2 if tl.ndump > step else 1)]
    pending: list[Future | None] = [None] * len(buffers)
    wiring = []  # per board: inputs and the (beam, pol) each feeds
    for i in range(len(boards)):
        beam_idx, pol_idx = np.nonzero(lay.source[:, :, 0] == i)
        feeds = list(zip(beam_idx, pol_idx, strict=True))
        wiring.append((lay.source[beam_idx, pol_idx, 1].tolist(), feeds))
    with ThreadPoolExecutor(max_workers=1) as pool:
        for k, d0 in enumerate(range(0, tl.ndump, step)):
            d1, slot = min(d0 + step, tl.ndump), k % len(buffers)
            if pending[slot] is not None:
                pending[slot].result()  # that buffer has been written
            spectra = buffers[slot][: d1 - d0]
            for i, (board, (inputs, feeds)) in enumerate(zip(boards, wiring, strict=True)):
                dest = [spectra[:, b, p, 0] for b, p in feeds]
                board.read_dumps_into(tl.dumps[d0:d1, i], inputs, dest)
            bad = flag_nonfinite(spectra)[..., 0].sum(axis=0)  # (beam, pol)
            np.add.at(nonfinite, (lay.source[..., 0], lay.source[..., 1]), bad)
            pending[slot] = pool.submit(writer.append, columns(d0, d1), spectra)
        for job in pending:
            if job is not None:
                job.result()
    return nonfinite


def _report_nonfinite(
    obsnum: int, bank: int, boards: list[RoachFile], counts: NDArray, total: int
) -> None:
    """Log how many spectra were flagged for NaN/Inf counts; stop if none is left."""
    if not counts.any():
        return
    where = ", ".join(
        f"{boards[i].path.name} input {k}: {counts[i, k]}" for i, k in np.argwhere(counts)
    )
    if counts.sum() >= total:
        raise ObsNumError(obsnum, f"bank {bank}: every spectrum holds NaN or Inf ({where})")
    log.warning("ObsNum %d bank %d: %d of %d spectra hold NaN/Inf counts and are flagged "
                "(NaN): %s", obsnum, bank, counts.sum(), total, where)  # fmt: skip
