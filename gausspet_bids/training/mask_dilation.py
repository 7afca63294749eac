"""Brain masks grown past the true one, for training a model that tolerates real brain extraction.

The app's brain mask comes from deepbet on the raw MRI. On the phantom it is a few per cent
larger than the true mask: a shell of CSF, dura and bone 1-3 mm outside the brain. A model
trained only on true masks has never seen such a shell and leans on the mask's edge. With
``max_voxels`` >= 1, half of the training tiles get an input mask grown by a random distance in
[1, ``max_voxels``] voxels, into the MRI kept around the brain; the loss stays on the true mask
(the only place the PET target is defined).
"""

from __future__ import annotations

import torch

from gausspet_bids.training.cohort import Subject

GROW_PROBABILITY = 0.5  # share of training tiles with a grown mask; the rest keep the true mask


def input_mask(subject: Subject, max_voxels: float, gen: torch.Generator) -> torch.Tensor:
    """The mask the model is given for one training tile, [1, D, H, W]: ``subject.mask``, or
    (with probability :data:`GROW_PROBABILITY`) every voxel within a distance drawn uniformly in
    [1, ``max_voxels``] of it (a shorter one would add no voxel). Draws nothing from ``gen``
    when ``max_voxels`` is 0, so runs without it are unchanged."""
    if max_voxels <= 0:
        return subject.mask
    if max_voxels < 1:
        raise ValueError(f"mask dilation {max_voxels} voxels: use 0 (off) or at least 1")
    grow, fraction = torch.rand(2, generator=gen).tolist()
    if grow >= GROW_PROBABILITY:
        return subject.mask
    radius = 1.0 + (max_voxels - 1.0) * fraction
    return (subject.outside.float() <= radius).float()
