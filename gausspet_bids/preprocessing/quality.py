"""Quality measures of the preprocessing against a known truth (phantom, benchmarks, tests)."""

from __future__ import annotations

import nibabel as nib
import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two binary arrays."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    total = int(a.sum()) + int(b.sum())
    return float(2.0 * np.logical_and(a, b).sum() / total) if total else 1.0


def label_dice(a: np.ndarray, b: np.ndarray) -> dict[int, float]:
    """Dice per non-zero label present in either array."""
    a, b = np.asarray(a).astype(int), np.asarray(b).astype(int)
    labels = sorted(set(np.unique(a)) | set(np.unique(b)) - {0})
    return {int(k): dice(a == k, b == k) for k in labels}


def mean_label_dice(a: np.ndarray, b: np.ndarray) -> float:
    """Volume-weighted mean Dice over labels (the overall agreement of two label maps)."""
    a, b = np.asarray(a).astype(int), np.asarray(b).astype(int)
    both = (a > 0) | (b > 0)
    if not both.any():
        return 1.0
    return float(2.0 * ((a == b) & (a > 0)).sum() / ((a > 0).sum() + (b > 0).sum()))


def transform_error_mm(estimated: np.ndarray, true: np.ndarray, mask: nib.Nifti1Image) -> float:
    """Mean distance (mm) between two 4x4 world maps over the mask's voxel centres.

    Both map the same source world (e.g. the reference image's) to the same target world.
    """
    ijk = np.argwhere(np.asanyarray(mask.dataobj) > 0)
    points = nib.affines.apply_affine(mask.affine, ijk)
    diff = nib.affines.apply_affine(np.asarray(estimated), points) - nib.affines.apply_affine(
        np.asarray(true), points
    )
    return float(np.linalg.norm(diff, axis=1).mean())
