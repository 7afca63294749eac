"""Scoring on the phantom cohorts (shared fixtures): ground-truth territories, lesions, NIHSS.

Hypometabolism defaults were tuned on a different phantom seed (101, docs/metrics.md); these
fixtures use seed 17.
"""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.image import resample_to_img

from gausspet_bids.metrics.group_stats import spearman_ci
from gausspet_bids.metrics.hypometabolism import dice, hypometabolic_mask, region_volumes
from gausspet_bids.metrics.territories import territory_table

ATLAS = "gausspet_bids/data/atlas/tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"
CEREBELLUM = [27, 28, 29, 30]  # SCA, ICA labels: crossed cerebellar diaschisis lives there


def _truth(small_phantom, sub):
    folder = small_phantom.gt_dir / f"sub-{sub}"
    pre = folder / f"sub-{sub}_space-T1w_"

    def load(name):
        return nib.load(f"{pre}{name}.nii.gz")

    return load, pd.read_csv(small_phantom.gt_dir / "cohort.tsv", sep="\t").set_index(
        "participant_id"
    )


@pytest.mark.slow
def test_territory_means_match_ground_truth_nine_territory_map(small_phantom):
    load, _ = _truth(small_phantom, "001")
    pet = np.asanyarray(load("trc-FDG_desc-noisefreeSUVR_pet").dataobj).astype(float)
    dseg32 = np.asanyarray(load("atlas-Arterial_dseg").dataobj).astype(int)
    dseg9 = np.asanyarray(load("atlas-ArterialTerritories_dseg").dataobj).astype(int)
    labels9 = pd.read_csv(small_phantom.gt_dir / "atlas-ArterialTerritories_dseg.tsv", sep="\t")
    table = territory_table({"pet": pet}, dseg32, 0.008).set_index("territory")
    for row in labels9.itertuples():
        hemi = "left" if row.hemisphere == "L" else "right"
        truth = pet[dseg9 == row.index]
        assert table.loc[row.territory, f"pet_mean_{hemi}"] == pytest.approx(truth.mean(), rel=1e-6)
        assert table.loc[row.territory, f"pet_median_{hemi}"] == pytest.approx(
            np.median(truth), rel=1e-6
        )


@pytest.mark.slow
def test_hypometabolic_mask_overlaps_lesion_and_penumbra(small_phantom):
    cohort = pd.read_csv(small_phantom.gt_dir / "cohort.tsv", sep="\t")
    results = {}
    for sub in ("001", "002", "003"):
        load, _ = _truth(small_phantom, sub)
        pet_img = load("trc-FDG_desc-noisefreeSUVR_pet")
        dseg = np.asanyarray(load("atlas-Arterial_dseg").dataobj).astype(int)
        brain = np.asanyarray(load("desc-brain_mask").dataobj)
        lesion = (np.asanyarray(load("desc-core_mask").dataobj) > 0) | (
            np.asanyarray(load("desc-penumbra_mask").dataobj) > 0
        )
        mask = hypometabolic_mask(np.asanyarray(pet_img.dataobj), brain, dseg, pet_img.affine)
        supratentorial = mask & ~np.isin(dseg, CEREBELLUM)
        results[sub] = (dice(supratentorial, lesion), region_volumes(mask, dseg, 0.008), lesion)
    row = cohort.set_index("participant_id").loc["sub-003"]  # territorial MCA lesion, 14 ml
    assert row["group"] == "stroke" and row["territory"] == "MCA"
    dice_003, vols_003, _ = results["003"]
    assert dice_003 > 0.7  # measured 0.774 (benchmarks/group_hypometabolism_phantom.py --seed 17)
    hemi = "left" if row["hemisphere"] == "L" else "right"
    other = "right" if hemi == "left" else "left"
    assert vols_003[f"MCA_{hemi}"] > 3.0 and vols_003[f"MCA_{other}"] < 1.0
    # the control: (almost) nothing
    assert results["002"][1]["total"] < 15.0
    # sub-001 (PCA): the lesion territory carries hypometabolism
    r001 = cohort.set_index("participant_id").loc["sub-001"]
    h001 = "left" if r001["hemisphere"] == "L" else "right"
    assert results["001"][1][f"{r001['territory']}_{h001}"] > 3.0


@pytest.mark.slow
def test_hypometabolic_volume_correlates_with_nihss(small_aligned):
    """Aligned (template-space) phantom with noise: volume vs the NIHSS the phantom built from
    lesion volume and location."""
    atlas = nib.load(ATLAS)
    volumes = []
    for row in small_aligned.table.itertuples():
        folder = small_aligned.root / row.split
        pet = nib.load(folder / "PET" / f"{row.N}.nii.gz")
        brain = np.asanyarray(nib.load(folder / "MASK" / f"{row.N}.nii.gz").dataobj) > 0
        dseg_img = resample_to_img(atlas, pet, interpolation="nearest", force_resample=True,
                                   copy_header=True)  # fmt: skip
        dseg = np.where(brain, np.asanyarray(dseg_img.dataobj), 0).astype(int)
        mask = hypometabolic_mask(np.asanyarray(pet.dataobj), brain, dseg, pet.affine)
        volumes.append(region_volumes(mask, dseg, 0.008)["total"])
        if row.group == "control":
            assert volumes[-1] < 5.0
    result = spearman_ci(volumes, small_aligned.table["NIHSS"])
    assert result["n"] == len(small_aligned.table)
    assert result["rho"] > 0.7 and result["p"] < 0.05 and result["ci_low"] > 0
