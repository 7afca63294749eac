"""MR lesion contrast by stage and ground-truth transforms, measured on the written images."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from phantom_truth import load_truth, subject_of, truth_image
from scipy import ndimage

from gausspet_bids.phantom import mri, pet
from gausspet_bids.phantom.render import tissues_in_scanner
from gausspet_bids.phantom.tissue_bank import tissue_bank
from gausspet_bids.phantom.truth_io import load_transforms, resample_to_t1w


def _on_t1w(cohort, participant, session, rel, volumes=None):
    """A BIDS image (mean over ``volumes`` if 4D) resampled onto the session's T1w grid."""
    img = nib.load(cohort.bids_dir / rel)
    data = np.asanyarray(img.dataobj, dtype=np.float32)
    if data.ndim == 4:
        data = data[..., volumes].mean(axis=-1)
    matrix = load_transforms(cohort.gt_dir, participant, session)["Transforms"][rel]
    ref = truth_image(cohort.gt_dir, participant, session, "desc-brain_mask")
    return resample_to_t1w(nib.Nifti1Image(data, img.affine), matrix, ref.shape, ref.affine)


def _masks(cohort, participant, session):
    gt = cohort.gt_dir
    core = load_truth(gt, participant, session, "desc-core_mask") > 0
    pen = load_truth(gt, participant, session, "desc-penumbra_mask") > 0
    wm = load_truth(gt, participant, session, "label-WM_probseg")
    gm = load_truth(gt, participant, session, "label-GM_probseg")
    normal = ((wm + gm) > 0.95) & ~core & ~pen
    core = core & ((wm + gm) > 0.8)
    return core, normal


def test_acute_lesion_bright_on_dwi_dark_on_adc(small_phantom):
    rel = "sub-004/ses-1/dwi/sub-004_ses-1_dwi.nii.gz"
    b0 = _on_t1w(small_phantom, "004", "1", rel, [0])
    b1000 = _on_t1w(small_phantom, "004", "1", rel, slice(1, None))
    core, normal = _masks(small_phantom, "004", "1")
    assert core.sum() > 100
    adc = -np.log(np.maximum(b1000, 1.0) / np.maximum(b0, 1.0)) / 1000.0 * 1e3
    assert np.median(b1000[core]) > 1.4 * np.median(b1000[normal])
    assert np.median(adc[core]) < 0.75 * np.median(adc[normal])


def test_chronic_lesion_bright_on_flair_dark_on_t1w(small_phantom):
    """Chronic (sub-004 ses-2, ~20 ml): gliotic rim bright on FLAIR, liquefied centre dark
    (CSF-like), whole lesion dark on T1w; acute (ses-1) FLAIR is far less bright."""
    core, normal = _masks(small_phantom, "004", "2")
    centre = ndimage.binary_erosion(core, iterations=3)
    rim = core & ~ndimage.binary_erosion(core, iterations=1)
    assert centre.sum() > 10 and rim.sum() > 100
    flair = _on_t1w(small_phantom, "004", "2", "sub-004/ses-2/anat/sub-004_ses-2_FLAIR.nii.gz")
    t1w = _on_t1w(small_phantom, "004", "2", "sub-004/ses-2/anat/sub-004_ses-2_T1w.nii.gz")
    normal_flair = np.median(flair[normal])
    assert np.median(flair[rim]) > 1.25 * normal_flair
    assert np.median(flair[centre]) < 0.8 * normal_flair
    assert np.median(t1w[core]) < 0.7 * np.median(t1w[normal])
    acute_flair = _on_t1w(
        small_phantom, "004", "1", "sub-004/ses-1/anat/sub-004_ses-1_FLAIR.nii.gz"
    )
    core1, normal1 = _masks(small_phantom, "004", "1")
    rim1 = core1 & ~ndimage.binary_erosion(core1, iterations=1)
    acute_ratio = np.median(acute_flair[rim1]) / np.median(acute_flair[normal1])
    assert acute_ratio < np.median(flair[rim]) / normal_flair


def _corr(a, b, mask):
    return float(np.corrcoef(a[mask], b[mask])[0, 1])


def test_transforms_map_every_image_onto_the_t1w_grid(small_phantom):
    """Each series, resampled through its ground-truth matrix, matches the truth on the T1w grid."""
    subject = subject_of(4, small_phantom.seed, 0)
    acq = subject.sessions[0].acquisitions["T1w"]
    tissues = tissues_in_scanner(subject, acq, tissue_bank(2))
    head = (tissues.brain + tissues.fractions["bone"] + tissues.fractions["skin"]) > 0.05
    expected = {
        "T2w": mri.noise_free_signal(tissues, "T2w", "subacute", {}),
        "FLAIR": mri.noise_free_signal(tissues, "FLAIR", "subacute", {}),
        "dwi": mri.noise_free_signal(tissues, "dwi", "subacute", {}),
        "pet": pet.blur(pet.true_uptake(subject, tissues), acq.grid.zooms, 6.0),
    }
    transforms = load_transforms(small_phantom.gt_dir, "001")["Transforms"]
    for series, truth in expected.items():
        rel = next(r for r in transforms if r.endswith(f"_{series}.nii.gz"))
        img = nib.load(small_phantom.bids_dir / rel)
        moved = _on_t1w(small_phantom, "001", None, rel, [0] if img.ndim == 4 else None)
        unmoved = resample_to_t1w(img, np.eye(4), acq.grid.shape, acq.grid.affine)
        r_true, r_identity = _corr(moved, truth, head), _corr(unmoved, truth, head)
        assert r_true > 0.85, (series, r_true)
        assert r_true > r_identity + 0.05, (series, r_true, r_identity)
