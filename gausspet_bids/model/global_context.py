"""Participant-level context: a few features of the whole volume and the gain maps they weight.

Some of what FDG-PET shows is not local. SUVR divides by the cerebellar reference, and a
supratentorial stroke lowers the contralateral cerebellum (crossed cerebellar diaschisis), so a
stroke lowers the reference and raises every other SUVR of that participant, and it lowers one
cerebellar hemisphere, tens of millimetres from the lesion. A network that sees one tile (or a
receptive field of a few centimetres) cannot know either. This module summarises the whole
volume once, before tiling, into ``n_features`` numbers z (a per-voxel MLP over the input
channels, position included, on the volume average-pooled by :data:`POOL`, averaged over the
brain), and turns them into a gain g(v) = sum_k z_k G_k(v) with learnt smooth maps G_k on a
lattice over the model grid (as :class:`~gausspet_bids.model.template_field.TemplateField`):
y = (1 + g_template + g_context) (sum_m a_m x_m + b), still linear in the contrasts.

Every tile receives the same z, so tiling stays exact. Presence is 0 or 1 per contrast, so the
pooled input of any contrast subset is the full-presence pooled input with channels multiplied
by the presence: it is computed once per volume (and cached per participant in training).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gausspet_bids.model.template_field import lattice_roughness, sample_lattice

POOL = 4  # the summary reads the volume average-pooled over POOL^3 voxels


def pooled_input(whole_input: torch.Tensor) -> torch.Tensor:
    """[B, C, D, H, W] network input of the whole, unpadded volume (all contrasts present, see
    :func:`~gausspet_bids.model.network.model_input`) -> [B, C, d, h, w] average-pooled."""
    return F.avg_pool3d(whole_input, POOL, stride=POOL, ceil_mode=True, count_include_pad=False)


class GlobalContext(nn.Module):
    """Whole-volume summary z ([B, n_features]) and the gain maps it weights."""

    def __init__(
        self,
        in_channels: int,
        n_contrasts: int,
        n_features: int,
        shape: list[int] | tuple[int, ...],
        hidden: int = 16,
    ):
        super().__init__()
        self.n_contrasts = int(n_contrasts)
        self.n_features = int(n_features)
        self.shape = [int(n) for n in shape]
        self.encoder = nn.Sequential(
            nn.Linear(in_channels, hidden), nn.LeakyReLU(0.1),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.1),
            nn.Linear(hidden, self.n_features), nn.Tanh(),
        )  # fmt: skip
        # the maps start at zero: the model without context; the encoder starts random, so the
        # maps' gradients are not zero (as in a low-rank adapter)
        self.maps = nn.Parameter(torch.zeros(1, self.n_features, *self.shape))

    def summarise(self, pooled: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
        """z [B, n_features] from :func:`pooled_input` (full presence) and ``presence`` [B, M,
        1, 1, 1]: the mean over the brain (weighted by the pooled mask) of the encoder's output."""
        m = self.n_contrasts
        pooled = torch.cat(
            [pooled[:, : 2 * m] * presence.repeat(1, 2, 1, 1, 1), pooled[:, 2 * m :]], 1
        )
        weight = pooled[:, -1:].flatten(2)  # brain fraction of each pooled voxel, [B, 1, N]
        features = self.encoder(pooled.flatten(2).transpose(1, 2))  # [B, N, n_features]
        return (weight.transpose(1, 2) * features).sum(1) / weight.sum(2).clamp(min=1e-6)

    def gain(self, z: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """g = sum_k z_k G_k at ``position`` [B, 3, D, H, W] -> [B, 1, D, H, W]."""
        maps = sample_lattice(self.maps, position)  # [B, n_features, D, H, W]
        return (maps * z[:, :, None, None, None].to(maps.dtype)).sum(1, keepdim=True)

    def roughness(self) -> torch.Tensor:
        """Mean squared difference between neighbouring lattice points of the maps."""
        return lattice_roughness(self.maps)
