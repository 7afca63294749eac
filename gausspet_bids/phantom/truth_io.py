"""Read the phantom's ground truth: session folders, transforms, resampling onto the T1w grid.

Used by tests and benchmarks that score co-registration or synthesis against the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage


def truth_prefix(gt_dir: Path | str, participant: str, session: str | None = None) -> Path:
    """``GT/sub-X[/ses-Y]/sub-X[_ses-Y]`` (append ``_space-T1w_...`` to get a file)."""
    label = participant.removeprefix("sub-")
    folder = Path(gt_dir) / f"sub-{label}"
    name = f"sub-{label}"
    if session:
        ses = session.removeprefix("ses-")
        folder = folder / f"ses-{ses}"
        name += f"_ses-{ses}"
    return folder / name


def load_transforms(gt_dir: Path | str, participant: str, session: str | None = None) -> dict:
    """The session's ``transforms.json`` (``Transforms``: BIDS path -> 4x4 to T1w world)."""
    path = Path(f"{truth_prefix(gt_dir, participant, session)}_transforms.json")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no ground-truth transforms for this participant/session")
    return json.loads(path.read_text())


def resample_to_t1w(
    image: nib.Nifti1Image,
    to_t1w: np.ndarray,
    t1w_shape: tuple[int, ...],
    t1w_affine: np.ndarray,
    order: int = 1,
) -> np.ndarray:
    """Resample a (3D, or first volume of a 4D) image onto the T1w grid through ``to_t1w``.

    ``to_t1w`` maps the image's world mm to T1w world mm (as in ``transforms.json``).
    """
    data = np.asanyarray(image.dataobj, dtype=np.float32)
    if data.ndim == 4:
        data = data[..., 0]
    # T1w voxel -> T1w world -> image world -> image voxel
    vox = np.linalg.inv(image.affine) @ np.linalg.inv(np.asarray(to_t1w)) @ np.asarray(t1w_affine)
    return ndimage.affine_transform(
        data, vox, output_shape=tuple(t1w_shape), order=order, mode="constant", cval=0.0
    )
