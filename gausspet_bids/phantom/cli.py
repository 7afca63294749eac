"""``gausspet-phantom``: write the digital reference cohort (BIDS or aligned layout)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from gausspet_bids.phantom.cohort import CohortOptions


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gausspet-phantom",
        description="Write a synthetic stroke/control cohort (MRI + FDG-PET) with ground truth.",
    )
    p.add_argument("out_dir", type=Path, help="output folder (BIDS root or aligned layout root)")
    p.add_argument("--participants", type=int, default=4, help="number of participants")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    p.add_argument("--small", action="store_true", help="coarse grids (fast, for tests)")
    p.add_argument("--ground-truth", type=Path, default=None,
                   help="folder for the ground truth (outside the BIDS tree)")  # fmt: skip
    p.add_argument("--layout", choices=("bids", "aligned"), default="bids")
    p.add_argument("--test-fraction", type=_fraction, default=0.2,
                   help="aligned layout: fraction of participants in the test split")  # fmt: skip
    defaults = CohortOptions()
    for name in ("control", "two_session", "no_t1w", "no_t2w", "no_pet", "static_pet"):
        flag = "--" + name.replace("_", "-") + "-fraction"
        p.add_argument(flag, type=_fraction, default=getattr(defaults, f"{name}_fraction"),
                       help=f"fraction of participants: {name.replace('_', ' ')}")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    return p


def _stale_participants(out_dir: Path, n: int, layout: str) -> list[str]:
    """Participants already in ``out_dir`` that this cohort would not overwrite (BIDS only)."""
    if layout != "bids" or not out_dir.is_dir():
        return []
    width = max(3, len(str(n)))
    wanted = {f"sub-{i + 1:0{width}d}" for i in range(n)}
    return sorted(p.name for p in out_dir.glob("sub-*") if p.name not in wanted)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(message)s", stream=sys.stderr)  # fmt: skip
    if args.participants < 1:
        print("gausspet-phantom: --participants must be at least 1", file=sys.stderr)
        return 2
    out_dir = args.out_dir.resolve()
    if args.ground_truth is not None:
        gt = args.ground_truth.resolve()
        if gt == out_dir or out_dir in gt.parents:
            print(
                f"gausspet-phantom: --ground-truth {gt} must be outside {out_dir}", file=sys.stderr
            )
            return 2
    stale = _stale_participants(out_dir, args.participants, args.layout)
    if stale:
        print(f"gausspet-phantom: {out_dir} already holds {', '.join(stale[:3])}"
              f"{' ...' if len(stale) > 3 else ''} outside this cohort; use an empty folder",
              file=sys.stderr)  # fmt: skip
        return 2
    options = CohortOptions(**{
        f"{name}_fraction": getattr(args, f"{name}_fraction")
        for name in ("control", "two_session", "no_t1w", "no_t2w", "no_pet", "static_pet")
    })  # fmt: skip
    start = time.monotonic()
    if args.layout == "aligned":
        from gausspet_bids.phantom.aligned import write_aligned_cohort

        table = write_aligned_cohort(out_dir, args.participants, args.seed,
                                     test_fraction=args.test_fraction, options=options,
                                     truth_dir=args.ground_truth)  # fmt: skip
        print(f"gausspet-phantom: {len(table)} participants ({(table.split == 'train').sum()} "
              f"train, {(table.split == 'test').sum()} test) in {out_dir} "
              f"({time.monotonic() - start:.1f} s)")  # fmt: skip
        return 0
    from gausspet_bids import __version__
    from gausspet_bids.phantom.bids_writer import write_bids_cohort

    summary = write_bids_cohort(out_dir, args.participants, args.seed, small=args.small,
                                truth_dir=args.ground_truth, options=options,
                                version=__version__)  # fmt: skip
    table = summary.participants
    print(f"gausspet-phantom: {len(table)} participants "
          f"({(table.group == 'stroke').sum()} stroke, {(table.group == 'control').sum()} control), "
          f"{len(summary.images)} images in {out_dir}"
          + (f", ground truth in {args.ground_truth}" if args.ground_truth else "")
          + f" ({time.monotonic() - start:.1f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
