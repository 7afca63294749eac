"""Hypometabolic region of a PET image (method, tuning and accuracy in docs/metrics.md).

Contralateral comparison in the participant's own space, with a two-scale hysteresis:

1. the PET is smoothed inside the brain mask at a fine (``seed_fwhm_mm``) and a coarser
   (``grow_fwhm_mm``) scale and mirrored left/right (:mod:`gausspet_bids.metrics.mirror`);
2. the healthy-side reference of a voxel is the minimum of the mirrored image over a
   ``reference_size_mm`` cube -- robust to residual anatomical asymmetry (grey matter is never
   compared with the other side's white matter); references below ``min_reference_suvr``
   (CSF) are not used;
3. seeds: voxels of the fine image at least ``seed_threshold`` below their reference (clearly
   hypometabolic: infarct cores, 60-90 % reduced), clusters under ``min_seed_ml`` dropped;
4. the region grows from the seeds into connected voxels of the coarse image at least
   ``grow_threshold`` below their reference and within ``grow_distance_mm`` of a seed (the
   milder penumbra around a core), so mild asymmetries far from any core are never flagged;
5. 26-connected clusters smaller than ``min_cluster_ml`` are removed.

Normative comparison: at group level each territory's mean SUVR is z-scored against the
control participants (:func:`normative_z`). A voxel-wise z-score against controls was measured
and not adopted (docs/metrics.md: it was less accurate than the asymmetry on the phantom).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

from gausspet_bids.metrics.mirror import (
    mirror_image,
    mirror_transform,
    smooth_in_mask,
    voxel_sizes,
)
from gausspet_bids.metrics.territories import territory_map

DEFAULT_Z_THRESHOLD = -2.0


@dataclass(frozen=True)
class HypometabolismParameters:
    """Detector parameters; the defaults were tuned on phantom seed 101 (docs/metrics.md)."""

    seed_threshold: float = 0.40
    seed_fwhm_mm: float = 4.0
    grow_threshold: float = 0.10
    grow_fwhm_mm: float = 6.0
    grow_distance_mm: float = 12.0
    reference_size_mm: float = 10.0
    min_reference_suvr: float = 0.35
    min_seed_ml: float = 0.05
    min_cluster_ml: float = 0.1

    def sidecar(self) -> dict[str, float]:
        """The parameters as sidecar keys: ``SeedThreshold``, ``SeedFWHMMm``, ..."""
        words = {"fwhm": "FWHM", "suvr": "SUVR"}
        return {"".join(words.get(w, w.capitalize()) for w in key.split("_")): value
                for key, value in asdict(self).items()}  # fmt: skip


DEFAULTS = HypometabolismParameters()
METHOD_SUMMARY = (
    f"Voxels at least {DEFAULTS.seed_threshold:.0%} below the contralateral healthy reference "
    f"({DEFAULTS.seed_fwhm_mm:g} mm smoothing) seed the region, which grows into connected "
    f"voxels at least {DEFAULTS.grow_threshold:.0%} below it ({DEFAULTS.grow_fwhm_mm:g} mm "
    f"smoothing) within {DEFAULTS.grow_distance_mm:g} mm of a seed; clusters under "
    f"{DEFAULTS.min_cluster_ml:g} ml removed (docs/metrics.md)."
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


def grow_from_seeds(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The 26-connected components of ``allowed | seeds`` that contain a seed (hysteresis)."""
    region = np.asarray(allowed, bool) | np.asarray(seeds, bool)
    labelled, n = ndimage.label(region, structure=np.ones((3, 3, 3)))
    if n == 0:
        return region
    keep = np.zeros(n + 1, bool)
    keep[np.unique(labelled[np.asarray(seeds, bool)])] = True
    keep[0] = False
    return keep[labelled]


