#!/usr/bin/env bash
# Build the gausspet image with podman (no Docker engine needed), reproducibly and offline
# except for PyPI/apt: a local debian:bookworm-slim base made by debootstrap, the local CPU torch
# wheel passed in as a build argument, and the host's CA bundle given to pip as a build secret.
#
#   bash scripts/container_build.sh            # builds localhost/gausspet:latest
#   IMAGE=localhost/gausspet:dev bash scripts/container_build.sh
#
# Idempotent: the base image is made once. Prints the build time and the image size at the end.
#
# Disk: with vfs storage every committed layer and every build container is a full copy of the
# file system (about 2 GB each here), so podman's per-instruction layer cache peaked at 48 GB.
# By default the build therefore commits one layer per stage (--layers=false: no cache, about
# 10 GB at the peak) and removes the image it replaces. LAYERS=1 keeps the per-instruction
# cache (cheaper rebuilds after a source change, but 40-50 GB of disk).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container_common.sh

bash scripts/container_base.sh

# The torch wheel that pip resolves for torch==2.13.0 on this machine (a local find-links dir);
# hard-linked into the build context (build/ is git-ignored) and named by a build argument.
TORCH_WHEEL_SRC=${TORCH_WHEEL_SRC:-}
if [ -z "$TORCH_WHEEL_SRC" ]; then
  rm -rf "$GAUSSPET_CONTAINER_HOME/wheels"
  python3 -m pip download -q "torch==2.13.0" --no-deps -d "$GAUSSPET_CONTAINER_HOME/wheels"
  TORCH_WHEEL_SRC=$(ls "$GAUSSPET_CONTAINER_HOME"/wheels/torch-2.13.0*.whl)
fi
case "$TORCH_WHEEL_SRC" in
  *+cpu*) ;;
  *) echo "error: $TORCH_WHEEL_SRC is not a CPU torch wheel; refusing a CUDA download" >&2; exit 2 ;;
esac
mkdir -p build/torch
find build/torch -name '*.whl' ! -name "$(basename "$TORCH_WHEEL_SRC")" -delete
ln -f "$TORCH_WHEEL_SRC" build/torch/ 2>/dev/null || cp -f "$TORCH_WHEEL_SRC" build/torch/
TORCH_WHEEL="build/torch/$(basename "$TORCH_WHEEL_SRC")"

# Same versions as the tested virtualenv: its `pip freeze` as constraints, named by content.
PIP_CONSTRAINTS=""
if [ -x .venv/bin/pip ] && [ "${USE_VENV_CONSTRAINTS:-1}" = 1 ]; then
  mkdir -p build/pip
  freeze=$(.venv/bin/pip freeze --exclude-editable --disable-pip-version-check | grep -E '^[A-Za-z0-9_.-]+==')
  sum=$(printf '%s\n' "$freeze" | sha256sum | cut -c1-12)
  rm -f build/pip/constraints-*.txt
  printf '%s\n' "$freeze" > "build/pip/constraints-$sum.txt"
  PIP_CONSTRAINTS="build/pip/constraints-$sum.txt"
fi

CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
VCS_REF=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

LAYERS=${LAYERS:-0}
if [ "$LAYERS" = 1 ]; then LAYERS_ARG=--layers=true; else LAYERS_ARG=--layers=false; fi
OLD_ID=$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Id}}' 2>/dev/null || true)

start=$(date +%s)
"${NICE[@]}" "${PODMAN[@]}" build "$LAYERS_ARG" \
  --network host --format docker \
  --secret "id=cacert,src=$CA_BUNDLE" \
  --build-arg "TORCH_WHEEL=$TORCH_WHEEL" \
  --build-arg "PIP_CONSTRAINTS=$PIP_CONSTRAINTS" \
  --build-arg "VERSION=$VERSION" \
  --build-arg "VCS_REF=$VCS_REF" \
  --build-arg "BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --build-arg "IMAGE_TAG=$IMAGE" \
  -t "$IMAGE" -f Dockerfile .
end=$(date +%s)

# The image this build replaced, if nothing else uses it, and dangling gausspet images
# (intermediate and replaced ones: only those with this project's title label).
NEW_ID=$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Id}}')
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then
  "${PODMAN[@]}" rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
if [ "$LAYERS" != 1 ]; then
  "${PODMAN[@]}" image prune -f --filter label=org.opencontainers.image.title=gausspet >/dev/null
fi

size=$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Size}}')
echo "built $IMAGE in $((end - start)) s; image size $((size / 1000000)) MB"
