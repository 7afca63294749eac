"""Hypometabolic-region accuracy on phantom cohorts, against the true lesion core and penumbra.

Two layouts (``gausspet-phantom --layout``):

* ``bids`` (default; what the participant level sees): ``--small`` BIDS cohort with ground truth
  in each session's T1w space. Scored on the noise-free SUVR and on the acquired, noisy PET
  (frames averaged, divided by the true reference SUV, resampled into T1w space with the true
  PET->T1w transform), with the package defaults (or ``--previous``, the single-scale detector
  used before the two-scale hysteresis).
* ``aligned``: template-space cohort (``--control-fraction`` controls), noisy PET. With
  ``--normative`` it also scores a voxel-wise z-score against the controls (leave-one-out),
  alone and combined with the asymmetry, which the package does not use (docs/metrics.md).

Per stroke session: Dice with core + penumbra, Dice with the core, sensitivity for both,
false-positive volume (outside core + penumbra), volume error; per control: volume found.
Tuning seed 101, reporting seed 202 (docs/metrics.md):

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/group_hypometabolism_phantom.py --seed 202 --participants 24
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/group_hypometabolism_phantom.py --layout aligned --seed 202 --participants 40 --normative
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from gausspet_bids.metrics.hypometabolism import (
    DEFAULTS,
    HypometabolismParameters,
    dice,
    grow_from_seeds,
    hypometabolic_mask,
    remove_small_clusters,
)
from gausspet_bids.metrics.mirror import smooth_in_mask

ATLAS = Path(__file__).parents[1] / "gausspet_bids/data/atlas"
ATLAS = ATLAS / "tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"
CEREBELLUM = [27, 28, 29, 30]  # SCA, ICA labels (crossed cerebellar diaschisis lives there)
# The detector before the two-scale hysteresis: one scale, 12 mm, 20 %, 0.5 ml clusters.
PREVIOUS = HypometabolismParameters(seed_threshold=0.2, seed_fwhm_mm=12.0, grow_threshold=0.2,
                                    grow_fwhm_mm=12.0, grow_distance_mm=0.0, min_seed_ml=0.5,
                                    min_cluster_ml=0.5)  # fmt: skip


def score(mask, core, penumbra, dseg, voxel_ml: float) -> dict:
    """Accuracy of one mask against the truth (module docstring)."""
    lesion = core | penumbra
    n_lesion, n_core = max(int(lesion.sum()), 1), max(int(core.sum()), 1)
    return {
        "dice": dice(mask, lesion), "dice_core": dice(mask, core),
        "dice_supratentorial": dice(mask & ~np.isin(dseg, CEREBELLUM), lesion),
        "sensitivity": (mask & lesion).sum() / n_lesion,
        "sensitivity_core": (mask & core).sum() / n_core,
        "false_positive_ml": (mask & ~lesion).sum() * voxel_ml,
        "found_ml": mask.sum() * voxel_ml, "true_ml": lesion.sum() * voxel_ml,
        "core_ml": core.sum() * voxel_ml,
    }  # fmt: skip


def _kind(core_ml: float, kind: str | None = None) -> str:
    if kind and kind != "n/a":
        return kind
    return "control" if core_ml == 0 else ("lacunar" if core_ml < 2 else "territorial")


def noisy_suvr_in_t1w(bids: Path, pre: Path, truth_img, reference_suv: float):
    """The acquired PET (frames averaged) / true reference SUV, in the session's T1w grid;
    None when the session has no PET."""
    transforms = json.loads(Path(f"{pre}_transforms.json").read_text())["Transforms"]
    key = next((k for k in transforms if k.endswith("_pet.nii.gz")), None)
    if key is None:
        return None
    pet = nib.load(bids / key)
    data = np.asanyarray(pet.dataobj, dtype=np.float64)
    data = data.mean(axis=3) if data.ndim == 4 else data
    # T1w voxel -> T1w world -> PET world -> PET voxel
    vox = np.linalg.inv(pet.affine) @ np.linalg.inv(np.asarray(transforms[key])) @ truth_img.affine
    out = ndimage.affine_transform(data, vox[:3, :3], vox[:3, 3], output_shape=truth_img.shape,
                                   order=1, cval=0.0)  # fmt: skip
    return out / reference_suv


def evaluate_bids(bids: Path, gt: Path, params: HypometabolismParameters) -> pd.DataFrame:
    cohort = pd.read_csv(gt / "cohort.tsv", sep="\t")
    rows = []
    for brain in sorted(gt.glob("sub-*/**/*_space-T1w_desc-brain_mask.nii.gz")):
        pre = Path(str(brain).removesuffix("_space-T1w_desc-brain_mask.nii.gz"))

        def load(name, pre=pre):
            return nib.load(f"{pre}_space-T1w_{name}.nii.gz")

        clean = load("trc-FDG_desc-noisefreeSUVR_pet")
        dseg = np.asanyarray(load("atlas-Arterial_dseg").dataobj).astype(int)
        core = np.asanyarray(load("desc-core_mask").dataobj) > 0
        penumbra = np.asanyarray(load("desc-penumbra_mask").dataobj) > 0
        mask_brain = np.asanyarray(load("desc-brain_mask").dataobj) > 0
        ses = pre.name.split("_ses-")[1] if "_ses-" in pre.name else "n/a"
        sub = pre.name.split("_")[0]
        info = cohort[(cohort.participant_id == sub)
                      & (cohort.session_id.astype(str) == (f"ses-{ses}" if ses != "n/a" else "n/a"))]  # fmt: skip
        info = info.iloc[0] if len(info) else cohort[cohort.participant_id == sub].iloc[0]
        voxel_ml = abs(np.linalg.det(clean.affine[:3, :3])) / 1000
        pets = {"noise-free": np.asanyarray(clean.dataobj)}
        noisy = noisy_suvr_in_t1w(bids, pre, clean, float(info["suvr_reference_suv"]))
        if noisy is not None:
            pets["noisy"] = noisy
        for source, pet in pets.items():
            mask = hypometabolic_mask(pet, mask_brain, dseg, clean.affine, params)
            rows.append({"session": pre.name, "pet": source, "group": info["group"],
                         "kind": _kind(core.sum() * voxel_ml, info.get("kind")),
                         **score(mask, core, penumbra, dseg, voxel_ml)})  # fmt: skip
    return pd.DataFrame(rows)


def _load_aligned(root: Path, gt: Path):
    table = pd.read_csv(root / "cohort.tsv", sep="\t")
    atlas = nib.load(ATLAS)
    for row in table.itertuples():
        pet = nib.load(root / row.split / "PET" / f"{row.N}.nii.gz")
        brain = np.asanyarray(nib.load(root / row.split / "MASK" / f"{row.N}.nii.gz").dataobj) > 0
        vox = np.linalg.inv(atlas.affine) @ pet.affine
        dseg = ndimage.affine_transform(np.asanyarray(atlas.dataobj), vox[:3, :3], vox[:3, 3],
                                        output_shape=pet.shape, order=0)  # fmt: skip
        masks = {}
        for name in ("CORE", "PENUMBRA"):
            path = gt / row.split / name / f"{row.N}.nii.gz"
            masks[name] = (np.asanyarray(nib.load(path).dataobj) > 0) if path.exists() else (
                np.zeros(pet.shape, bool))  # fmt: skip
        yield row, pet, brain, np.where(brain, dseg, 0).astype(int), masks


def normative_masks(pets, brains, is_control, affine, fwhm_mm=4.0, z_seed=-4.0, z_grow=-2.0):
    """Voxel-wise z against the controls (leave-one-out for a control), after smoothing and
    scaling each image by its brain median; hysteresis from ``z_seed`` to ``z_grow``."""
    smooth = [smooth_in_mask(p, b, fwhm_mm, affine) for p, b in zip(pets, brains, strict=True)]
    smooth = [s / np.median(s[b]) for s, b in zip(smooth, brains, strict=True)]
    controls = np.flatnonzero(is_control)
    out = []
    for i, s in enumerate(smooth):
        stack = np.stack([smooth[j] for j in controls if j != i])
        mean, sd = stack.mean(0), np.maximum(stack.std(0, ddof=1), 0.02)
        z = np.where(brains[i] & (mean > 0.3), (s - mean) / sd, 0.0)
        out.append(remove_small_clusters(grow_from_seeds(z < z_seed, z < z_grow), 13))
    return out


def evaluate_aligned(root: Path, gt: Path, params, normative: bool) -> pd.DataFrame:
    rows, items = [], list(_load_aligned(root, gt))
    voxel_ml = 0.008
    asym = [hypometabolic_mask(np.asanyarray(p.dataobj), b, d, p.affine, params)
            for _, p, b, d, _ in items]  # fmt: skip
    methods = {"asymmetry": asym}
    if normative:
        is_control = np.array([r.group == "control" for r, *_ in items])
        norm = normative_masks([np.asanyarray(p.dataobj, dtype=np.float64) for _, p, *_ in items],
                               [b for _, _, b, _, _ in items], is_control, items[0][1].affine)  # fmt: skip
        methods["normative z"] = norm
        methods["asymmetry and z"] = [a & n for a, n in zip(asym, norm, strict=True)]
        methods["asymmetry or z"] = [a | n for a, n in zip(asym, norm, strict=True)]
    for method, masks in methods.items():
        for (row, _, _, dseg, truth), mask in zip(items, masks, strict=True):
            rows.append({"session": row.participant, "pet": method, "group": row.group,
                         "kind": _kind(truth["CORE"].sum() * voxel_ml),
                         **score(mask, truth["CORE"], truth["PENUMBRA"], dseg, voxel_ml)})  # fmt: skip
    return pd.DataFrame(rows)


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Means over stroke sessions (all and per kind) and the control false-positive volume."""
    out = []
    for pet, part in results.groupby("pet", sort=False):
        stroke, control = part[part.group != "control"], part[part.group == "control"]
        for kind, sel in [("all stroke", stroke)] + list(stroke.groupby("kind")):
            out.append({"pet": pet, "sessions": kind, "n": len(sel),
                        "Dice core+penumbra": sel.dice.mean(), "Dice core": sel.dice_core.mean(),
                        "sensitivity": sel.sensitivity.mean(),
                        "sensitivity core": sel.sensitivity_core.mean(),
                        "false-positive ml (median)": sel.false_positive_ml.median(),
                        "volume error ml (median)": (sel.found_ml - sel.true_ml).median()})  # fmt: skip
        if len(control):
            out.append({"pet": pet, "sessions": "controls", "n": len(control),
                        "false-positive ml (median)": control.found_ml.median(),
                        "control ml (mean / max)": f"{control.found_ml.mean():.1f} / "
                                                   f"{control.found_ml.max():.1f}"})  # fmt: skip
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", choices=["bids", "aligned"], default="bids")
    parser.add_argument("--seed", type=int, default=202)
    parser.add_argument("--participants", type=int, default=24)
    parser.add_argument(
        "--control-fraction",
        type=float,
        default=0.4,
        help="aligned layout: fraction of controls (normative z needs many)",
    )
    parser.add_argument("--previous", action="store_true", help="the single-scale detector")
    parser.add_argument("--normative", action="store_true", help="aligned: voxel-wise z too")
    parser.add_argument("--data", type=Path, help="existing phantom folder (skips generation)")
    parser.add_argument("--gt", type=Path, help="its ground-truth folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per session")
    args = parser.parse_args()
    params = PREVIOUS if args.previous else DEFAULTS
    with tempfile.TemporaryDirectory() as tmp:
        data, gt = args.data, args.gt
        if data is None:
            data, gt = Path(tmp) / "data", Path(tmp) / "gt"
            phantom = Path(sys.executable).with_name("gausspet-phantom")
            extra = (["--layout", "aligned", "--test-fraction", "0", "--control-fraction",
                      str(args.control_fraction)] if args.layout == "aligned" else ["--small"])  # fmt: skip
            subprocess.run([str(phantom), str(data), "--participants", str(args.participants),
                            "--seed", str(args.seed), "--ground-truth", str(gt), *extra],
                           check=True)  # fmt: skip
        if args.layout == "bids":
            results = evaluate_bids(data, gt, params)
        else:
            results = evaluate_aligned(data, gt, params, args.normative)
    pd.set_option("display.width", 200)
    if args.verbose:
        print(results.round(3).to_string(index=False))
    print(f"layout {args.layout}, seed {args.seed}, {args.participants} participants, "
          f"{'previous' if args.previous else 'default'} parameters")  # fmt: skip
    print(summary(results).round(3).to_markdown(index=False))


if __name__ == "__main__":
    main()
