"""A tiny end-to-end training run: validation loss falls, run is deterministic, resume works."""

import json

import numpy as np

from gausspet_bids.model.checkpoint import load_checkpoint, load_model_metadata
from gausspet_bids.model.inference import synthesise
from gausspet_bids.training.cli import carve_validation, main
from gausspet_bids.training.cohort import load_subject

ARGS = ["--epochs", "8", "--batch", "1", "--channels", "8", "--depth", "2", "-q", "--threads", "1"]


def read_log(path):
    rows = path.read_text().strip().splitlines()
    header = rows[0].split("\t")
    return [dict(zip(header, map(float, r.split("\t")), strict=True)) for r in rows[1:]]


def test_training_lowers_validation_loss_and_is_deterministic(tiny_cohort, tmp_path):
    assert main([str(tiny_cohort), str(tmp_path / "a"), *ARGS, "--patches", "8", "-K", "1"]) == 0
    log = read_log(tmp_path / "a" / "log.tsv")
    assert [r["epoch"] for r in log] == list(range(9))  # epoch 0: the untrained model
    assert min(r["val_l1"] for r in log[1:]) < 0.8 * log[0]["val_l1"]
    meta = load_model_metadata(tmp_path / "a" / "model.safetensors")
    assert meta["contrasts"] == ["T1w", "T2w", "FLAIR", "DWI", "ADC"]
    assert meta["training_data"]["n_train"] + meta["training_data"]["n_validation"] == 6
    assert (
        meta["validation_metrics"]["l1"] == min(r["val_l1"] for r in log)
        or abs(meta["validation_metrics"]["l1"] - min(r["val_l1"] for r in log)) < 1e-5
    )
    test = json.loads((tmp_path / "a" / "test_metrics.json").read_text())
    assert test["n"] == 2 and test["ncc"] > 0.5
    # same seed, same numbers
    assert main([str(tiny_cohort), str(tmp_path / "b"), *ARGS, "--patches", "8", "-K", "1"]) == 0
    assert read_log(tmp_path / "b" / "log.tsv")[-1]["val_l1"] == log[-1]["val_l1"]
    # the trained model synthesises a held-out participant with a missing contrast
    s = load_subject(tiny_cohort, "test", "1", ["T1w", "T2w", "FLAIR", "DWI", "ADC"])
    mask = s.mask[0].numpy() > 0
    images = {
        c: s.x[i].numpy() * 100 for i, c in enumerate(["T2w", "FLAIR", "DWI", "ADC"], start=1)
    }
    out = synthesise(images, mask, tmp_path / "a" / "model.safetensors")
    err = np.abs(out["pet"] - s.pet[0].numpy())[mask].mean()
    assert err < 0.8 * np.abs(s.pet[0].numpy()[mask] - s.pet[0].numpy()[mask].mean()).mean()


def test_resume_continues_to_same_result(tiny_cohort, tmp_path):
    """Also with a moving average of the weights, whose state travels in last.safetensors."""
    run = [*ARGS, "--ema", "0.9"]
    assert main([str(tiny_cohort), str(tmp_path / "full"), *run, "--epochs", "2"]) == 0
    assert main([str(tiny_cohort), str(tmp_path / "part"), *run, "--epochs", "1"]) == 0
    resume = ["--resume", str(tmp_path / "part" / "last.safetensors")]
    assert main([str(tiny_cohort), str(tmp_path / "part"), *run, "--epochs", "2", *resume]) == 0
    assert (
        read_log(tmp_path / "part" / "log.tsv")[-1]["val_l1"]
        == read_log(tmp_path / "full" / "log.tsv")[-1]["val_l1"]
    )


def test_random_crop_training_with_fine_branch_and_position(tiny_cohort, tmp_path):
    base = [*ARGS, "--epochs", "6", "--crop", "16", "--crops-per-volume", "4"]
    base += ["--fine-channels", "4", "--position-channels"]
    assert main([str(tiny_cohort), str(tmp_path / "c"), *base]) == 0
    log = read_log(tmp_path / "c" / "log.tsv")
    assert min(r["val_l1"] for r in log[1:]) < 0.8 * log[0]["val_l1"]
    meta = load_model_metadata(tmp_path / "c" / "model.safetensors")
    assert meta["architecture"]["fine_channels"] == 4 and meta["architecture"]["position"]
    assert meta["training"]["crop"] == 16 and meta["training"]["crops_per_volume"] == 4
    # the voxel-wise start (before epoch 0 is logged) already beats the global linear start
    args = [*base, "--epochs", "1", "--voxelwise-steps", "100"]
    assert main([str(tiny_cohort), str(tmp_path / "v"), *args]) == 0
    assert read_log(tmp_path / "v" / "log.tsv")[0]["val_l1"] < 0.8 * log[0]["val_l1"]
    assert (
        load_model_metadata(tmp_path / "v" / "model.safetensors")["training"]["voxelwise_steps"]
        == 100
    )


