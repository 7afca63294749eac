"""BIDS metadata of the phantom: dataset description, README, participants table, sidecars."""

from __future__ import annotations

import numpy as np

from gausspet_bids.phantom.mri import B_DIRECTIONS, B_VALUE
from gausspet_bids.phantom.pet import FRAME_LENGTH_S, FRAME_START_S

BIDS_VERSION = "1.10.0"

MRI_SIDECARS = {
    "T1w": {"RepetitionTime": 2.3, "EchoTime": 0.00298, "InversionTime": 0.9, "FlipAngle": 9,
            "PulseSequenceType": "MPRAGE"},
    "T2w": {"RepetitionTime": 3.2, "EchoTime": 0.409, "PulseSequenceType": "3D TSE"},
    "FLAIR": {"RepetitionTime": 9.0, "EchoTime": 0.081, "InversionTime": 2.5,
              "PulseSequenceType": "2D TIRM"},
    "dwi": {"RepetitionTime": 5.2, "EchoTime": 0.089, "PhaseEncodingDirection": "j-",
            "TotalReadoutTime": 0.045, "PulseSequenceType": "SE-EPI"},
}  # fmt: skip


def dataset_description(seed: int, version: str) -> dict:
    return {
        "Name": f"gausspet digital reference cohort (seed {seed})",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
        "License": "CC0",
        "Authors": ["gausspet developers"],
        "GeneratedBy": [{"Name": "gausspet-phantom", "Version": version}],
        "HowToAcknowledge": "Synthetic data from the gausspet phantom; see docs/phantom.md.",
    }


def readme(n: int, seed: int, small: bool) -> str:
    return (
        "# gausspet digital reference cohort\n\n"
        f"Synthetic stroke and control participants ({n}, seed {seed}"
        f"{', small grids' if small else ''}) made by `gausspet-phantom`: anatomy from the "
        "ICBM 2009a template with per-participant deformation and atrophy, modelled head tissue, "
        "T1w/T2w/FLAIR/DWI and FDG-PET (SUV) with ischaemic lesions by arterial territory "
        "(Liu et al. 2023 atlas, CC BY-SA 4.0). The images are not from real people. Ground truth "
        "(masks, noise-free PET, transforms) is written outside this dataset with "
        "--ground-truth. Documentation: docs/phantom.md in the gausspet repository.\n"
    )


PARTICIPANTS_JSON = {
    "age": {"Description": "age at first session", "Units": "year"},
    "sex": {"Description": "sex", "Levels": {"M": "male", "F": "female"}},
    "group": {"Description": "cohort group",
              "Levels": {"stroke": "ischaemic stroke", "control": "healthy control"}},
    "NIHSS": {"Description": "National Institutes of Health Stroke Scale at admission (0-42); 0 for controls"},
    "mRS": {"Description": "modified Rankin Scale (0-6) at the last session"},
}  # fmt: skip


def mri_sidecar(series: str, grid_zooms: np.ndarray) -> dict:
    out = {"Manufacturer": "gausspet phantom", "ManufacturersModelName": "virtual 3T",
           "MagneticFieldStrength": 3, **MRI_SIDECARS[series]}  # fmt: skip
    if series == "FLAIR":
        out["SliceThickness"] = float(grid_zooms[2])
    return out


def dwi_gradients(affine_flip_x: bool) -> tuple[str, str]:
    """``.bval`` and ``.bvec`` text (b0 then one b1000 per direction, image axes)."""
    dirs = B_DIRECTIONS / np.linalg.norm(B_DIRECTIONS, axis=1, keepdims=True)
    if affine_flip_x:
        dirs = dirs * np.array([-1.0, 1.0, 1.0])
    bvals = [0] + [int(B_VALUE)] * len(dirs)
    bvecs = np.vstack([np.zeros((1, 3)), dirs]).T
    bval = " ".join(str(b) for b in bvals) + "\n"
    bvec = "\n".join(" ".join(f"{v:.6f}" for v in row) for row in bvecs) + "\n"
    return bval, bvec


def pet_sidecar(n_frames: int, injected_mbq: float, fwhm_mm: float, body_weight_kg: float) -> dict:
    """PET-BIDS sidecar with the required fields; image in SUV (g/ml), decay corrected."""
    if n_frames > 1:
        starts = [FRAME_START_S + k * FRAME_LENGTH_S for k in range(n_frames)]
        durations = [FRAME_LENGTH_S] * n_frames
    else:
        starts, durations = [FRAME_START_S], [FRAME_LENGTH_S * 6]
    return {
        "Manufacturer": "gausspet phantom",
        "ManufacturersModelName": "virtual PET/CT",
        "Units": "g/ml",
        "BodyPart": "Brain",
        "TracerName": "FDG",
        "TracerRadionuclide": "F18",
        "InjectedRadioactivity": round(injected_mbq, 1),
        "InjectedRadioactivityUnits": "MBq",
        "InjectedMass": "n/a",
        "InjectedMassUnits": "n/a",
        "SpecificRadioactivity": "n/a",
        "SpecificRadioactivityUnits": "n/a",
        "ModeOfAdministration": "bolus",
        "BodyWeight": round(body_weight_kg, 1),
        "TimeZero": "10:00:00",
        "ScanStart": FRAME_START_S,
        "InjectionStart": 0,
        "FrameTimesStart": starts,
        "FrameDuration": durations,
        "AcquisitionMode": "list mode",
        "ImageDecayCorrected": True,
        "ImageDecayCorrectionTime": 0,
        "ReconMethodName": "OSEM",
        "ReconMethodParameterLabels": ["subsets", "iterations"],
        "ReconMethodParameterUnits": ["none", "none"],
        "ReconMethodParameterValues": [21, 3],
        "ReconFilterType": "Gaussian",
        "ReconFilterSize": round(fwhm_mm, 2),
        "AttenuationCorrection": "CT-based",
    }
