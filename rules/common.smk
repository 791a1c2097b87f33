# Configuration, header scan and input functions shared by every rule.

import os
import sys

from lmtflow import layout
from lmtflow.attempts import AttemptPlan, kind_of, name_of, suffix
from lmtflow.combination import COMBO_PATTERN
from lmtflow.config import validate_config
from lmtflow.errors import LmtflowError
from lmtflow.params import combination_params
from lmtflow.qa.registry import BEAM_PLOTS, plots_for
from lmtflow.targets import WorkTree, scan_config

try:
    config.update(validate_config(config))
    OBS, COMBOS = scan_config(config)
    PLAN = AttemptPlan(config, OBS)
    from lmtflow.flags.check import check_run

    for _warning in check_run(config, OBS):
        sys.stderr.write(f"lmtflow: warning: flags: {_warning}\n")
except LmtflowError as exc:
    sys.stderr.write(f"lmtflow: {exc}\n")
    raise SystemExit(1)
if not OBS:  # nothing to do is said out loud: how to name ObsNums, what $DATA_LMT holds
    from lmtflow.runconfig import nothing_to_do

    sys.stderr.write(nothing_to_do(config) + "\n")
for _info in OBS.values():
    for _warning in _info.warnings:
        sys.stderr.write(f"lmtflow: warning: {_warning}\n")

WORK = config["work_lmt"]
DATA = config["data_lmt"]
CAL_HEADERS = {info.cal.obsnum: info.cal for info in OBS.values()}
TREE = WorkTree(WORK, OBS, COMBOS, PLAN)
ATTEMPTS = ["", *(suffix(n) for n in PLAN.names)]  # {attempt} values: the base, then each


wildcard_constraints:
    obsnum=r"\d+",
    bank=r"\d",
    pid=r"[^/]+",
    src=r"[^/]+",
    combo=COMBO_PATTERN,
    attempt=r"(/attempts/[A-Za-z][A-Za-z0-9_-]*)?",
    step="calibrate|baseline|spectrum|grid|select|rsr_badlags|rsr_baseline|rsr_spectrum",


def work(pattern, **fields):
    """A path of the work tree: a layout pattern with some wildcards filled (the others, and
    ``{attempt}`` unless given, stay open for Snakemake to fill)."""
    return str(layout.path(WORK, pattern, **{"attempt": "{attempt}", **fields}))


def log_file(name, where=layout.OBSDIR, **fields):
    """A job's log in the work tree: ``<where>/logs/<name>``."""
    return work(os.path.join(where, "logs", name), **fields)


def benchmark_file(name, **fields):
    """A job's benchmark table in the work tree: ``<ObsNum dir>/benchmarks/<name>``."""
    return work(os.path.join(layout.OBSDIR, "benchmarks", name), **fields)


# --- Attempts (lmtflow.attempts): a step's input comes from the directory of the reduction
# that made it: the base's when the attempt does not change that step or any step before it.


def _wild(wildcards, **fields):
    return {**dict(wildcards.items()), **fields}


def at_step(pattern, owner_step, **fields):
    """Input function: ``pattern`` in the directory owning ``owner_step``'s output in this
    attempt."""

    def _input(wildcards):
        where = PLAN.owner(wildcards.attempt, wildcards.obsnum, wildcards.bank, owner_step)
        return work(pattern, **_wild(wildcards, attempt=where, **fields))

    return _input


def at_base(pattern, **fields):
    """A file every attempt shares with the base (raw SDFITS, the user's edit files)."""
    return work(pattern, attempt="", **fields)


def attempt_title(attempt):
    return "" if not attempt else f"  (attempt {name_of(attempt)})"


def header_of(obsnum):
    obsnum = int(obsnum)
    if obsnum in OBS:
        return OBS[obsnum].header
    return CAL_HEADERS[obsnum]


_RAW = {}  # (obsnum, bank) -> (files, MB): looked up once per run (raw data do not change)


