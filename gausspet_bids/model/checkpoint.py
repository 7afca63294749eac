"""Checkpoint format: weights in safetensors + a JSON sidecar with everything inference needs.

``NAME.safetensors`` holds the tensors only (loading never unpickles); ``NAME.json`` holds the
architecture hyper-parameters, contrasts and their order, per-contrast normalisation, the grid,
K, lambda, mu, version, training data summary, validation metrics and the sha256 of the weights
(checked on load). ``None`` as a path means the default model shipped in the package.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from gausspet_bids.bids.atomic import atomic_path, write_json
from gausspet_bids.model.network import GaussPET

FORMAT_VERSION = 1
DEFAULT_MODEL_NAME = "gausspet_phantom_default"


def default_model_path() -> Path:
    """The packaged default model's weights file."""
    return Path(
        str(
            resources.files("gausspet_bids")
            / "data"
            / "models"
            / f"{DEFAULT_MODEL_NAME}.safetensors"
        )
    )


def _weights_and_sidecar(path: Path | str | None) -> tuple[Path, Path]:
    path = default_model_path() if path is None else Path(path)
    if path.name.endswith(".json"):
        path = path.with_suffix(".safetensors")
    elif not path.name.endswith(".safetensors"):
        path = path.with_name(path.name + ".safetensors")
    return path, path.with_suffix(".json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(
    model: GaussPET, path: Path | str, metadata: dict, extra_tensors: dict | None = None
) -> Path:
    """Write ``path`` (.safetensors) and its .json sidecar atomically; return the weights path.

    ``metadata`` must carry at least ``contrasts``, ``normalisation`` and ``grid``; the
    architecture, K, lambda, mu, format version and weights sha256 are filled in here.
    ``extra_tensors`` (e.g. optimiser state for resuming) are stored under an ``extra.`` prefix.
    """
    weights, sidecar = _weights_and_sidecar(path)
    for key in ("contrasts", "normalisation", "grid"):
        if key not in metadata:
            raise ValueError(f"{sidecar}: checkpoint metadata lacks '{key}'")
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    for key, value in (extra_tensors or {}).items():
        tensors[f"extra.{key}"] = value.detach().cpu().contiguous()
    with atomic_path(weights, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp))
    meta = {
        **metadata,
        "format_version": FORMAT_VERSION,
        "architecture": model.hyperparameters(),
        "sweeps": model.sweeps,
        "lam": model.lam,
        "mu": model.mu,
        "weights_file": weights.name,
        "sha256": sha256_of(weights),
    }
    write_json(sidecar, meta)
    return weights


def load_model_metadata(path: Path | str | None = None) -> dict:
    """The JSON sidecar of a checkpoint (``None``: the packaged default model)."""
    _, sidecar = _weights_and_sidecar(path)
    if not sidecar.exists():
        raise FileNotFoundError(f"{sidecar}: model metadata file not found")
    try:
        meta = json.loads(sidecar.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{sidecar}: not valid JSON ({err})") from err
    if not meta.get("contrasts"):
        raise ValueError(f"{sidecar}: model metadata lists no contrasts")
    return meta


def build_model(meta: dict) -> GaussPET:
    """An untrained model with the architecture recorded in ``meta``."""
    arch = meta["architecture"]
    return GaussPET(
        arch["n_contrasts"],
        channels=arch["channels"],
        depth=arch["depth"],
        stride=arch["stride"],
        fine_channels=arch.get("fine_channels", 0),
        position=arch.get("position", False),
        template_shape=arch.get("template_shape"),
        template_offset=arch.get("template_offset", False),
        context_features=arch.get("context_features", 0),
        context_shape=arch.get("context_shape"),
        psf_sigma=arch.get("psf_sigma", 0.0),
        sweeps=meta["sweeps"],
        lam=meta["lam"],
        mu=meta["mu"],
    )


def load_checkpoint(
    path: Path | str | None = None, device: str = "cpu"
) -> tuple[GaussPET, dict, dict]:
    """Load (model in eval mode, metadata, extra tensors); the weights' sha256 must match."""
    weights, sidecar = _weights_and_sidecar(path)
    meta = load_model_metadata(weights)
    if not weights.exists():
        raise FileNotFoundError(f"{weights}: model weights file not found")
    digest = sha256_of(weights)
    if meta.get("sha256") and digest != meta["sha256"]:
        raise ValueError(f"{weights}: sha256 {digest} does not match {sidecar} ({meta['sha256']})")
    tensors = load_file(str(weights), device=device)
    model = build_model(meta).to(device)
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(state)
    model.eval()
    extra = {k[len("extra.") :]: v for k, v in tensors.items() if k.startswith("extra.")}
    return model, meta, extra


def load_model(path: Path | str | None = None, device: str = "cpu") -> tuple[GaussPET, dict]:
    """Load (model in eval mode, metadata) from a checkpoint (``None``: packaged default)."""
    model, meta, _ = load_checkpoint(path, device)
    return model, meta


def to_device(device: str) -> torch.device:
    """``cpu`` or ``cuda``; a clear error when CUDA is asked for and absent."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' requested but CUDA is not available")
    return torch.device(device)
