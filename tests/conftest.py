"""Shared pytest configuration and fixtures: small phantom cohorts (generated once per session).

``small_phantom``: a ``--small`` BIDS cohort of 4 participants (seed 17) with ground truth:
sub-001 stroke with every series and 4D PET, sub-002 control, sub-003 stroke without T1w (3D PET),
sub-004 stroke with ses-1 and ses-2. ``small_aligned``: 8 participants in the aligned layout
(6 train, 2 test). ``small_preprocessed``: sub-001 and sub-002 of ``small_phantom`` through the
sloppy preprocessing workflow with model inputs, into one derivatives folder (minutes; slow
tests only). All are read-only: copy before changing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SMALL_PHANTOM_SEED = 17
SMALL_PHANTOM_N = 4
PREPROCESSED = ("001", "002")  # sub-001: every series and 4D PET; sub-002: control
PREPROC_SERIES = {"t1w": "anat/*_T1w.nii.gz", "t2w": "anat/*_T2w.nii.gz",
                  "flair": "anat/*_FLAIR.nii.gz", "dwi": "dwi/*_dwi.nii.gz",
                  "bval": "dwi/*_dwi.bval", "pet": "pet/*_pet.nii.gz",
                  "pet_json": "pet/*_pet.json"}  # fmt: skip


@dataclass(frozen=True)
class PhantomCohort:
    """A generated phantom: BIDS root, ground-truth root, participant labels (without ``sub-``)."""

    bids_dir: Path
    gt_dir: Path
    participants: list[str]
    seed: int


@dataclass(frozen=True)
class AlignedCohort:
    """An aligned-layout cohort: root (with train/, test/, cohort.tsv) and its table."""

    root: Path
    table: object  # pandas.DataFrame of cohort.tsv
    seed: int


@dataclass(frozen=True)
class PreprocessedCohort:
    """Derivatives of ``small_phantom`` participants; ``runs[label]`` holds, per participant,
    ``subject``, ``session``, ``files`` (inputs), ``out`` (derivatives root), ``work``, ``gt``
    (truth folder), ``der`` (its derivatives folder) and ``prefix``; ``workflow(label)`` builds
    the same workflow again (resume tests)."""

    out_dir: Path
    runs: dict
    workflow: Callable


def preproc_inputs(folder: Path) -> dict[str, str | None]:
    """Input files of one BIDS participant/session folder, keyed as ``init_preproc_wf`` wants."""
    found = {key: sorted(folder.glob(pattern)) for key, pattern in PREPROC_SERIES.items()}
    return {key: str(hits[0]) if hits else None for key, hits in found.items()}


@pytest.fixture(scope="session")
def small_phantom(tmp_path_factory) -> PhantomCohort:
    from gausspet_bids.phantom.bids_writer import write_bids_cohort

    root = tmp_path_factory.mktemp("phantom")
    summary = write_bids_cohort(
        root / "bids", SMALL_PHANTOM_N, SMALL_PHANTOM_SEED, small=True, truth_dir=root / "gt"
    )
    labels = [pid.removeprefix("sub-") for pid in summary.participants["participant_id"]]
    return PhantomCohort(root / "bids", root / "gt", labels, SMALL_PHANTOM_SEED)


@pytest.fixture(scope="session")
def small_aligned(tmp_path_factory) -> AlignedCohort:
    from gausspet_bids.phantom.aligned import write_aligned_cohort

    root = tmp_path_factory.mktemp("aligned")
    table = write_aligned_cohort(root, 8, SMALL_PHANTOM_SEED, test_fraction=0.25)
    return AlignedCohort(root, table, SMALL_PHANTOM_SEED)


@pytest.fixture(scope="session")
def small_preprocessed(small_phantom, tmp_path_factory) -> PreprocessedCohort:
    from gausspet_bids.bids.dataset_description import write_dataset_description
    from gausspet_bids.preprocessing.participant import init_preproc_wf

    root = tmp_path_factory.mktemp("preprocessed")
    out = root / "derivatives"
    write_dataset_description(out, bids_dir=small_phantom.bids_dir)
    runs = {}
    for label in PREPROCESSED:
        folder = small_phantom.bids_dir / f"sub-{label}"
        runs[label] = {"subject": label, "session": None, "files": preproc_inputs(folder),
                       "out": out, "work": root / f"work-{label}",
                       "gt": small_phantom.gt_dir / f"sub-{label}",
                       "der": out / f"sub-{label}", "prefix": f"sub-{label}"}  # fmt: skip

    def workflow(label):
        run = runs[label]
        wf = init_preproc_wf(subject=label, session=None, output_dir=out, sloppy=True,
                             omp_nthreads=2, write_model_inputs=True, **run["files"])  # fmt: skip
        wf.base_dir = str(run["work"])
        return wf

    for label in PREPROCESSED:
        workflow(label).run(plugin="Linear")
    return PreprocessedCohort(out, runs, workflow)
