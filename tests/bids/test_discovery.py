import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from gausspet_bids.bids.discovery import discover, is_fdg, list_participants, list_sessions

EXAMPLES = Path("/work/shared/data/bids-examples")
needs_examples = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="bids-examples not available")


def _by_label(sessions):
    return {s.label: s for s in sessions}


def test_sessions_and_missing_contrasts(tiny_bids):
    found = _by_label(discover(tiny_bids))
    assert list(found) == ["sub-01_ses-1", "sub-01_ses-2", "sub-02", "sub-03"]
    s1 = found["sub-01_ses-1"]
    assert s1.contrasts == ["T1w", "FLAIR", "DWI", "ADC"]  # ADC from the 4D series
    assert s1.dwi.endswith("sub-01_ses-1_dwi.nii.gz")
    assert s1.dwi_bval.endswith("_dwi.bval") and s1.dwi_bvec.endswith("_dwi.bvec")
    assert s1.pet.tracer == "FDG" and s1.pet.n_frames == 1 and s1.pet.frame_duration == [900]
    assert s1.pet.sidecar.endswith("sub-01_ses-1_trc-FDG_pet.json")
    s2 = found["sub-01_ses-2"]
    assert s2.contrasts == ["FLAIR", "ADC"] and s2.adc.endswith("_desc-ADC_dwi.nii.gz")
    assert s2.dwi is None and s2.pet is None
    assert found["sub-02"].contrasts == ["T2w"] and found["sub-02"].session is None
    sub3 = found["sub-03"]
    assert not sub3.usable and sub3.pet is not None
    assert "no usable MRI contrast" in sub3.skip_reason and "T1w" in sub3.skip_reason
    json.dumps([s.to_dict() for s in found.values()])  # JSON-able
    paths = s1.paths()
    assert paths["bval"] == s1.dwi_bval and paths["pet_json"] == s1.pet.sidecar
    assert paths["t2w"] is None and paths["trace"] is None
    assert s2.paths()["adc"] == s2.adc


def test_accepted_contrasts_decide(tiny_bids):
    found = _by_label(discover(tiny_bids, accepted_contrasts=["T1w"]))
    assert found["sub-01_ses-1"].contrasts == ["T1w"]
    assert any("FLAIR" in n for n in found["sub-01_ses-1"].notes)
    assert not found["sub-01_ses-2"].usable
    assert "found only FLAIR, ADC" in found["sub-01_ses-2"].skip_reason


def test_selection_of_participants_and_sessions(tiny_bids):
    labels = [s.label for s in discover(tiny_bids, participant_labels=["01"], session_labels=["2"])]
    assert labels == ["sub-01_ses-2"]
    assert list_participants(tiny_bids) == ["01", "02", "03"]
    assert list_sessions(tiny_bids) == ["1", "2"]


