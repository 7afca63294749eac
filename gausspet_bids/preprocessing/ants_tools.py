"""Plain functions over ANTs (antspyx): bias correction, registration, resampling.

Nipype interfaces in :mod:`gausspet_bids.preprocessing.interfaces` are thin wrappers over these.
All functions read and write files (what Nipype passes around) and write atomically. Transforms
are ANTs files: ITK-text ``*.txt`` affines and ``*Warp.nii.gz`` displacement fields, which map points of
the *fixed* image to the *moving* image (LPS physical coordinates), as antsApplyTransforms uses
them. :func:`affine_to_ras` turns an affine file into a 4x4 RAS world matrix for checks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from gausspet_bids.bids.atomic import atomic_path
from gausspet_bids.preprocessing.image_checks import load_checked

REGISTRATION_MODES = ("rigid", "affine", "syn")

# Affine stages (iterations per level, shrink factors, smoothing sigmas in voxels).
_LINEAR_PRESETS = {
    False: ((1000, 500, 250, 50), (6, 4, 2, 1), (3, 2, 1, 0)),
    True: ((300, 150, 50), (6, 4, 2), (3, 2, 1)),
}
# N4: iterations per fitting level (4 levels either way) and the voxel size (mm) the field is
# fitted on (the field is smooth: a coarse fit loses nothing). White-matter CV of phantom T1w:
# 2 mm image, 8 mm / 4x10 (sloppy) 0.0505 vs 4 mm / 4x25 0.0499 (raw 0.069) at 3 s vs 53 s CPU;
# 1 mm image, 6 mm / 4x25 (full) 0.0571 vs 4 mm / 4x50 0.0578 (raw 0.074) at 18 s vs 112 s.
_N4_PRESETS = {False: ((25, 25, 25, 25), 6.0), True: ((10, 10, 10, 10), 8.0)}
# SyN stage (iterations per level; shrink factors and sigmas chosen by antspyx from the length).
_SYN_ITERATIONS = {False: (60, 30, 10), True: (30, 10)}


@contextmanager
def itk_threads(n_threads: int | None):
    """Set ITK's thread count for the duration of an ANTs call (ANTs reads it from the env)."""
    key = "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"
    old = os.environ.get(key)
    if n_threads:
        os.environ[key] = str(int(n_threads))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _seed_ants(seed: int, n_threads: int | None) -> None:
    """Fix ANTs' metric sampling seed (reproducible runs); keep our thread count."""
    from ants.config import set_ants_deterministic

    set_ants_deterministic(True, seed)  # also forces one ITK thread: undo that
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(int(n_threads or 1))


def read_image(path: Path | str, check: bool = True):
    """Read a (checked) 3D image into ANTs (float32), whatever its orientation or obliquity."""
    import ants

    if check:
        load_checked(path, ndim=3)
    return ants.image_read(str(path), pixeltype="float")


def binary_mask(image):
    """0/1 float mask (> 0.5) with the image's geometry (a plain ``image > 0.5`` gave N4
    erratic results in antspyx 0.6)."""
    import ants

    return ants.threshold_image(image, 0.5, 1e30, 1, 0)


def write_image(image, out_file: Path | str) -> str:
    """Write an ANTs image atomically."""
    import ants

    with atomic_path(out_file, suffix=".nii.gz") as tmp:
        ants.image_write(image, str(tmp))
    return str(out_file)


def n4_bias_correct(
    in_file: Path | str,
    out_file: Path | str,
    mask_file: Path | str | None = None,
    sloppy: bool = False,
    n_threads: int | None = 1,
) -> str:
    """N4 bias-field correction (negatives clipped to zero first, background kept at zero)."""
    import ants

    with itk_threads(n_threads):
        img = read_image(in_file)
        img = ants.threshold_image(img, 0, None, 1, 0) * img if img.min() < 0 else img
        mask = binary_mask(read_image(mask_file)) if mask_file else None
        iters, fit_mm = _N4_PRESETS[bool(sloppy)]
        shrink = max(1, int(round(fit_mm / min(img.spacing))))  # fit on ~fit_mm voxels
        corrected = ants.n4_bias_field_correction(
            img, mask=mask, shrink_factor=shrink, convergence={"iters": iters, "tol": 1e-6}
        )
        corrected[img == 0] = 0
    return write_image(corrected, out_file)


