"""Atlas label table, nine-territory grouping and the SUVR reference region."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from gausspet_bids.preprocessing import territories as terr


def test_label_to_territory_lookup():
    table = terr.territory_table()
    assert len(table) == 18 and table["index"].tolist() == list(range(1, 19))
    mapped = terr.labels_to_territories(np.array([0, 1, 4, 5, 16, 20, 27, 30, 31, 32, 99]))
    # ACA L/R, LLS L, MCA R, PCA R, SCA L, ICA R, ventricles -> 0, unknown -> 0
    assert mapped.tolist() == [0, 1, 2, 3, 6, 8, 15, 18, 0, 0, 0]
    assert set(table.loc[table["territory"] == "SCA", "index"]) == {15, 16}


def test_atlas_files_exist_and_are_labels():
    img = nib.load(terr.atlas_file(2))
    values = np.unique(np.asanyarray(img.dataobj))
    assert img.shape == (91, 109, 91) and values.min() == 0 and values.max() == 32


def test_maps_and_cerebellar_reference(tmp_path):
    labels = np.zeros((8, 8, 8), np.int32)
    labels[:4] = 27  # SCA L
    labels[4:] = 7  # MCA frontal L
    gm = np.zeros((8, 8, 8), np.uint8)
    gm[:, :4] = 255  # template-style GM probability x 255
    brain = np.ones((8, 8, 8), np.uint8)
    brain[:, :, 0] = 0
    for name, data in (("lab", labels), ("gm", gm), ("brain", brain)):
        nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / f"{name}.nii.gz")
    out = terr.territory_maps(tmp_path / "lab.nii.gz", tmp_path / "brain.nii.gz",
                              tmp_path / "l.nii.gz", tmp_path / "t.nii.gz")  # fmt: skip
    t = nib.load(out["territories"]).get_fdata()
    assert t[0, 0, 1] == 15 and t[5, 0, 1] == 5 and t[0, 0, 0] == 0
    ref = terr.reference_region(out["labels"], tmp_path / "gm.nii.gz", tmp_path / "brain.nii.gz",
                                tmp_path / "ref.nii.gz")  # fmt: skip
    expected = np.zeros((8, 8, 8), bool)
    expected[:4, :4, 1:] = True
    np.testing.assert_array_equal(nib.load(ref).get_fdata() > 0, expected)
    whole = terr.reference_region(out["labels"], tmp_path / "gm.nii.gz",
                                  tmp_path / "brain.nii.gz", tmp_path / "wb.nii.gz", "wholebrain")  # fmt: skip
    assert nib.load(whole).get_fdata().sum() == brain.sum()
