"""The whole app on the small phantom: participant level (sloppy) then group level.

Real ANTs, deepbet and the packaged default model; asserts on the values of what is written.
"""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from gausspet_bids.bids.validator import validate
from gausspet_bids.cli.run import main
from gausspet_bids.model.checkpoint import default_model_path, sha256_of


@pytest.fixture(scope="module")
def app_run(small_phantom, tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "derivatives"
    work = out.parent / "work"
    args = [str(small_phantom.bids_dir), str(out), "participant", "-w", str(work), "--sloppy",
            "--participant-label", "001", "--skip-bids-validation", "--nprocs", "2"]  # fmt: skip
    code = main(args)
    group_code = main([str(small_phantom.bids_dir), str(out), "group", "--skip-bids-validation"])
    return out, code, group_code


def _load(path):
    return np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)


@pytest.mark.slow
def test_participant_and_group_levels_write_everything(app_run):
    out, code, group_code = app_run
    assert code == 0 and group_code == 0
    pet = out / "sub-001/pet/sub-001_trc-FDG_space-T1w_desc-gausspet_pet.nii.gz"
    meta = json.loads(pet.with_name(pet.name.replace(".nii.gz", ".json")).read_text())
    assert meta["Units"] == "SUVR" and meta["SkullStripped"] is True
    assert meta["ModelSHA256"] == sha256_of(default_model_path())
    assert meta["ContrastsUsed"] == ["T1w", "T2w", "FLAIR", "DWI", "ADC"]
    assert meta["SpatialReference"] == "sub-001/anat/sub-001_desc-preproc_T1w.nii.gz"
    coef = nib.load(str(out / "sub-001/pet/sub-001_trc-FDG_space-T1w_desc-coefficients_pet.nii.gz"))
    assert coef.shape[-1] == 6  # five contrasts + offset
    assert (out / "sub-001.html").exists() and (out / "group.html").exists()
    report = (out / "sub-001.html").read_text()
    assert "figures/sub-001_desc-comparison_pet.png" in report
    validation = validate(out)  # participant and group outputs share this folder
    assert validation.valid, "\n".join(map(str, validation.errors))


@pytest.mark.slow
def test_real_pet_suvr_and_synthesis_quality(app_run):
    out, _, _ = app_run
    real = _load(out / "sub-001/pet/sub-001_trc-FDG_space-T1w_desc-preproc_pet.nii.gz")
    synth = _load(out / "sub-001/pet/sub-001_trc-FDG_space-T1w_desc-gausspet_pet.nii.gz")
    mask = _load(out / "sub-001/anat/sub-001_desc-brain_mask.nii.gz") > 0
    labels = _load(out / "sub-001/anat/sub-001_space-T1w_atlas-Arterial_dseg.nii.gz")
    # (real PET vs ground truth is asserted in tests/preprocessing/test_participant_workflow.py)
    # synthetic PET: a quality floor against the real PET inside the brain
    assert np.corrcoef(synth[mask], real[mask])[0, 1] > 0.65  # measured 0.77 (default model)
    # cerebellum (SCA + ICA labels 27-30) is close to the SUVR reference value of 1
    cerebellum = mask & np.isin(labels, [27, 28, 29, 30])
    assert 0.7 < np.median(synth[cerebellum]) < 1.3
    scores = json.loads(
        (out / "sub-001/pet/sub-001_trc-FDG_space-T1w_desc-gausspet_metrics.json").read_text()
    )
    # measured NCC 0.774, SSIM 0.761 (sloppy preprocessing, --small)
    assert scores["ImageMetrics"]["NCC"] > 0.65 and scores["ImageMetrics"]["SSIM"] > 0.65


@pytest.mark.slow
def test_rerun_with_the_same_work_dir_rewrites_deleted_outputs(app_run, small_phantom):
    """Deleting the output folder and rerunning with the same -w rewrites every derivative from
    the cache (writers into the output folder are never taken from it). Runs last: it rebuilds
    the output folder the other tests read."""
    import shutil

    out, _, _ = app_run
    before = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out)
    args = [str(small_phantom.bids_dir), str(out), "participant", "-w", str(out.parent / "work"),
            "--sloppy", "--participant-label", "001", "--skip-bids-validation", "--nprocs", "2"]  # fmt: skip
    assert main(args) == 0
    after = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    missing = set(before) - set(after) - {p for p in before if p.name.startswith("group")}
    assert not {p for p in missing if "log" not in p.parts}, sorted(missing)
    assert (
        out / "sub-001/anat/sub-001_space-T1w_label-hypometabolic_desc-gausspet_mask.nii.gz"
    ).exists()
