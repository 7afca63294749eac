"""The BIDS-App argument parser (fMRIPrep/MRIQC conventions).

Only parsing lives here; checks that need the file system (does BIDS_DIR exist, are the
participant labels real, ...) are in :mod:`gausspet_bids.cli.checks`. ``boutiques.json`` is kept in
sync with this parser by a test, so every option added here must be described there too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gausspet_bids import __version__

CONTRASTS = ("T1w", "T2w", "FLAIR", "DWI", "ADC")
OUTPUT_SPACES = ("T1w", "MNI152NLin2009aSym")
PLUGINS = (
    "MultiProc",
    "Linear",
    "SLURM",
    "SLURMGraph",
    "SGE",
    "SGEGraph",
    "PBS",
    "PBSGraph",
    "LSF",
)


def _strip_sub(label: str) -> str:
    return label[4:] if label.startswith("sub-") else label


def _strip_ses(label: str) -> str:
    return label[4:] if label.startswith("ses-") else label


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for ``gausspet BIDS_DIR OUTPUT_DIR {participant,group}``."""
    parser = argparse.ArgumentParser(
        prog="gausspet",
        description=(
            "GaussPET: synthetic FDG-PET from routine MRI (T1w, T2w, FLAIR, DWI/ADC) with an "
            "interpretable structured linear model, as a BIDS App."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("bids_dir", type=Path, help="the root folder of a BIDS dataset")
    parser.add_argument("output_dir", type=Path, help="where derivatives and reports are written")
    parser.add_argument(
        "analysis_level",
        choices=["participant", "group"],
        help="participant: process each participant; group: aggregate participants' results",
    )
    parser.add_argument("--version", action="version", version=f"gausspet {__version__}")

    sel = parser.add_argument_group("Selecting the data to process")
    sel.add_argument(
        "--participant-label",
        "--participant_label",
        dest="participant_label",
        nargs="+",
        type=_strip_sub,
        metavar="LABEL",
        help="participants to process (with or without the 'sub-' prefix); default: all",
    )
    sel.add_argument(
        "--session-label",
        dest="session_label",
        nargs="+",
        type=_strip_ses,
        metavar="LABEL",
        help="sessions to process (with or without the 'ses-' prefix); default: all",
    )
    sel.add_argument(
        "--bids-filter-file",
        dest="bids_filter_file",
        type=Path,
        metavar="FILE",
        help="JSON file with pybids filters per input (keys: t1w, t2w, flair, dwi, adc, pet), "
        "as in fMRIPrep",
    )
    sel.add_argument(
        "--contrasts",
        nargs="+",
        choices=CONTRASTS,
        help="use only these MRI contrasts (default: every contrast the model accepts)",
    )
    sel.add_argument(
        "--skip-bids-validation",
        "--skip_bids_validation",
        dest="skip_bids_validation",
        action="store_true",
        help="do not check the input with the BIDS validator",
    )

    perf = parser.add_argument_group("Resources and execution")
    perf.add_argument(
        "-w", "--work-dir", dest="work_dir", type=Path, help="working directory (resumable cache)"
    )
    perf.add_argument(
        "--nprocs",
        "--nthreads",
        "--n-cpus",
        dest="nprocs",
        type=int,
        help="maximum number of processes in parallel (default: all available cores)",
    )
    perf.add_argument(
        "--omp-nthreads",
        dest="omp_nthreads",
        type=int,
        help="maximum number of threads per process (ANTs, torch)",
    )
    perf.add_argument(
        "--mem-gb", "--mem_gb", dest="mem_gb", type=float, help="memory limit in GB for the plugin"
    )
    perf.add_argument(
        "--plugin",
        choices=PLUGINS,
        default="MultiProc",
        help="Nipype execution plugin (MultiProc on one machine; SLURM/SGE/PBS on clusters)",
    )
    perf.add_argument(
        "--plugin-args",
        dest="plugin_args",
        metavar="JSON",
        help="extra arguments for the Nipype plugin, as a JSON string or a path to a JSON file",
    )
    perf.add_argument(
        "--stop-on-first-crash",
        dest="stop_on_first_crash",
        action="store_true",
        help="stop at the first failing participant instead of going on with the others",
    )

    wf = parser.add_argument_group("Workflow options")
    wf.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="discover and read every input, write the configuration snapshots and reports of "
        "what would be processed, but run no processing (check a dataset before a long run)",
    )
    wf.add_argument(
        "--sloppy",
        action="store_true",
        help="fast, low-quality registration presets (tests and CI only)",
    )
    wf.add_argument(
        "--output-spaces",
        dest="output_spaces",
        nargs="+",
        choices=OUTPUT_SPACES,
        default=["T1w"],
        help="spaces the synthetic PET and its maps are written in",
    )
    wf.add_argument(
        "--write-model-inputs",
        dest="write_model_inputs",
        action="store_true",
        help="also write the model-grid images (inputs for gausspet-train) to the derivatives",
    )
    wf.add_argument(
        "--pet-time-window",
        dest="pet_time_window",
        nargs=2,
        type=float,
        metavar=("START", "END"),
        help="minutes after injection averaged into the static real PET (default: last 30 min)",
    )
    wf.add_argument(
        "--suvr-reference",
        dest="suvr_reference",
        choices=["cerebellar-gm", "whole-brain"],
        default="cerebellar-gm",
        help="reference region for SUVR of real and synthetic PET",
    )

    model = parser.add_argument_group("Synthesis model")
    model.add_argument(
        "--model",
        type=Path,
        metavar="PATH",
        help="model checkpoint (.json + .safetensors); default: the model shipped in the package",
    )
    model.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="where the model runs; 'auto' uses CUDA when available",
    )

    grp = parser.add_argument_group("Group level")
    grp.add_argument(
        "--nihss-column",
        dest="nihss_column",
        default="NIHSS",
        help="participants.tsv column with the NIHSS score",
    )
    grp.add_argument(
        "--mrs-column",
        dest="mrs_column",
        default="mRS",
        help="participants.tsv column with the modified Rankin Scale",
    )

    other = parser.add_argument_group("Other")
    other.add_argument(
        "-v",
        "--verbose",
        dest="verbose",
        action="count",
        default=0,
        help="more detail in the log (-vv for debugging)",
    )
    return parser
