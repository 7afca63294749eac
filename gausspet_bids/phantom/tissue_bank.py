"""Template tissue maps the phantom samples every participant's anatomy from.

The bank holds, in template space (ICBM 2009a, nilearn), grey/white/CSF fractions, the distance
outside the brain (from which skull, scalp and other head layers are drawn, since the template is
skull-stripped) and the arterial territory atlas. It is built once per resolution and process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import nibabel as nib
import numpy as np
from scipy import ndimage

from gausspet_bids.preprocessing.model_grid import (
    template_brain_mask,
    template_gm,
    template_wm,
)

PAD_MM = 28.0  # room around the template brain for the modelled head tissue

# Atlas labels (see data/atlas/atlas-Arterial_dseg.tsv): odd = left, even = right.
DEEP_GM_LABELS = (3, 4, 5, 6, 21, 22, 23, 24)  # medial/lateral lenticulostriate, thalamoperforators
CEREBELLUM_LABELS = (27, 28, 29, 30)  # superior and inferior cerebellar arteries
BRAINSTEM_LABELS = (25, 26)  # basilar
VENTRICLE_LABELS = (31, 32)


@dataclass(frozen=True)
class Field:
    """A 3D array with the affine mapping its voxels to template millimetres."""

    data: np.ndarray
    affine: np.ndarray

    def sample(
        self, points_mm: np.ndarray, order: int = 1, cval: float = 0.0, sparse: bool = False
    ) -> np.ndarray:
        """Values at ``points_mm`` (shape (3, ...)), linear (order 1) or nearest (order 0).

        ``sparse``: the field is ``cval`` outside its nonzero bounding box (e.g. a lesion);
        only points inside the box are interpolated, which is much faster.
        """
        inv = np.linalg.inv(self.affine)
        shape = points_mm.shape[1:]
        pts = points_mm.reshape(3, -1)
        idx = (inv[:3, :3] @ pts + inv[:3, 3:4]).astype(np.float32)
        if sparse:
            lo, hi = self._box
            inside = np.all((idx >= lo[:, None] - 1) & (idx <= hi[:, None] + 1), axis=0)
            out = np.full(idx.shape[1], cval, dtype=np.float32)
            if inside.any():
                out[inside] = ndimage.map_coordinates(
                    self.data, idx[:, inside], order=order, mode="constant", cval=cval,
                    prefilter=False, output=np.float32,
                )  # fmt: skip
            return out.reshape(shape)
        out = ndimage.map_coordinates(
            self.data, idx, order=order, mode="constant", cval=cval, prefilter=False,
            output=self.data.dtype if order == 0 else np.float32,
        )  # fmt: skip
        return out.reshape(shape)

    @functools.cached_property
    def _box(self) -> tuple[np.ndarray, np.ndarray]:
        nonzero = np.argwhere(self.data != 0)
        if len(nonzero) == 0:
            return np.full(3, 1e9, dtype=np.float32), np.full(3, -1e9, dtype=np.float32)
        return nonzero.min(axis=0).astype(np.float32), nonzero.max(axis=0).astype(np.float32)


@dataclass(frozen=True)
class TissueBank:
    """Template-space maps at one resolution: fractions, head distance, territories."""

    gm: Field
    wm: Field
    csf: Field
    outside_mm: Field  # distance (mm) from the brain surface outwards, 0 inside the brain
    neck: Field  # 1 in the soft-tissue neck column below the brain (no brain there)
    territory: Field  # arterial atlas labels 0..32 (nearest-neighbour sampling)
    resolution_mm: float


def atlas_image(resolution_mm: int = 1) -> nib.Nifti1Image:
    """The packaged arterial territory atlas (MNI152NLin6Asym grid, treated as template mm)."""
    name = f"tpl-MNI152NLin6Asym_res-0{resolution_mm}_atlas-Arterial_dseg.nii.gz"
    path = resources.files("gausspet_bids.data") / "atlas" / name
    return nib.load(str(path))


def _block_mean(arr: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return arr
    shape = [s // factor * factor for s in arr.shape]
    arr = arr[: shape[0], : shape[1], : shape[2]]
    return arr.reshape(shape[0] // factor, factor, shape[1] // factor, factor, -1, factor).mean(
        axis=(1, 3, 5)
    )


def _neck_column(shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """Elliptic soft-tissue column below the skull base (the template stops at z = -72 mm)."""
    ijk = np.indices(shape, dtype=np.float32).reshape(3, -1)
    xyz = (affine[:3, :3] @ ijk + affine[:3, 3:4]).reshape(3, *shape)
    ellipse = (xyz[0] / 42.0) ** 2 + ((xyz[1] + 22.0) / 45.0) ** 2 <= 1.0
    return ellipse & (xyz[2] < -48.0)


@functools.lru_cache(maxsize=2)
def tissue_bank(resolution_mm: int = 1) -> TissueBank:
    """Build (once per process) the template bank at 1 or 2 mm."""
    if resolution_mm not in (1, 2):
        raise ValueError(f"tissue bank resolution must be 1 or 2 mm, got {resolution_mm}")
    f = resolution_mm
    gm_img = template_gm()
    gm = _block_mean(np.asarray(gm_img.dataobj, dtype=np.float32) / 255.0, f)
    wm = _block_mean(np.asarray(template_wm().dataobj, dtype=np.float32) / 255.0, f)
    mask = _block_mean(np.asarray(template_brain_mask().dataobj, dtype=np.float32), f)
    affine = gm_img.affine.copy()
    affine[:3, :3] *= f
    affine[:3, 3] += (f - 1) / 2.0  # block centres
    pad = int(round(PAD_MM / f))
    widths = ((pad, pad), (pad, pad), (pad, pad))
    mask_p = np.pad(mask, widths)
    gm = np.pad(gm, widths)
    wm = np.pad(wm, widths)
    affine[:3, 3] -= affine[:3, :3] @ np.full(3, pad)
    total = np.clip(gm + wm, 0, 1)
    scale = np.where(total > mask_p, mask_p / np.maximum(total, 1e-6), 1.0)
    gm, wm = gm * scale, wm * scale
    csf = np.clip(mask_p - gm - wm, 0, 1)
    neck = _neck_column(gm.shape, affine)
    core = (mask_p > 0.5) | neck
    outside = ndimage.distance_transform_edt(~core, sampling=f).astype(np.float32)
    neck = (neck & (mask_p <= 0.5)).astype(np.float32)
    atlas = atlas_image(1)
    inv = np.linalg.inv(atlas.affine) @ affine
    grid = np.indices(gm.shape, dtype=np.float32).reshape(3, -1)
    idx = inv[:3, :3] @ grid + inv[:3, 3:4]
    labels = ndimage.map_coordinates(
        np.asarray(atlas.dataobj, dtype=np.uint8), idx, order=0, mode="constant", cval=0
    ).reshape(gm.shape)
    return TissueBank(
        gm=Field(gm.astype(np.float32), affine),
        wm=Field(wm.astype(np.float32), affine),
        csf=Field(csf.astype(np.float32), affine),
        outside_mm=Field(outside, affine),
        neck=Field(neck, affine),
        territory=Field(labels.astype(np.uint8), affine),
        resolution_mm=float(f),
    )
