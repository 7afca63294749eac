"""Regional SUVR per vascular territory and hemisphere.

The atlas' 32 labels (packaged ``atlas-Arterial_dseg.tsv``) are grouped by its ``territory``
column into nine territories per hemisphere (odd label = left, even = right; ventricles, whose
territory is ``n/a``, are left out). For each PET image the table holds the mean and median SUVR
per territory and hemisphere, and the asymmetry index ``AI = 2 (L - R) / (L + R)`` of the means
(negative: left lower).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

HEMISPHERES = ("left", "right")


def atlas_labels() -> pd.DataFrame:
    """The packaged label table with a ``hemisphere`` of ``left``/``right`` (odd/even index)."""
    path = resources.files("gausspet_bids.data.atlas") / "atlas-Arterial_dseg.tsv"
    with resources.as_file(path) as tsv:
        table = pd.read_csv(tsv, sep="\t", keep_default_na=False)
    table["hemisphere"] = np.where(table["index"] % 2 == 1, "left", "right")
    return table


def territory_names() -> list[str]:
    """The nine territories in atlas order (ventricles excluded)."""
    names = atlas_labels()["territory"]
    return list(dict.fromkeys(n for n in names if n != "n/a"))


def territory_map(dseg: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Relabel the 32-label dseg into 18 territory-hemisphere regions.

    Returns the region image (0 = background/ventricles, k = region k) and the list of
    ``(territory, hemisphere)`` for k = 1..18.
    """
    labels = atlas_labels()
    regions = [(t, h) for t in territory_names() for h in HEMISPHERES]
    lookup = np.zeros(int(labels["index"].max()) + 1, dtype=np.int16)
    for row in labels.itertuples():
        if row.territory != "n/a":
            lookup[row.index] = regions.index((row.territory, row.hemisphere)) + 1
    dseg = np.asarray(dseg).astype(np.int64)
    if dseg.min() < 0 or dseg.max() >= lookup.size:
        raise ValueError(f"territory dseg has labels outside 0..{lookup.size - 1}")
    return lookup[dseg], regions


def asymmetry_index(left: np.ndarray | float, right: np.ndarray | float) -> np.ndarray | float:
    """``2 (L - R) / (L + R)``; NaN where L + R is 0."""
    left, right = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ai = 2 * (left - right) / (left + right)
    return ai if ai.ndim else float(ai)


def regional_stats(pet: np.ndarray, dseg: np.ndarray, voxel_ml: float) -> pd.DataFrame:
    """Mean and median of ``pet`` in each territory-hemisphere region (18 rows)."""
    region_img, regions = territory_map(dseg)
    index = np.arange(1, len(regions) + 1)
    pet = np.asarray(pet, dtype=np.float64)
    finite = np.isfinite(pet)
    region_img = np.where(finite, region_img, 0)
    counts = ndimage.sum_labels(np.ones_like(pet), region_img, index)
    means = ndimage.mean(np.where(finite, pet, 0), region_img, index)
    medians = ndimage.median(np.where(finite, pet, 0), region_img, index)
    return pd.DataFrame(
        {
            "territory": [r[0] for r in regions],
            "hemisphere": [r[1] for r in regions],
            "volume_ml": np.asarray(counts) * voxel_ml,
            "mean": np.where(counts > 0, means, np.nan),
            "median": np.where(counts > 0, medians, np.nan),
        }
    )


def territory_table(pets: dict[str, np.ndarray], dseg: np.ndarray, voxel_ml: float) -> pd.DataFrame:
    """One row per territory: volumes and, per source (e.g. ``synthetic``, ``real``), mean and
    median SUVR left/right and the asymmetry index of the means."""
    table = pd.DataFrame({"territory": territory_names()})
    first = True
    for source, pet in pets.items():
        stats = regional_stats(pet, dseg, voxel_ml)
        wide = stats.pivot(index="territory", columns="hemisphere").reindex(table["territory"])
        if first:
            for hemi in HEMISPHERES:
                table[f"volume_{hemi}_ml"] = wide[("volume_ml", hemi)].to_numpy()
            first = False
        for stat in ("mean", "median"):
            for hemi in HEMISPHERES:
                table[f"{source}_{stat}_{hemi}"] = wide[(stat, hemi)].to_numpy()
        table[f"{source}_asymmetry"] = asymmetry_index(
            table[f"{source}_mean_left"], table[f"{source}_mean_right"]
        )
    return table


def territory_sidecar(sources: list[str]) -> dict:
    """BIDS-style column descriptions of :func:`territory_table`'s TSV."""
    cols: dict = {
        "territory": {
            "Description": "Vascular territory (Liu et al. 2023 arterial atlas, nine per "
            "hemisphere; label grouping in atlas-Arterial_dseg.tsv, column 'territory')",
        },
    }
    for hemi in HEMISPHERES:
        cols[f"volume_{hemi}_ml"] = {
            "Description": f"Territory volume, {hemi} hemisphere",
            "Units": "ml",
        }
    for source in sources:
        for stat in ("mean", "median"):
            for hemi in HEMISPHERES:
                cols[f"{source}_{stat}_{hemi}"] = {
                    "Description": f"{stat.capitalize()} SUVR of the {source} PET in the {hemi} territory",
                    "Units": "arbitrary (SUVR)",
                }
        cols[f"{source}_asymmetry"] = {
            "Description": f"Asymmetry index of the {source} PET mean SUVR, 2 (L - R) / (L + R); "
            "negative when the left side is lower",
            "Units": "arbitrary",
        }
    return cols


def voxel_volume_ml(img) -> float:
    """Voxel volume of a nibabel image in millilitres."""
    return float(np.prod(img.header.get_zooms()[:3])) / 1000.0


def write_territory_table(
    pet_files: dict[str, str | Path], dseg_file: str | Path, out_tsv: str | Path
) -> Path:
    """Load the PET images and the dseg, write the TSV and its JSON sidecar atomically."""
    import nibabel as nib

    from gausspet_bids.bids.atomic import write_json, write_text

    dseg_img = nib.load(str(dseg_file))
    dseg = np.asanyarray(dseg_img.dataobj)
    pets = {}
    for source, path in pet_files.items():
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj, dtype=np.float64)
        if data.shape[:3] != dseg.shape[:3]:
            raise ValueError(
                f"{path}: grid {data.shape} differs from territory map {dseg.shape} ({dseg_file})"
            )
        pets[source] = data
    table = territory_table(pets, dseg, voxel_volume_ml(dseg_img))
    out_tsv = Path(out_tsv)
    write_text(out_tsv, table.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g"))
    write_json(out_tsv.with_suffix(".json"), territory_sidecar(list(pets)))
    return out_tsv
