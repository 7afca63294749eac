"""Participant-level scoring workflow: regional table, hypometabolic regions, scores, figures.

Every node is a thin wrapper over a plain, unit-tested function in ``gausspet_bids.metrics`` or
``gausspet_bids.reports.figures``; output names are fixed here with
``gausspet_bids.bids.naming.derivative_path``.

Outputs, for model ``M`` (``desc-M``) and reference space ``S``, under ``sub-X[/ses-Y]/``:

* ``pet/..._trc-FDG_space-S_atlas-Arterial_desc-M_regions.tsv`` (+ ``.json`` column sidecar)
* ``anat/..._space-S_label-hypometabolic_desc-M_mask.nii.gz`` (+ ``.json``): synthetic PET
* ``anat/..._space-S_label-hypometabolic_desc-realpet_mask.nii.gz``: real PET (when present)
* ``pet/..._trc-FDG_space-S_desc-M_metrics.json``: volumes, image metrics, Dice
* ``OUTPUT_DIR/sub-X/figures/*.png``
"""

from __future__ import annotations

from pathlib import Path

from nipype.interfaces import utility as niu
from nipype.pipeline import engine as pe

from gausspet_bids.bids.naming import derivative_path
from gausspet_bids.metrics.hypometabolism import DEFAULTS as HYPO

# Non-BIDS files the scoring and group levels write; the derivative .bidsignore should list them
# (checked with bids-validator-deno: no errors with exactly these lines).
BIDSIGNORE_PATTERNS = (
    "*_regions.tsv", "*_regions.json", "*_metrics.json", "sub-*/figures", "group_*", "*.html",
)  # fmt: skip


def scoring_outputs(
    output_dir: Path | str, subject: str, session: str | None, space: str, model: str
) -> dict[str, Path]:
    """Paths of every file the scoring workflow writes (figures excepted)."""
    ent = {"sub": subject, "ses": session, "space": space}
    pet = {**ent, "trc": "FDG"}
    return {
        "regions": derivative_path(
            output_dir, "pet", {**pet, "atlas": "Arterial", "desc": model}, "regions", ".tsv"
        ),  # fmt: skip
        "hypo_synthetic": derivative_path(
            output_dir, "anat", {**ent, "label": "hypometabolic", "desc": model}, "mask"
        ),
        "hypo_real": derivative_path(
            output_dir, "anat", {**ent, "label": "hypometabolic", "desc": "realpet"}, "mask"
        ),
        "metrics": derivative_path(output_dir, "pet", {**pet, "desc": model}, "metrics", ".json"),
    }


def derivative_sources(subject: str, session: str | None, space: str, model: str) -> dict[str, str]:
    """Paths, relative to the derivative dataset, of the derivatives the scoring reads (for
    ``Sources`` and ``SpatialReference`` in its sidecars, instead of work-directory paths)."""
    ent = {"sub": subject, "ses": session}
    pet = {**ent, "trc": "FDG", "space": space}

    def rel(datatype: str, entities: dict, suffix: str) -> str:
        return derivative_path(".", datatype, entities, suffix).as_posix().removeprefix("./")

    return {
        "reference": rel("anat", {**ent, "desc": "preproc"}, space),
        "brain_mask": rel("anat", {**ent, "desc": "brain"}, "mask"),
        "territory_dseg": rel("anat", {**ent, "space": space, "atlas": "Arterial"}, "dseg"),
        "synthetic_pet": rel("pet", {**pet, "desc": model}, "pet"),
        "real_pet": rel("pet", {**pet, "desc": "preproc"}, "pet"),
    }


def _regions_node(synthetic_pet, real_pet, territory_dseg, out_tsv):
    from gausspet_bids.metrics.territories import write_territory_table

    pets = {"synthetic": synthetic_pet}
    if real_pet:
        pets["real"] = real_pet
    return str(write_territory_table(pets, territory_dseg, out_tsv))


def _hypo_node(pet, brain_mask, territory_dseg, out_mask, sources, spatial_reference):
    from gausspet_bids.metrics.hypometabolism import write_hypometabolism

    path, volumes = write_hypometabolism(pet, brain_mask, territory_dseg, out_mask,
                                         sources=sources, spatial_reference=spatial_reference)  # fmt: skip
    return str(path), volumes


