"""Entry point of the ``gausspet`` console script: parse, check, validate, run a level.

Exit codes: 0 success; 1 a participant failed, nothing could be processed, or the input is
not valid BIDS; 2 a bad argument (argparse style).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

os.environ.setdefault("NIPYPE_NO_ET", "1")  # Nipype must not query its version server

from gausspet_bids.cli.checks import UsageError, check_options  # noqa: E402
from gausspet_bids.cli.parser import build_parser  # noqa: E402

LOGGER = logging.getLogger("gausspet")


def setup_logging(verbosity: int) -> None:
    """Quiet by default (warnings and progress), -v informative, -vv debugging."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(name)s %(levelname)s: %(message)s", force=True)
    logging.getLogger("nipype").propagate = False  # Nipype prints with its own handler
    logging.getLogger("bidsschematools").setLevel(logging.WARNING)


def accepted_contrasts(opts) -> list[str]:
    """Contrasts the synthesis may use: the model's own (from its metadata), narrowed by
    ``--contrasts``. A model file that cannot be read is a usage error naming the file."""
    from gausspet_bids.model.checkpoint import load_model_metadata

    try:
        model_contrasts = list(load_model_metadata(opts.model)["contrasts"])
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"--model {opts.model or '(packaged default)'}: {exc}") from exc
    if opts.contrasts:
        unknown = [c for c in opts.contrasts if c not in model_contrasts]
        if unknown:
            raise UsageError(
                f"--contrasts {' '.join(unknown)}: the model accepts only "
                f"{', '.join(model_contrasts)}"
            )
        return [c for c in model_contrasts if c in opts.contrasts]
    return model_contrasts


def validate_input(bids_dir) -> bool:
    """Run the BIDS validator; print its errors and return False if there are any."""
    from gausspet_bids.bids.validator import ValidatorNotFound, format_errors, validate

    try:
        result = validate(bids_dir)
    except (ValidatorNotFound, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"gausspet: error: {exc}", file=sys.stderr)
        return False
    if result.errors:
        print(
            f"gausspet: error: {bids_dir} is not a valid BIDS dataset "
            f"({len(result.errors)} error(s); fix them or use --skip-bids-validation):\n"
            f"{format_errors(result)}",
            file=sys.stderr,
        )
        return False
    LOGGER.info("BIDS validation passed with %d warning(s)", len(result.warnings))
    return True


def run_participant(opts, argv: list[str]) -> int:
    """Discover inputs and run the participant loop; 0 when every participant succeeded."""
    from gausspet_bids.bids.dataset_description import IncompatibleOutputError, check_existing
    from gausspet_bids.bids.discovery import discover
    from gausspet_bids.workflows.config_snapshot import make_run_id, resolved_options
    from gausspet_bids.workflows.participant_level import (
        StageOptions,
        run_participant_level,
        summary_lines,
    )

    try:
        check_existing(opts.output_dir)
    except IncompatibleOutputError as exc:
        print(f"gausspet: error: {exc}", file=sys.stderr)
        return 2
    try:
        contrasts = accepted_contrasts(opts)
    except UsageError as exc:
        print(f"gausspet: error: {exc}", file=sys.stderr)
        return exc.exit_code
    sessions = discover(
        opts.bids_dir,
        accepted_contrasts=contrasts,
        participant_labels=opts.participant_label,
        session_labels=opts.session_label,
        bids_filters=opts.bids_filters,
    )
    if not sessions:
        print(
            f"gausspet: error: no participant/session selected in {opts.bids_dir}", file=sys.stderr
        )
        return 1
    for inputs in sessions:
        if not inputs.usable:
            print(f"gausspet: skipping {inputs.skip_reason}", file=sys.stderr)
    options = StageOptions(
        sloppy=opts.sloppy,
        omp_nthreads=opts.omp_nthreads,
        output_spaces=tuple(opts.output_spaces),
        write_model_inputs=opts.write_model_inputs,
        pet_time_window=tuple(opts.pet_time_window) if opts.pet_time_window else None,
        suvr_reference=opts.suvr_reference,
        model=str(opts.model) if opts.model else None,
        device=opts.device,
        dry_run=opts.dry_run,
    )
    outcomes = run_participant_level(
        sessions=sessions,
        bids_dir=opts.bids_dir,
        output_dir=opts.output_dir,
        work_dir=opts.work_dir,
        run_id=make_run_id(),
        options=options,
        plugin=opts.plugin,
        plugin_args=opts.plugin_settings,
        nprocs=opts.nprocs,
        mem_gb=opts.mem_gb,
        stop_on_first_crash=opts.stop_on_first_crash,
        command_line=["gausspet", *argv],
        resolved_options=resolved_options(opts),
        nipype_log_level="WARNING"
        if opts.verbose == 0
        else "INFO"
        if opts.verbose == 1
        else "DEBUG",
    )
    for line in summary_lines(outcomes, opts.output_dir):
        print(f"gausspet: {line}", file=sys.stderr)
    failed = any(o.status == "failed" for o in outcomes)
    nothing_done = not any(o.status == "done" for o in outcomes)
    return 1 if failed or nothing_done else 0


def run_group(opts) -> int:
    """Aggregate the participants' results (``workflows.group_level``, imported lazily)."""
    from gausspet_bids.workflows.group_level import run_group_level

    return run_group_level(
        bids_dir=opts.bids_dir,
        output_dir=opts.output_dir,
        participant_labels=opts.participant_label,
        nihss_column=opts.nihss_column,
        mrs_column=opts.mrs_column,
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the requested analysis level."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    opts = parser.parse_args(argv)
    setup_logging(opts.verbose)
    try:
        check_options(opts)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not opts.skip_bids_validation and not validate_input(opts.bids_dir):
        return 1
    if opts.analysis_level == "group":
        return run_group(opts)
    return run_participant(opts, argv)


if __name__ == "__main__":
    raise SystemExit(main())
