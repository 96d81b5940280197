#!/usr/bin/env bash
# Runs the official OCI distribution-spec conformance suite against a fresh `marina serve`, seven times:
# OCI_VERSION=1.1 and OCI_VERSION=dev against an open server, and OCI_VERSION=1.1 against a second server with
# access control on (htpasswd users + Marina's token service; the suite logs in with OCI_USERNAME/OCI_PASSWORD and
# follows the Bearer challenges), OCI_VERSION=1.1 against `serve --workers 2`, OCI_VERSION=1.1 against
# `serve --index postgres://…` (metadata in a throwaway PostgreSQL cluster), and OCI_VERSION=1.1 and dev through a
# round-robin balancer in front of three `serve --locks host` nodes. Every API switch on and every data set but
# `sparse`.
# Fails unless every run reports Pass with no FAIL, Error or Skip under `apis:` or `data:` in results.yaml.
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
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_server <log file> <serve flags…>: starts marina on a free loopback port; sets PORT.
start_server() {
  local log=$1; shift
  # A free loopback port, chosen by the kernel.
  PORT=$(bun -e 'const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)')
  bun src/cli/main.ts serve --host 127.0.0.1 --port "$PORT" --log-level warn "$@" >"$log" 2>&1 &
  local pid=$!
  SERVER_PIDS+=("$pid")
  for _ in $(seq 1 100); do
    # Any HTTP answer (200 open, 401 with auth) means it is listening.
    [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/" 2>/dev/null)" != "000" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "conformance: marina exited early:"; cat "$log"; exit 1; }
    sleep 0.1
  done
  echo "conformance: marina did not start:"; cat "$log"; exit 1
}

start_server "$OUT/server.log" --data "$WORK/data"
OPEN_PORT=$PORT

# The same registry with access control: one htpasswd user (bcrypt, as htpasswd -B writes it) and the token service.
AUTH_USER=conformance
AUTH_PASSWORD=$(bun -e 'console.log(crypto.randomUUID())')
bun -e 'const [u, p, f] = process.argv.slice(1); await Bun.write(f, `${u}:${(await Bun.password.hash(p, { algorithm: "bcrypt", cost: 5 })).replace(/^\$2b\$/, "$2y$")}\n`)' \
  "$AUTH_USER" "$AUTH_PASSWORD" "$WORK/users.htpasswd"
start_server "$OUT/server-auth.log" --data "$WORK/data-auth" --htpasswd "$WORK/users.htpasswd" --auth token
AUTH_PORT=$PORT
# The auth server really refuses anonymous callers (otherwise the third run would prove nothing).
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AUTH_PORT/v2/_catalog")" = "401" ] || { echo "conformance: the auth server did not answer 401 to an anonymous request"; exit 1; }

# The open registry again as two worker processes on one port and data directory (`serve --workers 2`): the suite's
# requests land on either worker, so its push-then-read steps check cross-process consistency.
start_server "$OUT/server-workers.log" --data "$WORK/data-workers" --workers 2
WORKERS_PORT=$PORT

# The open registry on the PostgreSQL index (`serve --index postgres://…`, a throwaway cluster that lives as long as
# this script: the coprocess stops and removes it when its stdin closes).
bash .ci/install-tools.sh postgres >/dev/null
coproc PG { exec bun test/support/postgres-cli.ts; }
SERVER_PIDS+=("$PG_PID")
read -r -t 90 PG_URL <&"${PG[0]}" || { echo "conformance: the PostgreSQL cluster did not start"; exit 1; }
start_server "$OUT/server-pg.log" --data "$WORK/data-pg" --index "$PG_URL"
PG_PORT=$PORT

# Three independent nodes (`--locks host`, each on its own port, one data directory) behind a round-robin balancer
# that sends each request to the next node (test/support/balancer.ts): every step of the suite may cross nodes.
NODE_URLS=()
for i in 1 2 3; do
  start_server "$OUT/server-node-$i.log" --data "$WORK/data-nodes" --locks host
  NODE_URLS+=("http://127.0.0.1:$PORT")
done
bun test/support/balancer.ts "${NODE_URLS[@]}" >"$WORK/balancer.out" 2>"$OUT/balancer.log" &
SERVER_PIDS+=("$!")
for _ in $(seq 1 100); do grep -q '^http://' "$WORK/balancer.out" && break; sleep 0.1; done
BALANCER_PORT=$(sed -n 's|^http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$WORK/balancer.out")
[ -n "$BALANCER_PORT" ] || { echo "conformance: the balancer did not start:"; cat "$OUT/balancer.log"; exit 1; }

# Every switch on; every data set on except sparse (it expects manifests with missing blobs to be accepted).
common_env=(
  OCI_TLS=disabled
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
# name  OCI_VERSION  port  extra env
runs=(
  "1.1 1.1 $OPEN_PORT"
  "dev dev $OPEN_PORT"
  "auth-token-1.1 1.1 $AUTH_PORT OCI_USERNAME=$AUTH_USER OCI_PASSWORD=$AUTH_PASSWORD"
  "workers-2-1.1 1.1 $WORKERS_PORT"
  "postgres-1.1 1.1 $PG_PORT"
  "nodes-3-1.1 1.1 $BALANCER_PORT"
  "nodes-3-dev dev $BALANCER_PORT"
)
for spec in "${runs[@]}"; do
  read -r name version port extra <<<"$spec"
  dir="$OUT/$name"; mkdir -p "$dir"
  echo "== conformance $name (OCI_VERSION=$version) =="
  set +e
  # shellcheck disable=SC2086 # $extra holds KEY=value words
  (cd "$dir" && env "${common_env[@]}" OCI_REGISTRY="127.0.0.1:$port" OCI_VERSION="$version" OCI_RESULTS_DIR="$dir" $extra conformance >"$dir/stdout.txt" 2>"$dir/stderr.txt")
  rc=$?
  set -e
  grep -E '^OCI Conformance Result:|^ *(Pass|FAIL|Error|Skip|Disabled)[: ]' "$dir/stdout.txt" | head -20 || true
  bad=$( { sed -n '/^apis:/,$p' "$dir/results.yaml" 2>/dev/null || true; } | grep -E ': (FAIL|Error|Skip|Disabled|Unknown)$' | grep -vx '  Sparse Manifests: Disabled' || true)
  if [ "$rc" -ne 0 ] || [ ! -s "$dir/results.yaml" ] || ! grep -qx 'OCI Conformance Result: Pass' "$dir/stdout.txt" || [ -n "$bad" ]; then
    echo "conformance $name: FAILED (exit $rc)"
    [ -n "$bad" ] && echo "$bad"
    tail -40 "$dir/stderr.txt" || true
    status=1
  else
    echo "conformance $name: Pass (no FAIL, Error, Skip or Disabled under apis/data but the excluded sparse set)"
  fi
done
exit $status
