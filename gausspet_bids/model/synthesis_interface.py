"""Nipype interface over :func:`gausspet_bids.model.inference.synthesise` (MRIQC SynthStrip style).

Device and thread count are ``nohash`` inputs, so changing them does not invalidate cached
results; the model path defaults to the packaged model.
"""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    InputMultiObject,
    OutputMultiObject,
    SimpleInterface,
    TraitedSpec,
    traits,
)

from gausspet_bids.bids.atomic import save_nifti, write_json
from gausspet_bids.model.checkpoint import default_model_path


class _SynthesisInputSpec(BaseInterfaceInputSpec):
    in_files = InputMultiObject(
        File(exists=True), mandatory=True, desc="model-grid MRI, one per contrast"
    )
    contrasts = traits.List(traits.Str, mandatory=True, desc="contrast name of each in_files entry")
    brain_mask = File(exists=True, mandatory=True, desc="model-grid brain mask")
    model_path = File(
        str(default_model_path()), usedefault=True, exists=True, desc="checkpoint (.safetensors)"
    )
    n_tiles = traits.Enum(
        1, 8, 64, usedefault=True, desc="number of tiles (result does not depend on it)"
    )
    device = traits.Str("cpu", usedefault=True, nohash=True, desc="cpu or cuda")
    num_threads = traits.Int(1, usedefault=True, nohash=True, desc="torch threads")


class _SynthesisOutputSpec(TraitedSpec):
    out_pet = File(exists=True, desc="synthetic FDG-PET (SUVR), model grid")
    out_coefficients = OutputMultiObject(
        File(exists=True), desc="forward coefficient maps, one per contrast used, then the offset"
    )
    coefficient_labels = traits.List(
        traits.Str, desc="label of each coefficient map (contrast or 'offset')"
    )
    out_reliability = File(exists=True, desc="inverse-consistency RMS residual (reliability map)")
    out_provenance = File(exists=True, desc="JSON: model name, version, sha256, contrasts used")
    contrasts_used = traits.List(traits.Str)


class GaussPETSynthesis(SimpleInterface):
    """Synthesise PET on the model grid with a GaussPET checkpoint."""

    input_spec = _SynthesisInputSpec
    output_spec = _SynthesisOutputSpec

    def _run_interface(self, runtime):
        from gausspet_bids.model.inference import synthesise

        if len(self.inputs.in_files) != len(self.inputs.contrasts):
            raise ValueError(
                f"{len(self.inputs.in_files)} images given for contrasts {self.inputs.contrasts}"
            )
        mask_img = nib.load(self.inputs.brain_mask)
        images = {
            c: np.asarray(nib.load(f).dataobj, dtype=np.float32)
            for c, f in zip(self.inputs.contrasts, self.inputs.in_files, strict=True)
        }
        out = synthesise(
            images,
            np.asarray(mask_img.dataobj) > 0,
            self.inputs.model_path,
            n_tiles=self.inputs.n_tiles,
            device=self.inputs.device,
            threads=self.inputs.num_threads,
        )

        def save(data: np.ndarray, name: str) -> str:
            img = nib.Nifti1Image(data.astype(np.float32), mask_img.affine)
            img.header.set_xyzt_units("mm")
            return str(save_nifti(img, os.path.join(runtime.cwd, name)))

        self._results["out_pet"] = save(out["pet"], "pet_suvr.nii.gz")
        labels = list(out["coefficients"])
        self._results["coefficient_labels"] = labels
        self._results["out_coefficients"] = [
            save(out["coefficients"][k], f"coefficient_{k}.nii.gz") for k in labels
        ]
        self._results["out_reliability"] = save(out["reliability"], "reliability.nii.gz")
        self._results["contrasts_used"] = out["contrasts_used"]
        self._results["out_provenance"] = str(
            write_json(
                os.path.join(runtime.cwd, "provenance.json"),
                provenance(out, self.inputs.model_path, self.inputs.n_tiles),
            )
        )
        return runtime


def provenance(out: dict, model_path: str, n_tiles: int) -> dict:
    """What produced a synthesis: model identity, contrasts used, solver settings, grid."""
    from gausspet_bids import __version__

    meta = out["metadata"]
    return {
        "ModelName": meta.get("name", os.path.basename(model_path)),
        "ModelDescription": meta.get("description", ""),
        "ModelFile": os.path.basename(str(model_path)),
        "ModelSHA256": meta.get("sha256"),
        "ModelFormatVersion": meta.get("format_version"),
        "SoftwareVersion": __version__,
        "ContrastsUsed": out["contrasts_used"],
        "ModelContrasts": meta["contrasts"],
        "GaussSeidelSweeps": meta.get("sweeps"),
        "Lambda": meta.get("lam"),
        "Mu": meta.get("mu"),
        "Tiles": int(n_tiles),
        "Normalisation": meta.get("normalisation"),
        "ModelGrid": meta.get("grid"),
        "CoefficientMaps": list(out["coefficients"]),
    }
