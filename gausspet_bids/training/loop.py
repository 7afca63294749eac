"""The training loop: modality dropout, tiles, validation-based selection, TSV log, resume."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gausspet_bids.bids.atomic import write_json
from gausspet_bids.model.checkpoint import load_checkpoint, save_checkpoint
from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.normalisation import NORMALISATION
from gausspet_bids.model.template_field import lattice_shape
from gausspet_bids.model.tiling import (
    mask_box,
    participant_context,
    random_box,
    run_tiled,
    tile_boxes,
    tile_input,
)
from gausspet_bids.preprocessing.model_grid import grid_to_dict
from gausspet_bids.training.cohort import Subject
from gausspet_bids.training.losses import masked_l1, total_loss
from gausspet_bids.training.mask_dilation import input_mask
from gausspet_bids.training.voxelwise_start import train_fine_branch


@dataclass
class TrainConfig:
    """Everything a training run depends on (stored in the checkpoint metadata)."""

    contrasts: list[str]
    sweeps: int = 1
    lam: float = 1.0
    mu: float = 10.0
    channels: int = 24
    depth: int = 5
    stride: int = 4
    fine_channels: int = 0
    position: bool = False
    template_spacing: int = 0
    template_offset: bool = False
    context_features: int = 0
    context_spacing: int = 4
    psf_sigma: float = 0.0
    patches: int = 1
    crop: int = 0
    crops_per_volume: int = 1
    ema: float = 0.0
    voxelwise_steps: int = 0
    voxelwise_hard_fraction: float = 0.0
    epochs: int = 20
    batch: int = 2
    lr: float = 1e-3
    clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    modality_dropout: float = 0.5
    mask_dilation: float = 0.0
    w_inverse: float = 0.1
    w_smooth: float = 0.05
    w_template: float = 0.0
    patience: int = 10
    data_summary: dict = field(default_factory=dict)


def sample_presence(available: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    """Modality dropout: with probability ``rate`` drop each available contrast with probability
    1/2 (keeping at least one); otherwise keep all, so full-protocol inputs stay the common case."""
    drop = torch.rand((), generator=gen) < rate
    keep = (
        (torch.rand(available.shape, generator=gen) >= 0.5).float()
        if drop
        else torch.ones_like(available)
    )
    keep = keep * available
    if keep.sum() == 0:
        choices = torch.nonzero(available).flatten()
        keep[choices[torch.randint(len(choices), (1,), generator=gen)]] = 1.0
    return keep


def evaluate_predictions(predictions: list[torch.Tensor], subjects: list[Subject]) -> dict:
    """Mean L1 and NCC in the brain mask of predicted PET volumes against ``subjects``' PET."""
    l1s, nccs = [], []
    for pred_volume, s in zip(predictions, subjects, strict=True):
        mask = s.mask[None].to(pred_volume.device)
        target = s.pet[None].to(pred_volume.device)
        l1s.append(float(masked_l1(pred_volume, target, mask)))
        pc = pred_volume[mask > 0] - pred_volume[mask > 0].mean()
        tc = target[mask > 0] - target[mask > 0].mean()
        nccs.append(float((pc * tc).sum() / (pc.norm() * tc.norm()).clamp(min=1e-12)))
    return {"l1": float(np.mean(l1s)), "ncc": float(np.mean(nccs))}


def evaluate(model: GaussPET, subjects: list[Subject], device: torch.device) -> dict:
    """Whole-volume L1 and NCC in the brain mask, averaged over ``subjects`` (all contrasts)."""
    model.eval()
    with torch.no_grad():
        preds = [
            run_tiled(
                model,
                s.x[None].to(device),
                s.presence.view(1, -1, 1, 1, 1).to(device),
                s.mask[None].to(device),
            )["pet"]
            for s in subjects
        ]
    return evaluate_predictions(preds, subjects)


def global_linear_fit(subjects: list[Subject], psf_sigma: float, every: int = 3) -> tuple:
    """Spatially constant starting coefficients: least squares PET ~ a.(G*x) + b on the training
    set (G: the PSF), c = 0, d = mean contrast; the network then learns the spatial variation
    and the coupling. Uses every ``every``-th brain voxel."""
    from scipy.ndimage import gaussian_filter

    feats, pets, xs = [], [], []
    for s in subjects:
        inside = s.mask[0].numpy() > 0
        x = s.x.numpy()
        blurred = [gaussian_filter(v, psf_sigma) if psf_sigma > 0 else v for v in x]
        feats.append(np.stack([v[inside][::every] for v in blurred], 1))
        xs.append(np.stack([v[inside][::every] for v in x], 1))
        pets.append(s.pet[0].numpy()[inside][::every])
    f, x, pet = np.concatenate(feats), np.concatenate(xs), np.concatenate(pets)
    design = np.concatenate([f, np.ones((len(f), 1))], 1)
    coef = np.linalg.lstsq(design, pet, rcond=None)[0]
    # inverse pathway starts uncoupled (c = 0, d = mean contrast): a regression of x on PET is
    # too diluted by noise to start from, and c is learnt from the inverse loss
    return coef[:-1], float(coef[-1]), [0.0] * x.shape[1], x.mean(0).tolist()