def _copy_with_runs(tiny_bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(tiny_bids, root)
    anat = root / "sub-02" / "anat"
    src = anat / "sub-02_T2w.nii.gz"
    for name in ("sub-02_run-1_T2w", "sub-02_run-2_T2w", "sub-02_acq-fast_run-3_T2w"):
        shutil.copy(src, anat / f"{name}.nii.gz")
    src.unlink()
    return root


def test_multiple_runs_choose_highest_run(tiny_bids, tmp_path):
    root = _copy_with_runs(tiny_bids, tmp_path)
    sub2 = _by_label(discover(root, participant_labels=["02"]))["sub-02"]
    assert sub2.t2w.endswith("sub-02_acq-fast_run-3_T2w.nii.gz")
    assert sorted(Path(s.path).name for s in sub2.skipped) == [
        "sub-02_run-1_T2w.nii.gz",
        "sub-02_run-2_T2w.nii.gz",
    ]
    # an unusable preferred run falls back to the next one, and is reported by name
    (root / "sub-02" / "anat" / "sub-02_acq-fast_run-3_T2w.nii.gz").write_bytes(b"x")
    sub2 = _by_label(discover(root, participant_labels=["02"]))["sub-02"]
    assert sub2.t2w.endswith("sub-02_run-2_T2w.nii.gz")
    assert any("run-3" in s.path and "only 1 byte" in s.reason for s in sub2.skipped)


def test_bids_filters_as_fmriprep(tiny_bids, tmp_path):
    root = _copy_with_runs(tiny_bids, tmp_path)
    sub2 = _by_label(
        discover(
            root, participant_labels=["02"], bids_filters={"t2w": {"acquisition": None, "run": 1}}
        )
    )["sub-02"]
    assert sub2.t2w.endswith("sub-02_run-1_T2w.nii.gz")
    none = _by_label(
        discover(root, participant_labels=["02"], bids_filters={"pet": {"tracer": "DASB"}})
    )
    assert none["sub-02"].pet is None


def test_dynamic_pet_frames_checked(tiny_bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(tiny_bids, root)
    pet = root / "sub-02" / "pet" / "sub-02_trc-FDG_pet.nii.gz"
    img = nib.load(pet)
    data = np.stack([np.asanyarray(img.dataobj)] * 3, axis=-1)
    nib.save(nib.Nifti1Image(data, img.affine), str(pet))
    sidecar = pet.with_name("sub-02_trc-FDG_pet.json")
    meta = json.loads(sidecar.read_text())
    meta.update(FrameTimesStart=[0, 600, 1200], FrameDuration=[600, 600, 600])
    sidecar.write_text(json.dumps(meta))
    found = _by_label(discover(root, participant_labels=["02"]))["sub-02"]
    assert found.pet.n_frames == 3 and found.pet.frame_times_start == [0, 600, 1200]
    meta.update(FrameDuration=[600, 600])
    sidecar.write_text(json.dumps(meta))
    found = _by_label(discover(root, participant_labels=["02"]))["sub-02"]
    assert found.pet is None and found.usable  # the MRI goes on without PET
    assert any("3 frames but the sidecar FrameDuration has 2" in s.reason for s in found.skipped)


def test_broken_pet_sidecar_is_reported(tiny_bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(tiny_bids, root)
    (root / "sub-02" / "pet" / "sub-02_trc-FDG_pet.json").write_text("{broken")
    found = _by_label(discover(root, participant_labels=["02"]))["sub-02"]
    assert found.pet is None and found.usable
    (skipped,) = found.skipped
    assert skipped.path.endswith("sub-02_trc-FDG_pet.nii.gz")
    assert "sub-02_trc-FDG_pet.json is not valid JSON" in skipped.reason


def test_dwi_without_gradients_is_unusable(tiny_bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(tiny_bids, root)
    (root / "sub-01" / "ses-1" / "dwi" / "sub-01_ses-1_dwi.bvec").unlink()
    s1 = _by_label(discover(root, participant_labels=["01"], session_labels=["1"]))["sub-01_ses-1"]
    assert s1.dwi is None and "DWI" not in s1.contrasts
    assert any("no .bvec file" in s.reason for s in s1.skipped)


def test_fdg_names():
    assert all(
        map(is_fdg, ["FDG", "[18F]FDG", "18F-FDG", "fluorodeoxyglucose", "[18F]-fludeoxyglucose"])
    )
    assert not any(map(is_fdg, ["DASB", "CIMBI-36", "AZ-10419369", "PiB", None, ""]))


@needs_examples
def test_bids_examples_discovered_without_crash():
    expected = {
        "pet001": ["sub-01_ses-01"],
        "pet002": [
            "sub-01_ses-baseline",
            "sub-01_ses-rescan",
            "sub-02_ses-baseline",
            "sub-02_ses-rescan",
        ],
        "pet003": ["sub-01_ses-01"],
        "pet004": ["sub-01"],
        "pet005": ["sub-01_ses-baseline", "sub-01_ses-intervention"],
    }
    tracers = {
        "pet001": "CIMBI36",
        "pet002": "DASB",
        "pet003": "DASB",
        "pet004": "CIMBI-36",
        "pet005": "AZ-10419369",
    }
    problems = {
        "pet001": "HTML page",
        "pet002": "HTML page",
        "pet003": "only 1 byte",
        "pet005": "all zero",
    }
    for name, labels in expected.items():
        found = discover(EXAMPLES / name)
        assert [s.label for s in found] == labels
        for s in found:
            assert not s.usable and s.pet is None  # no FDG, and no usable MRI
            assert any(f"tracer {tracers[name]} is not FDG" in k.reason for k in s.skipped)
            if name in problems:
                t1w = [k for k in s.skipped if k.path.endswith(("_T1w.nii", "_T1w.nii.gz"))]
                assert len(t1w) == 1 and problems[name] in t1w[0].reason
