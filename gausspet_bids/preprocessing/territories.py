"""Arterial territory maps: the packaged atlas, its nine-territory grouping, reference regions.

The atlas (Liu et al. 2023, ``gausspet_bids/data/atlas``) has 32 labels (odd = left, even =
right). Its ``territory`` column groups them into nine territories per hemisphere; the
territory map numbers them ``2k-1`` (left) and ``2k`` (right) for the k-th territory of
:data:`TERRITORIES`. Ventricles (``n/a``) become background in the territory map.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from gausspet_bids.bids.atomic import atomic_path, save_nifti

TERRITORIES = ("ACA", "LLS", "MCA", "PCA", "PCTP", "ACTP", "BA", "SCA", "ICA")
CEREBELLAR_TERRITORIES = ("SCA", "ICA")
# SUVR reference-region names accepted (CLI spellings included) -> canonical name.
REFERENCE_REGIONS = {"cerebellum": "cerebellum", "cerebellar-gm": "cerebellum",
                     "wholebrain": "wholebrain", "whole-brain": "wholebrain"}  # fmt: skip


def atlas_file(resolution_mm: int = 1) -> Path:
    """Path of the packaged atlas image (MNI152NLin6Asym grid, 1 or 2 mm)."""
    name = f"tpl-MNI152NLin6Asym_res-{resolution_mm:02d}_atlas-Arterial_dseg.nii.gz"
    return Path(str(resources.files("gausspet_bids.data") / "atlas" / name))


def label_table() -> pd.DataFrame:
    """The 32-label table (index, name, hemisphere, description, territory)."""
    path = resources.files("gausspet_bids.data") / "atlas" / "atlas-Arterial_dseg.tsv"
    return pd.read_csv(str(path), sep="\t")


def territory_table() -> pd.DataFrame:
    """The 18-label territory table (index, name, hemisphere, territory)."""
    rows = []
    for k, territory in enumerate(TERRITORIES, start=1):
        for offset, hemi in ((1, "L"), (0, "R")):
            rows.append(
                {"index": 2 * k - offset, "name": f"{territory}{hemi}", "hemisphere": hemi,
                 "territory": territory}
            )  # fmt: skip
    return pd.DataFrame(rows)


def label_to_territory_lut() -> np.ndarray:
    """Lookup array: atlas label value -> territory map value (0 for background/ventricles)."""
    labels = label_table()
    lut = np.zeros(int(labels["index"].max()) + 1, dtype=np.int16)
    for row in labels.itertuples():
        if row.territory in TERRITORIES:
            k = TERRITORIES.index(row.territory) + 1
            lut[row.index] = 2 * k - (1 if row.hemisphere == "L" else 0)
    return lut


def labels_to_territories(labels: np.ndarray) -> np.ndarray:
    """Map an array of atlas labels to territory values."""
    lut = label_to_territory_lut()
    labels = np.asarray(labels).astype(np.int64)
    labels = np.where((labels >= 0) & (labels < lut.size), labels, 0)
    return lut[labels]


def write_table(table: pd.DataFrame, out_file: Path | str) -> str:
    """Write a label table as a BIDS ``dseg.tsv`` (atomically)."""
    with atomic_path(out_file) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    return str(out_file)


def territory_maps(
    labels_file: Path | str,
    brain_mask_file: Path | str | None,
    out_labels: Path | str,
    out_territories: Path | str,
) -> dict[str, str]:
    """Write the brain-masked 32-label map and the 18-value territory map (int16)."""
    img = nib.load(str(labels_file))
    labels = np.rint(np.asanyarray(img.dataobj)).astype(np.int16)
    if brain_mask_file is not None:
        labels[np.asanyarray(nib.load(str(brain_mask_file)).dataobj) <= 0.5] = 0
    territories = labels_to_territories(labels).astype(np.int16)
    for data, path in ((labels, out_labels), (territories, out_territories)):
        out = nib.Nifti1Image(data, img.affine)
        out.header.set_data_dtype(np.int16)
        save_nifti(out, path)
    return {"labels": str(out_labels), "territories": str(out_territories)}


def reference_region(
    labels_file: Path | str,
    gm_file: Path | str,
    brain_mask_file: Path | str,
    out_file: Path | str,
    region: str = "cerebellum",
    gm_threshold: float = 0.5,
) -> str:
    """Write the SUVR reference-region mask.

    ``cerebellum``: cerebellar grey matter = superior + inferior cerebellar territories x grey
    matter probability >= ``gm_threshold``, inside the brain mask. ``wholebrain``: the brain mask.
    """
    if region not in REFERENCE_REGIONS:
        raise ValueError(f"SUVR reference region must be one of {sorted(REFERENCE_REGIONS)}")
    region = REFERENCE_REGIONS[region]
    mask_img = nib.load(str(brain_mask_file))
    brain = np.asanyarray(mask_img.dataobj) > 0.5
    if region == "wholebrain":
        region_mask = brain
    elif region == "cerebellum":
        labels = np.rint(np.asanyarray(nib.load(str(labels_file)).dataobj)).astype(int)
        cerebellar = np.isin(
            labels_to_territories(labels), _territory_values(CEREBELLAR_TERRITORIES)
        )
        gm = np.asanyarray(nib.load(str(gm_file)).dataobj, dtype=np.float32)
        if gm.max() > 1.0 + 1e-3:  # the template stores probability x 255
            gm = gm / 255.0
        gm = gm >= gm_threshold
        region_mask = cerebellar & gm & brain
    out = nib.Nifti1Image(region_mask.astype(np.uint8), mask_img.affine)
    out.header.set_data_dtype(np.uint8)
    return str(save_nifti(out, out_file))


def _territory_values(names: tuple[str, ...]) -> list[int]:
    table = territory_table()
    return table.loc[table["territory"].isin(names), "index"].astype(int).tolist()
