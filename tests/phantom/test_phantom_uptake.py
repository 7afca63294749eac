"""FDG uptake measured on the phantom's ground truth: tissue ratios, lesion effects, diaschisis."""

from __future__ import annotations

import numpy as np
import pandas as pd
from phantom_truth import load_truth, subject_of, uptake_without_lesion
from scipy import ndimage

from gausspet_bids.phantom import mri, pet
from gausspet_bids.phantom.render import tissues_in_scanner
from gausspet_bids.phantom.tissue_bank import CEREBELLUM_LABELS, DEEP_GM_LABELS, tissue_bank


def _tissue_uptake(gt, participant):
    """Least-squares uptake per unit tissue fraction (cortex, deep GM, cerebellar GM, WM, CSF)."""
    uptake = load_truth(gt, participant, None, "trc-FDG_desc-uptake_pet").astype(float)
    gm = load_truth(gt, participant, None, "label-GM_probseg").astype(float)
    wm = load_truth(gt, participant, None, "label-WM_probseg").astype(float)
    csf = load_truth(gt, participant, None, "label-CSF_probseg").astype(float)
    atlas = load_truth(gt, participant, None, "atlas-Arterial_dseg")
    deep = np.isin(atlas, DEEP_GM_LABELS)
    cereb = np.isin(atlas, CEREBELLUM_LABELS)
    inside = (gm + wm + csf) > 0.98
    columns = [gm * ~deep * ~cereb, gm * deep, gm * cereb, wm * ~cereb, wm * cereb, csf]
    design = np.stack([c[inside] for c in columns], axis=1)
    coef, *_ = np.linalg.lstsq(design, uptake[inside], rcond=None)
    return dict(
        zip(["cortex", "deep", "cerebellum", "wm", "cerebellar_wm", "csf"], coef, strict=True)
    )


def test_tissue_uptake_ratios_are_physiological(small_phantom):
    u = _tissue_uptake(small_phantom.gt_dir, "002")  # the control
    assert 1.9 <= u["cortex"] / u["wm"] <= 2.6
    assert 1.0 <= u["deep"] / u["cortex"] <= 1.3
    assert 0.78 <= u["cerebellum"] / u["cortex"] <= 0.92
    assert 0.08 <= u["csf"] / u["cortex"] <= 0.22
    assert 4.0 <= u["cortex"] <= 10.0  # SUV


def test_striatum_thalamus_at_or_above_cortex_after_blur(small_phantom):
    gt = small_phantom.gt_dir
    noise_free = load_truth(gt, "002", None, "trc-FDG_desc-noisefree_pet")
    gm = load_truth(gt, "002", None, "label-GM_probseg")
    atlas = load_truth(gt, "002", None, "atlas-Arterial_dseg")
    deep = np.isin(atlas, DEEP_GM_LABELS) & (gm > 0.5)
    cortex = ~np.isin(atlas, DEEP_GM_LABELS + CEREBELLUM_LABELS) & (gm > 0.5) & (atlas > 0)
    assert noise_free[deep].mean() >= noise_free[cortex].mean()
    suvr = load_truth(gt, "002", None, "trc-FDG_desc-noisefreeSUVR_pet")
    cereb_gm = np.isin(atlas, CEREBELLUM_LABELS) & (gm > 0.5)
    assert abs(np.median(suvr[cereb_gm]) - 1.0) < 0.1


def test_lesion_core_penumbra_and_diaschisis(small_phantom):
    """Reduction against the same participant rendered without its lesion (sub-001)."""
    gt = small_phantom.gt_dir
    truth = pd.read_csv(gt / "cohort.tsv", sep="\t").set_index("participant_id").loc["sub-001"]
    with_lesion = load_truth(gt, "001", None, "trc-FDG_desc-uptake_pet").astype(float)
    without = uptake_without_lesion(4, small_phantom.seed, 0)
    reduction = 1.0 - with_lesion / np.maximum(without, 1e-6)
    core = load_truth(gt, "001", None, "desc-core_mask") > 0
    interior = ndimage.binary_erosion(core)  # away from the partial-volume border
    visible = load_truth(gt, "001", None, "desc-mrivisible_mask") > 0
    penumbra = load_truth(gt, "001", None, "desc-penumbra_mask") > 0
    assert core.sum() > 50 and penumbra.sum() > 50
    assert not (penumbra & visible).any()  # the penumbra lies beyond what MRI shows
    core_red = np.median(reduction[interior])
    assert 0.6 <= core_red <= 0.9 and abs(core_red - truth.core_reduction) < 0.03
    pen_red = np.median(reduction[penumbra])
    assert 0.1 <= pen_red <= 0.3 and abs(pen_red - truth.penumbra_reduction) < 0.05
    atlas = load_truth(gt, "001", None, "atlas-Arterial_dseg")
    parity = 0 if truth.hemisphere == "L" else 1  # contralateral: odd labels are left
    contra = np.isin(atlas, [lab for lab in CEREBELLUM_LABELS if lab % 2 == parity])
    ipsi = np.isin(atlas, [lab for lab in CEREBELLUM_LABELS if lab % 2 != parity])
    dia = np.median(reduction[contra])
    assert 0.1 <= dia <= 0.25 and abs(dia - truth.diaschisis) < 0.02
    assert abs(np.median(reduction[ipsi])) < 0.01


def test_pet_carries_what_no_mr_contrast_shows(small_phantom):
    """Penumbra and diaschisis change PET but leave every MR contrast untouched (sub-001)."""
    gt = small_phantom.gt_dir
    with_lesion = subject_of(4, small_phantom.seed, 0)
    without = subject_of(4, small_phantom.seed, 0, drop_lesion=True)
    acq = with_lesion.sessions[0].acquisitions["T1w"]
    stage = with_lesion.sessions[0].plan.stage
    t_with = tissues_in_scanner(with_lesion, acq, tissue_bank(2))
    t_without = tissues_in_scanner(without, acq, tissue_bank(2))
    penumbra = (load_truth(gt, "001", None, "desc-penumbra_mask") > 0) & (t_with.core == 0)
    contra = t_with.contra_cerebellum & (t_with.core == 0)
    assert penumbra.sum() > 20 and contra.sum() > 20
    for contrast in ("T1w", "T2w", "FLAIR", "dwi"):
        a = mri.noise_free_signal(t_with, contrast, stage, {})
        b = mri.noise_free_signal(t_without, contrast, None, {})
        for region in (penumbra, contra):
            bad = ~np.isclose(a[region], b[region], rtol=1e-5)
            assert not bad.any(), (contrast, bad.sum(), a[region][bad][:5], b[region][bad][:5])
    assert np.allclose(mri.adc_map(t_with, stage)[penumbra], mri.adc_map(t_without, None)[penumbra])
    pet_with, pet_without = (
        pet.true_uptake(with_lesion, t_with),
        pet.true_uptake(without, t_without),
    )
    for region in (penumbra, contra):
        assert np.median(1 - pet_with[region] / pet_without[region]) >= 0.09
