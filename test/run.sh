#!/usr/bin/env bash
# `npm test`: brings in the external clients the interop tests drive (pinned, idempotent), type-checks the
# project, then runs every bun test file. Nothing is skipped: a missing tool fails its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${MARINA_TOOLS_DIR:-/opt/marina-tools}/bin:$PWD/node_modules/.bin:$PATH"
if [ "${MARINA_SKIP_TOOL_INSTALL:-}" != "1" ]; then
  # bench: wrk for test/bench (the generators' status counting); oha is left to the benchmark itself.
  # conformance: test/integration/s3-workers.test.ts runs the official suite against serve --workers 2 on S3.
  MARINA_TOOLS_SKIP_OHA=1 bash .ci/install-tools.sh clients upstream ops browser bench s3 conformance postgres
fi
echo "== typecheck =="
tsc --noEmit -p .
echo "== bun test =="
# Bun 1.4.5 ignores bunfig.toml's [test] timeout: pass it here, so a loaded CI machine does not cut a slow test at 5 s.
bun test --timeout 30000 "$@"
