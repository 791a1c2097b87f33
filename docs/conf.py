"""Sphinx configuration of the lmtflow documentation (``sphinx-build -W docs docs/_build``).

Pages are Markdown (MyST). The parameter reference and the SDFITS column table are generated
at build time from ``config/schema.yaml`` and ``lmtflow.io.sdfits_columns`` (the single
sources), into ``docs/_generated/`` (not committed).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmtflow import __version__  # noqa: E402
from lmtflow.docs_generate import write_generated  # noqa: E402

project = "lmtflow"
author = "the lmtflow developers"
release = __version__
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "README.md"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
graphviz_output_format = "svg"
html_theme = "alabaster"
html_theme_options = {"page_width": "1280px", "sidebar_width": "240px"}
html_static_path = []


def _generate(app) -> None:  # noqa: ANN001 - Sphinx's application object
    write_generated(Path(app.srcdir) / "_generated")


def setup(app) -> None:  # noqa: ANN001
    app.connect("builder-inited", _generate)