def _raw(wildcards):
    from lmtflow.io.roach import find_roach_files, roach_inputs_for_bank

    key = (int(wildcards.obsnum), int(wildcards.bank))
    if key not in _RAW:
        hdr = header_of(key[0])
        roach = find_roach_files(DATA, key[0], list(roach_inputs_for_bank(hdr.receiver, key[1])))
        files = [str(hdr.path)] + [str(p) for p in roach.values()]
        _RAW[key] = (files, sum(os.path.getsize(f) for f in files) / 1e6)
    return _RAW[key]


def raw_files(wildcards):
    """The raw netCDF files one ingest job reads (never written)."""
    return list(_raw(wildcards)[0])


def params_file(step):
    """The per-step parameter file of this ObsNum, bank and attempt (Snakemake fills it)."""
    return work(layout.PARAMS, step=step)


def resolved_params(wildcards):
    """Parameters of one step for one ObsNum, bank and attempt, resolved and derived."""
    return PLAN.params(wildcards.attempt, wildcards.obsnum, wildcards.bank, wildcards.step)


def step_param_files(info, bank, attempt):
    """The parameter file of every step of an ObsNum's products in ``attempt`` (each from the
    directory that owns the step)."""
    return [work(layout.PARAMS, pid=info.pid, obsnum=info.obsnum, bank=bank, step=s,
                 attempt=PLAN.owner(attempt, info.obsnum, bank, s)) for s in layout.STEP_CHAINS[kind_of(info)]]


def srdp_param_files(wildcards):
    """The parameter files of every step that made an ObsNum's SRDP (map, spectrum, RSR)."""
    return step_param_files(OBS[int(wildcards.obsnum)], wildcards.bank, wildcards.attempt)


def tsys_path(info, bank, attempt):
    cal = info.cal.obsnum
    return work(layout.TSYS, pid=info.cal_pid, obsnum=cal, bank=bank,
                attempt=PLAN.tsys_owner(attempt, cal))  # fmt: skip


def tsys_file(wildcards):
    """The Tsys spectra made from the Cal ObsNum of this science ObsNum."""
    return tsys_path(OBS[int(wildcards.obsnum)], wildcards.bank, wildcards.attempt)


def tsys_params(wildcards):
    from lmtflow.params import merged_step

    p = merged_step(PLAN.config_of(wildcards.attempt), int(wildcards.obsnum), "calibrate")
    return {"bdrop": p["tsys_bdrop"], "edrop": p["tsys_edrop"]}


def all_products():
    """Every SRDP file of every ObsNum and combination, in the base and in every attempt."""
    return sorted({str(f) for a in ATTEMPTS for p in TREE.products(a) for f in p.files})


def raw_mb(wildcards):
    """Size (MB) of the raw netCDF files of this ObsNum and bank: what cluster jobs are sized by."""
    return _raw(wildcards)[1]


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


def member_owner(attempt, name, obsnum, bank, step):
    """``{attempt}`` of a member's file: ``step`` ``"read"`` (what the combination reads),
    ``"final"`` (its products and QA), ``"base"`` or a step name."""
    if step == "base":
        return ""
    if step == "final":
        return PLAN.final_owner(attempt, obsnum, bank)
    if step == "read":
        return PLAN.member_owner(attempt, [i.obsnum for i in COMBOS[name]], obsnum, bank)
    return PLAN.owner(attempt, obsnum, bank, step)


def member_files(pattern, name, bank, attempt, owner_step="read", **fields):
    """One file per member ObsNum of a combination (sorted), from its owning directory."""
    return [work(pattern, pid=i.pid, obsnum=i.obsnum, bank=bank, src=i.src,
                 attempt=member_owner(attempt, name, i.obsnum, bank, owner_step), **fields)
            for i in sorted(COMBOS[name], key=lambda i: i.obsnum)]  # fmt: skip


