"""A participant's hidden truth: anatomy warp, lesion, uptake physiology and scanner geometry.

Everything is drawn from the participant's own random stream, so a participant is the same in
the BIDS layout, the ground truth and the aligned layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gausspet_bids.phantom.cohort import (
    ParticipantPlan,
    SessionPlan,
    clinical_scores,
    participant_rng,
)
from gausspet_bids.phantom.geometry import ImageGrid, image_grid, rigid
from gausspet_bids.phantom.lesion import Lesion, draw_lesion
from gausspet_bids.phantom.random_fields import (
    Deformation,
    random_deformation,
    smooth_random_field,
)
from gausspet_bids.phantom.tissue_bank import Field, tissue_bank

# Voxel size (mm) and field of view (mm) per series; ``small`` for fast test cohorts.
SERIES_GEOMETRY = {
    "full": {
        "T1w": ((1.0, 1.0, 1.0), (200.0, 240.0, 232.0)),
        "T2w": ((1.0, 1.0, 2.0), (210.0, 240.0, 200.0)),
        "FLAIR": ((1.0, 1.0, 3.0), (210.0, 240.0, 180.0)),
        "dwi": ((2.0, 2.0, 2.0), (230.0, 230.0, 150.0)),
        "pet": ((2.0, 2.0, 2.0), (256.0, 256.0, 220.0)),
    },
    "small": {
        "T1w": ((2.0, 2.0, 2.0), (200.0, 240.0, 232.0)),
        "T2w": ((3.0, 3.0, 3.0), (210.0, 240.0, 204.0)),
        "FLAIR": ((3.0, 3.0, 4.0), (210.0, 240.0, 180.0)),
        "dwi": ((4.0, 4.0, 4.0), (232.0, 232.0, 152.0)),
        "pet": ((4.0, 4.0, 4.0), (256.0, 256.0, 220.0)),
    },
}
SERIES_ORDER = ("T1w", "T2w", "FLAIR", "dwi", "pet")


@dataclass(frozen=True)
class Uptake:
    """FDG physiology of one participant (relative to cortical grey matter = 1, then SUV)."""

    cortex_suv: float  # global scale: cortical GM SUV at 30-60 min p.i.
    wm: float  # GM:WM 2.0-2.5 -> 0.40-0.50
    deep: float  # striatum/thalamus relative to cortex, 1.05-1.25
    cerebellum: float  # 0.8-0.9
    csf: float  # 0.1-0.2
    regional: Field  # smooth +-5 % regional variation, subject mm
    fwhm_mm: float  # PET resolution, 5-6 mm


@dataclass(frozen=True)
class MRIScaling:
    """Per-participant contrast jitter (tissue values x (1 + jitter)) and scanner gains."""

    jitter: dict[str, dict[str, float]]
    gain: dict[str, float]
    snr: dict[str, float]


@dataclass(frozen=True)
class Acquisition:
    """One series of one session: head pose in the scanner and the image grid."""

    series: str
    pose: np.ndarray  # subject mm -> scanner world mm
    grid: ImageGrid


@dataclass(frozen=True)
class SessionTruth:
    plan: SessionPlan
    acquisitions: dict[str, Acquisition]  # includes "T1w" even when not acquired (virtual grid)


@dataclass(frozen=True)
class Subject:
    plan: ParticipantPlan
    deformation: Deformation
    lesion: Lesion | None
    uptake: Uptake
    mri: MRIScaling
    sessions: tuple[SessionTruth, ...]
    head_scale: float  # skull/scalp thickness factor


def _acquisitions(rng: np.random.Generator, size: str) -> dict[str, Acquisition]:
    geometry = SERIES_GEOMETRY[size]
    base_pose = rigid(rng, 6.0, 10.0)
    out = {}
    for series in SERIES_ORDER:
        if series == "T1w":
            pose = base_pose
        elif series == "pet":
            pose = rigid(rng, 12.0, 20.0)  # another scanner and bed
        else:
            pose = rigid(rng, 3.0, 4.0) @ base_pose  # motion between MRI series
        centre = pose[:3, :3] @ np.array([0.0, -18.0, 8.0]) + pose[:3, 3] + rng.normal(0, 3, 3)
        orientation = "LAS" if rng.random() < 0.4 else "RAS"
        voxel, fov = geometry[series]
        grid = image_grid(rng, voxel, fov, 12.0 if series != "pet" else 4.0, orientation, centre)
        out[series] = Acquisition(series=series, pose=pose, grid=grid)
    return out


def make_subject(plan: ParticipantPlan, seed: int, size: str = "full") -> Subject:
    """Draw a participant's hidden truth (deterministic for ``seed`` and ``plan.index``)."""
    rng = participant_rng(seed, plan.index, 1)
    deformation = random_deformation(rng, plan.age, plan.sex)
    lesion = draw_lesion(rng, tissue_bank(2)) if plan.group == "stroke" else None
    uptake = Uptake(
        cortex_suv=float(rng.uniform(6.0, 9.5)),
        wm=float(1.0 / rng.uniform(2.0, 2.5)),
        deep=float(rng.uniform(1.05, 1.25)),
        cerebellum=float(rng.uniform(0.8, 0.9)),
        csf=float(rng.uniform(0.1, 0.2)),
        regional=smooth_random_field(rng, 8.0, 25.0, 0.05)[0],
        fwhm_mm=float(rng.uniform(5.0, 6.0)),
    )
    contrasts = ("T1w", "T2w", "FLAIR", "dwi")
    mri = MRIScaling(
        jitter={c: {t: float(rng.normal(0, 0.04)) for t in ("gm", "wm", "csf")} for c in contrasts},
        gain={c: float(rng.uniform(600, 1400)) for c in contrasts},
        snr={c: float(rng.uniform(25, 45)) for c in contrasts},
    )
    sessions = tuple(
        SessionTruth(
            plan=s, acquisitions=_acquisitions(participant_rng(seed, plan.index, 10 + k), size)
        )
        for k, s in enumerate(plan.sessions)
    )
    return Subject(
        plan=plan,
        deformation=deformation,
        lesion=lesion,
        uptake=uptake,
        mri=mri,
        sessions=sessions,
        head_scale=float(rng.uniform(0.85, 1.2)),
    )


def lesion_ml(subject: Subject) -> float:
    """Core volume in the participant's own space (template volume x head-size Jacobian)."""
    if subject.lesion is None:
        return 0.0
    jac = abs(np.linalg.det(np.linalg.inv(subject.deformation.linear[:3, :3])))
    return subject.lesion.core_ml_template * jac


def subject_scores(subject: Subject, seed: int) -> tuple[int, int]:
    """NIHSS and mRS of a participant (same values in every layout)."""
    les = subject.lesion
    return clinical_scores(
        participant_rng(seed, subject.plan.index, 2),
        lesion_ml(subject),
        les.territory if les else None,
        les.hemisphere if les else None,
    )
