"""Compare the products of two work trees, byte for byte except what must differ.

A refactoring (or a new feature that should change nothing by default) must leave every
product as it was. :func:`diff_trees` walks two work trees and reports each file that is
missing on one side or differs:

* FITS and SDFITS files: every HDU's header (without the cards that record when or how the
  file was written: ``DATE``, ``CHECKSUM``, ``DATASUM``) and the exact bytes of its data;
* zip archives: the same rules for each member (a zip records the members' file times);
* any other file: its bytes.

Logs, benchmark records and Snakemake's state are not products and are left out.

    python -m lmtflow.treediff WORK_A WORK_B      # prints the differences, exit 1 if any
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

from astropy.io import fits

IGNORED_CARDS = frozenset({"DATE", "CHECKSUM", "DATASUM"})
SKIPPED_DIRS = frozenset({"logs", "benchmarks", ".snakemake", "__pycache__"})
SKIPPED_SUFFIXES = frozenset({".log"})
FITS_SUFFIXES = frozenset({".fits", ".sdfits", ".fit"})


def _files(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        skipped = SKIPPED_DIRS & set(rel.parts[:-1]) or path.suffix in SKIPPED_SUFFIXES
        if path.is_file() and not skipped:
            out[rel.as_posix()] = path
    return out


def _sha256(data: bytes | Path) -> str:
    h = hashlib.sha256()
    if isinstance(data, bytes):
        h.update(data)
        return h.hexdigest()
    with open(data, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _cards(header: fits.Header) -> list[tuple[str, str]]:
    return [(c.keyword, str(c.value)) for c in header.cards if c.keyword not in IGNORED_CARDS]


def _fits_differences(a: bytes | Path, b: bytes | Path) -> list[str]:
    """What differs between two FITS files: HDU count, header cards, data bytes."""

    def _open(x: bytes | Path) -> fits.HDUList:
        return fits.open(io.BytesIO(x) if isinstance(x, bytes) else x, memmap=False)

    with _open(a) as ha, _open(b) as hb:
        if len(ha) != len(hb):
            return [f"{len(ha)} HDUs against {len(hb)}"]
        out = []
        for i, (x, y) in enumerate(zip(ha, hb, strict=True)):
            ca, cb = _cards(x.header), _cards(y.header)
            if ca != cb:
                changed = sorted({k for k, _ in set(ca) ^ set(cb)})
                out.append(f"HDU {i} header differs in {', '.join(changed) or 'card order'}")
            raw_a, raw_b = _data_bytes(ha, i, a), _data_bytes(hb, i, b)
            if raw_a != raw_b:
                out.append(f"HDU {i} data differ")
        return out


def _data_bytes(hdul: fits.HDUList, index: int, source: bytes | Path) -> str:
    """sha256 of the HDU's data section as stored (no decoding, no scaling)."""
    info = hdul.fileinfo(index)
    start, span = info["datLoc"], info["datSpan"]
    if isinstance(source, bytes):
        return _sha256(source[start : start + span])
    with open(source, "rb") as f:
        f.seek(start)
        h = hashlib.sha256()
        left = span
        while left > 0:
            block = f.read(min(left, 1 << 22))
            if not block:
                break
            h.update(block)
            left -= len(block)
        return h.hexdigest()


def _zip_differences(a: Path, b: Path) -> list[str]:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        na, nb = set(za.namelist()), set(zb.namelist())
        out = [f"member {m} only in the first" for m in sorted(na - nb)]
        out += [f"member {m} only in the second" for m in sorted(nb - na)]
        for name in sorted(na & nb):
            out += [f"member {name}: {d}" for d in _content_differences(
                name, za.read(name), zb.read(name))]  # fmt: skip
        return out


def _content_differences(name: str, a: bytes | Path, b: bytes | Path) -> list[str]:
    if Path(name).suffix in FITS_SUFFIXES:
        return _fits_differences(a, b)
    return [] if _sha256(a) == _sha256(b) else ["bytes differ"]


def diff_trees(a: str | Path, b: str | Path) -> list[str]:
    """Every difference between the products under ``a`` and ``b``, one line each."""
    fa, fb = _files(Path(a)), _files(Path(b))
    out = [f"{rel}: only in {a}" for rel in sorted(fa.keys() - fb.keys())]
    out += [f"{rel}: only in {b}" for rel in sorted(fb.keys() - fa.keys())]
    for rel in sorted(fa.keys() & fb.keys()):
        if fa[rel].suffix == ".zip":
            found = _zip_differences(fa[rel], fb[rel])
        else:
            found = _content_differences(rel, fa[rel], fb[rel])
        out += [f"{rel}: {d}" for d in found]
    return out


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m lmtflow.treediff WORK_A WORK_B", file=sys.stderr)
        return 2
    differences = diff_trees(*args)
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
