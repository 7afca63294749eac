"""A tiny, valid BIDS dataset made of real anatomy (nilearn's MNI152 template at 4 mm).

Used by the discovery, CLI and participant-level tests where the phantom cohort would be
slower than needed. Contrasts are intensity remaps of the template (T2w/FLAIR inverted), DWI
is 4D (b0 + three b=1000 directions), the FDG-PET is the template smoothed, with sidecars
holding the fields the validator requires.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

PET_SIDECAR = {
    "Manufacturer": "Siemens",
    "ManufacturersModelName": "Biograph mMR",
    "Units": "Bq/mL",
    "TracerName": "FDG",
    "TracerRadionuclide": "F18",
    "InjectedRadioactivity": 200,
    "InjectedRadioactivityUnits": "MBq",
    "InjectedMass": "n/a",
    "InjectedMassUnits": "n/a",
    "SpecificRadioactivity": "n/a",
    "SpecificRadioactivityUnits": "n/a",
    "ModeOfAdministration": "bolus",
    "TimeZero": "10:00:00",
    "ScanStart": 0,
    "InjectionStart": 0,
    "FrameTimesStart": [2700],
    "FrameDuration": [900],
    "AcquisitionMode": "list mode",
    "ImageDecayCorrected": True,
    "ImageDecayCorrectionTime": 0,
    "ReconMethodName": "OSEM",
    "ReconMethodParameterLabels": ["subsets", "iterations"],
    "ReconMethodParameterUnits": ["none", "none"],
    "ReconMethodParameterValues": [21, 3],
    "ReconFilterType": "Gaussian",
    "ReconFilterSize": 4,
    "AttenuationCorrection": "MR-based",
}


def _template() -> tuple[np.ndarray, np.ndarray]:
    from nilearn.datasets import load_mni152_template

    img = load_mni152_template(resolution=2)
    data = np.asarray(img.dataobj, dtype=np.float32)[::2, ::2, ::2]
    affine = img.affine.copy()
    affine[:3, :3] *= 2
    return data, affine


def _save(data: np.ndarray, affine: np.ndarray, path: Path, sidecar: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, str(path))
    if sidecar is not None:
        Path(str(path).replace(".nii.gz", ".json")).write_text(json.dumps(sidecar))


def make_tiny_bids(
    root: Path,
    layout: dict[str, dict[str | None, tuple[str, ...]]],
    *,
    seed: int = 0,
) -> Path:
    """Write a BIDS dataset at ``root``.

    ``layout`` maps participant label -> session label (None for no sessions) -> the inputs
    present, among "T1w", "T2w", "FLAIR", "dwi", "ADC" (precomputed map), "pet" (FDG).
    """
    rng = np.random.default_rng(seed)
    base, affine = _template()
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": "gausspet tiny test dataset",
                "BIDSVersion": "1.10.0",
                "DatasetType": "raw",
                "License": "CC0",
                "Authors": ["gausspet tests"],
            }
        )
    )
    (root / "README").write_text(
        "A tiny dataset for the gausspet tests, made from the MNI152 template.\n"
    )
    (root / ".bidsignore").write_text("*_desc-ADC_dwi.*\n*_desc-trace_dwi.*\n")
    (root / "participants.tsv").write_text(
        "participant_id\tage\n" + "".join(f"sub-{s}\t{60 + i}\n" for i, s in enumerate(layout))
    )
    mri_sidecar = {"RepetitionTime": 2.0, "EchoTime": 0.003}
    for subject, sessions in layout.items():
        for session, inputs in sessions.items():
            folder = root / f"sub-{subject}" / (f"ses-{session}" if session else "")
            stem = f"sub-{subject}" + (f"_ses-{session}" if session else "")
            noise = 1 + 0.02 * rng.standard_normal(base.shape).astype(np.float32)
            brain = base > 0.05
            remaps = {
                "T1w": base * 800,
                "T2w": np.where(brain, (1.1 - base) * 900, 0),
                "FLAIR": np.where(brain, (0.4 + 0.6 * base) * 500, 0),
            }
            for contrast, image in remaps.items():
                if contrast in inputs:
                    _save(
                        image * noise,
                        affine,
                        folder / "anat" / f"{stem}_{contrast}.nii.gz",
                        mri_sidecar,
                    )
            if "dwi" in inputs:
                b0 = np.where(brain, (1.2 - base) * 1000, 0) * noise
                vols = [b0] + [b0 * np.exp(-1000 * 0.0008 * (0.8 + 0.1 * k)) for k in range(3)]
                _save(
                    np.stack(vols, axis=-1),
                    affine,
                    folder / "dwi" / f"{stem}_dwi.nii.gz",
                    mri_sidecar,
                )
                (folder / "dwi" / f"{stem}_dwi.bval").write_text("0 1000 1000 1000\n")
                (folder / "dwi" / f"{stem}_dwi.bvec").write_text("0 1 0 0\n0 0 1 0\n0 0 0 1\n")
            if "ADC" in inputs:
                adc = np.where(brain, 0.7 + 0.3 * (1 - base), 0) * noise
                _save(adc, affine, folder / "dwi" / f"{stem}_desc-ADC_dwi.nii.gz")
            if "pet" in inputs:
                pet = np.where(brain, 2000 + 6000 * base, 0) * noise
                _save(pet, affine, folder / "pet" / f"{stem}_trc-FDG_pet.nii.gz", PET_SIDECAR)
    return root
