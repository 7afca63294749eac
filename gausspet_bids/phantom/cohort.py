"""Who is in the cohort: groups, sessions, acquired series, stages, demographics, scores.

Roles are spread evenly over participant indices (not drawn) so that even a 4-participant cohort
has a stroke participant with every series, a control, one without T1w (acute protocol) and one
with two sessions. Everything random comes from ``participant_rng(seed, index)``, so a
participant does not change when the cohort grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gausspet_bids.phantom.lesion import STAGES


@dataclass(frozen=True)
class CohortOptions:
    """Fractions of the cohort with each property (spread evenly over participant indices)."""

    control_fraction: float = 0.25
    two_session_fraction: float = 0.25
    no_t1w_fraction: float = 0.2
    no_t2w_fraction: float = 0.15
    no_pet_fraction: float = 0.1
    static_pet_fraction: float = 0.3  # 3D (single-frame) PET instead of 4D frames


@dataclass(frozen=True)
class SessionPlan:
    """One imaging session: its label (None without sessions), stage and series present."""

    label: str | None
    stage: str | None  # acute | subacute | chronic; None for controls
    series: tuple[str, ...]  # subset of T1w, T2w, FLAIR, dwi, pet
    pet_frames: int  # 6 (4D, 6 x 5 min) or 1 (3D static); 0 when no PET

    @property
    def entities(self) -> dict[str, str]:
        return {"ses": self.label} if self.label else {}


@dataclass(frozen=True)
class ParticipantPlan:
    """One participant: label, group, demographics and sessions."""

    index: int
    label: str
    group: str  # stroke | control
    age: int
    sex: str
    sessions: tuple[SessionPlan, ...] = field(default_factory=tuple)


def participant_rng(seed: int, index: int, purpose: int = 0) -> np.random.Generator:
    """Independent stream per (seed, participant, purpose)."""
    return np.random.default_rng([int(seed), int(index), int(purpose)])


def _spread(index: int, fraction: float, offset: float) -> bool:
    """True for ~``fraction`` of indices, evenly spaced; ``offset`` shifts the pattern."""
    if fraction <= 0:
        return False
    return int(np.floor((index + 1) * fraction + offset)) > int(np.floor(index * fraction + offset))


def plan_participant(index: int, seed: int, options: CohortOptions, width: int) -> ParticipantPlan:
    """Plan participant ``index`` (0-based) of a cohort."""
    rng = participant_rng(seed, index, 0)
    control = _spread(index, options.control_fraction, 0.5)
    two_sessions = not control and _spread(index, options.two_session_fraction, 0.0)
    no_t1w = not control and _spread(index, options.no_t1w_fraction, 0.4)
    no_t2w = _spread(index, options.no_t2w_fraction, 0.25)
    no_pet = _spread(index, options.no_pet_fraction, 0.3) and not no_t1w
    static = _spread(index, options.static_pet_fraction, 0.2)
    series = [s for s, drop in (("T1w", no_t1w), ("T2w", no_t2w)) if not drop]
    series += ["FLAIR", "dwi"] + ([] if no_pet else ["pet"])
    frames = 0 if no_pet else (1 if static else 6)
    if control:
        stages: list[str | None] = [None]
    elif two_sessions:
        stages = [str(rng.choice(["acute", "subacute"])), "chronic"]
    else:
        stages = [str(rng.choice(STAGES, p=[0.45, 0.25, 0.30]))]
    labels: list[str | None] = [f"{i + 1}" for i in range(len(stages))] if two_sessions else [None]
    sessions = tuple(
        SessionPlan(label=lab, stage=st, series=tuple(series), pet_frames=frames)
        for lab, st in zip(labels, stages, strict=True)
    )
    age = rng.normal(62, 12) if control else rng.normal(68, 11)
    return ParticipantPlan(
        index=index,
        label=f"{index + 1:0{width}d}",
        group="control" if control else "stroke",
        age=int(np.clip(round(age), 30, 92)),
        sex=str(rng.choice(["M", "F"])),
        sessions=sessions,
    )


def plan_cohort(n: int, seed: int, options: CohortOptions | None = None) -> list[ParticipantPlan]:
    """Plans of ``n`` participants labelled ``001``.. (at least three digits)."""
    if n < 1:
        raise ValueError(f"a cohort needs at least one participant, got {n}")
    options = options or CohortOptions()
    width = max(3, len(str(n)))
    return [plan_participant(i, seed, options, width) for i in range(n)]


# Location weights for NIHSS: deficits per ml are largest where motor and language pathways run.
NIHSS_LOCATION_WEIGHT = {
    "LLS": 1.3, "ACTP": 1.2, "MCA": 1.0, "PCTP": 0.8, "ACA": 0.75,
    "PCA": 0.6, "BA": 1.1, "SCA": 0.45, "ICA": 0.45,
}  # fmt: skip


def clinical_scores(
    rng: np.random.Generator, lesion_ml: float, territory: str | None, hemisphere: str | None
) -> tuple[int, int]:
    """NIHSS (0-42) and mRS (0-6) from lesion volume and location plus noise; 0/0-1 for controls.

    NIHSS grows with log volume (Fink et al. 2002 and others report rho ~ 0.5-0.7 between
    infarct volume and NIHSS); left-hemisphere lesions score higher (language items).
    """
    if territory is None:
        return 0, int(rng.random() < 0.15)
    weight = NIHSS_LOCATION_WEIGHT[territory] * (1.15 if hemisphere == "L" else 1.0)
    nihss = 4.2 * np.log2(1.0 + lesion_ml) * weight + rng.normal(0.0, 2.0)
    nihss = int(np.clip(round(nihss), 0, 42))
    mrs = 0.4 + 0.16 * nihss + rng.normal(0.0, 0.6)
    return nihss, int(np.clip(round(mrs), 0, 6))
