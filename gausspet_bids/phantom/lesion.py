"""Ischaemic lesions placed by vascular territory, in template space.

A lesion is grown from a seed inside one arterial territory (atlas of Liu et al. 2023) by a
noisy distance front until it reaches a drawn volume: lacunes (0.2-1.5 ml) in the perforator
territories, territorial infarcts (2-60 ml) and large MCA infarcts (80-250 ml). The hypoperfused
penumbra (FDG reduced 10-30 %) extends several millimetres beyond the core, which is all MRI shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from gausspet_bids.phantom.random_fields import smooth_random_field
from gausspet_bids.phantom.tissue_bank import CEREBELLUM_LABELS, Field, TissueBank

STAGES = ("acute", "subacute", "chronic")
# Nine-territory names of the packaged atlas table, by level-1 label pair (left, right).
TERRITORY_LABELS: dict[str, tuple[int, ...]] = {
    "ACA": (1, 2, 3, 4),
    "LLS": (5, 6),
    "MCA": (7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
    "PCA": (17, 18, 19, 20),
    "PCTP": (21, 22),
    "ACTP": (23, 24),
    "BA": (25, 26),
    "SCA": (27, 28),
    "ICA": (29, 30),
}
LACUNAR_TERRITORIES = {"LLS": 0.5, "PCTP": 0.2, "ACTP": 0.2, "ACA": 0.1}  # ACA: medial LS
TERRITORIAL_TERRITORIES = {"MCA": 0.62, "PCA": 0.16, "ACA": 0.08, "SCA": 0.07, "ICA": 0.07}


@dataclass(frozen=True)
class Lesion:
    """A lesion in template space (2 mm fields in [0, 1]) and its FDG effects."""

    core: Field  # infarct core fraction: MRI-visible, FDG reduced by ``core_reduction``
    penumbra: Field  # hypoperfused rim beyond the core, invisible on MRI
    cavity: Field  # chronic stage: fluid-filled centre of larger infarcts (zero for small ones)
    kind: str  # lacunar | territorial | large
    territory: str  # one of the nine territories
    hemisphere: str  # L | R
    core_ml_template: float
    penumbra_ml_template: float
    core_reduction: float  # 0.6..0.9
    penumbra_reduction: float  # 0.1..0.3
    diaschisis: float  # contralateral cerebellar reduction (0 for infratentorial lesions)

    @property
    def contralateral_cerebellum_labels(self) -> tuple[int, ...]:
        parity = 0 if self.hemisphere == "L" else 1  # L lesion -> right (even) cerebellum
        return tuple(lab for lab in CEREBELLUM_LABELS if lab % 2 == parity)


def _choose(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def draw_lesion(rng: np.random.Generator, bank: TissueBank) -> Lesion:
    """Draw kind, territory, hemisphere, size and FDG effects; grow the lesion on ``bank``'s grid."""
    kind = _choose(rng, {"lacunar": 0.3, "territorial": 0.5, "large": 0.2})
    hemisphere = "L" if rng.random() < 0.5 else "R"
    parity = 1 if hemisphere == "L" else 0
    if kind == "lacunar":
        territory = _choose(rng, LACUNAR_TERRITORIES)
        volume_ml = rng.uniform(0.2, 1.5)
        margin_mm = rng.uniform(2.0, 4.0)
        labels = (3, 4) if territory == "ACA" else TERRITORY_LABELS[territory]
    elif kind == "territorial":
        territory = _choose(rng, TERRITORIAL_TERRITORIES)
        volume_ml = float(np.exp(rng.uniform(np.log(2.0), np.log(60.0))))
        margin_mm = rng.uniform(5.0, 10.0)
        labels = TERRITORY_LABELS[territory]
    else:
        territory = "MCA"
        volume_ml = rng.uniform(80.0, 250.0)
        margin_mm = rng.uniform(8.0, 14.0)
        labels = TERRITORY_LABELS["MCA"] + TERRITORY_LABELS["LLS"]
    labels = tuple(lab for lab in labels if lab % 2 == parity)
    core, penumbra = _grow(rng, bank, labels, volume_ml, margin_mm)
    voxel_ml = bank.resolution_mm**3 / 1000.0
    infratentorial = territory in ("SCA", "ICA", "BA")
    return Lesion(
        core=Field(core, bank.gm.affine),
        cavity=Field(_cavity(core, bank.resolution_mm), bank.gm.affine),
        penumbra=Field(penumbra, bank.gm.affine),
        kind=kind,
        territory=territory,
        hemisphere=hemisphere,
        core_ml_template=float(core.sum() * voxel_ml),
        penumbra_ml_template=float(penumbra.sum() * voxel_ml),
        core_reduction=float(rng.uniform(0.6, 0.9)),
        penumbra_reduction=float(rng.uniform(0.1, 0.3)),
        diaschisis=0.0 if infratentorial else float(rng.uniform(0.10, 0.25)),
    )


