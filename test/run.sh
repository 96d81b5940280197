#!/usr/bin/env bash
# `npm test`: brings in the external clients the interop tests drive (pinned, idempotent), type-checks the
# project, then runs every bun test file. Nothing is skipped: a missing tool fails its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${MARINA_TOOLS_DIR:-/opt/marina-tools}/bin:$PWD/node_modules/.bin:$PATH"
if [ "${MARINA_SKIP_TOOL_INSTALL:-}" != "1" ]; then
  bash .ci/install-tools.sh clients upstream s3
fi
echo "== typecheck =="
tsc --noEmit -p .
echo "== bun test =="
bun test "$@"
