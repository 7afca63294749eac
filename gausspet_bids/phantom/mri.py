"""MR contrasts from tissue fractions: T1w, T2w, FLAIR, DWI (b0, b1000) and ADC.

Signal = sum over tissues of fraction x tissue value (per-participant jitter), lesion tissue by
stage replacing the parenchyma it occupies, times a smooth receive-coil bias field, times a
scanner gain, with Rician noise. Values are relative (WM T1w = 1), loosely after published
relaxation-weighted contrast at 3 T; ADC in 1e-3 mm^2/s.
"""

from __future__ import annotations

import numpy as np

from gausspet_bids.phantom.render import Tissues

# Relative signal of each tissue per contrast (b0 for DWI).
TISSUE_SIGNAL = {
    "T1w": {"gm": 0.62, "wm": 1.0, "csf": 0.18, "meninges": 0.35, "bone": 0.04,
            "marrow": 0.85, "muscle": 0.45, "fat": 1.15, "skin": 0.55},
    "T2w": {"gm": 0.62, "wm": 0.45, "csf": 1.0, "meninges": 0.3, "bone": 0.03,
            "marrow": 0.45, "muscle": 0.25, "fat": 0.6, "skin": 0.4},
    "FLAIR": {"gm": 0.78, "wm": 0.58, "csf": 0.06, "meninges": 0.3, "bone": 0.03,
              "marrow": 0.5, "muscle": 0.3, "fat": 0.75, "skin": 0.45},
    "dwi": {"gm": 0.66, "wm": 0.5, "csf": 1.0, "meninges": 0.3, "bone": 0.02,
            "marrow": 0.05, "muscle": 0.2, "fat": 0.04, "skin": 0.15},  # fat-suppressed EPI
}  # fmt: skip
TISSUE_ADC = {"gm": 0.85, "wm": 0.72, "csf": 3.0, "meninges": 1.5, "bone": 0.3,
              "marrow": 0.5, "muscle": 1.4, "fat": 0.2, "skin": 1.0}  # fmt: skip
# Lesion tissue by stage: acute = cytotoxic oedema (ADC low, DWI bright, FLAIR near normal),
# subacute = vasogenic oedema (FLAIR/T2 bright, ADC pseudo-normal), chronic = gliosis and tissue
# loss (FLAIR bright, T1 dark, ADC high); the centre of larger chronic infarcts is a fluid-filled
# cavity (CSF signal: FLAIR dark inside a bright gliotic rim).
LESION_SIGNAL = {
    "acute": {"T1w": 0.72, "T2w": 0.7, "FLAIR": 0.85, "dwi": 0.8, "adc": 0.42},
    "subacute": {"T1w": 0.45, "T2w": 0.9, "FLAIR": 1.25, "dwi": 0.9, "adc": 0.8},
    "chronic": {"T1w": 0.3, "T2w": 0.95, "FLAIR": 1.15, "dwi": 0.95, "adc": 1.6},
}
B_VALUE = 1000.0  # s/mm^2
B_DIRECTIONS = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.7071, 0.7071, 0], [0.7071, 0, 0.7071], [0, 0.7071, 0.7071]]
)


def _mix(tissues: Tissues, values: dict[str, float], jitter: dict[str, float]) -> np.ndarray:
    out = np.zeros_like(tissues.fractions["gm"])
    for name, frac in tissues.fractions.items():
        out += frac * (values[name] * (1.0 + jitter.get(name, 0.0)))
    return out


