"""Anatomy of the phantom: individual deformation, atrophy with age, modelled head tissue."""

from __future__ import annotations

import dataclasses

import numpy as np

from gausspet_bids.phantom.cohort import plan_cohort
from gausspet_bids.phantom.geometry import ImageGrid
from gausspet_bids.phantom.random_fields import VENTRICLE_CENTRE_MM
from gausspet_bids.phantom.render import tissues_aligned, tissues_in_scanner
from gausspet_bids.phantom.subject import make_subject
from gausspet_bids.phantom.tissue_bank import tissue_bank
from gausspet_bids.preprocessing.model_grid import model_grid


def _grid() -> ImageGrid:
    shape, affine = model_grid()
    return ImageGrid(shape=shape, affine=affine)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * (a & b).sum() / (a.sum() + b.sum())


def test_atrophy_widens_ventricles_and_sulci():
    subject = make_subject(plan_cohort(2, 3)[1], 3, "small")  # a control: no lesion
    bank, grid = tissue_bank(2), _grid()
    volumes = {}
    for atrophy in (0.0, 0.25):
        warp = dataclasses.replace(subject.deformation, atrophy=atrophy)
        tissues = tissues_aligned(dataclasses.replace(subject, deformation=warp), grid, bank)
        xyz = grid.world_points() - VENTRICLE_CENTRE_MM[:, None, None, None]
        central = np.sqrt((xyz**2).sum(axis=0)) < 25.0
        csf_in_brain = tissues.brain - tissues.fractions["gm"] - tissues.fractions["wm"]
        volumes[atrophy] = (csf_in_brain[central].sum(), csf_in_brain.sum(),
                            tissues.fractions["gm"].sum())  # fmt: skip
    assert volumes[0.25][0] > 1.3 * volumes[0.0][0]  # ventricles
    assert volumes[0.25][1] > 1.1 * volumes[0.0][1]  # all CSF (sulci too)
    assert volumes[0.25][2] < 0.97 * volumes[0.0][2]  # grey matter lost


def test_participants_differ_but_stay_template_like():
    bank, grid = tissue_bank(2), _grid()
    plans = plan_cohort(2, 11)
    masks = [tissues_aligned(make_subject(p, 11, "small"), grid, bank).brain >= 0.5 for p in plans]
    template = bank.gm.sample(grid.world_points()) + bank.wm.sample(grid.world_points()) > 0.5
    assert _dice(masks[0], masks[1]) < 0.97
    for mask in masks:
        assert 0.8 < _dice(mask & template, template) <= 1.0


def test_head_around_the_brain_gives_brain_extraction_work():
    subject = make_subject(plan_cohort(1, 2)[0], 2, "small")
    acq = subject.sessions[0].acquisitions["T1w"]
    tissues = tissues_in_scanner(subject, acq, tissue_bank(2))
    f = tissues.fractions
    brain = tissues.brain.sum()
    for name in ("bone", "marrow", "fat", "skin", "muscle", "meninges"):
        assert f[name].sum() > 0.01 * brain, name
    non_brain = sum(f[n] for n in ("bone", "marrow", "fat", "skin", "muscle", "meninges")).sum()
    assert non_brain > 0.4 * brain
    # the skull encloses the brain: every brain voxel is farther from the FOV edge than bone
    bone = np.argwhere(f["bone"] > 0.5)
    inside = np.argwhere(tissues.brain > 0.5)
    assert (bone.min(axis=0) < inside.min(axis=0)).all() and (
        bone.max(axis=0) > inside.max(axis=0)
    ).all()
