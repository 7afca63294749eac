"""A small Nipype interface that writes one derivative file with its JSON sidecar.

The name comes from :func:`gausspet_bids.bids.naming.derivative_path` (BIDS entity order), the
copy and the sidecar are written atomically, so a killed run never leaves half a derivative.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    File,
    SimpleInterface,
    TraitedSpec,
    isdefined,
    traits,
)

from gausspet_bids.bids.atomic import atomic_path, write_json, write_text
from gausspet_bids.bids.naming import derivative_path


def _extension(path: str) -> str:
    name = Path(path).name
    for ext in (".nii.gz", ".tsv.gz"):
        if name.endswith(ext):
            return ext
    return Path(path).suffix


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
        shutil.copyfile(in_file, tmp)
    sidecar = None
    if metadata:
        sidecar = str(write_json(str(out)[: -len(extension)] + ".json", metadata))
    return str(out), sidecar


class _SinkInputSpec(BaseInterfaceInputSpec):
    in_file = File(exists=True, mandatory=True, desc="file to store")
    output_dir = traits.Directory(mandatory=True, desc="derivatives root")
    datatype = traits.Str(mandatory=True, desc="anat, dwi, pet, ...")
    entities = traits.Dict(traits.Str, traits.Any, mandatory=True, desc="BIDS entities")
    suffix = traits.Str(mandatory=True)
    extension = traits.Str(desc="defaults to the input's extension")
    metadata = traits.Dict(traits.Str, traits.Any, desc="JSON sidecar content")
    extra_metadata = traits.Dict(traits.Str, traits.Any, desc="merged into metadata (connected)")
    bval = traits.Float(desc="DWI-derived 3D image: write a .bval with this value and a zero .bvec")


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
        if isdefined(self.inputs.bval):
            stem = out[: -len(_extension(out))]
            write_text(stem + ".bval", f"{self.inputs.bval:g}\n")
            write_text(stem + ".bvec", "0\n0\n0\n")
        if sidecar:
            self._results["out_sidecar"] = sidecar
        return runtime
