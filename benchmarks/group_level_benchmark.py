"""Group-level wall time on N synthetic participants' scoring tables (default 300).

Writes, per participant, the same files the scoring workflow writes (``*_regions.tsv`` and
``*_metrics.json`` through the package's own writers' formats), a participants.tsv with NIHSS/mRS
and controls, then times ``run_group_level``. Usage:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/group_level_benchmark.py [N] [--models 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gausspet_bids.bids.atomic import write_json, write_text
from gausspet_bids.metrics.territories import territory_names, territory_sidecar
from gausspet_bids.workflows.group_level import run_group_level
from gausspet_bids.workflows.scoring import scoring_outputs


def make_cohort(root: Path, n: int, seed: int = 0, models: tuple[str, ...] = ("gausspet",)) -> Path:
    """Synthetic BIDS root (participants.tsv) + derivatives root with n participants' tables."""
    rng = np.random.default_rng(seed)
    bids, out = root / "bids", root / "out"
    bids.mkdir(parents=True, exist_ok=True)
    rows = []
    names = territory_names()
    for i in range(1, n + 1):
        sub = f"{i:03d}"
        control = i % 5 == 0
        lesion_ml = 0.0 if control else float(rng.lognormal(3.0, 1.0))
        nihss = (
            np.nan
            if i % 17 == 0
            else (0 if control else round(min(42, 2 + lesion_ml / 8 + rng.normal(0, 2))))
        )
        mrs = 0 if control else int(np.clip(round(lesion_ml / 40 + rng.normal(1, 1)), 0, 6))
        rows.append({"participant_id": f"sub-{sub}", "group": "control" if control else "stroke",
                     "NIHSS": nihss, "mRS": mrs})  # fmt: skip
        has_real = i % 4 != 0
        base = 1.0 + 0.05 * rng.normal(size=(len(names), 2))
        real = base.copy()
        if not control:
            real[2, 0] *= 1 - min(0.5, lesion_ml / 400)  # left MCA hypometabolism
        for k, model in enumerate(models):
            syn = real * (1 + 0.03 * rng.normal(size=real.shape)) + 0.01 * k
            paths = scoring_outputs(out, sub, None, "T1w", model)
            table = pd.DataFrame(
                {"territory": names, "volume_left_ml": 60.0, "volume_right_ml": 60.0}
            )
            sources = {"synthetic": syn, "real": real} if has_real else {"synthetic": syn}
            for source, values in sources.items():
                for j, hemi in enumerate(("left", "right")):
                    table[f"{source}_mean_{hemi}"] = values[:, j]
                    table[f"{source}_median_{hemi}"] = values[:, j]
                table[f"{source}_asymmetry"] = 2 * (values[:, 0] - values[:, 1]) / values.sum(1)
            write_text(paths["regions"], table.to_csv(sep="\t", index=False))
            write_json(paths["regions"].with_suffix(".json"), territory_sidecar(list(sources)))
            syn_vol = max(0.0, lesion_ml * (1 + 0.2 * rng.normal()))
            scores = {
                "Model": model,
                "HypometabolicVolumeMl": {"synthetic": {"total": syn_vol, "MCA_left": syn_vol}},
            }
            if has_real:
                scores["HypometabolicVolumeMl"]["real"] = {
                    "total": lesion_ml,
                    "MCA_left": lesion_ml,
                }
                scores["ImageMetrics"] = {"PSNR": 28 + rng.normal() - k, "SSIM": 0.95 + 0.01 * rng.normal() - 0.01 * k,
                                          "NMAE": 0.08 + 0.01 * rng.normal(), "NMSE": 0.01 + 0.002 * rng.normal(),
                                          "NCC": 0.97 + 0.005 * rng.normal()}  # fmt: skip
                scores["PublishedMetrics"] = {
                    "PSNR": 30 + rng.normal(),
                    "SSIM": 0.9 + 0.01 * rng.normal(),
                }
                scores["HypometabolismAgreement"] = {"Dice": float(rng.uniform(0.4, 0.9)),
                                                     "VolumeDifferenceMl": syn_vol - lesion_ml}  # fmt: skip
            paths["metrics"].write_text(json.dumps(scores))
    write_text(
        bids / "participants.tsv", pd.DataFrame(rows).to_csv(sep="\t", index=False, na_rep="n/a")
    )
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=300)
    parser.add_argument("--models", type=int, default=1)
    args = parser.parse_args()
    models = ("gausspet", "unet", "pix2pix")[: args.models]
    with tempfile.TemporaryDirectory() as tmp:
        root = make_cohort(Path(tmp), args.n, models=models)
        start, cpu_start = time.perf_counter(), time.process_time()
        code = run_group_level(bids_dir=root / "bids", output_dir=root / "out", participant_labels=None,
                               nihss_column="NIHSS", mrs_column="mRS")  # fmt: skip
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        size = (root / "out" / "group.html").stat().st_size
    print(f"group level on {args.n} participants x {len(models)} model(s): {elapsed:.1f} s "
          f"wall, {cpu:.1f} s CPU (exit {code}, group.html {size / 1e6:.1f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