def combo_inputs(pattern, owner_step="read"):
    """Input function: one file per member ObsNum of the combination (see member_owner)."""

    def _inputs(wildcards):
        return member_files(pattern, wildcards.combo, wildcards.bank, wildcards.attempt,
                            owner_step)  # fmt: skip

    return _inputs


def combo_resolved_params(wildcards):
    infos = COMBOS[wildcards.combo]
    return combination_params(PLAN.config_of(wildcards.attempt), [i.header for i in infos],
                              int(wildcards.bank), wildcards.step)  # fmt: skip


def combo_resolved_params_json(wildcards):
    """The file's exact bytes (as lmtflow.io.atomic.write_json writes them)."""
    import json

    return json.dumps(combo_resolved_params(wildcards), sort_keys=True, indent=1) + "\n"


# --- Quality assessment and pages (rules/report.smk)


QA_PLANES = ("mom0", "mom1", "mom2", "peak", "rms", "radiometer")


def qa_plot_paths(plots, **fields):
    """Plot name -> PNG path (wildcards not in ``fields`` stay open)."""
    return {p.name: work(layout.QA_PLOT, plot=p.name, **fields) for p in plots}


# --- Snakemake's own report (snakemake --report report.zip): QA plots and SRDP per ObsNum


REPORT_DIR = os.path.join(workflow.basedir, "report")


def reported(path, caption, subcategory, combo=False, **labels):
    """``path`` marked for the report, in the category of its ObsNum or combination."""
    where = "combination {combo}{attempt}" if combo else "ObsNum {obsnum}{attempt}"
    return report(path, caption=os.path.join(REPORT_DIR, caption), category=where,
                  subcategory=subcategory, labels=labels or None)  # fmt: skip


def reported_plots(plots, combo=False):
    """QA plot outputs (as qa_plot_paths/combo_plot_paths) marked for the report."""
    paths = combo_plot_paths(plots) if combo else qa_plot_paths(plots)
    return {p.name: reported(paths[p.name], "qa_plot.rst", "QA plots, bank {bank}", combo,
                             plot=p.name, shows=p.caption) for p in plots}  # fmt: skip


def reported_srdp(pattern, combo=False):
    """An SRDP output marked for the report."""
    return reported(work(pattern), "srdp.rst", "science-ready products", combo,
                    file=os.path.basename(pattern).replace("{", "").replace("}", ""))  # fmt: skip


def qa_plane_paths(pattern, **fields):
    return {f"plane_{n}": work(pattern, plane=n, **fields) for n in QA_PLANES}


def qa_sections(info, attempt=""):
    """Per bank of an ObsNum in ``attempt``: its QA file, plots (name -> path), product files
    (each from the directory of the reduction that made it)."""
    if info.is_rsr:
        return rsr_qa_sections(info, attempt)
    sections = []
    for bank in info.banks:
        f = TREE.fields(info, bank, attempt)
        at = lambda step: {**f, "attempt": PLAN.owner(attempt, info.obsnum, bank, step)}
        products = ((layout.CUBE, layout.WEIGHT, layout.SRDP_CUBE, layout.SRDP_WEIGHT)
                    if info.is_map else (layout.SRDP_SPECTRUM, layout.SRDP_SPECTRUM_TXT))
        files = [work(layout.RAW_SDFITS, **{**f, "attempt": ""}), tsys_path(info, bank, attempt),
                 work(layout.CAL_SDFITS, **at("calibrate")),
                 work(layout.BASE_SDFITS, **at("baseline"))]  # fmt: skip
        files += [work(p, **f) for p in (*products, layout.SRDP_PARAMS)]
        if info.is_map:
            files += list(qa_plane_paths(layout.SRDP_PLANE, **f).values())
        files += step_param_files(info, bank, attempt)
        # the per-beam plots are the base's unless the attempt changes the spectra used
        plots = {p.name: work(layout.QA_PLOT, plot=p.name, **(at("select") if p.stage == "beams"
                                                              else f))
                 for p in plots_for(kind_of(info))}  # fmt: skip
        sections.append({"qa": work(layout.QA_NUMBERS, **f), "plots": plots, "files": files})
    return sections


