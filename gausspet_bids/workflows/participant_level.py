"""The participant level: one Nipype workflow per participant, one sub-workflow per session.

``init_single_subject_wf`` builds the workflow from explicit arguments (the discovered inputs
and a :class:`StageOptions`); ``run_participant_level`` loops over participants, runs each in
the work dir with the requested Nipype plugin, and keeps going when one fails. Whatever
happens, each participant gets its configuration snapshot, its HTML report and the output's
dataset_description.json (written in ``finally:`` as fMRIPrep does).

Work dir: ``WORK_DIR/single_subject_<label>_wf/...`` (default ``./work``, as fMRIPrep); a rerun
with the same work dir resumes from the Nipype cache. Crash files go to
``OUTPUT_DIR/sub-XX/log/<run-id>/`` next to ``config.json``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("NIPYPE_NO_ET", "1")  # no version check over the network

from nipype.interfaces import utility as niu  # noqa: E402
from nipype.pipeline import engine as pe  # noqa: E402

from gausspet_bids.bids.atomic import write_text  # noqa: E402
from gausspet_bids.bids.dataset_description import (  # noqa: E402
    write_bidsignore,
    write_dataset_description,
)
from gausspet_bids.bids.discovery import SessionInputs  # noqa: E402
from gausspet_bids.reports.participant_report import (  # noqa: E402
    collect_crashes,
    write_participant_report,
)
from gausspet_bids.workflows.config_snapshot import write_config_snapshot  # noqa: E402
from gausspet_bids.workflows.scoring import BIDSIGNORE_PATTERNS as SCORING_BIDSIGNORE  # noqa: E402

LOGGER = logging.getLogger("gausspet")

# Transforms (named as fMRIPrep does) are not in the validator's schema (3.0.2): ignore them.
TRANSFORM_BIDSIGNORE = ("*_xfm.txt", "*_xfm.nii.gz", "*_xfm.h5")

SESSION_FIELDS = ["t1w", "t2w", "flair", "dwi", "bval", "bvec", "adc", "trace", "pet", "pet_json"]


@dataclass(frozen=True)
class StageOptions:
    """Options the processing stages need, resolved from the command line."""

    sloppy: bool = False
    omp_nthreads: int = 1
    output_spaces: tuple[str, ...] = ("T1w",)
    write_model_inputs: bool = False
    pet_time_window: tuple[float, float] | None = None
    suvr_reference: str = "cerebellar-gm"
    model: str | None = None
    device: str = "cpu"
    dry_run: bool = False


@dataclass
class ParticipantOutcome:
    """What happened to one participant: ``status`` is done, skipped or failed."""

    subject: str
    status: str
    message: str = ""
    report: str | None = None
    log_dir: str | None = None
    sessions: list[str] = field(default_factory=list)


def summarise_inputs(session_json: str, output_dir: str, log_dir: str) -> str:
    """Read every input image in full and write a summary JSON to the participant's log folder.

    The cheap discovery checks read one slice; this node reads the whole data, so that a
    truncated or corrupt file fails here with its name, before any heavy processing. It also
    creates the session's output folder (the derivative skeleton).
    """
    import json
    from pathlib import Path

    import nibabel as nib
    import numpy as np

    from gausspet_bids.bids.atomic import write_json

    session = json.loads(session_json)
    label = session["label"]
    folder = Path(output_dir) / f"sub-{session['subject']}"
    if session.get("session"):
        folder = folder / f"ses-{session['session']}"
    folder.mkdir(parents=True, exist_ok=True)
    pet = session.get("pet") or {}
    files = {k: session.get(k) for k in ("t1w", "t2w", "flair", "dwi", "dwi_trace", "adc")}
    files["pet"] = pet.get("path")
    summary = {}
    for key, path in files.items():
        if not path:
            continue
        try:
            data = np.asanyarray(nib.load(path).dataobj, dtype=np.float32)
        except Exception as exc:
            raise RuntimeError(f"{label}: cannot read the {key} image {path}: {exc}") from exc
        finite = data[np.isfinite(data)]
        summary[key] = {
            "path": path,
            "shape": list(data.shape),
            "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None,
            "nonfinite_voxels": int(data.size - finite.size),
        }
    out = Path(log_dir) / f"{label}_inputs.json"
    write_json(out, {"session": label, "contrasts": session["contrasts"], "images": summary})
    return str(out)


def init_single_session_wf(
    *, inputs: SessionInputs, output_dir: Path, log_dir: Path, options: StageOptions, name: str
) -> pe.Workflow:
    """Workflow of one session.

    Inputs (``inputnode``): the discovered file paths (:data:`SESSION_FIELDS`; undefined when
    absent). Outputs (``outputnode``): ``inputs_summary`` (JSON written by
    :func:`summarise_inputs`).
    """
    import json

    workflow = pe.Workflow(name=name)
    workflow.__desc__ = (
        f"Inputs of {inputs.label} were found with PyBIDS and checked with NiBabel "
        f"(contrasts: {', '.join(inputs.contrasts)}; FDG-PET: {'yes' if inputs.pet else 'no'}). "
    )
    inputnode = pe.Node(niu.IdentityInterface(fields=SESSION_FIELDS), name="inputnode")
    for key, value in inputs.paths().items():
        if value:
            setattr(inputnode.inputs, key, value)
    outputnode = pe.Node(niu.IdentityInterface(fields=["inputs_summary"]), name="outputnode")

    summary = pe.Node(
        niu.Function(
            input_names=["session_json", "output_dir", "log_dir"],
            output_names=["inputs_summary"],
            function=summarise_inputs,
        ),
        name="summarise_inputs",
    )
    summary.inputs.session_json = json.dumps(inputs.to_dict(), sort_keys=True, default=str)
    summary.inputs.output_dir = str(output_dir)
    summary.inputs.log_dir = str(log_dir)
    workflow.connect(summary, "inputs_summary", outputnode, "inputs_summary")
    workflow.add_nodes([inputnode])  # present even before a stage reads from it

    # --- Stage workflows, in data-flow order: preprocessing -> synthesis -> scoring -------
    if options.dry_run:  # inputs are read and summarised; nothing is processed
        return workflow
    from gausspet_bids.workflows.session_processing import init_session_processing_wf

    processing = init_session_processing_wf(
        inputs=inputs,
        output_dir=output_dir,
        sloppy=options.sloppy,
        omp_nthreads=options.omp_nthreads,
        output_spaces=options.output_spaces,
        write_model_inputs=options.write_model_inputs,
        pet_time_window=options.pet_time_window,
        suvr_reference=options.suvr_reference,
        model=options.model,
        device=options.device,
    )
    workflow.add_nodes([processing])
    return workflow


def init_single_subject_wf(
    *,
    subject: str,
    sessions: list[SessionInputs],
    output_dir: Path,
    log_dir: Path,
    options: StageOptions,
    name: str | None = None,
) -> pe.Workflow:
    """One participant: a :func:`init_single_session_wf` for each usable session."""
    workflow = pe.Workflow(name=name or f"single_subject_{subject}_wf")
    for inputs in sessions:
        if not inputs.usable:
            continue
        session_wf = init_single_session_wf(
            inputs=inputs,
            output_dir=output_dir,
            log_dir=log_dir,
            options=options,
            name=f"ses_{inputs.session}_wf" if inputs.session else "session_wf",
        )
        workflow.add_nodes([session_wf])
    return workflow


def methods_text(workflow: pe.Workflow) -> str:
    """The ``__desc__`` sentences of a workflow and its sub-workflows, in order."""
    parts = [getattr(workflow, "__desc__", "") or ""]
    for node in workflow._graph.nodes():
        if isinstance(node, pe.Workflow):
            parts.append(methods_text(node))
    return " ".join(p.strip() for p in parts if p and p.strip())


def plugin_settings(plugin: str, plugin_args: dict, *, nprocs: int, mem_gb: float | None) -> dict:
    """Nipype plugin and its arguments; MultiProc gets the process and memory limits."""
    args = dict(plugin_args)
    if plugin == "MultiProc":
        args.setdefault("n_procs", nprocs)
        if mem_gb:
            args.setdefault("memory_gb", mem_gb)
        args.setdefault("raise_insufficient", False)
        # Worker processes must not be forked from a parent whose torch/OpenMP thread pools are
        # already running (deepbet and the synthesis use torch): a forked child can deadlock.
        # fMRIPrep uses "forkserver" for the same reason.
        args.setdefault("mp_context", "forkserver")
    return {"plugin": plugin, "plugin_args": args}


def nipype_execution_config(*, crashdump_dir: Path, stop_on_first_crash: bool) -> dict:
    """The ``execution`` section of a participant workflow's Nipype configuration."""
    return {
        "crashdump_dir": str(crashdump_dir),
        "crashfile_format": "txt",
        "hash_method": "content",
        "remove_unnecessary_outputs": False,
        "stop_on_first_crash": stop_on_first_crash,
        "check_version": False,
        # Nipype's scheduler sleeps this long between polls (default 2 s); most of our nodes
        # take well under a second, so the default added over a minute to a sloppy participant.
        "poll_sleep_duration": 0.1,
    }


