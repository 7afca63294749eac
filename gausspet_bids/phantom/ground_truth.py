"""Ground truth of a phantom session, in its T1w image's world and grid (virtual without T1w).

Files per session (``sub-X[_ses-Y]_`` prefix, under ``GT/sub-X[/ses-Y]/``): brain mask, GM/WM/CSF
fractions, arterial atlas (32 labels) and nine-territory map, lesion core / MRI-visible /
penumbra masks, true and noise-free (blurred) FDG uptake in SUV and SUVR, ``transforms.json`` and
``lesion.json``. See docs/phantom.md.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from gausspet_bids.bids.atomic import save_nifti, write_json, write_text
from gausspet_bids.phantom import pet
from gausspet_bids.phantom.lesion import TERRITORY_LABELS
from gausspet_bids.phantom.render import Tissues
from gausspet_bids.phantom.subject import SessionTruth, Subject

# Nine-territory map: territory k (1-based, in TERRITORY_LABELS order) -> 2k-1 left, 2k right.
NINE_TERRITORY_LUT = np.zeros(33, dtype=np.uint8)
for _k, (_name, _labels) in enumerate(TERRITORY_LABELS.items(), start=1):
    for _lab in _labels:
        NINE_TERRITORY_LUT[_lab] = 2 * _k - (1 if _lab % 2 == 1 else 0)


def nine_territory_table() -> str:
    """TSV lookup of the nine-territory map (index, name, hemisphere)."""
    lines = ["index\tname\tterritory\themisphere"]
    for k, name in enumerate(TERRITORY_LABELS, start=1):
        lines.append(f"{2 * k - 1}\t{name}L\t{name}\tL")
        lines.append(f"{2 * k}\t{name}R\t{name}\tR")
    return "\n".join(lines) + "\n"


def _img(data: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img


def write_session_truth(
    subject: Subject,
    session: SessionTruth,
    tissues: Tissues,
    truth_dir: Path,
    image_paths: dict[str, str],
) -> dict:
    """Write one session's ground truth on the T1w grid; return its cohort-table row."""
    plan = subject.plan
    acq = session.acquisitions["T1w"]
    affine = acq.grid.affine
    prefix = f"sub-{plan.label}" + (f"_ses-{session.plan.label}" if session.plan.label else "")
    folder = truth_dir / f"sub-{plan.label}"
    if session.plan.label:
        folder = folder / f"ses-{session.plan.label}"
    voxel_ml = float(np.prod(acq.grid.zooms)) / 1000.0

    def save(data: np.ndarray, name: str) -> None:
        save_nifti(_img(data, affine), folder / f"{prefix}_space-T1w_{name}.nii.gz")

    brain = (tissues.brain >= 0.5).astype(np.uint8)
    core = (tissues.core >= 0.5).astype(np.uint8)
    penumbra = ((tissues.penumbra >= 0.5) & (core == 0)).astype(np.uint8)
    save(brain, "desc-brain_mask")
    for label in ("gm", "wm"):
        save(tissues.fractions[label].astype(np.float32), f"label-{label.upper()}_probseg")
    save((tissues.brain - tissues.fractions["gm"] - tissues.fractions["wm"]).astype(np.float32),
         "label-CSF_probseg")  # fmt: skip
    save(tissues.territory.astype(np.uint8), "atlas-Arterial_dseg")
    save(NINE_TERRITORY_LUT[tissues.territory], "atlas-ArterialTerritories_dseg")
    save(core, "desc-core_mask")
    save(core, "desc-mrivisible_mask")
    save(penumbra, "desc-penumbra_mask")
    uptake = pet.true_uptake(subject, tissues)
    noise_free = pet.blur(uptake, acq.grid.zooms, subject.uptake.fwhm_mm)
    reference = pet.cerebellar_reference(noise_free, tissues)
    save(uptake, "trc-FDG_desc-uptake_pet")
    save(noise_free, "trc-FDG_desc-noisefree_pet")
    save((noise_free / reference).astype(np.float32), "trc-FDG_desc-noisefreeSUVR_pet")
    pose_t1w = acq.pose
    transforms = {
        rel: (pose_t1w @ np.linalg.inv(session.acquisitions[series].pose)).round(8).tolist()
        for series, rel in image_paths.items()
    }
    write_json(folder / f"{prefix}_transforms.json", {
        "Description": "4x4 matrices mapping each image's world (scanner) mm to this session's "
                       "T1w world mm (x_T1w = M @ [x, y, z, 1]); paths relative to the BIDS root.",
        "T1wAcquired": "T1w" in session.plan.series,
        "T1wGrid": {"shape": list(acq.grid.shape), "affine": affine.round(8).tolist()},
        "Transforms": transforms,
    })  # fmt: skip
    lesion = subject.lesion
    row = {
        "participant_id": f"sub-{plan.label}",
        "session_id": f"ses-{session.plan.label}" if session.plan.label else "n/a",
        "group": plan.group,
        "age": plan.age,
        "sex": plan.sex,
        "stage": session.plan.stage or "n/a",
        "kind": lesion.kind if lesion else "n/a",
        "territory": lesion.territory if lesion else "n/a",
        "hemisphere": lesion.hemisphere if lesion else "n/a",
        "core_ml": round(float(core.sum()) * voxel_ml, 3),
        "mri_lesion_ml": round(float(core.sum()) * voxel_ml, 3),
        "penumbra_ml": round(float(penumbra.sum()) * voxel_ml, 3),
        "core_reduction": round(lesion.core_reduction, 4) if lesion else 0.0,
        "penumbra_reduction": round(lesion.penumbra_reduction, 4) if lesion else 0.0,
        "diaschisis": round(lesion.diaschisis, 4) if lesion else 0.0,
        "cortex_suv": round(subject.uptake.cortex_suv, 4),
        "gm_wm_ratio": round(1.0 / subject.uptake.wm, 4),
        "deep_ratio": round(subject.uptake.deep, 4),
        "cerebellum_ratio": round(subject.uptake.cerebellum, 4),
        "csf_ratio": round(subject.uptake.csf, 4),
        "pet_fwhm_mm": round(subject.uptake.fwhm_mm, 3),
        "suvr_reference_suv": round(reference, 4),
        "atrophy": round(subject.deformation.atrophy, 4),
        "brain_ml": round(float(brain.sum()) * voxel_ml, 2),
    }
    write_json(folder / f"{prefix}_lesion.json", {
        "Description": "True lesion and uptake parameters of this session (see docs/phantom.md).",
        **row,
        "FDGReductionCore": row["core_reduction"],
        "FDGReductionPenumbra": row["penumbra_reduction"],
        "CrossedCerebellarDiaschisis": row["diaschisis"],
    })  # fmt: skip
    write_text(truth_dir / "atlas-ArterialTerritories_dseg.tsv", nine_territory_table())
    return row
