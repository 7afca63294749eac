"""Group level: collect participant tables, compute statistics, write group TSVs and group.html.

As MRIQC's group level: glob the per-participant files, build pandas tables, write TSVs, render
one jinja2 page. Works with whatever exists and lists what is missing.
"""

from __future__ import annotations

import logging
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from gausspet_bids.bids.atomic import write_text
from gausspet_bids.metrics import group_stats
from gausspet_bids.metrics.group_tables import (
    IMAGE_METRICS,
    KEYS,
    add_normative_z,
    collect_metrics,
    collect_regions,
    read_participants,
)
from gausspet_bids.metrics.hypometabolism import DEFAULT_Z_THRESHOLD
from gausspet_bids.metrics.territories import HEMISPHERES, territory_names

LOGGER = logging.getLogger("gausspet.group")


def _write_tsv(table: pd.DataFrame, path: Path) -> Path:
    return write_text(path, table.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g"))


def metric_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and bootstrap 95% CI of every synthesis metric, per model."""
    cols = [c for c in metrics if c in IMAGE_METRICS or c.startswith(("published_", "hypo_dice"))]
    cols += [
        c
        for c in ("hypo_synthetic_ml", "hypo_real_ml", "hypo_volume_difference_ml")
        if c in metrics
    ]
    rows = []
    for model, part in metrics.groupby("model"):
        for col in cols:
            values = part[col].replace([np.inf, -np.inf], np.nan)
            rows.append({"model": model, "metric": col, **group_stats.bootstrap_mean_ci(values)})
    return pd.DataFrame(rows)


def territory_agreement(regions: pd.DataFrame) -> pd.DataFrame:
    """Synthetic vs real regional mean SUVR per territory and hemisphere, per model."""
    rows = []
    for model, part in regions.groupby("model"):
        for terr in territory_names():
            for hemi in HEMISPHERES:
                syn, real = f"synthetic_mean_{hemi}_{terr}", f"real_mean_{hemi}_{terr}"
                if syn in part and real in part:
                    rows.append({"model": model, "territory": terr, "hemisphere": hemi,
                                 **group_stats.agreement(part[syn], part[real])})  # fmt: skip
    return pd.DataFrame(rows)


def clinical_correlations(table: pd.DataFrame, scores: dict[str, str]) -> pd.DataFrame:
    """Spearman of each hypometabolic volume column with each clinical score, per model.

    One row per participant (its first session) so repeated sessions do not count twice.
    """
    first = table.sort_values("session_id").drop_duplicates(["participant_id", "model"])
    volumes = [c for c in first if c in ("hypo_synthetic_ml", "hypo_real_ml")
               or c.endswith("_normative_volume_ml")]  # fmt: skip
    rows = []
    for model, part in first.groupby("model"):
        for vol in volumes:
            for label, column in scores.items():
                if column in part:
                    rows.append({"model": model, "volume": vol, "score": label,
                                 **group_stats.spearman_ci(part[vol], part[column])})  # fmt: skip
    return pd.DataFrame(rows)


def model_comparisons(metrics: pd.DataFrame) -> pd.DataFrame:
    """Paired Wilcoxon of every image metric between every pair of models."""
    rows = []
    models = sorted(metrics["model"].unique())
    for a, b in combinations(models, 2):
        pa = metrics[metrics["model"] == a].set_index(["participant_id", "session_id"])
        pb = metrics[metrics["model"] == b].set_index(["participant_id", "session_id"])
        both = pa.index.intersection(pb.index)
        for col in IMAGE_METRICS:
            if col in pa and col in pb:
                rows.append({"model_a": a, "model_b": b, "metric": col,
                             **group_stats.paired_wilcoxon(pa.loc[both, col], pb.loc[both, col])})  # fmt: skip
    return pd.DataFrame(rows)


def build_group_tables(bids_dir: Path, output_dir: Path, participant_labels: list[str] | None,
                       nihss_column: str, mrs_column: str) -> dict:  # fmt: skip
    """Every group table and statistic as pandas objects, plus notes on what is missing."""
    notes: list[str] = []
    metrics = collect_metrics(output_dir, participant_labels)
    regions = collect_regions(output_dir, participant_labels)
    participants = read_participants(bids_dir)
    if participants is None:
        notes.append(
            f"{Path(bids_dir) / 'participants.tsv'} not found: no clinical scores or groups."
        )
    table = metrics.merge(regions, on=KEYS, how="outer") if len(regions) else metrics
    if len(table) == 0:
        return {"table": table, "notes": notes + ["No participant scoring outputs found."]}
    scores = {"NIHSS": nihss_column, "mRS": mrs_column}
    if participants is not None:
        table = table.merge(participants, on="participant_id", how="left")
        for label, column in scores.items():
            if column not in participants:
                notes.append(f"participants.tsv has no '{column}' column: no {label} correlations.")
    for label, column in scores.items():
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
            missing = int(table[column].isna().sum())
            if missing:
                notes.append(
                    f"{label} ('{column}') missing for {missing} of {len(table)} rows (skipped)."
                )
    is_control = (table["group"].astype(str).str.lower() == "control") if "group" in table else None
    if is_control is None or is_control.sum() < 3:
        notes.append("Fewer than 3 control participants (participants.tsv 'group' == control): "
                     "no normative z-scores.")  # fmt: skip
    else:
        for source in ("synthetic", "real"):
            table = pd.concat(
                [table, add_normative_z(table, is_control, source, DEFAULT_Z_THRESHOLD)], axis=1
            )
    if not any(c in table for c in IMAGE_METRICS):
        notes.append("No participant has a real PET: no synthesis metrics or agreement.")
    return {
        "table": table,
        "metric_summary": metric_summary(table),
        "agreement": territory_agreement(table),
        "clinical": clinical_correlations(table, {k: v for k, v in scores.items() if v in table}),
        "models": model_comparisons(table) if table["model"].nunique() > 1 else pd.DataFrame(),
        "notes": notes,
        "score_columns": {k: v for k, v in scores.items() if v in table},
    }


def write_group_tables(results: dict, output_dir: Path) -> list[Path]:
    """``group_*.tsv``: participant rows (metrics, regions, hypometabolism) and statistics."""
    table, written = results["table"], []
    front = [c for c in KEYS if c in table]
    groups = {
        "group_metrics.tsv": [c for c in table if c in IMAGE_METRICS or c.startswith(("published_", "hypo_dice", "hypo_volume"))],
        "group_regions.tsv": [c for c in table if c.startswith(("synthetic_", "real_", "volume_"))
                              and "normative" not in c],
        "group_hypometabolism.tsv": [c for c in table if c.startswith(("hypo_", "z_")) or "normative" in c]
        + [c for c in ("group", *results.get("score_columns", {}).values()) if c in table],
    }  # fmt: skip
    for name, cols in groups.items():
        if cols:
            written.append(_write_tsv(table[front + cols], output_dir / name))
    for key in ("metric_summary", "agreement", "clinical", "models"):
        frame = results.get(key)
        if frame is not None and len(frame):
            written.append(_write_tsv(frame, output_dir / f"group_stats_{key}.tsv"))
    return written


def run_group_level(*, bids_dir: Path, output_dir: Path, participant_labels: list[str] | None,
                    nihss_column: str = "NIHSS", mrs_column: str = "mRS") -> int:  # fmt: skip
    """The ``group`` analysis level: group TSVs + ``group.html``. Returns the exit code."""
    from gausspet_bids.reports.group_report import write_group_report

    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        print(f"gausspet group: {output_dir} does not exist; run the participant level first",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        results = build_group_tables(Path(bids_dir), output_dir, participant_labels,
                                     nihss_column, mrs_column)  # fmt: skip
    except ValueError as err:
        print(f"gausspet group: {err}", file=sys.stderr)
        return 1
    written = write_group_tables(results, output_dir) if len(results["table"]) else []
    written.append(write_group_report(results, output_dir))
    for note in results["notes"]:
        LOGGER.warning(note)
    print(f"gausspet group: {len(results['table'])} rows; wrote " + ", ".join(p.name for p in written),
          file=sys.stderr)  # fmt: skip
    return 0 if len(results["table"]) else 1
