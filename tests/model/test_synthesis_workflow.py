"""The Nipype synthesis workflow runs a checkpoint on model-grid files and records provenance."""

import json

import nibabel as nib
import numpy as np
import torch

from gausspet_bids.model.checkpoint import save_checkpoint
from gausspet_bids.model.inference import synthesise
from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.normalisation import NORMALISATION
from gausspet_bids.workflows.synthesis import init_synthesis_wf

CONTRASTS = ["T1w", "T2w", "FLAIR", "DWI", "ADC"]


def test_workflow_outputs_match_plain_function(tmp_path):
    shape, affine = (32, 32, 32), np.diag([2.0, 2.0, 2.0, 1.0])
    torch.manual_seed(0)
    model = GaussPET(5, channels=8, depth=2, sweeps=1, psf_sigma=1.0)
    meta = {"name": "wf-test", "contrasts": CONTRASTS, "normalisation": NORMALISATION,
            "grid": {"space": "test", "shape": list(shape), "affine": affine.tolist()}}  # fmt: skip
    ckpt = save_checkpoint(model, tmp_path / "m.safetensors", meta)
    rng = np.random.default_rng(1)
    mask = np.zeros(shape, np.uint8)
    mask[6:26, 5:27, 6:26] = 1
    files = {}
    for c in ("FLAIR", "DWI", "ADC"):
        files[c] = tmp_path / f"{c}.nii.gz"
        nib.save(
            nib.Nifti1Image(rng.uniform(10, 20, shape).astype(np.float32) * mask, affine), files[c]
        )
    nib.save(nib.Nifti1Image(mask, affine), tmp_path / "mask.nii.gz")

    wf = init_synthesis_wf(contrasts=["FLAIR", "DWI", "ADC"], model_path=ckpt, n_tiles=8)
    wf.base_dir = str(tmp_path / "work")
    for c, f in files.items():
        setattr(wf.get_node("inputnode").inputs, c, str(f))
    wf.get_node("inputnode").inputs.brain_mask = str(tmp_path / "mask.nii.gz")
    result = wf.run()
    node = next(n for n in result.nodes() if n.name == "gausspet")
    out = node.result.outputs
    pet = nib.load(out.out_pet)
    assert pet.shape == shape and np.allclose(pet.affine, affine)
    assert out.coefficient_labels == ["FLAIR", "DWI", "ADC", "offset"]
    assert len(out.out_coefficients) == 4
    prov = json.loads(open(out.out_provenance).read())
    assert prov["ContrastsUsed"] == ["FLAIR", "DWI", "ADC"] and prov["Tiles"] == 8
    assert prov["ModelSHA256"] == json.loads(ckpt.with_suffix(".json").read_text())["sha256"]
    direct = synthesise({c: nib.load(f).get_fdata() for c, f in files.items()}, mask, ckpt)
    assert np.allclose(pet.get_fdata(), direct["pet"], atol=1e-5)
    assert np.allclose(nib.load(out.out_reliability).get_fdata(), direct["reliability"], atol=1e-5)
