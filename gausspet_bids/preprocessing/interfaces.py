"""Nipype interfaces: thin wrappers over the plain preprocessing functions.

antspyx ships no command-line programs, so ANTs runs in-process here. Thread counts are inputs
marked ``nohash=True``: changing them does not invalidate cached results.
"""

from __future__ import annotations

import os

from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    InputMultiObject,
    SimpleInterface,
    TraitedSpec,
    isdefined,
    traits,
)

from gausspet_bids.preprocessing import (
    ants_tools,
    brain_extraction,
    image_checks,
    model_grid,
)
from gausspet_bids.preprocessing import territories as terr


def _opt(value):
    return value if isdefined(value) else None


def _out(runtime, name: str) -> str:
    return os.path.join(runtime.cwd, name)


class _ThreadsInputSpec(BaseInterfaceInputSpec):
    num_threads = traits.Int(1, usedefault=True, nohash=True, desc="ITK/torch threads")


class _ReorientInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True)
    out_name = traits.Str("reoriented.nii.gz", usedefault=True)


class _OutFileSpec(TraitedSpec):
    out_file = File(exists=True)


class Reorient(SimpleInterface):
    """Check a 3D image and reorient it to RAS (closest canonical), float32."""

    input_spec = _ReorientInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = image_checks.reorient_to_ras(
            self.inputs.in_file, _out(runtime, self.inputs.out_name)
        )
        return runtime


class _N4InputSpec(_ThreadsInputSpec):
    in_file = File(exists=True, mandatory=True)
    mask_file = File(exists=True)
    sloppy = traits.Bool(False, usedefault=True)


class N4BiasFieldCorrection(SimpleInterface):
    """N4 bias-field correction (antspyx)."""

    input_spec = _N4InputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = ants_tools.n4_bias_correct(
            self.inputs.in_file, _out(runtime, "n4.nii.gz"), _opt(self.inputs.mask_file),
            self.inputs.sloppy, self.inputs.num_threads,
        )  # fmt: skip
        return runtime


class _RegInputSpec(_ThreadsInputSpec):
    fixed_image = File(exists=True, mandatory=True)
    moving_image = File(exists=True, mandatory=True)
    fixed_mask = File(exists=True)
    mode = traits.Enum(*ants_tools.REGISTRATION_MODES, usedefault=True)
    metric = traits.Enum("mattes", "CC", "meansquares", usedefault=True)
    sloppy = traits.Bool(False, usedefault=True)
    fixed_resolution_mm = traits.Float(desc="resample a finer fixed image to this spacing")


class _RegOutputSpec(TraitedSpec):
    affine = File(exists=True, desc="affine/rigid ITK .txt (fixed -> moving points)")
    warp = File(desc="SyN warp (syn mode)")
    inverse_warp = File(desc="SyN inverse warp (syn mode)")
    warped_image = File(exists=True)
    forward_transforms = traits.List(File(exists=True), desc="moving -> fixed resampling")
    inverse_transforms = traits.List(File(exists=True), desc="fixed -> moving resampling")
    inverse_invert_flags = traits.List(traits.Bool)


class Registration(SimpleInterface):
    """ANTs registration (rigid, affine, or affine + SyN) through antspyx."""

    input_spec = _RegInputSpec
    output_spec = _RegOutputSpec

    def _run_interface(self, runtime):
        res = ants_tools.register(
            self.inputs.fixed_image, self.inputs.moving_image, runtime.cwd,
            mode=self.inputs.mode, sloppy=self.inputs.sloppy,
            fixed_mask_file=_opt(self.inputs.fixed_mask), metric=self.inputs.metric,
            n_threads=self.inputs.num_threads,
            fixed_resolution_mm=_opt(self.inputs.fixed_resolution_mm),
        )  # fmt: skip
        self._results.update(affine=res["affine"], warped_image=res["warped"])
        if res["warp"]:
            self._results.update(warp=res["warp"], inverse_warp=res["inverse_warp"])
            self._results["forward_transforms"] = [res["warp"], res["affine"]]
            self._results["inverse_transforms"] = [res["affine"], res["inverse_warp"]]
            self._results["inverse_invert_flags"] = [True, False]
        else:
            self._results["forward_transforms"] = [res["affine"]]
            self._results["inverse_transforms"] = [res["affine"]]
            self._results["inverse_invert_flags"] = [True]
        return runtime


