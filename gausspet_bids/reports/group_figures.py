"""Group figures for ``group.html``: matplotlib SVG, inlined, every point linking to its
participant's report (``sub-XX.html``)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def svg_string(fig) -> str:
    """The figure as inline SVG markup (links kept), figure closed."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _scatter(ax, x, y, urls, **kw):
    points = ax.scatter(x, y, s=14, alpha=0.8, **kw)
    points.set_urls(list(urls))
    points.set_gid("points")
    return points


def distribution_svg(values: dict[str, np.ndarray], urls: Sequence[str], title: str) -> str:
    """One strip + box plot per metric (a metric per panel, since scales differ)."""
    names = list(values)
    fig, axes = plt.subplots(1, len(names), figsize=(2.2 * len(names), 3.0), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, name in zip(axes[0], names, strict=True):
        v = np.asarray(values[name], float)
        ok = np.isfinite(v)
        ax.boxplot(v[ok], widths=0.5, showfliers=False)
        jitter = 1 + rng.uniform(-0.15, 0.15, v.size)
        _scatter(ax, jitter[ok], v[ok], np.asarray(urls)[ok], color="tab:blue")
        ax.set_xticks([])
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return svg_string(fig)


def agreement_svg(panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], urls: Sequence[str],
                  bland_altman: bool) -> str:  # fmt: skip
    """Per-territory scatter (synthetic vs real) or Bland-Altman; panels map territory ->
    (synthetic, real, is_left)."""
    n = len(panels)
    cols = 3
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(9, 2.6 * rows), squeeze=False)
    urls = np.asarray(urls)
    for ax, (name, (syn, real, left)) in zip(axes.ravel(), panels.items(), strict=False):
        for side, colour in ((True, "tab:blue"), (False, "tab:orange")):
            sel = (left == side) & np.isfinite(syn) & np.isfinite(real)
            if bland_altman:
                x, y = (syn[sel] + real[sel]) / 2, syn[sel] - real[sel]
            else:
                x, y = real[sel], syn[sel]
            _scatter(ax, x, y, urls[sel], color=colour, label="left" if side else "right")
        ok = np.isfinite(syn) & np.isfinite(real)
        if ok.sum() > 1 and bland_altman:
            d = syn[ok] - real[ok]
            for level, style in ((d.mean(), "-"), (d.mean() + 1.96 * d.std(ddof=1), "--"),
                                 (d.mean() - 1.96 * d.std(ddof=1), "--")):  # fmt: skip
                ax.axhline(level, color="grey", linestyle=style, linewidth=0.8)
        elif ok.any():
            lo, hi = np.nanmin([syn[ok], real[ok]]), np.nanmax([syn[ok], real[ok]])
            ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("mean of both" if bland_altman else "real SUVR", fontsize=8)
        ax.set_ylabel("synthetic - real" if bland_altman else "synthetic SUVR", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    return svg_string(fig)


def clinical_svg(
    volumes: dict[str, np.ndarray], scores: dict[str, np.ndarray], urls: Sequence[str]
) -> str:
    """Hypometabolic volume (rows: synthetic, real) against each clinical score (columns)."""
    fig, axes = plt.subplots(len(volumes), len(scores), figsize=(3.6 * len(scores), 3.0 * len(volumes)),
                             squeeze=False)  # fmt: skip
    urls = np.asarray(urls)
    for i, (vname, vol) in enumerate(volumes.items()):
        for j, (sname, score) in enumerate(scores.items()):
            ax = axes[i, j]
            ok = np.isfinite(vol) & np.isfinite(score)
            _scatter(ax, score[ok], vol[ok], urls[ok], color="tab:red")
            ax.set_xlabel(sname, fontsize=8)
            ax.set_ylabel(f"{vname} hypometabolic volume (ml)", fontsize=8)
            ax.set_title(f"{vname} vs {sname} (n = {int(ok.sum())})", fontsize=9)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    return svg_string(fig)