def below_contralateral(pet, brain, affine, transform, fwhm_mm: float, threshold: float,
                        reference_size_mm: float, min_reference_suvr: float) -> np.ndarray:  # fmt: skip
    """Voxels whose smoothed SUVR is below ``(1 - threshold)`` x the healthy-side reference
    (minimum of the mirrored smoothed image over a ``reference_size_mm`` cube)."""
    smoothed = smooth_in_mask(pet, brain, fwhm_mm, affine)
    mirrored = mirror_image(smoothed, affine, transform)
    mirrored_brain = mirror_image(brain.astype(float), affine, transform) > 0.5
    size = [max(1, int(round(reference_size_mm / z)) | 1) for z in voxel_sizes(affine)]
    reference = ndimage.minimum_filter(np.where(mirrored_brain, mirrored, np.inf), size=size)
    usable = np.isfinite(reference) & (reference >= min_reference_suvr)
    return brain & mirrored_brain & usable & (smoothed < (1.0 - threshold) * reference)


def hypometabolic_mask(
    pet: np.ndarray,
    brain_mask: np.ndarray,
    dseg: np.ndarray,
    affine: np.ndarray,
    params: HypometabolismParameters = DEFAULTS,
) -> np.ndarray:
    """Hypometabolic region of ``pet`` (SUVR) inside ``brain_mask`` (module docstring)."""
    pet = np.nan_to_num(np.asarray(pet, dtype=np.float64))
    brain = np.asarray(brain_mask) > 0
    transform = mirror_transform(dseg, affine)
    voxel_ml = abs(np.linalg.det(np.asarray(affine)[:3, :3])) / 1000.0

    def n_voxels(ml: float) -> int:
        return int(np.ceil(ml / voxel_ml))

    common = {"reference_size_mm": params.reference_size_mm,
              "min_reference_suvr": params.min_reference_suvr}  # fmt: skip
    seeds = below_contralateral(pet, brain, affine, transform, params.seed_fwhm_mm,
                                params.seed_threshold, **common)  # fmt: skip
    seeds = remove_small_clusters(seeds, n_voxels(params.min_seed_ml))
    if not seeds.any():
        return seeds
    grow = below_contralateral(pet, brain, affine, transform, params.grow_fwhm_mm,
                               params.grow_threshold, **common)  # fmt: skip
    near = ndimage.distance_transform_edt(~seeds, sampling=voxel_sizes(affine))
    region = grow_from_seeds(seeds, grow & (near <= params.grow_distance_mm))
    return remove_small_clusters(region, n_voxels(params.min_cluster_ml))


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
    params: HypometabolismParameters = DEFAULTS,
    *,
    sources: list[str] | None = None,
    spatial_reference: str | None = None,
) -> tuple[Path, dict[str, float]]:
    """Write the hypometabolic mask (uint8 NIfTI + JSON sidecar); return it and its volumes.

    ``sources`` and ``spatial_reference`` name the inputs in the sidecar (derivative-relative
    paths); by default the input paths and the PET sidecar's ``SpatialReference``."""
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
    mask = hypometabolic_mask(np.asanyarray(pet_img.dataobj), np.asanyarray(mask_img.dataobj),
                              dseg, pet_img.affine, params)  # fmt: skip
    voxel_ml = abs(np.linalg.det(pet_img.affine[:3, :3])) / 1000.0
    volumes = region_volumes(mask, dseg, voxel_ml)
    out_mask = Path(out_mask)
    img = nib.Nifti1Image(mask.astype(np.uint8), pet_img.affine)
    img.header.set_xyzt_units("mm")
    save_nifti(img, out_mask)
    sidecar = {
        "Description": "Hypometabolic region: SUVR below the contralateral healthy reference",
        "Sources": sources or [str(pet_file), str(brain_mask_file), str(dseg_file)],
        "SpatialReference": spatial_reference or _spatial_reference(Path(pet_file)),
        "Type": "Lesion",
        "Method": "contralateral mirror comparison (mirror fitted to atlas label centroids), "
        "two-scale hysteresis; see gausspet docs/metrics.md. " + METHOD_SUMMARY,
        **params.sidecar(),
        "VolumeMl": volumes,
    }
    write_json(Path(str(out_mask).removesuffix(".nii.gz") + ".json"), sidecar)
    return out_mask, volumes
