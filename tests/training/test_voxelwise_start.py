"""The voxel-wise start: the fine branch trained alone, on the exact objective of the full model."""

import dataclasses

import pytest
import torch

from gausspet_bids.model.network import GaussPET
from gausspet_bids.training.cohort import load_subject
from gausspet_bids.training.loop import TrainConfig, _tile_step, global_linear_fit
from gausspet_bids.training.voxelwise_start import (
    fine_only_loss,
    start_residual,
    train_fine_branch,
)

CONTRASTS = ["T1w", "T2w", "FLAIR", "DWI", "ADC"]


def subjects(root, n=4):
    return [load_subject(root, "train", str(i), CONTRASTS) for i in range(1, n + 1)]


def model_for(train, template_shape=None, context=0):
    torch.manual_seed(0)
    model = GaussPET(5, channels=8, depth=2, stride=4, fine_channels=6, position=True,
                     psf_sigma=1.17, sweeps=1, template_shape=template_shape,
                     context_features=context, context_shape=[4, 4, 4] if context else None)  # fmt: skip
    model.set_global_coefficients(*global_linear_fit(train, 1.17))
    return model


@pytest.mark.parametrize("template_shape,context", [(None, 0), ([5, 5, 5], 0), ([5, 5, 5], 2)])
def test_fine_only_loss_is_the_full_models_loss_without_coarse_features(
    tiny_cohort, template_shape, context
):
    train = subjects(tiny_cohort)
    model = model_for(train, template_shape, context)
    with torch.no_grad():  # coarse features off: the coarse coefficients are the head's bias
        model.net.head.weight.zero_()
        model.net.fine_head.weight.normal_(0, 0.05)
        if template_shape:
            model.net.template.maps.normal_(0, 0.2)
        if context:
            model.net.context.maps.normal_(0, 0.2)
    s, box = train[0], (slice(8, 24), slice(4, 20), slice(8, 20))
    presence = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    cfg = TrainConfig(contrasts=CONTRASTS)
    full, full_parts = _tile_step(model, s, presence, box, torch.device("cpu"), cfg)
    fine, fine_parts = fine_only_loss(
        model, [(s, presence, box, s.mask)], w_inverse=0.1, w_smooth=0.05
    )
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


def test_voxelwise_start_learns_the_template_map_and_its_prior_smooths_it(tiny_cohort):
    """With a template map the voxel-wise start trains it too (from zero) and the loss falls;
    the roughness prior (w_template) makes the learnt map smoother."""
    train = subjects(tiny_cohort)
    maps = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for w in (0.0, 1e4):
            model = model_for(train, template_shape=[9, 9, 9])
            history = train_fine_branch(
                model, train, steps=40, crop=8, batch=6, lr=3e-3, seed=1, w_template=w
            )
            assert history[-1] < 0.8 * history[0]
            maps[w] = model.net.template
    finally:
        torch.set_num_threads(threads)
    free = maps[0.0].maps.detach()
    assert free.abs().max() > 1e-2  # it moved where the crops were
    assert (free == 0).any()  # lattice points no brain voxel reaches stay at the start
    assert maps[1e4].roughness() < 0.5 * maps[0.0].roughness()


def test_start_residual_finds_what_the_start_misses_and_hard_cubes_train(tiny_cohort):
    """A 'lesion' cut into one participant's PET shows in the start's residual (nowhere
    outside the mask), and the voxel-wise start with hard cubes still lowers the loss."""
    train = subjects(tiny_cohort)
    model = model_for(train)
    s = train[0]
    inside = torch.nonzero(s.mask[0] > 0)
    centre = inside[len(inside) // 2]
    box = tuple(slice(int(c) - 2, int(c) + 3) for c in centre)
    pet = s.pet.clone()
    pet[(0, *box)] *= 0.2
    lesioned = dataclasses.replace(s, pet=pet)
    before, after = start_residual(model, s), start_residual(model, lesioned)
    assert after.shape == s.mask.shape[1:]
    assert float(after[s.mask[0] == 0].abs().max()) == 0.0
    in_box = s.mask[0][box] > 0
    assert float(after[box][in_box].mean()) > float(before[box][in_box].mean()) + 0.3
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        history = train_fine_branch(
            model, [lesioned, *train[1:]], steps=40, crop=8, batch=6, lr=3e-3, seed=1,
            hard_fraction=0.5,
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    # (measured 0.122 -> 0.109: half the cubes sit on a cut with no MRI signature)
    assert history[-1] < 0.95 * history[0]
