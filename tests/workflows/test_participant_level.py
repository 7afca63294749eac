"""End-to-end participant level on a tiny valid dataset: skeleton, snapshot, report, failures."""

import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gausspet_bids.bids.discovery import discover
from gausspet_bids.bids.validator import validate
from gausspet_bids.cli.run import main
from gausspet_bids.workflows.participant_level import (
    StageOptions,
    init_single_subject_wf,
    methods_text,
    nipype_execution_config,
    plugin_settings,
    run_participant_level,
)

_spec = importlib.util.spec_from_file_location(
    "tiny_bids", Path(__file__).parents[1] / "bids" / "tiny_bids.py"
)
tiny_bids_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_bids_module)

LAYOUT = {
    "01": {"1": ("T1w", "FLAIR", "pet"), "2": ("FLAIR", "ADC")},
    "02": {None: ("T2w", "dwi")},
    "03": {None: ("pet",)},  # no MRI: skipped, not failed
}


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    return tiny_bids_module.make_tiny_bids(tmp_path_factory.mktemp("pl") / "bids", LAYOUT)


def _truncate_data(path: Path) -> None:
    """Keep the header and the central slice readable; cut the rest of the data."""
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: int(len(raw) * 0.7)]))


@pytest.mark.slow
def test_participant_level_end_to_end(bids, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [str(bids), str(out), "participant", "-w", str(tmp_path / "work"), "--plugin", "Linear",
         "--dry-run"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "[3/3] sub-03: skipped" in err and "2 done, 1 skipped, 0 failed" in err
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["GeneratedBy"][0]["Name"] == "gausspet"
    logs = list((out / "sub-01" / "log").iterdir())
    assert len(logs) == 1 and re.fullmatch(r"\d{8}-\d{6}_[0-9a-f]{8}", logs[0].name)
    config = json.loads((logs[0] / "config.json").read_text())
    assert config["run_id"] == logs[0].name
    assert (
        config["options"]["bids_dir"] == str(bids.resolve())
        and config["options"]["plugin"] == "Linear"
    )
    assert config["execution"]["nipype"]["crashdump_dir"] == str(logs[0])
    assert [s["label"] for s in config["inputs"]] == ["sub-01_ses-1", "sub-01_ses-2"]
    summary = json.loads((logs[0] / "sub-01_ses-1_inputs.json").read_text())
    assert (
        summary["images"]["t1w"]["shape"] == [50, 59, 48] and summary["images"]["t1w"]["max"] > 100
    )
    assert (out / "sub-01" / "ses-1").is_dir() and (out / "sub-02").is_dir()
    report = (out / "sub-01.html").read_text()
    assert "sub-01_ses-2_desc-ADC_dwi.nii.gz" in report and "Contrasts used: FLAIR, ADC" in report
    assert "No errors." in report and config["run_id"] in report
    skipped = (out / "sub-03.html").read_text()
    assert "Skipped: sub-03: no usable MRI contrast" in skipped
    assert (out / "sub-03" / "log").is_dir()  # a skipped participant still gets its snapshot
    assert validate(out).valid


@pytest.mark.slow
def test_failing_participant_does_not_stop_another(bids, tmp_path, capsys):
    root = tmp_path / "bids"
    shutil.copytree(bids, root)
    _truncate_data(root / "sub-02" / "anat" / "sub-02_T2w.nii.gz")
    out = tmp_path / "out"
    code = main(
        [str(root), str(out), "participant", "-w", str(tmp_path / "work"), "--plugin", "Linear",
         "--skip-bids-validation", "--participant-label", "02", "01", "--dry-run"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "sub-01: done" in err and "sub-02: failed" in err
    assert (out / "sub-01.html").exists() and (out / "dataset_description.json").exists()
    log = next((out / "sub-02" / "log").iterdir())
    crashes = list(log.glob("crash-*.txt"))
    assert len(crashes) == 1 and (log / "config.json").exists()
    report = (out / "sub-02.html").read_text()
    assert 'Status: <strong class="status-failed">failed' in report
    assert "summarise_inputs" in report and "cannot read the t2w image" in report


def test_stop_on_first_crash(bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(bids, root)
    _truncate_data(root / "sub-01" / "ses-1" / "anat" / "sub-01_ses-1_T1w.nii.gz")
    sessions = discover(root, participant_labels=["01", "02"])
    outcomes = run_participant_level(
        sessions=sessions, bids_dir=root, output_dir=tmp_path / "out", work_dir=tmp_path / "work",
        run_id="20260101-000000_abcdef12", options=StageOptions(dry_run=True), plugin="Linear",
        stop_on_first_crash=True,
    )  # fmt: skip
    assert [(o.subject, o.status) for o in outcomes] == [("01", "failed")]
    assert (tmp_path / "out" / "sub-01.html").exists()


def test_workflow_structure(bids):
    sessions = discover(bids, participant_labels=["01"])
    wf = init_single_subject_wf(
        subject="01", sessions=sessions, output_dir=Path("/o"), log_dir=Path("/o/log"),
        options=StageOptions(dry_run=True),
    )  # fmt: skip
    names = sorted(wf.list_node_names())
    assert names == [
        f"ses_{s}_wf.{n}" for s in (1, 2) for n in ("inputnode", "outputnode", "summarise_inputs")
    ]
    ses2 = wf.get_node("ses_2_wf")
    assert ses2.get_node("inputnode").inputs.adc.endswith("_desc-ADC_dwi.nii.gz")
    assert "contrasts: FLAIR, ADC" in methods_text(wf)


def test_plugin_settings():
    multi = plugin_settings("MultiProc", {"maxtasksperchild": 1}, nprocs=3, mem_gb=8.0)
    assert multi == {
        "plugin": "MultiProc",
        "plugin_args": {
            "maxtasksperchild": 1,
            "n_procs": 3,
            "memory_gb": 8.0,
            "raise_insufficient": False,
            "mp_context": "forkserver",
        },
    }
    assert plugin_settings("SLURM", {"sbatch_args": "-p x"}, nprocs=3, mem_gb=None) == {
        "plugin": "SLURM",
        "plugin_args": {"sbatch_args": "-p x"},
    }


_ONE_NODE_RUN = """
import sys
from nipype.interfaces.utility import Function
from nipype.pipeline import engine as pe
from gausspet_bids.workflows.participant_level import plugin_settings, set_nipype_log_level

def double(x):
    return 2 * x

if __name__ == "__main__":
    set_nipype_log_level(sys.argv[1], sys.argv[2])
    wf = pe.Workflow(name="wf", base_dir=sys.argv[3])
    node = pe.Node(Function(function=double, input_names=["x"], output_names=["y"]),
                   name="double")  # fmt: skip
    node.inputs.x = 2
    wf.add_nodes([node])
    wf.run(**plugin_settings("MultiProc", {}, nprocs=1, mem_gb=None))
"""


@pytest.mark.slow
@pytest.mark.parametrize("level, printed", [("WARNING", False), ("INFO", True)])
def test_multiproc_workers_follow_the_log_level(tmp_path, level, printed):
    """Nipype's MultiProc workers (forkserver: fresh interpreters) print each node at INFO
    unless the level reaches them through NIPYPE_CONFIG_DIR: quiet by default. (Without the
    work dir, i.e. before this was fixed, the WARNING run printed every node too.)"""
    script = tmp_path / "run.py"
    script.write_text(_ONE_NODE_RUN)
    env = {k: v for k, v in os.environ.items() if k != "NIPYPE_CONFIG_DIR"}
    work = str(tmp_path / "work")
    proc = subprocess.run(
        [sys.executable, str(script), level, work, str(tmp_path / "base")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert ('[Node] Finished "double"' in proc.stdout) is printed, proc.stdout
    cfg = tmp_path / "work" / ".gausspet" / f"nipype-{level}" / "nipype.cfg"
    assert f"workflow_level = {level}" in cfg.read_text()


@pytest.mark.slow
def test_two_participants_at_once_into_one_output(bids, tmp_path):
    """Two jobs (as a cluster array would run them) share OUTPUT_DIR without clobbering."""
    out = tmp_path / "out"
    jobs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gausspet_bids",
                str(bids),
                str(out),
                "participant",
                "--participant-label",
                label,
                "-w",
                str(tmp_path / f"work{label}"),
                "--plugin",
                "Linear",
                "--skip-bids-validation",
                "--dry-run",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for label in ("01", "02")
    ]
    outputs = [job.communicate(timeout=300) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    assert all("INFO" not in stdout for stdout, _ in outputs)  # quiet by default
    assert json.loads((out / "dataset_description.json").read_text())["DatasetType"] == "derivative"
    assert (out / "sub-01.html").exists() and (out / "sub-02.html").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".bidsignore"]


def test_full_workflow_has_every_stage(bids):
    """Without --dry-run each session runs preprocessing, synthesis and scoring."""
    sessions = discover(bids, participant_labels=["01"])
    wf = init_single_subject_wf(
        subject="01", sessions=sessions, output_dir=Path("/o"), log_dir=Path("/o/log"),
        options=StageOptions(sloppy=True),
    )  # fmt: skip
    names = set(wf.list_node_names())
    for stage in ("preproc_wf", "synthesis_wf.gausspet", "scoring_wf", "ds_pet_T1w"):
        assert any(f"ses_1_wf.processing_wf.{stage}" in n for n in names), stage
    ses2 = {n for n in names if n.startswith("ses_2_wf.")}
    # session 2 has FLAIR + ADC only: FLAIR is the reference space, both feed the model
    assert any("ds_pet_FLAIR" in n for n in ses2)
    synth = wf.get_node("ses_2_wf.processing_wf.synthesis_wf.gausspet")
    assert synth.inputs.contrasts == ["FLAIR", "ADC"]


def test_nipype_execution_config_polls_fast_and_writes_text_crashfiles(tmp_path):
    """Nipype's default 2 s poll made a sloppy participant take 133 s instead of 73 s."""
    config = nipype_execution_config(crashdump_dir=tmp_path / "log", stop_on_first_crash=False)
    assert config["poll_sleep_duration"] <= 0.2
    assert config["crashdump_dir"] == str(tmp_path / "log") and config["crashfile_format"] == "txt"
    assert config["stop_on_first_crash"] is False
