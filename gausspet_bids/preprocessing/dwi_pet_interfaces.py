"""Nipype interfaces for the DWI and PET steps: thin wrappers over ``dwi`` and ``pet``."""

from __future__ import annotations

from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    SimpleInterface,
    TraitedSpec,
    traits,
)

from gausspet_bids.preprocessing import dwi, pet
from gausspet_bids.preprocessing.interfaces import _opt, _out, _OutFileSpec


class _DwiInputSpec(BaseInterfaceInputSpec):
    dwi_file = File(exists=True, mandatory=True)
    bval_file = File(exists=True, mandatory=True)
    b_target = traits.Float(1000.0, usedefault=True)


class _DwiOutputSpec(TraitedSpec):
    b0 = File(exists=True)
    trace = File(exists=True)
    adc = File(exists=True)
    b_value = traits.Float()


class DWIDerivatives(SimpleInterface):
    """b0, trace-weighted image and ADC from a 4D DWI series."""

    input_spec = _DwiInputSpec
    output_spec = _DwiOutputSpec

    def _run_interface(self, runtime):
        res = dwi.dwi_derivatives(
            self.inputs.dwi_file, self.inputs.bval_file, _out(runtime, "b0.nii.gz"),
            _out(runtime, "trace.nii.gz"), _out(runtime, "adc.nii.gz"), self.inputs.b_target,
        )  # fmt: skip
        self._results.update(b0=res["b0"], trace=res["trace"], adc=res["adc"], b_value=res["b"])
        return runtime


class _AdcInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True)


class StandardiseADC(SimpleInterface):
    """A provided ADC map converted to 1e-3 mm^2/s."""

    input_spec = _AdcInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = dwi.standardise_adc(
            self.inputs.in_file, _out(runtime, "adc.nii.gz")
        )
        return runtime


class _StaticPetInputSpec(BaseInterfaceInputSpec):
    pet_file = File(exists=True, mandatory=True)
    json_file = File(exists=True)
    window_min = traits.Tuple(traits.Float, traits.Float, desc="start, end (min)")


class StaticPET(SimpleInterface):
    """Frame-duration-weighted mean of a PET series over a time window."""

    input_spec = _StaticPetInputSpec
    output_spec = _OutFileSpec

    def _run_interface(self, runtime):
        self._results["out_file"] = pet.static_pet(
            self.inputs.pet_file, _opt(self.inputs.json_file), _out(runtime, "pet_static.nii.gz"),
            _opt(self.inputs.window_min),
        )  # fmt: skip
        return runtime


class _SuvrInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True)
    reference_mask = File(exists=True, mandatory=True)
    brain_mask = File(exists=True)


class _SuvrOutputSpec(TraitedSpec):
    out_file = File(exists=True)
    reference_mean = traits.Float()


class SUVR(SimpleInterface):
    """PET divided by its mean over the reference region."""

    input_spec = _SuvrInputSpec
    output_spec = _SuvrOutputSpec

    def _run_interface(self, runtime):
        res = pet.suvr(self.inputs.in_file, self.inputs.reference_mask,
                       _out(runtime, "suvr.nii.gz"), _opt(self.inputs.brain_mask))  # fmt: skip
        self._results.update(out_file=res["suvr"], reference_mean=res["reference_mean"])
        return runtime
