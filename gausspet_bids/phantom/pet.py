"""FDG uptake (SUV) from tissue fractions and physiology; PET resolution, noise and frames.

Uptake is set per tissue relative to cortical grey matter (see docs/phantom.md for sources):
white matter 1/2.0-1/2.5, striatum/thalamus 1.0-1.2, cerebellum 0.8-0.9, CSF 0.1-0.2, times a
smooth regional variation; lesions reduce it in the core (60-90 %), the penumbra (10-30 %) and
the contralateral cerebellum (crossed cerebellar diaschisis, 10-25 %). None of these regional
factors is visible on MRI, so PET is not a fixed function of any one MR contrast.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from gausspet_bids.phantom.render import Tissues
from gausspet_bids.phantom.subject import Subject

HEAD_UPTAKE = {
    "meninges": 0.15,
    "bone": 0.05,
    "marrow": 0.2,
    "muscle": 0.15,
    "fat": 0.05,
    "skin": 0.12,
}
FRAME_START_S = 1800.0  # 30 min post injection
FRAME_LENGTH_S = 300.0  # 6 x 5 min


def true_uptake(subject: Subject, tissues: Tissues) -> np.ndarray:
    """Unblurred FDG uptake in SUV (g/ml)."""
    u = subject.uptake
    f = tissues.fractions
    grey = np.where(tissues.deep, u.deep, 1.0).astype(np.float32)
    brain = f["gm"] * grey + f["wm"] * u.wm
    brain = np.where(tissues.cerebellum, brain * u.cerebellum, brain)
    if subject.lesion is not None:
        les = subject.lesion
        brain = brain * (1.0 - les.core_reduction * tissues.core)
        brain = brain * (1.0 - les.penumbra_reduction * tissues.penumbra)
        brain = brain * (1.0 - les.diaschisis * tissues.contra_cerebellum)
    brain = brain * tissues.regional
    activity = brain + f["csf"] * u.csf
    for name, rel in HEAD_UPTAKE.items():
        activity = activity + f[name] * rel
    return (activity * u.cortex_suv).astype(np.float32)


def blur(image: np.ndarray, zooms_mm: np.ndarray, fwhm_mm: float) -> np.ndarray:
    """Isotropic Gaussian point-spread of ``fwhm_mm`` on a grid of ``zooms_mm`` voxels."""
    sigma = fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / np.asarray(zooms_mm, dtype=float)
    return ndimage.gaussian_filter(image, sigma, mode="constant").astype(np.float32)


def pet_frames(
    noise_free: np.ndarray, n_frames: int, cortex_suv: float, rng: np.random.Generator
) -> np.ndarray:
    """Noisy frames (SUV): slow 30-60 min uptake drift and spatially correlated noise.

    Noise SD ~ 5 % of cortical SUV over the whole 30 min (scaled by sqrt(6) per 5-min frame),
    proportional to sqrt(activity) as counting statistics make it.
    """
    frames = []
    for k in range(n_frames):
        drift = 1.0 + (0.03 * (k - (n_frames - 1) / 2.0) / 2.5 if n_frames > 1 else 0.0)
        noise = ndimage.gaussian_filter(
            rng.standard_normal(noise_free.shape, dtype=np.float32), 0.8
        )
        noise /= max(float(noise.std()), 1e-6)
        sd = 0.05 * np.sqrt(n_frames) * np.sqrt(np.maximum(noise_free, 0.0) * cortex_suv)
        frames.append(noise_free * drift + sd * noise)
    data = np.stack(frames, axis=-1) if n_frames > 1 else frames[0]
    return np.maximum(data, 0.0).astype(np.float32)


def cerebellar_reference(pet: np.ndarray, tissues: Tissues) -> float:
    """Mean PET in cerebellar grey matter (GM fraction > 0.5): the SUVR reference."""
    mask = tissues.cerebellum & (tissues.fractions["gm"] > 0.5)
    if not mask.any():
        raise ValueError("no cerebellar grey matter in the field of view for the SUVR reference")
    return float(pet[mask].mean())
