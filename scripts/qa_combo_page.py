# Snakemake script: QA numbers + plots + products of a combination -> its README.html.
from lmtflow.qa.pages import Section, product_page

sm = snakemake  # noqa: F821 (injected by Snakemake)
sections = [Section(s["qa"], s["plots"], s["files"], s["members"]) for s in sm.params.sections]
product_page(sm.output[0], sm.params.title, sections, index=sm.params.index)
