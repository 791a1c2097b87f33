"""Check that the products of this checkout equal those of another git revision.

For refactorings: simulate a preset, reduce it with every product (QA pages included) once
with the revision's code and once with this checkout's, and compare the two work trees with
:mod:`lmtflow.treediff` (byte for byte; FITS headers aside from DATE).

    python tools/same_products.py main~3                # the small preset, all its ObsNums
    python tools/same_products.py v0.1 --preset rsr --keep /tmp/cmp
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from checkouts import HERE, revision_checkout  # tools/: the directory of this script


def reduce_with(checkout: Path, data_lmt: Path, work: Path, obsnums: list[int], cores: int) -> None:
    """Run ``checkout``'s Snakefile with ``checkout``'s library on ``obsnums``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(checkout / "Snakefile"),
           "--cores", str(cores), "--directory", str(work), "--config",
           f"data_lmt={data_lmt}", f"work_lmt={work / 'work'}",
           "obsnums=[" + ",".join(map(str, obsnums)) + "]"]  # fmt: skip
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("revision", help="git revision to compare with (e.g. main, HEAD~2)")
    p.add_argument("--preset", default="small", help="simulator preset (small)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--keep", help="directory to keep the runs in (default: a temporary one)")
    args = p.parse_args()

    root = Path(args.keep or tempfile.mkdtemp(prefix="same_products-")).resolve()
    with revision_checkout(root, args.revision, keep=bool(args.keep)) as old:
        sys.path.insert(0, str(HERE))
        from lmtflow.sim import simulate_preset
        from lmtflow.treediff import diff_trees

        sim = simulate_preset(args.preset, root / "data_lmt", seed=args.seed)
        science = sorted(n for role, nums in sim.obsnums.items() if role != "Cal" for n in nums)
        for name, checkout in (("old", old), ("new", HERE)):
            print(f"reducing {science} with {name} ({checkout})", flush=True)
            reduce_with(checkout, sim.data_lmt, root / name, science, args.cores)
        found = diff_trees(root / "old" / "work", root / "new" / "work")
    for line in found:
        print(line)
    print(f"{len(found)} difference(s) between {args.revision} and this checkout")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
