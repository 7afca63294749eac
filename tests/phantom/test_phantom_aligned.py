"""The aligned training layout on the model grid."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy.ndimage import distance_transform_edt

from gausspet_bids.phantom.aligned import RING_MM, write_aligned_cohort
from gausspet_bids.preprocessing.model_grid import model_grid

CHANNELS = ("MRI/T1w", "MRI/T2w", "MRI/FLAIR", "MRI/DWI", "MRI/ADC", "PET", "MASK")


def test_layout_split_and_grid(small_aligned):
    table = small_aligned.table
    assert list(table.columns[:3]) == ["N", "participant", "split"]
    assert {"age", "lesion_ml", "NIHSS", "mRS", "territory", "stage"} <= set(table.columns)
    assert (table.split == "train").sum() == 6 and (table.split == "test").sum() == 2
    shape, affine = model_grid()
    for row in table.itertuples():
        for channel in CHANNELS:
            img = nib.load(small_aligned.root / row.split / channel / f"{row.N}.nii.gz")
            assert img.shape == shape and np.allclose(img.affine, affine)


def _load(root, row, channel):
    return np.asanyarray(nib.load(root / row.split / channel / f"{row.N}.nii.gz").dataobj)


def test_masked_not_normalised_with_physical_units(small_aligned):
    """PET is zero outside the mask; MRI keeps a ring of RING_MM around it and is zero beyond."""
    root, table = small_aligned.root, small_aligned.table
    t1_medians = []
    for row in table.itertuples():
        mask = _load(root, row, "MASK") > 0
        assert 1.0e6 < mask.sum() * 8 < 2.0e6  # brain volume in mm^3 (1-2 litres)
        distance = distance_transform_edt(~mask, sampling=2.0)  # mm from the brain
        ring = ~mask & (distance <= RING_MM)
        assert np.all(_load(root, row, "PET")[~mask] == 0)
        for channel in CHANNELS[:5]:
            data = _load(root, row, channel)
            assert np.all(data[distance > RING_MM] == 0)
            assert np.mean(data[ring] > 0) > 0.8, channel  # CSF, dura, bone (ADC 0 in bone)
        adc = _load(root, row, "MRI/ADC")[mask]
        assert 0.6 < np.median(adc) < 1.3 and np.percentile(adc, 99) > 1.8  # 1e-3 mm^2/s, CSF high
        suvr = _load(root, row, "PET")[mask]
        assert 0.7 < np.median(suvr) < 1.5
        t1_medians.append(np.median(_load(root, row, "MRI/T1w")[mask]))
    assert max(t1_medians) / min(t1_medians) > 1.2  # scanner gain left in (not normalised)


def test_acute_lesions_visible_on_aligned_dwi(small_aligned):
    """Among acute stroke participants, the brightest DWI voxels exceed controls' brightest."""
    root, table = small_aligned.root, small_aligned.table
    controls = [r for r in table.itertuples() if r.group == "control"]
    ratio = {}
    for row in table.itertuples():
        mask = _load(root, row, "MASK") > 0
        dwi = _load(root, row, "MRI/DWI")[mask]
        ratio[row.N] = np.percentile(dwi, 99.9) / np.median(dwi)
    acute = [r for r in table.itertuples() if r.stage == "acute" and r.lesion_ml > 2]
    assert controls and acute
    assert min(ratio[r.N] for r in acute) > max(ratio[r.N] for r in controls)


def test_aligned_ground_truth_masks_and_noise_free_pet(small_aligned, tmp_path):
    write_aligned_cohort(tmp_path / "al", 1, small_aligned.seed, test_fraction=0.0,
                         truth_dir=tmp_path / "gt")  # fmt: skip
    assert small_aligned.table.set_index("N").loc[1, "group"] == "stroke"

    def load(root, channel):
        return np.asanyarray(nib.load(root / "train" / channel / "1.nii.gz").dataobj)

    core = load(tmp_path / "gt", "CORE") > 0
    penumbra = load(tmp_path / "gt", "PENUMBRA") > 0
    truth, noisy = load(tmp_path / "gt", "PET"), load(tmp_path / "al", "PET")
    mask = load(tmp_path / "al", "MASK") > 0
    assert core.sum() > 100 and penumbra.sum() > 100 and not (core & penumbra).any()
    assert (core | penumbra).sum() == ((core | penumbra) & mask).sum()
    assert np.median(truth[core]) < 0.5 * np.median(truth[mask])
    assert np.median(truth[penumbra]) < np.median(truth[mask & ~core & ~penumbra])
    assert np.corrcoef(truth[mask], noisy[mask])[0, 1] > 0.9
