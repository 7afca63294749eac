"""Training losses: L1 on PET in the brain mask, inverse reconstruction, coefficient smoothness."""

from __future__ import annotations

import torch


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over mask voxels."""
    return ((pred - target).abs() * mask).sum() / mask.sum().clamp(min=1.0)


def inverse_reconstruction(
    out: dict, pet: torch.Tensor, x: torch.Tensor, presence: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """L1 of c_m * PET + d_m - x_m over present contrasts in the mask (trains the inverse path)."""
    weight = presence * mask
    residual = (out["c"] * pet + out["d"] - x).abs() * weight
    return residual.sum() / weight.expand_as(residual).sum().clamp(min=1.0)


def smoothness(out: dict, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute finite difference of the coefficient fields (a, b, c, d) between neighbouring
    voxels that are both inside the mask (the mask edge itself is not penalised)."""
    fields = torch.cat([out["a"], out["b"], out["c"], out["d"]], dim=1)
    total = 0.0
    for dim in (2, 3, 4):
        pair = mask.narrow(dim, 1, mask.shape[dim] - 1) * mask.narrow(dim, 0, mask.shape[dim] - 1)
        total = total + (fields.diff(dim=dim).abs() * pair).sum() / (
            pair.sum() * fields.shape[1]
        ).clamp(min=1.0)
    return total / 3.0


def total_loss(
    out: dict,
    pet: torch.Tensor,
    x: torch.Tensor,
    presence: torch.Tensor,
    mask: torch.Tensor,
    *,
    w_inverse: float,
    w_smooth: float,
    w_template: float = 0.0,
    template_roughness: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict]:
    """Weighted sum of the terms and their values (for the log); ``template_roughness`` (the
    template map's prior, :meth:`CoefficientNet.template_roughness`) is added with weight
    ``w_template`` when given."""
    l1 = masked_l1(out["pet"], pet, mask)
    inv = inverse_reconstruction(out, pet, x, presence, mask)
    smooth = smoothness(out, mask)
    loss = l1 + w_inverse * inv + w_smooth * smooth
    parts = {"l1": l1.item(), "inverse": inv.item(), "smooth": smooth.item()}
    if w_template and template_roughness is not None:
        loss = loss + w_template * template_roughness
        parts["template"] = template_roughness.item()
    return loss, parts
