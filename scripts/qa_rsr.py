# Snakemake script: RSR ObsNum (with its raw files) or combination -> RSR QA plots and numbers.
from lmtflow.pipeline.runner import setup_logging
from lmtflow.qa.run import rsr_stage

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm.log[0])


def members(files):
    """One entry per member ObsNum (a single ObsNum's input is one path)."""
    return [files] if isinstance(files, str) else list(files)


rsr_stage(
    members(sm.input.base), members(sm.input.badlags), members(sm.input.blanking),
    members(sm.input.member_params), sm.input.spectrum, members(sm.input.params),
    {k: v for k, v in sm.output.items() if k != "numbers"}, sm.output.numbers,
    kind=sm.params.kind, data_lmt=sm.params.get("data_lmt"), auto_flags=sm.input.get("auto"),
)  # fmt: skip
