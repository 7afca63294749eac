"""Benchmark of the participant preprocessing on a phantom participant with ground truth.

Prints wall time, CPU time (user + system: less sensitive to other load on the machine), peak
memory (RSS of this process and its children), Dice of the brain mask against the phantom's
true mask, co-registration error of each contrast (mean displacement over
the brain between the estimated and the true rigid transforms, mm), Dice of the 32-label atlas
and the nine-territory map against the true maps, SUVR of the true cerebellar reference in our
SUVR image, and deepbet's Dice on the ICBM 2009a template itself.

    nice -n 10 .venv/bin/python benchmarks/preprocessing_benchmark.py --out /tmp/bench \
        [--small] [--sloppy] [--seed 11] [--omp-nthreads 2] [--participant 003 | --no-t1w]

Generates the phantom (``gausspet-phantom``) unless ``--bids``/``--gt`` are given. The default
participant is the first with T1w, T2w, FLAIR, DWI and PET; ``--no-t1w`` picks the first
without T1w (reference FLAIR or T2w: the brain mask then comes from deepbet on that contrast),
``--participant`` a given one. Derivatives are in the reference's world; the truth is in the
(virtual) T1w world of the phantom session, so every comparison goes through the true pose.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from gausspet_bids.preprocessing import quality
from gausspet_bids.preprocessing.ants_tools import affine_to_ras


def find_inputs(bids_dir: Path, subject: str, session: str | None) -> dict[str, str | None]:
    """The raw files of one participant/session (plain globbing: phantom layout)."""
    folder = bids_dir / f"sub-{subject}" / (f"ses-{session}" if session else "")

    def one(pattern: str) -> str | None:
        hits = sorted(folder.glob(pattern))
        return str(hits[0]) if hits else None

    return {
        "t1w": one("anat/*_T1w.nii.gz"), "t2w": one("anat/*_T2w.nii.gz"),
        "flair": one("anat/*_FLAIR.nii.gz"), "dwi": one("dwi/*_dwi.nii.gz"),
        "bval": one("dwi/*_dwi.bval"), "bvec": one("dwi/*_dwi.bvec"),
        "pet": one("pet/*_pet.nii.gz"), "pet_json": one("pet/*_pet.json"),
    }  # fmt: skip


def pick_participant(
    bids_dir: Path, no_t1w: bool = False, subject: str | None = None
) -> tuple[str, str | None]:
    """First participant/session with T1w, T2w, FLAIR, DWI and PET (``no_t1w``: first without
    T1w but with FLAIR or T2w; ``subject``: that participant's first session)."""
    for anat in sorted(bids_dir.glob("sub-*/**/anat")):
        parts = anat.relative_to(bids_dir).parts
        label = parts[0].removeprefix("sub-")
        session = parts[1].removeprefix("ses-") if len(parts) > 2 else None
        files = find_inputs(bids_dir, label, session)
        if subject is not None:
            if label == subject:
                return label, session
        elif no_t1w:
            if not files["t1w"] and (files["flair"] or files["t2w"]):
                return label, session
        elif all(files[k] for k in ("t1w", "t2w", "flair", "dwi", "pet")):
            return label, session
    wanted = (
        f"sub-{subject}"
        if subject
        else "a participant " + ("without T1w" if no_t1w else "with T1w, T2w, FLAIR, DWI and PET")
    )
    raise SystemExit(f"{bids_dir}: no {wanted}")


def cpu_seconds() -> float:
    """User + system CPU time of this process and its children (independent of machine load)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_rss_gib() -> float:
    """Peak resident memory of this process and of its largest child (GiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024**2


def evaluate(out_dir: Path, gt_dir: Path, subject: str, session: str | None, ref: str) -> dict:
    """Compare the derivatives of one participant with the phantom's ground truth."""
    prefix = f"sub-{subject}" + (f"_ses-{session}" if session else "")
    sub_rel = Path(f"sub-{subject}") / (f"ses-{session}" if session else "")
    der, gt = out_dir / sub_rel, gt_dir / sub_rel
    truth = json.loads((gt / f"{prefix}_transforms.json").read_text())["Transforms"]
    poses = {Path(k).name.split("_")[-1].split(".")[0]: np.asarray(v) for k, v in truth.items()}
    ref_pose = poses.get(ref, np.eye(4))  # reference world -> T1w world

    def in_truth_world(path: Path) -> nib.Nifti1Image:
        img = nib.load(path)
        return nib.Nifti1Image(np.asanyarray(img.dataobj), ref_pose @ img.affine)

    gt_mask = nib.load(gt / f"{prefix}_space-T1w_desc-brain_mask.nii.gz")
    mask = in_truth_world(der / "anat" / f"{prefix}_desc-brain_mask.nii.gz")
    res: dict = {"reference": ref,
                 "brain_mask_dice": quality.dice(_on(mask, gt_mask), gt_mask.dataobj)}  # fmt: skip
    # transforms: est maps reference world -> image world; true = inv(M_image) @ M_ref
    for suffix, datatype, ents in (("T1w", "anat", ""), ("T2w", "anat", ""),
                                   ("FLAIR", "anat", ""), ("dwi", "dwi", ""),
                                   ("pet", "pet", "_trc-FDG")):  # fmt: skip
        mat = der / datatype / f"{prefix}{ents}_from-{suffix}_to-{ref}_mode-image_xfm.txt"
        if suffix == ref or not mat.exists() or suffix not in poses:
            continue
        true = np.linalg.inv(poses[suffix]) @ poses[ref]
        est = affine_to_ras(mat)
        # the mask lives in (virtual) T1w world: express it in reference world first
        res[f"coreg_error_mm_{suffix}"] = quality.transform_error_mm(
            est @ np.linalg.inv(poses[ref]), true @ np.linalg.inv(poses[ref]), gt_mask
        )
    for name, gt_name in (("Arterial", "Arterial"), ("ArterialTerritories", "ArterialTerritories")):
        est = in_truth_world(der / "anat" / f"{prefix}_space-{ref}_atlas-{name}_dseg.nii.gz")
        true = nib.load(gt / f"{prefix}_space-T1w_atlas-{gt_name}_dseg.nii.gz")
        res[f"dice_{name}"] = quality.mean_label_dice(_on(est, true, 0), true.dataobj)
    suvr_file = der / "pet" / f"{prefix}_trc-FDG_space-{ref}_desc-preproc_pet.nii.gz"
    true_suvr = gt / f"{prefix}_space-T1w_trc-FDG_desc-noisefreeSUVR_pet.nii.gz"
    if suvr_file.exists() and true_suvr.exists():
        est = _on(in_truth_world(suvr_file), gt_mask, 1)
        true = np.asanyarray(nib.load(true_suvr).dataobj)
        true_terr = np.asanyarray(
            nib.load(gt / f"{prefix}_space-T1w_atlas-ArterialTerritories_dseg.nii.gz").dataobj
        )
        gm = np.asanyarray(nib.load(gt / f"{prefix}_space-T1w_label-GM_probseg.nii.gz").dataobj)
        cereb_gm = np.isin(true_terr, [15, 16, 17, 18]) & (gm >= 0.5)
        res["suvr_in_true_cerebellar_gm"] = float(est[cereb_gm].mean())
        brain = np.asanyarray(gt_mask.dataobj) > 0
        res["suvr_corr_vs_true"] = float(np.corrcoef(est[brain], true[brain])[0, 1])
    return res


def brain_extraction_method(work_dir: Path) -> str:
    """deepbet or template: what the (cached) brain-extraction node used."""
    from nipype.utils.filemanip import loadpkl

    hits = sorted(work_dir.glob("**/anat_reference_wf/brain_extraction/result_*.pklz"))
    return str(loadpkl(hits[0]).outputs.method) if hits else "unknown"


def _on(img: nib.Nifti1Image, target: nib.Nifti1Image, order: int = 0) -> np.ndarray:
    """``img`` resampled (world coordinates) onto ``target``'s grid."""
    from nilearn.image import resample_to_img

    interp = "nearest" if order == 0 else "linear"
    out = resample_to_img(img, target, interpolation=interp, force_resample=True, copy_header=True)
    return np.asanyarray(out.dataobj)


def template_deepbet_dice() -> float:
    """deepbet on the (skull-stripped) ICBM 2009a template vs the template's brain mask."""
    import tempfile

    from gausspet_bids.preprocessing.brain_extraction import deepbet_mask
    from gausspet_bids.preprocessing.model_grid import template_brain_mask, template_t1w

    with tempfile.TemporaryDirectory() as tmp:
        nib.save(template_t1w(), f"{tmp}/t1.nii.gz")
        mask = deepbet_mask(f"{tmp}/t1.nii.gz", n_threads=2)
    return quality.dice(mask.dataobj, template_brain_mask().dataobj)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--bids", type=Path)
    ap.add_argument("--gt", type=Path)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--sloppy", action="store_true")
    ap.add_argument("--omp-nthreads", type=int, default=2)
    ap.add_argument("--plugin", default="Linear")
    ap.add_argument("--skip-template", action="store_true")
    ap.add_argument("--no-t1w", action="store_true", help="first participant without T1w")
    ap.add_argument("--participant", help="this participant label (first session)")
    ap.add_argument("--participants", type=int, default=1, help="phantom size when generated")
    args = ap.parse_args(argv)
    bids_dir, gt_dir = args.bids, args.gt
    if bids_dir is None:
        bids_dir, gt_dir = args.out / "bids", args.out / "gt"
        if not bids_dir.exists():
            cmd = [
                str(Path(sys.executable).parent / "gausspet-phantom"),
                str(bids_dir),
                "--participants",
                str(args.participants),
                "--seed",
                str(args.seed),
                "--ground-truth",
                str(gt_dir),
            ]
            subprocess.run(cmd + (["--small"] if args.small else []), check=True)  # fmt: skip
    subject, session = pick_participant(bids_dir, args.no_t1w, args.participant)
    files = find_inputs(bids_dir, subject, session)

    from gausspet_bids.preprocessing.participant import choose_reference, init_preproc_wf

    ref = choose_reference({"T1w": files["t1w"], "FLAIR": files["flair"], "T2w": files["t2w"]})

    out_dir = args.out / "derivatives"
    start, cpu_start = time.perf_counter(), cpu_seconds()
    wf = init_preproc_wf(subject=subject, session=session, output_dir=out_dir, sloppy=args.sloppy,
                         omp_nthreads=args.omp_nthreads, **files)  # fmt: skip
    wf.base_dir = str(args.out / "work")
    wf.config["execution"]["remove_unnecessary_outputs"] = False
    plugin_args = {"n_procs": args.omp_nthreads} if args.plugin == "MultiProc" else {}
    wf.run(plugin=args.plugin, plugin_args=plugin_args)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu_start
    res = {"participant": subject, "session": session, "sloppy": args.sloppy,
           "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
           "peak_rss_gib": round(peak_rss_gib(), 2)}  # fmt: skip
    res.update(evaluate(out_dir, gt_dir, subject, session, ref))
    res["brain_extraction"] = brain_extraction_method(args.out / "work")
    if not args.skip_template:
        res["template_deepbet_dice"] = template_deepbet_dice()
    for key, value in res.items():
        print(f"{key:32s} {round(value, 4) if isinstance(value, float) else value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