CAVITY_MIN_ML = 8.0  # chronic infarcts larger than this liquefy in their centre


def _cavity(core: np.ndarray, res: float) -> np.ndarray:
    """Encephalomalacia: the core eroded by ~4 mm, for infarcts above CAVITY_MIN_ML."""
    solid = core > 0.5
    if solid.sum() * res**3 / 1000.0 < CAVITY_MIN_ML:
        return np.zeros_like(core)
    inner = ndimage.binary_erosion(solid, iterations=max(1, int(round(4.0 / res))))
    cavity = ndimage.gaussian_filter(inner.astype(np.float32), 0.7) * core
    cavity[cavity < 1e-3] = 0.0
    return cavity.astype(np.float32)


def _grow(
    rng: np.random.Generator,
    bank: TissueBank,
    labels: tuple[int, ...],
    volume_ml: float,
    margin_mm: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Core and penumbra fractions: a noisy ball around a seed, clipped to the territory."""
    parenchyma = (bank.gm.data + bank.wm.data) > 0.5
    territory = np.isin(bank.territory.data, labels) & parenchyma
    candidates = np.argwhere(territory)
    if len(candidates) == 0:
        raise RuntimeError(f"atlas labels {labels} have no parenchyma on the template grid")
    # Seed away from the territory border (a deep voxel), so the lesion grows inside it.
    t_lo, t_hi = candidates.min(axis=0), candidates.max(axis=0) + 1
    t_box = tuple(slice(a - 1, b + 1) for a, b in zip(t_lo, t_hi, strict=True))
    depth = ndimage.distance_transform_edt(territory[t_box])
    cand_depth = depth[tuple((candidates - t_lo + 1).T)]
    deep = candidates[cand_depth >= np.percentile(cand_depth, 60)]
    seed = deep[rng.integers(len(deep))]
    res = bank.resolution_mm
    radius = (3.0 * volume_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    half = int(np.clip(2.5 * radius + margin_mm + 10.0, 20.0, 90.0) / res)
    lo = np.maximum(seed - half, 0)
    hi = np.minimum(seed + half + 1, territory.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    grid = np.indices(tuple(hi - lo), dtype=np.float32)
    dist = np.sqrt(
        sum(((g + lo_i - s) * res) ** 2 for g, lo_i, s in zip(grid, lo, seed, strict=True))
    )
    extent = half * res * 1.75 + 8.0  # covers the box diagonal
    noise = smooth_random_field(rng, 4.0, max(4.0, radius / 2.0), 0.35 * radius, 1, extent)[0]
    pts = bank.gm.affine[:3, :3] @ (grid.reshape(3, -1) + lo[:, None]) + bank.gm.affine[:3, 3:4]
    centre = bank.gm.affine[:3, :3] @ seed + bank.gm.affine[:3, 3]
    rel = (pts - centre[:, None]).reshape(grid.shape)
    dist = dist + noise.sample(rel)
    # Territory borders are not sharp planes: blur the atlas border and perturb it (~3 mm).
    wobble = smooth_random_field(rng, 4.0, 6.0, 0.25, 1, extent)[0].sample(rel)
    soft = ndimage.gaussian_filter(
        np.isin(bank.territory.data[box], labels).astype(np.float32), 3.0 / res
    )
    inside = ((soft + wobble) > 0.5) & parenchyma[box]
    n_voxels = max(1, int(round(volume_ml * 1000.0 / res**3)))
    order = np.sort(dist[inside])
    threshold = order[min(n_voxels, len(order)) - 1]
    core_box = (inside & (dist <= threshold)).astype(np.float32)
    near = np.isin(bank.territory.data[box], labels) | ndimage.binary_dilation(
        inside, iterations=max(1, int(round(6 / res)))
    )
    brain = (bank.gm.data + bank.wm.data)[box] > 0.2
    pen_box = (near & brain & (dist <= threshold + margin_mm) & (core_box == 0)).astype(np.float32)
    core = np.zeros_like(bank.gm.data)
    penumbra = np.zeros_like(bank.gm.data)
    core[box] = ndimage.gaussian_filter(core_box, 0.7)
    penumbra[box] = ndimage.gaussian_filter(pen_box, 0.7) * (1.0 - core[box])
    core[core < 1e-3] = 0.0  # no infinitesimal Gaussian tails far from the lesion
    penumbra[penumbra < 1e-3] = 0.0
    return core, np.clip(penumbra, 0.0, 1.0)
