"""Build the podman image and run it on a phantom; outputs must match the host run.

Minutes of work (image build, two full runs), so it runs only when asked:
``GAUSSPET_CONTAINER_TESTS=1 .venv/bin/pytest -m container tests/container``. Needs podman,
buildah, runc and debootstrap (Debian 12) and root or a rootless podman set-up.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.container,
    pytest.mark.skipif(
        os.environ.get("GAUSSPET_CONTAINER_TESTS") != "1",
        reason="container build/run test: set GAUSSPET_CONTAINER_TESTS=1",
    ),
]


def test_container_runs_participant_and_group_like_the_host() -> None:
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "container_test.sh")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3 * 3600,
    )
    log = result.stdout[-6000:] + result.stderr[-6000:]
    assert result.returncode == 0, log
    assert "non-BIDS input rejected with exit code 2" in result.stdout
    assert "0 difference(s)" in result.stdout, log
    assert "container outputs match the host run" in result.stdout
