"""The Methods section: built from the workflows actually constructed, with references."""

import re
from pathlib import Path

import pytest
from tiny_bids import make_tiny_bids

from gausspet_bids.bids.discovery import discover
from gausspet_bids.reports.boilerplate import REFERENCES, methods_section
from gausspet_bids.reports.participant_report import write_participant_report
from gausspet_bids.workflows.participant_level import (
    StageOptions,
    init_single_subject_wf,
    methods_text,
)

RUN_ID = "20260101-000000_abcdef12"
VERSIONS = {"Nipype": "1.11.0", "antspyx": "0.5.4", "deepbet": "1.0.2", "PyTorch": "2.13.0",
            "nilearn": "0.12.0", "SciPy": "1.15.3"}  # fmt: skip


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    return make_tiny_bids(tmp_path_factory.mktemp("mb") / "bids", {"01": {None: ("T1w", "pet")}})


@pytest.fixture(scope="module")
def descs(bids) -> dict[bool, str]:
    """The joined ``__desc__`` text of the real participant workflow, full and dry run."""
    sessions = discover(bids, participant_labels=["01"])
    out = {}
    for dry_run in (False, True):
        wf = init_single_subject_wf(
            subject="01", sessions=sessions, output_dir=Path("/o"), log_dir=Path("/o/log"),
            options=StageOptions(sloppy=True, dry_run=dry_run),
        )  # fmt: skip
        out[dry_run] = methods_text(wf)
    return out


def _cited(section) -> set[str]:
    by_text = {text: key for key, text in REFERENCES.items()}
    return {by_text[text] for _, text in section.references}


def test_full_workflow_cites_every_tool_it_uses(descs):
    section = methods_section(descs[False], VERSIONS)
    assert _cited(section) >= {"gausspet", "gaussPET", "nipype", "ants", "n4", "deepbet", "atlas",
                               "nilearn", "pybids", "icbm", "ssim", "torch"}  # fmt: skip
    text = section.text
    assert "Nipype 1.11.0 [" in text and "antspyx 0.5.4" in text and "deepbet 1.0.2" in text
    # references are numbered in order of first citation, each cited once in the paragraphs
    numbers = [int(n) for p in section.paragraphs for n in re.findall(r"\[(\d+)", p)]
    assert numbers == sorted(numbers) == list(range(1, len(section.references) + 1))
    assert section.references[0] == (1, REFERENCES["gausspet"])
    assert "CC BY-SA 4.0" in dict(section.references)[_number(section, "atlas")]


def _number(section, key):
    return next(n for n, text in section.references if text == REFERENCES[key])


def test_dry_run_names_only_what_it_did(descs):
    section = methods_section(descs[True], VERSIONS)
    cited = _cited(section)
    assert {"pybids", "nibabel", "nipype"} <= cited
    assert not cited & {"ants", "deepbet", "gaussPET", "atlas", "torch"}
    assert "deepbet" not in section.text and "PyTorch" not in section.text


def test_methods_section_renders_in_report(bids, descs, tmp_path):
    sessions = discover(bids, participant_labels=["01"])
    (tmp_path / "sub-01" / "log" / RUN_ID).mkdir(parents=True)
    html = write_participant_report(
        output_dir=tmp_path, subject="01", sessions=sessions, run_id=RUN_ID, status="done",
        methods=descs[False],
    ).read_text()  # fmt: skip
    body = html[html.index('<h2 id="methods">') : html.index('<h2 id="provenance">')]
    assert re.search(r"skull-stripped with deepbet \[\d+\]", body)
    assert re.search(r"\(ANTs \[\d+\] via antspyx\)", body)
    assert "Digital 3D Brain MRI Arterial Territories Atlas" in body
    assert re.search(r'<li value="1">gausspet: synthetic FDG-PET', body)
    assert "CC0" in body and '<pre class="methods-text">' in body


def test_second_session_repeats_only_what_differs():
    one = "Inputs of ses-1 were found with PyBIDS. The image was skull-stripped with deepbet."
    two = "Inputs of ses-2 were found with PyBIDS. The image was skull-stripped with deepbet."
    text = methods_section(f"{one} {two}", VERSIONS).paragraphs[1]
    assert text.count("skull-stripped") == 1 and "ses-1" in text and "ses-2" in text


def test_no_methods_without_descriptions():
    assert methods_section("  ") is None