def _scores_node(out_json, model, synthetic_pet, brain_mask, hypo_synthetic, volumes_synthetic,
                 real_pet, hypo_real, volumes_real, sources):  # fmt: skip
    from gausspet_bids.metrics.participant_scores import write_participant_scores

    return str(write_participant_scores(
        out_json, model=model, synthetic_pet=synthetic_pet, brain_mask=brain_mask,
        hypo_synthetic=hypo_synthetic, volumes_synthetic=volumes_synthetic,
        real_pet=real_pet or None, hypo_real=hypo_real or None, volumes_real=volumes_real or None,
        sources=sources,
    ))  # fmt: skip


def _figures_node(output_dir, subject, session, synthetic_pet, brain_mask, territory_dseg,
                  real_pet, hypo_synthetic, hypo_real, reference_image, coefficient_maps,
                  reliability_map):  # fmt: skip
    from gausspet_bids.reports.figures import participant_figures

    paths = participant_figures(
        output_dir=output_dir, subject=subject, session=session or None,
        synthetic_pet=synthetic_pet, brain_mask=brain_mask, territory_dseg=territory_dseg,
        real_pet=real_pet or None, hypo_synthetic=hypo_synthetic, hypo_real=hypo_real or None,
        reference_image=reference_image or None, coefficient_maps=coefficient_maps or (),
        reliability_map=reliability_map or None,
    )  # fmt: skip
    return [str(p) for p in paths]


def _function_node(func, inputs: list[str], outputs: list[str], name: str) -> pe.Node:
    """A node that writes into the output folder: never taken from the work directory's cache
    (``overwrite``), so deleting the outputs and rerunning with the same ``-w`` rewrites them."""
    return pe.Node(
        niu.Function(function=func, input_names=inputs, output_names=outputs),
        name=name,
        overwrite=True,
    )


