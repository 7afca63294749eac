"""The whole participant preprocessing (sloppy) on a --small phantom, checked against its truth."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nilearn.image import resample_to_img

from gausspet_bids.preprocessing import quality
from gausspet_bids.preprocessing.ants_tools import affine_to_ras
from gausspet_bids.preprocessing.image_checks import InputImageError
from gausspet_bids.preprocessing.model_grid import DEFAULT_SHAPE
from gausspet_bids.preprocessing.participant import (
    _description,
    choose_reference,
    init_preproc_wf,
)


@pytest.fixture(scope="module")
def run(small_preprocessed):
    """sub-001 (T1w, T2w, FLAIR, DWI, 4D PET) of the shared sloppy preprocessing."""
    info = small_preprocessed.runs["001"]
    assert all(info["files"].values()) and len(nib.load(info["files"]["pet"]).shape) == 4
    return {**info, "rebuild": lambda: small_preprocessed.workflow("001")}


def _gt(run, name):
    return nib.load(run["gt"] / f"{run['prefix']}_space-T1w_{name}.nii.gz")


def _der(run, datatype, name):
    return nib.load(run["der"] / datatype / f"{run['prefix']}_{name}.nii.gz")


def _on(img, target, interp="nearest"):
    out = resample_to_img(img, target, interpolation=interp, force_resample=True, copy_header=True)
    return np.asanyarray(out.dataobj)


@pytest.mark.slow
def test_brain_mask_matches_truth(run):
    truth = _gt(run, "desc-brain_mask")
    assert quality.dice(_on(_der(run, "anat", "desc-brain_mask"), truth), truth.dataobj) >= 0.93


@pytest.mark.slow
def test_coregistration_recovers_true_transforms(run):
    meta = json.loads((run["gt"] / f"{run['prefix']}_transforms.json").read_text())
    poses = {Path(k).name.split("_")[-1].split(".")[0]: np.array(v)
             for k, v in meta["Transforms"].items()}  # fmt: skip
    mask = _gt(run, "desc-brain_mask")
    for suffix, mat in (("T2w", "anat/{p}_from-T2w_to-T1w_mode-image_xfm.txt"),
                        ("FLAIR", "anat/{p}_from-FLAIR_to-T1w_mode-image_xfm.txt"),
                        ("dwi", "dwi/{p}_from-dwi_to-T1w_mode-image_xfm.txt"),
                        ("pet", "pet/{p}_trc-FDG_from-pet_to-T1w_mode-image_xfm.txt")):  # fmt: skip
        estimated = affine_to_ras(run["der"] / mat.format(p=run["prefix"]))  # T1w -> image world
        error = quality.transform_error_mm(estimated, np.linalg.inv(poses[suffix]), mask)
        assert error <= 1.5, f"{suffix}: co-registration error {error:.2f} mm"


@pytest.mark.slow
def test_territory_maps_match_truth(run):
    truth = _gt(run, "atlas-ArterialTerritories_dseg")
    ours = _on(_der(run, "anat", "space-T1w_atlas-ArterialTerritories_dseg"), truth)
    assert quality.mean_label_dice(ours, truth.dataobj) >= 0.8
    assert set(np.unique(ours)) == set(range(19))  # background + 9 territories x 2 sides


@pytest.mark.slow
def test_suvr_reference_region_and_pattern(run):
    suvr = _on(_der(run, "pet", "trc-FDG_space-T1w_desc-preproc_pet"), _gt(run, "desc-brain_mask"),
               "linear")  # fmt: skip
    territories = np.asanyarray(_gt(run, "atlas-ArterialTerritories_dseg").dataobj)
    gm = np.asanyarray(_gt(run, "label-GM_probseg").dataobj)
    cerebellar_gm = np.isin(territories, [15, 16, 17, 18]) & (gm >= 0.5)
    assert suvr[cerebellar_gm].mean() == pytest.approx(1.0, abs=0.06)
    truth = np.asanyarray(_gt(run, "trc-FDG_desc-noisefreeSUVR_pet").dataobj)
    brain = np.asanyarray(_gt(run, "desc-brain_mask").dataobj) > 0
    assert np.corrcoef(suvr[brain], truth[brain])[0, 1] > 0.85
    sidecar = json.loads(
        (
            run["der"] / "pet" / f"{run['prefix']}_trc-FDG_space-T1w_desc-preproc_pet.json"
        ).read_text()
    )
    assert sidecar["Units"] == "SUVR" and sidecar["SpatialReference"].endswith(
        "desc-preproc_T1w.nii.gz"
    )


@pytest.mark.slow
def test_adc_of_lesion_against_normal_tissue(run):
    lesion = json.loads((run["gt"] / f"{run['prefix']}_lesion.json").read_text())
    core = np.asanyarray(_gt(run, "desc-core_mask").dataobj) > 0
    if lesion["stage"] == "n/a" or core.sum() < 20:
        pytest.skip("this session has no lesion large enough")
    adc = _on(_der(run, "dwi", "space-T1w_desc-adc_dwi"), _gt(run, "desc-brain_mask"), "linear")
    tissue = (np.asanyarray(_gt(run, "label-WM_probseg").dataobj) > 0.9) & ~core
    ratio = np.median(adc[core]) / np.median(adc[tissue])
    expected = {"acute": (0.3, 0.8), "subacute": (0.75, 1.35), "chronic": (1.2, 4.0)}
    low, high = expected[lesion["stage"]]
    assert low <= ratio <= high, f"{lesion['stage']} lesion ADC ratio {ratio:.2f}"
    assert 0.6 <= np.median(adc[tissue]) <= 0.9  # white matter ADC in 1e-3 mm^2/s


@pytest.mark.slow
def test_model_grid_inputs(run):
    grid = "space-MNI152NLin2009aSym_res-2"
    mask = _der(run, "anat", f"{grid}_label-brain_desc-model_mask")
    inside = np.asanyarray(mask.dataobj) > 0
    assert mask.shape == DEFAULT_SHAPE and 900e3 < inside.sum() * 8 < 2200e3  # mm^3
    for datatype, name in (("anat", "desc-model_T1w"), ("anat", "desc-model_T2w"),
                           ("anat", "desc-model_FLAIR"), ("dwi", "desc-modeltrace_dwi"),
                           ("dwi", "desc-modeladc_dwi"), ("pet", "trc-FDG_" + grid + "_desc-model_pet")):  # fmt: skip
        full = name if name.startswith("trc") else f"{grid}_{name}"
        img = _der(run, datatype, full)
        data = np.asanyarray(img.dataobj)
        assert img.shape == DEFAULT_SHAPE and data.dtype == np.float32, name
        np.testing.assert_allclose(img.affine, mask.affine)
        assert not data[~inside].any() and np.median(data[inside]) > 0, name


@pytest.mark.slow
def test_resume_does_not_redo_finished_nodes(run):
    """A re-run reuses every cached node; a node lost to a kill is redone alone."""
    work = run["work"] / "preproc_wf"
    results = {p: p.stat().st_mtime_ns for p in work.rglob("result_*.pklz") if "/ds_" not in str(p)}
    lost = work / "pet_wf" / "suvr_to_grid"
    for path in lost.iterdir():  # a kill before the node finished leaves no result
        if path.is_file():
            path.unlink()
    run["rebuild"]().run(plugin="Linear")
    redone = {p for p, t in results.items() if not p.exists() or p.stat().st_mtime_ns != t}
    assert redone == {p for p in results if p.parent == lost}
    assert (lost / "grid_suvr.nii.gz").exists()


def test_reference_choice_and_broken_inputs(tmp_path):
    t2 = tmp_path / "t2.nii.gz"
    flair = tmp_path / "flair.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.float32), np.diag([3.0, 3, 3, 1])), t2)
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.float32), np.diag([1.0, 1, 4, 1])), flair)
    assert choose_reference({"T1w": None, "FLAIR": str(flair), "T2w": str(t2)}) == "FLAIR"
    assert choose_reference({"T1w": "x", "FLAIR": str(flair)}) == "T1w"
    empty = tmp_path / "empty_T1w.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), empty)
    with pytest.raises(InputImageError, match=f"{empty}: image is empty"):
        init_preproc_wf(subject="01", session=None, output_dir=tmp_path, t1w=str(empty))
    with pytest.raises(InputImageError, match="no structural image"):
        init_preproc_wf(subject="01", session=None, output_dir=tmp_path, pet=str(t2))


def test_stroke_protocol_without_t1w_builds_in_flair_space(tmp_path):
    """FLAIR + provided ADC (no T1w, no DWI series): FLAIR is the reference space."""
    flair, adc = tmp_path / "sub-01_FLAIR.nii.gz", tmp_path / "sub-01_ADC.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((6, 6, 6), np.float32), np.diag([1.0, 1, 3, 1])), flair)
    nib.save(nib.Nifti1Image(np.full((6, 6, 6), 800.0, np.float32), np.eye(4) * 2), adc)
    wf = init_preproc_wf(subject="01", session=None, output_dir=tmp_path / "out",
                         flair=str(flair), adc=str(adc), write_model_inputs=True)  # fmt: skip
    assert wf.get_node("outputnode").inputs.reference_space == "FLAIR"
    names = set(wf.list_node_names())
    assert {"dwi_wf.standardise_adc", "anat_reference_wf.template_registration",
            "ds_anat_preproc", "ds_dwigrid_grid_adc"} <= names  # fmt: skip
    sink = wf.get_node("ds_anat_labels")
    assert sink.inputs.entities["space"] == "FLAIR" and sink.inputs.suffix == "dseg"


def test_atlas_sidecar_descriptions_name_the_atlas():
    assert _description({"atlas": "Arterial"}, "dseg", "T2w") == (
        "32-label arterial territory atlas (Liu et al. 2023) in the T2w space"
    )
    assert _description({"atlas": "ArterialTerritories"}, "dseg", "T1w").startswith(
        "nine arterial territories per hemisphere"
    )
