"""Tissue fractions of a participant sampled on any image grid.

Brain tissue (GM/WM/CSF) comes from the template bank through the participant's deformation;
the head around it (extra-axial CSF, meninges, skull tables, diploic marrow, muscle, fat, skin)
is drawn as layers at given distances from the brain surface, scaled per participant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gausspet_bids.phantom.geometry import ImageGrid
from gausspet_bids.phantom.random_fields import apply_affine
from gausspet_bids.phantom.subject import Acquisition, Subject
from gausspet_bids.phantom.tissue_bank import (
    CEREBELLUM_LABELS,
    DEEP_GM_LABELS,
    TissueBank,
)

# Outer edge (mm from the brain surface) of each head layer, inside out.
HEAD_LAYERS = (
    ("csf", 2.0),  # subarachnoid CSF
    ("meninges", 2.8),  # dura
    ("bone", 4.2),  # inner table
    ("marrow", 6.6),  # diploe
    ("bone", 8.0),  # outer table
    ("muscle", 10.0),  # galea / temporalis
    ("fat", 13.5),  # subcutaneous fat
    ("skin", 15.5),
)
ALIGNED_MARGIN_MM = 24.0  # aligned images: brain + skull/scalp that PET blur spills in
HEAD_MARGIN_MM = 34.0  # scanner images: the whole head (<= 19 mm) + warp displacement
TISSUES = ("gm", "wm", "csf", "meninges", "bone", "marrow", "muscle", "fat", "skin")


@dataclass
class Tissues:
    """Fractions (sum <= 1; the rest is air) and labels on one grid."""

    fractions: dict[str, np.ndarray]
    deep: np.ndarray  # deep grey matter indicator (striatum/thalamus territories)
    cerebellum: np.ndarray  # cerebellar indicator
    contra_cerebellum: np.ndarray  # cerebellum contralateral to the lesion (diaschisis)
    territory: np.ndarray  # atlas labels 0..32, zero outside the brain
    core: np.ndarray  # lesion core fraction
    cavity: np.ndarray  # fluid-filled part of the core (used at the chronic stage)
    penumbra: np.ndarray  # penumbra fraction
    regional: np.ndarray  # smooth relative uptake variation
    brain: np.ndarray  # brain fraction (GM + WM + CSF inside the brain mask)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(x))


def tissues_at(subject: Subject, t: np.ndarray, s: np.ndarray, bank: TissueBank) -> Tissues:
    """Tissues at template points ``t`` (deformed anatomy) with subject points ``s``."""
    gm = bank.gm.sample(t)
    wm = bank.wm.sample(t)
    csf = bank.csf.sample(t)
    outside = bank.outside_mm.sample(t, cval=200.0)
    neck = bank.neck.sample(t, sparse=True)
    labels = bank.territory.sample(t, order=0)
    atrophy = subject.deformation.atrophy
    if atrophy > 0:  # sulcal widening: grey matter next to CSF turns into CSF
        loss = gm * atrophy * np.clip(2.5 * csf, 0.0, 1.0)
        gm = gm - loss
        csf = csf + loss
    brain = np.clip(gm + wm + csf, 0.0, 1.0)
    rest = 1.0 - brain
    fractions = {"gm": gm, "wm": wm, "csf": csf.copy()}
    for name in TISSUES[3:]:
        fractions[name] = np.zeros_like(gm)
    width = max(0.35, 0.5 * bank.resolution_mm)
    lower = np.ones_like(gm)  # fraction not yet assigned to an inner layer
    for name, edge in HEAD_LAYERS:
        below = 1.0 - _sigmoid((outside - edge * subject.head_scale) / width)
        layer = np.clip(below - (1.0 - lower), 0.0, 1.0)
        lower = lower - layer
        if name == "csf":  # the neck column is soft tissue, not CSF
            fractions["muscle"] += layer * rest * neck
            layer = layer * (1.0 - neck)
        fractions[name] += layer * rest
    if subject.lesion is not None:
        core = subject.lesion.core.sample(t, sparse=True)
        cavity = subject.lesion.cavity.sample(t, sparse=True)
        penumbra = subject.lesion.penumbra.sample(t, sparse=True)
        contra = np.isin(labels, subject.lesion.contralateral_cerebellum_labels)
    else:
        core = np.zeros_like(gm)
        cavity = np.zeros_like(gm)
        penumbra = np.zeros_like(gm)
        contra = np.zeros(gm.shape, dtype=bool)
    in_brain = brain > 0.05
    tissues = Tissues(
        fractions=fractions,
        deep=np.isin(labels, DEEP_GM_LABELS) & in_brain,
        cerebellum=np.isin(labels, CEREBELLUM_LABELS) & in_brain,
        contra_cerebellum=contra & in_brain,
        territory=np.where(in_brain, labels, 0).astype(np.uint8),
        core=core * in_brain,
        cavity=cavity * in_brain,
        penumbra=penumbra * in_brain,
        regional=1.0 + subject.uptake.regional.sample(s),
        brain=brain,
    )
    return tissues


def _scatter(inner: Tissues, near: np.ndarray) -> Tissues:
    """Tissues of the points ``near`` placed into a full grid (air elsewhere)."""

    def full(values: np.ndarray, fill: float = 0) -> np.ndarray:
        out = np.full(near.shape, fill, dtype=values.dtype)
        out[near] = values
        return out

    return Tissues(
        fractions={k: full(v) for k, v in inner.fractions.items()},
        deep=full(inner.deep),
        cerebellum=full(inner.cerebellum),
        contra_cerebellum=full(inner.contra_cerebellum),
        territory=full(inner.territory),
        core=full(inner.core),
        cavity=full(inner.cavity),
        penumbra=full(inner.penumbra),
        regional=full(inner.regional, 1.0),
        brain=full(inner.brain),
    )


def tissues_in_scanner(subject: Subject, acquisition: Acquisition, bank: TissueBank) -> Tissues:
    """Tissues on an acquisition's grid in its scanner world (head pose applied).

    Points farther than ``HEAD_MARGIN_MM`` from the brain (before the nonlinear warp) are air
    and are not rendered.
    """
    s = apply_affine(np.linalg.inv(acquisition.pose), acquisition.grid.world_points())
    rough = apply_affine(subject.deformation.linear, s)
    near = bank.outside_mm.sample(rough, cval=200.0) <= HEAD_MARGIN_MM
    del rough
    s_near = s[:, near]
    t = subject.deformation.template_point(s_near)
    return _scatter(tissues_at(subject, t, s_near, bank), near)


def tissues_aligned(subject: Subject, grid: ImageGrid, bank: TissueBank) -> Tissues:
    """Tissues on a template-space grid as an affine registration to the template sees them.

    Only points within ``ALIGNED_MARGIN_MM`` of the template brain are rendered (the aligned
    images are brain-masked; the margin keeps the skull and scalp that PET blur spills in).
    """
    t_affine = grid.world_points()
    near = bank.outside_mm.sample(t_affine, cval=200.0) <= ALIGNED_MARGIN_MM
    pts = t_affine[:, near]
    s = apply_affine(np.linalg.inv(subject.deformation.linear), pts)
    t = subject.deformation.nonlinear_template_point(pts)
    return _scatter(tissues_at(subject, t, s, bank), near)
