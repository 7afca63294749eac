"""Write the phantom as a raw BIDS dataset, and its ground truth beside it.

Per session every series is rendered on its own scanner grid; the T1w grid (acquired or
virtual) also carries the ground truth. Images are written atomically; gzip headers carry no
time stamp, so a seed gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from gausspet_bids.bids.atomic import save_nifti, write_json, write_text
from gausspet_bids.phantom import mri, pet, sidecars
from gausspet_bids.phantom.cohort import (
    CohortOptions,
    ParticipantPlan,
    participant_rng,
    plan_cohort,
)
from gausspet_bids.phantom.geometry import ImageGrid, block_mean
from gausspet_bids.phantom.ground_truth import write_session_truth
from gausspet_bids.phantom.render import tissues_in_scanner
from gausspet_bids.phantom.subject import (
    SERIES_ORDER,
    Acquisition,
    SessionTruth,
    Subject,
    make_subject,
    subject_scores,
)
from gausspet_bids.phantom.tissue_bank import TissueBank, tissue_bank

LOG = logging.getLogger("gausspet.phantom")
DATATYPE = {"T1w": "anat", "T2w": "anat", "FLAIR": "anat", "dwi": "dwi", "pet": "pet"}


@dataclass
class CohortSummary:
    """What was written: participant rows and every image path (relative to the dataset)."""

    participants: pd.DataFrame
    images: list[str] = field(default_factory=list)
    truth_rows: list[dict] = field(default_factory=list)


def bids_relpath(plan: ParticipantPlan, session: SessionTruth, series: str, ext: str) -> str:
    """Relative path of a series, e.g. ``sub-001/ses-1/pet/sub-001_ses-1_trc-FDG_pet.nii.gz``."""
    parts = [f"sub-{plan.label}"] + ([f"ses-{session.plan.label}"] if session.plan.label else [])
    stem = "_".join(parts)
    if series == "pet":
        stem += "_trc-FDG"
    return "/".join(parts + [DATATYPE[series], f"{stem}_{series}{ext}"])


def _mri_image(data: np.ndarray, grid: ImageGrid) -> nib.Nifti1Image:
    img = nib.Nifti1Image(np.clip(np.round(data), 0, 32767).astype(np.int16), grid.affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(grid.affine, code=1)
    img.set_sform(grid.affine, code=1)
    return img


def _float_image(data: np.ndarray, grid: ImageGrid) -> nib.Nifti1Image:
    img = nib.Nifti1Image(data.astype(np.float32), grid.affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(grid.affine, code=1)
    img.set_sform(grid.affine, code=1)
    return img


def _thick_slice_signal(
    subject: Subject, acq: Acquisition, bank: TissueBank, series: str, stage: str | None
) -> np.ndarray | None:
    """Noise-free signal averaged over thin sub-slices when slices are >= 1.8x the in-plane size.

    Returns None for (near-)isotropic grids, where point sampling is used.
    """
    zooms = acq.grid.zooms
    k = int(round(zooms[2] / zooms[0]))
    if series == "T1w" or zooms[2] < 1.8 * zooms[0] or k < 2:
        return None
    factors = (1, 1, k)
    fine = dataclasses.replace(acq, grid=acq.grid.subdivided(factors))
    tissues = tissues_in_scanner(subject, fine, bank)
    signal = mri.noise_free_signal(tissues, series, stage, subject.mri.jitter[series])
    return block_mean(signal, factors)


def _noise_free_pet(subject: Subject, acq: Acquisition, bank: TissueBank) -> np.ndarray:
    """Noise-free PET (SUV) on the PET grid: rendered at <= 2 mm, blurred, then voxel-averaged."""
    factors = tuple(max(1, int(np.ceil(z / 2.0 - 1e-6))) for z in acq.grid.zooms)
    fine = dataclasses.replace(acq, grid=acq.grid.subdivided(factors))
    tissues = tissues_in_scanner(subject, fine, bank)
    uptake = pet.blur(pet.true_uptake(subject, tissues), fine.grid.zooms, subject.uptake.fwhm_mm)
    return block_mean(uptake, factors)


def write_session(
    subject: Subject,
    session: SessionTruth,
    bids_dir: Path,
    truth_dir: Path | None,
    seed: int,
    k: int,
) -> tuple[list[str], dict]:
    """Render and write one session's series (and its ground truth); return paths, truth row."""
    bank = tissue_bank(1 if session.acquisitions["T1w"].grid.zooms.min() < 1.5 else 2)
    rng = participant_rng(seed, subject.plan.index, 100 + k)
    stage = session.plan.stage
    written: list[str] = []
    truth_row: dict = {}
    for series in SERIES_ORDER:
        acq = session.acquisitions[series]
        acquired = series in session.plan.series
        if not acquired and (series != "T1w" or truth_dir is None):
            continue
        thick = _thick_slice_signal(subject, acq, bank, series, stage)
        own_grid = thick is None and series != "pet"
        tissues = tissues_in_scanner(subject, acq, bank) if own_grid else None
        if series == "T1w" and truth_dir is not None:
            paths = {
                s: bids_relpath(subject.plan, session, s, ".nii.gz")
                for s in SERIES_ORDER
                if s in session.plan.series
            }
            truth_row = write_session_truth(subject, session, tissues, truth_dir, paths)
        if not acquired:
            continue
        rel = bids_relpath(subject.plan, session, series, ".nii.gz")
        path = bids_dir / rel
        if series == "pet":
            nf = _noise_free_pet(subject, acq, bank)
            frames = pet.pet_frames(nf, session.plan.pet_frames, subject.uptake.cortex_suv, rng)
            save_nifti(_float_image(frames, acq.grid), path)
            weight = float(rng.uniform(55, 95))
            meta = sidecars.pet_sidecar(
                session.plan.pet_frames, rng.uniform(150, 250), subject.uptake.fwhm_mm, weight
            )
        elif series == "dwi":
            b0 = mri.noise_free_signal(tissues, "dwi", stage, subject.mri.jitter["dwi"])
            adc = mri.adc_map(tissues, stage)
            data = mri.dwi_series(b0, adc, subject.mri.gain["dwi"], subject.mri.snr["dwi"], rng)
            save_nifti(_mri_image(data, acq.grid), path)
            bval, bvec = sidecars.dwi_gradients(acq.grid.affine[0, 0] < 0)
            write_text(path.with_name(path.name.replace(".nii.gz", ".bval")), bval)
            write_text(path.with_name(path.name.replace(".nii.gz", ".bvec")), bvec)
            meta = sidecars.mri_sidecar(series, acq.grid.zooms)
        else:
            signal = thick
            if signal is None:
                signal = mri.noise_free_signal(tissues, series, stage, subject.mri.jitter[series])
            data = mri.acquire(signal, subject.mri.gain[series], subject.mri.snr[series], rng)
            save_nifti(_mri_image(data, acq.grid), path)
            meta = sidecars.mri_sidecar(series, acq.grid.zooms)
        write_json(path.with_name(path.name.replace(".nii.gz", ".json")), meta)
        written.append(rel)
        LOG.info("wrote %s", rel)
    return written, truth_row


