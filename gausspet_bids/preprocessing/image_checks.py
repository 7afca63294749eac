"""Refuse obviously broken input images with a message that names the file.

Every preprocessing step loads its inputs through :func:`load_checked`, so an empty image, a
NaN/Inf voxel, a 4D series where a 3D volume is expected or a zero-sized dimension stops the
participant with a clear error instead of a cryptic ANTs crash later.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np


class InputImageError(ValueError):
    """An input image is unusable; the message names the file and the problem."""


def load_checked(path: Path | str, ndim: int = 3) -> nib.Nifti1Image:
    """Load ``path`` and check it is a usable ``ndim``-D image (3 or 4).

    A 4D image with a single volume is accepted where 3D is expected and squeezed. Raises
    :class:`InputImageError` naming ``path`` otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise InputImageError(f"{path}: file does not exist")
    try:
        img = nib.load(str(path))
        shape = img.shape
    except Exception as err:  # nibabel raises many types for unreadable files
        raise InputImageError(f"{path}: cannot be read as an image ({err})") from err
    if len(shape) == 0 or any(int(s) == 0 for s in shape):
        raise InputImageError(f"{path}: image has a zero-sized dimension (shape {shape})")
    if ndim == 3 and len(shape) == 4 and shape[3] == 1:
        img = img.slicer[..., 0]
        shape = img.shape
    if len(shape) != ndim:
        kind = "3D volume" if ndim == 3 else "4D series"
        raise InputImageError(f"{path}: expected a {kind} but the image has shape {shape}")
    try:
        data = np.asanyarray(img.dataobj)
    except Exception as err:
        raise InputImageError(f"{path}: voxel data cannot be read ({err})") from err
    if not np.all(np.isfinite(data)):
        raise InputImageError(f"{path}: image contains NaN or Inf values")
    if not np.any(data):
        raise InputImageError(f"{path}: image is empty (all voxels are zero)")
    if not np.all(np.isfinite(img.affine)) or abs(np.linalg.det(img.affine[:3, :3])) < 1e-9:
        raise InputImageError(f"{path}: image has an invalid (singular) affine")
    return img


def reorient_to_ras(in_file: Path | str, out_file: Path | str) -> str:
    """Check a 3D image and save it reoriented to RAS (closest canonical), float32."""
    from gausspet_bids.bids.atomic import save_nifti

    img = nib.as_closest_canonical(load_checked(in_file, ndim=3))
    out = nib.Nifti1Image(np.asanyarray(img.dataobj, dtype=np.float32), img.affine)
    return str(save_nifti(out, out_file))