def register(
    fixed_file: Path | str,
    moving_file: Path | str,
    out_dir: Path | str,
    mode: str = "rigid",
    sloppy: bool = False,
    fixed_mask_file: Path | str | None = None,
    metric: str = "mattes",
    n_threads: int | None = 1,
    seed: int = 42,
    fixed_resolution_mm: float | None = None,
) -> dict[str, str | None]:
    """Register ``moving`` to ``fixed``; return the transform files.

    ``mode`` is ``rigid``, ``affine`` or ``syn`` (affine then SyN). The returned dict has
    ``affine`` (an ITK text ``.txt`` affine), ``warp``/``inverse_warp`` (SyN only, else ``None``) and
    ``warped`` (moving resampled onto fixed). ``fixed_resolution_mm`` resamples a finer fixed
    image first (e.g. the 1 mm template to 2 mm: enough for an affine and a territory-level
    warp, and several times faster); the warp is then defined on that coarser grid. Forward (moving->fixed resampling) transform list:
    ``[warp, affine]``; inverse: ``[affine (inverted), inverse_warp]``.
    """
    import ants

    if mode not in REGISTRATION_MODES:
        raise ValueError(f"registration mode must be one of {REGISTRATION_MODES}, got {mode!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with itk_threads(n_threads), tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        _seed_ants(seed, n_threads)
        fixed, moving = read_image(fixed_file), read_image(moving_file)
        mask = binary_mask(read_image(fixed_mask_file)) if fixed_mask_file else None
        if fixed_resolution_mm and min(fixed.spacing) < fixed_resolution_mm:
            spacing = (float(fixed_resolution_mm),) * 3
            fixed = ants.resample_image(fixed, spacing, use_voxels=False, interp_type=0)
            if mask is not None:
                mask = ants.resample_image_to_target(mask, fixed, interp_type="nearestNeighbor")
        iters, shrink, sigmas = _LINEAR_PRESETS[bool(sloppy)]
        linear = ants.registration(
            fixed,
            moving,
            type_of_transform="Rigid" if mode == "rigid" else "Affine",
            aff_metric=metric,
            aff_iterations=iters,
            aff_shrink_factors=shrink,
            aff_smoothing_sigmas=sigmas,
            mask=mask,
            outprefix=f"{tmp}/lin_",
        )
        # ITK text format (.txt): readable by every ANTs tool and named as BIDS derivatives allow
        affine_out = out_dir / "affine.txt"
        ants.write_transform(ants.read_transform(linear["fwdtransforms"][0]), str(affine_out))
        result = {"affine": str(affine_out), "warp": None, "inverse_warp": None}
        warped = linear["warpedmovout"]
        if mode == "syn":
            syn = ants.registration(
                fixed,
                moving,
                type_of_transform="SyNOnly",
                initial_transform=str(affine_out),
                syn_metric=metric,
                reg_iterations=_SYN_ITERATIONS[bool(sloppy)],
                mask=mask,
                outprefix=f"{tmp}/syn_",
            )
            warp = next(f for f in syn["fwdtransforms"] if f.endswith("Warp.nii.gz"))
            inv = next(f for f in syn["invtransforms"] if f.endswith("InverseWarp.nii.gz"))
            result["warp"] = str(out_dir / "warp.nii.gz")
            result["inverse_warp"] = str(out_dir / "inverse_warp.nii.gz")
            shutil.copyfile(warp, result["warp"])
            shutil.copyfile(inv, result["inverse_warp"])
            warped = syn["warpedmovout"]
        result["warped"] = write_image(warped, out_dir / "warped.nii.gz")
    return result


def apply_transforms(
    in_file: Path | str,
    reference_file: Path | str,
    transforms: list[str],
    out_file: Path | str,
    invert: list[bool] | None = None,
    interpolation: str = "linear",
    n_threads: int | None = 1,
) -> str:
    """Resample ``in_file`` onto the grid of ``reference_file`` through ``transforms``.

    ``transforms`` follow antsApplyTransforms order (last applied first to the reference
    points); ``interpolation`` is ``linear``, ``bSpline``, ``nearestNeighbor`` or
    ``genericLabel`` (labels). Output is float32 (labels: int32 values kept exact).
    """
    import ants

    with itk_threads(n_threads), tempfile.TemporaryDirectory() as tmp:
        moving, fixed = read_image(in_file), read_image(reference_file, check=False)
        transforms, invert = list(transforms), list(invert) if invert else [False] * len(transforms)
        for i, (path, inverse) in enumerate(zip(transforms, invert, strict=True)):
            if inverse and not str(path).endswith(".mat"):  # antspyx inverts only .mat files
                inverted = ants.invert_ants_transform(ants.read_transform(str(path)))
                transforms[i], invert[i] = f"{tmp}/inverse_{i}.mat", False
                ants.write_transform(inverted, transforms[i])
        out = ants.apply_transforms(
            fixed, moving, transformlist=transforms, interpolator=interpolation,
            whichtoinvert=invert,
        )  # fmt: skip
    return write_image(out, out_file)


def affine_to_ras(mat_file: Path | str) -> np.ndarray:
    """4x4 RAS world matrix of an ANTs/ITK affine (``.mat`` or ``.txt``; maps fixed points to
    moving points)."""
    import ants

    tx = ants.read_transform(str(mat_file))
    params = np.asarray(tx.parameters, dtype=float)
    center = np.asarray(tx.fixed_parameters, dtype=float)
    matrix, translation = params[:9].reshape(3, 3), params[9:12]
    lps = np.eye(4)
    lps[:3, :3] = matrix
    lps[:3, 3] = translation + center - matrix @ center
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    return flip @ lps @ flip
