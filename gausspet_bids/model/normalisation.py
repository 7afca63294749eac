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


def normalise_contrast(
    image: np.ndarray, mask: np.ndarray, name: str = "image", *, keep_outside: bool = False
) -> np.ndarray:
    """``image`` divided by its median over positive voxels in ``mask``, zero outside the mask.

    ``keep_outside``: scale the whole image instead (non-finite voxels 0). Training keeps what
    lies around the brain so that it can show the model a brain mask grown past the true one;
    the model itself still zeroes its inputs outside the mask it is given."""
    image = np.asarray(image, dtype=np.float32)
    finite = np.isfinite(image)
    inside = (np.asarray(mask) > 0) & finite
    values = image[inside & (image > 0)]
    if values.size == 0:
        raise ValueError(f"{name}: no positive voxels inside the brain mask; cannot normalise")
    scale = float(np.median(values))
    out = np.where(finite if keep_outside else inside, image / scale, 0.0).astype(np.float32)
    return np.clip(out, 0.0, None)