class _ApplyInputSpec(_ThreadsInputSpec):
    in_file = File(exists=True, mandatory=True)
    reference_file = File(exists=True, mandatory=True)
    transforms = InputMultiObject(File(exists=True), mandatory=True)
    invert_flags = traits.List(traits.Bool)
    interpolation = traits.Enum(
        "linear", "bSpline", "nearestNeighbor", "genericLabel", usedefault=True
    )
    out_name = traits.Str("resampled.nii.gz", usedefault=True)


class ApplyTransforms(SimpleInterface):
    """Resample an image onto a reference grid through ANTs transforms."""

    input_spec = _ApplyInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = ants_tools.apply_transforms(
            self.inputs.in_file, self.inputs.reference_file, list(self.inputs.transforms),
            _out(runtime, self.inputs.out_name), invert=_opt(self.inputs.invert_flags) or None,
            interpolation=self.inputs.interpolation, n_threads=self.inputs.num_threads,
        )  # fmt: skip
        return runtime


class _BetInputSpec(_ThreadsInputSpec):
    in_file = File(exists=True, mandatory=True)
    method = traits.Enum("auto", "deepbet", "template", usedefault=True)
    sloppy = traits.Bool(False, usedefault=True)


class _BetOutputSpec(TraitedSpec):
    out_mask = File(exists=True)
    out_brain = File(exists=True)
    method = traits.Str()


class BrainExtraction(SimpleInterface):
    """deepbet brain extraction with template-propagation fallback."""

    input_spec = _BetInputSpec
    output_spec = _BetOutputSpec

    def _run_interface(self, runtime):
        res = brain_extraction.extract_brain(
            self.inputs.in_file, _out(runtime, "brain_mask.nii.gz"),
            _out(runtime, "brain.nii.gz"), os.path.join(runtime.cwd, "fallback"),
            method=self.inputs.method, sloppy=self.inputs.sloppy,
            n_threads=self.inputs.num_threads,
        )  # fmt: skip
        self._results.update(out_mask=res["mask"], out_brain=res["brain"], method=res["method"])
        return runtime


class _ApplyMaskInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True)
    mask_file = File(exists=True, mandatory=True, desc="mask resampled onto in_file's grid")
    method = traits.Str("deepbet", usedefault=True, desc="how the mask was made (passed on)")


class ApplyBrainMask(SimpleInterface):
    """A brain mask made on another contrast: binarised on this grid, applied to the image."""

    input_spec = _ApplyMaskInputSpec
    output_spec = _BetOutputSpec

    def _run_interface(self, runtime):
        res = brain_extraction.apply_brain_mask(
            self.inputs.in_file, self.inputs.mask_file, _out(runtime, "brain_mask.nii.gz"),
            _out(runtime, "brain.nii.gz"),
        )  # fmt: skip
        self._results.update(
            out_mask=res["mask"], out_brain=res["brain"], method=self.inputs.method
        )
        return runtime


class _TemplateInputSpec(BaseInterfaceInputSpec):
    grid_shape = traits.Tuple(traits.Int, traits.Int, traits.Int)
    grid_affine = traits.List(traits.List(traits.Float))


class _TemplateOutputSpec(TraitedSpec):
    t1w = File(exists=True)
    gm = File(exists=True)
    brain_mask = File(exists=True)
    atlas = File(exists=True)
    grid = File(exists=True)


class TemplateFiles(SimpleInterface):
    """Write the template T1w, GM map, brain mask, the atlas and a model-grid image to files."""

    input_spec = _TemplateInputSpec
    output_spec = _TemplateOutputSpec

    def _run_interface(self, runtime):
        from gausspet_bids.bids.atomic import save_nifti

        for key, func in (("t1w", model_grid.template_t1w), ("gm", model_grid.template_gm),
                          ("brain_mask", model_grid.template_brain_mask)):  # fmt: skip
            self._results[key] = str(save_nifti(func(), _out(runtime, f"tpl_{key}.nii.gz")))
        self._results["atlas"] = str(terr.atlas_file(1))
        shape = self.inputs.grid_shape if isdefined(self.inputs.grid_shape) else None
        affine = self.inputs.grid_affine if isdefined(self.inputs.grid_affine) else None
        self._results["grid"] = model_grid.write_grid_image(
            _out(runtime, "model_grid.nii.gz"), shape, affine
        )
        return runtime


