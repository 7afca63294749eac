"""A small Nipype interface that writes one derivative file with its JSON sidecar.

The name comes from :func:`gausspet_bids.bids.naming.derivative_path` (BIDS entity order), the
copy and the sidecar are written atomically, so a killed run never leaves half a derivative.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    SimpleInterface,
    TraitedSpec,
    isdefined,
    traits,
)

from gausspet_bids.bids.atomic import atomic_path, write_json, write_text
from gausspet_bids.bids.dataset_description import write_atlas_description
from gausspet_bids.bids.naming import derivative_name, derivative_path


def _extension(path: str) -> str:
    name = Path(path).name
    for ext in (".nii.gz", ".tsv.gz"):
        if name.endswith(ext):
            return ext
    return Path(path).suffix


def _copy_with_spatial_units(in_file: Path | str, tmp: Path | str, extension: str) -> bool:
    """Write a NIfTI whose header gives no spatial unit with ``mm`` set (the validator warns
    about unknown units; ANTs and nibabel leave them unset). False: nothing written."""
    if extension not in (".nii", ".nii.gz"):
        return False
    img = nib.load(str(in_file))
    xyz, t = img.header.get_xyzt_units()
    if xyz != "unknown":
        return False
    img.header.set_xyzt_units(xyz="mm", t=None if t == "unknown" else t)
    nib.save(img, str(tmp))
    return True


def write_derivative(
    in_file: Path | str,
    output_dir: Path | str,
    datatype: str,
    entities: dict,
    suffix: str,
    metadata: dict | None = None,
    extension: str | None = None,
) -> tuple[str, str | None]:
    """Copy ``in_file`` to its derivative path; write ``metadata`` as the JSON sidecar.

    Returns ``(out_file, sidecar or None)``. ``extension`` defaults to that of ``in_file``.
    """
    extension = extension or _extension(str(in_file))
    out = derivative_path(output_dir, datatype, entities, suffix, extension)
    with atomic_path(out, suffix=extension) as tmp:
        if not _copy_with_spatial_units(in_file, tmp, extension):
            shutil.copyfile(in_file, tmp)
    sidecar = None
    if metadata:
        sidecar = str(write_json(str(out)[: -len(extension)] + ".json", metadata))
    return str(out), sidecar


def write_inherited_gradients(dwi_file: Path | str, entities: dict) -> tuple[str, str]:
    """Write ``sub-X[_ses-Y]_dwi.{bval,bvec}`` beside a 3D DWI-derived image; return their paths.

    The BIDS validator requires a ``.bval``/``.bvec`` for every ``_dwi`` image, but rejects them
    with derivative entities (``space``, ``desc``). So one pair named with ``sub``/``ses`` only
    applies to every 3D DWI derivative in the folder by inheritance: one volume, b = 0 and a
    zero vector (no diffusion direction: b0, direction-averaged trace, ADC). Each image's true
    b-value is its sidecar's ``BValue``.
    """
    base = {key: entities[key] for key in ("sub", "ses") if entities.get(key)}
    stem = Path(dwi_file).parent / derivative_name(base, "dwi", "")
    return (
        str(write_text(f"{stem}.bval", "0\n")),
        str(write_text(f"{stem}.bvec", "0\n0\n0\n")),
    )


class _SinkInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="file to store")
    output_dir = traits.Directory(mandatory=True, desc="derivatives root")
    datatype = traits.Str(mandatory=True, desc="anat, dwi, pet, ...")
    entities = traits.Dict(traits.Str, traits.Any, mandatory=True, desc="BIDS entities")
    suffix = traits.Str(mandatory=True)
    extension = traits.Str(desc="defaults to the input's extension")
    metadata = traits.Dict(traits.Str, traits.Any, desc="JSON sidecar content")
    extra_metadata = traits.Dict(traits.Str, traits.Any, desc="merged into metadata (connected)")
    dwi_gradients = traits.Bool(
        False, usedefault=True, desc="3D DWI-derived image: write the inherited .bval/.bvec pair"
    )


class _SinkOutputSpec(TraitedSpec):
    out_file = File(exists=True)
    out_sidecar = File()


class DerivativesSink(SimpleInterface):
    """Write one BIDS derivative (and its sidecar) atomically. Never cached: always rewrites."""

    input_spec = _SinkInputSpec
    output_spec = _SinkOutputSpec
    always_run = True

    def _run_interface(self, runtime):
        metadata = dict(self.inputs.metadata) if isdefined(self.inputs.metadata) else {}
        if isdefined(self.inputs.extra_metadata):
            metadata.update(self.inputs.extra_metadata)
        out, sidecar = write_derivative(
            self.inputs.in_file,
            self.inputs.output_dir,
            self.inputs.datatype,
            {k: v for k, v in self.inputs.entities.items() if v is not None},
            self.inputs.suffix,
            metadata,
            self.inputs.extension if isdefined(self.inputs.extension) else None,
        )
        self._results["out_file"] = out
        if self.inputs.entities.get("atlas"):
            write_atlas_description(self.inputs.output_dir, self.inputs.entities["atlas"])
        if self.inputs.dwi_gradients:
            write_inherited_gradients(out, self.inputs.entities)
        if sidecar:
            self._results["out_sidecar"] = sidecar
        return runtime
