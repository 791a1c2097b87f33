"""Which chassis/boards and frequency ranges to blank (reference §3.5, §4.3).

Sources: ``#BADCB`` lines of the badlags file, the ``badcb`` parameter (``"c/b"`` strings), and
the editable blanking file, whose non-comment lines are

* ``obsnums chassis`` -- drop that chassis;
* ``obsnums chassis {board: [(f1, f2)], ...}`` -- blank those ranges (GHz) of those boards;
* ``obsnums,chassis,board`` -- an rfile line: blank the whole board.

``obsnums`` is ``a``, ``a,b,c`` or the inclusive range ``a-b``; ``-1`` means every ObsNum.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..io.atomic import atomic_path
from ..io.rsr import RsrFileError
from .constants import NBOARD, NCHASSIS

TEMPLATE = """\
# lmtflow RSR blanking file of ObsNum {obsnum}; edit freely, one rule a line:
#   {obsnum} 2                        drop chassis 2
#   {obsnum} 3 {{5: [(95.5, 97.0)]}}     blank 95.5-97.0 GHz of chassis 3 board 5
#   {obsnum},1,4                      blank board 4 of chassis 1 (rfile line)
"""


def _obsnums(token: str) -> set[int] | None:
    if token.strip() == "-1":
        return None
    out: set[int] = set()
    for part in token.split(","):
        if "-" in part.strip("-"):
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def write_template(path: str | Path, obsnum: int) -> Path:
    """An all-comment blanking file to edit."""
    with atomic_path(path) as tmp:
        tmp.write_text(TEMPLATE.format(obsnum=obsnum))
    return Path(path)


@dataclass(frozen=True)
class BlankEntry:
    """One line of a blanking file: ``obsnums`` (None: every ObsNum), ``chassis``, ``board``
    (None: the whole chassis) and ``ranges`` (GHz; None: the whole board or chassis)."""

    line: int
    obsnums: frozenset[int] | None
    chassis: int
    board: int | None = None
    ranges: tuple[tuple[float, float], ...] | None = None

    def selects(self, obsnum: int) -> bool:
        return self.obsnums is None or obsnum in self.obsnums


def read_blanking(path: str | Path) -> list[BlankEntry]:
    """The rules of a blanking file, in file order; errors name the file and line."""
    out: list[BlankEntry] = []
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.split("#")[0].strip()
        if not line:
            continue
        try:
            if "{" not in line and line.count(",") == 2 and " " not in line:
                o, c, b = (int(v) for v in line.split(","))
                out.append(BlankEntry(n, None if o == -1 else frozenset([o]), c, b))
                continue
            head, _, rest = line.partition("{")
            parts = head.split()
            if len(parts) != 2:
                raise ValueError("expected 'obsnums chassis [{board: [(f1, f2)]}]'")
            nums = _obsnums(parts[0])
            nums = None if nums is None else frozenset(nums)
            c = int(parts[1])
            if not rest:
                out.append(BlankEntry(n, nums, c))
                continue
            for text in ("{" + rest).replace("}", "}\n").splitlines():
                if text.strip():
                    for b, ranges in ast.literal_eval(text.strip()).items():
                        pairs = tuple((float(f1), float(f2)) for f1, f2 in ranges)
                        out.append(BlankEntry(n, nums, c, int(b), pairs))
        except (ValueError, SyntaxError, TypeError, IndexError, AttributeError) as exc:
            raise RsrFileError(f"{path}:{n}: cannot parse {raw!r} ({exc})") from exc
    return out


def blank_mask(
    obsnum: int,
    freq: NDArray,
    badcb: Iterable[tuple[int, int, int]] = (),
    badcb_param: Iterable[str] = (),
    blanking: str | Path | None = None,
) -> NDArray[np.bool_]:
    """(4, 6, 256) True where channels of ``obsnum`` are blanked (freq is (6, 256) GHz)."""
    mask = np.zeros((NCHASSIS, NBOARD, freq.shape[-1]), dtype=bool)
    for o, c, b in badcb:
        if o in (obsnum, -1):
            mask[c, b] = True
    for item in badcb_param:
        try:
            c, b = (int(v) for v in str(item).split("/"))
        except ValueError as exc:
            raise ValueError(f"badcb entry {item!r}: expected 'chassis/board'") from exc
        mask[c, b] = True
    if blanking is None:
        return mask
    for e in read_blanking(blanking):
        if not e.selects(obsnum):
            continue
        try:
            if e.board is None:
                mask[e.chassis] = True
            elif e.ranges is None:
                mask[e.chassis, e.board] = True
            else:
                for f1, f2 in e.ranges:
                    mask[e.chassis, e.board] |= (freq[e.board] >= f1) & (freq[e.board] <= f2)
        except IndexError as exc:
            raise RsrFileError(f"{blanking}:{e.line}: chassis {e.chassis} board {e.board} "
                               f"does not exist ({exc})") from exc  # fmt: skip
    return mask
