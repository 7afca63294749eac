"""DWI (b0, trace, ADC) and PET (static image, SUVR) plain functions, on known signals."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from gausspet_bids.preprocessing import dwi, pet
from gausspet_bids.preprocessing.image_checks import InputImageError


def test_adc_recovered_from_monoexponential_signal():
    rng = np.random.default_rng(0)
    true_adc = rng.uniform(0.3, 3.0, size=(6, 5, 4))  # 1e-3 mm^2/s
    s0 = rng.uniform(100, 200, size=true_adc.shape)
    bvals = np.array([0, 1000, 1000, 1000, 0, 2000, 990, 0])
    # anisotropy: directions differ by +-20 % but their geometric mean is the true ADC
    factors = {1: 0.8, 2: 1.0, 3: 1.25, 5: 1.0, 6: 1.0}
    vols = [s0 if b == 0 else s0 * np.exp(-b * true_adc * 1e-3 * factors[i])
            for i, b in enumerate(bvals)]  # fmt: skip
    vols[4] = s0 * 1.5  # an outlier b0: the median of three b0 ignores it
    b0, trace, adc, b = dwi.b0_trace_adc(np.stack(vols, -1), bvals, 1000.0)
    assert b == pytest.approx(997.5)
    np.testing.assert_allclose(b0, s0, rtol=1e-5)
    # geometric mean over the shell: ADC = true ADC x mean(b f) / mean(b)
    shell = [1, 2, 3, 6]
    scale = np.mean([bvals[i] * factors[i] for i in shell]) / np.mean(bvals[shell])
    np.testing.assert_allclose(adc, true_adc * scale, rtol=1e-4)
    assert adc.dtype == np.float32 and trace.shape == s0.shape


def test_adc_of_lesion_lower_than_tissue(tmp_path):
    adc_map = np.full((10, 10, 10), 0.8)
    adc_map[3:6, 3:6, 3:6] = 0.4  # restricted diffusion (acute stroke)
    s0 = np.full(adc_map.shape, 150.0)
    series = np.stack([s0] + [s0 * np.exp(-1000 * adc_map * 1e-3)] * 3, -1)
    nib.save(nib.Nifti1Image(series.astype(np.float32), np.eye(4)), tmp_path / "dwi.nii.gz")
    (tmp_path / "dwi.bval").write_text("0 1000 1000 1000\n")
    out = dwi.dwi_derivatives(tmp_path / "dwi.nii.gz", tmp_path / "dwi.bval",
                              tmp_path / "b0.nii.gz", tmp_path / "tr.nii.gz", tmp_path / "adc.nii.gz")  # fmt: skip
    adc = nib.load(out["adc"]).get_fdata()
    assert adc[4, 4, 4] == pytest.approx(0.4, rel=1e-4)
    assert adc[0, 0, 0] == pytest.approx(0.8, rel=1e-4)


def test_dwi_errors_name_files(tmp_path):
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4, 3), np.float32), np.eye(4)), tmp_path / "d.nii.gz")
    (tmp_path / "d.bval").write_text("0 1000\n")
    with pytest.raises(InputImageError, match="2 b-values but"):
        dwi.dwi_derivatives(
            tmp_path / "d.nii.gz", tmp_path / "d.bval", *(tmp_path / f"{k}.nii.gz" for k in "abc")
        )
    (tmp_path / "d.bval").write_text("1000 1000 1000\n")
    with pytest.raises(InputImageError, match="at least one b0"):
        dwi.dwi_derivatives(
            tmp_path / "d.nii.gz", tmp_path / "d.bval", *(tmp_path / f"{k}.nii.gz" for k in "abc")
        )


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_provided_adc_units_standardised(scale):
    adc = np.array([0.0, 0.7, 0.9, 3.0]) * scale
    np.testing.assert_allclose(dwi.adc_to_standard_units(adc), [0.0, 0.7, 0.9, 3.0], rtol=1e-6)


def test_frame_weights_default_last_30_minutes():
    starts = np.array([0, 600, 1200, 1800, 2400, 3000, 3300])
    durations = np.array([600, 600, 600, 600, 600, 300, 300])
    w = pet.frame_weights(starts, durations)  # end 3600 s -> window 1800-3600 s
    np.testing.assert_allclose(w, [0, 0, 0, 600 / 1800, 600 / 1800, 300 / 1800, 300 / 1800])
    w = pet.frame_weights(starts, durations, (0, 20))
    np.testing.assert_allclose(w, [0.5, 0.5, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="no PET frame"):
        pet.frame_weights(starts, durations, (100, 120))


def test_static_pet_and_suvr(tmp_path):
    frames = np.stack([np.full((6, 6, 6), v, np.float32) for v in (1.0, 2.0, 4.0)], -1)
    nib.save(nib.Nifti1Image(frames, np.eye(4)), tmp_path / "pet.nii.gz")
    (tmp_path / "pet.json").write_text(json.dumps({"FrameTimesStart": [1800, 2400, 3000],
                                                   "FrameDuration": [600, 600, 1200]}))  # fmt: skip
    static = pet.static_pet(tmp_path / "pet.nii.gz", tmp_path / "pet.json", tmp_path / "s.nii.gz")
    # last 30 min of a scan ending at 4200 s: frames 2 and 3, weighted 600:1200
    assert nib.load(static).get_fdata()[0, 0, 0] == pytest.approx((2 * 600 + 4 * 1200) / 1800)
    data = np.full((6, 6, 6), 5.0, np.float32)
    data[:2] = 2.5
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "p3.nii.gz")
    ref = np.zeros((6, 6, 6), np.uint8)
    ref[:2] = 1
    nib.save(nib.Nifti1Image(ref, np.eye(4)), tmp_path / "ref.nii.gz")
    res = pet.suvr(tmp_path / "p3.nii.gz", tmp_path / "ref.nii.gz", tmp_path / "suvr.nii.gz")
    suvr = nib.load(res["suvr"]).get_fdata()
    assert res["reference_mean"] == pytest.approx(2.5)
    assert suvr[ref > 0].mean() == pytest.approx(1.0) and suvr[5, 5, 5] == pytest.approx(2.0)


def test_4d_pet_without_sidecar_is_refused(tmp_path):
    frames = np.ones((4, 4, 4, 2), np.float32)
    nib.save(nib.Nifti1Image(frames, np.eye(4)), tmp_path / "pet.nii.gz")
    with pytest.raises(InputImageError, match="JSON sidecar"):
        pet.static_pet(tmp_path / "pet.nii.gz", None, tmp_path / "s.nii.gz")
