"""Find out from the raw headers what an ObsNum is and what it needs.

The user names ObsNums only; instrument, mode, calibration ObsNum, source, project and banks
come from here. Problems (missing files, a Cal given as a science ObsNum, a missing Cal,
another instrument) are reported before any job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import LmtflowError, ObsNumError
from .io.ifproc import IfProcHeader, find_ifproc, read_header
from .io.roach import find_roach_files, roach_inputs_for_bank
from .layout import safe_source

SUPPORTED_PROGRAMS = ("Map",)


@dataclass(frozen=True)
class ObsInfo:
    """What the workflow needs to know about one science ObsNum."""

    obsnum: int
    header: IfProcHeader
    cal: IfProcHeader

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


def read_obs_header(data_lmt: str | Path, obsnum: int) -> IfProcHeader:
    """The ifproc header of ``obsnum``, with errors that name the ObsNum."""
    try:
        return read_header(find_ifproc(data_lmt, obsnum))
    except ObsNumError:
        raise
    except LmtflowError as exc:
        raise ObsNumError(obsnum, str(exc)) from exc


def scan_obsnum(data_lmt: str | Path, obsnum: int) -> ObsInfo:
    """Check a science ObsNum and its Cal ObsNum and describe them."""
    header = read_obs_header(data_lmt, obsnum)
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
        cal = read_obs_header(data_lmt, header.calobsnum)
    except ObsNumError as exc:
        raise ObsNumError(
            obsnum, f"its calibration ObsNum {header.calobsnum} cannot be used: {exc.problem}"
        ) from exc
    if cal.obspgm != "Cal":
        raise ObsNumError(
            obsnum, f"CalObsNum {header.calobsnum} has ObsPgm {cal.obspgm!r}, not 'Cal'"
        )
    if not header.banks:
        raise ObsNumError(obsnum, "no bank has a non-zero LineFreq")
    for bank in header.banks:
        boards = list(roach_inputs_for_bank(header.receiver, bank))
        for num, hdr in ((obsnum, header), (header.calobsnum, cal)):
            if not find_roach_files(data_lmt, num, boards):
                raise ObsNumError(
                    num, f"no roach files for bank {bank} of {hdr.receiver} (roach{boards})"
                )
    return ObsInfo(obsnum, header, cal)
