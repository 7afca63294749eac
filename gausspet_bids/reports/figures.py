"""Figures for the reports.

Participant figures (nilearn, PNG under ``OUTPUT_DIR/sub-XX/figures/``): synthetic vs real PET
and the absolute error, coefficient and reliability maps, territory overlay, hypometabolic
region, brain mask over the reference image. Group figures (matplotlib SVG, inlined in
``group.html``): every point carries a link to its participant's report.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from gausspet_bids.bids.atomic import atomic_path  # noqa: E402
from gausspet_bids.bids.naming import derivative_name  # noqa: E402

N_CUTS = 6
DPI = 80


def _load(img) -> nib.Nifti1Image:
    return img if hasattr(img, "affine") else nib.load(str(img))


def _save(fig, path: Path) -> Path:
    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=DPI, facecolor=fig.get_facecolor())
    plt.close(fig)
    return path


def _cuts(img: nib.Nifti1Image, mask=None) -> list[float]:
    """Axial cut positions (mm): quantiles of the mask's voxels along z (so cuts crowd where
    the mask is), or spread over the image's non-zero extent without a mask."""
    data = np.asanyarray(_load(mask).dataobj) if mask is not None else np.asanyarray(img.dataobj)
    if data.ndim == 4:
        data = data[..., 0]
    ks = np.nonzero(data > 0)[2]
    if ks.size == 0:
        ks = np.arange(img.shape[2])
    if mask is not None and ks.size:
        vox = np.percentile(ks, np.linspace(5, 95, N_CUTS))
    else:
        lo, hi = ks.min(), ks.max()
        vox = np.linspace(lo + 0.15 * (hi - lo), hi - 0.15 * (hi - lo), N_CUTS)
    ref = _load(mask) if mask is not None else img
    return [float((ref.affine @ [ref.shape[0] / 2, ref.shape[1] / 2, k, 1])[2]) for k in vox]


def _robust_max(img: nib.Nifti1Image) -> float:
    data = np.asanyarray(img.dataobj)
    finite = np.abs(data[np.isfinite(data) & (data != 0)])
    top = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    return top if top > 0 else 1.0


def figure_path(output_dir, subject: str, session: str | None, desc: str, suffix: str) -> Path:
    """``OUTPUT_DIR/sub-XX/figures/sub-XX[_ses-Y]_desc-<desc>_<suffix>.png``."""
    name = derivative_name({"sub": subject, "ses": session, "desc": desc}, suffix, ".png")
    return Path(output_dir) / f"sub-{subject}" / "figures" / name


def plot_pet_comparison(synthetic, real, out_png: Path, brain_mask=None) -> Path:
    """Rows: synthetic PET, real PET, absolute error (same SUVR scale for the first two)."""
    from nilearn import plotting

    syn, rea = _load(synthetic), _load(real)
    err = nib.Nifti1Image(
        np.abs(
            np.asanyarray(syn.dataobj, dtype=np.float32)
            - np.asanyarray(rea.dataobj, dtype=np.float32)
        ),
        syn.affine,
    )
    cuts, vmax = _cuts(syn, brain_mask), max(_robust_max(syn), _robust_max(rea))
    fig, axes = plt.subplots(3, 1, figsize=(12, 6.6), facecolor="black")
    for ax, img, title, cmap, top in (
        (axes[0], syn, "synthetic PET (SUVR)", "hot", vmax),
        (axes[1], rea, "real PET (SUVR)", "hot", vmax),
        (axes[2], err, "absolute error (SUVR)", "viridis", 0.5 * vmax),
    ):
        plotting.plot_img(img, display_mode="z", cut_coords=cuts, axes=ax, figure=fig, title=title,
                          cmap=cmap, vmin=0, vmax=top, black_bg=True, colorbar=True)  # fmt: skip
    return _save(fig, Path(out_png))


def plot_map(img, out_png: Path, title: str, cmap: str = "hot", symmetric: bool = False,
             mask=None) -> Path:  # fmt: skip
    """One map (PET, coefficient, reliability) in axial cuts."""
    from nilearn import plotting

    img = _load(img)
    if img.ndim == 4:
        img = nib.Nifti1Image(np.asanyarray(img.dataobj)[..., 0], img.affine)
    vmax = _robust_max(img)
    fig = plt.figure(figsize=(12, 2.3), facecolor="black")
    plotting.plot_img(img, display_mode="z", cut_coords=_cuts(img, mask), figure=fig, title=title,
                      cmap="RdBu_r" if symmetric else cmap, vmin=-vmax if symmetric else 0,
                      vmax=vmax, black_bg=True, colorbar=True)  # fmt: skip
    return _save(fig, Path(out_png))


def plot_overlay(background, overlay, out_png: Path, title: str, kind: str = "roi",
                 contours: Sequence = ()) -> Path:  # fmt: skip
    """Label map (``kind='roi'``) or mask contour (``kind='contour'``) over a background; extra
    ``contours`` are (mask, colour) pairs drawn on top."""
    from nilearn import plotting

    bg = _load(background)
    fig = plt.figure(figsize=(12, 2.3), facecolor="black")
    cuts = _cuts(bg, contours[0][0] if contours else None)
    if kind == "roi":
        display = plotting.plot_roi(_load(overlay), bg_img=bg, display_mode="z", cut_coords=cuts,
                                    figure=fig, title=title, cmap="tab20", alpha=0.45,
                                    black_bg=True, colorbar=False)  # fmt: skip
    else:
        display = plotting.plot_anat(bg, display_mode="z", cut_coords=cuts, figure=fig,
                                     title=title, black_bg=True, dim=0)  # fmt: skip
        display.add_contours(_load(overlay), levels=[0.5], colors=["lime"], linewidths=1.2)
    for mask, colour in contours:
        if np.any(np.asanyarray(_load(mask).dataobj)):
            display.add_contours(_load(mask), levels=[0.5], colors=[colour], linewidths=1.5)
    return _save(fig, Path(out_png))


