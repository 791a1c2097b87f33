"""Download archives: one zip of an attempt's products, QA and parameters per ObsNum or
combination, so that a page can offer each attempt as a single download."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

from ..io.atomic import atomic_path

# FITS, PNG and text compress a little; deflate level 1 keeps the job I/O-bound.
COMPRESSION = zipfile.ZIP_DEFLATED
LEVEL = 1


def write_archive(out: str | Path, members: Mapping[str, str | Path]) -> Path:
    """Zip ``{name in the archive: file}`` into ``out`` (atomically; a missing file is an error)."""
    missing = [str(p) for p in members.values() if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"cannot archive {out}: missing {', '.join(missing)}")
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", COMPRESSION, compresslevel=LEVEL) as zf:
        for name, path in sorted(members.items()):
            zf.write(path, arcname=name)
    return Path(out)


def archive_members(root: str, groups: Mapping[str, list[str]]) -> dict[str, str]:
    """``{"<root>/<group>/<file name>": file}`` for files grouped as e.g. srdp, qa, params."""
    members: dict[str, str] = {}
    for group, files in groups.items():
        for f in files:
            name = f"{root}/{group}/{Path(f).name}"
            if name in members and members[name] != str(f):
                raise ValueError(f"two files would be archived as {name}: {members[name]}, {f}")
            members[name] = str(f)
    return members
