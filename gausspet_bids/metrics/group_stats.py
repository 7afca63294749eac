"""Group statistics: bootstrap CIs, agreement synthetic vs real, clinical correlations, model tests.

Tests, p-values and intervals come from scipy.stats. The ICC combines two-way ANOVA mean
squares as Shrout & Fleiss (1979) (docs/metrics.md); the mean squares are the balanced-table
closed form, checked against statsmodels' ``anova_lm`` in the tests. Missing values (NaN) are
dropped pairwise and counted.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 2000
SEED = 20260101


def _finite(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    arrays = tuple(np.asarray(a, dtype=float) for a in arrays)
    ok = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return tuple(a[ok] for a in arrays)


def bootstrap_mean_ci(values, confidence: float = 0.95, seed: int = SEED) -> dict[str, float]:
    """Mean with a BCa bootstrap CI (scipy.stats.bootstrap); ``n_missing`` counts NaNs."""
    raw = np.asarray(values, dtype=float)
    (x,) = _finite(raw)
    out = {"n": int(x.size), "n_missing": int(raw.size - x.size), "mean": np.nan,
           "ci_low": np.nan, "ci_high": np.nan}  # fmt: skip
    if x.size == 0:
        return out
    out["mean"] = float(x.mean())
    if x.size < 3 or np.ptp(x) == 0:
        return out
    res = stats.bootstrap(
        (x,), np.mean, confidence_level=confidence, n_resamples=BOOTSTRAP_RESAMPLES,
        method="BCa", rng=np.random.default_rng(seed),
    )  # fmt: skip
    out["ci_low"], out["ci_high"] = (
        float(res.confidence_interval.low),
        float(res.confidence_interval.high),
    )
    return out


def anova_mean_squares(y: np.ndarray) -> tuple[float, float, float]:
    """Rows (subjects), columns (raters) and residual mean squares of a complete n x k table:
    the two-way ANOVA without interaction. Closed form for a balanced table (statsmodels'
    ``anova_lm`` gives the same numbers -- tested -- at ~1 s per 300-row table, too slow for
    18 territories x models)."""
    n, k = y.shape
    grand = y.mean()
    ss_rows = k * np.sum((y.mean(1) - grand) ** 2)
    ss_cols = n * np.sum((y.mean(0) - grand) ** 2)
    ss_err = np.sum((y - grand) ** 2) - ss_rows - ss_cols
    return ss_rows / (n - 1), ss_cols / (k - 1), ss_err / ((n - 1) * (k - 1))


def icc(a, b, kind: str = "ICC(2,1)") -> float:
    """Intraclass correlation of two raters (columns) over n subjects (rows).

    ``ICC(2,1)`` (two-way random, absolute agreement, single rater):
    ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)``;
    ``ICC(3,1)`` (two-way mixed, consistency): ``(MSR - MSE) / (MSR + (k-1) MSE)``.
    """
    a, b = _finite(a, b)
    y = np.column_stack([a, b])
    n, k = y.shape
    if n < 2:
        return float("nan")
    msr, msc, mse = anova_mean_squares(y)
    if kind == "ICC(2,1)":
        denom = msr + (k - 1) * mse + k * (msc - mse) / n
    elif kind == "ICC(3,1)":
        denom = msr + (k - 1) * mse
    else:
        raise ValueError(f"unknown ICC kind {kind!r}; use 'ICC(2,1)' or 'ICC(3,1)'")
    return float((msr - mse) / denom) if denom > 0 else float("nan")


def agreement(synthetic, real) -> dict[str, float]:
    """Pearson r (p), ICC(2,1), ICC(3,1), Bland-Altman bias and 95% limits of agreement of the
    difference synthetic - real (bias +- 1.96 SD)."""
    s_raw = np.asarray(synthetic, dtype=float)
    s, r = _finite(s_raw, real)
    out = {"n": int(s.size), "n_missing": int(s_raw.size - s.size)}
    if s.size < 3:
        return out | dict.fromkeys(
            ["pearson_r", "pearson_p", "icc2_1", "icc3_1", "ba_bias", "ba_loa_low", "ba_loa_high"],
            np.nan,
        )
    if np.ptp(s) > 0 and np.ptp(r) > 0:
        pr = stats.pearsonr(s, r)
        out["pearson_r"], out["pearson_p"] = float(pr.statistic), float(pr.pvalue)
    else:
        out["pearson_r"] = out["pearson_p"] = np.nan
    out["icc2_1"], out["icc3_1"] = icc(s, r, "ICC(2,1)"), icc(s, r, "ICC(3,1)")
    diff = s - r
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    out |= {"ba_bias": bias, "ba_loa_low": bias - 1.96 * sd, "ba_loa_high": bias + 1.96 * sd}
    return out


def spearman_ci(x, y, confidence: float = 0.95) -> dict[str, float]:
    """Spearman rho, its p-value and a Fisher-z CI (SE = sqrt(1.06 / (n - 3)), Fieller et al.
    1957); pairs with a missing value are skipped and counted in ``n_missing``."""
    x_raw = np.asarray(x, dtype=float)
    xs, ys = _finite(x_raw, y)
    out = {"n": int(xs.size), "n_missing": int(x_raw.size - xs.size), "rho": np.nan, "p": np.nan,
           "ci_low": np.nan, "ci_high": np.nan}  # fmt: skip
    if xs.size < 4 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return out
    res = stats.spearmanr(xs, ys)
    rho = float(res.statistic)
    out["rho"], out["p"] = rho, float(res.pvalue)
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(1.06 / (xs.size - 3))
    out["ci_low"], out["ci_high"] = float(np.tanh(z - half)), float(np.tanh(z + half))
    return out


def paired_wilcoxon(a, b) -> dict[str, float]:
    """Wilcoxon signed-rank test of paired values a vs b (scipy.stats.wilcoxon, two-sided)."""
    a_raw = np.asarray(a, dtype=float)
    xa, xb = _finite(a_raw, b)
    out = {"n": int(xa.size), "n_missing": int(a_raw.size - xa.size),
           "median_difference": float(np.median(xa - xb)) if xa.size else np.nan,
           "statistic": np.nan, "p": np.nan}  # fmt: skip
    if xa.size < 2 or np.all(xa == xb):
        return out
    res = stats.wilcoxon(xa, xb)
    out["statistic"], out["p"] = float(res.statistic), float(res.pvalue)
    return out
