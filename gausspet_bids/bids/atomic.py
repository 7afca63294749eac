"""Write files atomically: to a temporary name in the same folder, then rename.

A killed run never leaves a half-written derivative behind; readers see either the old file or
the complete new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path | str, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    ``suffix`` should repeat the real extension (e.g. ``.nii.gz``) for writers that infer the
    format from the name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or "".join(path.suffixes), dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates files readable by the owner only; derivatives follow the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: Path | str, text: str) -> Path:
    """Atomically write ``text`` to ``path``."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)


def write_json(path: Path | str, data: dict) -> Path:
    """Atomically write ``data`` as indented JSON."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def save_nifti(img, path: Path | str) -> Path:
    """Atomically save a nibabel image (the temporary name keeps the ``.nii.gz`` extension)."""
    import nibabel as nib

    path = Path(path)
    ext = ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix
    with atomic_path(path, suffix=ext) as tmp:
        nib.save(img, str(tmp))
    return path
