"""Hypometabolic region on atlas-built images with a known lesion."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from gausspet_bids.metrics.hypometabolism import (
    DEFAULTS,
    dice,
    grow_from_seeds,
    hypometabolic_mask,
    normative_z,
    region_volumes,
    remove_small_clusters,
    write_hypometabolism,
)
from gausspet_bids.metrics.mirror import mirror_transform, smooth_in_mask

ATLAS = "gausspet_bids/data/atlas/tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"


@pytest.fixture(scope="module")
def atlas():
    img = nib.load(ATLAS)
    return img, np.asanyarray(img.dataobj).astype(int)


def test_mirror_transform_finds_atlas_midline(atlas):
    img, dseg = atlas
    t = mirror_transform(dseg, img.affine)
    assert np.linalg.det(t[:3, :3]) == pytest.approx(-1.0, abs=0.05)
    assert t[0, 0] == pytest.approx(-1.0, abs=0.03)
    # the atlas' midline sits ~1.5 mm right of x = 0 (atlas README): x' = -x + 2 * 1.5
    assert t[0, 3] / 2 == pytest.approx(1.5, abs=0.3)


def test_mirror_transform_follows_a_shifted_head(atlas):
    img, dseg = atlas
    shifted = img.affine.copy()
    shifted[0, 3] += 10.0  # the whole head moves 10 mm right: midline at 11.5 mm
    assert mirror_transform(dseg, shifted)[0, 3] / 2 == pytest.approx(11.5, abs=0.3)


def test_lesion_found_and_volumes_per_territory(atlas):
    img, dseg = atlas
    pet = np.where(dseg > 0, 1.0, 0.1)
    lesion = np.isin(dseg, [7, 9])  # left MCA frontal + parietal
    pet[lesion] *= 0.4  # a core: 60 % reduced
    mask = hypometabolic_mask(pet, dseg > 0, dseg, img.affine)
    assert dice(mask, lesion) > 0.9
    vols = region_volumes(mask, dseg, 0.008)
    assert vols["MCA_left"] > 0.9 * vols["total"]  # the growth spills a little into neighbours
    assert vols["MCA_left"] == pytest.approx(lesion.sum() * 0.008, rel=0.1)
    assert vols["MCA_right"] == 0


def test_penumbra_grows_from_core_but_mild_reduction_alone_is_ignored(atlas):
    img, dseg = atlas
    pet = (dseg > 0) * 1.0
    core, rim = dseg == 9, dseg == 7  # left MCA parietal (core) and frontal (its neighbour)
    pet[core], pet[rim] = 0.3, 0.8  # core 70 % reduced, neighbour 20 %: penumbra-like
    far = dseg == 20  # right PCA occipital: 20 % reduced with no core nearby
    pet[far] = 0.8
    mask = hypometabolic_mask(pet, dseg > 0, dseg, img.affine)
    assert (mask & core).sum() > 0.95 * core.sum()
    distance = ndimage.distance_transform_edt(~core, sampling=2.0)
    # the 20 % neighbour is taken near the core (its border with normal tissue is smoothed
    # above the 10 % growth threshold), and never beyond the growth distance (+ 4 mm: seeds
    # come from a 4 mm-smoothed image and reach a little past the core)
    assert (mask & rim & (distance <= 8)).sum() > 0.7 * (rim & (distance <= 8)).sum()  # 0.76
    assert not (mask & rim & (distance > DEFAULTS.grow_distance_mm + 4)).any()
    assert not (mask & far).any()


def test_symmetric_image_has_no_hypometabolism(atlas):
    img, dseg = atlas
    assert not hypometabolic_mask((dseg > 0) * 1.0, dseg > 0, dseg, img.affine).any()


def test_reduction_below_seed_threshold_is_ignored(atlas):
    img, dseg = atlas
    pet = (dseg > 0) * 1.0
    pet[dseg == 7] = 0.7  # 30 % < 40 % seed threshold, and no core anywhere
    assert not hypometabolic_mask(pet, dseg > 0, dseg, img.affine).any()


def test_grow_from_seeds_keeps_connected_components_only():
    allowed = np.zeros((10, 10, 10), bool)
    allowed[1:4, 1:4, 1:4] = True  # touches the seed
    allowed[6:9, 6:9, 6:9] = True  # does not
    seeds = np.zeros_like(allowed)
    seeds[2, 2, 2] = True
    out = grow_from_seeds(seeds, allowed)
    assert out.sum() == 27 and not out[7, 7, 7]


def test_smoothing_stays_inside_the_mask():
    data = np.zeros((20, 20, 20))
    mask = np.zeros_like(data, bool)
    mask[5:15, 5:15, 5:15] = True
    data[mask] = 2.0
    data[~mask] = 100.0  # never enters
    out = smooth_in_mask(data, mask, 8.0, np.eye(4) * [2, 2, 2, 1])
    assert np.allclose(out[mask], 2.0) and not out[~mask].any()


def test_small_clusters_removed():
    m = np.zeros((20, 20, 20), bool)
    m[2:4, 2:4, 2:4] = True  # 8 voxels
    m[10:15, 10:15, 10:15] = True  # 125 voxels
    out = remove_small_clusters(m, 50)
    assert out.sum() == 125 and not out[2, 2, 2]


def test_dice_values():
    a = np.zeros(10, bool)
    a[:4] = True
    b = np.zeros(10, bool)
    b[2:6] = True
    assert dice(a, b) == pytest.approx(0.5)
    assert dice(np.zeros(3), np.zeros(3)) == 1.0


def test_normative_z():
    values = pd.DataFrame({"MCA_left": [1.0, 1.1, 0.9, 1.0, 0.5]})
    z = normative_z(values, pd.Series([True, True, True, True, False]))
    sd = np.std([1.0, 1.1, 0.9, 1.0], ddof=1)
    assert z["MCA_left"].iloc[4] == pytest.approx((0.5 - 1.0) / sd)
    assert np.isnan(normative_z(values, pd.Series([True, True, False, False, False])).iloc[0, 0])


def test_write_hypometabolism(atlas, tmp_path):
    img, dseg = atlas
    pet = np.where(dseg > 0, 1.0, 0.0)
    pet[dseg == 11] = 0.3
    nib.save(nib.Nifti1Image(pet.astype(np.float32), img.affine), tmp_path / "pet.nii.gz")
    nib.save(nib.Nifti1Image((dseg > 0).astype(np.uint8), img.affine), tmp_path / "mask.nii.gz")
    out, vols = write_hypometabolism(
        tmp_path / "pet.nii.gz", tmp_path / "mask.nii.gz", ATLAS, tmp_path / "sub-1_mask.nii.gz"
    )
    written = np.asanyarray(nib.load(out).dataobj)
    assert vols["total"] == pytest.approx(written.sum() * 0.008)
    assert vols["MCA_left"] == pytest.approx((dseg == 11).sum() * 0.008, rel=0.05)
    sidecar = json.loads((tmp_path / "sub-1_mask.json").read_text())
    assert sidecar["SeedThreshold"] == DEFAULTS.seed_threshold
    assert sidecar["GrowFWHMMm"] == DEFAULTS.grow_fwhm_mm and sidecar["MinClusterMl"] == 0.1
