"""A checkout of another git revision beside this one, for the tools that compare the two
(tools/same_products.py, tools/same_dag.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
"""This checkout (the repository root)."""


@contextmanager
def revision_checkout(root: Path, revision: str, keep: bool) -> Iterator[Path]:
    """A detached git worktree of ``revision`` at ``root/old_checkout`` (reused if there),
    removed at the end unless ``keep``."""
    old = root / "old_checkout"
    if not old.exists():
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(old),
                        revision], check=True)  # fmt: skip
    try:
        yield old
    finally:
        if not keep:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(old)],
                           check=False)  # fmt: skip