def _tile_step(
    model, s: Subject, presence, box, device, cfg: TrainConfig, seen: torch.Tensor | None = None
) -> tuple[torch.Tensor, dict]:
    """Loss of one tile; ``seen`` is the mask the model is given (default: the true mask, which
    the loss always uses: :mod:`gausspet_bids.training.mask_dilation`)."""
    x, mask, pet = s.x[None].to(device), s.mask[None].to(device), s.pet[None].to(device)
    p = presence.view(1, -1, 1, 1, 1).to(device)
    core = (Ellipsis, *box)
    grown = seen is not None and seen is not s.mask
    seen = seen[None].to(device) if grown else mask
    context = participant_context(model, x, p, seen, None if grown else s.pooled)
    out = model.forward_tile(tile_input(model, x, p, seen, box), p, context=context)
    return total_loss(
        out, pet[core], x[core], p, mask[core], w_inverse=cfg.w_inverse, w_smooth=cfg.w_smooth,
        w_template=cfg.w_template, template_roughness=model.net.template_roughness(),
    )  # fmt: skip


def _optimizer_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    tensors = {}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        for key, value in opt.state.get(p, {}).items():
            tensors[f"opt.{i}.{key}"] = (
                torch.as_tensor(value, dtype=torch.float32) if key == "step" else value
            )
    return tensors


def _ema_tensors(averaged: AveragedModel | None) -> dict[str, torch.Tensor]:
    if averaged is None:
        return {}
    return {f"ema.{k}": v for k, v in averaged.state_dict().items()}


def _restore_optimizer(opt: torch.optim.Optimizer, extra: dict[str, torch.Tensor]) -> None:
    for i, p in enumerate(opt.param_groups[0]["params"]):
        state = {k.split(".")[-1]: v for k, v in extra.items() if k.startswith(f"opt.{i}.")}
        if state:
            opt.state[p] = {k: v.clone() for k, v in state.items()}