def qa_params(wildcards, steps=None):
    """Parameter files the QA stages read: baseline, and grid (maps) or spectrum (Ps/Bs)."""
    info = OBS[int(wildcards.obsnum)]
    steps = steps or ("baseline", "grid" if info.is_map else "spectrum")
    return [work(layout.PARAMS, **_wild(wildcards, step=s, attempt=PLAN.owner(
                wildcards.attempt, wildcards.obsnum, wildcards.bank, s)))
            for s in steps]  # fmt: skip


def qa_beam_params(wildcards):
    """The per-beam QA reads the baselines and which spectra are used (not the gridding)."""
    return qa_params(wildcards, ("baseline", "select"))


def qa_parts(wildcards):
    """The per-stage QA numbers of one ObsNum and bank: the per-beam part from the directory
    that owns the spectra used (the ``select`` pseudo-step), the last part its own."""
    last = "cube" if OBS[int(wildcards.obsnum)].is_map else "spectrum"
    select = PLAN.owner(wildcards.attempt, wildcards.obsnum, wildcards.bank, "select")
    return [work(layout.QA_PART, **_wild(wildcards, stage="beams", attempt=select)),
            work(layout.QA_PART, stage=last)]  # fmt: skip


def _flat(sections):
    return [p for s in sections for p in (s["qa"], *s["plots"].values(), *s["files"])]


def qa_infos(pid=None):
    """ObsNums with QA pages: maps, Ps/Bs spectra and RSR."""
    return [i for i in OBS.values() if pid is None or i.pid == pid]


def obs_page(info, attempt=""):
    """README.html of an ObsNum in ``attempt`` (the base's when it changes nothing there)."""
    return work(layout.README, pid=info.pid, obsnum=info.obsnum,
                attempt=PLAN.obs_owner(attempt, info.obsnum))  # fmt: skip


def all_reports():
    """README.html of every ObsNum and combination (base and attempts), the project indexes,
    and with attempts configured, each attempt's archive and the attempts pages."""
    out = {str(p.page) for a in ATTEMPTS for p in TREE.products(a)}
    out.update(work(layout.PROJECT_INDEX, pid=i.pid) for i in OBS.values())
    if PLAN.names:
        out.update(str(p.archive) for a in ATTEMPTS for p in TREE.products(a))
        out.update(compare_pages())
    return sorted(out)


# --- Attempts pages and archives (rules/report.smk, section "Attempts")


def compare_pages():
    """The attempts page of every ObsNum and combination."""
    out = [work(layout.COMPARE, pid=i.pid, obsnum=i.obsnum) for i in OBS.values()]
    return out + [work(layout.COMBO_COMPARE, pid=combo_first(c).pid, combo=c) for c in COMBOS]


def label_parts(label, attempt):
    """(lmtflow.targets.Product, QA section) per bank of an ObsNum or combination in
    ``attempt``."""
    if label in COMBOS:
        banks = PLAN.combo_banks([i.obsnum for i in COMBOS[label]])
        return [(TREE.combo_product(label, b, attempt), s)
                for b, s in zip(banks, combo_sections(label, attempt))]  # fmt: skip
    info = OBS[int(label)]
    return [(TREE.obs_product(info, b, attempt), s)
            for b, s in zip(info.banks, qa_sections(info, attempt))]  # fmt: skip


def attempt_changes(label, attempt, bank):
    """``{step: {key: [base, attempt]}}`` of an ObsNum or combination."""
    if label in COMBOS:
        return PLAN.combo_changed(attempt, [i.obsnum for i in COMBOS[label]], bank)
    return PLAN.changed(attempt, int(label), bank)


