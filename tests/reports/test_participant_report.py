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
    assert '<h2 id="synthesis">synthesis</h2>' in html and '<h2 id="mask">mask</h2>' in html
    assert 'src="sub-01/figures/sub-01_ses-1_desc-synthesis_pet.svg"' in html
    assert "Synthetic PET</strong>: three orthogonal views" in html
    assert '<td class="num">MCA_R</td><td class="num">0.71</td>' in html
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


def test_sections_tables_scores_and_provenance(tmp_path):
    """Figure sections in page order; territory table in long form; scores; model sha256."""
    import numpy as np

    from gausspet_bids.metrics.territories import territory_table

    out = tmp_path / "out"
    figures = out / "sub-01" / "figures"
    figures.mkdir(parents=True)
    for name, section, order in (("hypo", "Hypometabolic region", 1), ("coefB", "Synthesis", 2.01),
                                 ("coefA", "Synthesis", 2.0), ("mask", "Preprocessing checks", 1)):  # fmt: skip
        (figures / f"sub-01_desc-{name}_pet.png").write_bytes(b"\x89PNG\r\n")
        (figures / f"sub-01_desc-{name}_pet.json").write_text(
            json.dumps({"title": name, "caption": "", "section": section, "order": order})
        )
    pet = out / "sub-01" / "pet"
    pet.mkdir()
    dseg = np.array([[[7, 8, 11, 12]]])  # MCA left/right parts
    table = territory_table({"synthetic": np.array([[[1.0, 1.2, 1.0, 1.2]]])}, dseg, 0.008)
    table.to_csv(pet / "sub-01_trc-FDG_space-T1w_atlas-Arterial_desc-gausspet_regions.tsv",
                 sep="\t", index=False, na_rep="n/a")  # fmt: skip
    (pet / "sub-01_trc-FDG_space-T1w_desc-gausspet_metrics.json").write_text(json.dumps({
        "Model": "gausspet", "ImageMetrics": {"PSNR": 21.23456, "SSIM": 0.8, "NCC": 0.9},
        "PublishedMetrics": {"PSNR": 30.1, "SSIM": 0.95},
        "HypometabolicVolumeMl": {"synthetic": {"total": 3.2, "MCA_left": 3.2, "ACA_left": 0.0},
                                  "real": {"total": 4.0, "MCA_left": 4.0, "ACA_left": 0.0}},
        "HypometabolismAgreement": {"Dice": 0.61, "VolumeDifferenceMl": -0.8},
    }))  # fmt: skip
    (pet / "sub-01_trc-FDG_space-T1w_desc-gausspet_pet.json").write_text(json.dumps(
        {"ModelName": "m1", "ModelFile": "m1.safetensors", "ModelSHA256": "ab" * 32}))  # fmt: skip
    html = write_participant_report(
        output_dir=out, subject="01", sessions=[_session()], run_id=RUN_ID, status="done"
    ).read_text()
    heads = re.findall(r"<h2 id=\"([a-z-]+)\"", html)
    assert heads[:6] == ["inputs", "preprocessing-checks", "synthesis", "hypometabolic-region",
                         "tables", "outputs"]  # fmt: skip
    assert html.index("desc-coefA_pet.png") < html.index("desc-coefB_pet.png")
    # territory table: one row per territory and hemisphere, MCA mean 1.0 left / 1.2 right
    row = r'<td class="num">MCA</td><td class="num">left</td><td class="num">0.016</td>'
    assert re.search(row + r'<td class="num">1</td><td class="num">1</td>', html)
    assert re.search(r'<td class="num"></td><td class="num">right</td><td class="num">0.016'
                     r'</td><td class="num">1.2</td>', html)  # fmt: skip
    assert '<td class="num">-0.1818</td>' in html  # asymmetry 2 (1 - 1.2) / 2.2
    # scores: ours beside the published definition; volumes of non-empty regions only
    assert re.search(r"<td class=\"num\">PSNR</td><td class=\"num\">21.23</td>"
                     r"<td class=\"num\">30.1</td>", html)  # fmt: skip
    assert '<td class="num">MCA_left</td>' in html and "ACA_left" not in html
    assert "Dice of the two regions 0.61" in html
    assert "<code>" + "ab" * 32 + "</code>" in html and "m1.safetensors" in html
    assert re.search(r"nibabel \d", html)
