"""Load a paired MRI/PET cohort into memory, normalised as the model expects.

Layout (the published method's, plus an optional brain mask folder written by the phantom):
``ROOT/{train,test}/MRI/<contrast>/N.nii.gz``, ``ROOT/{train,test}/PET/N.nii.gz`` (SUVR) and
``ROOT/{train,test}/MASK/N.nii.gz``. Without MASK the brain mask is where any MRI is positive.
Images must already be aligned on one grid (the model grid). What lies outside the brain mask
is kept (normalised with the brain's scale): the model never sees it through the true mask, but
``--mask-dilation`` training grows the mask into it (:mod:`gausspet_bids.training.mask_dilation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from scipy.ndimage import distance_transform_edt

from gausspet_bids.model.normalisation import normalise_contrast
from gausspet_bids.model.tiling import whole_pooled_input

ALL_CONTRASTS = ("T1w", "T2w", "FLAIR", "DWI", "ADC")


@dataclass
class Subject:
    """One participant: normalised contrasts x [M, ...], presence [M], mask [1, ...], pet [1, ...].

    :attr:`pooled` is the whole volume's pooled network input (for the participant context),
    computed on first use and kept: training reads it at every step. :attr:`outside` is each
    voxel's distance from the mask in voxels (0 inside), also computed on first use.
    ``x`` keeps the contrasts outside the mask; the model zeroes them outside the mask it gets."""

    participant: str
    x: torch.Tensor
    presence: torch.Tensor
    mask: torch.Tensor
    pet: torch.Tensor
    _pooled: torch.Tensor | None = field(default=None, repr=False, compare=False)
    _outside: torch.Tensor | None = field(default=None, repr=False, compare=False)

    @property
    def pooled(self) -> torch.Tensor:
        if self._pooled is None:
            self._pooled = whole_pooled_input(self.x[None], self.mask[None])
        return self._pooled

    @property
    def outside(self) -> torch.Tensor:
        if self._outside is None:
            distance = distance_transform_edt(self.mask[0].numpy() == 0)
            self._outside = torch.from_numpy(distance.astype(np.float16))[None]
        return self._outside


def _stem(path: Path) -> str:
    return path.name.removesuffix(".gz").removesuffix(".nii")


def split_participants(root: Path, split: str) -> list[str]:
    """Participant names (file stems) with a PET image in ``root/split/PET``, sorted."""
    pet_dir = Path(root) / split / "PET"
    if not pet_dir.is_dir():
        return []
    names = [_stem(p) for p in pet_dir.iterdir() if p.name.endswith((".nii", ".nii.gz"))]
    return sorted(names, key=lambda n: (len(n), n))


def _find(folder: Path, name: str) -> Path | None:
    for ext in (".nii.gz", ".nii"):
        path = folder / f"{name}{ext}"
        if path.exists():
            return path
    return None


def available_contrasts(root: Path, split: str = "train") -> list[str]:
    """Contrast sub-folders of ``root/split/MRI`` in canonical order (then any others, sorted)."""
    mri = Path(root) / split / "MRI"
    if not mri.is_dir():
        raise FileNotFoundError(f"{mri}: no MRI folder (expected {mri}/<contrast>/N.nii.gz)")
    present = {p.name for p in mri.iterdir() if p.is_dir()}
    return [c for c in ALL_CONTRASTS if c in present] + sorted(present - set(ALL_CONTRASTS))


def load_subject(root: Path, split: str, participant: str, contrasts: list[str]) -> Subject:
    """Read and normalise one participant; a missing contrast file gives presence 0."""
    base = Path(root) / split
    pet_path = _find(base / "PET", participant)
    if pet_path is None:
        raise FileNotFoundError(f"{base / 'PET'}: no image for participant {participant}")
    pet = np.asarray(nib.load(pet_path).dataobj, dtype=np.float32)
    raw: dict[str, np.ndarray] = {}
    for contrast in contrasts:
        path = _find(base / "MRI" / contrast, participant)
        if path is not None:
            raw[contrast] = np.asarray(nib.load(path).dataobj, dtype=np.float32)
            if raw[contrast].shape != pet.shape:
                raise ValueError(
                    f"{path}: shape {raw[contrast].shape} differs from PET {pet.shape}"
                )
    if not raw:
        raise FileNotFoundError(
            f"{base / 'MRI'}: participant {participant} has none of {contrasts}"
        )
    mask_path = _find(base / "MASK", participant)
    if mask_path is not None:
        mask = np.asarray(nib.load(mask_path).dataobj) > 0
    else:
        mask = np.any([v > 0 for v in raw.values()], axis=0)
    x = np.zeros((len(contrasts), *pet.shape), dtype=np.float32)
    for i, contrast in enumerate(contrasts):
        if contrast in raw:
            x[i] = normalise_contrast(
                raw[contrast], mask, f"{base}/MRI/{contrast}/{participant}", keep_outside=True
            )
    return Subject(
        participant=participant,
        x=torch.from_numpy(x),
        presence=torch.tensor([c in raw for c in contrasts], dtype=torch.float32),
        mask=torch.from_numpy(mask.astype(np.float32))[None],
        pet=torch.from_numpy(np.where(mask, pet, 0.0).astype(np.float32))[None],
    )


def cohort_grid(root: Path, split: str = "train") -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of the cohort's grid (from its first PET image)."""
    first = split_participants(root, split)[0]
    img = nib.load(_find(Path(root) / split / "PET", first))
    return tuple(int(s) for s in img.shape[:3]), img.affine
