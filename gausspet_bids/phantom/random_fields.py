"""Smooth random fields and per-participant deformations of the template anatomy.

A participant's anatomy is the template seen through ``template_point(s)``: subject millimetres
``s`` map to template millimetres by a linear part (head size and shape), a smooth random
displacement (individual anatomy) and an age-dependent inflation around the ventricles (atrophy).
The linear part is what an affine registration to the template recovers; the aligned training
layout keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from gausspet_bids.phantom.tissue_bank import Field

EXTENT_MM = 140.0  # half-width of the box the random fields cover (any head fits)
VENTRICLE_CENTRE_MM = np.array([0.0, -8.0, 14.0])  # template mm, between the lateral ventricles


def smooth_random_field(
    rng: np.random.Generator,
    spacing_mm: float,
    smooth_mm: float,
    amplitude: float,
    n: int = 1,
    extent_mm: float = EXTENT_MM,
) -> list[Field]:
    """``n`` zero-mean Gaussian random fields with RMS ``amplitude`` and length scale ``smooth_mm``.

    Drawn on a coarse grid of ``spacing_mm`` covering +-``extent_mm``, sampled linearly.
    """
    size = int(np.ceil(2 * extent_mm / spacing_mm)) + 1
    affine = np.diag([spacing_mm] * 3 + [1.0])
    affine[:3, 3] = -extent_mm
    fields = []
    for _ in range(n):
        noise = rng.standard_normal((size, size, size))
        smooth = ndimage.gaussian_filter(noise, smooth_mm / spacing_mm, mode="wrap")
        smooth *= amplitude / max(float(smooth.std()), 1e-12)
        fields.append(Field(smooth.astype(np.float32), affine))
    return fields


@dataclass(frozen=True)
class Deformation:
    """Subject mm -> template mm: ``linear @ s + shift + displacement(s) + atrophy(s)``."""

    linear: np.ndarray  # 4x4 affine (subject -> template), what affine registration finds
    displacement: tuple[Field, Field, Field]  # mm, in subject coordinates
    atrophy: float  # 0 (none) .. ~0.3: ventricular inflation and cortical thinning strength

    def nonlinear_template_point(self, t_affine: np.ndarray) -> np.ndarray:
        """Template point for a point ``t_affine`` = linear(s) (the affine-registered view)."""
        s = apply_affine(np.linalg.inv(self.linear), t_affine)
        out = t_affine.copy()
        for axis in range(3):
            out[axis] += self.displacement[axis].sample(s)
        return self._inflate(out)

    def template_point(self, s: np.ndarray) -> np.ndarray:
        """Template millimetres for subject millimetres ``s`` (shape (3, ...))."""
        t = apply_affine(self.linear, s)
        for axis in range(3):
            t += self.displacement[axis].sample(s)
        return self._inflate(t)

    def _inflate(self, t: np.ndarray) -> np.ndarray:
        """Pull sampling points towards the ventricles: ventricles look larger (atrophy)."""
        if self.atrophy <= 0:
            return t
        rel = t - VENTRICLE_CENTRE_MM.reshape((3,) + (1,) * (t.ndim - 1))
        r2 = (rel[0] / 28.0) ** 2 + (rel[1] / 40.0) ** 2 + (rel[2] / 22.0) ** 2
        weight = self.atrophy * np.exp(-r2).astype(np.float32)
        return t - rel * weight


def apply_affine(affine: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 4x4 affine to points of shape (3, ...); float32 result."""
    shape = pts.shape
    flat = pts.reshape(3, -1)
    out = affine[:3, :3] @ flat + affine[:3, 3:4]
    return out.reshape(shape).astype(np.float32)


def random_deformation(rng: np.random.Generator, age: float, sex: str = "F") -> Deformation:
    """Head size/shape, ~3 mm RMS smooth warp, atrophy from age.

    The ICBM template brain is larger than most (its brain mask is ~1.9 l): linear size
    U(0.85, 0.97) of it, x1.03 for men, +-4 % per axis, gives brain-mask volumes of about
    1.1-1.8 l, and small shears.
    """
    scale = rng.uniform(0.85, 0.97) * (1.03 if sex == "M" else 1.0)
    scale = scale * rng.uniform(0.96, 1.04, size=3)
    shear = rng.normal(0.0, 0.02, size=(3, 3))
    np.fill_diagonal(shear, 0.0)
    linear = np.eye(4)
    # subject -> template: a bigger head (scale > 1) maps onto the template by shrinking.
    linear[:3, :3] = np.diag(1.0 / scale) + shear
    linear[:3, 3] = rng.normal(0.0, 2.0, size=3)
    displacement = tuple(smooth_random_field(rng, 8.0, 20.0, 3.0, n=3))
    atrophy = float(np.clip((age - 45.0) * 0.006, 0.0, 0.3) * rng.uniform(0.7, 1.3))
    return Deformation(linear=linear, displacement=displacement, atrophy=atrophy)