def test_template_map_option(tiny_cohort, tmp_path, capsys):
    base = [*ARGS, "--epochs", "1", "--crop", "16", "--crops-per-volume", "2"]
    base += ["--fine-channels", "4", "--template-map", "4"]
    assert main([str(tiny_cohort), str(tmp_path / "no_position"), *base]) == 2
    assert "--position-channels" in capsys.readouterr().err
    assert not (tmp_path / "no_position").exists()  # refused before anything was written
    base += ["--w-template", "10"]
    assert main([str(tiny_cohort), str(tmp_path / "t"), *base, "--position-channels"]) == 0
    meta = load_model_metadata(tmp_path / "t" / "model.safetensors")
    shape = meta["grid"]["shape"]
    assert meta["architecture"]["template_shape"] == [-(-(n - 1) // 4) + 1 for n in shape]
    assert meta["training"]["template_spacing"] == 4 and meta["training"]["w_template"] == 10
    assert (tmp_path / "t" / "test_metrics.json").exists()  # the test split, evaluated once
    again = [*base, "--position-channels", "--no-test"]
    assert main([str(tiny_cohort), str(tmp_path / "t2"), *again]) == 0  # deterministic on CPU
    assert load_model_metadata(tmp_path / "t2" / "model.safetensors")["sha256"] == meta["sha256"]
    assert (
        main([str(tiny_cohort), str(tmp_path / "dev"), *base, "--position-channels", "--no-test"])
        == 0
    )
    assert not (tmp_path / "dev" / "test_metrics.json").exists()  # development run: not looked at


def test_participant_context_option(tiny_cohort, tmp_path, capsys):
    base = [*ARGS, "--epochs", "1", "--crop", "16", "--crops-per-volume", "2", "--no-test"]
    base += ["--fine-channels", "4", "--voxelwise-steps", "3", "--context-features", "2"]
    assert main([str(tiny_cohort), str(tmp_path / "no_position"), *base]) == 2
    assert "--context-features needs the position channels" in capsys.readouterr().err
    base += ["--position-channels", "--context-map", "8"]
    assert main([str(tiny_cohort), str(tmp_path / "c"), *base]) == 0
    meta = load_model_metadata(tmp_path / "c" / "model.safetensors")
    shape = meta["grid"]["shape"]
    assert meta["architecture"]["context_features"] == 2
    assert meta["architecture"]["context_shape"] == [-(-(n - 1) // 8) + 1 for n in shape]
    assert meta["training"]["context_spacing"] == 8
    model, _, _ = load_checkpoint(tmp_path / "c" / "last.safetensors", "cpu")
    assert model.net.context.maps.abs().sum() > 0  # trained (the maps start at zero)


def test_mask_dilation_option(ring_cohort, tmp_path, capsys):
    base = [*ARGS, "--epochs", "1", "--crop", "16", "--crops-per-volume", "2", "--no-test"]
    base += ["--fine-channels", "4", "--voxelwise-steps", "3", "--validation-fraction", "0.5"]
    assert main([str(ring_cohort), str(tmp_path / "half"), *base, "--mask-dilation", "0.5"]) == 2
    assert "--mask-dilation 0.5" in capsys.readouterr().err
    assert not (tmp_path / "half").exists()
    assert main([str(ring_cohort), str(tmp_path / "d"), *base, "--mask-dilation", "2"]) == 0
    meta = load_model_metadata(tmp_path / "d" / "model.safetensors")
    assert meta["training"]["mask_dilation"] == 2
    assert main([str(ring_cohort), str(tmp_path / "off"), *base]) == 0
    off = load_model_metadata(tmp_path / "off" / "model.safetensors")
    assert off["training"]["mask_dilation"] == 0
    trained = [read_log(tmp_path / run / "log.tsv")[-1]["train_loss"] for run in ("d", "off")]
    assert trained[0] != trained[1]  # the grown masks changed what was trained


def test_errors_name_the_folder(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), str(tmp_path / "out"), "-q"]) == 1
    assert "nope" in capsys.readouterr().err


def test_validation_split_is_seeded_and_disjoint():
    ids = [str(i) for i in range(1, 11)]
    tr, va = carve_validation(ids, 0.2, 3)
    assert len(va) == 2 and not set(tr) & set(va) and sorted(tr + va, key=int) == ids
    assert carve_validation(ids, 0.2, 3) == (tr, va)
