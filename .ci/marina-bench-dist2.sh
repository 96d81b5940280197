#!/usr/bin/env bash
# CI stage: `marina bench --quick` against Debian's Distribution 2.8 on a loopback port, every scenario it supports,
# bounded by `timeout`; the registry and its temporary root are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
work=$(mktemp -d)
port=$(bun -e 'const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)')
cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
/usr/bin/docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry=$!
# The registry's own exit status (143 after the kill) must not become this stage's.
trap 'kill "$registry" 2>/dev/null || true; wait "$registry" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
# Half-second windows keep the stage under a minute; the report lands in bench/results/marina-bench-dist2.*.
timeout 90 bin/marina bench "http://127.0.0.1:$port" --quick --window 0.5 --budget 60 --out bench/results --name marina-bench-dist2
