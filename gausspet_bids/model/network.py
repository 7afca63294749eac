"""The coefficient network and the GaussPET model (network + Gauss-Seidel solve).

The network predicts, on a grid ``stride`` times coarser than the model grid, the per-voxel
forward coefficients a (M) and offset b and the inverse coefficients c, d (M each); trilinear
upsampling makes them smooth, so fine detail reaches the PET only through the MRI itself.

Tiling invariance is exact by construction: every convolution is *valid* (no padding), there is
no normalisation over space, the first layer is a stride-``stride`` patch embedding, and the
caller pads the whole volume once by :attr:`CoefficientNet.halo` voxels. A tile cut from the
padded volume with that halo (core offsets multiples of ``stride``) then sees exactly the
values the whole-volume pass sees, and its core output is identical.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from monai.networks.blocks import Convolution
from torch import nn

from gausspet_bids.model.global_context import GlobalContext
from gausspet_bids.model.solver import Coefficients, gauss_seidel, inverse_consistency
from gausspet_bids.model.template_field import TemplateField, scale_forward


class CoefficientNet(nn.Module):
    """Coarse-grid fully convolutional network with valid convolutions.

    Input: [B, 2M + 1, D + 2h, H + 2h, W + 2h] (normalised contrasts times presence, presence
    channels, brain mask) padded by ``halo`` = h; output: coefficient channels [B, 3M + 1, D, H,
    W] on the fine grid of the unpadded core. D, H, W must be multiples of ``stride``. The head's
    output is multiplied by a fixed gain so that coefficients of order one are reached in few
    optimiser steps (Adam's step size is bounded by its learning rate).
    """

    OUTPUT_GAIN = 10.0

    def __init__(
        self,
        n_contrasts: int,
        *,
        channels: int = 24,
        depth: int = 5,
        stride: int = 4,
        fine_channels: int = 0,
        position: bool = False,
        template_shape: list[int] | None = None,
        template_offset: bool = False,
        context_features: int = 0,
        context_shape: list[int] | None = None,
    ):
        super().__init__()
        self.n_contrasts = int(n_contrasts)
        self.channels = int(channels)
        self.depth = int(depth)
        self.stride = int(stride)
        self.fine_channels = int(fine_channels)
        self.position = bool(position)
        in_channels = 2 * self.n_contrasts + 1 + (3 if self.position else 0)
        self.embed = nn.Conv3d(in_channels, channels, kernel_size=stride, stride=stride)
        self.body = nn.Sequential(
            *[
                Convolution(
                    3,
                    channels,
                    channels,
                    kernel_size=3,
                    padding=0,
                    act=("leakyrelu", {"negative_slope": 0.1}),
                    norm=None,
                )
                for _ in range(depth)
            ]
        )
        self.head = nn.Conv3d(channels, 3 * self.n_contrasts + 1, kernel_size=1)
        self.act = nn.LeakyReLU(0.1)
        if self.fine_channels:
            # voxel-wise branch: an MLP over channels at every voxel, fed with the fine input and
            # the upsampled coarse coefficients (the context); its head starts at zero, so
            # training starts from the coarse model. nn.Linear on channels-last tensors: on CPU
            # this is a plain matrix product, several times faster than a 1x1x1 Conv3d.
            f, n_out = self.fine_channels, 3 * self.n_contrasts + 1
            self.fine = nn.Sequential(
                nn.Linear(in_channels, f), nn.LeakyReLU(0.1),
                nn.Linear(f, f), nn.LeakyReLU(0.1),
            )  # fmt: skip
            self.fine_head = nn.Linear(f + n_out, n_out)
            nn.init.zeros_(self.fine_head.weight)
            nn.init.zeros_(self.fine_head.bias)
        self.template = None
        if template_shape:
            if not self.position:
                raise ValueError("the template map needs the position channels (position=True)")
            self.template = TemplateField(template_shape, offset=template_offset)
        self.context = None
        if context_features:
            if not self.position or not context_shape:
                raise ValueError(
                    "the participant context needs the position channels and a lattice"
                )
            self.context = GlobalContext(
                in_channels, self.n_contrasts, context_features, context_shape
            )

    @property
    def halo(self) -> int:
        """Fine voxels of context needed on each side: ``depth`` valid 3^3 convolutions plus one
        coarse voxel for the trilinear upsampling, in whole strides."""
        return self.stride * (self.depth + 1)

    def _upsample(self, coarse: torch.Tensor) -> torch.Tensor:
        s = self.stride
        fine = F.interpolate(coarse, scale_factor=s, mode="trilinear", align_corners=False)
        return fine[..., s:-s, s:-s, s:-s]

    def forward(self, padded: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Coefficients of the core; ``context`` is the participant summary z ([B, F], see
        :meth:`summarise`), required when the network has a participant context."""
        features = self.body(self.act(self.embed(padded)))
        out = self._upsample(self.head(features) * self.OUTPUT_GAIN)
        h = self.halo
        local = padded[..., h:-h, h:-h, h:-h]
        if self.fine_channels:
            out = self.refine(local, out)
        return self.apply_template(local, out, context)

    def summarise(self, pooled: torch.Tensor, presence: torch.Tensor) -> torch.Tensor | None:
        """The participant summary z from the whole volume's pooled input
        (:func:`~gausspet_bids.model.global_context.pooled_input`); None without a context."""
        if self.context is None:
            return None
        return self.context.summarise(pooled, presence)

    def template_roughness(self) -> torch.Tensor:
        """Roughness of the template map and the context maps (0 without them)."""
        total = torch.zeros(())
        for field in (self.template, self.context):
            if field is not None:
                total = total + field.roughness()
        return total

    def apply_template(
        self, local_input: torch.Tensor, raw: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Coefficients with the learnt template map and the participant context gain applied
        (unchanged without them), read at the position channels of ``local_input`` (same grid
        as ``raw``)."""
        if self.template is None and self.context is None:
            return raw
        m = self.n_contrasts
        position = local_input[:, 2 * m : 2 * m + 3]
        extra = None
        if self.context is not None:
            if context is None:
                raise ValueError("this model needs the participant context z (see summarise)")
            extra = self.context.gain(context, position)
        if self.template is None:
            return scale_forward(raw, extra, None, m)
        return self.template.apply(raw, position, m, extra)

    def refine(self, local_input: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        """Coarse coefficients plus the fine branch's voxel-wise correction; ``local_input``
        (the input channels) and ``coarse`` ([B, 3M + 1, ...]) share the fine grid."""
        local = self.fine(local_input.movedim(1, -1))
        context = coarse.movedim(1, -1)
        correction = self.fine_head(torch.cat([local, context], dim=-1))
        return (context + correction).movedim(-1, 1)

    def constant_coarse(self, like: torch.Tensor) -> torch.Tensor:
        """The coarse coefficients when the coarse features are zero (the head's bias, i.e. the
        training start), broadcast to ``like``'s grid."""
        bias = (self.head.bias * self.OUTPUT_GAIN).view(1, -1, 1, 1, 1)
        return bias.expand(like.shape[0], -1, *like.shape[2:])

    def hyperparameters(self) -> dict:
        return {
            "n_contrasts": self.n_contrasts,
            "channels": self.channels,
            "depth": self.depth,
            "stride": self.stride,
            "fine_channels": self.fine_channels,
            "position": self.position,
            "template_shape": self.template.shape if self.template is not None else None,
            "template_offset": self.template.offset if self.template is not None else False,
            "context_features": self.context.n_features if self.context is not None else 0,
            "context_shape": self.context.shape if self.context is not None else None,
        }


def position_channels(like: torch.Tensor, region: tuple[slice, ...] | None = None) -> torch.Tensor:
    """Three channels with each voxel's position on the whole model grid, -1 .. 1 per axis.

    The model grid is affine-aligned to the template, so position tells the network where it is
    in the brain (deep grey matter, cerebellum: uptake that no MR contrast shows). ``like`` is a
    [B, C, D, H, W] tensor of the whole (unpadded, untiled) volume; ``region`` (slices of it)
    gives the channels of that part only, without building the whole grid.
    """
    region = region or (slice(None),) * 3
    axes = [
        torch.linspace(-1.0, 1.0, n, dtype=like.dtype, device=like.device)[r]
        for n, r in zip(like.shape[2:], region, strict=True)
    ]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))
    return grid[None].expand(like.shape[0], -1, -1, -1, -1)


