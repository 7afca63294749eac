"""Workflows for the reference image and the other structural contrasts.

``init_anat_reference_wf``: reorient, N4, brain extraction (deepbet), registration of the brain
to the ICBM 2009a template (affine for the model grid, then SyN for the atlas), the arterial
territories and grey matter brought back to the reference space, the model-grid brain mask and
the reference image on the model grid. ``init_coreg_wf``: one more structural contrast, N4 and
rigidly co-registered to the reference.
"""

from __future__ import annotations

from nipype.interfaces.utility import IdentityInterface, Merge
from nipype.pipeline import engine as pe

from gausspet_bids.preprocessing import interfaces as gi

# The template is resampled to this spacing for the registration (sloppy: coarser, 4x faster).
TEMPLATE_REGISTRATION_MM = {False: 2.0, True: 3.0}


def init_anat_reference_wf(
    *,
    sloppy: bool,
    omp_nthreads: int,
    brain_extraction: str = "auto",
    suvr_reference: str = "cerebellum",
    model_grid_shape: tuple[int, int, int] | None = None,
    model_grid_affine=None,
    mask_source: bool = False,
    name: str = "anat_reference_wf",
) -> pe.Workflow:
    """Preprocess the reference image and map it to the template.

    Inputs: ``in_file`` (raw reference image); with ``mask_source``, also ``mask_source_file``
    (raw image of another contrast: the brain mask is made on it, after N4 and a rigid
    registration to the reference, and resampled onto the reference). Outputs: ``preproc``
    (reoriented, N4),
    ``brain_mask``, ``brain``, ``brain_extraction_method``, ``to_template_affine`` (ITK .txt),
    ``to_template_warp``, ``from_template_warp``, ``labels`` (32-label atlas), ``territories``
    (18 values), ``gm`` (GM probability), ``reference_mask`` (SUVR region), ``grid_file``,
    ``grid_mask``, ``grid_image`` (reference contrast on the model grid).
    """
    wf = pe.Workflow(name=name)
    wf.__desc__ = (
        "The reference image was reoriented, corrected for intensity non-uniformity with N4 "
        "(ANTs via antspyx), skull-stripped with deepbet, and registered to the ICBM 2009a "
        "nonlinear symmetric template (affine, then SyN)."
    )
    inputnode = pe.Node(IdentityInterface(fields=["in_file", "mask_source_file"]),
                        name="inputnode")  # fmt: skip
    outputnode = pe.Node(IdentityInterface(fields=[
        "preproc", "brain_mask", "brain", "brain_extraction_method", "to_template_affine",
        "to_template_warp", "from_template_warp", "labels", "territories", "gm",
        "reference_mask", "grid_file", "grid_mask", "grid_image",
    ]), name="outputnode")  # fmt: skip
    threads = {"num_threads": omp_nthreads}

    templates = pe.Node(gi.TemplateFiles(), name="templates")
    if model_grid_shape is not None and model_grid_affine is not None:
        templates.inputs.grid_shape = tuple(int(s) for s in model_grid_shape)
        templates.inputs.grid_affine = [[float(v) for v in row] for row in model_grid_affine]
    reorient = pe.Node(gi.Reorient(), name="reorient")
    n4 = pe.Node(
        gi.N4BiasFieldCorrection(sloppy=sloppy, **threads), name="n4", n_procs=omp_nthreads
    )
    bet = pe.Node(gi.BrainExtraction(method=brain_extraction, sloppy=sloppy, **threads),
                  name="brain_extraction", n_procs=omp_nthreads)  # fmt: skip
    if mask_source:  # bet runs on the other contrast; its mask is applied to the reference
        ms_reorient = pe.Node(gi.Reorient(), name="mask_source_reorient")
        ms_n4 = pe.Node(gi.N4BiasFieldCorrection(sloppy=sloppy, **threads),
                        name="mask_source_n4", n_procs=omp_nthreads)  # fmt: skip
        ms_reg = pe.Node(gi.Registration(mode="rigid", sloppy=sloppy, **threads),
                         name="mask_source_registration", n_procs=omp_nthreads)  # fmt: skip
        mask_to_ref = pe.Node(gi.ApplyTransforms(out_name="brain_mask.nii.gz", **threads),
                              name="mask_to_reference")  # fmt: skip
        applied = pe.Node(gi.ApplyBrainMask(), name="apply_brain_mask")
        wf.connect([
            (inputnode, ms_reorient, [("mask_source_file", "in_file")]),
            (ms_reorient, ms_n4, [("out_file", "in_file")]),
            (n4, ms_reg, [("out_file", "fixed_image")]),
            (ms_n4, ms_reg, [("out_file", "moving_image")]),
            (ms_n4, bet, [("out_file", "in_file")]),
            (bet, mask_to_ref, [("out_mask", "in_file")]),
            (n4, mask_to_ref, [("out_file", "reference_file")]),
            (ms_reg, mask_to_ref, [("forward_transforms", "transforms")]),
            (n4, applied, [("out_file", "in_file")]),
            (mask_to_ref, applied, [("out_file", "mask_file")]),
            (bet, applied, [("method", "method")]),
        ])  # fmt: skip
        bet_out = applied
    else:
        wf.connect([(n4, bet, [("out_file", "in_file")])])
        bet_out = bet
    reg = pe.Node(gi.Registration(mode="syn", sloppy=sloppy,
                                  fixed_resolution_mm=TEMPLATE_REGISTRATION_MM[bool(sloppy)], **threads),
                  name="template_registration", n_procs=omp_nthreads)  # fmt: skip
    atlas = pe.Node(gi.ApplyTransforms(interpolation="genericLabel", out_name="atlas.nii.gz",
                                       **threads), name="atlas_to_reference")  # fmt: skip
    gm = pe.Node(gi.ApplyTransforms(out_name="gm.nii.gz", **threads), name="gm_to_reference")
    terr = pe.Node(gi.TerritoryMaps(reference_region=suvr_reference), name="territories")
    grid_mask = pe.Node(gi.MaskToModelGrid(**threads), name="grid_mask")
    grid_image = pe.Node(gi.ToModelGrid(**threads), name="grid_image")

    wf.connect([
        (inputnode, reorient, [("in_file", "in_file")]),
        (reorient, n4, [("out_file", "in_file")]),
        (templates, reg, [("t1w", "fixed_image")]),
        (bet_out, reg, [("out_brain", "moving_image")]),
        (templates, atlas, [("atlas", "in_file")]),
        (templates, gm, [("gm", "in_file")]),
        (n4, atlas, [("out_file", "reference_file")]),
        (n4, gm, [("out_file", "reference_file")]),
        (reg, atlas, [("inverse_transforms", "transforms"),
                      ("inverse_invert_flags", "invert_flags")]),
        (reg, gm, [("inverse_transforms", "transforms"),
                   ("inverse_invert_flags", "invert_flags")]),
        (atlas, terr, [("out_file", "labels_file")]),
        (gm, terr, [("out_file", "gm_file")]),
        (bet_out, terr, [("out_mask", "brain_mask")]),
        (bet_out, grid_mask, [("out_mask", "in_file")]),
        (templates, grid_mask, [("grid", "grid_file")]),
        (reg, grid_mask, [("affine", "affine")]),
        (n4, grid_image, [("out_file", "in_file")]),
        (templates, grid_image, [("grid", "grid_file")]),
        (reg, grid_image, [("affine", "transforms")]),
        (grid_mask, grid_image, [("out_file", "mask_file")]),
        (n4, outputnode, [("out_file", "preproc")]),
        (bet_out, outputnode, [("out_mask", "brain_mask"), ("out_brain", "brain"),
                           ("method", "brain_extraction_method")]),
        (reg, outputnode, [("affine", "to_template_affine"), ("warp", "to_template_warp"),
                           ("inverse_warp", "from_template_warp")]),
        (terr, outputnode, [("labels", "labels"), ("territories", "territories"),
                            ("reference_mask", "reference_mask")]),
        (gm, outputnode, [("out_file", "gm")]),
        (templates, outputnode, [("grid", "grid_file")]),
        (grid_mask, outputnode, [("out_file", "grid_mask")]),
        (grid_image, outputnode, [("out_file", "grid_image")]),
    ])  # fmt: skip
    return wf


