"""Shared pytest configuration and fixtures: small phantom cohorts (generated once per session).

``small_phantom``: a ``--small`` BIDS cohort of 4 participants (seed 17) with ground truth:
sub-001 stroke with every series and 4D PET, sub-002 control, sub-003 stroke without T1w (3D PET),
sub-004 stroke with ses-1 and ses-2. ``small_aligned``: 8 participants in the aligned layout
(6 train, 2 test). Both are read-only: copy before changing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

SMALL_PHANTOM_SEED = 17
SMALL_PHANTOM_N = 4


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
