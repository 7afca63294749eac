import os
import stat

import pytest

from gausspet_bids.bids.atomic import atomic_path, write_json


def test_atomic_write_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = write_json(tmp_path / "sub" / "x.json", {"a": 1})
    finally:
        os.umask(old)
    assert out.read_text().strip().startswith("{")
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "y.nii.gz"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
