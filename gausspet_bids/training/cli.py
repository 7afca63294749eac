"""``gausspet-train``: fit a GaussPET model on a paired MRI/PET cohort.

Splits are by participant: the validation set (model selection, early stopping) is carved from
``ROOT/train`` with the seed; ``ROOT/test`` is evaluated once, with the selected model, at the
end and never used for selection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from gausspet_bids.bids.atomic import write_json
from gausspet_bids.model.checkpoint import load_model, to_device
from gausspet_bids.training.cohort import (
    available_contrasts,
    cohort_grid,
    load_subject,
    split_participants,
)
from gausspet_bids.training.derivatives import aligned_view, is_derivatives, participant_of
from gausspet_bids.training.loop import TrainConfig, evaluate, train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gausspet-train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "cohort",
        type=Path,
        help="folder with {train,test}/{MRI/<contrast>,PET,MASK}/N.nii.gz, or a gausspet "
        "derivatives folder written with --write-model-inputs (split by --test-fraction)",
    )
    p.add_argument(
        "output", type=Path, help="output folder (model.safetensors + .json, last.*, log.tsv)"
    )
    p.add_argument(
        "--contrasts",
        nargs="+",
        default=None,
        help="contrasts to use, in order (default: all in the cohort)",
    )
    p.add_argument(
        "-K", "--sweeps", type=int, default=1, help="Gauss-Seidel sweeps K (0: plain forward model)"
    )
    p.add_argument("--lam", type=float, default=1.0, help="inverse-consistency weight lambda (> 0)")
    p.add_argument("--mu", type=float, default=10.0, help="data weight mu on observed contrasts")
    p.add_argument(
        "--patches",
        type=int,
        choices=(1, 8, 64),
        default=1,
        help="train on 1, 8 or 64 tiles per volume",
    )
    p.add_argument(
        "--crop",
        type=int,
        default=0,
        help="train on random cubes of this many voxels (multiple of --stride; 0: use --patches)",
    )
    p.add_argument(
        "--crops-per-volume",
        type=int,
        default=8,
        help="with --crop: random cubes drawn from each training volume per epoch",
    )
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="decay of the moving average of the weights that is validated and saved "
        "(e.g. 0.98; 0: the raw weights)",
    )
    p.add_argument(
        "--voxelwise-steps",
        type=int,
        default=0,
        help="first train the fine branch alone for this many steps (needs --fine-channels)",
    )
    p.add_argument(
        "--voxelwise-hard-fraction",
        type=float,
        default=0.0,
        help="share of the voxel-wise start's cubes centred on voxels the start misses by "
        "more than 0.3 SUVR (mostly lesions; 0: uniform over the brain)",
    )
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=2, help="volumes (tiles) per optimiser step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping (0: off)")
    p.add_argument("--channels", type=int, default=24, help="network width")
    p.add_argument("--depth", type=int, default=5, help="3x3x3 convolutions on the coarse grid")
    p.add_argument("--stride", type=int, default=4, help="coarse grid factor")
    p.add_argument(
        "--fine-channels",
        type=int,
        default=0,
        help="width of the voxel-wise (1x1x1) coefficient branch (0: coarse coefficients only)",
    )
    p.add_argument(
        "--position-channels",
        action="store_true",
        help="give the network each voxel's position on the model grid (template-aligned)",
    )
    p.add_argument(
        "--template-map",
        type=int,
        default=0,
        metavar="VOXELS",
        help="learn a population gain map in template space with one lattice point every "
        "VOXELS model-grid voxels (needs --position-channels; 0: none)",
    )
    p.add_argument(
        "--w-template",
        type=float,
        default=0.0,
        help="weight of the template map's roughness in the loss (mean squared difference "
        "between neighbouring lattice points)",
    )
    p.add_argument(
        "--template-offset",
        action="store_true",
        help="with --template-map: learn an offset map besides the gain map",
    )
    p.add_argument(
        "--context-features",
        type=int,
        default=0,
        metavar="F",
        help="participant context: F numbers summarising the whole volume (lesion burden, "
        "side...) weight F learnt gain maps, e.g. for the SUVR reference and crossed cerebellar "
        "diaschisis (needs --position-channels; 0: none)",
    )
    p.add_argument(
        "--context-map",
        type=int,
        default=4,
        metavar="VOXELS",
        help="lattice spacing of the participant context's gain maps, in model-grid voxels",
    )
    p.add_argument(
        "--psf-fwhm-mm",
        type=float,
        default=5.5,
        help="PET resolution applied to the output (0: none)",
    )
    p.add_argument(
        "--modality-dropout",
        type=float,
        default=0.5,
        help="fraction of training samples given a random subset of contrasts",
    )
    p.add_argument(
        "--mask-dilation",
        type=float,
        default=0.0,
        metavar="VOXELS",
        help="give half of the training tiles a brain mask grown by a random distance of 1 to "
        "this many voxels, into the MRI around the brain (as a real brain extraction's often "
        "is); the loss stays on the true mask (0: off)",
    )
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="derivatives input: participants held out for the final test (seeded by --seed)",
    )
    p.add_argument(
        "--max-participants",
        type=int,
        default=None,
        help="use only the first N training participants (compute budget)",
    )
    p.add_argument("--patience", type=int, default=10, help="early stopping patience (epochs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    p.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="checkpoint to resume from (OUTPUT/last.safetensors)",
    )
    p.add_argument(
        "--no-test",
        action="store_true",
        help="do not evaluate the test split at the end (development runs that compare "
        "recipes must not look at it)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no per-epoch progress lines")
    return p


def carve_validation(
    participants: list[str], fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Split participants into (train, validation) with a seeded permutation."""
    groups = list(dict.fromkeys(participant_of(p) for p in participants))  # sessions together
    if len(groups) < 2:
        raise ValueError("need at least two training participants to carve a validation set")
    n_val = min(len(groups) - 1, max(1, round(fraction * len(groups))))
    order = np.random.default_rng(seed).permutation(len(groups))
    val_groups = {groups[i] for i in order[:n_val]}
    val = sorted((p for p in participants if participant_of(p) in val_groups),
                 key=lambda n: (len(n), n))  # fmt: skip
    return [p for p in participants if p not in val], val


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    say = (lambda *_: None) if args.quiet else (lambda msg: print(msg, flush=True))
    for option, value in (
        ("--template-map", args.template_map),
        ("--context-features", args.context_features),
    ):
        if value and not args.position_channels:
            print(
                f"gausspet-train: error: {option} needs the position channels "
                "(add --position-channels)",
                file=sys.stderr,
            )
            return 2
    if 0 < args.mask_dilation < 1 or args.mask_dilation < 0:
        print(
            f"gausspet-train: error: --mask-dilation {args.mask_dilation}: use 0 (off) or a "
            "distance of at least 1 voxel",
            file=sys.stderr,
        )
        return 2
    try:
        to_device(args.device)
        source_name = args.cohort.name
        if is_derivatives(args.cohort):
            args.cohort = aligned_view(
                args.cohort, args.output / "cohort", args.test_fraction, args.seed
            )
            say(f"derivatives {source_name}: split by participant in {args.cohort / 'split.tsv'}")
        if args.threads:
            torch.set_num_threads(args.threads)
        contrasts = args.contrasts or available_contrasts(args.cohort)
        participants = split_participants(args.cohort, "train")
        participants = (
            participants[: args.max_participants] if args.max_participants else participants
        )
        if not participants:
            raise FileNotFoundError(f"{args.cohort / 'train' / 'PET'}: no training images")
        train_ids, val_ids = carve_validation(participants, args.validation_fraction, args.seed)
        say(
            f"loading {len(participants)} participants ({len(train_ids)} train, {len(val_ids)} validation), contrasts {contrasts}"
        )
        train_set = [load_subject(args.cohort, "train", p, contrasts) for p in train_ids]
        val_set = [load_subject(args.cohort, "train", p, contrasts) for p in val_ids]
        test_ids = split_participants(args.cohort, "test")
        grid = cohort_grid(args.cohort)
        voxel_mm = float(np.abs(grid[1][:3, :3]).sum(0).mean())
        psf_sigma = args.psf_fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / voxel_mm
        cfg = TrainConfig(
            contrasts=contrasts,
            sweeps=args.sweeps,
            lam=args.lam,
            mu=args.mu,
            channels=args.channels,
            depth=args.depth,
            stride=args.stride,
            fine_channels=args.fine_channels,
            position=args.position_channels,
            template_spacing=args.template_map,
            template_offset=args.template_offset,
            w_template=args.w_template,
            context_features=args.context_features,
            context_spacing=args.context_map,
            psf_sigma=float(psf_sigma),
            patches=args.patches,
            crop=args.crop,
            crops_per_volume=args.crops_per_volume,
            ema=args.ema,
            voxelwise_steps=args.voxelwise_steps,
            voxelwise_hard_fraction=args.voxelwise_hard_fraction,
            epochs=args.epochs,
            batch=args.batch,
            lr=args.lr,
            clip=args.clip,
            seed=args.seed,
            device=args.device,
            modality_dropout=args.modality_dropout,
            mask_dilation=args.mask_dilation,
            patience=args.patience,
            data_summary={
                "cohort": source_name,
                "n_train": len(train_ids),
                "n_validation": len(val_ids),
                "n_test": len(test_ids),
                "validation": val_ids,
            },
        )
        best = train(
            cfg,
            train_set,
            val_set,
            grid,
            args.output,
            resume=args.resume,
            progress=say,
        )
        if test_ids and not args.no_test:
            model, _ = load_model(best, args.device)
            test_set = [load_subject(args.cohort, "test", p, contrasts) for p in test_ids]
            test = evaluate(model, test_set, torch.device(args.device))
            write_json(args.output / "test_metrics.json", {"n": len(test_ids), **test})
            say(
                f"test (reported once, not used for selection): L1 {test['l1']:.4f}  NCC {test['ncc']:.4f}"
            )
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"gausspet-train: error: {err}", file=sys.stderr)
        return 1
    say(f"best model: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
