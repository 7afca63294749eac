"""The participant report is built from what is on disk: inputs, figures, tables, crashes."""

import json
import os
import re

import pytest

from gausspet_bids.bids.discovery import SessionInputs, SkippedFile
from gausspet_bids.bids.image_check import ImageInfo
from gausspet_bids.reports.participant_report import (
    collect_crashes,
    collect_figures,
    write_participant_report,
)

RUN_ID = "20260101-000000_abcdef12"


def _session():
    s = SessionInputs(
        subject="01",
        session="1",
        flair="/d/sub-01_ses-1_FLAIR.nii.gz",
        accepted_contrasts=["FLAIR"],
    )
    s.images[s.flair] = ImageInfo(path=s.flair, shape=[40, 50, 12], voxel_size_mm=[1.0, 1.0, 3.0])
    s.skipped.append(
        SkippedFile(
            "/d/sub-01_ses-1_T1w.nii", "unusable T1w: not a NIfTI image: the file is only 1 byte"
        )
    )
    return s


def _crash(log_dir):
    """A real Nipype crash file, from a node that raises."""
    os.environ.setdefault("NIPYPE_NO_ET", "1")
    from nipype.interfaces import utility as niu
    from nipype.pipeline import engine as pe

    def explode(x):
        raise ValueError(f"bad value {x}")

    wf = pe.Workflow(name="wf", base_dir=str(log_dir.parent / "work"))
    node = pe.Node(
        niu.Function(input_names=["x"], output_names=["y"], function=explode), name="explode"
    )
    node.inputs.x = 3
    wf.add_nodes([node])
    wf.config["execution"].update(crashdump_dir=str(log_dir), crashfile_format="txt")
    with pytest.raises(Exception):  # noqa: B017 - Nipype's exception type depends on the plugin
        wf.run(plugin="Linear")


def test_report_sections_from_disk(tmp_path):
    out = tmp_path / "out"
    figures = out / "sub-01" / "figures"
    figures.mkdir(parents=True)
    (figures / "sub-01_ses-1_desc-synthesis_pet.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg'/>"
    )
    (figures / "sub-01_ses-1_desc-synthesis_pet.json").write_text(
        json.dumps({"title": "Synthetic PET", "caption": "three orthogonal views"})
    )
    (figures / "sub-01_ses-1_desc-mask_T1w.png").write_bytes(b"\x89PNG\r\n")
    table_dir = out / "sub-01" / "ses-1" / "pet"
    table_dir.mkdir(parents=True)
    (table_dir / "sub-01_ses-1_desc-territories_regions.tsv").write_text(
        "region\tsuvr\nACA_L\t1.02\nMCA_R\t0.71\n"
    )
    log_dir = out / "sub-01" / "log" / RUN_ID
    log_dir.mkdir(parents=True)
    (log_dir / "config.json").write_text(
        json.dumps({"options": {"sloppy": True, "output_spaces": ["T1w"]}})
    )
    _crash(log_dir)

    path = write_participant_report(
        output_dir=out, subject="01", sessions=[_session()], run_id=RUN_ID, status="failed",
        message="explode failed", command_line=["gausspet", "/in put", "/out", "participant"],
        methods="Inputs were found with PyBIDS.",
    )  # fmt: skip
    assert path == out / "sub-01.html"
    html = path.read_text()
    assert "<h2>synthesis</h2>" in html and "<h2>mask</h2>" in html
    assert 'src="sub-01/figures/sub-01_ses-1_desc-synthesis_pet.svg"' in html
    assert "Synthetic PET</strong>: three orthogonal views" in html
    assert "<td>MCA_R</td><td>0.71</td>" in html
    assert "sub-01/ses-1/pet/sub-01_ses-1_desc-territories_regions.tsv" in html  # outputs list
    assert "<td>40×50×12</td><td>1×1×3</td>" in html
    assert "the file is only 1 byte" in html
    assert re.search(r"Node <code>wf\.explode</code>: ValueError: bad value 3", html)
    assert "gausspet &#39;/in put&#39; /out participant" in html  # shell-quoted, escaped
    assert 'href="sub-01/log/20260101-000000_abcdef12/config.json"' in html
    assert "Inputs were found with PyBIDS [3]." in html  # cited (after gausspet, Nipype)
    assert "<tr><th>sloppy</th><td><code>True</code></td></tr>" in html
    assert "<th>output_spaces</th><td><code>[&#34;T1w&#34;]</code>" in html
    # self-contained: no scripts, no remote resources
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_crash_summary_and_empty_folders(tmp_path):
    log_dir = tmp_path / "log"
    assert collect_crashes(log_dir) == []
    log_dir.mkdir()
    _crash(log_dir)
    (crash,) = collect_crashes(log_dir)
    assert crash["node"] == "wf.explode" and crash["error"] == "ValueError: bad value 3"
    assert crash["file"].startswith("crash-") and "Traceback" in crash["text"]
    assert collect_figures(tmp_path / "sub-01", tmp_path) == []


def test_skipped_participant_report(tmp_path):
    s = SessionInputs(subject="03", session=None, accepted_contrasts=["T1w", "FLAIR"])
    html = write_participant_report(
        output_dir=tmp_path, subject="03", sessions=[s], run_id=RUN_ID, status="skipped",
        message=s.skip_reason,
    ).read_text()  # fmt: skip
    assert (
        "Skipped: sub-03: no usable MRI contrast among those the model accepts (T1w, FLAIR)" in html
    )
    assert "(not written)" in html  # no config snapshot was found
