#!/usr/bin/env bash
# Shared settings for scripts/container_build.sh and scripts/container_test.sh (sourced, not run).
#
# podman from Debian 12 on a machine without a Docker engine: vfs storage (no overlay mounts),
# runc as the OCI runtime, and ulimits low enough for runc to apply them inside the sandbox.
# Everything is kept under $GAUSSPET_CONTAINER_HOME so the scripts never touch the system's
# podman configuration.

GAUSSPET_CONTAINER_HOME=${GAUSSPET_CONTAINER_HOME:-/var/tmp/gausspet-containers}
IMAGE=${IMAGE:-localhost/gausspet:latest}
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
mkdir -p "$GAUSSPET_CONTAINER_HOME"

export CONTAINERS_CONF="$GAUSSPET_CONTAINER_HOME/containers.conf"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
CONF

# vfs: every layer is a full copy (slow, disk-hungry) but needs no kernel overlay support.
PODMAN=(podman --storage-driver=vfs)

# Prefix heavy commands with this: the build machine's cores are shared.
NICE=(nice -n 10)
