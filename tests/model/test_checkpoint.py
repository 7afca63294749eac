"""Checkpoint round trip, sha256 check, inference on a subset of contrasts."""

import json

import numpy as np
import pytest
import torch

from gausspet_bids.model.checkpoint import load_model, load_model_metadata, save_checkpoint
from gausspet_bids.model.inference import synthesise
from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.normalisation import NORMALISATION

CONTRASTS = ["T1w", "T2w", "FLAIR", "DWI", "ADC"]


def saved_model(tmp_path, shape=(32, 32, 32), fine_channels=4, template_shape=None):
    torch.manual_seed(0)
    model = GaussPET(
        5, channels=8, depth=2, stride=4, sweeps=2, lam=0.5, mu=2.0, fine_channels=fine_channels,
        position=template_shape is not None, template_shape=template_shape,
        template_offset=template_shape is not None,
        context_features=2 if template_shape else 0,
        context_shape=[3, 4, 5] if template_shape else None,
    )  # fmt: skip
    with torch.no_grad():
        model.net.fine_head.weight.normal_(0, 0.1)  # the round trip must carry the fine branch
        if template_shape:
            model.net.template.maps.normal_(0, 0.1)  # and the template map
            model.net.context.maps.normal_(0, 0.1)  # and the participant context
    meta = {
        "name": "test",
        "contrasts": CONTRASTS,
        "normalisation": NORMALISATION,
        "grid": {"space": "test", "shape": list(shape), "affine": np.eye(4).tolist()},
    }
    return model, save_checkpoint(model, tmp_path / "m.safetensors", meta)


def images(shape=(32, 32, 32), seed=0):
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    mask[4:28, 4:28, 4:28] = True
    return {c: rng.uniform(50, 150, shape).astype(np.float32) for c in CONTRASTS}, mask


@pytest.mark.parametrize("template_shape", [None, [9, 9, 9]])
def test_round_trip(tmp_path, template_shape):
    model, path = saved_model(tmp_path, template_shape=template_shape)
    meta = load_model_metadata(path)
    assert meta["contrasts"] == CONTRASTS and meta["sweeps"] == 2 and meta["lam"] == 0.5
    assert meta["architecture"]["fine_channels"] == 4
    assert meta["architecture"]["template_shape"] == template_shape
    assert meta["architecture"]["template_offset"] == (template_shape is not None)
    assert meta["architecture"]["context_features"] == (2 if template_shape else 0)
    assert meta["architecture"]["context_shape"] == ([3, 4, 5] if template_shape else None)
    assert len(meta["sha256"]) == 64
    loaded, meta2 = load_model(path.with_suffix(".json"))
    for (k, v), (k2, v2) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(v, v2)
    imgs, mask = images()
    a = synthesise(imgs, mask, path)
    b = synthesise(imgs, mask, (model.eval(), meta2))
    assert np.array_equal(a["pet"], b["pet"])


def test_tampered_weights_are_refused(tmp_path):
    _, path = saved_model(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_model(path)


def test_missing_metadata_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        load_model_metadata(tmp_path / "nothere.safetensors")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        load_model_metadata(tmp_path / "bad.json")


def test_subset_of_contrasts_and_outputs(tmp_path):
    _, path = saved_model(tmp_path)
    imgs, mask = images()
    subset = {k: imgs[k] for k in ("FLAIR", "DWI", "ADC")}
    out = synthesise(subset, mask, path, n_tiles=8, threads=1)
    assert out["contrasts_used"] == ["FLAIR", "DWI", "ADC"]
    assert set(out["coefficients"]) == {"FLAIR", "DWI", "ADC", "offset"}
    assert set(out["imputed"]) == {"T1w", "T2w"}
    assert out["pet"].shape == (32, 32, 32) and out["pet"].dtype == np.float32
    assert np.all(out["pet"][~mask] == 0) and np.isfinite(out["pet"]).all()
    full = synthesise(imgs, mask, path)
    assert not np.allclose(full["pet"], out["pet"])
    with pytest.raises(ValueError, match="none of the model's contrasts"):
        synthesise({"PD": imgs["T1w"]}, mask, path)
    with pytest.raises(ValueError, match="model grid"):
        synthesise(imgs, mask[:-4], path)
    json.dumps(out["metadata"])
