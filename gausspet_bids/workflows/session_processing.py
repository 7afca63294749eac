"""One session's processing: preprocessing -> synthesis -> derivatives -> scoring.

``init_session_processing_wf`` wires the stage workflows built by their own factories
(:func:`~gausspet_bids.preprocessing.participant.init_preproc_wf`,
:func:`~gausspet_bids.workflows.synthesis.init_synthesis_wf`,
:func:`~gausspet_bids.workflows.scoring.init_scoring_wf`) and writes the synthesis derivatives:
the synthetic PET, its coefficient maps and the inverse-consistency (reliability) map, brought
back from the model grid to the participant's reference space by the inverse of the affine
reference->template transform, and optionally kept on the model grid (template space).
"""

from __future__ import annotations

from pathlib import Path

from nipype.interfaces import utility as niu
from nipype.pipeline import engine as pe

from gausspet_bids.bids.discovery import SessionInputs
from gausspet_bids.bids.sink import DerivativesSink
from gausspet_bids.model.checkpoint import default_model_path, load_model_metadata
from gausspet_bids.preprocessing.interfaces import FromModelGrid
from gausspet_bids.preprocessing.model_grid import TEMPLATE_SPACE, grid_from_dict
from gausspet_bids.preprocessing.participant import _bids_uri, choose_reference, init_preproc_wf
from gausspet_bids.workflows.scoring import init_scoring_wf
from gausspet_bids.workflows.synthesis import init_synthesis_wf

MODEL_DESC = "gausspet"

# Which preprocessing output feeds which model contrast.
GRID_OUTPUT = {
    "T1w": "grid_T1w",
    "T2w": "grid_T2w",
    "FLAIR": "grid_FLAIR",
    "DWI": "grid_trace",
    "ADC": "grid_adc",
}

# The CLI's SUVR reference names -> the preprocessing's.
SUVR_REFERENCE = {"cerebellar-gm": "cerebellum", "whole-brain": "whole-brain"}


def synthesis_sidecar(
    provenance_file: str, spatial_reference: str, sources: list[str], kind: str
) -> dict:
    """JSON sidecar of a synthesis derivative from the synthesis node's provenance JSON.

    ``kind`` is ``pet``, ``coefficients`` or ``reliability``; it sets ``Units`` and the
    description. Sources are BIDS URIs of the raw MRI the synthesis read.
    """
    import json

    with open(provenance_file) as handle:
        prov = json.load(handle)
    descriptions = {
        "pet": "Synthetic FDG-PET (SUVR) from MRI by GaussPET",
        "coefficients": "GaussPET forward coefficient maps, one volume per contrast used "
        "(in VolumeLabels order) then the offset: PET = sum_m a_m * x_m + b, with x_m the "
        "normalised contrast",
        "reliability": "GaussPET inverse-consistency residual RMS over the contrasts used "
        "(higher = less reliable synthesis)",
    }
    units = {"pet": "SUVR", "coefficients": "arbitrary", "reliability": "arbitrary"}
    meta = {
        "Description": descriptions[kind],
        "Units": units[kind],
        "Sources": sources,
        "SkullStripped": True,
        **prov,
    }
    if spatial_reference:
        meta["SpatialReference"] = spatial_reference
    else:  # a standard template space: BIDS asks for the resolution instead
        meta["Resolution"] = "2 mm isotropic GaussPET model grid (affine to the template)"
    if kind == "coefficients":
        meta["VolumeLabels"] = prov.get("CoefficientMaps", [])
    return meta


def merge_volumes(in_files: list[str], out_name: str = "coefficients.nii.gz") -> str:
    """Stack 3D images of one grid into a 4D image (the coefficient maps, in order)."""
    import os

    import nibabel as nib
    import numpy as np

    from gausspet_bids.bids.atomic import save_nifti

    images = [nib.load(f) for f in in_files]
    data = np.stack([np.asarray(i.dataobj, dtype=np.float32) for i in images], axis=-1)
    out = os.path.abspath(out_name)
    return str(save_nifti(nib.Nifti1Image(data, images[0].affine), out))


def coefficient_file_names(labels: list[str]) -> list[str]:
    """File names of the coefficient maps in reference space, one per label."""
    return [f"coefficient_desc-{label}_map.nii.gz" for label in labels]


