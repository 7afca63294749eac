"""Group statistics against scipy / hand-computed values."""

import numpy as np
import pytest
from scipy import stats

from gausspet_bids.metrics.group_stats import (
    agreement,
    anova_mean_squares,
    bootstrap_mean_ci,
    icc,
    paired_wilcoxon,
    spearman_ci,
)


def test_bootstrap_ci_contains_mean_and_counts_missing():
    x = np.r_[np.random.default_rng(0).normal(5.0, 1.0, 100), np.nan, np.nan]
    out = bootstrap_mean_ci(x)
    assert out["n"] == 100 and out["n_missing"] == 2
    assert out["ci_low"] < out["mean"] < out["ci_high"]
    # the CI half-width is close to 1.96 SE
    se = np.nanstd(x, ddof=1) / 10
    assert (out["ci_high"] - out["ci_low"]) / 2 == pytest.approx(1.96 * se, rel=0.2)


def test_icc_of_identical_raters_is_one_and_of_offset_drops_for_absolute_agreement():
    a = np.arange(10.0)
    assert icc(a, a) == pytest.approx(1.0)
    assert icc(a, a + 5.0, "ICC(3,1)") == pytest.approx(1.0)  # consistency ignores offset
    assert icc(a, a + 5.0, "ICC(2,1)") < 0.7


def test_icc_matches_hand_computed_example():
    # Two raters, 4 subjects; ANOVA by hand: MSR = 33 / 3 = 11, MSC = 0.5, MSE = 0.5 / 3
    a, b = np.array([1.0, 3.0, 5.0, 6.0]), np.array([1.0, 4.0, 5.0, 7.0])
    msr, msc, mse, n, k = 11.0, 0.5, 1 / 6, 4, 2
    assert icc(a, b, "ICC(2,1)") == pytest.approx((msr - mse) / (msr + mse + k * (msc - mse) / n))
    assert icc(a, b, "ICC(3,1)") == pytest.approx((msr - mse) / (msr + mse))


def test_anova_mean_squares_match_shrout_fleiss_table():
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; BMS 11.24, JMS 32.49, EMS 1.02
    y = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                  [6, 2, 4, 7]], dtype=float)  # fmt: skip
    bms, jms, ems = anova_mean_squares(y)
    assert (bms, jms, ems) == pytest.approx((11.24, 32.49, 1.02), abs=0.005)
    n, k = y.shape  # and their ICC(2,1) = 0.29, ICC(3,1) = 0.71
    assert (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n) == pytest.approx(
        0.29, abs=0.005
    )
    assert (bms - ems) / (bms + (k - 1) * ems) == pytest.approx(0.71, abs=0.005)


def test_anova_mean_squares_match_statsmodels():
    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    y = np.random.default_rng(3).normal(size=(12, 2)) + np.arange(12)[:, None] * 0.3
    long = pd.DataFrame({"value": y.ravel(), "subject": np.repeat(np.arange(12), 2),
                         "rater": np.tile([0, 1], 12)})  # fmt: skip
    ms = anova_lm(smf.ols("value ~ C(subject) + C(rater)", data=long).fit())["mean_sq"]
    assert anova_mean_squares(y) == pytest.approx(
        (ms["C(subject)"], ms["C(rater)"], ms["Residual"]), rel=1e-10
    )


def test_bland_altman_and_pearson():
    real = np.linspace(1, 2, 20)
    d = np.tile([0.1, -0.1], 10)
    out = agreement(real + 0.05 + d, real)
    assert out["ba_bias"] == pytest.approx(0.05)
    sd = np.std(d, ddof=1)
    assert out["ba_loa_high"] == pytest.approx(0.05 + 1.96 * sd)
    assert out["pearson_r"] == pytest.approx(stats.pearsonr(real + 0.05 + d, real).statistic)


def test_spearman_ci_and_missing():
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    y = x + rng.normal(scale=0.5, size=60)
    x[:5] = np.nan
    out = spearman_ci(x, y)
    assert out["n"] == 55 and out["n_missing"] == 5
    assert out["rho"] > 0.7 and out["p"] < 1e-6
    assert out["ci_low"] < out["rho"] < out["ci_high"]


def test_paired_wilcoxon_detects_shift():
    rng = np.random.default_rng(4)
    a = rng.normal(size=40)
    assert paired_wilcoxon(a + 0.5 + rng.normal(scale=0.1, size=40), a)["p"] < 1e-6
    assert np.isnan(paired_wilcoxon(a, a)["p"])
