"""The derivatives sink: BIDS name, copied content, JSON sidecar, nothing left half-written."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from gausspet_bids.bids.sink import DerivativesSink, write_derivative


def test_write_derivative_name_content_and_sidecar(tmp_path):
    src = tmp_path / "in.nii.gz"
    nib.save(nib.Nifti1Image(np.arange(8, dtype=np.float32).reshape(2, 2, 2), np.eye(4)), src)
    out, sidecar = write_derivative(src, tmp_path / "der", "anat",
                                    {"sub": "01", "ses": "A", "desc": "preproc", "space": "T1w"},
                                    "T2w", {"SkullStripped": False})  # fmt: skip
    assert out == str(
        tmp_path / "der/sub-01/ses-A/anat/sub-01_ses-A_space-T1w_desc-preproc_T2w.nii.gz"
    )
    assert nib.load(out).get_fdata()[1, 1, 1] == 7
    assert json.loads(open(sidecar).read()) == {"SkullStripped": False}
    assert not [p for p in (tmp_path / "der").rglob(".*")]  # no temporary files left


def test_sink_interface_merges_connected_metadata(tmp_path):
    src = tmp_path / "x.mat"
    src.write_bytes(b"transform")
    res = DerivativesSink(in_file=str(src), output_dir=str(tmp_path), datatype="anat",
                          entities={"sub": "02", "ses": None, "from": "T1w",
                                    "to": "MNI152NLin2009aSym", "mode": "image"},
                          suffix="xfm", metadata={"a": 1}, extra_metadata={"b": 2}).run()  # fmt: skip
    out = res.outputs.out_file
    assert out.endswith("sub-02/anat/sub-02_from-T1w_to-MNI152NLin2009aSym_mode-image_xfm.mat")
    assert open(out, "rb").read() == b"transform"
    assert json.loads(open(res.outputs.out_sidecar).read()) == {"a": 1, "b": 2}


def test_dwi_derivative_gets_inherited_gradients_and_spatial_units(tmp_path):
    """3D DWI derivatives share one ``sub-X_ses-Y_dwi.bval/.bvec`` pair (b = 0, one volume) that
    the validator accepts; NIfTI files without a spatial unit get ``mm``."""
    src = tmp_path / "adc.nii.gz"
    img = nib.Nifti1Image(np.ones((2, 2, 2), np.float32), np.eye(4))
    assert img.header.get_xyzt_units()[0] == "unknown"
    nib.save(img, src)
    for desc in ("adc", "trace"):
        res = DerivativesSink(in_file=str(src), output_dir=str(tmp_path / "der"), datatype="dwi",
                              entities={"sub": "01", "ses": "2", "space": "T1w", "desc": desc},
                              suffix="dwi", dwi_gradients=True).run()  # fmt: skip
        assert nib.load(res.outputs.out_file).header.get_xyzt_units()[0] == "mm"
    folder = tmp_path / "der/sub-01/ses-2/dwi"
    assert sorted(p.name for p in folder.iterdir()) == [
        "sub-01_ses-2_dwi.bval", "sub-01_ses-2_dwi.bvec",
        "sub-01_ses-2_space-T1w_desc-adc_dwi.nii.gz", "sub-01_ses-2_space-T1w_desc-trace_dwi.nii.gz",
    ]  # fmt: skip
    assert (folder / "sub-01_ses-2_dwi.bval").read_text().split() == ["0"]
    assert (folder / "sub-01_ses-2_dwi.bvec").read_text().split() == ["0", "0", "0"]


def test_atlas_map_gets_its_atlas_description(tmp_path):
    src = tmp_path / "labels.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((2, 2, 2), np.int16), np.eye(4)), src)
    DerivativesSink(in_file=str(src), output_dir=str(tmp_path / "der"), datatype="anat",
                    entities={"sub": "01", "space": "T1w", "atlas": "ArterialTerritories"},
                    suffix="dseg").run()  # fmt: skip
    atlas = json.loads((tmp_path / "der/atlas-ArterialTerritories_description.json").read_text())
    assert atlas["License"] == "CC BY-SA 4.0" and "nine" in atlas["AtlasName"]
