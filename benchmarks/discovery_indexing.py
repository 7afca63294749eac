"""How long PyBIDS indexing takes for input discovery, with and without our settings.

Builds a BIDS tree of N participants x 2 sessions with anat/dwi/pet/func files (tiny placeholder
images and real JSON sidecars: only the structure matters for indexing), then times
``gausspet_bids.bids.discovery.build_layout`` (no validation, no metadata index, func/
derivatives ignored) against PyBIDS' default ``BIDSLayout(validate=False)``.

    python benchmarks/discovery_indexing.py --participants 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def make_tree(root: Path, n: int) -> int:
    root.mkdir(parents=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "bench", "BIDSVersion": "1.10.0"})
    )
    files = 0
    for i in range(1, n + 1):
        for ses in ("1", "2"):
            stem = f"sub-{i:04d}_ses-{ses}"
            folder = root / f"sub-{i:04d}" / f"ses-{ses}"
            names = {
                "anat": [f"{stem}_T1w", f"{stem}_T2w", f"{stem}_FLAIR"],
                "dwi": [f"{stem}_dwi"],
                "pet": [f"{stem}_trc-FDG_pet"],
                "func": [f"{stem}_task-rest_run-{r}_bold" for r in range(1, 6)],
            }
            for datatype, stems in names.items():
                (folder / datatype).mkdir(parents=True, exist_ok=True)
                for s in stems:
                    (folder / datatype / f"{s}.nii.gz").write_bytes(b"\0")
                    (folder / datatype / f"{s}.json").write_text(
                        json.dumps({"RepetitionTime": 2.0})
                    )
                    files += 2
                    if datatype == "dwi":
                        (folder / datatype / f"{s}.bval").write_text("0 1000\n")
                        (folder / datatype / f"{s}.bvec").write_text("0 1\n0 0\n0 0\n")
                        files += 2
    (root / "derivatives" / "other").mkdir(parents=True)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200)
    args = parser.parse_args()
    from bids import BIDSLayout

    from gausspet_bids.bids.discovery import build_layout, discover

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bids"
        n_files = make_tree(root, args.participants)
        t0 = time.perf_counter()
        ours = build_layout(root)
        t1 = time.perf_counter()
        sessions = discover(root, layout=ours)
        t2 = time.perf_counter()
        default = BIDSLayout(str(root), validate=False)
        t3 = time.perf_counter()
        print(
            f"{args.participants} participants, {n_files} files: gausspet build_layout {t1 - t0:.1f} s "
            f"({len(ours.get())} files indexed), then discover() {t2 - t1:.1f} s for {len(sessions)} "
            f"sessions; pybids default BIDSLayout {t3 - t2:.1f} s "
            f"({len(default.get())} files indexed)"
        )


if __name__ == "__main__":
    main()
