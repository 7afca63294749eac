"""How a model's synthesis changes when its brain mask is not the true one.

The app's brain mask comes from deepbet; on the phantom it is a few per cent larger than the
true mask (a shell of CSF, dura and bone 1-3 mm outside the brain, see docs/model.md, "Through
the whole app"). This benchmark gives each model the aligned images of a cohort with masks grown
(into the MRI ring the aligned layout keeps around the brain) or eroded by a few voxels, and
scores the synthesis in the *true* mask against the noise-free PET, as the app's own output
would be scored. Models trained with ``gausspet-train --mask-dilation`` should lose less.

    gausspet-phantom /work/cohorts/dev_seed2 --participants 16 --seed 2 --layout aligned \\
        --test-fraction 0 --ground-truth /work/cohorts/dev_seed2_truth
    OMP_NUM_THREADS=2 python benchmarks/model_mask_sensitivity.py /work/cohorts/dev_seed2 \\
        /work/cohorts/dev_seed2_truth --model default runs/candidate/model.safetensors

Masks: ``true``; ``grown R`` (every voxel within R voxels of the true mask, Euclidean);
``eroded 1`` (voxels at least 1 voxel inside it). Means over participants of NCC, SSIM and PSNR
in the true mask, and the lesion-core SUVR relative error (cores of at least 10 voxels).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from model_evaluation import test_cases, truth_cores  # the benchmark beside this one
from scipy.ndimage import distance_transform_edt

from gausspet_bids.metrics.image_metrics import brain_metrics
from gausspet_bids.model.checkpoint import load_model
from gausspet_bids.model.inference import synthesise

GROWN = (1.0, 1.5, 2.0, 3.0)  # voxels (2 mm each); the aligned layout keeps a 3-voxel ring


def mask_variants(mask: np.ndarray) -> dict[str, np.ndarray]:
    """The true mask, grown by each of :data:`GROWN` voxels, and eroded by one voxel."""
    outside = distance_transform_edt(~mask)
    inside = distance_transform_edt(mask)
    variants = {"true": mask}
    variants |= {f"grown {r:g}": outside <= r for r in GROWN}
    variants["eroded 1"] = inside > 1.0
    return variants


def score(
    model_path: str, cases: list[dict], cores: dict, contrasts: list[str] | None = None
) -> pd.DataFrame:
    """Rows (participant, mask) of NCC, SSIM, PSNR and core error, for one model (given only
    ``contrasts``, default all)."""
    model = load_model(None if model_path == "default" else model_path)
    rows = []
    for case in cases:
        truth, mask = case["truth_pet"], case["mask"]
        images = {c: v for c, v in case["images"].items() if not contrasts or c in contrasts}
        for name, given in mask_variants(mask).items():
            pred = synthesise(images, given, model)["pet"]
            m = brain_metrics(pred, truth, mask)
            row = {"n": case["n"], "mask": name, "NCC": m["NCC"], "SSIM": m["SSIM"],
                   "PSNR": m["PSNR"], "mask ml": float(given.sum()) * 8e-3}  # fmt: skip
            if case["n"] in cores:
                t = float(truth[cores[case["n"]]].mean())
                row["core_err"] = abs(float(pred[cores[case["n"]]].mean()) - t) / t
            rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cohort", type=Path, help="aligned cohort (written with its MRI ring)")
    ap.add_argument("truth", type=Path, help="its --ground-truth folder")
    ap.add_argument("--split", default="train", help="split to score (default: train)")
    ap.add_argument("--model", nargs="+", required=True, help="checkpoints ('default': packaged)")
    ap.add_argument("--contrasts", nargs="+", default=None, help="give only these (default: all)")
    args = ap.parse_args(argv)
    cases = test_cases(args.cohort, args.truth, split=args.split)
    cores = truth_cores(cases)
    order = list(mask_variants(cases[0]["mask"]))
    given = " + ".join(args.contrasts) if args.contrasts else "all contrasts"
    print(
        f"{len(cases)} participants, {len(cores)} lesion cores, {given}; vs noise-free PET, scored in the true mask"
    )
    for path in args.model:
        table = score(path, cases, cores, args.contrasts)
        summary = table.groupby("mask", sort=False)[["NCC", "SSIM", "PSNR", "mask ml"]].mean()
        errors = table.dropna(subset=["core_err"]).groupby("mask", sort=False)["core_err"]
        summary["core median err"] = errors.median()
        summary["cores within 15 %"] = errors.apply(lambda e: float(np.mean(e <= 0.15)))
        print(f"\n{path}")
        print(summary.loc[order].round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
