"""FDG-PET: a static image over a time window, and SUVR.

Static image: mean of the frames whose midpoint falls in the window, weighted by frame duration
(the default window is the last 30 minutes of the acquisition). SUVR: the static image divided
by its mean over a reference region (cerebellar grey matter by default, or the whole brain).
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from gausspet_bids.bids.atomic import save_nifti
from gausspet_bids.preprocessing.image_checks import InputImageError, load_checked

DEFAULT_WINDOW_MIN = 30.0


def frame_weights(
    starts_s: np.ndarray, durations_s: np.ndarray, window_min: tuple[float, float] | None = None
) -> np.ndarray:
    """Duration weights (sum 1) of the frames whose midpoint lies in ``window_min``.

    ``window_min`` is ``(start, end)`` in minutes from scan start; ``None`` means the last
    :data:`DEFAULT_WINDOW_MIN` minutes of the acquisition.
    """
    starts, durations = np.asarray(starts_s, float), np.asarray(durations_s, float)
    mids = starts + durations / 2.0
    if window_min is None:
        end = float((starts + durations).max())
        lo, hi = end - DEFAULT_WINDOW_MIN * 60.0, end
    else:
        lo, hi = float(window_min[0]) * 60.0, float(window_min[1]) * 60.0
    chosen = (mids >= lo) & (mids <= hi)
    if not chosen.any():
        raise ValueError(f"no PET frame has its midpoint in the window {lo / 60:g}-{hi / 60:g} min")
    weights = np.where(chosen, durations, 0.0)
    return weights / weights.sum()


def static_pet(
    pet_file: Path | str,
    json_file: Path | str | None,
    out_file: Path | str,
    window_min: tuple[float, float] | None = None,
) -> str:
    """Write the frame-duration-weighted mean of ``pet_file`` over the window (3D input: copy)."""
    img = nib.load(str(pet_file)) if Path(pet_file).is_file() else None
    if img is not None and len(img.shape) == 4 and img.shape[3] > 1:
        img = load_checked(pet_file, ndim=4)
        n = img.shape[3]
        meta = _read_json(json_file, pet_file)
        durations = np.asarray(meta.get("FrameDuration", []), dtype=float).ravel()
        starts = meta.get("FrameTimesStart")
        if durations.size != n:
            raise InputImageError(
                f"{json_file}: FrameDuration has {durations.size} entries but {pet_file} has {n} frames"
            )
        starts = (
            np.asarray(starts, float) if starts else np.concatenate([[0], durations.cumsum()[:-1]])
        )
        try:
            weights = frame_weights(starts, durations, window_min)
        except ValueError as err:
            raise InputImageError(f"{pet_file}: {err}") from err
        data = np.tensordot(np.asanyarray(img.dataobj, dtype=np.float64), weights, axes=([3], [0]))
    else:
        img = load_checked(pet_file, ndim=3)
        data = np.asanyarray(img.dataobj, dtype=np.float64)
    out = nib.Nifti1Image(np.clip(data, 0, None).astype(np.float32), img.affine)
    return str(save_nifti(out, out_file))


def _read_json(json_file: Path | str | None, pet_file: Path | str) -> dict:
    if json_file is None or not Path(json_file).is_file():
        raise InputImageError(f"{pet_file}: a 4D PET needs its JSON sidecar with FrameDuration")
    try:
        return json.loads(Path(json_file).read_text())
    except json.JSONDecodeError as err:
        raise InputImageError(f"{json_file}: invalid JSON ({err})") from err


def suvr(
    pet_file: Path | str,
    reference_mask_file: Path | str,
    out_file: Path | str,
    brain_mask_file: Path | str | None = None,
) -> dict[str, str | float]:
    """Write PET / mean(PET in the reference region); return the path and that mean.

    All images on one grid. With ``brain_mask_file`` the output is zero outside the brain.
    """
    img = load_checked(pet_file, ndim=3)
    pet = np.asanyarray(img.dataobj, dtype=np.float64)
    ref = np.asanyarray(nib.load(str(reference_mask_file)).dataobj) > 0.5
    if ref.shape != pet.shape:
        raise ValueError(f"{reference_mask_file}: grid {ref.shape} differs from PET {pet.shape}")
    if ref.sum() < 10:
        raise ValueError(f"{reference_mask_file}: reference region has {int(ref.sum())} voxels")
    ref_mean = float(pet[ref].mean())
    if ref_mean <= 0:
        raise InputImageError(f"{pet_file}: mean uptake in the reference region is {ref_mean:g}")
    out = pet / ref_mean
    if brain_mask_file is not None:
        out *= np.asanyarray(nib.load(str(brain_mask_file)).dataobj) > 0.5
    save_nifti(nib.Nifti1Image(out.astype(np.float32), img.affine), out_file)
    return {"suvr": str(out_file), "reference_mean": ref_mean}
