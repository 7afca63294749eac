"""Diffusion: b0, trace-weighted b1000 and ADC from a 4D series (or provided maps).

Trace-weighted image: geometric mean over the diffusion directions of one shell (the
rotation-invariant image scanners call "trace"/"isotropic DWI"). ADC = -ln(trace / b0) / b.
ADC is stored in units of 1e-3 mm^2/s (normal white matter ~0.7, CSF ~3), clipped to [0, 5].
Robust averaging: the b0 volumes are combined by their median when there are three or more.
No motion or eddy-current correction is done.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from gausspet_bids.bids.atomic import save_nifti
from gausspet_bids.preprocessing.image_checks import InputImageError, load_checked

B0_MAX = 50.0  # s/mm^2: volumes with a lower b-value count as b0
ADC_SCALE = 1e-3  # stored ADC unit in mm^2/s
ADC_MAX = 5.0  # in ADC_SCALE units


def read_bvals(bval_file: Path | str, n_volumes: int, dwi_file: Path | str) -> np.ndarray:
    """b-values of a BIDS ``.bval`` file, checked against the number of volumes."""
    try:
        bvals = np.loadtxt(str(bval_file), dtype=float).ravel()
    except Exception as err:
        raise InputImageError(f"{bval_file}: cannot read b-values ({err})") from err
    if bvals.size != n_volumes:
        raise InputImageError(
            f"{bval_file}: {bvals.size} b-values but {dwi_file} has {n_volumes} volumes"
        )
    return bvals


def b0_trace_adc(
    dwi: np.ndarray, bvals: np.ndarray, b_target: float = 1000.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Return ``(b0, trace, adc, b)`` from a 4D array and its b-values.

    The diffusion shell used is the one closest to ``b_target`` (b-values within 10 % of each
    other form a shell); ``b`` is its mean b-value. ADC is in :data:`ADC_SCALE` units.
    """
    bvals = np.asarray(bvals, dtype=float)
    is_b0 = bvals < B0_MAX
    if not is_b0.any() or is_b0.all():
        raise ValueError("a DWI series needs at least one b0 and one diffusion-weighted volume")
    weighted = bvals[~is_b0]
    b_shell = weighted[np.argmin(np.abs(weighted - b_target))]
    in_shell = (~is_b0) & (np.abs(bvals - b_shell) <= 0.1 * b_shell)
    b = float(bvals[in_shell].mean())
    dwi = np.clip(np.asarray(dwi, dtype=np.float64), 0.0, None)
    b0_volumes = dwi[..., is_b0]
    b0 = np.median(b0_volumes, axis=-1) if b0_volumes.shape[-1] >= 3 else b0_volumes.mean(-1)
    tiny = 1e-6 * max(float(b0.max()), 1e-12)
    trace = np.exp(np.log(np.maximum(dwi[..., in_shell], tiny)).mean(axis=-1))
    trace[(dwi[..., in_shell] <= 0).all(axis=-1)] = 0.0
    valid = (b0 > tiny) & (trace > 0)
    adc = np.zeros_like(b0)
    adc[valid] = -np.log(trace[valid] / b0[valid]) / b / ADC_SCALE
    adc = np.clip(adc, 0.0, ADC_MAX)
    return b0.astype(np.float32), trace.astype(np.float32), adc.astype(np.float32), b


def dwi_derivatives(
    dwi_file: Path | str,
    bval_file: Path | str,
    out_b0: Path | str,
    out_trace: Path | str,
    out_adc: Path | str,
    b_target: float = 1000.0,
) -> dict[str, str | float]:
    """Write b0, trace-weighted and ADC images of a 4D DWI series; return paths and b."""
    img = load_checked(dwi_file, ndim=4)
    bvals = read_bvals(bval_file, img.shape[3], dwi_file)
    try:
        b0, trace, adc, b = b0_trace_adc(np.asanyarray(img.dataobj), bvals, b_target)
    except ValueError as err:
        raise InputImageError(f"{dwi_file}: {err}") from err
    for data, path in ((b0, out_b0), (trace, out_trace), (adc, out_adc)):
        save_nifti(nib.Nifti1Image(data, img.affine), path)
    return {"b0": str(out_b0), "trace": str(out_trace), "adc": str(out_adc), "b": b}


def adc_to_standard_units(adc: np.ndarray) -> np.ndarray:
    """Guess the unit of a provided ADC map from its magnitude and convert to ADC_SCALE.

    Scanners write mm^2/s (values ~1e-3), 1e-3 mm^2/s (~1) or 1e-6 mm^2/s (~1000).
    """
    adc = np.asarray(adc, dtype=np.float64)
    positive = adc[adc > 0]
    if positive.size == 0:
        return adc.astype(np.float32)
    typical = float(np.median(positive))
    if typical > 50:
        adc = adc * 1e-3
    elif typical < 0.05:
        adc = adc * 1e3
    return np.clip(adc, 0.0, ADC_MAX).astype(np.float32)


def standardise_adc(in_file: Path | str, out_file: Path | str) -> str:
    """Write a provided ADC map in :data:`ADC_SCALE` units."""
    img = load_checked(in_file, ndim=3)
    data = adc_to_standard_units(np.asanyarray(img.dataobj))
    return str(save_nifti(nib.Nifti1Image(data, img.affine), out_file))
