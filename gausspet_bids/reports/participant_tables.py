"""Tables of the participant report, read from the derivatives on disk.

- every small TSV under ``sub-XX/`` (numbers shortened to 4 significant digits for display;
  the files keep full precision);
- the scores of each ``*_metrics.json`` (image metrics, ours beside the published definitions;
  hypometabolic volumes of the synthetic and real PET, their Dice and volume difference);
- provenance: the model (name, file, sha256) from the synthetic PET's sidecar, and the versions
  of the software that made the outputs.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

MAX_TABLE_ROWS = 60
IMAGE_METRICS = ("PSNR", "SSIM", "NMAE", "NMSE", "NCC", "MAE")
PROVENANCE_PACKAGES = ("nipype", "antspyx", "deepbet", "torch", "monai", "nibabel", "pybids",
                       "nilearn", "numpy", "scipy", "pandas", "statsmodels")  # fmt: skip
_NUMBER = re.compile(r"^-?\d+\.\d+(e[-+]?\d+)?$")


def short_number(cell: str) -> str:
    """``'1.00695123'`` -> ``'1.007'``; other cells unchanged."""
    return f"{float(cell):.4g}" if _NUMBER.match(cell) else cell


def _session_of(path: Path) -> str:
    match = re.search(r"_ses-([a-zA-Z0-9]+)", path.name)
    return f"ses-{match.group(1)}" if match else ""


def regions_long(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """A territory table (one row per territory, ``<source>_<stat>_<hemi>`` columns) as one row
    per territory and hemisphere, which fits a page: volume, mean and median per source, and
    the asymmetry index on the left row."""
    col = {name: k for k, name in enumerate(header)}
    sources = [c.removesuffix("_mean_left") for c in header if c.endswith("_mean_left")]
    out_header = ["territory", "hemisphere", "volume (ml)"]
    for src in sources:
        out_header += [f"{src} mean", f"{src} median"]
    out_header += [f"{src} asymmetry" for src in sources]
    out = []
    for row in rows:
        for hemi in ("left", "right"):
            cells = [row[col["territory"]] if hemi == "left" else "", hemi,
                     row[col[f"volume_{hemi}_ml"]]]  # fmt: skip
            for src in sources:
                cells += [row[col[f"{src}_mean_{hemi}"]], row[col[f"{src}_median_{hemi}"]]]
            cells += [row[col[f"{src}_asymmetry"]] if hemi == "left" else "" for src in sources]
            out.append(cells)
    return out_header, out


def collect_tables(subject_dir: Path, report_dir: Path) -> list[dict]:
    """Small TSV files under the participant's folder (logs excluded), as rows of cells;
    territory tables in their long form (:func:`regions_long`)."""
    tables = []
    for tsv in sorted(subject_dir.rglob("*.tsv")):
        if "log" in tsv.relative_to(subject_dir).parts:
            continue
        rows = [line.split("\t") for line in tsv.read_text().splitlines() if line]
        if not rows:
            continue
        header, body = rows[0], rows[1:]
        title = tsv.name
        if "territory" in header and any(c.endswith("_mean_left") for c in header):
            try:
                header, body = regions_long(header, body)
                title = "Regional SUVR per vascular territory"
            except (KeyError, IndexError):  # not our layout: shown as it is
                pass
        session = _session_of(tsv)
        tables.append(
            {
                "file": tsv.relative_to(report_dir).as_posix(),
                "title": title + (f" ({session})" if session else ""),
                "header": header,
                "rows": [[short_number(c) for c in r] for r in body[:MAX_TABLE_ROWS]],
                "truncated": len(body) > MAX_TABLE_ROWS,
            }
        )
    return tables


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "inf" if value == float("inf") else f"{value:.4g}"
    return str(value)


def score_tables(scores: dict) -> list[dict]:
    """Display tables (``title``, ``header``, ``rows``) of one ``*_metrics.json``."""
    out = []
    ours, published = scores.get("ImageMetrics", {}), scores.get("PublishedMetrics", {})
    if ours:
        rows = [[name, _fmt(ours.get(name)), _fmt(published.get(name)) if name in published else ""]
                for name in IMAGE_METRICS if name in ours]  # fmt: skip
        out.append({"title": "Synthetic vs real PET", "header": [
            "metric", "brain mask (ours)", "published definition"], "rows": rows,
            "note": f"{ours.get('MaskVoxels', '?')} brain-mask voxels; data range "
                    f"{_fmt(ours.get('DataRange'))} SUVR. Definitions: docs/metrics.md."})  # fmt: skip
    volumes = scores.get("HypometabolicVolumeMl", {})
    if volumes:
        sources = list(volumes)
        regions = ["total"] + sorted(
            {r for v in volumes.values() for r, ml in v.items() if r != "total" and ml > 0}
        )
        rows = [[r] + [_fmt(volumes[s].get(r, 0.0)) for s in sources] for r in regions]
        agreement = scores.get("HypometabolismAgreement", {})
        note = ""
        if agreement:
            note = (f"Dice of the two regions {_fmt(agreement.get('Dice'))}; volume difference "
                    f"(synthetic - real) {_fmt(agreement.get('VolumeDifferenceMl'))} ml.")  # fmt: skip
        out.append({"title": "Hypometabolic volume (ml)", "header": ["region"] + [
            f"{s} PET" for s in sources], "rows": rows, "note": note})  # fmt: skip
    return out


def collect_scores(subject_dir: Path, report_dir: Path) -> list[dict]:
    """Score tables of every ``*_metrics.json`` of the participant, one group per file."""
    groups = []
    for path in sorted(subject_dir.rglob("*_metrics.json")):
        try:
            scores = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        groups.append({"file": path.relative_to(report_dir).as_posix(),
                       "session": _session_of(path), "model": scores.get("Model", ""),
                       "tables": score_tables(scores)})  # fmt: skip
    return groups


def collect_models(subject_dir: Path) -> list[dict]:
    """Models named in the participant's synthetic-PET sidecars (name, file, sha256), unique."""
    seen, out = set(), []
    for path in sorted(subject_dir.rglob("*_pet.json")):
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or "ModelSHA256" not in meta:
            continue
        key = (meta.get("ModelName"), meta["ModelSHA256"])
        if key not in seen:
            seen.add(key)
            out.append({"name": meta.get("ModelName", "?"), "file": meta.get("ModelFile", "?"),
                        "sha256": meta["ModelSHA256"],
                        "sweeps": meta.get("GaussSeidelSweeps")})  # fmt: skip
    return out


def software_versions() -> dict[str, str]:
    """Installed versions of the packages that made the outputs (absent ones left out)."""
    out = {}
    for dist in PROVENANCE_PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
