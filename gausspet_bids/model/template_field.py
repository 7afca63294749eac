"""A learned population map in template space: regional FDG uptake that no MR contrast shows.

The model grid is affine-aligned to the template, so a voxel's position says roughly which
structure it is in. FDG uptake differs between structures of the same tissue class (deep grey
matter above cortex, cerebellum below it), which the contrasts cannot tell apart. This module
holds a smooth map on a coarse lattice over the model grid, learnt from the training cohort: a
gain ``g`` that scales the forward coefficients (a, b), so the synthesis stays a linear map of
the contrasts, y = (1 + g) (sum_m a_m x_m + b): the regional uptake factor relative to what the
tissue alone suggests. Optionally a second map, an offset ``o`` added to b.

The maps are sampled (trilinearly) at the position channels of the network input, which carry
each voxel's position on the whole model grid, so tiles and training crops read the same values
as a whole-volume pass and tiling stays exact. Both maps start at zero (the model without
them); lattice points no training brain voxel touches stay zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def lattice_shape(grid_shape: tuple[int, ...], spacing: int) -> list[int]:
    """Lattice points per axis for a map with one point every ``spacing`` grid voxels, ends
    included (position -1 and 1 are the first and last grid voxels)."""
    if spacing < 1:
        raise ValueError(f"template map spacing must be >= 1 voxel, got {spacing}")
    return [int(math.ceil((n - 1) / spacing)) + 1 for n in grid_shape]


def sample_lattice(maps: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
    """Lattice maps [1, C, *shape] read trilinearly at ``position`` [B, 3, D, H, W] (grid axis
    order, -1 .. 1) -> [B, C, D, H, W]."""
    b = position.shape[0]
    # grid_sample wants the last dimension as (x, y, z) = (W, H, D)
    grid = position.movedim(1, -1).flip(-1).to(maps.dtype)
    return F.grid_sample(
        maps.expand(b, -1, -1, -1, -1), grid, mode="bilinear", padding_mode="border",
        align_corners=True,
    )  # fmt: skip


def lattice_roughness(maps: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring points of lattice maps [1, C, *shape]."""
    return sum(maps.diff(dim=d).pow(2).mean() for d in (2, 3, 4)) / 3.0


def scale_forward(
    raw: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor | None, n_contrasts: int
) -> torch.Tensor:
    """Coefficients [B, 3M + 1, ...] with the forward ones (a, b) scaled by (1 + gain) and
    ``offset`` (if any) added to b; the inverse ones (c, d) unchanged."""
    m = n_contrasts
    forward = raw[:, : m + 1] * (1.0 + gain)
    if offset is not None:
        forward = torch.cat([forward[:, :m], forward[:, m : m + 1] + offset], dim=1)
    return torch.cat([forward, raw[:, m + 1 :]], dim=1)


class TemplateField(nn.Module):
    """Gain (and offset) maps [1, 1 or 2, *shape] sampled at position channels in [-1, 1]."""

    def __init__(self, shape: list[int] | tuple[int, ...], offset: bool = False):
        super().__init__()
        self.shape = [int(n) for n in shape]
        self.offset = bool(offset)
        self.maps = nn.Parameter(torch.zeros(1, 2 if self.offset else 1, *self.shape))

    def forward(self, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``position`` [B, 3, D, H, W] (axis order of the grid) -> gain, offset [B, 1, D, H, W]
        (offset None without the offset map)."""
        sampled = sample_lattice(self.maps, position)
        return sampled[:, :1], (sampled[:, 1:] if self.offset else None)

    def apply(
        self,
        raw: torch.Tensor,
        position: torch.Tensor,
        n_contrasts: int,
        extra_gain: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Coefficients [B, 3M + 1, ...] with a and b scaled by (1 + g) (and o added to b);
        ``extra_gain`` (e.g. the participant-level context gain) is added to g."""
        gain, offset = self(position)
        if extra_gain is not None:
            gain = gain + extra_gain
        return scale_forward(raw, gain, offset, n_contrasts)

    def roughness(self) -> torch.Tensor:
        """Mean squared difference between neighbouring lattice points (a membrane prior: the
        training loss adds it, weighted, so that the map stays smooth where data are few)."""
        return lattice_roughness(self.maps)