def compare_columns(label):
    """Bank -> one column per attempt (base first) of an ObsNum or combination: its name, the
    parameters it changes, its QA section, its page and archive."""
    banks = {}
    for attempt in ATTEMPTS:
        for product, section in label_parts(label, attempt):
            banks.setdefault(product.bank, []).append({
                "name": name_of(attempt), "section": section, "page": str(product.page),
                "changed": attempt_changes(label, attempt, product.bank),
                "archive": str(product.archive)})  # fmt: skip
    return banks


def compare_inputs(label):
    """Everything an attempts page shows or links to."""
    out = set()
    for columns in compare_columns(label).values():
        for c in columns:
            out.update(_flat([c["section"]]))
            out.update((c["page"], c["archive"]))
    return sorted(out)


def archive_members(label, attempt):
    """``{name in the zip: file}`` of an ObsNum or combination in ``attempt``: the SRDP files,
    QA numbers and plots, and the parameter files of every bank."""
    from lmtflow.pipeline.archive import archive_members as members

    groups = {"srdp": [], "qa": [], "params": []}
    for product, section in label_parts(label, attempt):
        groups["srdp"] += [str(f) for f in product.files]
        groups["qa"] += [section["qa"], *section["plots"].values()]
        groups["params"] += [f for f in section["files"] if "/params/" in f]
    return members(f"{label}_{name_of(attempt)}", groups)


# --- RSR ObsNums (rules/rsr.smk)


def rsr_calibration_inputs(wildcards):
    from lmtflow.io.rsr import calibration_inputs

    info = OBS[int(wildcards.obsnum)]
    return [str(p) for p in calibration_inputs(DATA, info.header, info.cal)]


def rsr_chassis_files(wildcards):
    from lmtflow.io.rsr import chassis_files

    return [str(p) for p in chassis_files(DATA, int(wildcards.obsnum)).values()]


# --- Combination quality assessment (rules/report.smk, last section)


def combo_first(name):
    """The first (lowest) member ObsNum of a combination: its project, source and kind."""
    return TREE.combo_first(name)


def combo_kind(name):
    """QA product kind of a combination (lmtflow.qa.registry)."""
    first = combo_first(name)
    return ("rsr_combination" if first.is_rsr
            else "map_combination" if first.is_map else "spectrum_combination")  # fmt: skip


def qa_combos(pid=None):
    """Combinations with QA pages: of maps, Ps/Bs spectra or RSR."""
    return sorted(name for name in COMBOS if pid is None or combo_first(name).pid == pid)


def combo_product(pattern):
    """Input function: a product file of the combination (named by its first member's source)."""

    def _product(wildcards):
        return work(pattern, **_wild(wildcards, src=combo_first(wildcards.combo).src))

    return _product


def combo_param_files(name, **fields):  # fields: pid, bank, attempt
    """The combination's parameter files the QA reads: baseline + grid (maps), spectrum (Ps/Bs)
    or rsr_spectrum (RSR)."""
    first = combo_first(name)
    steps = (("rsr_spectrum",) if first.is_rsr
             else ("baseline", "grid") if first.is_map else ("spectrum",))  # fmt: skip
    return [work(layout.COMBO_PARAMS, combo=name, step=s, **fields) for s in steps]


def combo_qa_params(wildcards):
    return combo_param_files(wildcards.combo, pid=wildcards.pid, bank=wildcards.bank,
                             attempt=wildcards.attempt)  # fmt: skip


def combo_qa_parts(wildcards):
    stage = "cube" if combo_first(wildcards.combo).is_map else "spectrum"
    return [work(layout.COMBO_QA_PART, **_wild(wildcards, stage=stage))]


def combo_plot_paths(plots, **fields):
    """Plot name -> PNG path of a combination (wildcards not in ``fields`` stay open)."""
    return {p.name: work(layout.COMBO_QA_PLOT, plot=p.name, **fields) for p in plots}


def combo_member_pages(name, attempt=""):
    """ObsNum -> README.html of every member of a combination (in ``attempt``)."""
    return {str(i.obsnum): obs_page(i, attempt)
            for i in sorted(COMBOS[name], key=lambda i: i.obsnum)}  # fmt: skip


