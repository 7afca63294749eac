import gzip

import nibabel as nib
import numpy as np

from gausspet_bids.bids.image_check import check_image


def _save(tmp_path, data, name="img.nii.gz"):
    path = tmp_path / name
    nib.save(nib.Nifti1Image(np.asarray(data, dtype=np.float32), np.eye(4)), str(path))
    return path


def test_good_3d_image(tmp_path):
    data = np.zeros((6, 7, 8))
    data[2:4, 2:5, 3:5] = 5.0
    info = check_image(_save(tmp_path, data))
    assert info.usable and info.shape == [6, 7, 8] and info.voxel_size_mm == [1.0, 1.0, 1.0]
    assert info.n_frames == 1


def test_one_byte_file(tmp_path):
    path = tmp_path / "a_T1w.nii"
    path.write_bytes(b"\n")
    info = check_image(path)
    assert not info.usable and "only 1 byte" in info.problem


def test_html_saved_as_nifti(tmp_path):
    path = tmp_path / "a_T1w.nii"
    path.write_text("<!DOCTYPE html>\n<html><head><title>x</title></head>" + " " * 1000 + "</html>")
    assert "HTML page" in check_image(path).problem
    gz = tmp_path / "b_pet.nii.gz"
    gz.write_text("<!DOCTYPE html>\n<html>" + " " * 1000 + "</html>")
    assert "HTML page" in check_image(gz).problem


def test_gz_name_but_not_gzip(tmp_path):
    path = tmp_path / "c_T1w.nii.gz"
    path.write_bytes(b"\x00\x01" * 400)
    assert "not gzip-compressed" in check_image(path).problem


def test_all_zero_data(tmp_path):
    info = check_image(_save(tmp_path, np.zeros((5, 5, 5))))
    assert not info.usable and "all zero" in info.problem
    # the check can be turned off (header only)
    assert check_image(_save(tmp_path, np.zeros((5, 5, 5))), check_data=False).usable


def test_dimensions(tmp_path):
    four_d = _save(tmp_path, np.ones((4, 4, 4, 3)), "d.nii.gz")
    assert "expected a 3D image" in check_image(four_d).problem
    assert check_image(four_d, ndim=(4,)).n_frames == 3
    single = _save(tmp_path, np.ones((4, 4, 4, 1)), "s.nii.gz")
    assert check_image(single).usable  # a 4D image with one volume counts as 3D
    assert (
        "expected a 4D image"
        in check_image(_save(tmp_path, np.ones((4, 4, 4)), "t.nii.gz"), ndim=(4,)).problem
    )


def test_truncated_data_is_reported(tmp_path):
    path = _save(tmp_path, np.ones((16, 16, 16)), "trunc.nii.gz")
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: 352 + 16 * 16 * 4 * 4]))  # header + 4 of 16 slices
    info = check_image(path)
    assert not info.usable and "cannot be read" in info.problem


def test_missing_file(tmp_path):
    assert "does not exist" in check_image(tmp_path / "nope.nii.gz").problem
