"""Figures for the reports.

Participant figures (nilearn, PNG under ``OUTPUT_DIR/sub-XX/figures/``): synthetic vs real PET
and the absolute error, coefficient and reliability maps, territory overlay, hypometabolic
region, brain mask over the reference image. Group figures (matplotlib SVG, inlined in
``group.html``): every point carries a link to its participant's report.
"""

from __future__ import annotations

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


def _cuts(img: nib.Nifti1Image, masks: Sequence = ()) -> list[float]:
    """Axial cut positions (mm): quantiles along z of the voxels of the first non-empty mask
    in ``masks`` (so cuts crowd where it is), else spread over the image's non-zero extent."""
    for mask in masks:
        if mask is None:
            continue
        ref = _load(mask)
        data = np.asanyarray(ref.dataobj)
        ks = np.nonzero((data[..., 0] if data.ndim == 4 else data) > 0)[2]
        if ks.size:
            vox = np.percentile(ks, np.linspace(5, 95, N_CUTS))
            break
    else:
        ref = img
        data = np.asanyarray(img.dataobj)
        ks = np.nonzero((data[..., 0] if data.ndim == 4 else data) > 0)[2]
        lo, hi = (ks.min(), ks.max()) if ks.size else (0, img.shape[2] - 1)
        vox = np.linspace(lo + 0.15 * (hi - lo), hi - 0.15 * (hi - lo), N_CUTS)
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
    cuts, vmax = _cuts(syn, [brain_mask]), max(_robust_max(syn), _robust_max(rea))
    fig, axes = plt.subplots(3, 1, figsize=(12, 6.9), facecolor="black",
                             gridspec_kw={"hspace": 0.02, "left": 0, "right": 1, "top": 1,
                                          "bottom": 0})  # fmt: skip
    for ax, img, title, cmap, top in (
        (axes[0], syn, "synthetic PET (SUVR)", "hot", vmax),
        (axes[1], rea, "real PET (SUVR)", "hot", vmax),
        (axes[2], err, "absolute error (SUVR)", "viridis", 0.5 * vmax),
    ):
        plotting.plot_img(img, display_mode="z", cut_coords=cuts, axes=ax, figure=fig, title=title,
                          cmap=cmap, vmin=0, vmax=top, black_bg=True, colorbar=True)  # fmt: skip
    return _save(fig, Path(out_png))


def _range_in_mask(img: nib.Nifti1Image, mask) -> tuple[float, float]:
    """1st-99th percentile of the image inside ``mask`` (or its non-zero voxels)."""
    data = np.asanyarray(img.dataobj, dtype=np.float64)
    inside = np.asanyarray(_load(mask).dataobj) > 0 if mask is not None else data != 0
    values = data[inside & np.isfinite(data)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(lo) + 0.5)


def plot_map(img, out_png: Path, title: str, cmap: str = "hot", mask=None,
             spread: bool = False) -> Path:  # fmt: skip
    """One map (PET, coefficient, reliability) in axial cuts. ``spread``: colour range = the
    1st-99th percentile inside ``mask`` (shows the spatial pattern of a map whose values sit
    far from zero); otherwise 0 to the robust maximum."""
    from nilearn import plotting

    img = _load(img)
    if img.ndim == 4:
        img = nib.Nifti1Image(np.asanyarray(img.dataobj)[..., 0], img.affine)
    vmin, vmax = _range_in_mask(img, mask) if spread else (0.0, _robust_max(img))
    fig = plt.figure(figsize=(12, 2.3), facecolor="black")
    cuts = _cuts(img, [mask])
    if spread:  # a stat map: exact zeros (outside the brain) stay transparent over black
        data = np.asanyarray(img.dataobj, dtype=np.float64)
        inside = np.asanyarray(_load(mask).dataobj) > 0 if mask is not None else data != 0
        data = np.where(inside, np.where(data == 0, 1e-9, data), 0.0)
        plotting.plot_stat_map(nib.Nifti1Image(data, img.affine), bg_img=None, display_mode="z",
                               cut_coords=cuts, figure=fig, title=title, cmap=cmap, vmin=vmin,
                               vmax=vmax, threshold=1e-12, symmetric_cbar=False, black_bg=True,
                               colorbar=True)  # fmt: skip
    else:
        plotting.plot_img(img, display_mode="z", cut_coords=cuts, figure=fig, title=title,
                          cmap=cmap, vmin=vmin, vmax=vmax, black_bg=True, colorbar=True)  # fmt: skip
    return _save(fig, Path(out_png))


def plot_overlay(background, overlay, out_png: Path, title: str, kind: str = "roi",
                 contours: Sequence = (), cut_masks: Sequence = ()) -> Path:  # fmt: skip
    """Label map (``kind='roi'``) or mask contour (``kind='contour'``) over a background; extra
    ``contours`` are (mask, colour) pairs drawn on top. Cuts follow the first non-empty of
    ``cut_masks``."""
    from nilearn import plotting

    bg = _load(background)
    fig = plt.figure(figsize=(12, 2.3), facecolor="black")
    cuts = _cuts(bg, cut_masks)
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