def init_coreg_wf(
    *,
    sloppy: bool,
    omp_nthreads: int,
    bias_correct: bool = True,
    name: str = "coreg_wf",
) -> pe.Workflow:
    """Reorient, N4 and rigidly co-register one structural image to the reference.

    Inputs: ``in_file``, ``reference`` (preprocessed reference image), ``grid_file``,
    ``grid_mask``, ``to_template_affine``. Outputs: ``coregistered`` (in reference space),
    ``to_reference`` (rigid ITK .txt, reference points -> image points), ``grid_image``.
    """
    wf = pe.Workflow(name=name)
    inputnode = pe.Node(IdentityInterface(
        fields=["in_file", "reference", "grid_file", "grid_mask", "to_template_affine"]),
        name="inputnode")  # fmt: skip
    outputnode = pe.Node(
        IdentityInterface(fields=["coregistered", "to_reference", "grid_image", "preproc"]),
        name="outputnode",
    )
    threads = {"num_threads": omp_nthreads}
    reorient = pe.Node(gi.Reorient(), name="reorient")
    reg = pe.Node(gi.Registration(mode="rigid", sloppy=sloppy, **threads),
                  name="rigid_registration", n_procs=omp_nthreads)  # fmt: skip
    to_ref = pe.Node(gi.ApplyTransforms(out_name="coregistered.nii.gz", **threads),
                     name="to_reference")  # fmt: skip
    merge = pe.Node(Merge(2), name="grid_transforms")  # [to template, to reference]
    to_grid = pe.Node(gi.ToModelGrid(**threads), name="grid_image")

    if bias_correct:
        n4 = pe.Node(gi.N4BiasFieldCorrection(sloppy=sloppy, **threads), name="n4",
                     n_procs=omp_nthreads)  # fmt: skip
        wf.connect([(reorient, n4, [("out_file", "in_file")])])
        prepared = (n4, "out_file")
    else:
        prepared = (reorient, "out_file")
    wf.connect([
        (inputnode, reorient, [("in_file", "in_file")]),
        (inputnode, reg, [("reference", "fixed_image")]),
        (prepared[0], reg, [(prepared[1], "moving_image")]),
        (prepared[0], to_ref, [(prepared[1], "in_file")]),
        (inputnode, to_ref, [("reference", "reference_file")]),
        (reg, to_ref, [("forward_transforms", "transforms")]),
        (inputnode, merge, [("to_template_affine", "in1")]),
        (reg, merge, [("affine", "in2")]),
        (prepared[0], to_grid, [(prepared[1], "in_file")]),
        (inputnode, to_grid, [("grid_file", "grid_file"), ("grid_mask", "mask_file")]),
        (merge, to_grid, [("out", "transforms")]),
        (to_ref, outputnode, [("out_file", "coregistered")]),
        (reg, outputnode, [("affine", "to_reference")]),
        (to_grid, outputnode, [("out_file", "grid_image")]),
        (prepared[0], outputnode, [(prepared[1], "preproc")]),
    ])  # fmt: skip
    return wf
