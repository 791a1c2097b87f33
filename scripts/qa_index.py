# Snakemake script: every ObsNum and combination page of a project -> index.html (lmtflow.qa.pages).
from lmtflow.qa.pages import IndexEntry, Section, project_index

sm = snakemake  # noqa: F821 (injected by Snakemake)
entries = [IndexEntry(e["page"], [Section(s["qa"], s["plots"], s["files"]) for s in e["sections"]],
                      e.get("compare"))
           for e in sm.params.entries]  # fmt: skip
project_index(sm.output[0], sm.wildcards.pid, entries)
