"""``group.html``: group tables and plots, one self-contained page (inline SVG, no network)."""

from __future__ import annotations

import datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from gausspet_bids.bids.atomic import write_text
from gausspet_bids.metrics.group_tables import IMAGE_METRICS
from gausspet_bids.metrics.territories import territory_names
from gausspet_bids.reports import group_figures as figures


def _html_table(frame: pd.DataFrame | None) -> str | None:
    if frame is None or not len(frame):
        return None
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="n/a",
                         classes="stats", border=0)  # fmt: skip


def _urls(part: pd.DataFrame) -> list[str]:
    return [f"{pid}.html" for pid in part["participant_id"]]


def group_figures(results: dict) -> list[dict]:
    """The group plots as ``{title, svg}`` (one set per model)."""
    table, out = results["table"], []
    scores = results.get("score_columns", {})
    for model, part in table.groupby("model"):
        urls = _urls(part)
        values = {c: part[c].to_numpy(float) for c in IMAGE_METRICS if c in part}
        values |= {
            c: part[c].to_numpy(float) for c in ("hypo_dice", "hypo_synthetic_ml") if c in part
        }
        values = {k: np.where(np.isfinite(v), v, np.nan) for k, v in values.items()}
        if values:
            out.append({"title": f"Per-participant metrics ({model})",
                        "svg": figures.distribution_svg(values, urls, model)})  # fmt: skip
        panels = {}
        for terr in territory_names():
            cols = [
                f"{s}_mean_{h}_{terr}" for s in ("synthetic", "real") for h in ("left", "right")
            ]
            if all(c in part for c in cols):
                syn = np.r_[part[cols[0]].to_numpy(float), part[cols[1]].to_numpy(float)]
                real = np.r_[part[cols[2]].to_numpy(float), part[cols[3]].to_numpy(float)]
                left = np.r_[np.ones(len(part), bool), np.zeros(len(part), bool)]
                panels[terr] = (syn, real, left)
        if panels and any(np.isfinite(p[1]).any() for p in panels.values()):
            both_urls = urls + urls
            out.append({"title": f"Regional SUVR, synthetic vs real, per territory ({model})",
                        "svg": figures.agreement_svg(panels, both_urls, bland_altman=False)})  # fmt: skip
            out.append({"title": f"Bland-Altman, synthetic - real regional SUVR ({model})",
                        "svg": figures.agreement_svg(panels, both_urls, bland_altman=True)})  # fmt: skip
        first = part.sort_values("session_id").drop_duplicates("participant_id")
        volumes = {s: first[f"hypo_{s}_ml"].to_numpy(float) for s in ("synthetic", "real")
                   if f"hypo_{s}_ml" in first}  # fmt: skip
        score_values = {k: first[v].to_numpy(float) for k, v in scores.items()}
        if volumes and score_values:
            out.append({"title": f"Hypometabolic volume vs clinical scores ({model})",
                        "svg": figures.clinical_svg(volumes, score_values, _urls(first))})  # fmt: skip
    return out


def render_group_report(results: dict) -> str:
    """The HTML text of ``group.html``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gausspet_bids.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    table = results["table"]
    participants = sorted(table["participant_id"].unique()) if len(table) else []
    sections = [
        ("Synthesis metrics: mean and bootstrap 95% CI", results.get("metric_summary")),
        ("Territory agreement, synthetic vs real (Pearson, ICC, Bland-Altman)", results.get("agreement")),
        ("Hypometabolic volume vs clinical scores (Spearman, Fisher-z 95% CI)", results.get("clinical")),
        ("Paired Wilcoxon tests between models", results.get("models")),
    ]  # fmt: skip
    from gausspet_bids import __version__

    return env.get_template("group.html").render(
        version=__version__,
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        n_rows=len(table),
        participants=participants,
        models=sorted(table["model"].unique()) if len(table) else [],
        notes=results["notes"],
        tables=[(title, _html_table(frame)) for title, frame in sections if _html_table(frame)],
        figures=group_figures(results) if len(table) else [],
    )


def write_group_report(results: dict, output_dir: Path) -> Path:
    """Write ``OUTPUT_DIR/group.html`` atomically."""
    return write_text(Path(output_dir) / "group.html", render_group_report(results))
