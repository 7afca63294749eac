"""What the digital reference cohort lets any MRI -> PET synthesis achieve (no model trained).

Two measurements on aligned-layout phantom participants (model grid, brain mask), both scored
with ``gausspet_bids.metrics.image_metrics.brain_metrics``:

1. **Noise ceiling.** The phantom's noise-free SUVR scored as a "prediction" of the measured
   (noisy) PET: no synthesis from MRI can beat it on the measured-PET metrics, because PET noise
   is not predictable from MRI.
2. **What MRI explains.** Global least-squares fits of the noise-free SUVR from the normalised
   contrasts (blurred by the PSF) and their pairwise products (a fixed quadratic, voxel-wise
   map, the same for everyone), on noise- and bias-free MRI, with the phantom's physiology
   switched off one factor at a time: regional variation, the deep-grey-matter and cerebellar
   uptake factors, the lesion (core, penumbra, diaschisis). NCC against the noise-free SUVR;
   a per-participant fit gives the ceiling of any voxel-wise map of the contrasts.
3. **Expected physiology.** The noise-free SUVR recomputed with every per-participant random
   factor at its cohort mean (deep-GM, cerebellar, WM and CSF uptake, PET resolution,
   regional variation, core and penumbra reductions, diaschisis), anatomy and lesion extent
   kept, scored against the true noise-free SUVR: roughly the ceiling of a model that knew each participant's anatomy and
   lesion perfectly, since none of those factors shows on MRI. Also the lesion-core SUVR
   error of that map (core = ground-truth core mask, at least 10 voxels): the core's FDG
   reduction is drawn per participant (60-90 %) and does not show on MRI either.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/phantom_synthesis_ceiling.py --participants 12 --seed 5

Takes about 5 s of CPU per participant.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from scipy.ndimage import gaussian_filter

from gausspet_bids.metrics.image_metrics import brain_metrics
from gausspet_bids.model.normalisation import normalise_contrast
from gausspet_bids.phantom import pet
from gausspet_bids.phantom.aligned import aligned_images
from gausspet_bids.phantom.cohort import plan_cohort
from gausspet_bids.phantom.geometry import ImageGrid
from gausspet_bids.phantom.mri import adc_map, noise_free_signal
from gausspet_bids.phantom.render import tissues_aligned
from gausspet_bids.phantom.subject import make_subject
from gausspet_bids.phantom.tissue_bank import tissue_bank
from gausspet_bids.preprocessing.model_grid import model_grid

CONTRASTS = ("T1w", "T2w", "FLAIR", "DWI", "ADC")
# cohort mean of the WM uptake 1 / U(2.0, 2.5) (phantom/subject.py): E[1/U(a, b)] = ln(b/a) / (b - a)
WM_MEAN = float(np.log(2.5 / 2.0) / 0.5)
# physiology switched off, cumulatively
VARIANTS = {
    "all physiology": set(),
    "- regional variation": {"regional"},
    "- deep GM and cerebellar factors": {"regional", "deep"},
    "- lesion (core, penumbra, diaschisis)": {"regional", "deep", "lesion"},
}


def noise_free_images(subject, tissues, mask) -> dict[str, np.ndarray]:
    """Noise- and bias-free T1w, T2w, FLAIR, DWI trace (b = 1000) and ADC, zero outside the
    mask: the participant's MRI as a perfect scanner would give it (normalisation removes the
    scanner gain, so none is applied)."""
    stage = subject.sessions[0].plan.stage
    images = [noise_free_signal(tissues, c, stage, subject.mri.jitter[c]) for c in CONTRASTS[:3]]
    b0 = noise_free_signal(tissues, "dwi", stage, subject.mri.jitter["dwi"])
    adc = adc_map(tissues, stage)
    images += [b0 * np.exp(-adc), adc]
    pairs = zip(CONTRASTS, images, strict=True)
    return {c: np.where(mask, v, 0.0).astype(np.float32) for c, v in pairs}


def noise_free_contrasts(subject, tissues, mask) -> np.ndarray:
    """:func:`noise_free_images`, normalised, stacked in CONTRASTS order."""
    images = noise_free_images(subject, tissues, mask)
    return np.stack([normalise_contrast(images[c], mask) for c in CONTRASTS])


def suvr(subject, tissues, mask, grid, off: set[str]) -> np.ndarray:
    """Noise-free SUVR (cerebellar-GM reference) with the physiology in ``off`` removed."""
    if "regional" in off:
        tissues = dataclasses.replace(tissues, regional=np.ones_like(tissues.regional))
    if "deep" in off:
        uptake = dataclasses.replace(subject.uptake, deep=1.0, cerebellum=1.0)
        subject = dataclasses.replace(subject, uptake=uptake)
    if "lesion" in off:
        subject = dataclasses.replace(subject, lesion=None)
    noise_free = pet.blur(pet.true_uptake(subject, tissues), grid.zooms, subject.uptake.fwhm_mm)
    return noise_free / pet.cerebellar_reference(noise_free, tissues)


def expected_physiology_suvr(subject, tissues, grid) -> np.ndarray:
    """Noise-free SUVR with the per-participant random uptake factors at their cohort means."""
    uptake = dataclasses.replace(
        subject.uptake,
        deep=1.15,
        cerebellum=0.85,
        wm=WM_MEAN,
        csf=0.15,
        fwhm_mm=5.5,
    )
    subject = dataclasses.replace(subject, uptake=uptake)
    if subject.lesion is not None:
        lesion = dataclasses.replace(
            subject.lesion,
            core_reduction=0.75,
            penumbra_reduction=0.2,
            diaschisis=0.175 if subject.lesion.diaschisis > 0 else 0.0,
        )
        subject = dataclasses.replace(subject, lesion=lesion)
    tissues = dataclasses.replace(tissues, regional=np.ones_like(tissues.regional))
    noise_free = pet.blur(pet.true_uptake(subject, tissues), grid.zooms, subject.uptake.fwhm_mm)
    return noise_free / pet.cerebellar_reference(noise_free, tissues)


def features(x: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """PSF-blurred contrasts and pairwise products, plus a constant, at the mask voxels."""
    cols = [gaussian_filter(v, sigma)[mask] for v in x]
    n = len(x)
    cols += [gaussian_filter(x[i] * x[j], sigma)[mask] for i in range(n) for j in range(i, n)]
    return np.stack([*cols, np.ones(int(mask.sum()))], axis=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--participants", type=int, default=12)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    shape, affine = model_grid()
    grid = ImageGrid(shape=shape, affine=affine)
    bank = tissue_bank(2)
    ceiling, fits, expected, core_errors = [], {name: [] for name in VARIANTS}, [], []
    for plan in plan_cohort(args.participants, args.seed):
        subject = make_subject(plan, args.seed, "small")
        measured = aligned_images(subject, args.seed, grid, with_truth=True)
        mask = measured["MASK"] > 0
        ceiling.append(brain_metrics(measured["TRUTH/PET"], measured["PET"], mask))
        tissues = tissues_aligned(subject, grid, bank)
        mean_suvr = expected_physiology_suvr(subject, tissues, grid)
        expected.append(brain_metrics(np.where(mask, mean_suvr, 0), measured["TRUTH/PET"], mask))
        core = (measured["TRUTH/CORE"] > 0) & mask
        if core.sum() >= 10:
            true_core = float(measured["TRUTH/PET"][core].mean())
            core_errors.append(abs(float(mean_suvr[core].mean()) - true_core) / true_core)
        x = noise_free_contrasts(subject, tissues, mask)
        sigma = subject.uptake.fwhm_mm / (2 * np.sqrt(2 * np.log(2))) / float(grid.zooms[0])
        for name, off in VARIANTS.items():
            fits[name].append(
                (features(x, mask, sigma), suvr(subject, tissues, mask, grid, off)[mask])
            )
        print(f"participant {plan.index + 1}/{args.participants} ({plan.group})", flush=True)
    n = len(ceiling)
    print(f"\n1. Noise-free SUVR scored against the measured PET ({n} participants, brain mask):")
    for key in ("PSNR", "SSIM", "NMAE", "NMSE", "NCC"):
        values = np.array([m[key] for m in ceiling])
        print(
            f"   {key:5s} mean {values.mean():.4f}  (min {values.min():.4f}, max {values.max():.4f})"
        )
    print("\n2. NCC with the noise-free SUVR of fixed quadratic maps of noise-free MRI:")
    print(f"   {'physiology in the PET':40s} {'one map for all':>16s} {'one per participant':>20s}")
    for name, rows in fits.items():
        design = np.concatenate([f for f, _ in rows])
        coef = np.linalg.lstsq(design, np.concatenate([y for _, y in rows]), rcond=None)[0]
        shared = [np.corrcoef(f @ coef, y)[0, 1] for f, y in rows]
        own = [np.corrcoef(f @ np.linalg.lstsq(f, y, rcond=None)[0], y)[0, 1] for f, y in rows]
        print(f"   {name:40s} {np.mean(shared):16.3f} {np.mean(own):20.3f}")
    print("\n3. Noise-free SUVR with mean physiology scored against the true noise-free SUVR:")
    for key in ("PSNR", "SSIM", "NMAE", "NMSE", "NCC"):
        values = np.array([m[key] for m in expected])
        print(
            f"   {key:5s} mean {values.mean():.4f}  (min {values.min():.4f}, max {values.max():.4f})"
        )
    errors = np.array(core_errors)
    print(
        f"   lesion-core SUVR relative error: median {np.median(errors):.1%}, "
        f"within 15 % {np.mean(errors <= 0.15):.0%} of {len(errors)} cores"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
