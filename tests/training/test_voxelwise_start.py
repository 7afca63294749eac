"""The voxel-wise start: the fine branch trained alone, on the exact objective of the full model."""

import torch

from gausspet_bids.model.network import GaussPET
from gausspet_bids.training.cohort import load_subject
from gausspet_bids.training.loop import TrainConfig, _tile_step, global_linear_fit
from gausspet_bids.training.voxelwise_start import fine_only_loss, train_fine_branch

CONTRASTS = ["T1w", "T2w", "FLAIR", "DWI", "ADC"]


def subjects(root, n=4):
    return [load_subject(root, "train", str(i), CONTRASTS) for i in range(1, n + 1)]


def model_for(train):
    torch.manual_seed(0)
    model = GaussPET(5, channels=8, depth=2, stride=4, fine_channels=6, position=True,
                     psf_sigma=1.17, sweeps=1)  # fmt: skip
    model.set_global_coefficients(*global_linear_fit(train, 1.17))
    return model


def test_fine_only_loss_is_the_full_models_loss_without_coarse_features(tiny_cohort):
    train = subjects(tiny_cohort)
    model = model_for(train)
    with torch.no_grad():  # coarse features off: the coarse coefficients are the head's bias
        model.net.head.weight.zero_()
        model.net.fine_head.weight.normal_(0, 0.05)
    s, box = train[0], (slice(8, 24), slice(4, 20), slice(8, 20))
    presence = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    cfg = TrainConfig(contrasts=CONTRASTS)
    full, full_parts = _tile_step(model, s, presence, box, torch.device("cpu"), cfg)
    fine, fine_parts = fine_only_loss(model, [(s, presence, box)], w_inverse=0.1, w_smooth=0.05)
    assert abs(full.item() - fine.item()) < 1e-5
    assert abs(full_parts["l1"] - fine_parts["l1"]) < 1e-6


def test_training_the_fine_branch_alone_lowers_the_loss_and_leaves_the_rest(tiny_cohort):
    train = subjects(tiny_cohort)
    model = model_for(train)
    coarse_before = {k: v.clone() for k, v in model.named_parameters() if "fine" not in k}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is several times faster on 2 busy cores
    try:
        history = train_fine_branch(model, train, steps=40, crop=8, batch=6, lr=3e-3, seed=1)
    finally:
        torch.set_num_threads(threads)
    assert len(history) == 10 and history[-1] < 0.8 * history[0]
    for name, value in model.named_parameters():
        if "fine" not in name:
            assert torch.equal(value, coarse_before[name]), name
