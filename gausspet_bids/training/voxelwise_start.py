"""A voxel-wise start: the fine coefficient branch trained alone, before the whole network.

The global least-squares start (:func:`gausspet_bids.training.loop.global_linear_fit`) is one
linear map for the whole cohort. Tissue mixing makes PET a *non-linear* function of the
contrasts voxel by voxel, and uptake that no contrast shows (deep grey matter, cerebellum)
depends on where the voxel is. Both are functions of one voxel's input channels (contrasts,
presence, position), which is what the fine branch sees. So, first, the fine branch is trained
with the coarse coefficients held at the global start: the coarse network is not evaluated, a
tile then needs only the PSF margin around its core (no network halo), and small random crops
make each Adam step cost milliseconds instead of seconds. The objective is the full model's
(solve, PSF, the training loss); only the coarse context is missing. The whole-network
training that follows then has to learn only what needs spatial context (lesions).
"""

from __future__ import annotations

import math

import torch

from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.tiling import participant_context, region_input
from gausspet_bids.training.cohort import Subject
from gausspet_bids.training.losses import total_loss
from gausspet_bids.training.mask_dilation import input_mask


def _random_core(
    inside: torch.Tensor, shape: tuple[int, ...], size: int, gen: torch.Generator
) -> tuple[slice, ...]:
    """A ``size``-voxel cube centred on a random voxel of ``inside`` ([N, 3] brain voxel
    indices), shifted to fit in a volume of ``shape``."""
    centre = inside[int(torch.randint(len(inside), (1,), generator=gen))]
    starts = [min(max(0, int(c) - size // 2), n - size) for c, n in zip(centre, shape, strict=True)]
    return tuple(slice(a, a + size) for a in starts)


def _fine_only_output(
    model: GaussPET, inp: torch.Tensor, presence: torch.Tensor, context: torch.Tensor | None
) -> dict:
    """The model's output on tile inputs with the coarse coefficients at the head's bias (the
    coarse network is not evaluated) and the fine branch's correction on top."""
    m = model.net.n_contrasts
    raw = model.net.refine(inp, model.net.constant_coarse(inp))
    raw = model.net.apply_template(inp, raw, context)
    return model.solve(inp[:, :m], inp[:, -1:], presence, model.split_coefficients(raw))


def start_residual(model: GaussPET, subject: Subject) -> torch.Tensor:
    """|model output - PET| over the whole volume with the coarse coefficients at the start
    (what the fine branch starts from), [D, H, W]; zero outside the mask."""
    box = tuple(slice(0, n) for n in subject.mask.shape[1:])
    p = subject.presence.view(1, -1, 1, 1, 1)
    x, mask = subject.x[None], subject.mask[None]
    with torch.no_grad():
        context = participant_context(model, x, p, mask, subject.pooled)
        inp = region_input(model, x, p, mask, box, model.margin)
        out = _fine_only_output(model, inp, p, context)
    return ((out["pet"] - subject.pet[None]).abs() * mask)[0, 0]


def fine_only_loss(
    model: GaussPET,
    samples: list[tuple[Subject, torch.Tensor, tuple[slice, ...], torch.Tensor]],
    *,
    w_inverse: float,
    w_smooth: float,
    w_template: float = 0.0,
) -> tuple[torch.Tensor, dict]:
    """Training loss of a batch of (subject, presence, core box, mask the model is given) tiles
    of one size, with the coarse coefficients fixed at the head's bias: the tiles are stacked
    into one batch. The loss is on each subject's true mask."""
    inputs, presences, pets, xs, masks, contexts = [], [], [], [], [], []
    for s, presence, box, seen in samples:
        p = presence.view(1, -1, 1, 1, 1)
        x, mask = s.x[None], s.mask[None]
        grown = seen is not s.mask
        inputs.append(region_input(model, x, p, seen[None], box, model.margin))
        contexts.append(participant_context(model, x, p, seen[None], None if grown else s.pooled))
        presences.append(p)
        core = (Ellipsis, *box)
        pets.append(s.pet[None][core])
        xs.append(x[core])
        masks.append(mask[core])
    p = torch.cat(presences)
    context = None if contexts[0] is None else torch.cat(contexts)
    out = _fine_only_output(model, torch.cat(inputs), p, context)
    return total_loss(
        out, torch.cat(pets), torch.cat(xs), p, torch.cat(masks),
        w_inverse=w_inverse, w_smooth=w_smooth,
        w_template=w_template, template_roughness=model.net.template_roughness(),
    )  # fmt: skip


def train_fine_branch(
    model: GaussPET,
    subjects: list[Subject],
    *,
    steps: int,
    crop: int = 8,
    batch: int = 32,
    lr: float = 1e-2,
    modality_dropout: float = 0.5,
    w_inverse: float = 0.1,
    w_smooth: float = 0.05,
    w_template: float = 0.0,
    seed: int = 0,
    hard_fraction: float = 0.0,
    hard_threshold: float = 0.3,
    mask_dilation: float = 0.0,
    progress=None,
) -> list[float]:
    """Adam on ``model.net.fine`` and ``fine_head`` (and the template map and participant
    context, if any) only:
    ``steps`` steps, each a batch of ``batch`` ``crop``-voxel cubes around random brain voxels
    of random training participants (cosine learning rate); returns the mean training L1 of
    each tenth of the run.

    With ``hard_fraction`` > 0 that share of the cubes is centred instead on voxels the start
    misses by more than ``hard_threshold`` SUVR (:func:`start_residual`; mostly lesions, which
    are a small part of the brain), where the participant has any. ``mask_dilation``: see
    :func:`gausspet_bids.training.mask_dilation.input_mask`."""
    from gausspet_bids.training.loop import sample_presence

    net = model.net
    if not net.fine_channels:
        raise ValueError("the model has no fine branch (fine_channels = 0)")
    params = [*net.fine.parameters(), *net.fine_head.parameters()]
    for field in (net.template, net.context):  # they need no spatial context either
        if field is not None:
            params += list(field.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(seed * 7919 + 1)
    chunk = max(1, steps // 10)
    history, l1s = [], []
    inside = [torch.nonzero(s.mask[0] > 0) for s in subjects]
    hard = (
        [torch.nonzero(start_residual(model, s) > hard_threshold) for s in subjects]
        if hard_fraction > 0
        else []
    )
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))
        samples = []
        for _ in range(batch):
            k = int(torch.randint(len(subjects), (1,), generator=gen))
            s = subjects[k]
            presence = sample_presence(s.presence, modality_dropout, gen)
            centres = inside[k]
            if (
                hard_fraction > 0
                and len(hard[k])
                and float(torch.rand(1, generator=gen)) < hard_fraction
            ):
                centres = hard[k]
            box = _random_core(centres, s.mask.shape[1:], crop, gen)
            samples.append((s, presence, box, input_mask(s, mask_dilation, gen)))
        loss, parts = fine_only_loss(
            model, samples, w_inverse=w_inverse, w_smooth=w_smooth, w_template=w_template
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        l1s.append(parts["l1"])
        if (step + 1) % chunk == 0:
            history.append(sum(l1s) / len(l1s))
            l1s = []
            if progress:
                progress(f"voxel-wise start {step + 1}/{steps}  train L1 {history[-1]:.4f}")
    return history
