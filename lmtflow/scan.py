"""Find out from the raw headers what an ObsNum is and what it needs.

The user names ObsNums only; instrument, mode, calibration ObsNum, source, project and banks
come from here. Problems (missing files, a Cal given as a science ObsNum, a missing Cal,
another instrument) are reported before any job runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import LmtflowError, ObsNumError
from .io.ifproc import IfProcHeader, find_ifproc, read_header
from .io.roach import find_roach_files, roach_inputs_for_bank
from .io.rsr import RsrFileError, RsrHeader, is_rsr_obsnum, read_rsr_header
from .layout import safe_source

SUPPORTED_PROGRAMS = ("Map", "Ps", "Bs")
MissingRoach = Literal["warn", "fail"]


@dataclass(frozen=True)
class ObsInfo:
    """What the workflow needs to know about one science ObsNum."""

    obsnum: int
    header: IfProcHeader | RsrHeader
    cal: IfProcHeader | RsrHeader
    warnings: tuple[str, ...] = ()
    """Problems the reduction works around (missing roach files), for the user to see."""

    @property
    def pid(self) -> str:
        return safe_source(self.header.project_id)

    @property
    def cal_pid(self) -> str:
        return safe_source(self.cal.project_id)

    @property
    def src(self) -> str:
        return safe_source(self.header.source)

    @property
    def banks(self) -> list[int]:
        return self.header.banks

    @property
    def is_map(self) -> bool:
        """Maps become cubes; Ps and Bs become spectra."""
        return self.header.obspgm == "Map"

    @property
    def is_rsr(self) -> bool:
        """RSR ObsNums (chassis files, rules/rsr.smk) have one pseudo-bank 0."""
        return isinstance(self.header, RsrHeader)


def read_obs_header(
    data_lmt: str | Path, obsnum: int, read: Callable[[Path], IfProcHeader] = read_header
) -> IfProcHeader:
    """The ifproc header of ``obsnum``, with errors that name the ObsNum (``read``: a header
    reader, e.g. :class:`lmtflow.header_cache.HeaderCache`'s)."""
    try:
        header = read(find_ifproc(data_lmt, obsnum))
    except ObsNumError as exc:
        rsr = sorted(Path(data_lmt).glob(f"RedshiftChassis*/RedshiftChassis*_{obsnum:06d}_*.nc"))
        if rsr:
            raise ObsNumError(
                obsnum,
                f"is an RSR ObsNum ({rsr[0].name}, no ifproc file); RSR is not reduced "
                "by this version",
            ) from exc
        raise
    except LmtflowError as exc:
        raise ObsNumError(obsnum, str(exc)) from exc
    if header.obsnum != obsnum:
        raise ObsNumError(obsnum, f"{header.path} holds Header.Dcs.ObsNum {header.obsnum}")
    return header


def missing_roach_files(data_lmt: str | Path, header: IfProcHeader) -> dict[int, list[int]]:
    """Per bank, the roach boards of ``header``'s ObsNum that have no file."""
    out = {}
    for bank in header.banks:
        boards = list(roach_inputs_for_bank(header.receiver, bank))
        found = find_roach_files(data_lmt, header.obsnum, boards)
        out[bank] = [n for n in boards if n not in found]
    return out


def scan_obsnum(
    data_lmt: str | Path,
    obsnum: int,
    missing_roach: MissingRoach = "warn",
    read: Callable[[Path], IfProcHeader] = read_header,
) -> ObsInfo:
    """Check a science ObsNum and its Cal ObsNum and describe them.

    A missing roach file is an error with ``missing_roach="fail"``; with ``"warn"`` the
    other beams are reduced and :attr:`ObsInfo.warnings` says which files are missing.
    RSR ObsNums (chassis files) are described by :func:`scan_rsr_obsnum`.
    """
    if is_rsr_obsnum(data_lmt, obsnum):
        return scan_rsr_obsnum(data_lmt, obsnum)
    header = read_obs_header(data_lmt, obsnum, read)
    if header.obspgm == "Cal":
        raise ObsNumError(
            obsnum, "is a calibration (ObsPgm 'Cal'); name the science ObsNum that uses it"
        )
    if header.obspgm not in SUPPORTED_PROGRAMS:
        raise ObsNumError(
            obsnum,
            f"ObsPgm {header.obspgm!r} is not reduced by this version "
            f"(supported: {', '.join(SUPPORTED_PROGRAMS)})",
        )
    if header.calobsnum <= 0:
        raise ObsNumError(obsnum, "Header.IfProc.CalObsNum is missing or not set")
    try:
        cal = read_obs_header(data_lmt, header.calobsnum, read)
    except ObsNumError as exc:
        raise ObsNumError(
            obsnum, f"its calibration ObsNum {header.calobsnum} cannot be used: {exc.problem}"
        ) from exc
    if cal.obspgm != "Cal":
        raise ObsNumError(
            obsnum, f"CalObsNum {header.calobsnum} has ObsPgm {cal.obspgm!r}, not 'Cal'"
        )
    if cal.receiver != header.receiver:
        raise ObsNumError(
            obsnum, f"receiver {header.receiver} but its CalObsNum {cal.obsnum} is {cal.receiver}"
        )
    if not header.banks:
        raise ObsNumError(obsnum, "no bank has a non-zero LineFreq")
    warnings = []
    for hdr in (header, cal):
        role = "" if hdr is header else f" (the Cal of {obsnum})"
        for bank, missing in missing_roach_files(data_lmt, hdr).items():
            if not missing:
                continue
            boards = list(roach_inputs_for_bank(hdr.receiver, bank))
            what = f"bank {bank}: no file for roach{missing} in {Path(data_lmt) / 'spectrometer'}"
            if len(missing) == len(boards) or missing_roach == "fail":
                raise ObsNumError(hdr.obsnum, what + role)
            warnings.append(
                f"ObsNum {hdr.obsnum}{role} {what}; the beams of the other boards are reduced"
            )
    return ObsInfo(obsnum, header, cal, tuple(warnings))


def _rsr_header(data_lmt: str | Path, obsnum: int, role: str = "") -> RsrHeader:
    try:
        return read_rsr_header(data_lmt, obsnum)
    except RsrFileError as exc:
        problem = f"is an RSR ObsNum{role} whose files cannot be used: {exc}"
        raise ObsNumError(obsnum, problem) from exc


def scan_rsr_obsnum(data_lmt: str | Path, obsnum: int) -> ObsInfo:
    """Check an RSR Bs ObsNum and its Cal ObsNum (chassis headers) and describe them.

    A chassis without a file is reduced without it (a warning); the Cal must have a file for
    every chassis the Bs ObsNum has.
    """
    header = _rsr_header(data_lmt, obsnum)
    if header.obspgm == "Cal":
        raise ObsNumError(
            obsnum, "is an RSR calibration (ObsPgm 'Cal'); name the Bs ObsNum that uses it"
        )
    if header.obspgm != "Bs":
        raise ObsNumError(obsnum, f"RSR ObsPgm {header.obspgm!r} is not reduced (only Bs)")
    if header.calobsnum <= 0 or not is_rsr_obsnum(data_lmt, header.calobsnum):
        raise ObsNumError(
            obsnum, f"its RSR calibration ObsNum {header.calobsnum} has no chassis files"
        )
    cal = _rsr_header(data_lmt, header.calobsnum, f" (the Cal of {obsnum})")
    if cal.obspgm != "Cal":
        raise ObsNumError(obsnum, f"CalObsNum {cal.obsnum} has ObsPgm {cal.obspgm!r}, not 'Cal'")
    missing = sorted(set(header.chassis) - set(cal.chassis))
    if missing:
        raise ObsNumError(obsnum, f"its Cal {cal.obsnum} has no file of chassis {missing}")
    warnings = []
    if len(header.chassis) < 4:
        absent = sorted(set(range(4)) - set(header.chassis))
        warnings.append(f"RSR ObsNum {obsnum}: no file of chassis {absent}; the others are reduced")
    return ObsInfo(obsnum, header, cal, tuple(warnings))
