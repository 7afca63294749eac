"""The per-participant HTML report ``OUTPUT_DIR/sub-XX.html``.

Built from what is on disk, so that later stages only have to write files:

- figures ``OUTPUT_DIR/sub-XX/figures/*.svg|*.png`` become sections, grouped by their ``desc``
  entity (``sub-01_ses-1_desc-synthesis_pet.svg`` -> section "synthesis"); an optional sidecar
  with the same name and ``.json`` (``{"title": ..., "caption": ...}``) gives the caption;
  sections come in :data:`~gausspet_bids.reports.figures.SECTIONS` order, figures by session
  and their ``order``;
- small TSV tables and the ``*_metrics.json`` scores (``participant_tables``);
- Nipype crash files in the run's log folder are summarised (node and last error line).

The page is self-contained: inline CSS, no scripts, no network requests; figures are linked
relative to the report.
"""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from gausspet_bids import __version__
from gausspet_bids.bids.atomic import write_text
from gausspet_bids.bids.discovery import SessionInputs
from gausspet_bids.reports.boilerplate import COPYRIGHT_NOTE, methods_section
from gausspet_bids.reports.figures import SECTIONS
from gausspet_bids.reports.participant_tables import (
    collect_models,
    collect_scores,
    collect_tables,
    software_versions,
)

_INPUT_ROWS = (
    ("T1w", "t1w"),
    ("T2w", "t2w"),
    ("FLAIR", "flair"),
    ("DWI series", "dwi"),
    ("DWI trace map", "dwi_trace"),
    ("ADC map", "adc"),
)


def parse_crash_file(path: Path) -> dict:
    """Node name, the error's last line and the full text of a Nipype crash file (txt or pklz)."""
    if path.suffix == ".pklz":
        from nipype.utils.filemanip import loadcrash

        crash = loadcrash(str(path))
        node = str(crash.get("node", "?"))
        text = "".join(crash.get("traceback", []))
    else:
        text = path.read_text(errors="replace")
        match = re.search(r"^Node:\s*(.+)$", text, flags=re.MULTILINE)
        node = match.group(1).strip() if match else "?"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", ln)]
    return {
        "file": path.name,
        "node": node,
        "error": errors[-1] if errors else (lines[-1] if lines else ""),
        "text": text,
    }


def collect_crashes(log_dir: Path) -> list[dict]:
    """Summaries of the crash files of one run, in name order."""
    if not log_dir.is_dir():
        return []
    files = sorted(log_dir.glob("crash-*.txt")) + sorted(log_dir.glob("crash-*.pklz"))
    return [parse_crash_file(f) for f in files]


def _desc(name: str) -> str:
    match = re.search(r"_desc-([a-zA-Z0-9]+)", name)
    return match.group(1) if match else "figures"


def collect_figures(subject_dir: Path, report_dir: Path) -> list[dict]:
    """Figure sections from ``subject_dir/figures``: ``[{"name", "figures": [...]}]``."""
    sections: dict[str, list[dict]] = {}
    folder = subject_dir / "figures"
    if not folder.is_dir():
        return []
    for fig in sorted(p for p in folder.iterdir() if p.suffix in (".svg", ".png")):
        meta_file = fig.with_suffix(".json")
        meta = {}
        if meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text())
            except ValueError:
                meta = {}
        sections.setdefault(meta.get("section") or _desc(fig.name), []).append(
            {
                "src": fig.relative_to(report_dir).as_posix(),
                "title": meta.get("title") or fig.stem,
                "caption": meta.get("caption", ""),
                "key": (_session_key(fig.name), float(meta.get("order", 0.0)), fig.name),
            }
        )
    order = {name: k for k, name in enumerate(SECTIONS)}
    names = sorted(sections, key=lambda n: (order.get(n, len(order)), n))
    return [{"name": n, "figures": sorted(sections[n], key=lambda f: f["key"])} for n in names]


def _session_key(name: str) -> str:
    match = re.search(r"_ses-([a-zA-Z0-9]+)", name)
    return match.group(1) if match else ""


def collect_outputs(subject_dir: Path, report_dir: Path) -> list[str]:
    """Derivative files written for the participant (logs and figures excluded)."""
    if not subject_dir.is_dir():
        return []
    found = []
    for path in sorted(subject_dir.rglob("*")):
        parts = path.relative_to(subject_dir).parts
        if path.is_file() and parts[0] not in ("log", "figures") and not path.name.startswith("."):
            found.append(path.relative_to(report_dir).as_posix())
    return found


def session_rows(inputs: SessionInputs) -> list[dict]:
    """Rows of the inputs table of one session: kind, file, shape, voxel size."""
    rows = []
    for kind, attr in _INPUT_ROWS:
        path = getattr(inputs, attr)
        if path:
            info = inputs.images.get(path)
            rows.append(
                {
                    "kind": kind,
                    "file": Path(path).name,
                    "shape": "×".join(map(str, info.shape)) if info else "",
                    "voxel": "×".join(f"{z:g}" for z in info.voxel_size_mm) if info else "",
                }
            )
    if inputs.pet:
        info = inputs.images.get(inputs.pet.path)
        rows.append(
            {
                "kind": f"PET ({inputs.pet.tracer}, {inputs.pet.n_frames} frame(s))",
                "file": Path(inputs.pet.path).name,
                "shape": "×".join(map(str, info.shape)) if info else "",
                "voxel": "×".join(f"{z:g}" for z in info.voxel_size_mm) if info else "",
            }
        )
    return rows


def render_participant_report(
    *,
    output_dir: Path,
    subject: str,
    sessions: list[SessionInputs],
    run_id: str,
    status: str,
    message: str = "",
    command_line: list[str] | None = None,
    methods: str = "",
) -> str:
    """The HTML text of ``sub-<subject>.html``."""
    output_dir = Path(output_dir)
    subject_dir = output_dir / f"sub-{subject}"
    log_dir = subject_dir / "log" / run_id
    config_file = log_dir / "config.json"
    try:
        options = json.loads(config_file.read_text()).get("options", {})
    except (OSError, ValueError, AttributeError):
        options = {}
    env = Environment(
        loader=PackageLoader("gausspet_bids.reports", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("participant.html").render(
        subject=subject,
        status=status,
        message=message,
        sessions=[
            {
                "label": s.label,
                "contrasts": s.contrasts,
                "pet": bool(s.pet),
                "rows": session_rows(s),
                "skipped": s.skipped,
                "notes": s.notes,
                "skip_reason": s.skip_reason,
            }
            for s in sessions
        ],
        crashes=collect_crashes(log_dir),
        figure_sections=collect_figures(subject_dir, output_dir),
        tables=collect_tables(subject_dir, output_dir),
        scores=collect_scores(subject_dir, output_dir),
        models=collect_models(subject_dir),
        software=software_versions(),
        outputs=collect_outputs(subject_dir, output_dir),
        version=__version__,
        run_id=run_id,
        command_line=shlex.join(command_line or []),
        config_file=config_file.relative_to(output_dir).as_posix()
        if config_file.exists()
        else None,
        methods=methods_section(methods),
        methods_note=COPYRIGHT_NOTE,
        options={k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in options.items()},
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_participant_report(*, output_dir: Path, subject: str, **kwargs) -> Path:
    """Render and atomically write ``OUTPUT_DIR/sub-<subject>.html``; returns its path."""
    text = render_participant_report(output_dir=output_dir, subject=subject, **kwargs)
    return write_text(Path(output_dir) / f"sub-{subject}.html", text)
