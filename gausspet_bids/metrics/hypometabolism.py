"""Hypometabolic region of a PET image (method and tuning in docs/metrics.md).

Each voxel is compared with its contralateral homologue. The homologue is found by a mirror
transform fitted to the territory map itself -- the affine map that sends every left atlas
label's centroid onto its right partner's and back -- so no template registration or midline
assumption is needed and it works in any space the dseg is in. The PET is smoothed inside the
brain mask, mirrored, and the healthy-side reference is the minimum of the mirrored image over
a small neighbourhood, which makes the comparison robust to residual anatomical asymmetry (grey
matter is never compared with the other side's white matter). A voxel is hypometabolic when its
SUVR is below ``(1 - threshold)`` times that reference and the reference is at least
``min_reference_suvr`` (excludes CSF against CSF). Connected clusters (26-connectivity) smaller
than ``min_cluster_ml`` are dropped.

Normative comparison: at group level each territory's mean SUVR is z-scored against the
control participants (:func:`normative_z`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from gausspet_bids.metrics.territories import territory_map

DEFAULT_THRESHOLD = 0.20
DEFAULT_MIN_CLUSTER_ML = 0.5
DEFAULT_MIN_REFERENCE_SUVR = 0.35
DEFAULT_SMOOTH_FWHM_MM = 12.0
DEFAULT_REFERENCE_SIZE_MM = 10.0
DEFAULT_Z_THRESHOLD = -2.0
METHOD_SUMMARY = (
    f"Voxels at least {DEFAULT_THRESHOLD:.0%} below the contralateral healthy reference after "
    f"{DEFAULT_SMOOTH_FWHM_MM:g} mm smoothing; clusters under {DEFAULT_MIN_CLUSTER_ML:g} ml "
    "removed (docs/metrics.md)."
)


def label_centroids(dseg: np.ndarray, affine: np.ndarray) -> dict[int, np.ndarray]:
    """World-space centroid (mm) of every non-zero label."""
    labels = np.unique(dseg[dseg > 0]).astype(int)
    centres = ndimage.center_of_mass(np.ones(dseg.shape), dseg, labels)
    vox = np.c_[np.asarray(centres, dtype=float), np.ones(len(labels))]
    world = (affine @ vox.T).T[:, :3]
    return {int(lab): world[i] for i, lab in enumerate(labels)}


def mirror_transform(dseg: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """4x4 world transform mapping left atlas labels onto their right homologues and back.

    Least-squares affine fit over label-pair centroids (odd label k, even label k + 1), both
    directions at once, so the map is close to an involution. Needs at least 4 label pairs.
    """
    cents = label_centroids(np.asarray(dseg).astype(np.int64), affine)
    pairs = [(k, k + 1) for k in cents if k % 2 == 1 and (k + 1) in cents]
    if len(pairs) < 4:
        raise ValueError(f"territory map has only {len(pairs)} left/right label pairs; need 4")
    left = np.array([cents[a] for a, _ in pairs])
    right = np.array([cents[b] for _, b in pairs])
    source, target = np.r_[left, right], np.r_[right, left]
    coef, *_ = np.linalg.lstsq(np.c_[source, np.ones(len(source))], target, rcond=None)
    out = np.eye(4)
    out[:3, :3] = coef[:3].T
    out[:3, 3] = coef[3]
    return out


def smooth_in_mask(data: np.ndarray, mask: np.ndarray, sigma_vox) -> np.ndarray:
    """Gaussian smoothing inside ``mask`` (normalised convolution: outside values never enter)."""
    m = mask.astype(np.float64)
    weight = ndimage.gaussian_filter(m, sigma_vox)
    out = ndimage.gaussian_filter(data * m, sigma_vox) / np.maximum(weight, 1e-6)
    return np.where(mask, out, 0.0)


def mirror_image(data: np.ndarray, affine: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Value at each voxel's mirrored position (linear interpolation, 0 outside)."""
    vox_map = np.linalg.inv(affine) @ transform @ affine
    return ndimage.affine_transform(
        np.asarray(data, dtype=np.float64), vox_map[:3, :3], vox_map[:3, 3], order=1, cval=0.0
    )


def remove_small_clusters(mask: np.ndarray, min_voxels: int) -> np.ndarray:
    """Drop 26-connected clusters with fewer than ``min_voxels`` voxels."""
    labelled, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if n == 0:
        return mask.astype(bool)
    sizes = np.bincount(labelled.ravel())
    keep = sizes >= min_voxels
    keep[0] = False
    return keep[labelled]