def noise_free_signal(
    tissues: Tissues, contrast: str, stage: str | None, jitter: dict
) -> np.ndarray:
    """Relative noise-free T1w/T2w/FLAIR signal, or DWI b0 for ``contrast='dwi'``.

    Lesion tissue of the given stage replaces the core's share of grey and white matter.
    """
    values = TISSUE_SIGNAL[contrast]
    out = _mix(tissues, values, jitter)
    if stage:
        gm, wm = tissues.fractions["gm"], tissues.fractions["wm"]
        v_gm = values["gm"] * (1.0 + jitter.get("gm", 0.0))
        v_wm = values["wm"] * (1.0 + jitter.get("wm", 0.0))
        lesion = LESION_SIGNAL[stage][contrast] * (1.0 + jitter.get("wm", 0.0))
        if stage == "chronic":  # the liquefied centre of larger infarcts looks like CSF
            fluid = values["csf"] * (1.0 + jitter.get("csf", 0.0))
            lesion = lesion + _fluid_share(tissues) * (fluid - lesion)
        out += tissues.core * (gm * (lesion - v_gm) + wm * (lesion - v_wm))
    return out


def adc_map(tissues: Tissues, stage: str | None) -> np.ndarray:
    """Apparent diffusion coefficient (1e-3 mm^2/s), fraction-weighted (fast-exchange approx.)."""
    total = np.zeros_like(tissues.fractions["gm"])
    weight = np.zeros_like(total)
    for name, frac in tissues.fractions.items():
        total += frac * TISSUE_ADC[name]
        weight += frac
    adc = total / np.maximum(weight, 1e-6)
    if stage:
        share = (
            tissues.core
            * (tissues.fractions["gm"] + tissues.fractions["wm"])
            / np.maximum(weight, 1e-6)
        )
        lesion = LESION_SIGNAL[stage]["adc"]
        if stage == "chronic":
            lesion = lesion + _fluid_share(tissues) * (TISSUE_ADC["csf"] - lesion)
        adc = adc * (1.0 - share) + lesion * share
    return adc


def _fluid_share(tissues: Tissues) -> np.ndarray:
    """Share of the core that is liquefied (chronic cavity), 0..1."""
    return np.clip(tissues.cavity / np.maximum(tissues.core, 1e-6), 0.0, 1.0)


def bias_field(
    shape: tuple[int, ...], rng: np.random.Generator, strength: float = 0.2
) -> np.ndarray:
    """Smooth multiplicative receive-field: exp of a random 2nd-order polynomial over the FOV."""
    axes = [np.linspace(-1.0, 1.0, n, dtype=np.float32) for n in shape]
    x, y, z = np.meshgrid(*axes, indexing="ij", sparse=True)
    terms = [x, y, z, x * y, x * z, y * z, x * x, y * y, z * z]
    coeffs = rng.normal(0.0, strength / 2.0, size=len(terms))
    log_field = sum(c * t for c, t in zip(coeffs, terms, strict=True))
    return np.exp(log_field).astype(np.float32)


def rician(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the signal plus complex Gaussian noise of standard deviation ``sigma``."""
    real = signal + np.float32(sigma) * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = np.float32(sigma) * rng.standard_normal(signal.shape, dtype=np.float32)
    return np.sqrt(real * real + imag * imag)


def acquire(
    signal: np.ndarray,
    gain: float,
    snr: float,
    rng: np.random.Generator,
    bias_strength: float = 0.2,
) -> np.ndarray:
    """Scanner image: ``signal`` x bias x gain + Rician noise (sigma = gain / snr)."""
    scaled = signal * bias_field(signal.shape, rng, bias_strength) * gain
    return rician(scaled, gain / snr, rng)


def dwi_series(
    b0: np.ndarray, adc: np.ndarray, gain: float, snr: float, rng: np.random.Generator
) -> np.ndarray:
    """4D DWI: one b0 then one b1000 volume per direction (isotropic diffusion), shared bias."""
    bias = bias_field(b0.shape, rng, 0.25) * gain
    b1000 = b0 * np.exp(-B_VALUE * adc * 1e-3)
    volumes = [b0] + [b1000 * rng.uniform(0.97, 1.03) for _ in B_DIRECTIONS]
    return np.stack([rician(v * bias, gain / snr, rng) for v in volumes], axis=-1)
