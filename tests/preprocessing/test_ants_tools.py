"""ANTs wrappers on a small real image (the ICBM template at 4 mm): known transforms recovered,
world-matrix conversion exact, N4 removes a known bias field, model grid round trip."""

from __future__ import annotations

import ants
import nibabel as nib
import numpy as np
import pytest
from nilearn.image import resample_img
from scipy.spatial.transform import Rotation

from gausspet_bids.preprocessing import ants_tools, model_grid, quality


@pytest.fixture(scope="module")
def small_t1(tmp_path_factory):
    """Template T1w at 4 mm and its brain mask (files)."""
    tmp = tmp_path_factory.mktemp("ants")
    t1 = resample_img(model_grid.template_t1w(), target_affine=np.diag([4.0, 4, 4]),
                      interpolation="linear", force_resample=True, copy_header=True)  # fmt: skip
    data = t1.get_fdata().astype(np.float32)
    nib.save(nib.Nifti1Image(data, t1.affine), tmp / "t1.nii.gz")
    nib.save(nib.Nifti1Image((data > 20).astype(np.uint8), t1.affine), tmp / "mask.nii.gz")
    return tmp


def _pose(angles_deg, shift_mm) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_euler("xyz", angles_deg, degrees=True).as_matrix()
    pose[:3, 3] = shift_mm
    return pose


def test_rigid_registration_recovers_known_pose(small_t1):
    img = nib.load(small_t1 / "t1.nii.gz")
    pose = _pose([6, -4, 9], [5, -7, 3])  # moving world = pose @ fixed world
    nib.save(nib.Nifti1Image(img.get_fdata().astype(np.float32), pose @ img.affine),
             small_t1 / "moved.nii.gz")  # fmt: skip
    res = ants_tools.register(small_t1 / "t1.nii.gz", small_t1 / "moved.nii.gz",
                              small_t1 / "reg", mode="rigid", sloppy=True)  # fmt: skip
    est = ants_tools.affine_to_ras(res["affine"])
    mask = nib.load(small_t1 / "mask.nii.gz")
    error = quality.transform_error_mm(est, pose, mask)
    assert error < 1.0, f"rigid registration error {error:.2f} mm"
    # resampling the moved image back with the forward transform restores the original
    back = ants_tools.apply_transforms(small_t1 / "moved.nii.gz", small_t1 / "t1.nii.gz",
                                       [res["affine"]], small_t1 / "back.nii.gz")  # fmt: skip
    inside = mask.get_fdata() > 0
    r = np.corrcoef(nib.load(back).get_fdata()[inside], img.get_fdata()[inside])[0, 1]
    assert r > 0.97


def test_affine_to_ras_matches_written_transform(tmp_path):
    matrix = Rotation.from_euler("z", 10, degrees=True).as_matrix() * 1.1
    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3,
                                    matrix=matrix, translation=[3.0, -2.0, 1.0],
                                    center=[10.0, 5.0, -4.0])  # fmt: skip
    ants.write_transform(tx, str(tmp_path / "a.mat"))
    ras = ants_tools.affine_to_ras(tmp_path / "a.mat")
    point_lps = np.array([12.0, -30.0, 40.0])
    moved_lps = np.asarray(tx.apply_to_point(point_lps.tolist()))
    flip = np.array([-1.0, -1.0, 1.0])
    np.testing.assert_allclose(ras[:3, :3] @ (point_lps * flip) + ras[:3, 3], moved_lps * flip,
                               atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("sloppy", [True, False])
def test_n4_removes_a_smooth_bias_field(small_t1, sloppy):
    img = nib.load(small_t1 / "t1.nii.gz")
    data = img.get_fdata()
    x = np.linspace(-1, 1, data.shape[0])[:, None, None]
    biased = data * np.exp(0.4 * x)  # +-40 % left-right
    nib.save(nib.Nifti1Image(biased.astype(np.float32), img.affine), small_t1 / "biased.nii.gz")
    out = ants_tools.n4_bias_correct(small_t1 / "biased.nii.gz", small_t1 / "n4.nii.gz",
                                     small_t1 / "mask.nii.gz", sloppy=sloppy)  # fmt: skip
    corrected = nib.load(out).get_fdata()
    wm = data > np.percentile(data[data > 20], 75)  # bright (white matter) voxels

    def cov(a):
        return a[wm].std() / a[wm].mean()

    assert cov(corrected) < 0.6 * cov(biased)


def test_model_grid_round_trip(small_t1, tmp_path):
    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3,
                                    matrix=np.diag([1.05, 0.95, 1.0]), translation=[2.0, -3.0, 1.0])  # fmt: skip
    ants.write_transform(tx, str(tmp_path / "ref2tpl.txt"))
    grid = model_grid.write_grid_image(tmp_path / "grid.nii.gz")
    on_grid = model_grid.to_model_grid(small_t1 / "t1.nii.gz", grid, [str(tmp_path / "ref2tpl.txt")],
                                       tmp_path / "g.nii.gz")  # fmt: skip
    g = nib.load(on_grid)
    assert g.shape == model_grid.DEFAULT_SHAPE and g.get_data_dtype() == np.float32
    np.testing.assert_allclose(g.affine, model_grid.model_grid()[1])
    back = model_grid.from_model_grid(on_grid, small_t1 / "t1.nii.gz", str(tmp_path / "ref2tpl.txt"),
                                      tmp_path / "back.nii.gz")  # fmt: skip
    orig = nib.load(small_t1 / "t1.nii.gz").get_fdata()
    inside = nib.load(small_t1 / "mask.nii.gz").get_fdata() > 0
    assert np.corrcoef(nib.load(back).get_fdata()[inside], orig[inside])[0, 1] > 0.95
    # the grid point at template world (0, 0, 0) samples the reference at ref2tpl(0, 0, 0)
    ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(g.affine), [0.0, 0.0, 0.0])).astype(int)
    world_ref = nib.affines.apply_affine(ants_tools.affine_to_ras(tmp_path / "ref2tpl.txt"),
                                         nib.affines.apply_affine(g.affine, ijk))  # fmt: skip
    src = nib.load(small_t1 / "t1.nii.gz")
    vox = np.rint(nib.affines.apply_affine(np.linalg.inv(src.affine), world_ref)).astype(int)
    assert g.get_fdata()[tuple(ijk)] == pytest.approx(orig[tuple(vox)], rel=0.3)