def model_input(
    x: torch.Tensor,
    presence: torch.Tensor,
    mask: torch.Tensor,
    position: torch.Tensor | None = None,
) -> torch.Tensor:
    """Network input channels: [x * p, p (broadcast over space, inside the mask), position
    (optional: :func:`position_channels` of the whole volume, cut like ``x``), mask]; the mask
    is always the last channel."""
    p = presence * mask
    extra = [] if position is None else [position]
    return torch.cat([x * p, p.expand_as(x), *extra, mask], dim=1)


class GaussPET(nn.Module):
    """Coefficient network + K unrolled Gauss-Seidel sweeps + the PET point-spread function.

    The Gauss-Seidel solve gives a PET estimate at MRI sharpness; the output is that estimate
    (inside the brain mask) convolved with a fixed isotropic Gaussian of ``psf_sigma`` voxels,
    the scanner's resolution (0: none). ``forward_tile`` takes a padded tile and returns the
    core's outputs; :mod:`tiling` cuts and pastes. Forward coefficients a start near 1/M,
    offset b near 0, inverse slopes c near 0 and offsets d near 1, so that the untrained model
    is a plain average of the normalised contrasts (training first sets b from the cohort).
    """

    def __init__(
        self,
        n_contrasts: int,
        *,
        channels: int = 24,
        depth: int = 5,
        stride: int = 4,
        fine_channels: int = 0,
        position: bool = False,
        template_shape: list[int] | None = None,
        template_offset: bool = False,
        context_features: int = 0,
        context_shape: list[int] | None = None,
        sweeps: int = 1,
        lam: float = 1.0,
        mu: float = 10.0,
        psf_sigma: float = 0.0,
    ):
        super().__init__()
        self.net = CoefficientNet(
            n_contrasts,
            channels=channels,
            depth=depth,
            stride=stride,
            fine_channels=fine_channels,
            position=position,
            template_shape=template_shape,
            template_offset=template_offset,
            context_features=context_features,
            context_shape=context_shape,
        )
        self.sweeps = int(sweeps)
        self.lam = float(lam)
        self.mu = float(mu)
        self.psf_sigma = float(psf_sigma)
        self.psf_radius = int(math.ceil(3.0 * self.psf_sigma)) if self.psf_sigma > 0 else 0
        # the solve runs on the core plus a margin (whole strides) that the PSF reads from
        self.margin = stride * int(math.ceil(self.psf_radius / stride))
        taps = torch.arange(-self.psf_radius, self.psf_radius + 1, dtype=torch.float32)
        kernel = torch.exp(-0.5 * (taps / max(self.psf_sigma, 1e-6)) ** 2)
        self.register_buffer("psf_kernel", kernel / kernel.sum(), persistent=False)
        with torch.no_grad():
            self.net.head.weight.mul_(0.01)
            self.net.head.bias.zero_()
            m = n_contrasts
            gain = self.net.OUTPUT_GAIN
            self.net.head.bias[:m] = 1.0 / m / gain  # a: average of the normalised contrasts
            self.net.head.bias[2 * m + 1 :] = 1.0 / gain  # d: contrasts sit near 1 (c = 0)

    def set_global_coefficients(self, a, b: float, c, d) -> None:
        """Start from spatially constant coefficients (e.g. the cohort's least-squares fit)."""
        m, gain = self.net.n_contrasts, self.net.OUTPUT_GAIN
        with torch.no_grad():
            bias = self.net.head.bias
            bias[:m] = torch.as_tensor(a, dtype=bias.dtype) / gain
            bias[m] = float(b) / gain
            bias[m + 1 : 2 * m + 1] = torch.as_tensor(c, dtype=bias.dtype) / gain
            bias[2 * m + 1 :] = torch.as_tensor(d, dtype=bias.dtype) / gain

    def set_mean_output(self, mean_pet: float) -> None:
        """Start the offset b so that the untrained model outputs ``mean_pet`` on tissue near 1."""
        with torch.no_grad():
            self.net.head.bias[self.net.n_contrasts] = (
                float(mean_pet) - 1.0
            ) / self.net.OUTPUT_GAIN

    @property
    def halo(self) -> int:
        """Fine voxels of padding a tile needs on each side (network context + PSF margin)."""
        return self.net.halo + self.margin

    @property
    def stride(self) -> int:
        return self.net.stride

    def coefficients(
        self, padded_input: torch.Tensor, context: torch.Tensor | None = None
    ) -> Coefficients:
        return self.split_coefficients(self.net(padded_input, context))

    def split_coefficients(self, raw: torch.Tensor) -> Coefficients:
        """[B, 3M + 1, ...] network output -> (a, b, c, d)."""
        m = self.net.n_contrasts
        return Coefficients(
            a=raw[:, :m], b=raw[:, m : m + 1], c=raw[:, m + 1 : 2 * m + 1], d=raw[:, 2 * m + 1 :]
        )

    def point_spread(self, y: torch.Tensor) -> torch.Tensor:
        """Separable Gaussian blur with valid padding (shrinks each side by the PSF radius)."""
        k = self.psf_kernel.to(y.dtype)
        n = k.numel()
        for dim in (2, 3, 4):  # weighted sum of shifted views: cheaper than conv3d on CPU
            length = y.shape[dim] - n + 1
            y = sum(k[i] * y.narrow(dim, i, length) for i in range(n))
        return y

    def forward_tile(
        self,
        padded_input: torch.Tensor,
        presence: torch.Tensor,
        sweeps: int | None = None,
        context: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Outputs for the core of one tile; ``padded_input`` (see :func:`model_input`) carries
        the halo, ``context`` the participant summary (models with a context, see
        :meth:`CoefficientNet.summarise`). Returns pet [B,1,...], x_hat [B,M,...], reliability
        [B,1,...], a, b, c, d."""
        m = self.net.n_contrasts
        h = self.net.halo
        inner = (Ellipsis, slice(h, -h), slice(h, -h), slice(h, -h))
        x = padded_input[:, :m][inner]  # contrasts times presence, on core + margin
        mask = padded_input[:, -1:][inner]
        return self.solve(x, mask, presence, self.coefficients(padded_input, context), sweeps)

    def solve(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        presence: torch.Tensor,
        coef: Coefficients,
        sweeps: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Gauss-Seidel solve, PSF and crop to the core, from contrasts, mask and coefficients
        on the core plus the PSF margin (:attr:`margin` voxels on each side)."""
        k = self.sweeps if sweeps is None else int(sweeps)
        y, x_hat = gauss_seidel(x, presence, coef, sweeps=k, lam=self.lam, mu=self.mu)
        g = self.margin
        core = (Ellipsis, slice(g, -g or None), slice(g, -g or None), slice(g, -g or None))
        if self.psf_radius:
            y = self.point_spread(y * mask)
            r = self.margin - self.psf_radius
            y = y[(Ellipsis, slice(r, -r or None), slice(r, -r or None), slice(r, -r or None))]
        else:
            y = y[core]
        x, x_hat = x[core], x_hat[core]
        return {
            "pet": y,
            "x_hat": x_hat,
            "reliability": inverse_consistency(x_hat, x, presence),
            "a": coef.a[core],
            "b": coef.b[core],
            "c": coef.c[core],
            "d": coef.d[core],
        }

    def hyperparameters(self) -> dict:
        return {**self.net.hyperparameters(), "psf_sigma": self.psf_sigma}