def short_error(exc: BaseException, log_dir: Path) -> str:
    """One line saying what failed: the crashed nodes' last error lines, else the exception's."""
    crashes = collect_crashes(log_dir)
    if crashes:
        return "; ".join(f"{c['node'].rsplit('.', 1)[-1]}: {c['error']}" for c in crashes)
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", ln)]
    return (errors[-1] if errors else f"{type(exc).__name__}: {lines[0] if lines else ''}").strip()


NIPYPE_LOG_KEYS = ("workflow_level", "interface_level", "utils_level")


def set_nipype_log_level(level: str, work_dir: Path | None = None) -> None:
    """Set Nipype's log level here and, with ``work_dir``, in its worker processes.

    Nipype's loggers follow its global config (a workflow's own copy is not applied). MultiProc
    workers are fresh interpreters (forkserver) that start with Nipype's defaults (INFO) and
    read only ``$NIPYPE_CONFIG_DIR/nipype.cfg``; so the levels are written to
    ``WORK_DIR/.gausspet/nipype-LEVEL/nipype.cfg`` and the variable points there before the
    first worker starts. A ``NIPYPE_CONFIG_DIR`` the user set (not one of ours) is left alone.
    """
    from nipype import config
    from nipype import logging as nipype_logging

    for key in NIPYPE_LOG_KEYS:
        config.set("logging", key, level)
    nipype_logging.update_logging(config)
    user_dir = os.environ.get("NIPYPE_CONFIG_DIR", "")
    if work_dir is None or (user_dir and "/.gausspet/nipype-" not in user_dir):
        return
    config_dir = Path(work_dir).absolute() / ".gausspet" / f"nipype-{level}"
    config_dir.mkdir(parents=True, exist_ok=True)
    lines = ["[logging]", *(f"{key} = {level}" for key in NIPYPE_LOG_KEYS)]
    write_text(config_dir / "nipype.cfg", "\n".join(lines) + "\n")
    os.environ["NIPYPE_CONFIG_DIR"] = str(config_dir)


