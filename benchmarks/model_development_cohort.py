"""Score models on a separate development cohort: model selection without the test split.

The development cohort is a phantom cohort drawn with *another seed* than the training cohort
(fresh participants), written in the aligned layout with its ground truth, all in ``train``:

    gausspet-phantom /work/cohorts/dev_seed2 --participants 16 --seed 2 --layout aligned \\
        --test-fraction 0 --ground-truth /work/cohorts/dev_seed2_truth
    OMP_NUM_THREADS=1 python benchmarks/model_development_cohort.py /work/cohorts/dev_seed2 \\
        /work/cohorts/dev_seed2_truth --seed 2 --model default runs/candidate/model.safetensors

Per model, means over the participants: NCC, SSIM and PSNR in the brain mask against the
noise-free PET (SSIM and PSNR also after fitting one global SUVR scale per participant, an
oracle that shows how much of the error is that scale), the lesion-core SUVR relative error (cores of at least 10 voxels) and, to show *where* a
model is wrong, its mean relative bias per structure against the noise-free PET recomputed with
the cohort-mean physiology (what a model can at best predict, see
``phantom_synthesis_ceiling.py``): cortical and deep grey matter, white matter, cerebellar grey
and white matter, CSF (tissue fraction above 0.7, or 0.5 for CSF).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from model_evaluation import (  # the benchmarks beside this one
    phantom_participants,
    test_cases,
    truth_cores,
)
from phantom_synthesis_ceiling import expected_physiology_suvr

from gausspet_bids.metrics.image_metrics import brain_metrics
from gausspet_bids.model.checkpoint import load_model
from gausspet_bids.model.inference import synthesise


def structures(tissues, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the structures whose uptake factors differ (see phantom/pet.py)."""
    f, deep, cereb = tissues.fractions, tissues.deep, tissues.cerebellum
    return {
        "cortex GM": mask & (f["gm"] > 0.7) & ~deep & ~cereb,
        "deep GM": mask & (f["gm"] > 0.7) & deep,
        "WM": mask & (f["wm"] > 0.7) & ~cereb,
        "cerebellar GM": mask & (f["gm"] > 0.7) & cereb,
        "cerebellar WM": mask & (f["wm"] > 0.7) & cereb,
        "CSF": mask & (f["csf"] > 0.5),
    }


def reference_maps(cohort: Path, cases: list[dict], seed: int) -> dict[str, tuple]:
    """Per participant: (cohort-mean-physiology SUVR, structure masks), from the phantom."""
    return {
        case["n"]: (
            expected_physiology_suvr(subject, tissues, grid),
            structures(tissues, case["mask"]),
        )
        for case, subject, tissues, grid in phantom_participants(cohort, cases, seed)
    }


def score(model_path: str, cases: list[dict], cores: dict, references: dict) -> dict:
    model = load_model(None if model_path == "default" else model_path)
    rows = []
    for case in cases:
        pred = synthesise(case["images"], case["mask"], model)["pet"]
        truth, mask = case["truth_pet"], case["mask"]
        m = brain_metrics(pred, truth, mask)
        # the same after the least-squares global scale per participant (an oracle): how much
        # of the error is one SUVR factor per participant (NCC does not change)
        scale = float((pred[mask] * truth[mask]).sum() / (pred[mask] ** 2).sum())
        fitted = brain_metrics(pred * scale, truth, mask)
        row = {
            "NCC": m["NCC"], "SSIM": m["SSIM"], "PSNR": m["PSNR"],
            "SSIM, scale fitted": fitted["SSIM"], "PSNR, scale fitted": fitted["PSNR"],
        }  # fmt: skip
        expected, masks = references[case["n"]]
        for name, region in masks.items():
            if region.sum() >= 10:
                row[f"bias {name}"] = float(pred[region].mean() / expected[region].mean() - 1)
        if case["n"] in cores:
            t = float(case["truth_pet"][cores[case["n"]]].mean())
            row["core_err"] = abs(float(pred[cores[case["n"]]].mean()) - t) / t
        rows.append(row)
    table = pd.DataFrame(rows)
    errors = table["core_err"].dropna().to_numpy()
    summary = table.drop(columns="core_err").mean().to_dict()
    summary["core median rel. error"] = float(np.median(errors)) if len(errors) else np.nan
    summary["cores within 15 %"] = float(np.mean(errors <= 0.15)) if len(errors) else np.nan
    summary["n cores"] = len(errors)
    return summary


def development_parser(doc: str) -> argparse.ArgumentParser:
    """Arguments of the development-cohort benchmarks: cohort, its truth, seed, models."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("cohort", type=Path, help="development cohort (aligned layout, all train)")
    ap.add_argument("truth", type=Path, help="its --ground-truth folder")
    ap.add_argument("--seed", type=int, required=True, help="the seed the cohort was drawn with")
    ap.add_argument("--model", nargs="+", required=True, help="checkpoints ('default': packaged)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = development_parser(__doc__).parse_args(argv)
    cases = test_cases(args.cohort, args.truth, split="train")
    cores = truth_cores(cases)
    references = reference_maps(args.cohort, cases, args.seed)
    results = {path: score(path, cases, cores, references) for path in args.model}
    print(f"{len(cases)} participants, {len(cores)} lesion cores; vs noise-free PET")
    print(pd.DataFrame(results).round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
