"""Score the app's synthetic PET, through the whole BIDS path, against the phantom's truth.

The model benchmarks score the model on the aligned layout: perfectly registered,
skull-stripped with the true mask, no N4. This one scores what a user gets: raw BIDS images
through the participant level (N4, deepbet, registrations, resampling to the model grid and
back). With ``--aligned``, it also scores the same participants on the aligned layout, using
the same contrasts each session used. The difference is then what the preprocessing costs.

    gausspet-phantom /work/cohorts/bids_seed2 --participants 4 --seed 2 \\
        --ground-truth /work/cohorts/bids_seed2_truth
    gausspet /work/cohorts/bids_seed2 /work/runs/bids participant -w /work/runs/work
    gausspet-phantom /work/cohorts/dev_seed2 --participants 16 --seed 2 --layout aligned \\
        --test-fraction 0 --ground-truth /work/cohorts/dev_seed2_truth
    OMP_NUM_THREADS=2 python benchmarks/pipeline_synthesis_phantom.py /work/runs/bids \\
        /work/cohorts/bids_seed2_truth --aligned /work/cohorts/dev_seed2 \\
        --aligned-truth /work/cohorts/dev_seed2_truth

Per session, the synthetic PET in the reference space (``space-T1w``; ``space-T2w`` or
``space-FLAIR`` for a session without T1w) is resampled through the phantom's true pose.
The target is a 2 mm version of the truth's T1w grid, so that SSIM's window (in voxels) has
the aligned layout's scale. On that grid it is scored against the noise-free SUVR, in the true
brain mask: NCC, SSIM, PSNR, and the lesion-core SUVR relative error for cores of at least 10
voxels. The aligned cohort must be drawn with the same seed: its participant N is ``sub-N``
of the BIDS cohort, at its first session's stage, so only first sessions are paired. The
aligned scores use the model named in the derivatives' sidecars (``--model``, default: the
packaged one; the sha256 must match).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from model_evaluation import test_cases  # the benchmark beside this one

from gausspet_bids.metrics.image_metrics import brain_metrics
from gausspet_bids.model.checkpoint import default_model_path, load_model, sha256_of
from gausspet_bids.model.inference import synthesise
from gausspet_bids.phantom.truth_io import load_transforms, resample_to_t1w, truth_prefix

PET_GLOB = "sub-*/**/pet/*_trc-FDG_space-*_desc-gausspet_pet.nii.gz"
TEMPLATE_SPACE = "_space-MNI152"  # --output-spaces MNI152NLin2009aSym: not scored here


def coarse_grid(shape, affine, factor: int = 2) -> tuple[tuple[int, ...], np.ndarray]:
    """The same field of view with ``factor`` times larger voxels (centres shifted to match)."""
    scale = np.diag([factor, factor, factor, 1.0])
    shift = np.eye(4)
    shift[:3, 3] = (factor - 1) / 2.0  # new voxel 0 is centred between old voxels 0..factor-1
    return tuple(int(s) // factor for s in shape[:3]), affine @ shift @ scale


def entities(name: str) -> tuple[str, str | None]:
    parts = name.split("_")
    session = next((p for p in parts if p.startswith("ses-")), None)
    return parts[0], session


def reference_to_t1w(sidecar: dict, transforms: dict) -> np.ndarray:
    """The 4x4 from the app's reference world (its ``space-<ref>``) to the truth's T1w world.

    The reference is the image named in ``SpatialReference`` (``..._desc-preproc_<suffix>``);
    reorienting keeps the world, so its raw BIDS image's transform applies.
    """
    suffix = Path(sidecar["SpatialReference"]).name.split(".")[0].rsplit("_", 1)[-1]
    matches = [k for k in transforms if k.split(".")[0].endswith(f"_{suffix}")]
    if len(matches) != 1:
        raise ValueError(
            f"no unique {suffix} image in the truth's transforms: {sorted(transforms)}"
        )
    return np.asarray(transforms[matches[0]])


def score_session(pet_file: Path, truth_dir: Path) -> dict:
    """One session's synthetic PET against the noise-free SUVR on the 2 mm truth grid."""
    sidecar = json.loads(Path(str(pet_file).replace(".nii.gz", ".json")).read_text())
    subject, session = entities(pet_file.name)
    prefix = truth_prefix(truth_dir, subject, session)
    truth_img = nib.load(f"{prefix}_space-T1w_trc-FDG_desc-noisefreeSUVR_pet.nii.gz")
    shape, affine = coarse_grid(truth_img.shape, truth_img.affine)

    def on_grid(img, to_t1w=None):
        return resample_to_t1w(img, np.eye(4) if to_t1w is None else to_t1w, shape, affine)

    truth = on_grid(truth_img)
    mask = on_grid(nib.load(f"{prefix}_space-T1w_desc-brain_mask.nii.gz")) >= 0.5
    core = on_grid(nib.load(f"{prefix}_space-T1w_desc-core_mask.nii.gz")) >= 0.5
    to_t1w = reference_to_t1w(sidecar, load_transforms(truth_dir, subject, session)["Transforms"])
    pred = on_grid(nib.load(pet_file), to_t1w)
    m = brain_metrics(pred, truth, mask)
    row = {
        "session": pet_file.name.split("_trc-")[0],
        "contrasts": "+".join(sidecar["ContrastsUsed"]),
        "NCC": m["NCC"], "SSIM": m["SSIM"], "PSNR": m["PSNR"],
        "core error": np.nan,
    }  # fmt: skip
    core &= mask
    if core.sum() >= 10:
        row["core error"] = abs(float(pred[core].mean()) / float(truth[core].mean()) - 1)
    return {"row": row, "sidecar": sidecar, "subject": subject, "session": session}


