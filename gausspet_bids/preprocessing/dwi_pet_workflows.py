"""Workflows for diffusion (b0, trace, ADC) and FDG-PET (static image, SUVR), both rigidly
co-registered to the reference image and resampled onto the model grid.
"""

from __future__ import annotations

from nipype.interfaces.utility import IdentityInterface, Merge
from nipype.pipeline import engine as pe

from gausspet_bids.preprocessing import dwi_pet_interfaces as dpi
from gausspet_bids.preprocessing import interfaces as gi


def init_dwi_wf(
    *,
    sloppy: bool,
    omp_nthreads: int,
    has_series: bool = True,
    has_trace: bool = False,
    name: str = "dwi_wf",
) -> pe.Workflow:
    """b0 / trace-weighted b1000 / ADC in reference space and on the model grid.

    With ``has_series`` the inputs ``dwi_file`` and ``bval_file`` (4D series) are used;
    otherwise ``adc_file`` (provided ADC map, any common unit) and, with ``has_trace``,
    ``trace_file`` (its trace image, the better registration source). The b0 (or trace/ADC) is
    rigidly registered to ``reference``. Outputs: ``b0``, ``trace``, ``adc`` (reference space;
    ``b0``/``trace`` undefined when not computable), ``to_reference``, ``grid_trace``,
    ``grid_adc``.
    """
    wf = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=[
        "dwi_file", "bval_file", "adc_file", "trace_file", "reference", "grid_file",
        "grid_mask", "to_template_affine"]), name="inputnode")  # fmt: skip
    outputnode = pe.Node(
        IdentityInterface(fields=["b0", "trace", "adc", "to_reference", "grid_trace", "grid_adc"]),
        name="outputnode",
    )
    threads = {"num_threads": omp_nthreads}
    reg = pe.Node(gi.Registration(mode="rigid", sloppy=sloppy, **threads),
                  name="rigid_registration", n_procs=omp_nthreads)  # fmt: skip
    merge = pe.Node(Merge(2), name="grid_transforms")
    wf.connect([
        (inputnode, reg, [("reference", "fixed_image")]),
        (inputnode, merge, [("to_template_affine", "in1")]),
        (reg, merge, [("affine", "in2")]),
        (reg, outputnode, [("affine", "to_reference")]),
    ])  # fmt: skip

    sources = {}  # image name -> (node, field) in the DWI's own space
    if has_series:
        derive = pe.Node(dpi.DWIDerivatives(), name="dwi_derivatives")
        wf.connect([(inputnode, derive, [("dwi_file", "dwi_file"), ("bval_file", "bval_file")])])
        sources = {"b0": (derive, "b0"), "trace": (derive, "trace"), "adc": (derive, "adc")}
        wf.connect([(derive, reg, [("b0", "moving_image")])])
    else:
        std = pe.Node(dpi.StandardiseADC(), name="standardise_adc")
        wf.connect([(inputnode, std, [("adc_file", "in_file")])])
        sources = {"adc": (std, "out_file")}
        if has_trace:
            trace = pe.Node(gi.Reorient(out_name="trace.nii.gz"), name="trace_check")
            wf.connect([(inputnode, trace, [("trace_file", "in_file")])])
            sources["trace"] = (trace, "out_file")
        moving = sources.get("trace", sources["adc"])
        wf.connect([(moving[0], reg, [(moving[1], "moving_image")])])

    for key, (node, field) in sources.items():
        to_ref = pe.Node(gi.ApplyTransforms(out_name=f"{key}.nii.gz", **threads),
                         name=f"{key}_to_reference")  # fmt: skip
        wf.connect([
            (node, to_ref, [(field, "in_file")]),
            (inputnode, to_ref, [("reference", "reference_file")]),
            (reg, to_ref, [("forward_transforms", "transforms")]),
            (to_ref, outputnode, [("out_file", key)]),
        ])  # fmt: skip
        if key in ("trace", "adc"):
            to_grid = pe.Node(gi.ToModelGrid(out_name=f"grid_{key}.nii.gz", **threads),
                              name=f"{key}_to_grid")  # fmt: skip
            wf.connect([
                (node, to_grid, [(field, "in_file")]),
                (inputnode, to_grid, [("grid_file", "grid_file"), ("grid_mask", "mask_file")]),
                (merge, to_grid, [("out", "transforms")]),
                (to_grid, outputnode, [("out_file", f"grid_{key}")]),
            ])  # fmt: skip
    return wf


def init_pet_wf(
    *,
    sloppy: bool,
    omp_nthreads: int,
    pet_time_window: tuple[float, float] | None = None,
    name: str = "pet_wf",
) -> pe.Workflow:
    """Static FDG-PET over the window, rigid to the reference, SUVR, and on the model grid.

    Inputs: ``pet_file``, ``pet_json``, ``reference`` (preprocessed reference), ``brain``
    (skull-stripped reference, the registration target), ``brain_mask``, ``reference_mask``
    (SUVR region), ``grid_file``, ``grid_mask``, ``to_template_affine``. Outputs: ``static``
    (PET space), ``suvr`` (reference space), ``reference_mean``, ``to_reference``, ``grid_suvr``.
    """
    wf = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(fields=[
        "pet_file", "pet_json", "reference", "brain", "brain_mask", "reference_mask",
        "grid_file", "grid_mask", "to_template_affine"]), name="inputnode")  # fmt: skip
    outputnode = pe.Node(
        IdentityInterface(fields=["static", "suvr", "reference_mean", "to_reference", "grid_suvr"]),
        name="outputnode",
    )
    threads = {"num_threads": omp_nthreads}
    static = pe.Node(dpi.StaticPET(), name="static_pet")
    if pet_time_window is not None:
        static.inputs.window_min = tuple(float(t) for t in pet_time_window)
    reg = pe.Node(gi.Registration(mode="rigid", sloppy=sloppy, **threads),
                  name="rigid_registration", n_procs=omp_nthreads)  # fmt: skip
    to_ref = pe.Node(gi.ApplyTransforms(out_name="pet.nii.gz", **threads), name="to_reference")
    suvr = pe.Node(dpi.SUVR(), name="suvr")
    to_grid = pe.Node(gi.ToModelGrid(out_name="grid_suvr.nii.gz", **threads), name="suvr_to_grid")
    wf.connect([
        (inputnode, static, [("pet_file", "pet_file"), ("pet_json", "json_file")]),
        (inputnode, reg, [("brain", "fixed_image")]),
        (static, reg, [("out_file", "moving_image")]),
        (static, to_ref, [("out_file", "in_file")]),
        (inputnode, to_ref, [("reference", "reference_file")]),
        (reg, to_ref, [("forward_transforms", "transforms")]),
        (to_ref, suvr, [("out_file", "in_file")]),
        (inputnode, suvr, [("reference_mask", "reference_mask"), ("brain_mask", "brain_mask")]),
        (suvr, to_grid, [("out_file", "in_file")]),
        (inputnode, to_grid, [("grid_file", "grid_file"), ("grid_mask", "mask_file"),
                              ("to_template_affine", "transforms")]),
        (static, outputnode, [("out_file", "static")]),
        (suvr, outputnode, [("out_file", "suvr"), ("reference_mean", "reference_mean")]),
        (reg, outputnode, [("affine", "to_reference")]),
        (to_grid, outputnode, [("out_file", "grid_suvr")]),
    ])  # fmt: skip
    return wf