def combo_sections(name, attempt=""):
    """Per bank of a combination: its QA file, plots, product files and member pages."""
    if combo_first(name).is_rsr:
        return rsr_combo_sections(name, attempt)
    first, kind = combo_first(name), combo_kind(name)
    sections = []
    for bank in PLAN.combo_banks([i.obsnum for i in COMBOS[name]]):
        f = TREE.combo_fields(name, bank, attempt)
        if first.is_map:
            files = [work(p, **f) for p in (layout.COMBO_CUBE, layout.COMBO_WEIGHT)]
            files += list(qa_plane_paths(layout.COMBO_PLANE, **f).values())
        else:
            files = [work(p, **f) for p in (layout.COMBO_SPECTRUM, layout.COMBO_SPECTRUM_TXT)]
        files += combo_param_files(name, pid=first.pid, bank=bank, attempt=f["attempt"])
        sections.append({"qa": work(layout.COMBO_QA_NUMBERS, **f), "files": files,
                         "plots": combo_plot_paths(plots_for(kind), **f),
                         "members": combo_member_pages(name, attempt)})  # fmt: skip
    return sections


def combo_page_inputs(name, attempt=""):
    """Everything a combination's README.html shows or links to."""
    return _flat(combo_sections(name, attempt)) + list(combo_member_pages(name, attempt).values())


def combo_title(name, attempt=""):
    nums = ", ".join(str(i.obsnum) for i in sorted(COMBOS[name], key=lambda i: i.obsnum))
    return f"{combo_first(name).header.source}  ObsNums {nums}{attempt_title(attempt)}"


def combo_index_entries(pid):
    """The project index rows of the combinations of a project."""
    return [{"page": work(layout.COMBO_README, pid=pid, combo=c, attempt=""),
             "sections": combo_sections(c),
             "compare": work(layout.COMBO_COMPARE, pid=pid, combo=c) if PLAN.names else None}
            for c in qa_combos(pid)]  # fmt: skip


def obs_index_entries(pid):
    """The project index rows of the ObsNums of a project."""
    return [{"page": obs_page(i), "sections": qa_sections(i),
             "compare": work(layout.COMPARE, pid=pid, obsnum=i.obsnum) if PLAN.names else None}
            for i in qa_infos(pid)]  # fmt: skip


def index_inputs(pid):
    """Pages and shown files of a project's ObsNums and combinations (the index links them)."""
    out = []
    for e in obs_index_entries(pid) + combo_index_entries(pid):
        out += [e["page"], *_flat(e["sections"])] + ([e["compare"]] if e["compare"] else [])
    return out


# --- RSR quality assessment (rules/rsr.smk: rsr_qa, rsr_qa_combination; the pages are
# rules/report.smk's qa_page and combo_qa_page, which dispatch here for RSR)


def rsr_qa_sections(info, attempt=""):
    """The one section (pseudo-bank 0) of an RSR ObsNum page: QA file, plots, product files."""
    f = TREE.fields(info, 0, attempt)
    at = lambda step: {**f, "attempt": PLAN.owner(attempt, info.obsnum, 0, step)}
    files = [work(layout.RSR_CAL_SDFITS, **at("rsr_badlags")),
             work(layout.RSR_BASE_SDFITS, **at("rsr_baseline")),
             work(layout.RSR_BADLAGS, **at("rsr_badlags")),
             work(layout.RSR_BLANKING, **{**f, "attempt": ""})]  # fmt: skip
    files += [work(p, **f) for p in (layout.RSR_SPECTRUM, layout.RSR_SPECTRUM_TXT,
                                     layout.SRDP_PARAMS)]  # fmt: skip
    files += step_param_files(info, 0, attempt)
    return [{"qa": work(layout.QA_NUMBERS, **f), "files": files,
             "plots": qa_plot_paths(plots_for("rsr"), **f)}]  # fmt: skip


