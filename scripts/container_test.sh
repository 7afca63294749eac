#!/usr/bin/env bash
# Build the image (scripts/container_build.sh), then check it for real:
#   1. offline smoke tests as an arbitrary non-root user: --version, the BIDS validator on a
#      real BIDS-example PET dataset, a bad input rejected with exit code 2;
#   2. participant and group levels on a small two-participant phantom, once on the host
#      (.venv) and once in the container (--network none, non-root, read-only input);
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
ctr "$IMAGE" --version
EXAMPLE=${BIDS_EXAMPLE:-/work/shared/data/bids-examples/pet001}
if [ -d "$EXAMPLE" ]; then
  ctr -v "$EXAMPLE:/data:ro" --entrypoint bids-validator-deno "$IMAGE" /data --json > "$T/validator.json"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('validator:', r['summary']['subjects'], 'subject(s),', len([i for i in r['issues']['issues'] if i['severity']=='error']), 'error(s)')" "$T/validator.json"
fi
mkdir -p "$T/notbids/sub-01" "$T/notbids-out"
chown -R "$RUN_USER" "$T/notbids-out"
set +e
ctr -v "$T/notbids:/data:ro" -v "$T/notbids-out:/out" "$IMAGE" /data /out participant 2> "$T/notbids.err"
rc=$?
set -e
grep -q "no dataset_description.json" "$T/notbids.err" && [ $rc -eq 2 ] \
  || { echo "error: a non-BIDS input gave exit code $rc:"; cat "$T/notbids.err"; exit 1; }
echo "non-BIDS input rejected with exit code 2"

echo "== phantom"
"$REPO/.venv/bin/gausspet-phantom" "$T/phantom" --participants 2 --seed 1 --small

echo "== host run"
start=$(date +%s)
(cd "$T" && "${NICE[@]}" "$REPO/.venv/bin/gausspet" "$T/phantom" "$T/out-host" participant \
  --sloppy -w "$T/work-host" "${THREADS[@]}")
(cd "$T" && "${NICE[@]}" "$REPO/.venv/bin/gausspet" "$T/phantom" "$T/out-host" group -w "$T/work-host")
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
