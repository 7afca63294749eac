"""The scoring workflow end to end on atlas-built images with a known lesion."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from gausspet_bids.workflows.scoring import init_scoring_wf, scoring_outputs

ATLAS = "gausspet_bids/data/atlas/tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"


def _images(tmp_path):
    atlas = nib.load(ATLAS)
    dseg = np.asanyarray(atlas.dataobj).astype(np.int16)
    brain = dseg > 0
    real = np.where(brain, 1.0, 0.05)
    lesion = np.isin(dseg, [7, 9])
    real[lesion] *= 0.5
    synthetic = real * 1.05
    files = {}
    for key, data in (("synthetic", synthetic), ("real", real), ("mask", brain), ("dseg", dseg)):
        files[key] = str(tmp_path / f"{key}.nii.gz")
        nib.save(nib.Nifti1Image(data.astype(np.float32 if key in ("synthetic", "real") else np.int16),
                                 atlas.affine), files[key])  # fmt: skip
    return files, lesion


@pytest.mark.slow
@pytest.mark.parametrize("has_real_pet", [True, False])
def test_scoring_wf_writes_tables_masks_scores_figures(tmp_path, has_real_pet):
    files, lesion = _images(tmp_path)
    out = tmp_path / "out"
    wf = init_scoring_wf(subject="01", session="1" if has_real_pet else None, output_dir=out,
                         has_real_pet=has_real_pet)  # fmt: skip
    wf.base_dir = str(tmp_path / "work")
    wf.inputs.inputnode.synthetic_pet = files["synthetic"]
    wf.inputs.inputnode.brain_mask = files["mask"]
    wf.inputs.inputnode.territory_dseg = files["dseg"]
    if has_real_pet:
        wf.inputs.inputnode.real_pet = files["real"]
    wf.run()
    paths = scoring_outputs(out, "01", "1" if has_real_pet else None, "T1w", "gausspet")
    table = pd.read_csv(paths["regions"], sep="\t")
    mca = table.set_index("territory").loc["MCA"]
    assert mca["synthetic_asymmetry"] < -0.2
    scores = json.loads(paths["metrics"].read_text())
    vol = scores["HypometabolicVolumeMl"]["synthetic"]
    assert vol["MCA_left"] == pytest.approx(lesion.sum() * 0.008, rel=0.25)  # smoothed edges
    figures = sorted((out / "sub-01" / "figures").glob("*.png"))
    if has_real_pet:
        assert scores["ImageMetrics"]["NCC"] == pytest.approx(1.0)
        assert scores["ImageMetrics"]["NMAE"] == pytest.approx(0.05)
        assert scores["HypometabolismAgreement"]["Dice"] > 0.99
        assert "real_mean_left" in table.columns and paths["hypo_real"].exists()
        assert any("comparison" in f.name for f in figures)
    else:
        assert "ImageMetrics" not in scores and "real_mean_left" not in table.columns
    assert any("hypometabolism" in f.name for f in figures)
    assert any("territories" in f.name for f in figures)
    # provenance names derivatives (relative to the dataset), never work-directory files
    pre = "sub-01/ses-1/pet/sub-01_ses-1" if has_real_pet else "sub-01/pet/sub-01"
    assert scores["Sources"][0] == f"{pre}_trc-FDG_space-T1w_desc-gausspet_pet.nii.gz"
    hypo = json.loads(paths["hypo_synthetic"].with_suffix("").with_suffix(".json").read_text())
    assert hypo["SpatialReference"] == pre.replace("pet/", "anat/") + "_desc-preproc_T1w.nii.gz"
    assert not any(str(tmp_path) in src for src in scores["Sources"] + hypo["Sources"])