def rsr_combo_sections(name, attempt=""):
    """The one section of an RSR combination page: QA file, plots, products, member pages."""
    first = combo_first(name)
    f = TREE.combo_fields(name, 0, attempt)
    files = [work(p, **f) for p in (layout.RSR_COMBO_SPECTRUM, layout.RSR_COMBO_SPECTRUM_TXT)]
    files += combo_param_files(name, pid=first.pid, bank=0, attempt=f["attempt"])
    return [{"qa": work(layout.COMBO_QA_NUMBERS, **f), "files": files,
             "plots": combo_plot_paths(plots_for("rsr_combination"), **f),
             "members": combo_member_pages(name, attempt)}]  # fmt: skip


def rsr_spectrum_file(wildcards):
    """The spectrum of an RSR ObsNum (named by its source)."""
    return work(layout.RSR_SPECTRUM, **_wild(wildcards, src=OBS[int(wildcards.obsnum)].src))


def rsr_member_params(wildcards):
    """The rsr_baseline parameter file (badcb) of every member of an RSR combination."""
    return member_files(layout.PARAMS, wildcards.combo, wildcards.bank, wildcards.attempt,
                        "rsr_baseline", step="rsr_baseline")  # fmt: skip


def rsr_obsnum_regex():
    """Wildcard constraint matching the RSR ObsNums only (rsr_qa writes their QA numbers)."""
    return "|".join(str(o) for o, i in sorted(OBS.items()) if i.is_rsr) or "(?!)"


def rsr_combo_regex():
    """Wildcard constraint matching the RSR combinations only."""
    import re

    return "|".join(re.escape(c) for c in sorted(COMBOS) if combo_first(c).is_rsr) or "(?!)"


# --- Automatic flags (rules/flags.smk, lmtflow.flags.auto)


def auto_policies(wildcards):
    """The detector policies of an ObsNum and bank (the select step's flags), {} if none."""
    p = PLAN.params(wildcards.attempt, wildcards.obsnum, wildcards.bank, "select")
    return (p.get("flags") or {}).get("auto", {})


def auto_raw_policies(wildcards):
    """The policies of the detectors that run on the raw counts (calibrate's flags), {}."""
    p = PLAN.params(wildcards.attempt, wildcards.obsnum, wildcards.bank, "calibrate")
    return (p.get("flags") or {}).get("auto", {})


def auto_raw_input(wildcards):
    """The raw-count auto-flag file a calibrate job applies ([] with no detector on)."""
    if not auto_raw_policies(wildcards):
        return []
    return at_step(layout.AUTO_RAW_FLAGS, "calibrate")(wildcards)


def auto_flag_input(wildcards):
    """The generated auto-flag file a grid or spectrum job applies ([] with no detector on)."""
    if not auto_policies(wildcards):
        return []
    return at_step(layout.AUTO_FLAGS, "select")(wildcards)


def qa_flag_inputs(wildcards):
    """What the QA numbers read about flags: the baselined SDFITS (its FLG* keywords) and the
    auto-flag files; nothing when no flag rule or detector touches the ObsNum (the DAG stays
    as it was)."""
    info = OBS[int(wildcards.obsnum)]
    if info.is_rsr or not PLAN.config_of(wildcards.attempt).get("flags"):
        return []
    steps = layout.STEP_CHAINS[kind_of(info)]
    if not any("flags" in PLAN.params(wildcards.attempt, wildcards.obsnum, wildcards.bank, s)
               for s in steps):  # fmt: skip
        return []  # nothing touches this ObsNum, so its QA stays as it was
    base = at_step(layout.BASE_SDFITS, "baseline")(wildcards)
    autos = [auto_raw_input(wildcards)] if auto_raw_policies(wildcards) else []
    return [base, *autos, *([auto_flag_input(wildcards)] if auto_policies(wildcards) else [])]
