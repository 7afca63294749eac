"""Read the model-grid images of a gausspet derivatives folder (``--write-model-inputs``).

The participant level writes, per participant/session, each MRI contrast, the brain mask and the
real PET (SUVR) on the model grid (docs/outputs.md, "Model grid"). :func:`find_model_inputs`
returns their paths; :func:`aligned_view` lays them out as the training cohort layout
(``VIEW/{train,test}/{MRI/<contrast>,PET,MASK}/<name>.nii.gz``, symbolic links) with a seeded
split by participant, so that ``gausspet-train`` reads derivatives through the same loader as an
aligned cohort, and the split is on disk for anyone to check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gausspet_bids.bids.atomic import write_text

GRID = "space-MNI152NLin2009aSym_res-2"
# model contrast (gausspet_bids.training.cohort.ALL_CONTRASTS) -> (datatype, name ending)
CONTRAST_FILES = {
    "T1w": ("anat", f"_{GRID}_desc-model_T1w.nii.gz"),
    "T2w": ("anat", f"_{GRID}_desc-model_T2w.nii.gz"),
    "FLAIR": ("anat", f"_{GRID}_desc-model_FLAIR.nii.gz"),
    "DWI": ("dwi", f"_{GRID}_desc-modeltrace_dwi.nii.gz"),
    "ADC": ("dwi", f"_{GRID}_desc-modeladc_dwi.nii.gz"),
}
MASK_FILE = ("anat", f"_{GRID}_label-brain_desc-model_mask.nii.gz")
PET_FILE = ("pet", f"_trc-FDG_{GRID}_desc-model_pet.nii.gz")
_PREFIX = re.compile(r"^sub-(?P<sub>[A-Za-z0-9]+)(?:_ses-(?P<ses>[A-Za-z0-9]+))?_")


@dataclass(frozen=True)
class ModelInputs:
    """The model-grid files of one participant/session (``None``: not written)."""

    participant: str  # label without "sub-"
    session: str | None  # label without "ses-"
    contrasts: dict[str, Path] = field(default_factory=dict)
    mask: Path | None = None
    pet: Path | None = None

    @property
    def name(self) -> str:
        """``sub-X`` or ``sub-X_ses-Y``: the file stem in the training layout."""
        return f"sub-{self.participant}" + (f"_ses-{self.session}" if self.session else "")


class NotDerivativesError(ValueError):
    """The folder is not a gausspet derivatives dataset."""


def is_derivatives(root: Path | str) -> bool:
    """True when ``root/dataset_description.json`` says ``DatasetType: derivative``."""
    path = Path(root) / "dataset_description.json"
    try:
        return json.loads(path.read_text()).get("DatasetType") == "derivative"
    except (OSError, ValueError, AttributeError):
        return False


def _session_folders(root: Path) -> list[Path]:
    subjects = sorted(p for p in root.glob("sub-*") if p.is_dir())
    folders = []
    for sub in subjects:
        sessions = sorted(p for p in sub.glob("ses-*") if p.is_dir())
        folders.extend(sessions or [sub])
    return folders


def _one(folder: Path, datatype: str, ending: str, prefix: str) -> Path | None:
    hits = sorted((folder / datatype).glob(f"{prefix}{ending}"))
    if len(hits) > 1:
        raise ValueError(f"{folder / datatype}: several files end with {ending}: {hits}")
    return hits[0] if hits else None


def find_model_inputs(root: Path | str) -> list[ModelInputs]:
    """Every participant/session of a derivatives folder that has model-grid images.

    Raises :class:`NotDerivativesError` when ``root`` is not a derivatives dataset, and
    ``FileNotFoundError`` when no session has model-grid images (a run without
    ``--write-model-inputs``).
    """
    root = Path(root)
    if not is_derivatives(root):
        raise NotDerivativesError(
            f"{root / 'dataset_description.json'}: missing or not DatasetType 'derivative'"
        )
    found = []
    for folder in _session_folders(root):
        rel = folder.relative_to(root).parts
        prefix = "_".join(rel)
        match = _PREFIX.match(prefix + "_")
        contrasts = {}
        for contrast, (datatype, ending) in CONTRAST_FILES.items():
            path = _one(folder, datatype, ending, prefix)
            if path is not None:
                contrasts[contrast] = path
        mask = _one(folder, *MASK_FILE, prefix)
        pet = _one(folder, *PET_FILE, prefix)
        if contrasts or mask or pet:
            found.append(ModelInputs(match["sub"], match["ses"], contrasts, mask, pet))
    if not found:
        raise FileNotFoundError(
            f"{root}: no model-grid images (*_{GRID}_desc-model*); run the participant level "
            "with --write-model-inputs"
        )
    return found


def split_by_participant(
    participants: list[str], test_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Seeded (train, test) split of participant labels; all sessions of one go together."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test fraction must be in [0, 1), got {test_fraction}")
    unique = sorted(set(participants))
    n_test = round(test_fraction * len(unique))
    if test_fraction > 0 and len(unique) > 1:
        n_test = min(len(unique) - 1, max(1, n_test))
    order = np.random.default_rng(seed).permutation(len(unique))
    test = sorted(unique[i] for i in order[:n_test])
    return [p for p in unique if p not in test], test


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.resolve())


def _clear_view(view: Path) -> None:
    """Remove the links and (then empty) folders of an earlier view; nothing else."""
    for split in ("train", "test"):
        if not (view / split).is_dir():
            continue
        paths = sorted((view / split).rglob("*"), key=lambda p: len(p.parts), reverse=True)
        for path in paths:
            if path.is_symlink():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def aligned_view(
    root: Path | str, view_dir: Path | str, test_fraction: float = 0.2, seed: int = 0
) -> Path:
    """Lay the model inputs of ``root`` out as a training cohort under ``view_dir``.

    Only sessions with a real PET are used. The split is by participant (seeded); the view is
    rebuilt from scratch each time and ``view_dir/split.tsv`` lists every session's split and
    source files. Returns ``view_dir``.
    """
    inputs = [s for s in find_model_inputs(root) if s.pet is not None]
    if not inputs:
        raise FileNotFoundError(f"{root}: no session has a model-grid PET (*{PET_FILE[1]})")
    train, test = split_by_participant([s.participant for s in inputs], test_fraction, seed)
    view = Path(view_dir)
    _clear_view(view)
    rows = ["name\tparticipant\tsession\tsplit\tcontrasts"]
    for s in inputs:
        split = "test" if s.participant in test else "train"
        _link(s.pet, view / split / "PET" / f"{s.name}.nii.gz")
        if s.mask is not None:
            _link(s.mask, view / split / "MASK" / f"{s.name}.nii.gz")
        for contrast, path in s.contrasts.items():
            _link(path, view / split / "MRI" / contrast / f"{s.name}.nii.gz")
        rows.append(
            f"{s.name}\t{s.participant}\t{s.session or 'n/a'}\t{split}\t{','.join(s.contrasts)}"
        )
    write_text(view / "split.tsv", "\n".join(rows) + "\n")
    if not train:
        raise ValueError(f"{root}: no training participant left after the test split")
    return view


def participant_of(name: str) -> str:
    """Participant of a training-layout name: ``sub-X_ses-Y`` -> ``sub-X``; others unchanged."""
    return name.split("_ses-")[0]
