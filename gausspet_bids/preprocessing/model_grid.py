"""The template space and the fixed model grid every synthesis runs on.

Template: the ICBM 2009a nonlinear symmetric T1 template bundled with nilearn (1 mm, already
skull-stripped), named ``MNI152NLin2009aSym`` in derivatives. Model grid: a box in that space at
2 mm covering the template brain (x -72..72, y -107..73, z -72..82 mm) with margin for larger
heads, 96 x 112 x 96 voxels (divisible by 16 so a U-Net can halve it four times), symmetric about
x = 0 so that left/right territories sample alike. Models record their grid in their metadata;
``model_grid()`` is the default one.
"""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np

TEMPLATE_SPACE = "MNI152NLin2009aSym"
DEFAULT_RESOLUTION_MM = 2.0
DEFAULT_SHAPE = (96, 112, 96)
DEFAULT_CENTER_MM = (0.0, -17.0, 5.0)


def model_grid(
    resolution_mm: float = DEFAULT_RESOLUTION_MM,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    center_mm: tuple[float, float, float] = DEFAULT_CENTER_MM,
) -> tuple[tuple[int, int, int], np.ndarray]:
    """Return ``(shape, affine)`` of a RAS grid in template space centred on ``center_mm``."""
    shape = tuple(int(s) for s in shape)
    affine = np.diag([resolution_mm, resolution_mm, resolution_mm, 1.0])
    half_extent = (np.asarray(shape, dtype=float) - 1.0) / 2.0 * resolution_mm
    affine[:3, 3] = np.asarray(center_mm, dtype=float) - half_extent
    return shape, affine


def grid_to_dict(shape: tuple[int, int, int], affine: np.ndarray) -> dict:
    """JSON-serialisable description of a grid (stored in model metadata and sidecars)."""
    return {
        "space": TEMPLATE_SPACE,
        "shape": [int(s) for s in shape],
        "affine": np.asarray(affine, dtype=float).round(6).tolist(),
    }


def grid_from_dict(grid: dict) -> tuple[tuple[int, int, int], np.ndarray]:
    """Inverse of :func:`grid_to_dict`."""
    return tuple(int(s) for s in grid["shape"]), np.asarray(grid["affine"], dtype=float)


def _nilearn_data_file(name: str) -> str:
    import nilearn

    path = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data", name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: nilearn's bundled ICBM 2009a template file is missing")
    return path


def template_t1w() -> nib.Nifti1Image:
    """The 1 mm ICBM 2009a symmetric T1 template (skull-stripped) shipped by nilearn."""
    return nib.load(_nilearn_data_file("mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"))


def template_gm() -> nib.Nifti1Image:
    """Grey-matter probability map of the ICBM 2009a template (uint8: probability x 255)."""
    return nib.load(_nilearn_data_file("mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"))


def template_wm() -> nib.Nifti1Image:
    """White-matter probability map of the ICBM 2009a template (uint8: probability x 255)."""
    return nib.load(_nilearn_data_file("mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"))


def template_brain_mask() -> nib.Nifti1Image:
    """Brain mask of the ICBM 2009a template (nilearn's, computed from the bundled T1)."""
    from nilearn.datasets import load_mni152_brain_mask

    return load_mni152_brain_mask(resolution=1)


def write_grid_image(out_file, shape=None, affine=None) -> str:
    """Write an empty float32 image on the model grid (the resampling target ANTs needs)."""
    from gausspet_bids.bids.atomic import save_nifti

    if shape is None or affine is None:
        shape, affine = model_grid()
    img = nib.Nifti1Image(np.zeros(tuple(shape), dtype=np.float32), np.asarray(affine, float))
    return str(save_nifti(img, out_file))


def to_model_grid(
    in_file,
    grid_file,
    transforms: list[str],
    out_file,
    mask_file=None,
    interpolation: str = "linear",
    n_threads: int = 1,
) -> str:
    """Resample ``in_file`` onto the model grid through ``transforms`` (ANTs order: the
    reference->template affine first, then e.g. the contrast->reference rigid), zero it outside
    ``mask_file`` (a model-grid mask) and save float32. Intensities are not normalised.
    """
    from gausspet_bids.bids.atomic import save_nifti
    from gausspet_bids.preprocessing.ants_tools import apply_transforms

    apply_transforms(in_file, grid_file, transforms, out_file, interpolation=interpolation,
                     n_threads=n_threads)  # fmt: skip
    img = nib.load(str(out_file))
    data = np.asanyarray(img.dataobj, dtype=np.float32)
    if mask_file is not None:
        data = data * (np.asanyarray(nib.load(str(mask_file)).dataobj) > 0.5)
    return str(save_nifti(nib.Nifti1Image(data.astype(np.float32), img.affine), out_file))


def mask_to_model_grid(in_file, grid_file, affine_xfm: str, out_file, n_threads: int = 1) -> str:
    """Brain mask on the model grid: linear resampling through the affine, threshold 0.5."""
    from gausspet_bids.bids.atomic import save_nifti
    from gausspet_bids.preprocessing.ants_tools import apply_transforms

    apply_transforms(in_file, grid_file, [affine_xfm], out_file, n_threads=n_threads)
    img = nib.load(str(out_file))
    data = (np.asanyarray(img.dataobj) > 0.5).astype(np.uint8)
    out = nib.Nifti1Image(data, img.affine)
    out.header.set_data_dtype(np.uint8)
    return str(save_nifti(out, out_file))


def from_model_grid(
    in_file,
    reference_file,
    affine_xfm: str,
    out_file,
    interpolation: str = "linear",
    n_threads: int = 1,
) -> str:
    """Resample a model-grid image back to the reference space (inverse of the affine).

    ``affine_xfm`` is the reference->template affine (``.txt``) written by the preprocessing; the
    synthetic PET goes through this to reach the participant's space.
    """
    from gausspet_bids.preprocessing.ants_tools import apply_transforms

    return apply_transforms(in_file, reference_file, [affine_xfm], out_file, invert=[True],
                            interpolation=interpolation, n_threads=n_threads)  # fmt: skip