# Report sections, in page order; figure key -> (section, order, title, caption).
SECTIONS = ("Preprocessing checks", "Synthesis", "Hypometabolic region")
CAPTIONS = {
    "brainmask": (SECTIONS[0], 1, "Brain mask",
                  "Brain mask (green) over the reference image: check the extraction."),
    "registration": (SECTIONS[0], 2, "Co-registration of the real PET",
                     "Real PET with the MRI brain mask (green): the outline should follow the "
                     "PET brain edge."),
    "territories": (SECTIONS[0], 3, "Vascular territories",
                    "Arterial territory atlas (Liu et al. 2023) brought to the participant "
                    "through the inverse of the template registration."),
    "comparison": (SECTIONS[1], 1, "Synthetic vs real PET",
                   "Synthetic PET, real PET (same SUVR scale) and their absolute difference."),
    "synthetic": (SECTIONS[1], 1, "Synthetic PET", "Synthetic FDG-PET (SUVR)."),
    "coefficient": (SECTIONS[1], 2, "Coefficient map",
                    "Coefficient of the structured linear model for this input: how strongly "
                    "it drives the synthetic uptake here (colour range: 1st-99th percentile in "
                    "the brain)."),
    "reliability": (SECTIONS[1], 3, "Reliability",
                    "Inverse-consistency residual of the model: high values mark voxels where "
                    "the synthesis is less reliable."),
    "hypometabolism": (SECTIONS[2], 1, "Hypometabolic region", ""),
}  # fmt: skip


def _with_caption(path: Path, key: str, session: str | None, title: str | None = None,
                  order: float = 0.0) -> Path:  # fmt: skip
    """Write the figure's ``.json`` caption sidecar read by the participant report."""
    from gausspet_bids.bids.atomic import write_json
    from gausspet_bids.metrics.hypometabolism import METHOD_SUMMARY

    section, base_order, default_title, caption = CAPTIONS[key]
    if key == "hypometabolism":
        caption = METHOD_SUMMARY
    title = title or default_title
    if session:
        title += f" (ses-{session})"
    write_json(path.with_suffix(".json"), {"title": title, "caption": caption,
                                           "section": section, "order": base_order + order})  # fmt: skip
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

    def caption(png: Path, key: str, **kw) -> Path:
        return _with_caption(png, key, session, **kw)

    bg = reference_image or synthetic_pet
    out = [caption(plot_overlay(bg, brain_mask, path("brainmask", "mask"), "brain mask",
                                kind="contour", cut_masks=[brain_mask]), "brainmask")]  # fmt: skip
    if real_pet:
        out.append(caption(plot_pet_comparison(synthetic_pet, real_pet, path("comparison"),
                                               brain_mask), "comparison"))  # fmt: skip
        out.append(caption(plot_overlay(real_pet, brain_mask, path("registration", "mask"),
                                        "real PET with brain mask", kind="contour",
                                        cut_masks=[brain_mask]), "registration"))  # fmt: skip
    else:
        out.append(caption(plot_map(synthetic_pet, path("synthetic"), "synthetic PET (SUVR)",
                                    mask=brain_mask), "synthetic"))  # fmt: skip
    out.append(caption(plot_overlay(bg, territory_dseg, path("territories", "dseg"),
                                    "vascular territories", cut_masks=[brain_mask]),
                       "territories"))  # fmt: skip
    if hypo_synthetic:
        contours = [(hypo_synthetic, "cyan")] + ([(hypo_real, "magenta")] if hypo_real else [])
        title = "hypometabolic region: synthetic (cyan)" + (", real (magenta)" if hypo_real else "")
        union = _union_mask(hypo_synthetic, hypo_real)
        out.append(caption(plot_overlay(synthetic_pet, brain_mask, path("hypometabolism", "mask"),
                                        title, kind="contour", contours=contours,
                                        cut_masks=[union, brain_mask]),
                           "hypometabolism", title=title[0].upper() + title[1:]))  # fmt: skip
    for k, (name, img) in enumerate(_coefficient_volumes(coefficient_maps)):
        out.append(caption(plot_map(img, path(name), f"coefficient map {name}", cmap="coolwarm",
                                    mask=brain_mask, spread=True),
                           "coefficient", title=f"Coefficient map {name}", order=k / 100))  # fmt: skip
    if reliability_map:
        out.append(caption(plot_map(reliability_map, path("reliability"),
                                    "inverse-consistency residual (low is good)", cmap="viridis",
                                    mask=brain_mask), "reliability"))  # fmt: skip
    remove_stale_figures(output_dir, subject, session, out)
    return out


def remove_stale_figures(output_dir, subject: str, session: str | None, keep: Sequence[Path]):
    """Delete this participant/session's figures (PNG + caption JSON) that this run did not
    write, so a rerun with other inputs (e.g. no real PET, fewer contrasts) leaves no figure
    the report would still show. Other sessions' figures are left alone."""
    folder = Path(output_dir) / f"sub-{subject}" / "figures"
    prefix = f"sub-{subject}_" + (f"ses-{session}_" if session else "") + "desc-"
    kept = {Path(p).name for p in keep} | {Path(p).with_suffix(".json").name for p in keep}
    for old in folder.glob(f"{prefix}*"):
        if old.suffix in (".png", ".json", ".svg") and old.name not in kept:
            old.unlink()


def _union_mask(first, second) -> nib.Nifti1Image:
    """Voxels in either mask (the second may be None), as an image on the first's grid."""
    img = _load(first)
    data = np.asanyarray(img.dataobj) > 0
    if second:
        data = data | (np.asanyarray(_load(second).dataobj) > 0)
    return nib.Nifti1Image(data.astype(np.uint8), img.affine)