def train(
    cfg: TrainConfig,
    train_set: list[Subject],
    val_set: list[Subject],
    grid: tuple[tuple[int, int, int], np.ndarray],
    out_dir: Path,
    *,
    resume: Path | None = None,
    progress=print,
) -> Path:
    """Train, keep the best-on-validation checkpoint as ``out_dir/model.safetensors``; return it.

    Every epoch draws its shuffling, dropout and tiles from a generator seeded by (seed, epoch),
    so a run is deterministic on CPU and a resumed run continues exactly where it stopped.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = GaussPET(
        len(cfg.contrasts),
        channels=cfg.channels,
        depth=cfg.depth,
        stride=cfg.stride,
        fine_channels=cfg.fine_channels,
        position=cfg.position,
        template_shape=(
            lattice_shape(grid[0], cfg.template_spacing) if cfg.template_spacing else None
        ),
        template_offset=cfg.template_offset,
        context_features=cfg.context_features,
        context_shape=(
            lattice_shape(grid[0], cfg.context_spacing) if cfg.context_features else None
        ),
        psf_sigma=cfg.psf_sigma,
        sweeps=cfg.sweeps,
        lam=cfg.lam,
        mu=cfg.mu,
    ).to(device)
    model.set_global_coefficients(*global_linear_fit(train_set, cfg.psf_sigma))
    if cfg.voxelwise_steps and resume is None:
        train_fine_branch(
            model, train_set, steps=cfg.voxelwise_steps, modality_dropout=cfg.modality_dropout,
            w_inverse=cfg.w_inverse, w_smooth=cfg.w_smooth, w_template=cfg.w_template,
            seed=cfg.seed, progress=progress,
            hard_fraction=cfg.voxelwise_hard_fraction, mask_dilation=cfg.mask_dilation,
        )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    # exponential moving average of the weights (evaluated, selected and saved instead of the
    # raw weights when cfg.ema > 0): steadier than the last step's weights at batch sizes a CPU
    # affords
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema else None
    meta = {
        "name": out_dir.name,
        "description": "GaussPET model trained with gausspet-train",
        "contrasts": list(cfg.contrasts),
        "normalisation": NORMALISATION,
        "grid": grid_to_dict(*grid),
        "training": {k: v for k, v in asdict(cfg).items() if k != "data_summary"},
        "training_data": cfg.data_summary,
    }
    log_path = out_dir / "log.tsv"
    start_epoch, best, stale = 0, float("inf"), 0
    if resume is not None:
        resumed, rmeta, extra = load_checkpoint(resume, cfg.device)
        model.load_state_dict(resumed.state_dict())
        _restore_optimizer(opt, extra)
        if averaged is not None:
            averaged.load_state_dict(
                {k.removeprefix("ema."): v for k, v in extra.items() if k.startswith("ema.")}
            )
        start_epoch, best, stale = (
            rmeta["state"]["epoch"],
            rmeta["state"]["best_val_l1"],
            rmeta["state"]["stale"],
        )
    elif log_path.exists():
        log_path.unlink()
    if not log_path.exists():
        # epoch 0: the starting point (global fit, voxel-wise start) is a candidate as well
        val = evaluate(model, val_set, device)
        log_path.write_text(
            "epoch\ttrain_loss\ttrain_l1\tval_l1\tval_ncc\tseconds\n"
            f"0\tnan\tnan\t{val['l1']:.6f}\t{val['ncc']:.6f}\t0.0\n"
        )
        progress(f"epoch 0 (start)  val L1 {val['l1']:.4f}  val NCC {val['ncc']:.4f}")
        best = val["l1"]
        save_checkpoint(
            model,
            out_dir / "model.safetensors",
            {**meta, "validation_metrics": {**val, "epoch": 0}},
        )
    shape = tuple(train_set[0].x.shape[1:])
    boxes = tile_boxes(shape, cfg.patches, model.stride)
    for epoch in range(start_epoch, cfg.epochs):
        if stale >= cfg.patience:
            progress(f"early stop: no validation improvement for {cfg.patience} epochs")
            break
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        model.train()
        for group in opt.param_groups:  # cosine decay over the planned epochs
            group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(cfg.epochs, 1)))
        visits = cfg.crops_per_volume if cfg.crop else 1
        order = torch.randperm(len(train_set) * visits, generator=gen).remainder(len(train_set))
        order = order.tolist()
        losses, l1s = [], []
        for start in range(0, len(order), cfg.batch):
            opt.zero_grad()
            batch = order[start : start + cfg.batch]
            for idx in batch:
                s = train_set[idx]
                presence = sample_presence(s.presence, cfg.modality_dropout, gen)
                if cfg.crop:  # a random cube (exact tile): many cheap steps per volume
                    box = random_box(s.mask[0], cfg.crop, model.stride, gen)
                    while not s.mask[(0, *box)].any():
                        box = random_box(s.mask[0], cfg.crop, model.stride, gen)
                elif cfg.patches == 1:  # the whole volume, cropped to the brain (same result)
                    box = mask_box(s.mask[0], model.stride)
                else:
                    candidates = [b for b in boxes if s.mask[(0, *b)].any()]
                    box = candidates[int(torch.randint(len(candidates), (1,), generator=gen))]
                seen = input_mask(s, cfg.mask_dilation, gen)
                loss, parts = _tile_step(model, s, presence, box, device, cfg, seen)
                (loss / len(batch)).backward()
                losses.append(loss.item())
                l1s.append(parts["l1"])
            if cfg.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            if averaged is not None:
                averaged.update_parameters(model)
        selected = averaged.module if averaged is not None else model
        val = evaluate(selected, val_set, device)
        seconds = time.perf_counter() - t0
        with open(log_path, "a") as log:
            log.write(
                f"{epoch + 1}\t{np.mean(losses):.6f}\t{np.mean(l1s):.6f}\t{val['l1']:.6f}\t{val['ncc']:.6f}\t{seconds:.1f}\n"
            )
        improved = val["l1"] < best
        best, stale = (val["l1"], 0) if improved else (best, stale + 1)
        progress(
            f"epoch {epoch + 1}/{cfg.epochs}  loss {np.mean(losses):.4f}  train L1 {np.mean(l1s):.4f}  val L1 {val['l1']:.4f}  val NCC {val['ncc']:.4f}  {seconds:.0f}s"
            + ("  *" if improved else "")
        )
        if improved:
            save_checkpoint(
                selected,
                out_dir / "model.safetensors",
                {**meta, "validation_metrics": {**val, "epoch": epoch + 1}},
            )
        state = {"epoch": epoch + 1, "best_val_l1": best, "stale": stale}
        save_checkpoint(
            model,
            out_dir / "last.safetensors",
            {**meta, "state": state},
            extra_tensors=_optimizer_tensors(opt) | _ema_tensors(averaged),
        )
    write_json(
        out_dir / "splits.json",
        {
            "train": [s.participant for s in train_set],
            "validation": [s.participant for s in val_set],
        },
    )
    return out_dir / "model.safetensors"
