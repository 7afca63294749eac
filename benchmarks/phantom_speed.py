"""Time the phantom: the aligned layout per participant, and a --small BIDS cohort.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/phantom_speed.py --aligned 20 --bids 4

Reports wall and CPU (process) time; on a shared machine, CPU time is the honest number.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gausspet_bids.phantom.aligned import write_aligned_cohort
from gausspet_bids.phantom.bids_writer import write_bids_cohort
from gausspet_bids.phantom.tissue_bank import tissue_bank


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aligned", type=int, default=20, help="aligned participants to time")
    parser.add_argument("--bids", type=int, default=4, help="--small BIDS participants to time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    wall, cpu = _timed(lambda: (tissue_bank(2), tissue_bank(1)))
    print(f"tissue banks (1 and 2 mm): wall {wall:.1f} s, CPU {cpu:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        if args.aligned:
            wall, cpu = _timed(
                lambda: write_aligned_cohort(Path(tmp) / "al", args.aligned, args.seed)
            )
            print(f"aligned, {args.aligned} participants: wall {wall:.1f} s, CPU {cpu:.1f} s "
                  f"({cpu / args.aligned:.2f} s CPU each; 100 -> {cpu / args.aligned * 100 / 60:.1f} min)")  # fmt: skip
        if args.bids:
            wall, cpu = _timed(lambda: write_bids_cohort(
                Path(tmp) / "bids", args.bids, args.seed, small=True, truth_dir=Path(tmp) / "gt"))  # fmt: skip
            print(f"--small BIDS + ground truth, {args.bids} participants: wall {wall:.1f} s, "
                  f"CPU {cpu:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
