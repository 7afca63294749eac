"""Cut a volume into 1, 8 or 64 tiles (1, 2 or 4 per axis) with a halo, run, paste the cores.

The whole volume is padded once by the network's halo; each tile is the core box (offsets on
multiples of the network stride) plus the halo, so the tiled result equals the whole-volume
result (see :mod:`gausspet_bids.model.network`). No blending is needed: cores do not overlap,
the overlap lives in the halos.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gausspet_bids.model.global_context import pooled_input
from gausspet_bids.model.network import GaussPET, model_input, position_channels

ALLOWED_TILES = (1, 8, 64)


def tiles_per_axis(n_tiles: int) -> int:
    """1 -> 1, 8 -> 2, 64 -> 4 (a cube number of tiles)."""
    per_axis = round(n_tiles ** (1.0 / 3.0))
    if per_axis**3 != n_tiles or per_axis < 1:
        raise ValueError(f"number of tiles must be a cube such as {ALLOWED_TILES}, got {n_tiles}")
    return per_axis


def axis_bounds(length: int, parts: int, stride: int) -> list[tuple[int, int]]:
    """Split ``range(length)`` into ``parts`` contiguous cores whose bounds are multiples of stride."""
    if length % stride:
        raise ValueError(f"volume size {length} is not a multiple of the network stride {stride}")
    blocks = length // stride
    if parts > blocks:
        raise ValueError(f"cannot cut {length} voxels into {parts} tiles of whole strides")
    edges = [stride * math.floor(i * blocks / parts) for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def tile_boxes(
    shape: tuple[int, int, int], n_tiles: int, stride: int
) -> list[tuple[slice, slice, slice]]:
    """Core boxes (slices into the unpadded volume) of the tiling."""
    per_axis = tiles_per_axis(n_tiles)
    bounds = [axis_bounds(n, per_axis, stride) for n in shape]
    return [
        (slice(*bx), slice(*by), slice(*bz))
        for bx in bounds[0]
        for by in bounds[1]
        for bz in bounds[2]
    ]


def mask_box(mask: torch.Tensor, stride: int) -> tuple[slice, slice, slice]:
    """Bounding box of a [D, H, W] mask grown outward to whole strides (a valid single tile)."""
    box = []
    for dim in range(3):
        others = tuple(d for d in range(3) if d != dim)
        idx = torch.nonzero(mask.amax(dim=others) > 0).flatten()
        start = (int(idx[0]) // stride) * stride
        stop = min(-(-(int(idx[-1]) + 1) // stride) * stride, mask.shape[dim])
        box.append(slice(start, stop))
    return tuple(box)


def random_box(
    mask: torch.Tensor, size: int, stride: int, gen: torch.Generator
) -> tuple[slice, slice, slice]:
    """A random cube of ``size`` voxels (clipped to the volume) whose offsets are multiples of
    ``stride`` and whose centre lies in the mask's bounding box: a valid training tile.

    Because tiles are exact (the halo carries all context), training on such crops optimises
    the same function that whole-volume inference computes, at a fraction of the cost per step.
    """
    if size % stride:
        raise ValueError(f"crop size {size} is not a multiple of the network stride {stride}")
    box = []
    for dim, bounds in enumerate(mask_box(mask, stride)):
        length = mask.shape[dim]
        extent = min(size, length - length % stride)
        low = max(0, min(bounds.start - extent // 2, length - extent))
        high = max(low, min(bounds.stop - extent // 2, length - extent))
        start = low + int(torch.randint(high - low + 1, (1,), generator=gen))
        start -= start % stride
        box.append(slice(start, start + extent))
    return tuple(box)


def padded_box(core: tuple[slice, slice, slice], halo: int) -> tuple[slice, ...]:
    """The same box in the padded volume, grown by the halo on every side."""
    return tuple(slice(s.start, s.stop + 2 * halo) for s in core)


def pad_input(
    model: GaussPET, x: torch.Tensor, presence: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Network input for the whole volume, zero-padded by the halo (done once, before tiling)."""
    h = model.halo
    position = position_channels(mask) if model.net.position else None
    return F.pad(model_input(x, presence, mask, position), (h, h, h, h, h, h))


def tile_input(
    model: GaussPET,
    x: torch.Tensor,
    presence: torch.Tensor,
    mask: torch.Tensor,
    core: tuple[slice, slice, slice],
) -> torch.Tensor:
    """The padded input of one tile, built from the tile's own region: the same values as
    ``pad_input(...)[padded_box(core, halo)]`` without padding the whole volume (training)."""
    return region_input(model, x, presence, mask, core, model.halo)


def region_input(
    model: GaussPET,
    x: torch.Tensor,
    presence: torch.Tensor,
    mask: torch.Tensor,
    core: tuple[slice, slice, slice],
    h: int,
) -> torch.Tensor:
    """Network input channels on ``core`` grown by ``h`` voxels per side, zero outside the
    volume (position channels are those of the whole volume)."""
    shape = x.shape[2:]
    lows = [s.start - h for s in core]
    highs = [s.stop + h for s in core]
    region = tuple(
        slice(max(0, lo), min(n, hi)) for lo, hi, n in zip(lows, highs, shape, strict=True)
    )
    position = position_channels(mask, region) if model.net.position else None
    inp = model_input(x[(Ellipsis, *region)], presence, mask[(Ellipsis, *region)], position)
    pad = []
    for lo, hi, n in reversed(list(zip(lows, highs, shape, strict=True))):
        pad += [max(0, -lo), max(0, hi - n)]
    return F.pad(inp, pad)


def whole_pooled_input(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The whole volume's pooled network input with every contrast present (what the
    participant context summarises; the presence is applied in :meth:`GlobalContext.summarise`)."""
    ones = x.new_ones((*x.shape[:2], 1, 1, 1))
    return pooled_input(model_input(x, ones, mask, position_channels(mask)))


def participant_context(
    model: GaussPET,
    x: torch.Tensor,
    presence: torch.Tensor,
    mask: torch.Tensor,
    pooled: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """The participant summary z of the whole volume (None for a model without a context);
    ``pooled`` (:func:`whole_pooled_input`) may be given when it is cached."""
    if model.net.context is None:
        return None
    return model.net.summarise(whole_pooled_input(x, mask) if pooled is None else pooled, presence)


def run_tiled(
    model: GaussPET,
    x: torch.Tensor,
    presence: torch.Tensor,
    mask: torch.Tensor,
    *,
    n_tiles: int = 1,
    sweeps: int | None = None,
) -> dict[str, torch.Tensor]:
    """Run the model on ``n_tiles`` tiles and assemble full-size outputs.

    ``x`` [B, M, D, H, W] normalised contrasts, ``presence`` [B, M, 1, 1, 1], ``mask`` [B, 1, D,
    H, W]. Returns the dictionary of :meth:`GaussPET.forward_tile` on the whole grid.
    """
    padded = pad_input(model, x, presence, mask)
    context = participant_context(model, x, presence, mask)  # whole volume, before tiling
    outputs: dict[str, torch.Tensor] = {}
    for core in tile_boxes(tuple(x.shape[2:]), n_tiles, model.stride):
        box = (Ellipsis, *padded_box(core, model.halo))
        tile = model.forward_tile(padded[box], presence, sweeps=sweeps, context=context)
        if n_tiles == 1:
            return tile
        for key, value in tile.items():
            if key not in outputs:
                outputs[key] = value.new_zeros((*value.shape[:2], *x.shape[2:]))
            outputs[key][(Ellipsis, *core)] = value
    return outputs
