"""compare_outputs finds the differences that matter between two runs and only those."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from compare_outputs import compare_trees, main  # noqa: E402


def _write_run(root: Path, scale: float = 1.0, container: str = "docker", data: str = "/data"):
    (root / "sub-01" / "pet").mkdir(parents=True)
    values = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * scale
    nib.save(nib.Nifti1Image(values, np.eye(4)), root / "sub-01" / "pet" / "sub-01_pet.nii.gz")
    (root / "sub-01" / "pet" / "sub-01_pet.json").write_text(
        json.dumps({"Sources": [f"{data}/sub-01/anat/sub-01_T1w.nii.gz"], "Units": "SUVR"})
    )
    (root / "dataset_description.json").write_text(
        json.dumps({"GeneratedBy": [{"Name": "gausspet", "Container": {"Type": container}}]})
    )
    (root / "group.tsv").write_text(f"participant_id\tsuvr\nsub-01\t{1.25 * scale}\n")
    (root / "sub-01.html").write_text(f"<p>{container}</p>")


def test_identical_runs_in_different_places_agree(tmp_path: Path) -> None:
    _write_run(tmp_path / "host", container="none", data="/home/me/phantom")
    _write_run(tmp_path / "ctr", container="docker", data="/data")
    problems, summary = compare_trees(
        tmp_path / "host", tmp_path / "ctr", roots=[("/home/me/phantom", "/data")]
    )
    assert problems == []
    assert summary == {"files": 5, "images": 1, "tables": 1, "json": 2, "max_image_diff": 0.0}


def test_value_differences_and_missing_files_are_reported(tmp_path: Path) -> None:
    _write_run(tmp_path / "a")
    _write_run(tmp_path / "b", scale=1.001)
    (tmp_path / "b" / "extra.tsv").write_text("x\n1\n")
    problems, summary = compare_trees(tmp_path / "a", tmp_path / "b")
    text = "\n".join(problems)
    assert f"only in {tmp_path / 'b'}: extra.tsv" in text
    assert "max |difference| 0.023" in text  # 23 * 0.001, the largest voxel
    assert "group.tsv: [0]/suvr: 1.25 != 1.25125" in text
    assert summary["max_image_diff"] == np.float32(23 * 1.001) - 23
    assert "Sources" not in text  # same paths on both sides
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
