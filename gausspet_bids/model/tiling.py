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

from gausspet_bids.model.network import GaussPET, model_input

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


def padded_box(core: tuple[slice, slice, slice], halo: int) -> tuple[slice, ...]:
    """The same box in the padded volume, grown by the halo on every side."""
    return tuple(slice(s.start, s.stop + 2 * halo) for s in core)


def pad_input(
    model: GaussPET, x: torch.Tensor, presence: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Network input for the whole volume, zero-padded by the halo (done once, before tiling)."""
    h = model.halo
    return F.pad(model_input(x, presence, mask, model.net.position), (h, h, h, h, h, h))


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
    outputs: dict[str, torch.Tensor] = {}
    for core in tile_boxes(tuple(x.shape[2:]), n_tiles, model.stride):
        box = (Ellipsis, *padded_box(core, model.halo))
        tile = model.forward_tile(padded[box], presence, sweeps=sweeps)
        if n_tiles == 1:
            return tile
        for key, value in tile.items():
            if key not in outputs:
                outputs[key] = value.new_zeros((*value.shape[:2], *x.shape[2:]))
            outputs[key][(Ellipsis, *core)] = value
    return outputs
