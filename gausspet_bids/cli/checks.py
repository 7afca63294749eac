"""Up-front checks of the command line against the file system, with one-line errors.

Every check raises :class:`UsageError` with a message naming the argument or file and the
problem; ``cli.run`` prints it argparse-style and exits with code 2. Nothing is processed
before all checks pass.
"""

from __future__ import annotations

import json
import os
from argparse import Namespace
from pathlib import Path

from gausspet_bids.bids.discovery import FILTER_KEYS, list_participants, list_sessions


class UsageError(Exception):
    """A bad argument: the message says which one and why."""

    exit_code = 2


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_bids_dir(bids_dir: Path) -> Path:
    """BIDS_DIR exists, is a folder and has a dataset_description.json; returns it resolved."""
    if not bids_dir.exists():
        raise UsageError(f"BIDS_DIR {bids_dir} does not exist")
    if not bids_dir.is_dir():
        raise UsageError(f"BIDS_DIR {bids_dir} is not a folder")
    if not (bids_dir / "dataset_description.json").is_file():
        raise UsageError(
            f"BIDS_DIR {bids_dir} is not a BIDS dataset: it has no dataset_description.json"
        )
    return bids_dir.resolve()


def check_output_dir(output_dir: Path, bids_dir: Path) -> Path:
    """OUTPUT_DIR is not BIDS_DIR nor inside its raw data (BIDS_DIR/derivatives/NAME is fine)."""
    output_dir = output_dir.resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"OUTPUT_DIR {output_dir} exists and is not a folder")
    derivatives = bids_dir / "derivatives"
    if output_dir == bids_dir:
        raise UsageError(
            f"OUTPUT_DIR {output_dir} is BIDS_DIR; use e.g. {derivatives / 'gausspet'}"
        )
    if _is_within(output_dir, bids_dir) and not (
        derivatives in output_dir.parents and output_dir != derivatives
    ):
        raise UsageError(
            f"OUTPUT_DIR {output_dir} is inside BIDS_DIR's raw data; "
            f"use a folder outside BIDS_DIR or under {derivatives}/"
        )
    if _is_within(bids_dir, output_dir):
        raise UsageError(f"OUTPUT_DIR {output_dir} contains BIDS_DIR {bids_dir}")
    return output_dir


def check_work_dir(work_dir: Path | None, bids_dir: Path) -> Path:
    """The work dir (default ``./work``, as fMRIPrep) is outside BIDS_DIR; returns it resolved."""
    given = work_dir is not None
    work_dir = (work_dir if given else Path.cwd() / "work").resolve()
    if _is_within(work_dir, bids_dir):
        hint = "" if given else " (the default is ./work; run elsewhere or pass -w)"
        raise UsageError(f"work dir {work_dir} is inside BIDS_DIR {bids_dir}{hint}")
    if work_dir.exists() and not work_dir.is_dir():
        raise UsageError(f"work dir {work_dir} exists and is not a folder")
    return work_dir


def check_labels(
    bids_dir: Path, participant_labels: list[str] | None, session_labels: list[str] | None
) -> None:
    """Every requested participant and session exists; the message lists those that do."""
    existing = list_participants(bids_dir)
    if not existing:
        raise UsageError(f"BIDS_DIR {bids_dir} has no sub-* folders")
    if participant_labels:
        unknown = sorted(set(participant_labels) - set(existing))
        if unknown:
            raise UsageError(
                f"unknown participant label(s) {', '.join(unknown)} in {bids_dir}; "
                f"existing: {', '.join(existing)}"
            )
    if session_labels:
        sessions = list_sessions(bids_dir, participant_labels or existing)
        unknown = sorted(set(session_labels) - set(sessions))
        if unknown:
            have = ", ".join(sessions) if sessions else "none (the dataset has no ses-* folders)"
            raise UsageError(f"unknown session label(s) {', '.join(unknown)}; existing: {have}")


