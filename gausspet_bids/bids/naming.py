"""BIDS derivative file names.

One function builds every derivative name so that entity order is the same everywhere and the
output passes the BIDS validator. Entities are given as a mapping because some of them
(``from``, ``to``) are Python keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# Order of the BIDS specification (raw entities, then derivative entities), as in pybids' config.
ENTITY_ORDER = (
    "sub", "ses", "task", "acq", "ce", "trc", "rec", "dir", "run", "mod", "echo",
    "hemi", "from", "to", "mode", "space", "atlas", "seg", "res", "den", "label", "desc",
)  # fmt: skip


def derivative_name(
    entities: Mapping[str, str | None], suffix: str, extension: str = ".nii.gz"
) -> str:
    """Return e.g. ``sub-01_ses-1_trc-FDG_space-T1w_desc-gausspet_pet.nii.gz``.

    ``entities`` maps BIDS entity keys (``sub``, ``ses``, ``space``, ...) to labels; ``None``
    values are left out. Unknown keys raise ``ValueError`` so that typos do not produce
    names the validator rejects later.
    """
    unknown = set(entities) - set(ENTITY_ORDER)
    if unknown:
        raise ValueError(f"unknown BIDS entities {sorted(unknown)}; known: {ENTITY_ORDER}")
    if not entities.get("sub"):
        raise ValueError("a derivative name needs a 'sub' entity")
    parts = [f"{key}-{entities[key]}" for key in ENTITY_ORDER if entities.get(key) is not None]
    for part in parts:
        label = part.split("-", 1)[1]
        if not label.isalnum():
            raise ValueError(f"BIDS labels must be alphanumeric, got {part!r}")
    return "_".join(parts) + f"_{suffix}{extension}"


def derivative_path(
    output_dir: Path | str,
    datatype: str,
    entities: Mapping[str, str | None],
    suffix: str,
    extension: str = ".nii.gz",
) -> Path:
    """Path of a derivative under ``output_dir/sub-X[/ses-Y]/datatype/``."""
    folder = Path(output_dir) / f"sub-{entities['sub']}"
    if entities.get("ses"):
        folder = folder / f"ses-{entities['ses']}"
    return folder / datatype / derivative_name(entities, suffix, extension)