def synthesis_contrasts(inputs: SessionInputs, model_contrasts: list[str]) -> list[str]:
    """Contrasts of this session the model will use, in the model's order."""
    return [c for c in model_contrasts if c in inputs.contrasts]


def init_session_processing_wf(
    *,
    inputs: SessionInputs,
    output_dir: Path,
    sloppy: bool,
    omp_nthreads: int,
    output_spaces: tuple[str, ...],
    write_model_inputs: bool,
    pet_time_window: tuple[float, float] | None,
    suvr_reference: str,
    model: str | None,
    device: str,
    n_tiles: int = 1,
    name: str = "processing_wf",
) -> pe.Workflow:
    """Preprocess, synthesise, write and score one session.

    The workflow has no inputnode: its inputs are the discovered files in ``inputs``. Outputs
    (``outputnode``): ``synthetic_pet`` (reference space), ``metrics_json``, ``regions_tsv``.
    """
    model_path = str(model or default_model_path())
    meta = load_model_metadata(model_path)
    contrasts = synthesis_contrasts(inputs, list(meta["contrasts"]))
    if not contrasts:
        raise ValueError(
            f"{inputs.label}: none of the model's contrasts ({', '.join(meta['contrasts'])}) "
            f"is present (found: {', '.join(inputs.available_contrasts) or 'none'})"
        )
    files = inputs.paths()
    reference = choose_reference({"T1w": files["t1w"], "FLAIR": files["flair"],
                                  "T2w": files["t2w"]})  # fmt: skip
    grid_shape, grid_affine = grid_from_dict(meta["grid"])
    base = {"sub": inputs.subject, "ses": inputs.session}
    sources = [s for s in (_bids_uri(files[k]) for k in ("t1w", "t2w", "flair", "dwi", "adc",
                                                          "trace")) if s]  # fmt: skip
    ref_rel = f"sub-{inputs.subject}/" + (f"ses-{inputs.session}/" if inputs.session else "")
    ref_rel += "anat/" + "_".join(
        [f"sub-{inputs.subject}"]
        + ([f"ses-{inputs.session}"] if inputs.session else [])
        + ["desc-preproc", f"{reference}.nii.gz"]
    )

    wf = pe.Workflow(name=name)
    outputnode = pe.Node(
        niu.IdentityInterface(fields=["synthetic_pet", "metrics_json", "regions_tsv"]),
        name="outputnode",
    )
    preproc = init_preproc_wf(
        subject=inputs.subject,
        session=inputs.session,
        output_dir=output_dir,
        **files,
        sloppy=sloppy,
        omp_nthreads=omp_nthreads,
        pet_time_window=pet_time_window,
        suvr_reference=SUVR_REFERENCE.get(suvr_reference, suvr_reference),
        write_model_inputs=write_model_inputs,
        model_grid_shape=grid_shape,
        model_grid_affine=grid_affine,
    )
    synthesis = init_synthesis_wf(
        contrasts=contrasts,
        model_path=model_path,
        device=device,
        omp_nthreads=omp_nthreads,
        n_tiles=n_tiles,
    )
    wf.connect(
        [(preproc, synthesis, [(f"outputnode.{GRID_OUTPUT[c]}", f"inputnode.{c}")
                               for c in contrasts]
          + [("outputnode.grid_mask", "inputnode.brain_mask")])]
    )  # fmt: skip

    # Back to the reference space (inverse of the affine reference->template transform).
    def back(field: str, out_name: str, iterfield: list[str] | None = None) -> pe.Node:
        node_cls = pe.MapNode if iterfield else pe.Node
        kwargs = {"iterfield": iterfield} if iterfield else {}
        node = node_cls(FromModelGrid(num_threads=omp_nthreads, out_name=out_name),
                        name=f"{field}_to_reference", **kwargs)  # fmt: skip
        wf.connect([
            (synthesis, node, [(f"outputnode.{field}", "in_file")]),
            (preproc, node, [("outputnode.reference", "reference_file"),
                             ("outputnode.to_template_affine", "affine")]),
        ])  # fmt: skip
        return node

    pet_ref = back("pet", "synthetic_pet.nii.gz")
    rel_ref = back("reliability", "reliability.nii.gz")
    coef_ref = back("coefficient_maps", "coefficient.nii.gz", iterfield=["in_file", "out_name"])
    # Name each resampled map after its contrast (``..._desc-T1w_coefficient``) for the figures.
    coef_names = pe.Node(niu.Function(input_names=["labels"], output_names=["names"],
                                      function=coefficient_file_names), name="coefficient_names")  # fmt: skip
    wf.connect([
        (synthesis, coef_names, [("outputnode.coefficient_labels", "labels")]),
        (coef_names, coef_ref, [("names", "out_name")]),
    ])  # fmt: skip
    coef_4d = pe.Node(niu.Function(input_names=["in_files"], output_names=["out_file"],
                                   function=merge_volumes), name="coefficients_4d")  # fmt: skip
    wf.connect([(coef_ref, coef_4d, [("out_file", "in_files")])])

    # Derivatives with provenance sidecars.
    pet_ents = {**base, "trc": "FDG"}
    sinks = [
        ("pet", pet_ref, {"space": reference, "desc": MODEL_DESC}),
        ("coefficients", coef_4d, {"space": reference, "desc": "coefficients"}),
        ("reliability", rel_ref, {"space": reference, "desc": "reliability"}),
    ]
    if TEMPLATE_SPACE in output_spaces:
        grid_coef = pe.Node(niu.Function(input_names=["in_files"], output_names=["out_file"],
                                         function=merge_volumes), name="grid_coefficients_4d")  # fmt: skip
        wf.connect([(synthesis, grid_coef, [("outputnode.coefficient_maps", "in_files")])])
        grid_ents = {"space": TEMPLATE_SPACE, "res": "2"}
        synth_out = synthesis.get_node("outputnode")
        grid_pet = pe.Node(niu.IdentityInterface(fields=["out_file"]), name="grid_pet")
        grid_rel = pe.Node(niu.IdentityInterface(fields=["out_file"]), name="grid_reliability")
        wf.connect([(synth_out, grid_pet, [("pet", "out_file")]),
                    (synth_out, grid_rel, [("reliability", "out_file")])])  # fmt: skip
        sinks += [
            ("pet", grid_pet, {**grid_ents, "desc": MODEL_DESC}),
            ("coefficients", grid_coef, {**grid_ents, "desc": "coefficients"}),
            ("reliability", grid_rel, {**grid_ents, "desc": "reliability"}),
        ]
    for kind, node, ents in sinks:
        space = ents["space"]
        sidecar = pe.Node(
            niu.Function(
                input_names=["provenance_file", "spatial_reference", "sources", "kind"],
                output_names=["meta"],
                function=synthesis_sidecar,
            ),
            name=f"sidecar_{kind}_{space}",
        )  # fmt: skip
        sidecar.inputs.spatial_reference = ref_rel if space == reference else ""
        sidecar.inputs.sources = sources
        sidecar.inputs.kind = kind
        sink = pe.Node(
            DerivativesSink(output_dir=str(output_dir), datatype="pet",
                            entities={**pet_ents, **ents}, suffix="pet"),
            name=f"ds_{kind}_{space}", run_without_submitting=True,
        )  # fmt: skip
        wf.connect([
            (synthesis, sidecar, [("outputnode.provenance", "provenance_file")]),
            (node, sink, [("out_file", "in_file")]),
            (sidecar, sink, [("meta", "extra_metadata")]),
        ])  # fmt: skip

    scoring = init_scoring_wf(
        subject=inputs.subject,
        session=inputs.session,
        output_dir=output_dir,
        has_real_pet=bool(files["pet"]),
        reference_space=reference,
        model_name=MODEL_DESC,
    )
    wf.connect([
        (pet_ref, scoring, [("out_file", "inputnode.synthetic_pet")]),
        (rel_ref, scoring, [("out_file", "inputnode.reliability_map")]),
        (coef_ref, scoring, [("out_file", "inputnode.coefficient_maps")]),
        (preproc, scoring, [("outputnode.brain_mask", "inputnode.brain_mask"),
                            ("outputnode.atlas_labels", "inputnode.territory_dseg"),
                            ("outputnode.reference", "inputnode.reference_image")]),
        (pet_ref, outputnode, [("out_file", "synthetic_pet")]),
        (scoring, outputnode, [("outputnode.metrics_json", "metrics_json"),
                               ("outputnode.regions_tsv", "regions_tsv")]),
    ])  # fmt: skip
    if files["pet"]:
        wf.connect([(preproc, scoring, [("outputnode.pet_suvr", "inputnode.real_pet")])])
    return wf
