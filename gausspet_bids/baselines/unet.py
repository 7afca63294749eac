"""Plain 3D U-Net regression baseline: MRI channels (+ presence, mask) -> PET SUVR directly.

MONAI's U-Net without normalisation layers, trained on the brain bounding box (padded to a
multiple of 8) with L1 in the mask and the same modality dropout as GaussPET. No coefficient
maps, no inverse pathway, no reliability map: it is the black-box reference point.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from monai.networks.nets import UNet
from safetensors.torch import load_file, save_file

from gausspet_bids.bids.atomic import atomic_path, write_json
from gausspet_bids.model.network import model_input
from gausspet_bids.model.tiling import mask_box
from gausspet_bids.training.cohort import Subject
from gausspet_bids.training.loop import evaluate_predictions, sample_presence
from gausspet_bids.training.losses import masked_l1

MULTIPLE = 8


def build_unet(n_contrasts: int, channels: tuple[int, ...] = (8, 16, 32, 64)) -> UNet:
    """A small MONAI 3D U-Net (no normalisation) with 2M + 1 input channels and one output."""
    return UNet(
        spatial_dims=3,
        in_channels=2 * n_contrasts + 1,
        out_channels=1,
        channels=channels,
        strides=(2,) * (len(channels) - 1),
        num_res_units=1,
        norm=None,
    )


def predict(net: UNet, x: torch.Tensor, presence: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """PET [B, 1, D, H, W] from normalised contrasts; computed on the padded brain box."""
    box = mask_box(mask[0, 0], 1)
    inp = model_input(x, presence, mask)[(Ellipsis, *box)]
    size = inp.shape[2:]
    pad = [0, 0, 0, 0, 0, 0]
    for i, n in enumerate(size):
        pad[2 * (2 - i) + 1] = (-n) % MULTIPLE
    out = net(F.pad(inp, pad))[..., : size[0], : size[1], : size[2]]
    full = torch.zeros_like(mask)
    full[(Ellipsis, *box)] = out
    return full * mask


def train_unet(
    train_set: list[Subject],
    val_set: list[Subject],
    out_path: Path,
    *,
    epochs: int,
    lr: float = 3e-3,
    seed: int = 0,
    modality_dropout: float = 0.5,
    channels: tuple[int, ...] = (8, 16, 32, 64),
    progress=print,
) -> tuple[UNet, list[dict]]:
    """Train with batch 1, cosine decay, keep the best-on-validation weights at ``out_path``."""
    torch.manual_seed(seed)
    net = build_unet(train_set[0].x.shape[0], channels)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    best, log = math.inf, []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
        net.train()
        losses = []
        for idx in torch.randperm(len(train_set), generator=gen).tolist():
            s = train_set[idx]
            p = sample_presence(s.presence, modality_dropout, gen).view(1, -1, 1, 1, 1)
            opt.zero_grad()
            loss = masked_l1(predict(net, s.x[None], p, s.mask[None]), s.pet[None], s.mask[None])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        net.eval()
        with torch.no_grad():
            val = evaluate_predictions(
                [
                    predict(net, s.x[None], s.presence.view(1, -1, 1, 1, 1), s.mask[None])
                    for s in val_set
                ],
                val_set,
            )
        row = {
            "epoch": epoch + 1,
            "train_l1": float(np.mean(losses)),
            **{f"val_{k}": v for k, v in val.items()},
            "seconds": time.perf_counter() - t0,
        }
        log.append(row)
        progress(
            f"unet epoch {epoch + 1}/{epochs}  train L1 {row['train_l1']:.4f}  val L1 {val['l1']:.4f}  val NCC {val['ncc']:.4f}"
        )
        if val["l1"] < best:
            best = val["l1"]
            with atomic_path(out_path, suffix=".safetensors") as tmp:
                save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
    net.load_state_dict(load_file(str(out_path)))
    write_json(
        Path(out_path).with_suffix(".json"),
        {
            "channels": list(channels),
            "log": log,
            "parameters": sum(p.numel() for p in net.parameters()),
        },
    )
    return net.eval(), log


def load_unet(path: Path, n_contrasts: int) -> UNet:
    """Load weights saved by :func:`train_unet` (channels from its JSON)."""
    import json

    meta = json.loads(Path(path).with_suffix(".json").read_text())
    net = build_unet(n_contrasts, tuple(meta["channels"]))
    net.load_state_dict(load_file(str(path)))
    return net.eval()
