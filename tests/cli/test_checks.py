"""Every bad argument stops the run up front with a one-line error naming the problem."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gausspet_bids import __version__
from gausspet_bids.cli.checks import UsageError, check_output_dir
from gausspet_bids.cli.run import main

_spec = importlib.util.spec_from_file_location(
    "tiny_bids", Path(__file__).parents[1] / "bids" / "tiny_bids.py"
)
tiny_bids_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_bids_module)


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    return tiny_bids_module.make_tiny_bids(
        tmp_path_factory.mktemp("cli") / "bids",
        {"01": {"a": ("T1w",)}, "02": {"a": ("FLAIR",), "b": ("T1w",)}},
    )


def _run(capsys, *args):
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, err


def _err(capsys, bids, tmp_path, *extra):
    return _run(capsys, bids, tmp_path / "out", "participant", "-w", tmp_path / "work", *extra)


def test_bids_dir_missing(capsys, tmp_path):
    code, err = _run(capsys, tmp_path / "nowhere", tmp_path / "out", "participant")
    assert code == 2 and "nowhere does not exist" in err and err.count("\n") == 1


def test_bids_dir_without_description(capsys, tmp_path):
    (tmp_path / "raw" / "sub-01").mkdir(parents=True)
    code, err = _run(capsys, tmp_path / "raw", tmp_path / "out", "participant")
    assert code == 2 and "is not a BIDS dataset: it has no dataset_description.json" in err


def test_output_dir_placement(capsys, bids, tmp_path):
    code, err = _run(capsys, bids, bids, "participant", "-w", tmp_path / "w")
    assert code == 2 and "is BIDS_DIR" in err
    code, err = _run(capsys, bids, bids / "sub-01" / "out", "participant", "-w", tmp_path / "w")
    assert code == 2 and "inside BIDS_DIR's raw data" in err
    code, err = _run(capsys, bids, bids / "derivatives", "participant", "-w", tmp_path / "w")
    assert code == 2 and "inside BIDS_DIR's raw data" in err
    code, err = _run(capsys, bids, bids.parent, "participant", "-w", tmp_path / "w")
    assert code == 2 and "contains BIDS_DIR" in err
    resolved = bids.resolve()
    assert (
        check_output_dir(resolved / "derivatives" / "gausspet", resolved)
        == resolved / "derivatives" / "gausspet"
    )


def test_work_dir_inside_bids(capsys, bids, tmp_path):
    code, err = _run(capsys, bids, tmp_path / "out", "participant", "-w", bids / "work")
    assert code == 2 and "work dir" in err and "is inside BIDS_DIR" in err


def test_default_work_dir_inside_bids(capsys, bids, tmp_path, monkeypatch):
    monkeypatch.chdir(bids)
    code, err = _run(capsys, bids, tmp_path / "out", "participant")
    assert code == 2 and "the default is ./work" in err


def test_unknown_participant_lists_existing(capsys, bids, tmp_path):
    code, err = _err(capsys, bids, tmp_path, "--participant-label", "sub-01", "07")
    assert code == 2 and "unknown participant label(s) 07" in err and "existing: 01, 02" in err


def test_unknown_session(capsys, bids, tmp_path):
    code, err = _err(
        capsys, bids, tmp_path, "--participant-label", "01", "--session-label", "ses-b"
    )
    assert code == 2 and "unknown session label(s) b; existing: a" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{t1w: 1}", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object, not list"),
        ('{"bold": {}}', "unknown key(s) bold; allowed: t1w, t2w, flair, dwi, adc, pet"),
        ('{"t1w": "mprage"}', "'t1w' must map entities to values"),
        ('{"t1w": {"acq": "mprage"}}', "unknown BIDS entit(ies) acq"),
    ],
)
def test_bad_filter_file(capsys, bids, tmp_path, content, message):
    path = tmp_path / "filter.json"
    if content is not None:
        path.write_text(content)
    code, err = _err(capsys, bids, tmp_path, "--bids-filter-file", path)
    assert code == 2 and "--bids-filter-file" in err and message in err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{n_procs: 2}", "is not valid JSON"),
        ("no_such_file.json", "neither a JSON object nor an existing file"),
    ],
)
def test_bad_plugin_args(capsys, bids, tmp_path, value, message):
    code, err = _err(capsys, bids, tmp_path, "--plugin-args", value)
    assert code == 2 and "--plugin-args" in err and message in err


def test_plugin_args_file_must_hold_object(capsys, bids, tmp_path):
    path = tmp_path / "plugin.json"
    path.write_text("[1]")
    code, err = _err(capsys, bids, tmp_path, "--plugin-args", path)
    assert code == 2 and f"--plugin-args file {path} must be a JSON object, not list" in err


def test_bad_numbers(capsys, bids, tmp_path):
    assert "--nprocs must be at least 1, got 0" in _err(capsys, bids, tmp_path, "--nprocs", "0")[1]
    assert "--mem-gb must be positive" in _err(capsys, bids, tmp_path, "--mem-gb", "-1")[1]
    code, err = _err(capsys, bids, tmp_path, "--pet-time-window", "60", "30")
    assert code == 2 and "START < END" in err


def test_cuda_without_cuda(capsys, bids, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, err = _err(capsys, bids, tmp_path, "--device", "cuda")
    assert code == 2 and "--device cuda: CUDA is not available" in err


def test_missing_model(capsys, bids, tmp_path):
    code, err = _err(capsys, bids, tmp_path, "--model", tmp_path / "model.json")
    assert code == 2 and "--model" in err and "does not exist" in err


def test_invalid_bids_reported_before_processing(capsys, bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(bids, root)
    (root / "sub-02" / "ses-b" / "anat" / "sub-02_ses-b_T1w.nii.gz").write_bytes(b"x")
    code, err = _run(capsys, root, tmp_path / "out", "participant", "-w", tmp_path / "work")
    assert code == 1
    assert "not a valid BIDS dataset" in err and "--skip-bids-validation" in err
    assert "/sub-02/ses-b/anat/sub-02_ses-b_T1w.nii.gz: NIFTI_HEADER_UNREADABLE" in err
    assert not (tmp_path / "out").exists()  # nothing processed


def test_incompatible_output_refused(capsys, bids, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "dataset_description.json").write_text(
        json.dumps(
            {"Name": "x", "DatasetType": "derivative", "GeneratedBy": [{"Name": "fmriprep"}]}
        )
    )
    code, err = _err(capsys, bids, tmp_path, "--skip-bids-validation")
    assert code == 2 and "describes another dataset" in err


def test_usage_error_code():
    assert UsageError("x").exit_code == 2


def test_python_m_and_version():
    proc = subprocess.run(
        [sys.executable, "-m", "gausspet_bids", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == f"gausspet {__version__}"
