# lmtflow: reduce LMT spectral-line ObsNums from raw netCDF to science-ready products.
#
#   snakemake --cores 8 --config obsnums=[79448] data_lmt=DIR work_lmt=DIR
#
# The config is validated against config/schema.yaml before anything runs; every ObsNum is
# described from its raw headers (lmtflow.scan). Rules are thin: the work is in lmtflow/.

import os

from lmtflow.hooks import one_reevaluation_timer, release_scheduler_timers

one_reevaluation_timer()  # survey-size projects: scheduler passes linear in the jobs


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


report: "report/workflow.rst"  # snakemake --report report.zip: QA plots and SRDP per ObsNum


include: "rules/common.smk"
include: "rules/params.smk"
include: "rules/ingest.smk"
include: "rules/calibrate.smk"
include: "rules/baseline.smk"
include: "rules/grid.smk"
include: "rules/products.smk"
include: "rules/spectrum.smk"
include: "rules/combination.smk"
include: "rules/rsr.smk"
include: "rules/qa.smk"
include: "rules/flags.smk"


rule all:
    input:
        all_products(),
        all_reports(),
    default_target: True


# The science-ready products only (no QA plots, pages or archives): lmtflow run --target science
rule science:
    input:
        all_products(),


# The run is over: do not wait ~1 s for Snakemake's idle scheduler timers (lmtflow/hooks.py).
onsuccess:
    release_scheduler_timers()


onerror:
    release_scheduler_timers()
