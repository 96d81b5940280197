#!/usr/bin/env bash
# Runs the official OCI distribution-spec conformance suite against a fresh `marina serve`, twice:
# OCI_VERSION=1.1 and OCI_VERSION=dev, with every API switch on and every data set but `sparse`.
# Fails unless both runs report Pass with no FAIL, Error or Skip under `apis:` or `data:` in results.yaml.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TOOLS_BIN="${MARINA_TOOLS_DIR:-/opt/marina-tools}/bin"
export PATH="$TOOLS_BIN:$ROOT/node_modules/.bin:$PATH"

if ! command -v go >/dev/null 2>&1; then
  echo "conformance: Go is not installed; it is needed to build the official suite (go install). Install Go >= 1.24." >&2
  exit 1
fi
bash .ci/install-tools.sh conformance
command -v conformance >/dev/null || { echo "conformance: the conformance binary is missing after install" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/marina-conformance.XXXXXX")
OUT="${CONFORMANCE_OUT:-$ROOT/results/conformance}"
rm -rf "$OUT"; mkdir -p "$OUT"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port, chosen by the kernel.
PORT=$(bun -e 'const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)')
bun src/cli/main.ts serve --host 127.0.0.1 --port "$PORT" --data "$WORK/data" --log-level warn >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "conformance: marina exited early:"; cat "$OUT/server.log"; exit 1; }
  sleep 0.1
done

# Every switch on; every data set on except sparse (it expects manifests with missing blobs to be accepted).
common_env=(
  OCI_REGISTRY="127.0.0.1:$PORT" OCI_TLS=disabled
  OCI_REPO1=conformance/repo1 OCI_REPO2=conformance/repo2
  OCI_API_PULL=true OCI_API_PUSH=true OCI_API_PING=true
  OCI_API_BLOBS_ATOMIC=true OCI_API_BLOBS_DELETE=true OCI_API_BLOBS_DIGEST_HEADER=true
  OCI_API_BLOBS_MOUNT_ANONYMOUS=true OCI_API_BLOBS_UPLOAD_CANCEL=true
  OCI_API_MANIFESTS_ATOMIC=true OCI_API_MANIFESTS_DELETE=true OCI_API_MANIFESTS_DIGEST_HEADER=true
  OCI_API_MANIFESTS_TAG_PARAM=true
  OCI_API_TAGS_ATOMIC=true OCI_API_TAGS_DELETE=true OCI_API_TAGS_LIST=true
  OCI_API_REFERRER=true
  OCI_DATA_SPARSE=false
)

status=0
for version in 1.1 dev; do
  dir="$OUT/$version"; mkdir -p "$dir"
  echo "== conformance OCI_VERSION=$version =="
  set +e
  (cd "$dir" && env "${common_env[@]}" OCI_VERSION="$version" OCI_RESULTS_DIR="$dir" conformance >"$dir/stdout.txt" 2>"$dir/stderr.txt")
  rc=$?
  set -e
  grep -E '^OCI Conformance Result:|^ *(Pass|FAIL|Error|Skip|Disabled)[: ]' "$dir/stdout.txt" | head -20 || true
  bad=$( { sed -n '/^apis:/,$p' "$dir/results.yaml" 2>/dev/null || true; } | grep -E ': (FAIL|Error|Skip|Disabled|Unknown)$' | grep -vx '  Sparse Manifests: Disabled' || true)
  if [ "$rc" -ne 0 ] || [ ! -s "$dir/results.yaml" ] || ! grep -qx 'OCI Conformance Result: Pass' "$dir/stdout.txt" || [ -n "$bad" ]; then
    echo "conformance OCI_VERSION=$version: FAILED (exit $rc)"
    [ -n "$bad" ] && echo "$bad"
    tail -40 "$dir/stderr.txt" || true
    status=1
  else
    echo "conformance OCI_VERSION=$version: Pass (no FAIL, Error, Skip or Disabled under apis/data but the excluded sparse set)"
  fi
done
exit $status
