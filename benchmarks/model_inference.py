"""Inference time and peak memory of GaussPET for one participant on the model grid (CPU).

    python benchmarks/model_inference.py COHORT_ROOT [--model PATH] [--threads 2] [--tiles 1]

Runs in a fresh process: loads the model, synthesises the first test participant of an aligned
cohort twice (first call includes one-off allocations), and reports wall time per call, the
process's peak resident memory (ru_maxrss, includes Python + torch), parameter count and
FLOPs per volume (torch's FlopCounterMode). Numbers depend on the machine's load: say so.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from gausspet_bids.model.checkpoint import load_model
from gausspet_bids.model.inference import prepare_inputs, synthesise
from gausspet_bids.model.tiling import run_tiled
from gausspet_bids.training.cohort import split_participants


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("cohort", type=Path)
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tiles", type=int, default=1)
    p.add_argument("--split", default="test")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    n = split_participants(args.cohort, args.split)[0]
    base = args.cohort / args.split
    read = lambda f: np.asarray(nib.load(f).dataobj, dtype=np.float32)  # noqa: E731
    images = {d.name: read(d / f"{n}.nii.gz") for d in sorted((base / "MRI").iterdir())}
    mask = read(base / "MASK" / f"{n}.nii.gz") > 0
    t0 = time.perf_counter()
    model, meta = load_model(args.model)
    load_s = time.perf_counter() - t0
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        synthesise(images, mask, (model, meta), n_tiles=args.tiles, threads=args.threads)
        times.append(time.perf_counter() - t0)
    x, presence, mask_f, _ = prepare_inputs(images, mask, list(meta["contrasts"]))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        run_tiled(
            model,
            torch.from_numpy(x)[None],
            torch.from_numpy(presence).view(1, -1, 1, 1, 1),
            torch.from_numpy(mask_f)[None, None],
            n_tiles=args.tiles,
        )
    result = {
        "participant": n,
        "threads": args.threads,
        "tiles": args.tiles,
        "model_load_s": round(load_s, 3),
        "synthesis_s_first": round(times[0], 3),
        "synthesis_s_second": round(times[1], 3),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "parameters": sum(p.numel() for p in model.parameters()),
        "gflops_per_volume": round(counter.get_total_flops() / 1e9, 2),
        "model_sha256": meta["sha256"],
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
