"""The derivative ``dataset_description.json`` of OUTPUT_DIR.

Several participants may run at once into one output folder (one job each on a cluster): the
file is written atomically, an existing file written by the same gausspet version is kept as
it is, and a file from another pipeline or another gausspet version is refused, because
mixing versions in one derivative dataset would make its provenance false.

Container provenance: the container recipes set ``GAUSSPET_CONTAINER_TYPE`` (``docker`` or
``singularity``) and ``GAUSSPET_CONTAINER_TAG`` (the image name:tag). Without them, a Docker
container is recognised by ``/.dockerenv`` and a Singularity/Apptainer one by
``/singularity`` or ``SINGULARITY_CONTAINER``/``APPTAINER_CONTAINER``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gausspet_bids import CODE_URL, __version__
from gausspet_bids.bids.atomic import write_json, write_text

PIPELINE_NAME = "gausspet"
BIDS_VERSION = "1.10.0"
# Non-BIDS outputs the validator must skip (patterns checked with bids-validator 3.0.2: a folder
# is matched by "sub-*/log", not by "sub-*/log/").
BIDSIGNORE_PATTERNS = ("sub-*.html", "group.html", "sub-*/log", "sub-*/figures")


# Atlas description files (``/atlas-<label>_description.json``) for the atlas maps we write.
_ATLAS_COMMON = {
    "License": "CC BY-SA 4.0",
    "ReferencesAndLinks": [
        "Liu C-F, Hsu J, Xu X, et al. Digital 3D Brain MRI Arterial Territories Atlas. "
        "Scientific Data 10, 74 (2023). (c) Johns Hopkins University."
    ],
    "Species": "Homo sapiens",
}
ATLAS_DESCRIPTIONS = {
    "Arterial": {
        "AtlasName": "Arterial territories (level 1, 32 labels)",
        "Description": "Arterial territory atlas brought to each participant's reference space; "
        "labels in gausspet_bids/data/atlas/atlas-Arterial_dseg.tsv (odd = left).",
        **_ATLAS_COMMON,
    },
    "ArterialTerritories": {
        "AtlasName": "Arterial territories (nine per hemisphere)",
        "Description": "The 32 atlas labels grouped into ACA, LLS, MCA, PCA, PCTP, ACTP, BA, "
        "SCA and ICA; territory k is 2k-1 on the left, 2k on the right.",
        **_ATLAS_COMMON,
    },
}
README = f"""# gausspet derivatives

Synthetic FDG-PET from routine MRI, and the preprocessed inputs it was made from, written by
gausspet ({CODE_URL}; every file is described in the package's docs/outputs.md). Per
participant: `sub-<label>/` (anat, dwi, pet) and the report `sub-<label>.html`; the group
tables and `group.html` are at the top level.
"""


class IncompatibleOutputError(RuntimeError):
    """OUTPUT_DIR already holds a dataset this run must not write into."""


def detect_container(environ: dict | None = None, root: Path = Path("/")) -> dict | None:
    """``{"Type": ..., "Tag": ...}`` when running inside a container, else None."""
    env = os.environ if environ is None else environ
    kind = env.get("GAUSSPET_CONTAINER_TYPE")
    if not kind:
        if (root / ".dockerenv").exists():
            kind = "docker"
        elif (
            env.get("SINGULARITY_CONTAINER")
            or env.get("APPTAINER_CONTAINER")
            or (root / "singularity").exists()
        ):
            kind = "singularity"
    if not kind:
        return None
    container = {"Type": kind}
    tag = env.get("GAUSSPET_CONTAINER_TAG")
    if tag:
        container["Tag"] = tag
    return container


def describe_outputs(bids_dir: Path | str, *, version: str = __version__) -> dict:
    """The content of the derivative dataset_description.json for a run on ``bids_dir``."""
    generated_by = {"Name": PIPELINE_NAME, "Version": version, "CodeURL": CODE_URL}
    container = detect_container()
    if container:
        generated_by["Container"] = container
    source: dict = {"URL": Path(bids_dir).resolve().as_uri()}
    raw_description = Path(bids_dir) / "dataset_description.json"
    try:
        raw = json.loads(raw_description.read_text())
    except (OSError, ValueError):
        raw = {}
    if raw.get("DatasetDOI"):
        doi = str(raw["DatasetDOI"])
        source = {"DOI": doi if doi.startswith("doi:") else f"doi:{doi}"}
    if raw.get("BIDSVersion"):
        source["Version"] = str(raw["BIDSVersion"])
    return {
        "Name": "gausspet: synthetic FDG-PET from routine MRI",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [generated_by],
        "SourceDatasets": [source],
    }


def check_existing(output_dir: Path | str, *, version: str = __version__) -> None:
    """Raise :class:`IncompatibleOutputError` if OUTPUT_DIR holds another pipeline's outputs."""
    path = Path(output_dir) / "dataset_description.json"
    if not path.exists():
        return
    try:
        existing = json.loads(path.read_text())
        generated = existing.get("GeneratedBy") or [{}]
        name, old_version = generated[0].get("Name"), generated[0].get("Version")
    except (OSError, ValueError, AttributeError, IndexError, TypeError) as exc:
        raise IncompatibleOutputError(
            f"{path} cannot be read as a dataset description: {exc}"
        ) from exc
    if existing.get("DatasetType") != "derivative" or name != PIPELINE_NAME:
        raise IncompatibleOutputError(
            f"{path} describes another dataset (GeneratedBy {name!r}); "
            "choose an empty or gausspet output folder"
        )
    if old_version != version:
        raise IncompatibleOutputError(
            f"{path} was written by gausspet {old_version}, this is {version}; "
            "use a new output folder so that one dataset holds one version's results"
        )


def write_bidsignore(output_dir: Path | str, patterns=BIDSIGNORE_PATTERNS) -> Path:
    """Add ``patterns`` to OUTPUT_DIR/.bidsignore, keeping the lines already there."""
    path = Path(output_dir) / ".bidsignore"
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [p for p in patterns if p not in lines]
    if missing or not path.exists():
        write_text(path, "\n".join(lines + missing) + "\n")
    return path


def write_dataset_description(
    output_dir: Path | str, *, bids_dir: Path | str, version: str = __version__
) -> Path:
    """Write OUTPUT_DIR/dataset_description.json (unless a compatible one is there) and
    OUTPUT_DIR/.bidsignore for the reports and logs."""
    path = Path(output_dir) / "dataset_description.json"
    check_existing(output_dir, version=version)
    if not path.exists():
        write_json(path, describe_outputs(bids_dir, version=version))
    write_bidsignore(output_dir)
    write_dataset_files(output_dir)
    return path


def write_dataset_files(output_dir: Path | str) -> None:
    """README at the top of OUTPUT_DIR (recommended by the validator), unless already there."""
    root = Path(output_dir)
    if not (root / "README.md").exists():
        write_text(root / "README.md", README)


def write_atlas_description(output_dir: Path | str, atlas: str) -> Path | None:
    """``OUTPUT_DIR/atlas-<atlas>_description.json`` for an atlas we know, unless already there.

    Written beside the first atlas map only: the validator refuses a description whose atlas
    has no data file.
    """
    description = ATLAS_DESCRIPTIONS.get(atlas)
    if description is None:
        return None
    path = Path(output_dir) / f"atlas-{atlas}_description.json"
    if not path.exists():
        write_json(path, description)
    return path
