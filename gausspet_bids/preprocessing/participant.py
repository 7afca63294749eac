"""The participant-level preprocessing workflow: wires the reference, co-registration, DWI and
PET workflows and writes the BIDS derivatives.

Reference image: T1w when present, otherwise the structural image with the finest voxels
(FLAIR preferred on ties, then T2w), so that a DWI + FLAIR stroke protocol is processed too.
Derivative names then carry that space (``space-FLAIR``). See ``docs/outputs.md``.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from nipype.interfaces.utility import Function, IdentityInterface
from nipype.pipeline import engine as pe

from gausspet_bids.bids.sink import DerivativesSink
from gausspet_bids.preprocessing.anatomical import init_anat_reference_wf, init_coreg_wf
from gausspet_bids.preprocessing.dwi_pet_workflows import init_dwi_wf, init_pet_wf
from gausspet_bids.preprocessing.image_checks import InputImageError, load_checked
from gausspet_bids.preprocessing.model_grid import TEMPLATE_SPACE, grid_to_dict, model_grid

STRUCTURAL = ("T1w", "FLAIR", "T2w")  # reference preference order on ties
GRID_ENTITIES = {"space": TEMPLATE_SPACE, "res": "2"}
OUTPUT_FIELDS = [
    "reference", "reference_space", "brain_mask", "brain", "T1w", "T2w", "FLAIR", "dwi_b0",
    "dwi_trace", "adc", "to_template_affine", "to_template_warp", "from_template_warp",
    "atlas_labels", "territories", "reference_mask", "pet_suvr", "pet_reference_mean",
    "grid_file", "grid_mask", "grid_T1w", "grid_T2w", "grid_FLAIR", "grid_trace", "grid_adc",
    "grid_pet",
]  # fmt: skip


def choose_reference(structural: dict[str, str | None]) -> str:
    """Name of the reference contrast: T1w if present, else the finest of FLAIR/T2w."""
    present = [c for c in STRUCTURAL if structural.get(c)]
    if not present:
        raise InputImageError("no structural image (T1w, FLAIR or T2w): nothing to register to")
    if "T1w" in present:
        return "T1w"

    def voxel_volume(contrast: str) -> float:
        return float(np.prod(nib.load(str(structural[contrast])).header.get_zooms()[:3]))

    return min(present, key=lambda c: (round(voxel_volume(c), 3), STRUCTURAL.index(c)))


def choose_mask_source(structural: dict[str, str | None]) -> str:
    """Contrast the brain mask is made on: T1w, else FLAIR, else T2w (deepbet is trained on
    T1w; on the phantom without T1w it gave Dice 0.97 on FLAIR but 0.92 on T2w, which it
    over-segments by the extra-axial CSF). It may differ from the reference."""
    return next(c for c in STRUCTURAL if structural.get(c))


def _mask_metadata(method: str, contrast: str) -> dict:
    return {"BrainExtraction": method, "BrainExtractionContrast": contrast}


def check_inputs(files: dict[str, str | None]) -> None:
    """Load every given input once so that a broken file stops the participant at once."""
    for key, path in files.items():
        if not path or key in ("bval", "bvec", "pet_json"):
            continue
        if key == "pet":
            ndim = len(nib.load(str(path)).shape) if Path(path).is_file() else 3
            load_checked(path, ndim=4 if ndim == 4 else 3)
        else:
            load_checked(path, ndim=4 if key == "dwi" else 3)
    if files.get("dwi") and not files.get("bval"):
        raise InputImageError(f"{files['dwi']}: a DWI series needs its .bval file")


def _bids_uri(path: str | None) -> str | None:
    """``bids:raw:sub-X/...`` for a raw input (path from its ``sub-`` folder on)."""
    if not path:
        return None
    parts = Path(path).parts
    starts = [i for i, p in enumerate(parts) if p.startswith("sub-")]
    return "bids:raw:" + "/".join(parts[starts[0] :]) if starts else str(path)


_DESCRIPTIONS = {
    "b0": "b = 0 image (median of the b0 volumes), rigidly co-registered to the reference",
    "trace": "trace-weighted image of the b ~ 1000 s/mm2 shell, rigidly co-registered",
    "adc": "apparent diffusion coefficient in 1e-3 mm2/s, rigidly co-registered",
    "modeltrace": "trace-weighted image on the model grid (brain-masked)",
    "modeladc": "ADC (1e-3 mm2/s) on the model grid (brain-masked)",
    "brain": "brain mask of the reference image",
}


_ATLAS_DESCRIPTIONS = {
    "Arterial": "32-label arterial territory atlas",
    "ArterialTerritories": "nine arterial territories per hemisphere",
}


def _description(entities: dict, suffix: str, ref: str) -> str | None:
    """The sidecar ``Description`` of a derivative (recommended by BIDS with ``desc``)."""
    desc = entities.get("desc")
    if suffix == "xfm":
        return None
    if entities.get("atlas"):
        what = _ATLAS_DESCRIPTIONS.get(entities["atlas"], f"{entities['atlas']} atlas")
        return f"{what} (Liu et al. 2023) in the {ref} space"
    if desc == "model":
        return f"{suffix} on the model grid (affine to the template, brain-masked, float32)"
    if desc == "preproc" and suffix == "pet":
        return "static FDG-PET over the time window, rigidly co-registered, as SUVR"
    if desc == "preproc":
        if suffix == ref:
            return f"{ref} reference image, reoriented to RAS and N4 bias-corrected"
        return f"{suffix}, N4 bias-corrected, rigidly co-registered to the {ref} reference"
    return _DESCRIPTIONS.get(desc)


def _suvr_metadata(reference_mean: float, region: str, window: object) -> dict:
    return {
        "Units": "SUVR",
        "SUVRReferenceRegion": region,
        "SUVRReferenceMeanUptake": reference_mean,
        "TimeWindowMinutes": window,
    }


def init_preproc_wf(
    *,
    subject: str,
    session: str | None,
    output_dir: str | Path,
    t1w: str | None = None,
    t2w: str | None = None,
    flair: str | None = None,
    dwi: str | None = None,
    bval: str | None = None,
    bvec: str | None = None,
    adc: str | None = None,
    trace: str | None = None,
    pet: str | None = None,
    pet_json: str | None = None,
    sloppy: bool = False,
    omp_nthreads: int = 1,
    pet_time_window: tuple[float, float] | None = None,
    suvr_reference: str = "cerebellum",
    write_model_inputs: bool = False,
    model_grid_shape: tuple[int, int, int] | None = None,
    model_grid_affine=None,
    brain_extraction: str = "auto",
    name: str = "preproc_wf",
) -> pe.Workflow:
    """Preprocess one participant/session; outputs listed in :data:`OUTPUT_FIELDS`.

    Inputs are paths (``None`` when absent); they are checked before the workflow is built.
    ``reference_space`` is ``T1w``, ``FLAIR`` or ``T2w``. Model-grid outputs (``grid_*``) are
    brain-masked, bias-corrected (not DWI/PET), float32, not intensity-normalised; they are
    written to derivatives only with ``write_model_inputs``.
    """
    files = {"T1w": t1w, "T2w": t2w, "FLAIR": flair, "dwi": dwi, "bval": bval, "bvec": bvec,
             "adc": adc, "trace": trace, "pet": pet, "pet_json": pet_json}  # fmt: skip
    check_inputs(files)
    ref = choose_reference(files)
    mask_source = choose_mask_source(files)
    if model_grid_shape is None or model_grid_affine is None:
        model_grid_shape, model_grid_affine = model_grid()
    grid_meta = {"ModelGrid": grid_to_dict(model_grid_shape, np.asarray(model_grid_affine)),
                 "Resolution": "2 mm isotropic model grid (affine to the template)"}  # fmt: skip
    base = {"sub": subject, "ses": session}
    ref_path = _derivative_rel(base, "anat", {"desc": "preproc"}, ref)

    wf = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=list(files)), name="inputnode")
    for key, value in files.items():
        if value:
            setattr(inputnode.inputs, key, str(value))
    outputnode = pe.Node(IdentityInterface(fields=OUTPUT_FIELDS), name="outputnode")
    outputnode.inputs.reference_space = ref

    def sink(tag, node, field, datatype, entities, suffix, meta=None):
        ds = pe.Node(DerivativesSink(output_dir=str(output_dir), datatype=datatype,
                                     entities={**base, **entities}, suffix=suffix),
                     name=f"ds_{tag}_{field}", run_without_submitting=True)  # fmt: skip
        description = _description(entities, suffix, ref)
        if description:
            meta = {"Description": description, **(meta or {})}
        if meta:
            ds.inputs.metadata = meta
        if suffix == "dwi":  # 3D DWI derivatives: the validator wants an (inherited) .bval/.bvec
            ds.inputs.dwi_gradients = True
        wf.connect([(node, ds, [(field, "in_file")])])
        return ds

    anat = init_anat_reference_wf(
        sloppy=sloppy, omp_nthreads=omp_nthreads, brain_extraction=brain_extraction,
        suvr_reference=suvr_reference, model_grid_shape=model_grid_shape,
        model_grid_affine=model_grid_affine, mask_source=mask_source != ref,
    )  # fmt: skip
    anat_out = anat.get_node("outputnode")
    if mask_source != ref:
        wf.connect([(inputnode, anat, [(mask_source, "inputnode.mask_source_file")])])
    wf.connect([
        (inputnode, anat, [(ref, "inputnode.in_file")]),
        (anat, outputnode, [
            ("outputnode.preproc", "reference"), ("outputnode.preproc", ref),
            ("outputnode.brain_mask", "brain_mask"), ("outputnode.brain", "brain"),
            ("outputnode.to_template_affine", "to_template_affine"),
            ("outputnode.to_template_warp", "to_template_warp"),
            ("outputnode.from_template_warp", "from_template_warp"),
            ("outputnode.labels", "atlas_labels"), ("outputnode.territories", "territories"),
            ("outputnode.reference_mask", "reference_mask"), ("outputnode.grid_file", "grid_file"),
            ("outputnode.grid_mask", "grid_mask"), ("outputnode.grid_image", f"grid_{ref}")]),
    ])  # fmt: skip
    src = {"Sources": [_bids_uri(files[ref])]}
    xfm = {"from": ref, "to": TEMPLATE_SPACE, "mode": "image"}
    inv = {"from": TEMPLATE_SPACE, "to": ref, "mode": "image"}
    space = {"space": ref}
    sink(
        "anat",
        anat_out,
        "preproc",
        "anat",
        {"desc": "preproc"},
        ref,
        {"SkullStripped": False, **src},
    )
    mask_src = {"Sources": list(dict.fromkeys([src["Sources"][0], _bids_uri(files[mask_source])]))}
    ds_mask = sink(
        "anat", anat_out, "brain_mask", "anat", {"desc": "brain"}, "mask",
        {"Type": "Brain", "SpatialReference": ref_path, **mask_src},
    )  # fmt: skip
    mask_meta = pe.Node(Function(input_names=["method", "contrast"], output_names=["meta"],
                                 function=_mask_metadata), name="mask_metadata")  # fmt: skip
    mask_meta.inputs.contrast = mask_source
    wf.connect([(anat_out, mask_meta, [("brain_extraction_method", "method")]),
                (mask_meta, ds_mask, [("meta", "extra_metadata")])])  # fmt: skip
    sink("anat", anat_out, "to_template_affine", "anat", {**xfm, "desc": "affine"}, "xfm")
    sink("anat", anat_out, "to_template_warp", "anat", {**xfm, "desc": "nonlinear"}, "xfm")
    sink("anat", anat_out, "from_template_warp", "anat", {**inv, "desc": "nonlinear"}, "xfm")
    ref_meta = {"SpatialReference": ref_path}
    sink("anat", anat_out, "labels", "anat", {**space, "atlas": "Arterial"}, "dseg", ref_meta)
    sink("anat", anat_out, "territories", "anat", {**space, "atlas": "ArterialTerritories"},
         "dseg", ref_meta)  # fmt: skip
    grid_sinks = [("anat", anat_out, "grid_mask", "anat", {"label": "brain", "desc": "model"}, "mask"),
                  ("anat", anat_out, "grid_image", "anat", {"desc": "model"}, ref)]  # fmt: skip

    for contrast in STRUCTURAL:
        if contrast == ref or not files[contrast]:
            continue
        co = init_coreg_wf(sloppy=sloppy, omp_nthreads=omp_nthreads, name=f"coreg_{contrast}_wf")
        co_out = co.get_node("outputnode")
        wf.connect([
            (inputnode, co, [(contrast, "inputnode.in_file")]),
            (anat, co, [("outputnode.preproc", "inputnode.reference"),
                        ("outputnode.grid_file", "inputnode.grid_file"),
                        ("outputnode.grid_mask", "inputnode.grid_mask"),
                        ("outputnode.to_template_affine", "inputnode.to_template_affine")]),
            (co, outputnode, [("outputnode.coregistered", contrast),
                              ("outputnode.grid_image", f"grid_{contrast}")]),
        ])  # fmt: skip
        meta = {"SkullStripped": False, "SpatialReference": ref_path,
                "Sources": [_bids_uri(files[contrast])]}  # fmt: skip
        sink(contrast, co_out, "coregistered", "anat", {**space, "desc": "preproc"}, contrast, meta)
        sink(
            contrast,
            co_out,
            "to_reference",
            "anat",
            {"from": contrast, "to": ref, "mode": "image"},
            "xfm",
        )
        grid_sinks.append((contrast, co_out, "grid_image", "anat", {"desc": "model"}, contrast))

    if dwi or adc:
        dw = init_dwi_wf(sloppy=sloppy, omp_nthreads=omp_nthreads, has_series=bool(dwi),
                         has_trace=bool(trace))  # fmt: skip
        dw_out = dw.get_node("outputnode")
        wf.connect([
            (inputnode, dw, [("dwi", "inputnode.dwi_file"), ("bval", "inputnode.bval_file"),
                             ("adc", "inputnode.adc_file"), ("trace", "inputnode.trace_file")]),
            (anat, dw, [("outputnode.preproc", "inputnode.reference"),
                        ("outputnode.grid_file", "inputnode.grid_file"),
                        ("outputnode.grid_mask", "inputnode.grid_mask"),
                        ("outputnode.to_template_affine", "inputnode.to_template_affine")]),
            (dw, outputnode, [("outputnode.adc", "adc"), ("outputnode.grid_adc", "grid_adc")]),
        ])  # fmt: skip
        meta = {"SpatialReference": ref_path, "Sources": [_bids_uri(dwi or adc)],
                "SkullStripped": False}  # fmt: skip
        dwi_keys = [("adc", "adc", {"Units": "1e-3 mm^2/s"})]
        if dwi or trace:
            wf.connect([(dw, outputnode, [("outputnode.trace", "dwi_trace"),
                                          ("outputnode.grid_trace", "grid_trace")])])  # fmt: skip
            dwi_keys.append(("trace", "trace", {"BValue": 1000}))
            grid_sinks.append(("dwi", dw_out, "grid_trace", "dwi", {"desc": "modeltrace"}, "dwi"))
        if dwi:
            wf.connect([(dw, outputnode, [("outputnode.b0", "dwi_b0")])])
            dwi_keys.append(("b0", "b0", {"BValue": 0}))
        for field, desc, extra in dwi_keys:
            sink("dwi", dw_out, field, "dwi", {**space, "desc": desc}, "dwi", {**meta, **extra})
        sink(
            "dwi", dw_out, "to_reference", "dwi", {"from": "dwi", "to": ref, "mode": "image"}, "xfm"
        )
        grid_sinks.append(("dwi", dw_out, "grid_adc", "dwi", {"desc": "modeladc"}, "dwi"))

    if pet:
        pw = init_pet_wf(sloppy=sloppy, omp_nthreads=omp_nthreads, pet_time_window=pet_time_window)
        pw_out = pw.get_node("outputnode")
        wf.connect([
            (inputnode, pw, [("pet", "inputnode.pet_file"), ("pet_json", "inputnode.pet_json")]),
            (anat, pw, [("outputnode.preproc", "inputnode.reference"),
                        ("outputnode.brain", "inputnode.brain"),
                        ("outputnode.brain_mask", "inputnode.brain_mask"),
                        ("outputnode.reference_mask", "inputnode.reference_mask"),
                        ("outputnode.grid_file", "inputnode.grid_file"),
                        ("outputnode.grid_mask", "inputnode.grid_mask"),
                        ("outputnode.to_template_affine", "inputnode.to_template_affine")]),
            (pw, outputnode, [("outputnode.suvr", "pet_suvr"),
                              ("outputnode.reference_mean", "pet_reference_mean"),
                              ("outputnode.grid_suvr", "grid_pet")]),
        ])  # fmt: skip
        pet_meta = pe.Node(Function(input_names=["reference_mean", "region", "window"],
                                    output_names=["meta"], function=_suvr_metadata),
                           name="pet_metadata")  # fmt: skip
        pet_meta.inputs.region = suvr_reference
        pet_meta.inputs.window = list(pet_time_window) if pet_time_window else "last 30 min"
        wf.connect([(pw, pet_meta, [("outputnode.reference_mean", "reference_mean")])])
        meta = {"SpatialReference": ref_path, "Sources": [_bids_uri(pet)], "SkullStripped": False}
        pet_ents = {"trc": "FDG", **space, "desc": "preproc"}
        ds = sink("pet", pw_out, "suvr", "pet", pet_ents, "pet", meta)
        wf.connect([(pet_meta, ds, [("meta", "extra_metadata")])])
        sink("pet", pw_out, "to_reference", "pet", {"trc": "FDG", "from": "pet", "to": ref,
                                             "mode": "image"}, "xfm")  # fmt: skip
        grid_sinks.append(
            ("pet", pw_out, "grid_suvr", "pet", {"trc": "FDG", "desc": "model"}, "pet")
        )

    if write_model_inputs:
        for tag, node, field, datatype, entities, suffix in grid_sinks:
            ents = {**entities, **GRID_ENTITIES}
            sink(f"{tag}grid", node, field, datatype, ents, suffix,
                 {"SkullStripped": True, **grid_meta})  # fmt: skip
    return wf


def _derivative_rel(base: dict, datatype: str, entities: dict, suffix: str) -> str:
    """Path of a derivative relative to the derivatives root (for ``SpatialReference``)."""
    from gausspet_bids.bids.naming import derivative_path

    return derivative_path(".", datatype, {**base, **entities}, suffix).as_posix()
