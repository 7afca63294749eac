"""Evaluate GaussPET on a held-out phantom test split (never used for training or selection).

Two steps (see docs/model.md for the exact commands that produced the reported numbers):

  train-unet  COHORT OUT.safetensors   train the plain 3D U-Net baseline with the same split,
                                       seed, epochs and modality dropout as the default model
  evaluate    COHORT --model M [--ablation K0=PATH K3=PATH] [--unet PATH] --out DIR

``evaluate`` reports, per configuration, PSNR / SSIM (3D Gaussian window) / NMAE / NMSE / NCC in
the brain mask (``gausspet_bids.metrics.image_metrics.brain_metrics``) with bootstrap 95% CIs,
the published method's definitions side by side (``published_metrics``: whole min-max-scaled
volume, slice-wise SSIM), the lesion-core SUVR error (core mask regenerated from the phantom's
own generator), tilings 1/8/64, K ablation, and quality per subset of contrasts.

With ``--truth DIR`` (the ``--ground-truth`` folder of an aligned ``gausspet-phantom`` cohort)
every configuration is also scored against the phantom's *noise-free* PET, the image a
synthesis can at best recover (PET noise is not predictable from MRI), lesion cores come from
``DIR/test/CORE`` and their true SUVR from the noise-free PET; the noise-free PET itself is
scored against the measured PET as the ceiling of any synthesis on the measured-PET metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import torch

from gausspet_bids.metrics.group_stats import bootstrap_mean_ci
from gausspet_bids.metrics.image_metrics import brain_metrics, published_metrics
from gausspet_bids.model.checkpoint import load_model, load_model_metadata
from gausspet_bids.model.inference import synthesise
from gausspet_bids.training.cli import carve_validation
from gausspet_bids.training.cohort import load_subject, split_participants

SUBSETS = {
    "all": ("T1w", "T2w", "FLAIR", "DWI", "ADC"),
    "no T1w": ("T2w", "FLAIR", "DWI", "ADC"),
    "stroke (FLAIR+DWI+ADC)": ("FLAIR", "DWI", "ADC"),
    "structural (T1w+T2w+FLAIR)": ("T1w", "T2w", "FLAIR"),
    "T1w only": ("T1w",),
    "DWI+ADC": ("DWI", "ADC"),
}
METRICS = ("PSNR", "SSIM", "NMAE", "NMSE", "NCC")


def read(path: Path) -> np.ndarray:
    return np.asarray(nib.load(path).dataobj, dtype=np.float32)


def test_cases(
    cohort: Path,
    truth: Path | None = None,
    split: str = "test",
    participants: list[str] | None = None,
) -> list[dict]:
    """Raw (un-normalised) images of ``split`` (default: the test split, every participant) as
    the app would pass them to ``synthesise``; with ``truth``, also the noise-free PET
    (``truth_pet``) and the lesion-core mask (``core``)."""
    cases = []
    base = cohort / split
    for n in participants if participants is not None else split_participants(cohort, split):
        images = {
            c: read(base / "MRI" / c / f"{n}.nii.gz")
            for c in SUBSETS["all"]
            if (base / "MRI" / c / f"{n}.nii.gz").exists()
        }
        case = {
            "n": n,
            "images": images,
            "mask": read(base / "MASK" / f"{n}.nii.gz") > 0,
            "pet": read(base / "PET" / f"{n}.nii.gz"),
        }
        if truth is not None:
            case["truth_pet"] = read(truth / split / "PET" / f"{n}.nii.gz")
            case["core"] = read(truth / split / "CORE" / f"{n}.nii.gz") > 0
        cases.append(case)
    return cases


def truth_cores(cases: list[dict]) -> dict[str, np.ndarray]:
    """Lesion-core masks of at least 10 voxels from the ground-truth folder."""
    return {c["n"]: c["core"] & c["mask"] for c in cases if (c["core"] & c["mask"]).sum() >= 10}


def lesion_cores(cohort: Path, cases: list[dict], seed: int) -> dict[str, np.ndarray]:
    """Lesion-core masks (core fraction >= 0.5, inside the brain) regenerated from the phantom."""
    from gausspet_bids.phantom.cohort import plan_cohort
    from gausspet_bids.phantom.geometry import ImageGrid
    from gausspet_bids.phantom.render import tissues_aligned
    from gausspet_bids.phantom.subject import make_subject
    from gausspet_bids.phantom.tissue_bank import tissue_bank
    from gausspet_bids.preprocessing.model_grid import model_grid

    table = pd.read_csv(cohort / "cohort.tsv", sep="\t")
    plans = plan_cohort(len(table), seed)
    shape, affine = model_grid()
    grid = ImageGrid(shape=shape, affine=affine)
    cores = {}
    for case in cases:
        row = table[table["N"] == int(case["n"])].iloc[0]
        if row["group"] != "stroke":
            continue
        subject = make_subject(plans[int(case["n"]) - 1], seed, "small")
        core = (tissues_aligned(subject, grid, tissue_bank(2)).core >= 0.5) & case["mask"]
        if core.sum() >= 10:
            cores[case["n"]] = core
    return cores


def score(pred: np.ndarray, case: dict, cores: dict) -> dict:
    ours = brain_metrics(pred, case["pet"], case["mask"])
    pub = published_metrics(pred, case["pet"])
    row = {k: ours[k] for k in METRICS} | {
        f"pub_{k}": pub[k] for k in ("PSNR", "SSIM", "NMAE", "NMSE")
    }
    if "truth_pet" in case:
        vs_truth = brain_metrics(pred, case["truth_pet"], case["mask"])
        row |= {f"truth_{k}": vs_truth[k] for k in METRICS}
    if case["n"] in cores:
        core = cores[case["n"]]
        truth = float(case.get("truth_pet", case["pet"])[core].mean())
        row["core_true"] = truth
        row["core_pred"] = float(pred[core].mean())
        row["core_rel_err"] = abs(row["core_pred"] - truth) / truth
    return row


def summarise(rows: list[dict]) -> dict:
    frame = pd.DataFrame(rows)
    out = {"n": len(frame)}
    columns = [*METRICS, *(f"pub_{k}" for k in ("PSNR", "SSIM", "NMAE", "NMSE"))]
    columns += [f"truth_{k}" for k in METRICS if f"truth_{k}" in frame]
    for col in columns:
        ci = bootstrap_mean_ci(frame[col].to_numpy())
        out[col] = {"mean": ci["mean"], "low": ci["ci_low"], "high": ci["ci_high"]}
    if "core_rel_err" in frame:
        err = frame["core_rel_err"].dropna().to_numpy()
        out["core"] = {
            "n": int(err.size),
            "median_rel_err": float(np.median(err)),
            "mean_rel_err": float(err.mean()),
            "within_15pct": float((err <= 0.15).mean()),
        }
    return out


def run_config(name, predict, cases, cores, results, log):
    t0 = time.perf_counter()
    rows = [{"participant": c["n"], **score(predict(c), c, cores)} for c in cases]
    results[name] = {"summary": summarise(rows), "per_participant": rows}
    s = results[name]["summary"]
    vs_truth = (
        f"  | vs noise-free SSIM {s['truth_SSIM']['mean']:.4f}  NCC {s['truth_NCC']['mean']:.4f}"
        if "truth_SSIM" in s
        else ""
    )
    log(
        f"{name:40s} SSIM {s['SSIM']['mean']:.4f}  NCC {s['NCC']['mean']:.4f}  PSNR {s['PSNR']['mean']:.2f}{vs_truth}  ({time.perf_counter() - t0:.0f}s)"
    )


def evaluate(args) -> int:
    torch.set_num_threads(args.threads)
    cases = test_cases(args.cohort, args.truth)
    if len(cases) < 20 and not args.allow_small:
        raise SystemExit(f"{args.cohort}/test: {len(cases)} participants; at least 20 needed")
    if args.truth is not None:
        cores = truth_cores(cases)
    elif args.phantom_seed is None:
        raise SystemExit("give --truth DIR (ground truth) or --phantom-seed S (regenerate cores)")
    else:
        cores = lesion_cores(args.cohort, cases, args.phantom_seed)
    results: dict = {"cohort": str(args.cohort), "n_test": len(cases), "n_lesion_cores": len(cores)}
    say = lambda msg: print(msg, flush=True)  # noqa: E731
    if args.truth is not None:
        run_config("noise-free PET (ceiling)", lambda c: c["truth_pet"], cases, cores, results, say)
    loaded = load_model(args.model)
    meta = loaded[1]
    results["model"] = {"path": str(args.model), "sha256": meta["sha256"], "sweeps": meta["sweeps"]}
    whole = {}

    def untiled(c):
        whole[c["n"]] = synthesise(c["images"], c["mask"], loaded)["pet"]
        return whole[c["n"]]

    run_config(f"GaussPET K={meta['sweeps']} ({meta['name']})", untiled, cases, cores, results, say)
    subset = cases[: args.tile_participants]
    for tiles in args.tiles:
        diffs = []

        def tiled(c, t=tiles, diffs=diffs):
            pred = synthesise(c["images"], c["mask"], loaded, n_tiles=t)["pet"]
            diffs.append(float(np.sqrt(np.mean((pred - whole[c["n"]])[c["mask"]] ** 2))))
            return pred

        run_config(
            f"GaussPET tiles={tiles} (first {len(subset)} participants)",
            tiled,
            subset,
            cores,
            results,
            say,
        )
        results[f"GaussPET tiles={tiles} (first {len(subset)} participants)"][
            "max_rms_vs_untiled"
        ] = max(diffs)
        say(f"tiles={tiles}: max SUVR RMS difference to untiled {max(diffs):.2e}")
    for spec in args.ablation:
        label, path = spec.split("=", 1)
        other = load_model(path)
        run_config(
            f"GaussPET trained {label}",
            lambda c, m=other: synthesise(c["images"], c["mask"], m)["pet"],
            cases,
            cores,
            results,
            say,
        )
    for label, subset in SUBSETS.items():
        if label == "all" or label not in args.subsets:
            continue
        run_config(
            f"contrasts: {label}",
            lambda c, s=subset: synthesise({k: c["images"][k] for k in s}, c["mask"], loaded)[
                "pet"
            ],
            cases,
            cores,
            results,
            say,
        )
    if args.unet:
        from gausspet_bids.baselines.unet import load_unet, predict

        contrasts = list(meta["contrasts"])
        net = load_unet(args.unet, len(contrasts))

        def unet_pred(c):
            s = load_subject(args.cohort, "test", c["n"], contrasts)
            with torch.no_grad():
                return predict(net, s.x[None], s.presence.view(1, -1, 1, 1, 1), s.mask[None])[
                    0, 0
                ].numpy()

        run_config("3D U-Net baseline", unet_pred, cases, cores, results, say)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model_evaluation.json").write_text(json.dumps(results, indent=1))
    (args.out / "model_evaluation.md").write_text(markdown(results))
    say(f"wrote {args.out}/model_evaluation.md")
    return 0


def markdown(results: dict) -> str:
    lines = [
        f"Held-out phantom test split: {results['n_test']} participants ({results['n_lesion_cores']} with a lesion core). Mean [bootstrap 95% CI].",
        "",
        "Brain-mask metrics (ours: SUVR as is, inside the brain mask, 3D Gaussian-window SSIM):",
        "",
        "| configuration | PSNR | SSIM | NMAE | NMSE | NCC | lesion core: median rel. err / within 15 % |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, res in results.items():
        if not isinstance(res, dict) or "summary" not in res:
            continue
        s = res["summary"]
        cells = [f"{s[k]['mean']:.4f} [{s[k]['low']:.4f}, {s[k]['high']:.4f}]" for k in METRICS]
        core = s.get("core")
        core_cell = (
            f"{core['median_rel_err'] * 100:.1f} % / {core['within_15pct'] * 100:.0f} % of {core['n']}"
            if core
            else "-"
        )
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {core_cell} |")
    truth_rows = [
        (name, res["summary"])
        for name, res in results.items()
        if isinstance(res, dict)
        and "truth_SSIM" in res.get("summary", {})
        and name != "noise-free PET (ceiling)"  # scored against itself: trivially perfect
    ]
    if truth_rows:
        lines += [
            "",
            "The same, scored against the phantom's noise-free PET (what a synthesis from MRI can "
            "recover; the measured PET adds unpredictable noise; the first table's 'noise-free PET "
            "(ceiling)' row is that image scored against the measured PET):",
            "",
            "| configuration | PSNR | SSIM | NMAE | NMSE | NCC |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, s in truth_rows:
            cells = [
                f"{s['truth_' + k]['mean']:.4f} [{s['truth_' + k]['low']:.4f}, {s['truth_' + k]['high']:.4f}]"
                if np.isfinite(s["truth_" + k]["mean"])
                else "-"
                for k in METRICS
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Published method's definitions (whole volume min-max scaled to [0, 1], background included, slice-wise 2D SSIM), for comparison with its table only:",
        "",
        "| configuration | PSNR | SSIM | NMAE | NMSE |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, res in results.items():
        if isinstance(res, dict) and "summary" in res:
            s = res["summary"]
            lines.append(
                f"| {name} | "
                + " | ".join(
                    f"{s['pub_' + k]['mean']:.4f}" for k in ("PSNR", "SSIM", "NMAE", "NMSE")
                )
                + " |"
            )
    return "\n".join(lines) + "\n"


def train_unet_cmd(args) -> int:
    from gausspet_bids.baselines.unet import train_unet

    torch.set_num_threads(args.threads)
    meta = load_model_metadata(args.like)
    cfg = meta["training"]
    contrasts = list(meta["contrasts"])
    participants = split_participants(args.cohort, "train")
    participants = participants[: args.max_participants] if args.max_participants else participants
    train_ids, val_ids = carve_validation(participants, args.validation_fraction, cfg["seed"])
    train_set = [load_subject(args.cohort, "train", p, contrasts) for p in train_ids]
    val_set = [load_subject(args.cohort, "train", p, contrasts) for p in val_ids]
    t0 = time.perf_counter()
    train_unet(
        train_set,
        val_set,
        args.output,
        epochs=args.epochs or cfg["epochs"],
        lr=cfg["lr"],
        seed=cfg["seed"],
        modality_dropout=cfg["modality_dropout"],
        channels=tuple(args.channels),
    )
    print(f"U-Net trained in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="step", required=True)
    t = sub.add_parser("train-unet")
    t.add_argument("cohort", type=Path)
    t.add_argument("output", type=Path)
    t.add_argument(
        "--like",
        type=Path,
        required=True,
        help="GaussPET checkpoint whose training settings to copy",
    )
    t.add_argument("--validation-fraction", type=float, default=0.15)
    t.add_argument("--max-participants", type=int, default=None)
    t.add_argument("--epochs", type=int, default=None, help="default: the --like model's epochs")
    t.add_argument("--channels", type=int, nargs="+", default=[6, 12, 24, 48])
    t.add_argument("--threads", type=int, default=1)
    e = sub.add_parser("evaluate")
    e.add_argument("cohort", type=Path)
    e.add_argument(
        "--model", type=Path, default=None, help="checkpoint (default: the packaged model)"
    )
    e.add_argument(
        "--ablation", nargs="*", default=[], help="LABEL=checkpoint of models trained with other K"
    )
    e.add_argument("--unet", type=Path, default=None)
    e.add_argument(
        "--phantom-seed",
        type=int,
        default=None,
        help="the gausspet-phantom --seed of COHORT (regenerates lesion cores without --truth)",
    )
    e.add_argument(
        "--truth", type=Path, default=None, help="the cohort's --ground-truth folder (aligned)"
    )
    e.add_argument("--tiles", type=int, nargs="*", default=[1, 8, 64])
    e.add_argument(
        "--tile-participants", type=int, default=6, help="participants for the tiling runs"
    )
    e.add_argument(
        "--subsets", nargs="*", default=[k for k in SUBSETS if k != "all"], help="contrast subsets"
    )
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--allow-small", action="store_true")
    e.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = p.parse_args(argv)
    return train_unet_cmd(args) if args.step == "train-unet" else evaluate(args)


if __name__ == "__main__":
    sys.exit(main())
