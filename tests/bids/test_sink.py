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
