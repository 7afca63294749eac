#!/usr/bin/env bash
# Make the local base image debian:bookworm-slim from scratch with debootstrap (no registry
# access needed), and import it into podman. Idempotent: does nothing when the image exists.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container_common.sh

if "${PODMAN[@]}" image exists "$BASE_IMAGE"; then
  echo "base image $BASE_IMAGE already present"
  exit 0
fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOTFS="$GAUSSPET_CONTAINER_HOME/rootfs-bookworm"
rm -rf "$ROOTFS"
"${NICE[@]}" debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR"
# Trim like the official slim image: no docs, man pages or locales (now or from later apt
# installs), no apt lists or caches in the base layer.
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
find "$ROOTFS/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
tar -C "$ROOTFS" -c . | "${PODMAN[@]}" import - "$BASE_IMAGE"
rm -rf "$ROOTFS"
"${PODMAN[@]}" image exists "$BASE_IMAGE"
echo "imported $BASE_IMAGE"
