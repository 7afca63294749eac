"""Synthesise PET for one participant on the model grid: the plain function the app calls."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from gausspet_bids.model.checkpoint import load_model, to_device
from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.normalisation import normalise_contrast
from gausspet_bids.model.tiling import run_tiled


@contextmanager
def torch_threads(threads: int | None):
    """Temporarily set torch's intra-op thread count (None: leave as is)."""
    if not threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def prepare_inputs(
    images: dict[str, np.ndarray], mask: np.ndarray, contrasts: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Stack normalised contrasts in model order: (x [M,...], presence [M], mask, used names)."""
    mask = (np.asarray(mask) > 0).astype(np.float32)
    used = [c for c in contrasts if c in images and images[c] is not None]
    if not used:
        raise ValueError(
            f"none of the model's contrasts {contrasts} were given (got {sorted(images)})"
        )
    x = np.zeros((len(contrasts), *mask.shape), dtype=np.float32)
    for i, name in enumerate(contrasts):
        if name in used:
            image = np.asarray(images[name])
            if image.shape != mask.shape:
                raise ValueError(
                    f"{name}: image shape {image.shape} differs from the mask's {mask.shape}"
                )
            x[i] = normalise_contrast(image, mask, name)
    presence = np.array([c in used for c in contrasts], dtype=np.float32)
    return x, presence, mask, used


def synthesise(
    images: dict[str, np.ndarray],
    mask: np.ndarray,
    checkpoint: Path | str | None | tuple[GaussPET, dict] = None,
    n_tiles: int = 1,
    device: str = "cpu",
    threads: int | None = None,
    sweeps: int | None = None,
) -> dict:
    """Synthetic PET (SUVR) and maps from model-grid MRI ``images`` (contrast -> array).

    ``checkpoint``: a checkpoint path, ``None`` for the packaged default model, or an already
    loaded ``(model, metadata)``. Any non-empty subset of the model's contrasts may be given.
    Returns ``pet``, ``coefficients`` ({contrast: a_m, "offset": b} for the contrasts used),
    ``reliability`` (inverse-consistency RMS residual), ``imputed`` ({missing contrast: x_hat_m},
    normalised units), ``contrasts_used`` and ``metadata``. Maps are float32, zero outside mask.
    """
    model, meta = checkpoint if isinstance(checkpoint, tuple) else load_model(checkpoint, device)
    contrasts = list(meta["contrasts"])
    expected = tuple(meta["grid"]["shape"])
    if tuple(np.asarray(mask).shape) != expected:
        raise ValueError(f"mask shape {np.asarray(mask).shape} is not the model grid {expected}")
    x, presence, mask_f, used = prepare_inputs(images, mask, contrasts)
    dev = to_device(device)
    with torch_threads(threads), torch.no_grad():
        model = model.to(dev).eval()
        out = run_tiled(
            model,
            torch.from_numpy(x)[None].to(dev),
            torch.from_numpy(presence).view(1, -1, 1, 1, 1).to(dev),
            torch.from_numpy(mask_f)[None, None].to(dev),
            n_tiles=n_tiles,
            sweeps=sweeps,
        )

    def volume(t: torch.Tensor) -> np.ndarray:
        return (t.detach().cpu().numpy() * mask_f).astype(np.float32)

    coefficients = {
        name: volume(out["a"][0, i]) for i, name in enumerate(contrasts) if name in used
    }
    coefficients["offset"] = volume(out["b"][0, 0])
    imputed = {
        name: volume(out["x_hat"][0, i]) for i, name in enumerate(contrasts) if name not in used
    }
    return {
        "pet": volume(out["pet"][0, 0]),
        "coefficients": coefficients,
        "reliability": volume(out["reliability"][0, 0]),
        "imputed": imputed,
        "contrasts_used": used,
        "metadata": meta,
    }
