"""Left/right mirroring in a participant's own space, from the territory map itself.

The mirror is the affine map that sends every left atlas label's centroid onto its right
partner's and back (least squares over both directions, so it is close to an involution). It
follows head pose and global left/right size differences and needs no template registration
or midline assumption, so it works in any space the territory map is in.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


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
    directions at once. Needs at least 4 label pairs.
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


def mirror_image(data: np.ndarray, affine: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Value at each voxel's mirrored position (linear interpolation, 0 outside)."""
    vox_map = np.linalg.inv(affine) @ transform @ affine
    return ndimage.affine_transform(
        np.asarray(data, dtype=np.float64), vox_map[:3, :3], vox_map[:3, 3], order=1, cval=0.0
    )


def voxel_sizes(affine: np.ndarray) -> np.ndarray:
    """Voxel edge lengths (mm) of an affine."""
    return np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))


def smooth_in_mask(data: np.ndarray, mask: np.ndarray, fwhm_mm: float, affine: np.ndarray):
    """Gaussian smoothing (FWHM in mm) inside ``mask`` by normalised convolution: values outside
    the mask never enter; 0 outside. ``fwhm_mm`` 0 returns the masked data."""
    mask = np.asarray(mask, bool)
    if fwhm_mm <= 0:
        return np.where(mask, data, 0.0)
    sigma = fwhm_mm / (2 * np.sqrt(2 * np.log(2))) / voxel_sizes(affine)
    m = mask.astype(np.float64)
    weight = ndimage.gaussian_filter(m, sigma)
    out = ndimage.gaussian_filter(data * m, sigma) / np.maximum(weight, 1e-6)
    return np.where(mask, out, 0.0)
