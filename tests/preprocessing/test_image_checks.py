"""Broken inputs stop with a message that names the file and the problem."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from gausspet_bids.preprocessing.image_checks import InputImageError, load_checked, reorient_to_ras

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "bids-examples"


def _save(tmp_path: Path, data: np.ndarray, name: str = "img.nii.gz", affine=None) -> Path:
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), str(path))
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros((8, 8, 8), np.float32), "empty"),
        (np.full((8, 8, 8), np.nan, np.float32), "NaN or Inf"),
        (np.ones((8, 8, 8, 3), np.float32), "expected a 3D volume"),
        (np.ones((8, 0, 8), np.float32), "zero-sized dimension"),
    ],
)
def test_broken_images_are_named(tmp_path, data, message):
    path = _save(tmp_path, data)
    with pytest.raises(InputImageError, match=message) as err:
        load_checked(path)
    assert str(path) in str(err.value)


def test_inf_voxel_and_missing_and_garbage(tmp_path):
    data = np.ones((6, 6, 6), np.float32)
    data[2, 2, 2] = np.inf
    with pytest.raises(InputImageError, match="NaN or Inf"):
        load_checked(_save(tmp_path, data))
    with pytest.raises(InputImageError, match="does not exist"):
        load_checked(tmp_path / "nope.nii.gz")
    garbage = tmp_path / "page.nii"
    garbage.write_text("<html>not an image</html>")
    with pytest.raises(InputImageError, match=f"{garbage}: cannot be read"):
        load_checked(garbage)


def test_4d_expected_and_single_volume_squeezed(tmp_path):
    with pytest.raises(InputImageError, match="expected a 4D series"):
        load_checked(_save(tmp_path, np.ones((5, 5, 5), np.float32)), ndim=4)
    img = load_checked(_save(tmp_path, np.ones((5, 6, 7, 1), np.float32), "one.nii.gz"))
    assert img.shape == (5, 6, 7)


@pytest.mark.skipif(not EXAMPLES.exists(), reason="shared bids-examples not available")
def test_real_placeholder_images_are_refused():
    """The bids-examples PET datasets hold 1-byte and all-zero placeholder images."""
    one_byte = EXAMPLES / "pet003/sub-01/ses-01/anat/sub-01_ses-01_T1w.nii"
    with pytest.raises(InputImageError, match=str(one_byte)):
        load_checked(one_byte)
    header_only = EXAMPLES / "pet002/sub-01/ses-baseline/anat/sub-01_ses-baseline_T1w.nii"
    with pytest.raises(InputImageError, match=str(header_only)):
        load_checked(header_only)


def test_reorient_keeps_world_coordinates(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6) + 1
    affine = np.diag([-2.0, 1.5, 3.0, 1.0])
    affine[:3, 3] = [10, -20, 5]
    out = reorient_to_ras(_save(tmp_path, data, affine=affine), tmp_path / "ras.nii.gz")
    img = nib.load(out)
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    # the voxel at world (10, -20, 5) keeps its value
    ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(img.affine), [10, -20, 5])).astype(int)
    assert img.get_fdata()[tuple(ijk)] == data[0, 0, 0]
