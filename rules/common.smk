# Configuration, header scan, wildcards, path helpers and the input functions every rule uses.
# The logic behind the input functions is in the library: lmtflow.rule_inputs (the files and
# values each job reads) and lmtflow.page_inputs (QA sections, project index rows, attempts
# pages, archives), over the paths of lmtflow.layout / lmtflow.targets and the attempt plan of
# lmtflow.attempts; tests/test_rule_inputs.py tests them without Snakemake.

import os
import sys

from lmtflow import layout
from lmtflow.attempts import AttemptPlan, kind_of
from lmtflow.combination import COMBO_PATTERN
from lmtflow.config import validate_config
from lmtflow.errors import LmtflowError
from lmtflow.page_inputs import PageInputs
from lmtflow.qa.registry import BEAM_PLOTS, plots_for
from lmtflow.rule_inputs import RuleInputs
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
TREE = WorkTree(WORK, OBS, COMBOS, PLAN)
INPUTS = RuleInputs(TREE, DATA)  # input files and values of every job (lmtflow.rule_inputs)
PAGES = PageInputs(INPUTS)  # QA sections, index rows, attempts pages (lmtflow.page_inputs)
ATTEMPTS = INPUTS.attempts  # {attempt} values: the base, then each


wildcard_constraints:
    obsnum=r"\d+",
    bank=r"\d",
    pid=r"[^/]+",
    src=r"[^/]+",
    combo=COMBO_PATTERN,
    attempt=r"(/attempts/[A-Za-z][A-Za-z0-9_-]*)?",
    step="calibrate|baseline|spectrum|grid|select|rsr_badlags|rsr_baseline|rsr_spectrum",


# --- Paths of the work tree (lmtflow.layout patterns; unfilled wildcards stay open)

work = INPUTS.work  # work(pattern, **fields): ``{attempt}`` stays open unless given
at_base = INPUTS.at_base  # a file every attempt shares with the base (raw SDFITS, edit files)


def log_file(name, where=layout.OBSDIR, **fields):
    """A job's log in the work tree: ``<where>/logs/<name>``."""
    return work(os.path.join(where, "logs", name), **fields)


def benchmark_file(name, **fields):
    """A job's benchmark table in the work tree: ``<ObsNum dir>/benchmarks/<name>``."""
    return work(os.path.join(layout.OBSDIR, "benchmarks", name), **fields)


def params_file(step):
    """The per-step parameter file of this ObsNum, bank and attempt (Snakemake fills it)."""
    return work(layout.PARAMS, step=step)


qa_plane_paths = INPUTS.plane_paths  # {"plane_mom0": path, ...} of a planes pattern
all_products = INPUTS.all_products  # what the all and science rules ask for
all_reports = PAGES.all_reports  # and the pages, indexes, archives, attempts pages


# --- Input functions (each takes the wildcards; lmtflow.rule_inputs.RuleInputs). A step's
# input comes from the directory of the reduction that made it: the base's when the attempt
# does not change that step or any step before it (lmtflow.attempts).

at_step = INPUTS.at_step  # at_step(pattern, owner_step): input function
raw_files = INPUTS.raw_files
resolved_params = INPUTS.resolved_params
resolved_params_json = INPUTS.resolved_params_json
srdp_param_files = INPUTS.srdp_param_files
tsys_file = INPUTS.tsys_file
tsys_params = INPUTS.tsys_params
qa_params = INPUTS.qa_params
qa_beam_params = INPUTS.qa_beam_params
qa_parts = INPUTS.qa_parts
obs_product = INPUTS.obs_product  # obs_product(pattern): an SRDP file, named by its source
# combinations (rules/combination.smk, rules/qa.smk)
combo_inputs = INPUTS.combo_inputs  # combo_inputs(pattern, owner_step): one file per member
combo_product = INPUTS.combo_product  # combo_product(pattern): named by the first member
combo_resolved_params = INPUTS.combo_resolved_params
combo_resolved_params_json = INPUTS.combo_resolved_params_json
combo_qa_params = INPUTS.combo_qa_params
combo_qa_parts = INPUTS.combo_qa_parts
# RSR ObsNums (rules/rsr.smk)
rsr_calibration_inputs = INPUTS.rsr_calibration_inputs
rsr_chassis_files = INPUTS.rsr_chassis_files
rsr_spectrum_file = INPUTS.rsr_spectrum_file
rsr_member_params = INPUTS.rsr_member_params
rsr_obsnum_regex = INPUTS.rsr_obsnum_regex
rsr_combo_regex = INPUTS.rsr_combo_regex
# automatic flags (rules/flags.smk, lmtflow.flags.auto)
auto_policies = INPUTS.auto_policies
auto_raw_policies = INPUTS.auto_raw_policies
auto_raw_input = INPUTS.auto_raw_input
auto_flag_input = INPUTS.auto_flag_input
qa_flag_inputs = INPUTS.qa_flag_inputs
combo_auto_flags = INPUTS.combo_auto_flags


# --- Cluster resources (lmtflow.resources): from the size of a job's raw data

raw_mb = INPUTS.raw_mb  # MB of the raw files of this ObsNum and bank
combo_raw_mb = INPUTS.combo_raw_mb  # ... of every member of a combination


def sized(step, resource, data_mb=raw_mb):
    """Resource callable: ``mem_mb`` or ``runtime`` of a step, from the size of its raw data
    (``data_mb(wildcards)``, MB) through lmtflow.resources."""
    from lmtflow import resources

    size = getattr(resources, resource)

    def _size(wildcards, attempt):
        return size(step, data_mb(wildcards), attempt)

    return _size


# --- Snakemake's own report (snakemake --report report.zip): QA plots and SRDP per ObsNum


REPORT_DIR = os.path.join(workflow.basedir, "report")


def reported(path, caption, subcategory, combo=False, **labels):
    """``path`` marked for the report, in the category of its ObsNum or combination."""
    where = "combination {combo}{attempt}" if combo else "ObsNum {obsnum}{attempt}"
    return report(path, caption=os.path.join(REPORT_DIR, caption), category=where,
                  subcategory=subcategory, labels=labels or None)  # fmt: skip


def reported_plots(plots, combo=False):
    """QA plot outputs (plot name -> PNG with open wildcards) marked for the report."""
    paths = INPUTS.combo_plot_paths(plots) if combo else INPUTS.plot_paths(plots)
    return {p.name: reported(paths[p.name], "qa_plot.rst", "QA plots, bank {bank}", combo,
                             plot=p.name, shows=p.caption) for p in plots}  # fmt: skip


def reported_srdp(pattern, combo=False):
    """An SRDP output marked for the report."""
    return reported(work(pattern), "srdp.rst", "science-ready products", combo,
                    file=os.path.basename(pattern).replace("{", "").replace("}", ""))  # fmt: skip
