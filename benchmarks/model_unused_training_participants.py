"""Score development models on the training-split participants they never saw.

For comparing recipes without touching the test split: each RUN_DIR (a ``gausspet-train``
output trained with ``--max-participants``) is scored on the participants of COHORT/train that
are in neither its train nor its validation list (``splits.json``), against the phantom's
noise-free PET (TRUTH/train/PET): NCC and SSIM in the brain mask, and the lesion-core SUVR
relative error (TRUTH/train/CORE, cores of at least 10 voxels).

    OMP_NUM_THREADS=1 python benchmarks/model_unused_training_participants.py \\
        /work/cohorts/default /work/cohorts/default_truth runs/dev_a runs/dev_b
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from model_evaluation import test_cases, truth_cores  # the benchmark beside this one

from gausspet_bids.metrics.image_metrics import brain_metrics
from gausspet_bids.model.checkpoint import load_model
from gausspet_bids.model.inference import synthesise
from gausspet_bids.training.cohort import split_participants


def unused(cohort: Path, run: Path) -> list[str]:
    """Training-split participants that the run neither trained nor validated on."""
    splits = json.loads((run / "splits.json").read_text())
    used = set(splits["train"]) | set(splits["validation"])
    return [p for p in split_participants(cohort, "train") if p not in used]


def score(cohort: Path, truth: Path, run: Path) -> dict:
    model = load_model(run / "model.safetensors")
    cases = test_cases(cohort, truth, split="train", participants=unused(cohort, run))
    cores = truth_cores(cases)
    ncc, ssim, core_err = [], [], []
    for case in cases:
        pred = synthesise(case["images"], case["mask"], model)["pet"]
        m = brain_metrics(pred, case["truth_pet"], case["mask"])
        ncc.append(m["NCC"])
        ssim.append(m["SSIM"])
        if case["n"] in cores:
            t = float(case["truth_pet"][cores[case["n"]]].mean())
            core_err.append(abs(float(pred[cores[case["n"]]].mean()) - t) / t)
    errors = np.array(core_err)
    return {
        "n": len(ncc),
        "NCC": float(np.mean(ncc)),
        "SSIM": float(np.mean(ssim)),
        "core_median_rel_err": float(np.median(errors)) if len(errors) else float("nan"),
        "core_within_15": float(np.mean(errors <= 0.15)) if len(errors) else float("nan"),
        "n_cores": len(errors),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cohort", type=Path)
    ap.add_argument("truth", type=Path)
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    for run in args.runs:
        s = score(args.cohort, args.truth, run)
        print(
            f"{run}: {s['n']} participants, vs noise-free NCC {s['NCC']:.4f} SSIM {s['SSIM']:.4f}; "
            f"lesion core median error {s['core_median_rel_err']:.1%}, "
            f"within 15 % {s['core_within_15']:.0%} of {s['n_cores']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
