# Configuration, header scan and input functions shared by every rule.

import os
import sys

from lmtflow import layout
from lmtflow.config import validate_config
from lmtflow.errors import LmtflowError
from lmtflow.params import combination_params, step_params
from lmtflow.qa.registry import BEAM_PLOTS, plots_for
from lmtflow.combination import (
    COMBO_PATTERN,
    check_members,
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
    step="calibrate|baseline|spectrum|grid|rsr_badlags|rsr_baseline|rsr_spectrum",


def work(pattern, **fields):
    """A path of the work tree (layout pattern with some wildcards filled)."""
    return str(layout.path(WORK, pattern, **fields))


def log_file(name, where=layout.OBSDIR):
    """A job's log in the work tree: ``<where>/logs/<name>``."""
    return work(os.path.join(where, "logs", name))


def benchmark_file(name):
    """A job's benchmark table in the work tree: ``<ObsNum dir>/benchmarks/<name>``."""
    return work(os.path.join(layout.OBSDIR, "benchmarks", name))


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
    info = OBS[int(wildcards.obsnum)]
    steps = (layout.RSR_STEPS if info.is_rsr
             else layout.MAP_STEPS if info.is_map else layout.SPECTRUM_STEPS)  # fmt: skip
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
    """Every SRDP file the configured ObsNums produce (RSR: rules/rsr.smk all_rsr_products)."""
    out = []
    for info in OBS.values():
        if info.is_rsr:
            continue
        for bank in info.banks:
            fields = dict(pid=info.pid, obsnum=info.obsnum, bank=bank, src=info.src)
            products = ((layout.SRDP_CUBE, layout.SRDP_WEIGHT) if info.is_map
                        else (layout.SRDP_SPECTRUM, layout.SRDP_SPECTRUM_TXT))
            out += [work(p, **fields) for p in (*products, layout.SRDP_PARAMS)]
    return out


def raw_mb(wildcards):
    """Size (MB) of the raw netCDF files of this ObsNum and bank: what cluster jobs are sized by."""
    return sum(os.path.getsize(f) for f in raw_files(wildcards)) / 1e6


def combo_raw_mb(wildcards):
    """Size (MB) of the raw files of every member of a combination (this bank)."""
    from types import SimpleNamespace

    return sum(raw_mb(SimpleNamespace(obsnum=i.obsnum, bank=wildcards.bank))
               for i in COMBOS[wildcards.combo])


def sized(step, resource, data_mb=raw_mb):
    """Resource callable: ``mem_mb`` or ``runtime`` of a step, from the size of its raw data
    (``data_mb(wildcards)``, MB) through lmtflow.resources."""
    from lmtflow import resources

    size = getattr(resources, resource)

    def _size(wildcards, attempt):
        return size(step, data_mb(wildcards), attempt)

    return _size


# --- Parameter files (rules/params.smk)


def resolved_params_json(wildcards):
    """The file's exact bytes (as lmtflow.io.atomic.write_json writes them)."""
    import json

    return json.dumps(resolved_params(wildcards), sort_keys=True, indent=1) + "\n"


# --- Combinations of ObsNums (rules/combination.smk)


def combo_inputs(pattern):
    """Input function: one file per member ObsNum of the combination."""

    def _inputs(wildcards):
        return [work(pattern, pid=info.pid, obsnum=info.obsnum, bank=wildcards.bank, src=info.src)
                for info in sorted(COMBOS[wildcards.combo], key=lambda i: i.obsnum)]

    return _inputs


def combo_resolved_params(wildcards):
    infos = COMBOS[wildcards.combo]
    return combination_params(config, [i.header for i in infos], int(wildcards.bank),
                              wildcards.step)


def all_combinations():
    """Every product of the configured combinations (RSR: rules/rsr.smk)."""
    out = []
    for name, infos in COMBOS.items():
        first = min(infos, key=lambda i: i.obsnum)
        if first.is_rsr:
            continue
        products = ((layout.COMBO_CUBE, layout.COMBO_WEIGHT) if first.is_map
                    else (layout.COMBO_SPECTRUM, layout.COMBO_SPECTRUM_TXT))
        for bank in check_members(name, infos):
            out += [work(p, pid=first.pid, combo=name, bank=bank, src=first.src)
                    for p in products]
    return out


# --- Quality assessment and pages (rules/report.smk)


QA_PLANES = ("mom0", "mom1", "peak", "rms", "radiometer")


def qa_plot_paths(plots, **fields):
    """Plot name -> PNG path (wildcards not in ``fields`` stay open)."""
    return {p.name: work(layout.QA_PLOT, plot=p.name, **fields) for p in plots}


def qa_plane_paths(pattern, **fields):
    return {f"plane_{n}": work(pattern, plane=n, **fields) for n in QA_PLANES}


def qa_kind(info):
    """QA product kind of an ObsNum (lmtflow.qa.registry)."""
    return "map" if info.is_map else "spectrum"


def qa_sections(info):
    """Per bank of a map or spectrum ObsNum: its QA file, plots (name -> path), product files."""
    sections = []
    for bank in info.banks:
        f = dict(pid=info.pid, obsnum=info.obsnum, bank=bank, src=info.src)
        products = ((layout.CUBE, layout.WEIGHT, layout.SRDP_CUBE, layout.SRDP_WEIGHT)
                    if info.is_map else (layout.SRDP_SPECTRUM, layout.SRDP_SPECTRUM_TXT))
        files = [work(p, **f) for p in (layout.RAW_SDFITS, layout.CAL_SDFITS, layout.BASE_SDFITS,
                                         *products, layout.SRDP_PARAMS)]
        files.insert(2, work(layout.TSYS, pid=info.cal_pid, obsnum=info.cal.obsnum, bank=bank))
        if info.is_map:
            files += list(qa_plane_paths(layout.SRDP_PLANE, **f).values())
        steps = layout.MAP_STEPS if info.is_map else layout.SPECTRUM_STEPS
        files += [work(layout.PARAMS, step=s, **f) for s in steps]
        sections.append({"qa": work(layout.QA_NUMBERS, **f),
                         "plots": qa_plot_paths(plots_for(qa_kind(info)), **f), "files": files})
    return sections


def qa_params(wildcards):
    """Parameter files the QA stages read: baseline, and grid (maps) or spectrum (Ps/Bs)."""
    info = OBS[int(wildcards.obsnum)]
    return [work(layout.PARAMS, pid=wildcards.pid, obsnum=wildcards.obsnum, bank=wildcards.bank,
                 step=s) for s in ("baseline", "grid" if info.is_map else "spectrum")]


def qa_parts(wildcards):
    """The per-stage QA numbers of one ObsNum and bank."""
    last = "cube" if OBS[int(wildcards.obsnum)].is_map else "spectrum"
    return [work(layout.QA_PART, pid=wildcards.pid, obsnum=wildcards.obsnum, bank=wildcards.bank,
                 stage=s) for s in ("beams", last)]


def _flat(sections):
    return [p for s in sections for p in (s["qa"], *s["plots"].values(), *s["files"])]


def qa_infos(pid=None):
    """ObsNums with QA pages: maps and Ps/Bs spectra (RSR has its own)."""
    return [i for i in OBS.values() if not i.is_rsr and (pid is None or i.pid == pid)]


def all_reports():
    """QA numbers of every map and spectrum product, its README.html and every project index."""
    infos = qa_infos()
    out = [work(layout.README, pid=i.pid, obsnum=i.obsnum) for i in infos]
    out += [work(layout.PROJECT_INDEX, pid=pid) for pid in sorted({i.pid for i in infos})]
    return out


# --- RSR ObsNums (rules/rsr.smk)


def rsr_calibration_inputs(wildcards):
    from lmtflow.io.rsr import calibration_inputs

    info = OBS[int(wildcards.obsnum)]
    return [str(p) for p in calibration_inputs(DATA, info.header, info.cal)]


def rsr_chassis_files(wildcards):
    from lmtflow.io.rsr import chassis_files

    return [str(p) for p in chassis_files(DATA, int(wildcards.obsnum)).values()]


def all_rsr_products():
    """Spectra, ASCII tables and parameter files of every RSR ObsNum."""
    out = []
    for info in OBS.values():
        if info.is_rsr:
            f = dict(pid=info.pid, obsnum=info.obsnum, bank=0, src=info.src)
            out += [work(p, **f) for p in (layout.RSR_SPECTRUM, layout.RSR_SPECTRUM_TXT,
                                           layout.SRDP_PARAMS)]  # fmt: skip
    return out


def all_rsr_combinations():
    out = []
    for name, infos in COMBOS.items():
        first = min(infos, key=lambda i: i.obsnum)
        if first.is_rsr:
            check_members(name, infos)
            f = dict(pid=first.pid, combo=name, bank=0, src=first.src)
            out += [work(p, **f) for p in (layout.RSR_COMBO_SPECTRUM,
                                           layout.RSR_COMBO_SPECTRUM_TXT)]  # fmt: skip
    return out
