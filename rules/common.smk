# Configuration, header scan and input functions shared by every rule.

import sys

from lmtflow import layout
from lmtflow.config import validate_config
from lmtflow.errors import LmtflowError
from lmtflow.params import step_params
from lmtflow.scan import scan_obsnum

try:
    config.update(validate_config(config))
    OBS = {int(n): scan_obsnum(config["data_lmt"], int(n)) for n in config["obsnums"]}
except LmtflowError as exc:
    sys.stderr.write(f"lmtflow: {exc}\n")
    raise SystemExit(1)

WORK = config["work_lmt"]
DATA = config["data_lmt"]
CAL_HEADERS = {info.cal.obsnum: info.cal for info in OBS.values()}


wildcard_constraints:
    obsnum=r"\d+",
    bank=r"\d",
    pid=r"[^/]+",
    step="calibrate|baseline|grid",


def work(pattern, **fields):
    """A path of the work tree (layout pattern with some wildcards filled)."""
    return str(layout.path(WORK, pattern, **fields))


def header_of(obsnum):
    obsnum = int(obsnum)
    if obsnum in OBS:
        return OBS[obsnum].header
    return CAL_HEADERS[obsnum]


def raw_files(wildcards):
    """The raw netCDF files one ingest job reads (never written)."""
    from lmtflow.io.roach import find_roach_files, roach_inputs_for_bank

    hdr = header_of(wildcards.obsnum)
    boards = list(roach_inputs_for_bank(hdr.receiver, int(wildcards.bank)))
    roach = find_roach_files(DATA, int(wildcards.obsnum), boards)
    return [str(hdr.path)] + [str(p) for p in roach.values()]


def params_file(step):
    """Input function: the per-step parameter file of this ObsNum and bank."""

    def _params(wildcards):
        return work(layout.PARAMS, pid=wildcards.pid, obsnum=wildcards.obsnum,
                    bank=wildcards.bank, step=step)

    return _params


def resolved_params(wildcards):
    """Parameters of one step for one ObsNum and bank, resolved and derived."""
    return step_params(config, OBS[int(wildcards.obsnum)].header, int(wildcards.bank),
                       wildcards.step)


def tsys_file(wildcards):
    """The Tsys spectra made from the Cal ObsNum of this science ObsNum."""
    info = OBS[int(wildcards.obsnum)]
    return work(layout.TSYS, pid=info.cal_pid, obsnum=info.cal.obsnum, bank=wildcards.bank)


def tsys_params(wildcards):
    from lmtflow.params import merged_step

    p = merged_step(config, int(wildcards.obsnum), "calibrate")
    return {"bdrop": p["tsys_bdrop"], "edrop": p["tsys_edrop"]}


def all_products():
    """Every SRDP file the configured ObsNums produce."""
    out = []
    for info in OBS.values():
        for bank in info.banks:
            fields = dict(pid=info.pid, obsnum=info.obsnum, bank=bank, src=info.src)
            out += [work(layout.SRDP_CUBE, **fields), work(layout.SRDP_WEIGHT, **fields),
                    work(layout.SRDP_PARAMS, **fields)]
    return out
