"""A tiny synthetic paired cohort in the training layout (smooth tissue, PET linear in the MRI)."""

import nibabel as nib
import numpy as np
import pytest
from scipy.ndimage import binary_dilation, gaussian_filter

CONTRASTS = ("T1w", "T2w", "FLAIR", "DWI", "ADC")


def write_cohort(root, n_train=6, n_test=2, shape=(32, 32, 32), seed=0, ring=0):
    """``ring``: MRI kept this many voxels outside the brain mask (as the phantom's aligned
    layout keeps a ring), zero beyond; 0: MRI zero outside the mask."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(1, n + 1):
            mask = (zz**2 / 0.7 + yy**2 / 0.8 + xx**2 / 0.7) < 1
            kept = binary_dilation(mask, iterations=ring) if ring else mask
            field = gaussian_filter(rng.normal(size=shape), 2)
            gm = field > 0.5 * field.std()  # two "tissues", ~30 % "grey matter"
            tissue = np.where(gm, 1.0, 0.0)
            pet = gaussian_filter(
                np.where(mask, 1.0 + 0.8 * tissue + 0.2 * yy, 0.0), 1.17
            )  # 5.5 mm PSF
            images = {
                "T1w": 300 * (1.2 - 0.4 * tissue),
                "T2w": 500 * (0.8 + 0.4 * tissue),
                "FLAIR": 200 * (0.9 + 0.2 * tissue),
                "DWI": 100 * (1.0 + 0.1 * tissue),
                "ADC": 800 * (1.0 - 0.1 * tissue),
            }
            for c, v in images.items():
                v = v * (1 + 0.02 * rng.normal(size=shape)) * kept
                (root / split / "MRI" / c).mkdir(parents=True, exist_ok=True)
                nib.save(
                    nib.Nifti1Image(v.astype(np.float32), affine),
                    root / split / "MRI" / c / f"{i}.nii.gz",
                )
            for folder, v in (("PET", pet), ("MASK", mask)):
                (root / split / folder).mkdir(parents=True, exist_ok=True)
                nib.save(
                    nib.Nifti1Image(v.astype(np.float32), affine),
                    root / split / folder / f"{i}.nii.gz",
                )
    return root


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    return write_cohort(tmp_path_factory.mktemp("cohort"))


@pytest.fixture(scope="session")
def ring_cohort(tmp_path_factory):
    """The tiny cohort with MRI in a 3-voxel ring around the brain."""
    return write_cohort(tmp_path_factory.mktemp("ring_cohort"), n_train=2, n_test=0, ring=3)
