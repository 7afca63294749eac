"""Collect every participant's scoring outputs into group tables (MRIQC ``generate_tsv`` style).

Files are found by glob under ``OUTPUT_DIR/sub-*/[ses-*/]pet/``; their entities (sub, ses, desc =
model) are parsed from the names. One row per participant/session/model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gausspet_bids.metrics.hypometabolism import normative_z

KEYS = ["participant_id", "session_id", "model"]
IMAGE_METRICS = ["PSNR", "SSIM", "NMAE", "NMSE", "NCC"]
_ENTITY = re.compile(r"(sub|ses|desc)-([a-zA-Z0-9]+)")


def _entities(path: Path) -> dict[str, str]:
    found = dict(_ENTITY.findall(path.name))
    return {
        "participant_id": f"sub-{found['sub']}",
        "session_id": f"ses-{found['ses']}" if "ses" in found else "n/a",
        "model": found.get("desc", "n/a"),
    }


def _select(paths: list[Path], participant_labels: list[str] | None) -> list[Path]:
    if not participant_labels:
        return sorted(paths)
    wanted = {f"sub-{label.removeprefix('sub-')}" for label in participant_labels}
    return sorted(p for p in paths if _entities(p)["participant_id"] in wanted)


def _glob(output_dir: Path, pattern: str) -> list[Path]:
    return list(output_dir.glob(f"sub-*/pet/{pattern}")) + list(
        output_dir.glob(f"sub-*/ses-*/pet/{pattern}")
    )


def collect_metrics(output_dir: Path, participant_labels: list[str] | None = None) -> pd.DataFrame:
    """``*_metrics.json`` -> one row per participant/session/model."""
    rows = []
    for path in _select(_glob(Path(output_dir), "*_metrics.json"), participant_labels):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        row = _entities(path)
        row["model"] = data.get("Model", row["model"])
        for name, value in data.get("ImageMetrics", {}).items():
            if name in IMAGE_METRICS:
                row[name] = value
        for name, value in data.get("PublishedMetrics", {}).items():
            row[f"published_{name}"] = value
        for source, volumes in data.get("HypometabolicVolumeMl", {}).items():
            row[f"hypo_{source}_ml"] = volumes.get("total", np.nan)
            for region, ml in volumes.items():
                if region != "total":
                    row[f"hypo_{source}_{region}_ml"] = ml
        agreement = data.get("HypometabolismAgreement", {})
        row["hypo_dice"] = agreement.get("Dice", np.nan)
        row["hypo_volume_difference_ml"] = agreement.get("VolumeDifferenceMl", np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else KEYS)


def collect_regions(output_dir: Path, participant_labels: list[str] | None = None) -> pd.DataFrame:
    """``*_regions.tsv`` (one row per territory) -> one wide row per participant/session/model,
    columns ``<column>_<territory>`` (e.g. ``synthetic_mean_left_MCA``)."""
    rows = []
    for path in _select(_glob(Path(output_dir), "*_regions.tsv"), participant_labels):
        table = pd.read_csv(path, sep="\t", na_values="n/a").set_index("territory")
        flat = table.stack()
        row = _entities(path)
        row.update({f"{col}_{terr}": float(v) for (terr, col), v in flat.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else KEYS)


def read_participants(bids_dir: Path) -> pd.DataFrame | None:
    """``participants.tsv`` (or None when the dataset has none)."""
    path = Path(bids_dir) / "participants.tsv"
    if not path.exists():
        return None
    table = pd.read_csv(path, sep="\t", na_values=["n/a", ""], dtype={"participant_id": str})
    if "participant_id" not in table:
        raise ValueError(f"{path}: no participant_id column")
    return table


def add_normative_z(regions: pd.DataFrame, is_control: pd.Series, source: str,
                    z_threshold: float) -> pd.DataFrame:  # fmt: skip
    """z-scores of ``<source>_mean_<hemi>_<territory>`` against controls (per model), plus the
    count and summed volume of territories below ``z_threshold``."""
    cols = [c for c in regions if c.startswith(f"{source}_mean_")]
    out = pd.DataFrame(index=regions.index)
    if not cols:
        return out
    z = pd.DataFrame(index=regions.index, columns=cols, dtype=float)
    for _, idx in regions.groupby("model").groups.items():
        z.loc[idx] = normative_z(regions.loc[idx, cols], is_control.loc[idx]).to_numpy()
    flagged = z < z_threshold
    vols = np.column_stack([regions[_volume_col(c, source)].to_numpy(float) for c in cols])
    out[f"{source}_normative_n_territories"] = flagged.sum(axis=1).where(z.notna().any(axis=1))
    out[f"{source}_normative_volume_ml"] = (flagged.to_numpy() * vols).sum(axis=1)
    out.loc[z.isna().all(axis=1), f"{source}_normative_volume_ml"] = np.nan
    z.columns = [f"z_{c}" for c in cols]
    return pd.concat([out, z], axis=1)


def _volume_col(mean_col: str, source: str) -> str:
    # synthetic_mean_left_MCA -> volume_left_ml_MCA
    hemi, terr = mean_col.removeprefix(f"{source}_mean_").split("_", 1)
    return f"volume_{hemi}_ml_{terr}"