def aligned_scores(cohort: Path, truth: Path, pairs: list[tuple[str, list[str]]], model) -> dict:
    """The same participants in the aligned layout, with the contrasts the app used."""
    out = {}
    ids = [n for n, _ in pairs]
    for case, (_, contrasts) in zip(test_cases(cohort, truth, "train", ids), pairs, strict=True):
        images = {c: case["images"][c] for c in contrasts}
        pred = synthesise(images, case["mask"], model)["pet"]
        m = brain_metrics(pred, case["truth_pet"], case["mask"])
        core = case["core"] & case["mask"]
        err = np.nan
        if core.sum() >= 10:
            err = abs(float(pred[core].mean()) / float(case["truth_pet"][core].mean()) - 1)
        out[case["n"]] = {"NCC": m["NCC"], "SSIM": m["SSIM"], "PSNR": m["PSNR"], "core error": err}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("derivatives", type=Path, help="gausspet participant-level output folder")
    ap.add_argument("truth", type=Path, help="the BIDS phantom's --ground-truth folder")
    ap.add_argument("--aligned", type=Path, help="aligned cohort drawn with the same seed")
    ap.add_argument("--aligned-truth", type=Path, help="its --ground-truth folder")
    ap.add_argument(
        "--model", default=None, help="checkpoint the derivatives used (default: packaged)"
    )
    ap.add_argument("--json", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    files = sorted(f for f in args.derivatives.glob(PET_GLOB) if TEMPLATE_SPACE not in f.name)
    if not files:
        print(f"{args.derivatives}: no {PET_GLOB}", file=sys.stderr)
        return 1
    scored = [score_session(f, args.truth) for f in files]
    table = pd.DataFrame([s["row"] for s in scored])
    if args.aligned is not None:
        if args.aligned_truth is None:
            print("--aligned needs --aligned-truth", file=sys.stderr)
            return 2
        model_path = Path(args.model) if args.model else default_model_path()
        shas = {s["sidecar"].get("ModelSHA256") for s in scored}
        if shas != {sha256_of(model_path)}:
            print(f"the derivatives used model(s) {shas}, not {model_path}", file=sys.stderr)
            return 2
        firsts = {}
        for s in scored:  # the aligned layout holds each participant's first session
            firsts.setdefault(s["subject"], s)
        index = pd.read_csv(args.aligned / "cohort.tsv", sep="\t", dtype=str)
        number = dict(zip(index["participant"], index["N"], strict=True))
        pairs = [(number[subject], s["sidecar"]["ContrastsUsed"]) for subject, s in firsts.items()]
        aligned = aligned_scores(args.aligned, args.aligned_truth, pairs, load_model(args.model))
        for (n, _), s in zip(pairs, firsts.values(), strict=True):
            i = table.index[table["session"] == s["row"]["session"]][0]
            for key, value in aligned[n].items():
                table.loc[i, f"aligned {key}"] = value
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("mean:", table.drop(columns=["session", "contrasts"]).mean().round(3).to_dict())
    if args.json:
        args.json.write_text(table.to_json(orient="records", indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
