#!/usr/bin/env bash
# The main job on bundled demo data: generate a small digital reference cohort (phantom) and run
# gausspet on it with the model shipped in the package, participant then group level.
# Usage: bash scripts/demo.sh [DEMO_DIR]   (default: ./demo)
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${1:-demo}
BIN=.venv/bin
rm -rf "$DEMO"
"$BIN/gausspet-phantom" "$DEMO/bids" --participants 3 --seed 42 --small --ground-truth "$DEMO/ground_truth"
"$BIN/gausspet" "$DEMO/bids" "$DEMO/derivatives" participant -w "$DEMO/work" --sloppy
"$BIN/gausspet" "$DEMO/bids" "$DEMO/derivatives" group
echo "Demo finished: open $DEMO/derivatives/sub-*.html and $DEMO/derivatives/group.html"
