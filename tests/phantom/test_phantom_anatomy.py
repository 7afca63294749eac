"""Anatomy of the phantom: individual deformation, atrophy with age, modelled head tissue."""

from __future__ import annotations

import dataclasses

import nibabel as nib
import numpy as np
from scipy import ndimage

from gausspet_bids.phantom.cohort import plan_cohort
from gausspet_bids.phantom.geometry import ImageGrid
from gausspet_bids.phantom.random_fields import VENTRICLE_CENTRE_MM
from gausspet_bids.phantom.render import tissues_aligned
from gausspet_bids.phantom.subject import make_subject
from gausspet_bids.phantom.tissue_bank import tissue_bank
from gausspet_bids.phantom.truth_io import truth_prefix
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


def test_participants_differ_but_stay_template_like(small_aligned):
    bank, grid = tissue_bank(2), _grid()
    template = bank.gm.sample(grid.world_points()) + bank.wm.sample(grid.world_points()) > 0.5
    masks = []
    for row in small_aligned.table.itertuples():
        img = nib.load(small_aligned.root / row.split / "MASK" / f"{row.N}.nii.gz")
        masks.append(np.asanyarray(img.dataobj) > 0)
    assert max(_dice(masks[0], m) for m in masks[1:]) < 0.97  # individual anatomy
    for mask in masks:
        assert _dice(mask & template, template) > 0.8  # still a brain in template space


def test_head_around_the_brain_gives_brain_extraction_work(small_phantom):
    """On the written T1w: bright and dark head tissue (fat, marrow, skin, skull) surrounds the
    true brain mask, enclosing it on every side."""
    bids, gt = small_phantom.bids_dir, small_phantom.gt_dir
    t1w = nib.load(bids / "sub-002/anat/sub-002_T1w.nii.gz")
    data = np.asanyarray(t1w.dataobj, dtype=np.float32)
    mask_img = nib.load(f"{truth_prefix(gt, '002')}_space-T1w_desc-brain_mask.nii.gz")
    brain = np.asanyarray(mask_img.dataobj) > 0
    assert np.allclose(mask_img.affine, t1w.affine)  # ground truth lives on the T1w grid
    wm = np.asanyarray(
        nib.load(f"{truth_prefix(gt, '002')}_space-T1w_label-WM_probseg.nii.gz").dataobj
    )
    level = np.median(data[wm > 0.9])
    head = ndimage.binary_fill_holes(ndimage.binary_closing(data > 0.25 * level, iterations=2))
    bright_outside = (data > 0.6 * level) & ~ndimage.binary_dilation(brain, iterations=1)
    assert bright_outside.sum() > 0.15 * brain.sum()  # scalp fat and marrow look like tissue
    assert head.sum() > 1.5 * brain.sum()
    dark_shell = ndimage.binary_dilation(brain, iterations=3) & ~brain & (data < 0.25 * level)
    assert dark_shell.sum() > 0.05 * brain.sum()  # CSF and skull between brain and scalp
    bone_like = np.argwhere(head & ~brain)
    inside = np.argwhere(brain)
    assert (bone_like.min(axis=0) <= inside.min(axis=0)).all()
    assert (bone_like.max(axis=0) >= inside.max(axis=0)).all()
