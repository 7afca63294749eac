"""Scanner geometry helpers: grids, sub-voxel grids, rigid poses."""

from __future__ import annotations

import numpy as np

from gausspet_bids.phantom.geometry import block_mean, image_grid, rigid


def test_subdivided_grid_averages_back_to_voxel_centres():
    rng = np.random.default_rng(0)
    grid = image_grid(rng, (2.0, 3.0, 4.0), (20.0, 30.0, 40.0), 10.0, "LAS", (5.0, -3.0, 2.0))
    assert grid.shape == (10, 10, 10) and np.allclose(grid.zooms, [2, 3, 4])
    assert grid.affine[0, 0] < 0  # LAS: x runs right to left
    factors = (2, 3, 4)
    fine = grid.subdivided(factors)
    assert fine.shape == (20, 30, 40) and np.allclose(fine.zooms, [1, 1, 1])
    centres = np.stack([block_mean(c, factors) for c in fine.world_points()])
    assert np.allclose(centres, grid.world_points(), atol=1e-4)


def test_rigid_pose_is_a_bounded_rotation_and_translation():
    pose = rigid(np.random.default_rng(1), 12.0, 20.0)
    rot = pose[:3, :3]
    assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-10) and np.isclose(np.linalg.det(rot), 1.0)
    assert np.all(np.abs(pose[:3, 3]) <= 20.0)
    angle = np.degrees(np.arccos((np.trace(rot) - 1) / 2))
    assert 0 < angle <= np.sqrt(3) * 12.0
