"""Run identifiers and the per-participant snapshot of the resolved configuration.

Each run gets an id (timestamp + short uuid, as fMRIPrep) that names its log folder
``OUTPUT_DIR/sub-XX/log/<run-id>/``; ``config.json`` there records everything needed to
understand or repeat the run: version, command line, every resolved option, the inputs found,
the Nipype settings and the software environment.
"""

from __future__ import annotations

import platform
import sys
import uuid
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

from gausspet_bids import __version__
from gausspet_bids.bids.atomic import write_json


def make_run_id(now: datetime | None = None) -> str:
    """``20261125-181502_3f2a9c1e``: UTC time of the start and 8 hex digits of a uuid4."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}_{uuid.uuid4().hex[:8]}"


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def resolved_options(opts: Namespace) -> dict:
    """The parsed and checked options as a JSON-able dictionary."""
    return {key: _jsonable(value) for key, value in sorted(vars(opts).items())}


def environment() -> dict:
    """Versions of the software that shape the results."""
    versions = {"python": platform.python_version()}
    for module in ("nipype", "bids", "nibabel", "numpy", "torch", "ants", "monai"):
        mod = sys.modules.get(module)
        if mod is not None and hasattr(mod, "__version__"):
            versions[module] = str(mod.__version__)
    return {"platform": platform.platform(), "versions": versions}


def write_config_snapshot(
    log_dir: Path | str,
    *,
    run_id: str,
    command_line: list[str],
    options: dict,
    inputs: list[dict],
    execution: dict,
) -> Path:
    """Write ``log_dir/config.json`` atomically and return its path."""
    snapshot = {
        "gausspet_version": __version__,
        "run_id": run_id,
        "command_line": list(command_line),
        "options": options,
        "inputs": inputs,
        "execution": execution,
        "environment": environment(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return write_json(Path(log_dir) / "config.json", _jsonable(snapshot))
