"""Image similarity of a synthetic PET against the real one.

Two sets of definitions (docs/metrics.md gives the formulas):

* :func:`brain_metrics` -- ours: SUVR values as they are, every statistic restricted to the
  brain mask, SSIM in 3D with a Gaussian window whose local statistics ignore voxels outside the
  mask (normalised convolution).
* :func:`published_metrics` -- the published GaussPET evaluation: each volume min-max scaled to
  [0, 1] over the whole box (background included), PSNR with data range 1, NMSE/NMAE over the
  whole box, SSIM computed slice by slice in 2D (7 x 7 uniform window, sample covariance) and
  averaged. Kept for comparison with the paper only.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

K1, K2 = 0.01, 0.03
SSIM_SIGMA_VOXELS = 1.5
SSIM_TRUNCATE = 3.5  # radius int(3.5 * 1.5 + 0.5) = 5 voxels: an 11-tap window, as Wang et al.
PUBLISHED_WINDOW = 7


def _as_array(image) -> np.ndarray:
    """Accept a numpy array or a nibabel image; return float64 data."""
    if hasattr(image, "dataobj"):
        image = np.asanyarray(image.dataobj)
    return np.asarray(image, dtype=np.float64)


def _check_shapes(*arrays: np.ndarray) -> None:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"images must share one grid, got shapes {sorted(shapes)}")


def masked_ssim(
    pred: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    data_range: float,
    sigma: float = SSIM_SIGMA_VOXELS,
) -> float:
    """Mean 3D SSIM over the mask, Gaussian window, local statistics from mask voxels only.

    Local moments are weighted averages ``G(m x) / G(m)`` (normalised convolution) so that the
    background does not enter any window.
    """
    m = mask.astype(np.float64)

    def smooth(a: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(a, sigma, mode="constant", cval=0.0, truncate=SSIM_TRUNCATE)

    weight = smooth(m)
    weight[weight < 1e-12] = np.inf  # voxels with no mask neighbour (never averaged anyway)
    x, y = pred * m, target * m
    mu_x = smooth(x) / weight
    mu_y = smooth(y) / weight
    var_x = np.maximum(smooth(x * pred) / weight - mu_x**2, 0.0)
    var_y = np.maximum(smooth(y * target) / weight - mu_y**2, 0.0)
    cov = smooth(x * target) / weight - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return float(ssim_map[mask].mean())


def brain_metrics(pred, target, mask, data_range: float | None = None) -> dict[str, float]:
    """PSNR, SSIM (3D Gaussian window), NMAE, NMSE and NCC of ``pred`` vs ``target`` in ``mask``.

    ``data_range`` defaults to the target's range inside the mask (max - min; |value| when the
    target is constant there). Identical images
    give PSNR = inf, SSIM = 1, NMAE = NMSE = 0, NCC = 1.
    """
    p, t = _as_array(pred), _as_array(target)
    m = _as_array(mask) > 0
    _check_shapes(p, t, m)
    if not m.any():
        raise ValueError("the brain mask is empty")
    pv, tv = p[m], t[m]
    if data_range is None:
        # the target's range in the mask; for a constant target its absolute value
        data_range = float(tv.max() - tv.min()) or float(np.abs(tv).max())
    if data_range <= 0:
        raise ValueError("the target is zero everywhere inside the mask: give data_range")
    diff = pv - tv
    mse = float(np.mean(diff**2))
    psnr = float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))
    pc, tc = pv - pv.mean(), tv - tv.mean()
    denom = np.sqrt(np.sum(pc**2) * np.sum(tc**2))
    ncc = float(np.sum(pc * tc) / denom) if denom > 0 else float("nan")
    return {
        "PSNR": psnr,
        "SSIM": masked_ssim(p, t, m, data_range),
        "NMAE": float(np.sum(np.abs(diff)) / np.sum(np.abs(tv))),
        "NMSE": float(np.sum(diff**2) / np.sum(tv**2)),
        "NCC": ncc,
        "MAE": float(np.mean(np.abs(diff))),
        "DataRange": float(data_range),
        "MaskVoxels": int(m.sum()),
    }


def _minmax(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    return a - lo if hi == lo else (a - lo) / (hi - lo)


def _ssim_2d_uniform(x: np.ndarray, y: np.ndarray, win: int, data_range: float) -> float:
    """SSIM of two 2D images, uniform win x win window, sample covariance, border cropped."""
    n = win * win
    cov_norm = n / (n - 1)
    ux, uy = ndimage.uniform_filter(x, win), ndimage.uniform_filter(y, win)
    uxx, uyy = ndimage.uniform_filter(x * x, win), ndimage.uniform_filter(y * y, win)
    uxy = ndimage.uniform_filter(x * y, win)
    vx, vy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


def published_metrics(pred, target) -> dict[str, float]:
    """The published GaussPET evaluation (whole min-max-scaled volume, slice-wise 2D SSIM).

    Both volumes are min-max scaled to [0, 1]; the prediction is zeroed where the scaled target
    is 0 (the reference code's ``mask = PET != 0``). SSIM is the mean over axial slices (last
    axis) of 2D SSIM with a 7 x 7 uniform window, data range 1.
    """
    p, t = _minmax(_as_array(pred)), _minmax(_as_array(target))
    _check_shapes(p, t)
    p = p * (t != 0)
    diff = p - t
    mse = float(np.mean(diff**2))
    slices = [
        _ssim_2d_uniform(p[..., k], t[..., k], PUBLISHED_WINDOW, 1.0) for k in range(t.shape[-1])
    ]
    return {
        "PSNR": float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse)),
        "SSIM": float(np.mean(slices)),
        "NMAE": float(np.sum(np.abs(diff)) / np.sum(np.abs(t))),
        "NMSE": float(np.sum(diff**2) / np.sum(t**2)),
    }
