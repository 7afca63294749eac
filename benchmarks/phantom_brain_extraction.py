"""Does the phantom's head give brain extraction real work? deepbet Dice against the true mask.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/phantom_brain_extraction.py -n 2 --seed 3

Writes full-size participants (1 mm T1w) with ground truth to a temporary folder, runs the app's
deepbet brain extraction on each T1w and reports Dice and volumes against the true brain mask,
and the volume of head tissue (T1w signal outside the true mask) it had to remove.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from gausspet_bids.phantom.bids_writer import write_bids_cohort
from gausspet_bids.phantom.cohort import CohortOptions
from gausspet_bids.phantom.truth_io import truth_prefix
from gausspet_bids.preprocessing.brain_extraction import deepbet_mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    options = CohortOptions(no_t1w_fraction=0.0, two_session_fraction=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        bids, gt = Path(tmp) / "bids", Path(tmp) / "gt"
        write_bids_cohort(bids, args.n, args.seed, truth_dir=gt, options=options)
        for t1w in sorted(bids.glob("sub-*/anat/*_T1w.nii.gz")):
            label = t1w.name.split("_")[0]
            truth = (
                np.asanyarray(
                    nib.load(f"{truth_prefix(gt, label)}_space-T1w_desc-brain_mask.nii.gz").dataobj
                )
                > 0
            )
            start = time.perf_counter()
            found = np.asanyarray(deepbet_mask(t1w, n_threads=2).dataobj) > 0
            seconds = time.perf_counter() - start
            data = np.asanyarray(nib.load(t1w).dataobj, dtype=np.float32)
            head = (data > 0.2 * np.median(data[truth])) & ~truth
            dice = 2.0 * (found & truth).sum() / (found.sum() + truth.sum())
            print(f"{label}: Dice {dice:.3f}, deepbet {found.sum() / 1000:.0f} ml, "
                  f"true {truth.sum() / 1000:.0f} ml, non-brain head tissue {head.sum() / 1000:.0f} ml, "
                  f"{seconds:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
