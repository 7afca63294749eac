"""gausspet-train on a gausspet derivatives folder (``--write-model-inputs``)."""

import json

import nibabel as nib
import numpy as np
import pytest

from gausspet_bids.model.checkpoint import load_model_metadata
from gausspet_bids.preprocessing.model_grid import DEFAULT_SHAPE
from gausspet_bids.training.cli import carve_validation, main
from gausspet_bids.training.cohort import ALL_CONTRASTS, load_subject
from gausspet_bids.training.derivatives import (
    GRID,
    NotDerivativesError,
    aligned_view,
    find_model_inputs,
    split_by_participant,
)


def _fake_derivatives(root, sessions):
    """A derivatives folder with tiny model-grid images: {name: (contrasts, has_pet)}."""
    root.mkdir(parents=True)
    (root / "dataset_description.json").write_text(json.dumps({"DatasetType": "derivative"}))
    img = nib.Nifti1Image(np.ones((4, 4, 4), np.float32), np.eye(4))
    for name, (contrasts, has_pet) in sessions.items():
        folder = root.joinpath(*name.split("_"))
        files = [f"anat/{name}_{GRID}_label-brain_desc-model_mask.nii.gz"]
        files += [f"anat/{name}_{GRID}_desc-model_{c}.nii.gz" for c in contrasts if c != "ADC"]
        files += [f"pet/{name}_trc-FDG_{GRID}_desc-model_pet.nii.gz"] if has_pet else []
        files += [f"dwi/{name}_{GRID}_desc-modeladc_dwi.nii.gz"] if "ADC" in contrasts else []
        for rel in files:
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            nib.save(img, folder / rel)
    return root


def test_model_inputs_are_found_per_session(tmp_path):
    root = _fake_derivatives(tmp_path / "der", {
        "sub-01": (["T1w", "ADC"], True), "sub-02_ses-a": (["FLAIR"], True),
        "sub-02_ses-b": (["FLAIR", "T2w"], False)})  # fmt: skip
    found = find_model_inputs(root)
    assert [(s.participant, s.session) for s in found] == [("01", None), ("02", "a"), ("02", "b")]
    assert set(found[0].contrasts) == {"T1w", "ADC"} and found[0].pet is not None
    assert found[0].contrasts["ADC"].name == f"sub-01_{GRID}_desc-modeladc_dwi.nii.gz"
    assert found[2].pet is None and found[2].mask.name.endswith(
        "label-brain_desc-model_mask.nii.gz"
    )
    view = aligned_view(root, tmp_path / "view", test_fraction=0.0)
    assert sorted(p.name for p in (view / "train" / "PET").iterdir()) == [
        "sub-01.nii.gz", "sub-02_ses-a.nii.gz"]  # fmt: skip
    assert (view / "train" / "MRI" / "FLAIR" / "sub-02_ses-a.nii.gz").resolve() == (
        found[1].contrasts["FLAIR"].resolve()
    )
    assert "sub-02_ses-a\t02\ta\ttrain\tFLAIR" in (view / "split.tsv").read_text()


def test_not_derivatives_or_no_model_inputs_name_the_file(tmp_path):
    with pytest.raises(NotDerivativesError, match="dataset_description.json"):
        find_model_inputs(tmp_path)
    (tmp_path / "dataset_description.json").write_text('{"DatasetType": "derivative"}')
    (tmp_path / "sub-01" / "anat").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="--write-model-inputs"):
        find_model_inputs(tmp_path)
    assert main([str(tmp_path), str(tmp_path / "out"), "-q"]) == 1


def test_splits_keep_a_participant_s_sessions_together():
    labels = [f"{i:02d}" for i in range(1, 11)]
    train, test = split_by_participant(labels + ["03"], 0.2, seed=5)
    assert len(test) == 2 and not set(train) & set(test) and sorted(train + test) == labels
    assert split_by_participant(labels, 0.2, seed=5) == (train, test)
    names = ["sub-01_ses-1", "sub-01_ses-2", "sub-02", "sub-03_ses-1", "sub-03_ses-2"]
    for seed in range(6):
        tr, va = carve_validation(names, 0.34, seed)
        assert {n.split("_")[0] for n in tr}.isdisjoint({n.split("_")[0] for n in va})


@pytest.mark.slow
def test_training_reads_real_derivatives(small_preprocessed, tmp_path):
    """Two sloppy-preprocessed phantom participants are read and a tiny model trains on them."""
    found = find_model_inputs(small_preprocessed.out_dir)
    assert [s.name for s in found] == ["sub-001", "sub-002"]
    assert all(set(s.contrasts) == set(ALL_CONTRASTS) and s.pet and s.mask for s in found)
    view = aligned_view(small_preprocessed.out_dir, tmp_path / "view", test_fraction=0.0)
    subject = load_subject(view, "train", "sub-001", list(ALL_CONTRASTS))
    assert subject.x.shape == (5, *DEFAULT_SHAPE) and subject.presence.tolist() == [1.0] * 5
    inside = subject.mask[0] > 0
    assert 900e3 < float(inside.sum()) * 8 < 2200e3  # brain volume in mm^3 on the 2 mm grid
    medians = [float(subject.x[i][inside & (subject.x[i] > 0)].median()) for i in range(5)]
    assert medians == pytest.approx([1.0] * 5, abs=0.05)  # median normalisation
    assert 0.8 < float(subject.pet[0][inside].median()) < 1.4  # SUVR (cerebellar GM = 1)

    out = tmp_path / "model"
    args = [str(small_preprocessed.out_dir), str(out), "--epochs", "1", "--channels", "4",
            "--depth", "1", "--test-fraction", "0", "--threads", "1", "-q"]  # fmt: skip
    assert main(args) == 0
    rows = (out / "log.tsv").read_text().strip().splitlines()
    assert len(rows) == 3 and all(np.isfinite(float(v)) for v in rows[-1].split("\t"))
    meta = load_model_metadata(out / "model.safetensors")
    assert meta["training_data"]["n_train"] == 1 and meta["training_data"]["n_validation"] == 1
    assert meta["contrasts"] == list(ALL_CONTRASTS)
    assert (out / "cohort" / "split.tsv").read_text().count("\ttrain\t") == 2
