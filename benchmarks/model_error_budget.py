"""Where a model's error lies on a development cohort: what is predictable, and in which tissue.

The noise-free PET differs from what any MRI-only synthesis can predict by the per-participant
random uptake factors (see ``phantom_synthesis_ceiling.py``). This benchmark splits a model's
agreement with the noise-free PET into two parts, per participant, in the brain mask:

* NCC(expected, noise-free): the ceiling, the cohort-mean-physiology SUVR against the truth;
* NCC(model, expected): the model against what it can at best predict;
* NCC(model from noise-free MRI, expected): the same model given the participant's MRI without
  noise and bias field, i.e. how much of its error the MRI's own imperfections cause.

Both errors add (1 - NCC roughly adds for independent errors), so the second tells how close a
model must come to the predictable image to reach a target. SSIM is given beside each NCC
(``brain_metrics``: the second image's range sets the SSIM constants). It then splits the
model's error against the expected SUVR (after one least-squares global scale per participant)
into the share of squared error per tissue (fraction > 0.7, CSF > 0.5, lesion core or penumbra
> 0.1; "mixed" is every other brain voxel), each region's mean error (SUVR) and the share of
the error energy that is smooth (Gaussian, sigma 2 voxels = 4 mm): a smooth error is regional
bias, the rest is detail.

    OMP_NUM_THREADS=2 python benchmarks/model_error_budget.py /work/cohorts/dev_seed2 \\
        /work/cohorts/dev_seed2_truth --seed 2 --model default
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from model_development_cohort import development_parser  # the benchmarks beside this one
from model_evaluation import phantom_participants, test_cases
from phantom_synthesis_ceiling import expected_physiology_suvr, noise_free_images
from scipy.ndimage import gaussian_filter

from gausspet_bids.metrics.image_metrics import brain_metrics
from gausspet_bids.model.checkpoint import load_model
from gausspet_bids.model.inference import synthesise


def regions(tissues, mask: np.ndarray) -> dict[str, np.ndarray]:
    f = tissues.fractions
    lesion = (tissues.core + tissues.penumbra) > 0.1
    out = {
        "cortex GM": (f["gm"] > 0.7) & ~tissues.deep & ~tissues.cerebellum,
        "deep GM": (f["gm"] > 0.7) & tissues.deep,
        "WM": (f["wm"] > 0.7) & ~tissues.cerebellum,
        "cerebellum": tissues.cerebellum & ((f["gm"] > 0.7) | (f["wm"] > 0.7)),
        "CSF": f["csf"] > 0.5,
    }
    out = {k: v & mask & ~lesion for k, v in out.items()}
    out["lesion"] = lesion & mask
    out["mixed"] = mask & ~np.any(np.stack(list(out.values())), axis=0)
    return out


def budget(model_path: str, participants) -> pd.DataFrame:
    model = load_model(None if model_path == "default" else model_path)
    rows = []
    for case, subject, tissues, grid in participants:
        mask = case["mask"]
        pred = synthesise(case["images"], mask, model)["pet"]
        expected = expected_physiology_suvr(subject, tissues, grid)
        p, e = pred[mask], expected[mask]
        scale = (p * e).sum() / (p * p).sum()
        err = np.zeros_like(pred)
        err[mask] = scale * p - e
        weight = np.maximum(gaussian_filter(mask.astype(float), 2.0), 1e-3)
        smooth = gaussian_filter(err, 2.0) / weight * mask
        total = (err[mask] ** 2).sum()
        truth = case["truth_pet"]
        # the same model given the participant's MRI without noise or bias field
        clean = synthesise(noise_free_images(subject, tissues, mask), mask, model)["pet"]
        row = {}
        for name, (a, b) in {
            "model vs noise-free": (pred, truth),
            "expected vs noise-free (ceiling)": (expected, truth),
            "model vs expected": (pred, expected),
            "model from noise-free MRI vs expected": (clean, expected),
        }.items():
            metrics = brain_metrics(np.where(mask, a, 0.0), b, mask)
            row[f"NCC {name}"], row[f"SSIM {name}"] = metrics["NCC"], metrics["SSIM"]
        row["global scale"] = scale
        row["smooth share of error"] = float((smooth[mask] ** 2).sum() / total)
        for name, region in regions(tissues, mask).items():
            row[f"voxels {name}"] = float(region.sum() / mask.sum())
            row[f"error share {name}"] = float((err[region] ** 2).sum() / total)
            row[f"mean error {name}"] = float(err[region].mean()) if region.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = development_parser(__doc__).parse_args(argv)
    cases = test_cases(args.cohort, args.truth, split="train")
    participants = list(phantom_participants(args.cohort, cases, args.seed))
    results = {path: budget(path, participants).mean() for path in args.model}
    print(f"{len(cases)} participants; means over participants")
    print(pd.DataFrame(results).round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
