#!/usr/bin/env bash
# Build the image (scripts/container_build.sh), then check it for real:
#   1. offline smoke tests as an arbitrary non-root user: --version, the BIDS validator on a
#      real BIDS-example PET dataset, a bad input rejected with exit code 2;
#   2. participant and group levels on a small two-participant phantom, once on the host
#      (.venv) and once in the container (--network none, non-root, read-only input). The host
#      run uses the gausspet_bids package copied out of the image, so that both runs have the
#      same code even when the checkout changed after the build (other work goes on in it):
#      what is compared is the container's environment against the host's;
#   3. the two output folders compared file by file (tests/container/compare_outputs.py).
# Prints the times of each step. Idempotent: every run starts from a fresh test folder.
#
#   bash scripts/container_test.sh                 # SKIP_BUILD=1 to reuse the built image
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
source scripts/container_common.sh

if [ "${SKIP_BUILD:-0}" != 1 ]; then bash scripts/container_build.sh; fi
"${PODMAN[@]}" image exists "$IMAGE" || { echo "error: image $IMAGE not built" >&2; exit 1; }

T=${GAUSSPET_CONTAINER_TEST_DIR:-$GAUSSPET_CONTAINER_HOME/test}
rm -rf "$T"
mkdir -p "$T"
# Non-root: the caller's ids, or an id the image does not know when the caller is root.
if [ "$(id -u)" -eq 0 ]; then RUN_USER=${RUN_USER:-4242:4242}; else RUN_USER=${RUN_USER:-$(id -u):$(id -g)}; fi
THREADS=(--nprocs 1 --omp-nthreads 1)    # single-threaded on both sides: deterministic ANTs
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=1

ctr() {  # podman run, offline, as $RUN_USER
  "${NICE[@]}" "${PODMAN[@]}" run --rm --network none --user "$RUN_USER" "$@"
}
seconds() { echo $(( $(date +%s) - $1 )); }

echo "== smoke tests ($IMAGE, user $RUN_USER, --network none)"
# One container for all of them: with vfs storage every container start copies the image.
EXAMPLE=${BIDS_EXAMPLE:-/work/shared/data/bids-examples/pet001}
mkdir -p "$T/notbids/sub-01" "$T/example"
if [ -d "$EXAMPLE" ]; then cp -r "$EXAMPLE/." "$T/example/"; fi
ctr -v "$T/example:/example:ro" -v "$T/notbids:/notbids:ro" --entrypoint bash "$IMAGE" -c '
  set -u
  gausspet --version
  python -c "import ants, deepbet, monai, nilearn, torch; print(\"torch\", torch.__version__)"
  if [ -f /example/dataset_description.json ]; then
    bids-validator-deno /example --format json > /tmp/validator.json
    python -c "import json; r = json.load(open(\"/tmp/validator.json\")); print(\"validator errors:\", sorted({i[\"code\"] for i in r[\"issues\"][\"issues\"] if i[\"severity\"] == \"error\"}))"
  fi
  gausspet /notbids /tmp/out participant 2> /tmp/notbids.err
  echo "non-BIDS input: exit code $?"; cat /tmp/notbids.err
' | tee "$T/smoke.log"
if [ -f "$T/example/dataset_description.json" ]; then
  "$REPO/.venv/bin/bids-validator-deno" "$T/example" --format json > "$T/validator-host.json" || true
  host=$("$REPO/.venv/bin/python" -c "import json; r = json.load(open('$T/validator-host.json')); print('validator errors:', sorted({i['code'] for i in r['issues']['issues'] if i['severity'] == 'error'}))")
  grep -qxF "$host" "$T/smoke.log" || { echo "error: validator differs from the host's: $host"; exit 1; }
  echo "offline validator in the container agrees with the host's"
fi
grep -q "non-BIDS input: exit code 2" "$T/smoke.log" && grep -q "no dataset_description.json" "$T/smoke.log" \
  || { echo "error: a non-BIDS input was not rejected with exit code 2"; exit 1; }
echo "non-BIDS input rejected with exit code 2"

echo "== phantom"
"$REPO/.venv/bin/gausspet-phantom" "$T/phantom" --participants 2 --seed 1 --small

echo "== the image's gausspet_bids, for the host run"
SRC="$T/image-src"
mkdir -p "$SRC"
if mnt=$("${PODMAN[@]}" image mount "$IMAGE" 2>/dev/null); then  # root: no container needed
  cp -r "$mnt"/opt/venv/lib/python3*/site-packages/gausspet_bids "$SRC/"
  "${PODMAN[@]}" image unmount "$IMAGE" >/dev/null
else
  ctr --entrypoint bash "$IMAGE" -c 'cd /opt/venv/lib/python3*/site-packages && tar -c gausspet_bids' \
    | tar -x -C "$SRC"
fi
host_gausspet() { (cd "$T" && PYTHONPATH="$SRC" "${NICE[@]}" "$REPO/.venv/bin/python" -m gausspet_bids "$@"); }
(cd "$T" && PYTHONPATH="$SRC" "$REPO/.venv/bin/python" -c \
  'import gausspet_bids, sys; p = gausspet_bids.__file__; print("host run uses", p); sys.exit(not p.startswith(sys.argv[1]))' "$SRC")
if diff -rq -x __pycache__ "$SRC/gausspet_bids" "$REPO/gausspet_bids" >/dev/null; then
  echo "the image's package is the checkout's"
else
  echo "note: the checkout's gausspet_bids changed since the image was built (the host run uses the image's)"
fi

echo "== host run"
start=$(date +%s)
host_gausspet "$T/phantom" "$T/out-host" participant --sloppy -w "$T/work-host" "${THREADS[@]}"
host_gausspet "$T/phantom" "$T/out-host" group -w "$T/work-host"
echo "host run: $(seconds "$start") s"

echo "== container run"
mkdir -p "$T/out-ctr" "$T/work-ctr"
chown "$RUN_USER" "$T/out-ctr" "$T/work-ctr"
start=$(date +%s)
ctr -v "$T/phantom:/data:ro" -v "$T/out-ctr:/out" -v "$T/work-ctr:/work" "$IMAGE" \
  /data /out participant --sloppy -w /work "${THREADS[@]}"
ctr -v "$T/phantom:/data:ro" -v "$T/out-ctr:/out" -v "$T/work-ctr:/work" "$IMAGE" \
  /data /out group -w /work
echo "container run: $(seconds "$start") s"
test -z "$(find "$T/out-ctr" ! -user "${RUN_USER%%:*}")" || { echo "error: files not owned by $RUN_USER"; exit 1; }

echo "== compare"
"$REPO/.venv/bin/python" tests/container/compare_outputs.py "$T/out-host" "$T/out-ctr" \
  --root "$T/phantom=/data" --root "$T/out-host=/out" --root "$T/work-host=/work"
echo "container outputs match the host run"
