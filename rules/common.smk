# Configuration, header scan and input functions shared by every rule.

import os
import sys

from lmtflow import layout
from lmtflow.config import validate_config
from lmtflow.errors import LmtflowError
from lmtflow.params import step_params
from lmtflow.combination import (
    COMBO_PATTERN,
    combo_name,
    configured_combinations,
    configured_obsnums,
)
from lmtflow.scan import scan_obsnum

try:
    config.update(validate_config(config))
    _missing = config["ingest"]["missing_roach"]
    OBS = {n: scan_obsnum(config["data_lmt"], n, _missing) for n in configured_obsnums(config)}
    COMBOS = {combo_name(c): [OBS[n] for n in c] for c in configured_combinations(config)}
except LmtflowError as exc:
    sys.stderr.write(f"lmtflow: {exc}\n")
    raise SystemExit(1)
for _info in OBS.values():
    for _warning in _info.warnings:
        sys.stderr.write(f"lmtflow: warning: {_warning}\n")

WORK = config["work_lmt"]
DATA = config["data_lmt"]
CAL_HEADERS = {info.cal.obsnum: info.cal for info in OBS.values()}


wildcard_constraints:
    obsnum=r"\d+",
    bank=r"\d",
    pid=r"[^/]+",
    src=r"[^/]+",
    combo=COMBO_PATTERN,
    step="calibrate|baseline|spectrum|grid",


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


def srdp_param_files(wildcards):
    """The parameter files of every step that made an ObsNum's SRDP (map or spectrum)."""
    steps = layout.MAP_STEPS if OBS[int(wildcards.obsnum)].is_map else layout.SPECTRUM_STEPS
    return [work(layout.PARAMS, pid=wildcards.pid, obsnum=wildcards.obsnum, bank=wildcards.bank,
                 step=step) for step in steps]


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
            products = ((layout.SRDP_CUBE, layout.SRDP_WEIGHT) if info.is_map
                        else (layout.SRDP_SPECTRUM, layout.SRDP_SPECTRUM_TXT))
            out += [work(p, **fields) for p in (*products, layout.SRDP_PARAMS)]
    return out


def raw_mb(wildcards):
    """Size (MB) of the raw netCDF files of this ObsNum and bank: what cluster jobs are sized by."""
    return sum(os.path.getsize(f) for f in raw_files(wildcards)) / 1e6


def sized(step, resource):
    """Resource callable: ``mem_mb`` or ``runtime`` of a step from the raw size (lmtflow.resources)."""
    from lmtflow import resources

    size = getattr(resources, resource)

    def _size(wildcards, attempt):
        return size(step, raw_mb(wildcards), attempt)

    return _size
