"""Territory tables on a territory map whose true regional values are known."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from gausspet_bids.metrics.territories import (
    asymmetry_index,
    territory_names,
    territory_table,
    write_territory_table,
)

ATLAS = "gausspet_bids/data/atlas/tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"


@pytest.fixture(scope="module")
def atlas():
    img = nib.load(ATLAS)
    return img, np.asanyarray(img.dataobj).astype(int)


def test_nine_territories():
    assert territory_names() == ["ACA", "LLS", "MCA", "PCA", "PCTP", "ACTP", "BA", "SCA", "ICA"]


def test_asymmetry_index_definition():
    assert asymmetry_index(0.8, 1.0) == pytest.approx(2 * (-0.2) / 1.8)
    assert asymmetry_index(1.0, 1.0) == 0.0


def test_territory_means_match_ground_truth(atlas):
    img, dseg = atlas
    # ground truth: each territory/hemisphere gets its own value (left = 1 + k/10, right = 2 + k/10)
    names = territory_names()
    labels = pd.read_csv(
        "gausspet_bids/data/atlas/atlas-Arterial_dseg.tsv", sep="\t", keep_default_na=False
    )
    pet = np.zeros(dseg.shape)
    for row in labels.itertuples():
        if row.territory == "n/a":
            pet[dseg == row.index] = 50.0  # ventricles must not leak into any territory
            continue
        k = names.index(row.territory)
        pet[dseg == row.index] = (1.0 if row.index % 2 else 2.0) + k / 10
    table = territory_table({"synthetic": pet, "real": pet * 0.5}, dseg, 0.008)
    assert list(table["territory"]) == names
    for k in range(len(names)):
        row = table.iloc[k]
        assert row["synthetic_mean_left"] == pytest.approx(1 + k / 10)
        assert row["synthetic_median_right"] == pytest.approx(2 + k / 10)
        assert row["real_mean_left"] == pytest.approx((1 + k / 10) / 2)
        assert row["synthetic_asymmetry"] == pytest.approx(asymmetry_index(1 + k / 10, 2 + k / 10))
    # volumes: MCA left = labels 7, 9, 11, 13, 15
    mca_left = np.isin(dseg, [7, 9, 11, 13, 15]).sum() * 0.008
    assert table.loc[2, "volume_left_ml"] == pytest.approx(mca_left)


def test_write_territory_table_with_sidecar(atlas, tmp_path):
    img, dseg = atlas
    pet_path = tmp_path / "pet.nii.gz"
    nib.save(nib.Nifti1Image((dseg > 0).astype(np.float32) * 1.5, img.affine), pet_path)
    out = write_territory_table({"synthetic": pet_path}, ATLAS, tmp_path / "x_regions.tsv")
    table = pd.read_csv(out, sep="\t")
    assert np.allclose(table["synthetic_mean_left"], 1.5)
    sidecar = pd.read_json(tmp_path / "x_regions.json", typ="series")
    assert set(table.columns) == set(sidecar.index)


def test_grid_mismatch_names_file(atlas, tmp_path):
    img, _ = atlas
    bad = tmp_path / "bad.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), img.affine), bad)
    with pytest.raises(ValueError, match="bad.nii.gz"):
        write_territory_table({"synthetic": bad}, ATLAS, tmp_path / "t.tsv")