def init_scoring_wf(
    *,
    subject: str,
    session: str | None,
    output_dir: Path | str,
    has_real_pet: bool,
    reference_space: str = "T1w",
    model_name: str = "gausspet",
    name: str = "scoring_wf",
) -> pe.Workflow:
    """Score one participant/session's synthetic PET (and the real PET, if any).

    Inputs (``inputnode``): ``synthetic_pet`` (SUVR, reference space), ``real_pet`` (SUVR,
    same grid; used when ``has_real_pet``), ``brain_mask``, ``territory_dseg`` (32 atlas labels),
    and optionally ``reference_image`` (background for overlays), ``coefficient_maps`` (list),
    ``reliability_map``. ``reference_space`` names the ``space-`` entity.

    Outputs (``outputnode``): ``regions_tsv``, ``hypo_synthetic``, ``volumes_synthetic``,
    ``hypo_real``, ``volumes_real``, ``metrics_json``, ``figures``.

    Wiring from ``init_preproc_wf``'s outputnode: ``atlas_labels`` -> ``territory_dseg``,
    ``pet_suvr`` -> ``real_pet``, ``brain_mask`` -> ``brain_mask``, ``reference`` ->
    ``reference_image``; the synthetic PET (and coefficient/reliability maps) must be resampled
    to the same reference grid first.
    """
    paths = scoring_outputs(output_dir, subject, session, reference_space, model_name)
    wf = pe.Workflow(name=name)
    wf.__desc__ = (
        "Regional FDG uptake (mean and median SUVR) was summarised in nine vascular territories "
        "per hemisphere of the arterial territory atlas of Liu et al. (2023). Hypometabolic "
        "regions were delineated by comparing each voxel with its contralateral homologue "
        "(mirror fitted to the atlas' left/right label centroids; healthy-side reference: the "
        f"minimum over a {HYPO.reference_size_mm:g} mm neighbourhood): voxels at least "
        f"{HYPO.seed_threshold:.0%} below it after {HYPO.seed_fwhm_mm:g} mm smoothing seeded "
        f"the region, which grew into connected voxels at least {HYPO.grow_threshold:.0%} below "
        f"it after {HYPO.grow_fwhm_mm:g} mm smoothing within {HYPO.grow_distance_mm:g} mm of a "
        f"seed; clusters under {HYPO.min_cluster_ml:g} ml were removed"
        + (", and the synthetic PET was compared with the acquired PET inside the brain mask "
           "(PSNR, 3D SSIM, NMAE, NMSE, NCC; Dice of the hypometabolic regions)."
           if has_real_pet else ".")
    )  # fmt: skip
    inputnode = pe.Node(niu.IdentityInterface(fields=[
        "synthetic_pet", "real_pet", "brain_mask", "territory_dseg", "reference_image",
        "coefficient_maps", "reliability_map"]), name="inputnode")  # fmt: skip
    inputnode.inputs.reference_image = ""
    inputnode.inputs.coefficient_maps = []
    inputnode.inputs.reliability_map = ""
    if not has_real_pet:
        inputnode.inputs.real_pet = ""
    outputnode = pe.Node(niu.IdentityInterface(fields=[
        "regions_tsv", "hypo_synthetic", "volumes_synthetic", "hypo_real", "volumes_real",
        "metrics_json", "figures"]), name="outputnode")  # fmt: skip

    regions = _function_node(_regions_node, ["synthetic_pet", "real_pet", "territory_dseg", "out_tsv"],
                             ["out"], "regional_table")  # fmt: skip
    regions.inputs.out_tsv = str(paths["regions"])
    rel = derivative_sources(subject, session, reference_space, model_name)
    hypo_inputs, hypo_outputs = (
        ["pet", "brain_mask", "territory_dseg", "out_mask", "sources", "spatial_reference"],
        ["mask", "volumes"],
    )
    hypo_syn = _function_node(_hypo_node, hypo_inputs, hypo_outputs, "hypometabolism_synthetic")
    hypo_syn.inputs.out_mask = str(paths["hypo_synthetic"])
    hypo_syn.inputs.sources = [rel[k] for k in ("synthetic_pet", "brain_mask", "territory_dseg")]
    hypo_syn.inputs.spatial_reference = rel["reference"]
    scores = _function_node(_scores_node, [
        "out_json", "model", "synthetic_pet", "brain_mask", "hypo_synthetic", "volumes_synthetic",
        "real_pet", "hypo_real", "volumes_real", "sources"], ["out"], "scores")  # fmt: skip
    scores.inputs.out_json = str(paths["metrics"])
    scores.inputs.sources = [rel["synthetic_pet"]] + ([rel["real_pet"]] if has_real_pet else []) + [
        rel["brain_mask"]]  # fmt: skip
    scores.inputs.model = model_name
    figures = _function_node(_figures_node, [
        "output_dir", "subject", "session", "synthetic_pet", "brain_mask", "territory_dseg",
        "real_pet", "hypo_synthetic", "hypo_real", "reference_image", "coefficient_maps",
        "reliability_map"], ["out"], "figures")  # fmt: skip
    figures.inputs.output_dir = str(output_dir)
    figures.inputs.subject = subject
    figures.inputs.session = session or ""

    wf.connect([
        (inputnode, regions, [("synthetic_pet", "synthetic_pet"), ("real_pet", "real_pet"),
                              ("territory_dseg", "territory_dseg")]),
        (inputnode, hypo_syn, [("synthetic_pet", "pet"), ("brain_mask", "brain_mask"),
                               ("territory_dseg", "territory_dseg")]),
        (inputnode, scores, [("synthetic_pet", "synthetic_pet"), ("brain_mask", "brain_mask"),
                             ("real_pet", "real_pet")]),
        (hypo_syn, scores, [("mask", "hypo_synthetic"), ("volumes", "volumes_synthetic")]),
        (inputnode, figures, [(f, f) for f in ("synthetic_pet", "brain_mask", "territory_dseg",
                              "real_pet", "reference_image", "coefficient_maps", "reliability_map")]),
        (hypo_syn, figures, [("mask", "hypo_synthetic")]),
        (regions, outputnode, [("out", "regions_tsv")]),
        (hypo_syn, outputnode, [("mask", "hypo_synthetic"), ("volumes", "volumes_synthetic")]),
        (scores, outputnode, [("out", "metrics_json")]),
        (figures, outputnode, [("out", "figures")]),
    ])  # fmt: skip
    if has_real_pet:
        hypo_real = _function_node(_hypo_node, hypo_inputs, hypo_outputs, "hypometabolism_real")
        hypo_real.inputs.out_mask = str(paths["hypo_real"])
        hypo_real.inputs.sources = [rel[k] for k in ("real_pet", "brain_mask", "territory_dseg")]
        hypo_real.inputs.spatial_reference = rel["reference"]
        wf.connect([
            (inputnode, hypo_real, [("real_pet", "pet"), ("brain_mask", "brain_mask"),
                                    ("territory_dseg", "territory_dseg")]),
            (hypo_real, scores, [("mask", "hypo_real"), ("volumes", "volumes_real")]),
            (hypo_real, figures, [("mask", "hypo_real")]),
            (hypo_real, outputnode, [("mask", "hypo_real"), ("volumes", "volumes_real")]),
        ])  # fmt: skip
    else:
        scores.inputs.hypo_real = ""
        scores.inputs.volumes_real = {}
        figures.inputs.hypo_real = ""
    return wf