CAPTIONS = {
    "brainmask": ("Brain mask", "Brain mask (green) over the reference image: check the extraction."),
    "registration": ("Co-registration", "Real PET with the MRI brain mask (green): the outline "
                     "should follow the PET brain edge."),
    "comparison": ("Synthetic vs real PET", "Synthetic PET, real PET (same SUVR scale) and their "
                   "absolute difference."),
    "synthetic": ("Synthetic PET", "Synthetic FDG-PET (SUVR)."),
    "territories": ("Vascular territories", "Arterial territory atlas (Liu et al. 2023) brought "
                    "to the participant."),
    "hypometabolism": ("Hypometabolic region", "Voxels at least 20 % below the contralateral "
                       "healthy reference (docs/metrics.md)."),
    "reliability": ("Reliability", "Inverse-consistency residual of the model: high values mark "
                    "voxels where the synthesis is less reliable."),
}  # fmt: skip


def _with_caption(path: Path, key: str, title: str | None = None) -> Path:
    """Write the figure's ``.json`` caption sidecar read by the participant report."""
    from gausspet_bids.bids.atomic import write_json

    default_title, caption = CAPTIONS.get(key, (key, ""))
    if key not in CAPTIONS:
        caption = (
            "Coefficient map of the structured linear model: how strongly this input drives uptake."
        )
    write_json(path.with_suffix(".json"), {"title": title or default_title, "caption": caption,
                                           "section": "scoring"})  # fmt: skip
    return path


def _coefficient_volumes(files: Sequence[str | Path]) -> list[tuple[str, nib.Nifti1Image]]:
    """(name, 3D image) for every coefficient map; a 4D file gives one per volume. The name is
    the file's ``desc`` label (alphanumeric), numbered for 4D files."""
    out = []
    for k, file in enumerate(files):
        img = _load(file)
        name = Path(str(file)).name.split("_desc-")[-1].split("_")[0]
        name = name if name.isalnum() and "_desc-" in Path(str(file)).name else f"coef{k}"
        if img.ndim == 4:
            data = np.asanyarray(img.dataobj)
            out += [
                (f"{name}{j}", nib.Nifti1Image(data[..., j], img.affine))
                for j in range(data.shape[3])
            ]
        else:
            out.append((name, img))
    return out


def participant_figures(
    *,
    output_dir: Path | str,
    subject: str,
    session: str | None,
    synthetic_pet: str | Path,
    brain_mask: str | Path,
    territory_dseg: str | Path,
    real_pet: str | Path | None = None,
    hypo_synthetic: str | Path | None = None,
    hypo_real: str | Path | None = None,
    reference_image: str | Path | None = None,
    coefficient_maps: Sequence[str | Path] = (),
    reliability_map: str | Path | None = None,
) -> list[Path]:
    """Write every participant figure the given inputs allow (PNG + caption JSON); return the
    PNG paths."""

    def path(desc: str, suffix: str = "pet") -> Path:
        return figure_path(output_dir, subject, session, desc, suffix)

    bg = reference_image or synthetic_pet
    out = [_with_caption(plot_overlay(bg, brain_mask, path("brainmask", "mask"), "brain mask",
                                      kind="contour"), "brainmask")]  # fmt: skip
    if real_pet:
        out.append(_with_caption(plot_pet_comparison(synthetic_pet, real_pet, path("comparison"),
                                                     brain_mask), "comparison"))  # fmt: skip
        out.append(_with_caption(plot_overlay(real_pet, brain_mask, path("registration", "mask"),
                                              "real PET with brain mask", kind="contour"),
                                 "registration"))  # fmt: skip
    else:
        out.append(_with_caption(plot_map(synthetic_pet, path("synthetic"), "synthetic PET (SUVR)",
                                          mask=brain_mask), "synthetic"))  # fmt: skip
    out.append(_with_caption(plot_overlay(bg, territory_dseg, path("territories", "dseg"),
                                          "vascular territories"), "territories"))  # fmt: skip
    if hypo_synthetic:
        contours = [(hypo_synthetic, "cyan")] + ([(hypo_real, "magenta")] if hypo_real else [])
        title = "hypometabolic region: synthetic (cyan)" + (", real (magenta)" if hypo_real else "")
        out.append(_with_caption(plot_overlay(synthetic_pet, brain_mask, path("hypometabolism", "mask"),
                                              title, kind="contour", contours=contours),
                                 "hypometabolism", title))  # fmt: skip
    for k, (name, img) in enumerate(_coefficient_volumes(coefficient_maps)):
        out.append(_with_caption(plot_map(img, path(name), f"coefficient map {name}", symmetric=True,
                                          mask=brain_mask), f"coef{k}", f"Coefficient map {name}"))  # fmt: skip
    if reliability_map:
        out.append(_with_caption(plot_map(reliability_map, path("reliability"),
                                          "inverse-consistency residual (low is good)",
                                          cmap="viridis", mask=brain_mask), "reliability"))  # fmt: skip
    return out


# ----------------------------------------------------------------------------- group figures
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
