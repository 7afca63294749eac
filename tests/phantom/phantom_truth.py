"""Helpers of the phantom tests: load ground truth, re-render a participant without its lesion."""

from __future__ import annotations

import dataclasses
import functools

import nibabel as nib
import numpy as np

from gausspet_bids.phantom import pet
from gausspet_bids.phantom.cohort import plan_cohort
from gausspet_bids.phantom.render import tissues_in_scanner
from gausspet_bids.phantom.subject import make_subject
from gausspet_bids.phantom.tissue_bank import tissue_bank
from gausspet_bids.phantom.truth_io import truth_prefix


def load_truth(gt_dir, participant: str, session: str | None, name: str) -> np.ndarray:
    """A ground-truth image (``name`` after ``_space-T1w_``) as an array."""
    path = f"{truth_prefix(gt_dir, participant, session)}_space-T1w_{name}.nii.gz"
    return np.asanyarray(nib.load(path).dataobj)


def truth_image(gt_dir, participant: str, session: str | None, name: str) -> nib.Nifti1Image:
    return nib.load(f"{truth_prefix(gt_dir, participant, session)}_space-T1w_{name}.nii.gz")


@functools.lru_cache(maxsize=8)
def subject_of(n: int, seed: int, index: int, drop_lesion: bool = False):
    """The hidden truth of participant ``index`` of an ``n``-cohort (small grids)."""
    subject = make_subject(plan_cohort(n, seed)[index], seed, "small")
    return dataclasses.replace(subject, lesion=None) if drop_lesion else subject


def uptake_without_lesion(n: int, seed: int, index: int, session: int = 0) -> np.ndarray:
    """True uptake on the session's T1w grid had the participant no lesion."""
    subject = subject_of(n, seed, index, drop_lesion=True)
    acq = subject.sessions[session].acquisitions["T1w"]
    tissues = tissues_in_scanner(subject, acq, tissue_bank(2))
    return pet.true_uptake(subject, tissues)
