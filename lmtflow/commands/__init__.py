"""Subcommands of ``lmtflow`` that steer the pipeline: info, project, run, status.

Each module registers its parser with ``add(subparsers)`` (listed in :data:`COMMANDS`, which
``lmtflow.cli`` appends to its ``_SUBCOMMANDS``) and does its work through the library, the
same functions the rules call. Heavy imports happen inside the commands, so ``lmtflow --help``
stays fast.
"""

from __future__ import annotations

from . import info, project, run, status

COMMANDS = [info.add, project.add, run.add, status.add]
