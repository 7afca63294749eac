"""One participant/session's synthesis scores, written as a single JSON file.

Always: the hypometabolic volumes of the synthetic PET. With a real PET: the brain-mask image
metrics, the published-method metrics, the real PET's hypometabolic volumes and the agreement
(Dice, volume difference) of the two hypometabolic regions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gausspet_bids.metrics.hypometabolism import dice
from gausspet_bids.metrics.image_metrics import brain_metrics, published_metrics


def participant_scores(
    synthetic_pet,
    brain_mask,
    hypo_synthetic,
    volumes_synthetic: dict[str, float],
    real_pet=None,
    hypo_real=None,
    volumes_real: dict[str, float] | None = None,
) -> dict:
    """Scores as a JSON-able dict (arrays or nibabel images in; see module docstring)."""
    scores: dict = {"HypometabolicVolumeMl": {"synthetic": volumes_synthetic}}
    if real_pet is None:
        return scores
    scores["HypometabolicVolumeMl"]["real"] = volumes_real or {}
    scores["ImageMetrics"] = brain_metrics(synthetic_pet, real_pet, brain_mask)
    scores["PublishedMetrics"] = published_metrics(synthetic_pet, real_pet)
    if hypo_real is not None:
        vs, vr = volumes_synthetic["total"], (volumes_real or {}).get("total", np.nan)
        scores["HypometabolismAgreement"] = {
            "Dice": dice(_data(hypo_synthetic) > 0, _data(hypo_real) > 0),
            "VolumeDifferenceMl": float(vs - vr),
            "RelativeVolumeDifference": float((vs - vr) / vr) if vr else None,
        }
    return scores


def _data(img) -> np.ndarray:
    return np.asanyarray(img.dataobj) if hasattr(img, "dataobj") else np.asarray(img)


def write_participant_scores(
    out_json: str | Path,
    *,
    model: str,
    synthetic_pet: str | Path,
    brain_mask: str | Path,
    hypo_synthetic: str | Path,
    volumes_synthetic: dict[str, float],
    real_pet: str | Path | None = None,
    hypo_real: str | Path | None = None,
    volumes_real: dict[str, float] | None = None,
    sources: list[str] | None = None,
) -> Path:
    """Load the images, compute :func:`participant_scores`, write ``out_json`` atomically.
    ``sources`` names the inputs in the file (default: the input paths)."""
    import nibabel as nib

    from gausspet_bids.bids.atomic import write_json

    def load(path):
        return None if not path else nib.load(str(path))

    scores = participant_scores(
        load(synthetic_pet), load(brain_mask), load(hypo_synthetic), volumes_synthetic,
        load(real_pet), load(hypo_real), volumes_real,
    )  # fmt: skip
    sources = sources or [str(p) for p in (synthetic_pet, real_pet, brain_mask) if p]
    return write_json(out_json, {"Model": model, "Sources": sources, **scores})
