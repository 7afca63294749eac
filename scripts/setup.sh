#!/usr/bin/env bash
# One-command set-up for gausspet on Debian 12 / Ubuntu: system packages from apt, a virtual
# environment in .venv, and the package with its pinned dependencies (CPU torch 2.13.0, ANTs via
# antspyx, deepbet with its bundled weights, the offline BIDS validator).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# System packages: venv support, and Chromium for the headless report tests.
APT_PACKAGES="python3-venv python3-dev chromium"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
.venv/bin/gausspet --version
echo "gausspet is installed in .venv (activate with: source .venv/bin/activate)"
