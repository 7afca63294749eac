"""Synthesis workflow: model-grid MRI + brain mask -> synthetic PET, coefficient maps, reliability.

The lead's participant workflow connects the preprocessing outputs on the model grid to this
workflow's inputnode and resamples its outputs back to T1w space.
"""

from __future__ import annotations

from pathlib import Path

from nipype.interfaces import utility as niu
from nipype.pipeline import engine as pe

from gausspet_bids.model.checkpoint import default_model_path
from gausspet_bids.model.synthesis_interface import GaussPETSynthesis

OUTPUT_FIELDS = [
    "pet",
    "coefficient_maps",
    "coefficient_labels",
    "reliability",
    "provenance",
    "contrasts_used",
]


def init_synthesis_wf(
    *,
    contrasts: list[str],
    model_path: Path | str | None = None,
    device: str = "cpu",
    omp_nthreads: int = 1,
    n_tiles: int = 1,
    name: str = "synthesis_wf",
) -> pe.Workflow:
    """Build the synthesis workflow for the ``contrasts`` a participant has.

    Inputs (``inputnode``): one model-grid NIfTI per name in ``contrasts`` (e.g. ``T1w``,
    ``FLAIR``, ``DWI``, ``ADC``; bias-corrected, skull-stripped, not normalised) and
    ``brain_mask``. Outputs (``outputnode``): ``pet`` (SUVR), ``coefficient_maps`` (one per
    contrast used, then the offset; labels in ``coefficient_labels``), ``reliability``
    (inverse-consistency map), ``provenance`` (JSON: model name, version, sha256, contrasts
    used) and ``contrasts_used``; all on the model grid.
    """
    if not contrasts:
        raise ValueError("init_synthesis_wf needs at least one contrast")
    workflow = pe.Workflow(name=name)
    workflow.__desc__ = (
        "Synthetic FDG-PET (SUVR) was computed with GaussPET: a small 3D network predicts smooth "
        "per-voxel coefficients of a linear map from the co-registered MRI contrasts to PET and "
        "of its inverse, and unrolled block Gauss-Seidel sweeps solve the bidirectional "
        f"consistency energy per voxel (contrasts used: {', '.join(contrasts)})."
    )
    inputnode = pe.Node(niu.IdentityInterface(fields=[*contrasts, "brain_mask"]), name="inputnode")
    outputnode = pe.Node(niu.IdentityInterface(fields=OUTPUT_FIELDS), name="outputnode")
    merge = pe.Node(niu.Merge(len(contrasts)), name="merge_contrasts")
    synth = pe.Node(
        GaussPETSynthesis(
            contrasts=list(contrasts),
            model_path=str(model_path or default_model_path()),
            n_tiles=n_tiles,
            device=device,
            num_threads=omp_nthreads,
        ),
        name="gausspet",
        n_procs=omp_nthreads,
        mem_gb=2.0,
    )
    workflow.connect(
        [(inputnode, merge, [(c, f"in{i + 1}") for i, c in enumerate(contrasts)])]
        + [
            (merge, synth, [("out", "in_files")]),
            (inputnode, synth, [("brain_mask", "brain_mask")]),
            (
                synth,
                outputnode,
                [
                    ("out_pet", "pet"),
                    ("out_coefficients", "coefficient_maps"),
                    ("coefficient_labels", "coefficient_labels"),
                    ("out_reliability", "reliability"),
                    ("out_provenance", "provenance"),
                    ("contrasts_used", "contrasts_used"),
                ],
            ),
        ]
    )
    return workflow
