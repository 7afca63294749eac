"""Block Gauss-Seidel solve of the bidirectional per-voxel energy (differentiable, unrolled).

Per voxel, with M contrasts x (presence mask p), forward coefficients a (M) and offset b,
inverse coefficients c (M) and offsets d (M), the unknowns (y, x_hat) minimise

    E(y, x_hat) = (y - a.x_hat - b)^2 + lam * sum_m (x_hat_m - c_m y - d_m)^2
                  + mu * sum_m p_m (x_hat_m - x_m)^2 .

Both block updates are closed form: the y-step is a scalar division, the x_hat-step solves
(D + a a^T) x_hat = r with D = diag(lam + mu p) by Sherman-Morrison. Each step minimises E
exactly over its block, so E never increases across sweeps. K = 0 returns the plain forward
model y = a.x + b (missing contrasts enter as zero). All tensors are [B, M, ...] (contrast
axis 1) or [B, 1, ...] and every operation is per voxel, so the solve is tiling-invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Coefficients:
    """Per-voxel coefficient fields: a, c, d are [B, M, ...]; b is [B, 1, ...]."""

    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    d: torch.Tensor


def energy(
    y: torch.Tensor,
    x_hat: torch.Tensor,
    x: torch.Tensor,
    presence: torch.Tensor,
    coef: Coefficients,
    lam: float,
    mu: float,
) -> torch.Tensor:
    """Per-voxel energy E(y, x_hat) as a [B, 1, ...] tensor."""
    forward = (y - (coef.a * x_hat).sum(1, keepdim=True) - coef.b) ** 2
    inverse = ((x_hat - coef.c * y - coef.d) ** 2).sum(1, keepdim=True)
    data = (presence * (x_hat - x) ** 2).sum(1, keepdim=True)
    return forward + lam * inverse + mu * data


def y_step(x_hat: torch.Tensor, coef: Coefficients, lam: float) -> torch.Tensor:
    """Minimise E over y with x_hat fixed: y = (a.x_hat + b + lam c.(x_hat - d)) / (1 + lam |c|^2)."""
    numerator = (coef.a * x_hat).sum(1, keepdim=True) + coef.b
    numerator = numerator + lam * (coef.c * (x_hat - coef.d)).sum(1, keepdim=True)
    return numerator / (1.0 + lam * (coef.c**2).sum(1, keepdim=True))


def x_step(
    y: torch.Tensor,
    x: torch.Tensor,
    presence: torch.Tensor,
    coef: Coefficients,
    lam: float,
    mu: float,
) -> torch.Tensor:
    """Minimise E over x_hat with y fixed: (D + a a^T) x_hat = r, solved by Sherman-Morrison."""
    diag = lam + mu * presence  # [B, M, ...] (broadcasts), strictly positive since lam > 0
    rhs = coef.a * (y - coef.b) + lam * (coef.c * y + coef.d) + mu * presence * x
    d_inv_r = rhs / diag
    d_inv_a = coef.a / diag
    correction = (coef.a * d_inv_r).sum(1, keepdim=True) / (
        1.0 + (coef.a * d_inv_a).sum(1, keepdim=True)
    )
    return d_inv_r - d_inv_a * correction


def gauss_seidel(
    x: torch.Tensor,
    presence: torch.Tensor,
    coef: Coefficients,
    *,
    sweeps: int,
    lam: float,
    mu: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``sweeps`` block Gauss-Seidel sweeps (x_hat-step then y-step); return (y, x_hat).

    Initialisation: x_hat = x for present contrasts and d_m (the inverse pathway's offset, a
    typical normalised value) for missing ones, y = a.x_hat + b; so K = 0 degrades gracefully
    when a contrast is absent. Missing contrasts have no data term (mu p_m = 0): the sweeps
    impute them as x_hat_m ~ c_m y + d_m and, a_m not being masked, feed them back into y.
    """
    if lam <= 0:
        raise ValueError(f"lam must be > 0 for the x_hat-step to be well posed, got {lam}")
    x = x * presence
    x_hat = x + (1.0 - presence) * coef.d  # missing contrasts start at the inverse offset d_m
    y = (coef.a * x_hat).sum(1, keepdim=True) + coef.b
    for _ in range(int(sweeps)):
        x_hat = x_step(y, x, presence, coef, lam, mu)
        y = y_step(x_hat, coef, lam)
    return y, x_hat


def inverse_consistency(
    x_hat: torch.Tensor, x: torch.Tensor, presence: torch.Tensor
) -> torch.Tensor:
    """Reliability map: root-mean-square of (x_hat - x) over the present contrasts, [B, 1, ...]."""
    n_present = presence.sum(1, keepdim=True).clamp(min=1.0)
    return ((presence * (x_hat - x * presence) ** 2).sum(1, keepdim=True) / n_present).sqrt()