def write_bids_cohort(
    out_dir: Path | str,
    n: int,
    seed: int,
    *,
    small: bool = False,
    truth_dir: Path | str | None = None,
    options: CohortOptions | None = None,
    version: str = "0",
) -> CohortSummary:
    """Write an ``n``-participant BIDS dataset to ``out_dir`` (and ground truth to ``truth_dir``)."""
    out_dir = Path(out_dir)
    truth_dir = Path(truth_dir) if truth_dir is not None else None
    size = "small" if small else "full"
    plans = plan_cohort(n, seed, options)
    rows, images, truth_rows = [], [], []
    for plan in plans:
        subject = make_subject(plan, seed, size)
        nihss, mrs = subject_scores(subject, seed)
        for k, session in enumerate(subject.sessions):
            written, truth = write_session(subject, session, out_dir, truth_dir, seed, k)
            images += written
            if truth:
                truth_rows.append({**truth, "NIHSS": nihss, "mRS": mrs})
        rows.append({"participant_id": f"sub-{plan.label}", "age": plan.age, "sex": plan.sex,
                     "group": plan.group, "NIHSS": nihss, "mRS": mrs})  # fmt: skip
        LOG.info("sub-%s done (%s)", plan.label, plan.group)
    table = pd.DataFrame(rows)
    write_text(
        out_dir / "participants.tsv", table.to_csv(sep="\t", index=False, lineterminator="\n")
    )
    write_json(out_dir / "participants.json", sidecars.PARTICIPANTS_JSON)
    write_json(out_dir / "dataset_description.json", sidecars.dataset_description(seed, version))
    write_text(out_dir / "README", sidecars.readme(n, seed, small))
    if truth_dir is not None:
        truth = pd.DataFrame(truth_rows)
        write_text(
            truth_dir / "cohort.tsv", truth.to_csv(sep="\t", index=False, lineterminator="\n")
        )
    return CohortSummary(participants=table, images=images, truth_rows=truth_rows)
