"""Per-contrast intensity normalisation, computed once on the whole volume (before tiling).

MRI intensities are arbitrary: each contrast is divided by its median inside the brain mask
(robust to lesions, which are small), so normalised tissue values sit around 1. The method name
is recorded in the model metadata so inference repeats exactly what training did.
"""

from __future__ import annotations

import numpy as np

NORMALISATION = {
    "method": "median_in_mask",
    "description": "x / median(x[mask & x > 0]); 0 outside mask",
}


def normalise_contrast(image: np.ndarray, mask: np.ndarray, name: str = "image") -> np.ndarray:
    """``image`` divided by its median over positive voxels in ``mask``, zero outside the mask."""
    image = np.asarray(image, dtype=np.float32)
    inside = (np.asarray(mask) > 0) & np.isfinite(image)
    values = image[inside & (image > 0)]
    if values.size == 0:
        raise ValueError(f"{name}: no positive voxels inside the brain mask; cannot normalise")
    scale = float(np.median(values))
    out = np.where(inside, image / scale, 0.0).astype(np.float32)
    return np.clip(out, 0.0, None)
