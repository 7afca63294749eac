"""The aligned training layout: every participant on the model grid, as the published method expects.

``OUT/{train,test}/MRI/{T1w,T2w,FLAIR,DWI,ADC}/N.nii.gz``, ``OUT/{train,test}/PET/N.nii.gz``
(SUVR, cerebellar grey-matter reference), ``OUT/{train,test}/MASK/N.nii.gz`` (true brain mask),
``OUT/cohort.tsv``. Each participant's deformed anatomy is seen through the linear part of its
warp only (what an affine registration to the template recovers), with residual bias field and
noise, and NOT intensity-normalised. DWI is the trace-weighted b1000 image; ADC is in
1e-3 mm^2/s. The PET is zero outside the true mask; the MRI keeps a ring of
:data:`RING_MM` around it (CSF, dura, inner skull table) and is zero beyond. A model given the
true mask never sees the ring (inputs are zeroed outside the mask it is given); training can
use it to imitate a brain-extraction mask that is a little too large (``gausspet-train
--mask-dilation``), which is what a real one often is.
"""

from __future__ import annotations

import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy.ndimage import distance_transform_edt

from gausspet_bids.bids.atomic import save_nifti, write_text
from gausspet_bids.phantom import mri, pet
from gausspet_bids.phantom.cohort import (
    CohortOptions,
    participant_rng,
    plan_cohort,
)
from gausspet_bids.phantom.geometry import ImageGrid
from gausspet_bids.phantom.render import tissues_aligned
from gausspet_bids.phantom.subject import Subject, lesion_ml, make_subject, subject_scores
from gausspet_bids.phantom.tissue_bank import tissue_bank
from gausspet_bids.preprocessing.model_grid import model_grid

LOG = logging.getLogger("gausspet.phantom")
MRI_CHANNELS = ("T1w", "T2w", "FLAIR", "DWI", "ADC")
RING_MM = 6.0  # MRI kept this far outside the true brain mask (3 voxels of the model grid)


def split_of(n: int, test_fraction: float, seed: int) -> list[str]:
    """``train``/``test`` per participant: a seeded random ``round(n * test_fraction)`` are test."""
    n_test = int(round(n * test_fraction))
    if test_fraction > 0 and n_test == 0 and n > 1:
        n_test = 1
    order = np.random.default_rng([int(seed), 999]).permutation(n)
    test = set(order[:n_test].tolist())
    return ["test" if i in test else "train" for i in range(n)]


def aligned_images(
    subject: Subject, seed: int, grid: ImageGrid, with_truth: bool = False
) -> dict[str, np.ndarray]:
    """Model-grid images of one participant (first session's stage): MRI, SUVR PET, mask.

    MRI is kept within :data:`RING_MM` of the mask, PET within the mask.

    ``with_truth`` adds ``TRUTH/CORE``, ``TRUTH/PENUMBRA`` (masks, fraction >= 0.5) and
    ``TRUTH/PET`` (noise-free SUVR over the noise-free cerebellar-GM mean).
    """
    tissues = tissues_aligned(subject, grid, tissue_bank(2))
    stage = subject.sessions[0].plan.stage
    rng = participant_rng(seed, subject.plan.index, 50)
    mask = tissues.brain >= 0.5
    out: dict[str, np.ndarray] = {}
    for contrast in ("T1w", "T2w", "FLAIR"):
        signal = mri.noise_free_signal(tissues, contrast, stage, subject.mri.jitter[contrast])
        out[contrast] = mri.acquire(signal, subject.mri.gain[contrast], subject.mri.snr[contrast],
                                    rng, bias_strength=0.1)  # fmt: skip
    b0 = mri.noise_free_signal(tissues, "dwi", stage, subject.mri.jitter["dwi"])
    series = mri.dwi_series(b0, mri.adc_map(tissues, stage), subject.mri.gain["dwi"],
                            subject.mri.snr["dwi"], rng)  # fmt: skip
    eps = 1e-3 * subject.mri.gain["dwi"]
    trace = np.exp(np.log(np.maximum(series[..., 1:], eps)).mean(axis=-1))
    out["DWI"] = trace
    out["ADC"] = np.clip(-np.log(trace / np.maximum(series[..., 0], eps)) / mri.B_VALUE * 1e3, 0, 4)
    noise_free = pet.blur(pet.true_uptake(subject, tissues), grid.zooms, subject.uptake.fwhm_mm)
    noisy = pet.pet_frames(noise_free, 1, subject.uptake.cortex_suv, rng)
    out["PET"] = noisy / pet.cerebellar_reference(noisy, tissues)
    ring = distance_transform_edt(~mask, sampling=grid.zooms) <= RING_MM
    for key in out:
        keep = ring if key in MRI_CHANNELS else mask
        out[key] = np.where(keep, out[key], 0.0).astype(np.float32)
    out["MASK"] = mask.astype(np.uint8)
    if with_truth:
        out["TRUTH/CORE"] = ((tissues.core >= 0.5) & mask).astype(np.uint8)
        out["TRUTH/PENUMBRA"] = ((tissues.penumbra >= 0.5) & mask).astype(np.uint8)
        suvr = noise_free / pet.cerebellar_reference(noise_free, tissues)
        out["TRUTH/PET"] = np.where(mask, suvr, 0.0).astype(np.float32)
    return out


def write_aligned_cohort(
    out_dir: Path | str,
    n: int,
    seed: int,
    *,
    test_fraction: float = 0.2,
    options: CohortOptions | None = None,
    truth_dir: Path | str | None = None,
) -> pd.DataFrame:
    """Write ``n`` participants in the aligned layout; return (and write) ``cohort.tsv``.

    With ``truth_dir``: ``truth_dir/{train,test}/{CORE,PENUMBRA,PET}/N.nii.gz`` on the same grid
    (lesion core and penumbra masks, noise-free SUVR).
    """
    out_dir = Path(out_dir)
    shape, affine = model_grid()
    grid = ImageGrid(shape=shape, affine=affine)
    splits = split_of(n, test_fraction, seed)
    rows = []
    for plan, split in zip(plan_cohort(n, seed, options), splits, strict=True):
        subject = make_subject(plan, seed, "small")
        volume = lesion_ml(subject)
        les = subject.lesion
        nihss, mrs = subject_scores(subject, seed)
        number = plan.index + 1
        images = aligned_images(subject, seed, grid, with_truth=truth_dir is not None)
        for key, data in images.items():
            if key.startswith("TRUTH/"):
                folder = Path(truth_dir) / split / key.removeprefix("TRUTH/")
            else:
                folder = out_dir / split / ("MRI/" + key if key in MRI_CHANNELS else key)
            img = nib.Nifti1Image(data, affine)
            img.header.set_xyzt_units("mm")
            img.set_sform(affine, code="mni")  # template space (MNI152NLin2009aSym)
            img.set_qform(affine, code="mni")
            save_nifti(img, folder / f"{number}.nii.gz")
        rows.append({
            "N": number, "participant": f"sub-{plan.label}", "split": split, "age": plan.age,
            "sex": plan.sex, "group": plan.group, "lesion_ml": round(volume, 3), "NIHSS": nihss,
            "mRS": mrs, "territory": les.territory if les else "n/a",
            "hemisphere": les.hemisphere if les else "n/a",
            "stage": subject.sessions[0].plan.stage or "n/a",
        })  # fmt: skip
        LOG.info("aligned %d/%d (sub-%s, %s)", number, n, plan.label, split)
    table = pd.DataFrame(rows)
    write_text(out_dir / "cohort.tsv", table.to_csv(sep="\t", index=False, lineterminator="\n"))
    return table
