"""Training with brain masks grown past the true one (``gausspet-train --mask-dilation``)."""

import numpy as np
import pytest
import torch
from scipy.ndimage import distance_transform_edt

from gausspet_bids.model.network import GaussPET
from gausspet_bids.model.tiling import tile_input
from gausspet_bids.training.cohort import load_subject
from gausspet_bids.training.loop import TrainConfig, _tile_step, global_linear_fit
from gausspet_bids.training.losses import masked_l1
from gausspet_bids.training.mask_dilation import input_mask
from gausspet_bids.training.voxelwise_start import fine_only_loss

CONTRASTS = ["T1w", "T2w", "FLAIR", "DWI", "ADC"]


@pytest.fixture(scope="module")
def subject(ring_cohort):
    return load_subject(ring_cohort, "train", "1", CONTRASTS)


def test_loader_keeps_the_ring_scaled_by_the_brain(subject):
    inside = subject.mask[0] > 0
    ring = ~inside & (subject.outside[0].float() <= 2)  # in the fixture's 3-step ring
    for i in range(len(CONTRASTS)):
        x = subject.x[i]
        assert abs(float(x[inside].median()) - 1.0) < 0.05  # normalised by the brain's median
        assert float((x[ring] > 0).float().mean()) > 0.95  # the ring is kept ...
        assert float(x[subject.outside[0].float() > 3.5].abs().max()) == 0  # ... nothing beyond
    assert float(subject.pet[0][~inside].abs().max()) == 0
    expected = distance_transform_edt(subject.mask[0].numpy() == 0)
    assert np.allclose(subject.outside[0].float().numpy(), expected, atol=0.01)


def test_no_dilation_is_the_true_mask_and_draws_nothing(subject):
    gen = torch.Generator().manual_seed(3)
    state = gen.get_state().clone()
    assert input_mask(subject, 0.0, gen) is subject.mask
    assert torch.equal(gen.get_state(), state)  # runs without the option stay bit for bit


def test_grown_masks_cover_the_brain_and_stay_within_the_distance(subject):
    gen = torch.Generator().manual_seed(0)
    masks = [input_mask(subject, 2.0, gen) for _ in range(200)]
    grown = [m for m in masks if m is not subject.mask]
    assert 70 < len(grown) < 130  # about half
    brain = subject.mask > 0
    distance = subject.outside.float()
    added = []
    for m in grown:
        assert bool((m[brain] > 0).all())  # never smaller than the brain
        assert float(distance[m > 0].max()) <= 2.0
        added.append(int((m > 0).sum() - brain.sum()))
    assert max(added) > 1.5 * min(added) > 0  # a random radius, always some growth
    assert float(max(distance[m > 0].max() for m in grown)) > 1.7  # corners at sqrt(3) too


def test_the_model_sees_the_grown_mask_and_the_loss_stays_on_the_brain(subject):
    torch.manual_seed(0)
    model = GaussPET(5, channels=8, depth=2, stride=4, fine_channels=6, position=True,
                     psf_sigma=1.17, sweeps=1)  # fmt: skip
    model.set_global_coefficients(*global_linear_fit([subject], 1.17))
    with torch.no_grad():
        model.net.head.weight.zero_()  # coarse features off: full = fine-only objective
        model.net.fine_head.weight.normal_(0, 0.05)
    grown = (subject.outside.float() <= 2.0).float()
    box = (slice(0, 16), slice(8, 24), slice(8, 24))  # the brain's edge: mask and ring
    presence = torch.ones(5)
    cfg = TrainConfig(contrasts=CONTRASTS)
    cpu = torch.device("cpu")
    with torch.no_grad():
        true_loss, _ = _tile_step(model, subject, presence, box, cpu, cfg, subject.mask)
        loss, parts = _tile_step(model, subject, presence, box, cpu, cfg, grown)
        fine, fine_parts = fine_only_loss(
            model, [(subject, presence, box, grown)], w_inverse=0.1, w_smooth=0.05
        )
        p = presence.view(1, -1, 1, 1, 1)
        out = model.forward_tile(tile_input(model, subject.x[None], p, grown[None], box), p)
    core = (Ellipsis, *box)
    on_brain = masked_l1(out["pet"], subject.pet[None][core], subject.mask[None][core])
    on_grown = masked_l1(out["pet"], subject.pet[None][core], grown[None][core])
    assert abs(loss.item() - true_loss.item()) > 1e-4  # the ring reaches the model
    assert parts["l1"] == pytest.approx(on_brain.item(), rel=1e-5)
    assert abs(on_grown.item() - on_brain.item()) > 1e-3  # (so the check above can fail)
    assert abs(fine.item() - loss.item()) < 1e-5  # both training paths use the grown mask
    assert abs(fine_parts["l1"] - parts["l1"]) < 1e-6
