"""Image metrics: perfect on identical images, hand-computed values on known perturbations."""

import numpy as np
import pytest

from gausspet_bids.metrics.image_metrics import brain_metrics, masked_ssim, published_metrics


@pytest.fixture
def volume():
    rng = np.random.default_rng(1)
    target = 1.0 + rng.random((20, 22, 18))
    mask = np.zeros(target.shape, bool)
    mask[3:17, 4:18, 3:15] = True
    return target, mask


def test_identical_images_are_perfect(volume):
    target, mask = volume
    m = brain_metrics(target, target, mask)
    assert m["PSNR"] == np.inf
    assert m["SSIM"] == pytest.approx(1.0, abs=1e-12)
    assert m["NMAE"] == 0 and m["NMSE"] == 0
    assert m["NCC"] == pytest.approx(1.0)
    p = published_metrics(target, target)
    assert p["PSNR"] == np.inf and p["SSIM"] == pytest.approx(1.0) and p["NMSE"] == 0


def test_constant_offset_matches_hand_computation(volume):
    target, mask = volume
    c = 0.1
    m = brain_metrics(target + c, target, mask)
    t = target[mask]
    data_range = t.max() - t.min()
    assert m["PSNR"] == pytest.approx(10 * np.log10(data_range**2 / c**2))
    assert m["NMAE"] == pytest.approx(c * t.size / t.sum())
    assert m["NMSE"] == pytest.approx(c**2 * t.size / np.sum(t**2))
    assert m["NCC"] == pytest.approx(1.0)  # an offset leaves correlation intact
    assert m["SSIM"] < 1.0


def test_scaling_gives_nmse_of_scale_error(volume):
    target, mask = volume
    m = brain_metrics(1.2 * target, target, mask)
    assert m["NMSE"] == pytest.approx(0.04)
    assert m["NMAE"] == pytest.approx(0.2)
    assert m["NCC"] == pytest.approx(1.0)


def test_ssim_of_offset_on_flat_region_is_luminance_term():
    # Flat target (mu) and pred mu + c: SSIM = (2 mu (mu+c) + C1) / (mu^2 + (mu+c)^2 + C1).
    mu, c, L = 1.0, 0.2, 2.0
    target = np.full((12, 12, 12), mu)
    mask = np.ones(target.shape, bool)
    c1 = (0.01 * L) ** 2
    expected = (2 * mu * (mu + c) + c1) / (mu**2 + (mu + c) ** 2 + c1)
    assert masked_ssim(target + c, target, mask, L) == pytest.approx(expected)


def test_ssim_ignores_background_outside_mask(volume):
    target, mask = volume
    pred = target.copy()
    pred[~mask] = 100.0  # garbage outside the brain must not matter
    assert brain_metrics(pred, target, mask)["SSIM"] == pytest.approx(1.0)


def test_anticorrelated_ncc(volume):
    target, mask = volume
    assert brain_metrics(3.0 - target, target, mask)["NCC"] == pytest.approx(-1.0)


def test_published_metrics_minmax_scaling_removes_global_scale(volume):
    target, _ = volume
    # A global affine intensity change is invisible after min-max scaling.
    p = published_metrics(2.0 * target + 5.0, target)
    assert p["PSNR"] > 200 and p["NMAE"] == pytest.approx(0.0, abs=1e-12)


def test_errors_name_the_problem(volume):
    target, mask = volume
    with pytest.raises(ValueError, match="shapes"):
        brain_metrics(target[:-1], target, mask)
    with pytest.raises(ValueError, match="zero everywhere"):
        brain_metrics(target, np.zeros_like(target), mask)
    with pytest.raises(ValueError, match="empty"):
        brain_metrics(target, target, np.zeros_like(mask))
