"""Copy a trained checkpoint into the package as the default model (weights unchanged).

    python benchmarks/model_package_default.py RUN_DIR/model.safetensors

Writes gausspet_bids/data/models/gausspet_phantom_default.{safetensors,json}; the JSON gets the
default model's name and description; the weights (and so their sha256) are copied as they are.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from gausspet_bids.bids.atomic import write_json
from gausspet_bids.model.checkpoint import (
    DEFAULT_MODEL_NAME,
    default_model_path,
    load_model_metadata,
    sha256_of,
)

DESCRIPTION = (
    "GaussPET default model, trained on the gausspet digital reference (phantom) cohort "
    "(see docs/model.md for the exact commands). For demonstration and fine-tuning only; "
    "not for clinical use."
)


def main(argv: list[str] | None = None) -> int:
    source = Path((argv or sys.argv[1:])[0])
    meta = load_model_metadata(source)
    target = default_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    if sha256_of(target) != meta["sha256"]:
        raise SystemExit(f"{target}: copied weights do not match {source.with_suffix('.json')}")
    meta.update(
        {"name": DEFAULT_MODEL_NAME, "description": DESCRIPTION, "weights_file": target.name}
    )
    meta.pop("state", None)
    write_json(target.with_suffix(".json"), meta)
    print(f"packaged {source} as {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
