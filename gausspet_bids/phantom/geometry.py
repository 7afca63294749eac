"""Scanner geometry: head poses, image grids and orientations of each acquired series.

Subject millimetres (the participant's anatomical frame) are placed in each series' scanner world
by a rigid *pose* (head motion between series; larger for PET, a different scanner). Each series
has its own voxel grid in that world: voxel size, field of view, slice obliquity and axis
orientation (RAS or LAS). The matrix taking a series' world to the T1w world is
``pose_T1w @ inv(pose_series)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class ImageGrid:
    """Voxel grid of one image: ``shape`` and ``affine`` (voxel -> scanner world mm)."""

    shape: tuple[int, int, int]
    affine: np.ndarray

    def world_points(self) -> np.ndarray:
        """World coordinates of every voxel centre, shape (3, *shape), float32."""
        ijk = np.indices(self.shape, dtype=np.float32).reshape(3, -1)
        xyz = self.affine[:3, :3].astype(np.float32) @ ijk + self.affine[:3, 3:4].astype(np.float32)
        return xyz.reshape(3, *self.shape)

    @property
    def zooms(self) -> np.ndarray:
        return np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))

    def subdivided(self, factors: tuple[int, int, int]) -> ImageGrid:
        """The grid with each voxel split into ``kx x ky x kz`` smaller ones (partial volume).

        Along an axis split ``k`` times, fine voxel ``k * i + m`` lies at ``i + (m + 0.5) / k - 0.5``
        of the original grid, so ``block_mean`` of a fine image is the voxel average.
        """
        split = np.eye(4)
        for axis, k in enumerate(factors):
            split[axis, axis] = 1.0 / k
            split[axis, 3] = 0.5 / k - 0.5
        shape = tuple(n * k for n, k in zip(self.shape, factors, strict=True))
        return ImageGrid(shape=shape, affine=self.affine @ split)


def block_mean(fine: np.ndarray, factors: tuple[int, int, int]) -> np.ndarray:
    """Average ``kx x ky x kz`` blocks of an image on a :meth:`ImageGrid.subdivided` grid."""
    (kx, ky, kz), (nx, ny, nz) = factors, fine.shape
    blocks = fine.reshape(nx // kx, kx, ny // ky, ky, nz // kz, kz)
    return blocks.mean(axis=(1, 3, 5))


def rigid(rng: np.random.Generator, max_deg: float, max_mm: float) -> np.ndarray:
    """Random rigid 4x4: rotation up to ``max_deg`` per axis, translation up to ``max_mm``."""
    out = np.eye(4)
    angles = rng.uniform(-max_deg, max_deg, size=3)
    out[:3, :3] = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()
    out[:3, 3] = rng.uniform(-max_mm, max_mm, size=3)
    return out


def image_grid(
    rng: np.random.Generator,
    voxel_mm: tuple[float, float, float],
    fov_mm: tuple[float, float, float],
    max_oblique_deg: float,
    orientation: str = "RAS",
    centre_mm: tuple[float, float, float] = (0.0, -15.0, 10.0),
) -> ImageGrid:
    """A grid of ``voxel_mm`` covering ``fov_mm`` around ``centre_mm``, tilted and oriented."""
    voxel = np.asarray(voxel_mm, dtype=float)
    shape = tuple(int(np.ceil(f / v)) for f, v in zip(fov_mm, voxel, strict=True))
    flips = np.array([-1.0 if orientation[0] == "L" else 1.0, 1.0, 1.0])
    tilt = Rotation.from_euler(
        "xyz", [rng.uniform(-max_oblique_deg, max_oblique_deg), rng.uniform(-3, 3), 0.0],
        degrees=True,
    ).as_matrix()  # fmt: skip
    linear = tilt @ np.diag(voxel * flips)
    centre_vox = (np.asarray(shape, dtype=float) - 1.0) / 2.0
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = np.asarray(centre_mm) - linear @ centre_vox
    return ImageGrid(shape=shape, affine=affine)
