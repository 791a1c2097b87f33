# Snakemake script: every attempt's QA of one ObsNum or combination -> attempts.html.
from pathlib import Path

from lmtflow.qa.compare import Column, comparison_page
from lmtflow.qa.pages import Section

sm = snakemake  # noqa: F821 (injected by Snakemake)


def column(c: dict) -> Column:
    s = c["section"]
    section = Section(s["qa"], s["plots"], s["files"], s.get("members", {}))
    return Column(c["name"], section, c["changed"], Path(c["archive"]), Path(c["page"]))


banks = {int(b): [column(c) for c in cols] for b, cols in sm.params.banks.items()}
comparison_page(sm.output[0], sm.params.title, banks, index=sm.params.index)
