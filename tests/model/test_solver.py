"""Gauss-Seidel solver: closed-form steps, energy decrease, coupling, missing contrasts."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gausspet_bids.model.solver import Coefficients, energy, gauss_seidel, x_step, y_step


def random_problem(seed: int, m: int = 5, n: int = 64, missing: int = 0):
    gen = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64)  # noqa: E731
    coef = Coefficients(a=rnd(1, m, n), b=rnd(1, 1, n), c=rnd(1, m, n), d=rnd(1, m, n))
    x = rnd(1, m, n).abs()
    presence = torch.ones(1, m, 1, dtype=torch.float64)
    presence[0, :missing] = 0
    return coef, x, presence


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lam=st.floats(0.05, 5.0),
    mu=st.floats(0.0, 5.0),
    missing=st.integers(0, 4),
)
def test_each_sweep_lowers_energy(seed, lam, mu, missing):
    coef, x, presence = random_problem(seed, missing=missing)
    previous = None
    for k in range(6):
        y, x_hat = gauss_seidel(x, presence, coef, sweeps=k, lam=lam, mu=mu)
        e = energy(y, x_hat, x * presence, presence, coef, lam, mu)
        if previous is not None:
            assert torch.all(e <= previous + 1e-9 * (1 + previous.abs()))
        previous = e
    # a real decrease somewhere: the coupling is not degenerate
    y0, xh0 = gauss_seidel(x, presence, coef, sweeps=0, lam=lam, mu=mu)
    e0 = energy(y0, xh0, x * presence, presence, coef, lam, mu)
    assert (e0 - previous).max() > 1e-6


def test_closed_form_steps_match_brute_force_minimiser():
    coef, x, presence = random_problem(3, n=4, missing=2)
    lam, mu = 0.7, 1.3
    x_hat = x.clone()
    # closed-form steps against numpy least squares on the stacked residuals
    y_star = y_step(x_hat, coef, lam)
    x_star = x_step(y_star, x * presence, presence, coef, lam, mu)
    for v in range(4):
        # brute force: least squares of the stacked residuals in the unknown block
        a, b, c, d = (t[0, :, v].numpy() for t in (coef.a, coef.b, coef.c, coef.d))
        xv = x_hat[0, :, v].numpy()
        # E(y) = (y - a.x - b)^2 + lam |x - c y - d|^2  ->  1D least squares in y
        A = np.concatenate([[1.0], np.sqrt(lam) * c])
        r = np.concatenate([[a @ xv + b[0]], np.sqrt(lam) * (xv - d)])
        assert np.isclose(y_star[0, 0, v].item(), np.linalg.lstsq(A[:, None], r, rcond=None)[0][0])
        # E(x) = (y - a.x - b)^2 + lam |x - c y - d|^2 + mu sum p (x - x0)^2
        ys = y_star[0, 0, v].item()
        p = presence[0, :, 0].numpy()
        x0 = (x * presence)[0, :, v].numpy()
        M = np.vstack([a[None], np.sqrt(lam) * np.eye(5), np.sqrt(mu * p)[:, None] * np.eye(5)])
        rhs = np.concatenate([[ys - b[0]], np.sqrt(lam) * (c * ys + d), np.sqrt(mu * p) * x0])
        assert np.allclose(x_star[0, :, v].numpy(), np.linalg.lstsq(M, rhs, rcond=None)[0])


def test_k0_is_forward_model_and_k1_differs():
    coef, x, presence = random_problem(5, missing=1)
    y0, xh0 = gauss_seidel(x, presence, coef, sweeps=0, lam=1.0, mu=1.0)
    filled = x * presence + (1 - presence) * coef.d
    assert torch.allclose(y0, (coef.a * filled).sum(1, keepdim=True) + coef.b)
    assert torch.equal(xh0, filled)
    y1, xh1 = gauss_seidel(x, presence, coef, sweeps=1, lam=1.0, mu=1.0)
    assert (y1 - y0).abs().mean() > 1e-2
    # the missing contrast is re-imputed by the sweep (no longer its initial value d)
    assert (xh1[0, 0] - coef.d[0, 0]).abs().mean() > 1e-2


def test_missing_contrast_value_is_ignored():
    coef, x, presence = random_problem(9, missing=2)
    x2 = x.clone()
    x2[0, :2] = 123.0  # garbage in absent channels must not matter
    for k in (0, 2):
        ya, _ = gauss_seidel(x, presence, coef, sweeps=k, lam=0.5, mu=2.0)
        yb, _ = gauss_seidel(x2, presence, coef, sweeps=k, lam=0.5, mu=2.0)
        assert torch.allclose(ya, yb)


def test_lam_must_be_positive():
    coef, x, presence = random_problem(1)
    with pytest.raises(ValueError, match="lam"):
        gauss_seidel(x, presence, coef, sweeps=1, lam=0.0, mu=1.0)
