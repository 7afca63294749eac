"""Measure the phantom's physiology on generated images, over a cohort.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/phantom_properties.py -n 8 --seed 0

Writes a --small cohort with ground truth to a temporary folder and reports, per participant:
tissue uptake per unit fraction by least squares on the true uptake (cortex:WM, deep GM:cortex,
cerebellar GM:cortex, CSF:cortex), and for stroke participants the measured FDG reduction in
the core interior, the penumbra and the contralateral cerebellum against the same participant
rendered without its lesion, next to the drawn true values. Then the cohort's Spearman rho of
NIHSS against lesion volume.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage, stats

from gausspet_bids.phantom import pet
from gausspet_bids.phantom.bids_writer import write_bids_cohort
from gausspet_bids.phantom.cohort import plan_cohort
from gausspet_bids.phantom.render import tissues_in_scanner
from gausspet_bids.phantom.subject import make_subject
from gausspet_bids.phantom.tissue_bank import CEREBELLUM_LABELS, DEEP_GM_LABELS, tissue_bank
from gausspet_bids.phantom.truth_io import truth_prefix


def _load(gt: Path, participant: str, session: str | None, name: str) -> np.ndarray:
    path = f"{truth_prefix(gt, participant, session)}_space-T1w_{name}.nii.gz"
    return np.asanyarray(nib.load(path).dataobj).astype(float)


def tissue_ratios(gt: Path, participant: str, session: str | None, hemisphere: str) -> dict:
    """Uptake per unit fraction by least squares, away from the lesion and the diaschisis."""
    uptake = _load(gt, participant, session, "trc-FDG_desc-uptake_pet")
    gm, wm, csf = (
        _load(gt, participant, session, f"label-{t}_probseg") for t in ("GM", "WM", "CSF")
    )
    atlas = _load(gt, participant, session, "atlas-Arterial_dseg")
    core = _load(gt, participant, session, "desc-core_mask")
    pen = _load(gt, participant, session, "desc-penumbra_mask")
    lesion = ndimage.binary_dilation((core + pen) > 0, iterations=2)
    if hemisphere in ("L", "R"):  # leave out the contralateral (diaschisis) cerebellum
        parity = 0 if hemisphere == "L" else 1
        lesion |= np.isin(atlas, [lab for lab in CEREBELLUM_LABELS if lab % 2 == parity])
    deep, cereb = np.isin(atlas, DEEP_GM_LABELS), np.isin(atlas, CEREBELLUM_LABELS)
    inside = ((gm + wm + csf) > 0.98) & ~lesion
    cols = [gm * ~deep * ~cereb, gm * deep, gm * cereb, wm * ~cereb, wm * cereb, csf]
    coef, *_ = np.linalg.lstsq(np.stack([c[inside] for c in cols], 1), uptake[inside], rcond=None)
    return {"gm_wm": coef[0] / coef[3], "deep_cortex": coef[1] / coef[0],
            "cereb_cortex": coef[2] / coef[0], "csf_gm": coef[5] / coef[0]}  # fmt: skip


def lesion_effects(gt: Path, n: int, seed: int, index: int, row: pd.Series) -> dict:
    label = f"{index + 1:03d}"
    session = None if row.session_id == "n/a" else row.session_id.removeprefix("ses-")
    k = 0 if session in (None, "1") else 1
    subject = make_subject(plan_cohort(n, seed)[index], seed, "small")
    healthy = dataclasses.replace(subject, lesion=None)
    tissues = tissues_in_scanner(healthy, subject.sessions[k].acquisitions["T1w"], tissue_bank(2))
    reduction = 1 - _load(gt, label, session, "trc-FDG_desc-uptake_pet") / np.maximum(
        pet.true_uptake(healthy, tissues), 1e-6
    )
    core = ndimage.binary_erosion(_load(gt, label, session, "desc-core_mask") > 0)
    pen = _load(gt, label, session, "desc-penumbra_mask") > 0
    atlas = _load(gt, label, session, "atlas-Arterial_dseg")
    parity = 0 if row.hemisphere == "L" else 1
    contra = np.isin(atlas, [lab for lab in CEREBELLUM_LABELS if lab % 2 == parity])
    med = lambda m: float(np.median(reduction[m])) if m.any() else float("nan")  # noqa: E731
    return {"core": med(core), "core_true": row.core_reduction, "penumbra": med(pen),
            "penumbra_true": row.penumbra_reduction, "diaschisis": med(contra),
            "diaschisis_true": row.diaschisis}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gt = Path(tmp) / "gt"
        summary = write_bids_cohort(Path(tmp) / "bids", args.n, args.seed, small=True, truth_dir=gt)
        cohort = pd.read_csv(gt / "cohort.tsv", sep="\t", keep_default_na=False)
        rows = []
        for row in cohort.itertuples():
            label = row.participant_id.removeprefix("sub-")
            session = None if row.session_id == "n/a" else row.session_id.removeprefix("ses-")
            out = {"participant": row.participant_id, "session": row.session_id,
                   "stage": row.stage, "territory": row.territory, "core_ml": row.core_ml}  # fmt: skip
            out |= tissue_ratios(gt, label, session, row.hemisphere)
            if row.group == "stroke":
                out |= lesion_effects(
                    gt, args.n, args.seed, int(label) - 1, pd.Series(row._asdict())
                )
            rows.append(out)
        table = pd.DataFrame(rows)
        pd.set_option("display.width", 200)
        print(table.round(3).to_string(index=False))
        print(table[["gm_wm", "deep_cortex", "cereb_cortex", "csf_gm"]].describe().round(3))
        parts = summary.participants.merge(
            cohort.groupby("participant_id").core_ml.first(), on="participant_id")  # fmt: skip
        stroke = parts[parts.group == "stroke"]
        if len(stroke) >= 3:
            rho = stats.spearmanr(stroke.core_ml, stroke.NIHSS).statistic
            print(f"Spearman NIHSS vs core volume (stroke, n={len(stroke)}): {rho:.2f}")


if __name__ == "__main__":
    main()
