"""Cheap sanity checks of input images before any processing.

Datasets met in the wild contain placeholders: 1-byte files (a datalad clone without content),
HTML pages saved under a ``.nii`` name, headers with zero-sized dimensions, all-zero data. Each
check here reads the header and at most one slice, so that a whole dataset is screened in
seconds and every unusable file is reported by name instead of crashing a workflow later.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np


@dataclass
class ImageInfo:
    """What the header says about one image, and why it cannot be used (``problem``)."""

    path: str
    shape: list[int] = field(default_factory=list)
    voxel_size_mm: list[float] = field(default_factory=list)
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def n_frames(self) -> int:
        """Number of volumes (1 for a 3D image or a 4D image with one volume)."""
        return int(self.shape[3]) if len(self.shape) > 3 else 1


def _first_bytes(path: Path, n: int = 512) -> bytes:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(n)
    except (OSError, EOFError):
        with open(path, "rb") as fh:
            return fh.read(n)


def _describe_unreadable(path: Path) -> str:
    size = path.stat().st_size
    if size < 348:  # a NIfTI-1 header alone is 348 bytes
        return f"not a NIfTI image: the file is only {size} byte{'s' if size != 1 else ''}"
    head = _first_bytes(path).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:200]:
        return "not a NIfTI image: the file is an HTML page saved with a .nii name"
    if path.name.endswith(".gz") and _first_bytes_raw(path)[:2] != b"\x1f\x8b":
        return "not a NIfTI image: the name ends in .gz but the file is not gzip-compressed"
    return "not a NIfTI image: the header cannot be read"


def _first_bytes_raw(path: Path, n: int = 2) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def check_image(
    path: Path | str, *, ndim: tuple[int, ...] = (3,), check_data: bool = True
) -> ImageInfo:
    """Read the header of ``path`` (and its central slice) and say whether it is usable.

    ``ndim`` lists the accepted numbers of dimensions; a 4D image with a single volume counts
    as 3D. With ``check_data``, the central slice of the last volume is read: an image whose
    central slice is all zero (or not finite) is declared empty. This catches placeholder
    images with valid headers at the cost of one slice, not the whole volume.
    """
    path = Path(path)
    info = ImageInfo(path=str(path))
    if not path.exists():
        info.problem = (
            "the file does not exist (a broken link, or an annexed file without content?)"
        )
        return info
    try:
        img = nib.load(str(path))
    except Exception:  # nibabel raises several types for garbage input
        info.problem = _describe_unreadable(path)
        return info
    shape = [int(s) for s in img.shape]
    info.shape = shape
    info.voxel_size_mm = [round(float(z), 4) for z in img.header.get_zooms()[:3]]
    if len(shape) < 3 or any(s <= 0 for s in shape):
        info.problem = f"the header gives an unusable image shape {tuple(shape)}"
        return info
    effective_ndim = 3 if len(shape) == 4 and shape[3] == 1 else len(shape)
    if effective_ndim not in ndim:
        wanted = " or ".join(f"{n}D" for n in ndim)
        info.problem = (
            f"expected a {wanted} image, the header says {effective_ndim}D {tuple(shape)}"
        )
        return info
    if any(not np.isfinite(z) or z <= 0 for z in info.voxel_size_mm):
        info.problem = f"the header gives invalid voxel sizes {tuple(info.voxel_size_mm)}"
        return info
    if check_data:
        index = (slice(None), slice(None), shape[2] // 2) + (
            (shape[3] - 1,) if len(shape) > 3 else ()
        )
        try:
            central = np.asanyarray(img.dataobj[index])
        except Exception as exc:  # truncated data, wrong vox_offset, ...
            info.problem = f"the image data cannot be read ({type(exc).__name__}: {exc})"
            return info
        finite = np.isfinite(central)
        if not finite.any() or not np.any(central[finite]):
            info.problem = "the image data are empty: the central slice is all zero"
    return info
