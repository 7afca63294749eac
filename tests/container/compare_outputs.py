"""Compare two gausspet output folders (e.g. a container run and a host run of the same data).

``python tests/container/compare_outputs.py A B [--root A_ROOT=B_ROOT ...]`` prints every
difference and exits 1 if there is one. Images must agree voxel-wise within a tolerance, tables
cell-wise, JSON sidecars key by key; what legitimately differs between the two runs (the
container description in GeneratedBy, the mount points given with --root, HTML pages and
figures, logs) is not compared or is normalised first.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

IGNORED_KEYS = {"Container"}  # GeneratedBy[].Container says how the run was packaged
NOT_COMPARED = {".html", ".svg", ".png", ".log", ".txt", ".pklz", ".toml"}
IGNORED_DIRS = {"log", "logs", "figures"}  # run logs (times, paths), report figures


def _files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not IGNORED_DIRS.intersection(p.relative_to(root).parts[:-1])
    }


def _normalise(value, roots: list[tuple[str, str]]):
    if isinstance(value, dict):
        return {k: _normalise(v, roots) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        return [_normalise(v, roots) for v in value]
    if isinstance(value, str):
        for a, b in roots:
            value = value.replace(a, b)
    return value


def _compare_json(a: Path, b: Path, roots, atol: float) -> list[str]:
    ja = _normalise(json.loads(a.read_text()), roots)
    jb = _normalise(json.loads(b.read_text()), [])
    return [f"{b}: {d}" for d in _diff(ja, jb, "", atol)]


def _diff(x, y, where: str, atol: float) -> list[str]:
    if isinstance(x, dict) and isinstance(y, dict):
        out = [f"{where}/{k}: only in one run" for k in sorted(set(x) ^ set(y))]
        for k in sorted(set(x) & set(y)):
            out += _diff(x[k], y[k], f"{where}/{k}", atol)
        return out
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return [f"{where}: lists of length {len(x)} and {len(y)}"]
        return [
            d
            for i, (u, v) in enumerate(zip(x, y, strict=True))
            for d in _diff(u, v, f"{where}[{i}]", atol)
        ]
    if isinstance(x, float | int) and isinstance(y, float | int) and not isinstance(x, bool):
        same = math.isclose(x, y, rel_tol=1e-5, abs_tol=atol) or (math.isnan(x) and math.isnan(y))
        return [] if same else [f"{where}: {x!r} != {y!r}"]
    return [] if x == y else [f"{where}: {x!r} != {y!r}"]


def _compare_nifti(a: Path, b: Path, atol: float) -> tuple[list[str], float]:
    ia, ib = nib.load(a), nib.load(b)
    if ia.shape != ib.shape:
        return [f"{b}: shape {ia.shape} != {ib.shape}"], math.inf
    if not np.allclose(ia.affine, ib.affine, atol=1e-5):
        return [f"{b}: affines differ"], math.inf
    da, db = np.asanyarray(ia.dataobj), np.asanyarray(ib.dataobj)
    if da.dtype != db.dtype:
        return [f"{b}: dtype {da.dtype} != {db.dtype}"], math.inf
    both = np.isfinite(da) & np.isfinite(db)
    if not np.array_equal(np.isfinite(da), np.isfinite(db)):
        return [f"{b}: non-finite voxels differ"], math.inf
    delta = float(np.max(np.abs(da[both].astype(float) - db[both].astype(float)), initial=0.0))
    return ([f"{b}: max |difference| {delta:g} > {atol:g}"] if delta > atol else []), delta


def _compare_tsv(a: Path, b: Path, roots, atol: float) -> list[str]:
    ta, tb = pd.read_csv(a, sep="\t"), pd.read_csv(b, sep="\t")
    if list(ta.columns) != list(tb.columns) or ta.shape != tb.shape:
        return [
            f"{b}: columns/shape {list(ta.columns)} {ta.shape} != {list(tb.columns)} {tb.shape}"
        ]
    ja = _normalise(json.loads(ta.to_json(orient="records")), roots)
    jb = json.loads(tb.to_json(orient="records"))
    return [f"{b}: {d}" for d in _diff(ja, jb, "", atol)]


def compare_trees(
    a: Path, b: Path, roots: list[tuple[str, str]] | None = None, atol: float = 1e-4
) -> tuple[list[str], dict]:
    """Differences between output folders ``a`` and ``b``, and a summary of what was compared.

    ``roots`` are (string in a, string in b) replacements for paths that name where each run
    saw its data (host folder vs container mount point).
    """
    roots = roots or []
    fa, fb = _files(a), _files(b)
    problems = [f"only in {a}: {f}" for f in sorted(fa - fb)]
    problems += [f"only in {b}: {f}" for f in sorted(fb - fa)]
    summary = {"files": len(fa & fb), "images": 0, "tables": 0, "json": 0, "max_image_diff": 0.0}
    for rel in sorted(fa & fb):
        pa, pb = a / rel, b / rel
        if rel.endswith((".nii", ".nii.gz")):
            found, delta = _compare_nifti(pa, pb, atol)
            summary["images"] += 1
            summary["max_image_diff"] = max(summary["max_image_diff"], delta)
        elif rel.endswith(".tsv"):
            found = _compare_tsv(pa, pb, roots, atol)
            summary["tables"] += 1
        elif rel.endswith(".json"):
            found = _compare_json(pa, pb, roots, atol)
            summary["json"] += 1
        elif Path(rel).suffix in NOT_COMPARED:
            found = []
        else:
            found = [] if pa.read_bytes() == pb.read_bytes() else [f"{pb}: bytes differ"]
        problems += found
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--root", action="append", default=[], metavar="A_PATH=B_PATH")
    parser.add_argument("--atol", type=float, default=1e-4)
    opts = parser.parse_args(argv)
    roots = [tuple(r.split("=", 1)) for r in opts.root]
    problems, summary = compare_trees(opts.a, opts.b, roots, opts.atol)
    for p in problems:
        print(p)
    print(
        f"compared {summary['files']} files ({summary['images']} images, {summary['tables']} "
        f"tables, {summary['json']} JSON); max image difference {summary['max_image_diff']:g}; "
        f"{len(problems)} difference(s)"
    )
    return 1 if problems or summary["files"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