class _TerritoryInputSpec(BaseInterfaceInputSpec):
    labels_file = File(exists=True, mandatory=True)
    brain_mask = File(exists=True, mandatory=True)
    gm_file = File(exists=True, mandatory=True)
    reference_region = traits.Enum(*terr.REFERENCE_REGIONS, usedefault=True)


class _TerritoryOutputSpec(TraitedSpec):
    labels = File(exists=True)
    territories = File(exists=True)
    reference_mask = File(exists=True)


class TerritoryMaps(SimpleInterface):
    """Masked 32-label atlas, 18-value territory map and the SUVR reference-region mask."""

    input_spec = _TerritoryInputSpec
    output_spec = _TerritoryOutputSpec

    def _run_interface(self, runtime):
        res = terr.territory_maps(
            self.inputs.labels_file, self.inputs.brain_mask,
            _out(runtime, "labels.nii.gz"), _out(runtime, "territories.nii.gz"),
        )  # fmt: skip
        self._results.update(res)
        self._results["reference_mask"] = terr.reference_region(
            res["labels"], self.inputs.gm_file, self.inputs.brain_mask,
            _out(runtime, "reference_mask.nii.gz"), region=self.inputs.reference_region,
        )  # fmt: skip
        return runtime


class _ToGridInputSpec(_ThreadsInputSpec):
    in_file = File(exists=True, mandatory=True)
    grid_file = File(exists=True, mandatory=True)
    transforms = InputMultiObject(File(exists=True), mandatory=True)
    mask_file = File(exists=True, desc="model-grid brain mask")
    out_name = traits.Str("model_grid.nii.gz", usedefault=True)


class ToModelGrid(SimpleInterface):
    """Resample an image onto the model grid (affine), brain-masked, float32."""

    input_spec = _ToGridInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = model_grid.to_model_grid(
            self.inputs.in_file, self.inputs.grid_file, list(self.inputs.transforms),
            _out(runtime, self.inputs.out_name), _opt(self.inputs.mask_file),
            n_threads=self.inputs.num_threads,
        )  # fmt: skip
        return runtime


class _MaskToGridInputSpec(_ThreadsInputSpec):
    in_file = File(exists=True, mandatory=True)
    grid_file = File(exists=True, mandatory=True)
    affine = File(exists=True, mandatory=True)
    out_name = traits.Str("model_grid_mask.nii.gz", usedefault=True)


class MaskToModelGrid(SimpleInterface):
    """Brain mask onto the model grid."""

    input_spec = _MaskToGridInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = model_grid.mask_to_model_grid(
            self.inputs.in_file, self.inputs.grid_file, self.inputs.affine,
            _out(runtime, self.inputs.out_name), n_threads=self.inputs.num_threads,
        )  # fmt: skip
        return runtime


class _FromGridInputSpec(_ThreadsInputSpec):
    in_file = File(exists=True, mandatory=True, desc="image on the model grid")
    reference_file = File(exists=True, mandatory=True, desc="reference-space image")
    affine = File(exists=True, mandatory=True, desc="reference->template affine (.txt)")
    interpolation = traits.Enum("linear", "bSpline", "nearestNeighbor", "genericLabel",
                                usedefault=True)  # fmt: skip
    out_name = traits.Str("reference_space.nii.gz", usedefault=True)


class FromModelGrid(SimpleInterface):
    """Resample a model-grid image back to the reference space (inverse affine)."""

    input_spec = _FromGridInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = model_grid.from_model_grid(
            self.inputs.in_file, self.inputs.reference_file, self.inputs.affine,
            _out(runtime, self.inputs.out_name), self.inputs.interpolation,
            n_threads=self.inputs.num_threads,
        )  # fmt: skip
        return runtime