def _progress(message: str) -> None:
    print(f"gausspet: {message}", file=sys.stderr, flush=True)


def run_participant_level(
    *,
    sessions: list[SessionInputs],
    bids_dir: Path,
    output_dir: Path,
    work_dir: Path,
    run_id: str,
    options: StageOptions,
    plugin: str = "MultiProc",
    plugin_args: dict | None = None,
    nprocs: int = 1,
    mem_gb: float | None = None,
    stop_on_first_crash: bool = False,
    command_line: list[str] | None = None,
    resolved_options: dict | None = None,
    nipype_log_level: str = "WARNING",
) -> list[ParticipantOutcome]:
    """Process every participant in ``sessions``; one failure never stops the others.

    Returns one :class:`ParticipantOutcome` per participant, in label order. With
    ``stop_on_first_crash`` the loop ends at the first failure.
    """
    set_nipype_log_level(nipype_log_level, work_dir)
    by_subject: dict[str, list[SessionInputs]] = {}
    for inputs in sessions:
        by_subject.setdefault(inputs.subject, []).append(inputs)
    execution = plugin_settings(plugin, plugin_args or {}, nprocs=nprocs, mem_gb=mem_gb)
    outcomes: list[ParticipantOutcome] = []
    total = len(by_subject)
    for index, (subject, subject_sessions) in enumerate(sorted(by_subject.items()), start=1):
        log_dir = output_dir / f"sub-{subject}" / "log" / run_id
        outcome = ParticipantOutcome(
            subject=subject, status="failed", log_dir=str(log_dir),
            sessions=[s.label for s in subject_sessions],
        )  # fmt: skip
        methods = ""
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            nipype_config = nipype_execution_config(
                crashdump_dir=log_dir, stop_on_first_crash=stop_on_first_crash
            )
            write_config_snapshot(
                log_dir,
                run_id=run_id,
                command_line=command_line or sys.argv,
                options=resolved_options or {},
                inputs=[s.to_dict() for s in subject_sessions],
                execution={**execution, "nipype": nipype_config, "work_dir": str(work_dir)},
            )
            usable = [s for s in subject_sessions if s.usable]
            if not usable:
                outcome.status = "skipped"
                outcome.message = "; ".join(s.skip_reason or "" for s in subject_sessions)
            else:
                workflow = init_single_subject_wf(
                    subject=subject,
                    sessions=usable,
                    output_dir=output_dir,
                    log_dir=log_dir,
                    options=options,
                )
                workflow.base_dir = str(work_dir)
                workflow.config["execution"].update(nipype_config)
                methods = methods_text(workflow)
                workflow.run(**execution)
                outcome.status = "done"
        except Exception as exc:  # one participant's failure must not stop the others
            outcome.status = "failed"
            outcome.message = short_error(exc, log_dir)
            LOGGER.error("sub-%s failed: %s", subject, outcome.message)
            LOGGER.debug("%s", traceback.format_exc())
        finally:
            try:
                write_dataset_description(output_dir, bids_dir=bids_dir)
                write_bidsignore(output_dir, (*SCORING_BIDSIGNORE, *TRANSFORM_BIDSIGNORE))
            except Exception as exc:
                LOGGER.error("cannot write %s/dataset_description.json: %s", output_dir, exc)
            try:
                outcome.report = str(
                    write_participant_report(
                        output_dir=output_dir,
                        subject=subject,
                        sessions=subject_sessions,
                        run_id=run_id,
                        status=outcome.status,
                        message=outcome.message,
                        command_line=command_line or sys.argv,
                        methods=methods,
                    )
                )
            except Exception as exc:
                LOGGER.error("cannot write the report of sub-%s: %s", subject, exc)
        outcomes.append(outcome)
        _progress(f"[{index}/{total}] sub-{subject}: {outcome.status} ({total - index} left)")
        if outcome.status == "failed" and stop_on_first_crash:
            _progress("stopping at the first failure (--stop-on-first-crash)")
            break
    return outcomes


def summary_lines(outcomes: list[ParticipantOutcome], output_dir: Path) -> list[str]:
    """The final summary printed on stderr: what was written and what failed."""
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    lines = [
        f"participant level finished: {counts['done']} done, {counts['skipped']} skipped, "
        f"{counts['failed']} failed; outputs in {output_dir}"
    ]
    for o in outcomes:
        line = f"  sub-{o.subject}: {o.status}"
        if o.report:
            line += f", report {o.report}"
        if o.message and o.status != "done":
            line += f" -- {o.message}"
        lines.append(line)
    return lines
