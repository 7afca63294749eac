import json

import pytest

from gausspet_bids import __version__
from gausspet_bids.bids.dataset_description import (
    IncompatibleOutputError,
    describe_outputs,
    detect_container,
    write_dataset_description,
)
from gausspet_bids.bids.validator import validate


def test_content_and_validity(tiny_bids, tmp_path):
    out = tmp_path / "out"
    path = write_dataset_description(out, bids_dir=tiny_bids)
    desc = json.loads(path.read_text())
    assert desc["DatasetType"] == "derivative"
    generated = desc["GeneratedBy"][0]
    assert generated["Name"] == "gausspet" and generated["Version"] == __version__
    assert generated["CodeURL"].startswith("https://")
    assert desc["SourceDatasets"] == [{"URL": tiny_bids.resolve().as_uri(), "Version": "1.10.0"}]
    (out / "sub-01.html").write_text("<html></html>")
    (out / "sub-01" / "log" / "run").mkdir(parents=True)
    (out / "sub-01" / "log" / "run" / "config.json").write_text("{}")
    assert validate(out).valid, "the derivative skeleton must pass the BIDS validator"
    assert (out / "README.md").read_text().startswith("# gausspet derivatives")


def test_doi_of_the_source_is_used(tmp_path):
    bids = tmp_path / "bids"
    bids.mkdir()
    (bids / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": "x",
                "BIDSVersion": "1.6.0",
                "DatasetDOI": "10.18112/openneuro.ds001420.v1.0.1",
            }
        )
    )
    desc = describe_outputs(bids)
    assert desc["SourceDatasets"] == [
        {"DOI": "doi:10.18112/openneuro.ds001420.v1.0.1", "Version": "1.6.0"}
    ]


def test_container_detection(tmp_path):
    env = {"GAUSSPET_CONTAINER_TYPE": "docker", "GAUSSPET_CONTAINER_TAG": "gausspet/gausspet:0.1.0"}
    assert detect_container(env, root=tmp_path) == {
        "Type": "docker",
        "Tag": "gausspet/gausspet:0.1.0",
    }
    assert detect_container({}, root=tmp_path) is None
    assert detect_container({"APPTAINER_CONTAINER": "/x.sif"}, root=tmp_path) == {
        "Type": "singularity"
    }
    (tmp_path / ".dockerenv").write_text("")
    assert detect_container({}, root=tmp_path) == {"Type": "docker"}


def test_existing_file_kept_or_refused(tiny_bids, tmp_path):
    out = tmp_path / "out"
    path = write_dataset_description(out, bids_dir=tiny_bids)
    before = path.read_text()
    desc = json.loads(before)
    desc["Extra"] = "kept"  # a compatible file written by a concurrent run is not clobbered
    path.write_text(json.dumps(desc))
    write_dataset_description(out, bids_dir=tiny_bids)
    assert json.loads(path.read_text())["Extra"] == "kept"
    with pytest.raises(IncompatibleOutputError, match="written by gausspet 0.1.0, this is 9.9"):
        write_dataset_description(out, bids_dir=tiny_bids, version="9.9")
    desc["GeneratedBy"] = [{"Name": "fmriprep", "Version": "24"}]
    path.write_text(json.dumps(desc))
    with pytest.raises(IncompatibleOutputError, match="another dataset.*fmriprep"):
        write_dataset_description(out, bids_dir=tiny_bids)
    path.write_text("{not json")
    with pytest.raises(IncompatibleOutputError, match="cannot be read"):
        write_dataset_description(out, bids_dir=tiny_bids)
    assert (out / ".bidsignore").read_text().splitlines()[:2] == ["sub-*.html", "group.html"]