def hypometabolic_mask(
    pet: np.ndarray,
    brain_mask: np.ndarray,
    dseg: np.ndarray,
    affine: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    min_cluster_ml: float = DEFAULT_MIN_CLUSTER_ML,
    min_reference_suvr: float = DEFAULT_MIN_REFERENCE_SUVR,
    smooth_fwhm_mm: float = DEFAULT_SMOOTH_FWHM_MM,
    reference_size_mm: float = DEFAULT_REFERENCE_SIZE_MM,
) -> np.ndarray:
    """Voxels at least ``threshold`` (fraction) below their contralateral healthy reference."""
    pet = np.nan_to_num(np.asarray(pet, dtype=np.float64))
    brain = np.asarray(brain_mask) > 0
    zooms = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
    sigma_vox = smooth_fwhm_mm / (2 * np.sqrt(2 * np.log(2))) / zooms
    smoothed = smooth_in_mask(pet, brain, sigma_vox) if smooth_fwhm_mm > 0 else pet
    transform = mirror_transform(dseg, affine)
    mirrored = mirror_image(smoothed, affine, transform)
    mirrored_brain = mirror_image(brain.astype(float), affine, transform) > 0.5
    size = [max(1, int(round(reference_size_mm / z)) | 1) for z in zooms]
    reference = ndimage.minimum_filter(np.where(mirrored_brain, mirrored, np.inf), size=size)
    reference[~np.isfinite(reference)] = 0.0
    candidate = (
        brain
        & mirrored_brain
        & (reference >= min_reference_suvr)
        & (smoothed < (1.0 - threshold) * reference)
    )
    voxel_ml = abs(np.linalg.det(affine[:3, :3])) / 1000.0
    return remove_small_clusters(candidate, int(np.ceil(min_cluster_ml / voxel_ml)))


def region_volumes(mask: np.ndarray, dseg: np.ndarray, voxel_ml: float) -> dict[str, float]:
    """Volume (ml) of ``mask`` in total and per territory-hemisphere (``MCA_left`` ...)."""
    region_img, regions = territory_map(dseg)
    counts = np.bincount(region_img[np.asarray(mask, bool)].ravel(), minlength=len(regions) + 1)
    out = {"total": float(np.count_nonzero(mask) * voxel_ml)}
    for k, (terr, hemi) in enumerate(regions, start=1):
        out[f"{terr}_{hemi}"] = float(counts[k] * voxel_ml)
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient; 1.0 when both masks are empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    total = a.sum() + b.sum()
    return 1.0 if total == 0 else float(2.0 * np.logical_and(a, b).sum() / total)


def normative_z(values: pd.DataFrame, is_control: pd.Series) -> pd.DataFrame:
    """z-score every column against the control rows (mean, SD with ddof 1).

    Columns with fewer than 3 controls or zero SD come out NaN.
    """
    controls = values[is_control.to_numpy(bool)]
    mean, sd = controls.mean(), controls.std(ddof=1)
    sd = sd.where((controls.count() >= 3) & (sd > 0))
    return (values - mean) / sd


def _spatial_reference(pet_file: Path) -> str:
    """The PET sidecar's ``SpatialReference`` if it has one, else the PET file itself."""
    import json

    sidecar = Path(str(pet_file).removesuffix(".gz").removesuffix(".nii") + ".json")
    if sidecar.exists():
        try:
            return json.loads(sidecar.read_text()).get("SpatialReference") or str(pet_file)
        except (json.JSONDecodeError, AttributeError):
            pass
    return str(pet_file)


def write_hypometabolism(
    pet_file: str | Path,
    brain_mask_file: str | Path,
    dseg_file: str | Path,
    out_mask: str | Path,
    threshold: float = DEFAULT_THRESHOLD,
    min_cluster_ml: float = DEFAULT_MIN_CLUSTER_ML,
    min_reference_suvr: float = DEFAULT_MIN_REFERENCE_SUVR,
) -> tuple[Path, dict[str, float]]:
    """Write the hypometabolic mask (uint8 NIfTI + JSON sidecar); return it and its volumes."""
    import nibabel as nib

    from gausspet_bids.bids.atomic import save_nifti, write_json

    pet_img = nib.load(str(pet_file))
    dseg_img = nib.load(str(dseg_file))
    mask_img = nib.load(str(brain_mask_file))
    for path, img in ((brain_mask_file, mask_img), (dseg_file, dseg_img)):
        if img.shape[:3] != pet_img.shape[:3]:
            raise ValueError(
                f"{path}: grid {img.shape} differs from the PET {pet_img.shape} ({pet_file})"
            )
    dseg = np.asanyarray(dseg_img.dataobj).astype(np.int64)
    mask = hypometabolic_mask(
        np.asanyarray(pet_img.dataobj), np.asanyarray(mask_img.dataobj), dseg, pet_img.affine,
        threshold, min_cluster_ml, min_reference_suvr,
    )  # fmt: skip
    voxel_ml = abs(np.linalg.det(pet_img.affine[:3, :3])) / 1000.0
    volumes = region_volumes(mask, dseg, voxel_ml)
    out_mask = Path(out_mask)
    img = nib.Nifti1Image(mask.astype(np.uint8), pet_img.affine)
    img.header.set_xyzt_units("mm")
    save_nifti(img, out_mask)
    sidecar = {
        "Description": "Hypometabolic region: SUVR below the contralateral healthy reference",
        "Sources": [str(pet_file), str(brain_mask_file), str(dseg_file)],
        "SpatialReference": _spatial_reference(Path(pet_file)),
        "Type": "Lesion",
        "Method": "contralateral mirror comparison (mirror fitted to atlas label centroids); "
        "see gausspet docs/metrics.md",
        "Threshold": threshold,
        "SmoothingFWHMmm": DEFAULT_SMOOTH_FWHM_MM,
        "ReferenceSizeMm": DEFAULT_REFERENCE_SIZE_MM,
        "MinClusterMl": min_cluster_ml,
        "MinReferenceSUVR": min_reference_suvr,
        "VolumeMl": volumes,
    }
    write_json(Path(str(out_mask).removesuffix(".nii.gz") + ".json"), sidecar)
    return out_mask, volumes
