#!/usr/bin/env bash
# K ablation (K = 0, 1, 3) and the 3D U-Net baseline with one reduced, identical recipe:
# the first 24 training participants of COHORT (18 train + 6 validation, seed 0), the default
# model's architecture (template map included), voxel-wise start 1000 steps (a quarter of the
# cubes on voxels the start misses) + 2 epochs of 4 random 48^3 crops per volume. The U-Net gets the same
# participants and 24 whole-box epochs (about the K = 1 wall time; third argument).
# Usage (from the repository root): bash benchmarks/model_ablation.sh COHORT RUNS_DIR [UNET_EPOCHS]
set -euo pipefail
cohort=${1:?cohort}; runs=${2:?runs dir}; unet_epochs=${3:-24}
# the README's virtualenv unless told otherwise
py=${PYTHON:-.venv/bin/python}
train=${GAUSSPET_TRAIN:-$(dirname "$py")/gausspet-train}
mkdir -p "$runs"
for K in 0 1 3; do
    /usr/bin/time -f "K=$K: %e s wall, %M KiB peak" \
    "$train" "$cohort" "$runs/ablation_k$K" -K "$K" --lam 1 --mu 10 \
        --channels 16 --depth 4 --stride 4 --fine-channels 16 --position-channels \
        --template-map 2 --w-template 30 --psf-fwhm-mm 5.5 \
        --voxelwise-steps 1000 --voxelwise-hard-fraction 0.25 --crop 48 --crops-per-volume 4 --ema 0.98 --epochs 2 --batch 4 \
        --lr 1e-3 --clip 1 --max-participants 24 --validation-fraction 0.25 --seed 0 --threads 1
done
/usr/bin/time -f "U-Net: %e s wall, %M KiB peak" \
"$py" benchmarks/model_evaluation.py train-unet "$cohort" "$runs/unet_baseline.safetensors" \
    --like "$runs/ablation_k1/model.safetensors" --max-participants 24 --validation-fraction 0.25 \
    --epochs "$unet_epochs" --threads 1