def _pybids_entities() -> set[str]:
    from bids.layout.models import Config

    names: set[str] = set()
    for config in ("bids", "derivatives"):
        names |= set(Config.load(config).entities)
    return names


def load_bids_filters(path: Path | None) -> dict:
    """Read a ``--bids-filter-file``: keys t1w/t2w/flair/dwi/adc/pet, values pybids filters."""
    if path is None:
        return {}
    if not path.is_file():
        raise UsageError(f"--bids-filter-file {path} does not exist")
    try:
        filters = json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise UsageError(f"--bids-filter-file {path} is not valid JSON: {exc}") from exc
    if not isinstance(filters, dict):
        raise UsageError(
            f"--bids-filter-file {path} must hold a JSON object, not {type(filters).__name__}"
        )
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise UsageError(
            f"--bids-filter-file {path}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(FILTER_KEYS)}"
        )
    entities = _pybids_entities()
    for key, query in filters.items():
        if not isinstance(query, dict):
            raise UsageError(f"--bids-filter-file {path}: {key!r} must map entities to values")
        bad = sorted(set(query) - entities)
        if bad:
            raise UsageError(
                f"--bids-filter-file {path}: {key!r} uses unknown BIDS entit(ies) {', '.join(bad)} "
                "(use pybids names: acquisition, run, ceagent, reconstruction, tracer, ...)"
            )
    return filters


def parse_plugin_args(value: str | None) -> dict:
    """``--plugin-args``: a JSON object, given inline or as the path of a JSON file."""
    if not value:
        return {}
    text = value
    source = "--plugin-args"
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise UsageError(
                f"--plugin-args {value!r} is neither a JSON object nor an existing file"
            )
        text, source = path.read_text(), f"--plugin-args file {path}"
    try:
        args = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(args, dict):
        raise UsageError(f"{source} must be a JSON object, not {type(args).__name__}")
    return args


def resolve_device(device: str) -> str:
    """``cpu`` stays; ``cuda`` requires CUDA; ``auto`` becomes ``cuda`` when available."""
    if device == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise UsageError("--device cuda: CUDA is not available on this machine (use --device cpu)")
    return "cuda" if available else "cpu"


def check_numbers(opts: Namespace) -> None:
    """Positive resource limits and an ordered PET time window."""
    for name in ("nprocs", "omp_nthreads"):
        value = getattr(opts, name, None)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if opts.mem_gb is not None and opts.mem_gb <= 0:
        raise UsageError(f"--mem-gb must be positive, got {opts.mem_gb}")
    window = opts.pet_time_window
    if window is not None and not (0 <= window[0] < window[1]):
        raise UsageError(
            f"--pet-time-window START END needs 0 <= START < END, got {window[0]} {window[1]}"
        )


def check_options(opts: Namespace) -> Namespace:
    """Run every check; return ``opts`` with resolved paths, parsed JSON and defaults filled in.

    Adds ``bids_filters`` (dict) and ``plugin_settings`` (dict) and replaces ``device`` by the
    device actually used.
    """
    opts.bids_dir = check_bids_dir(opts.bids_dir)
    opts.output_dir = check_output_dir(opts.output_dir, opts.bids_dir)
    opts.work_dir = check_work_dir(opts.work_dir, opts.bids_dir)
    check_labels(opts.bids_dir, opts.participant_label, opts.session_label)
    opts.bids_filters = load_bids_filters(opts.bids_filter_file)
    opts.plugin_settings = parse_plugin_args(opts.plugin_args)
    check_numbers(opts)
    if opts.model is not None and not opts.model.exists():
        raise UsageError(f"--model {opts.model} does not exist")
    opts.device = resolve_device(opts.device)
    if opts.nprocs is None:
        opts.nprocs = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
    if opts.omp_nthreads is None:
        opts.omp_nthreads = min(opts.nprocs, 8)
    return opts
