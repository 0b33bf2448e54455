#!/usr/bin/env bash
# Install the project's tools locally: a Python venv (.venv/) with cfn-lint, the SAM CLI,
# cargo-lambda and zig (from PyPI), and the npm tools (node_modules/). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements
if ! cmp -s tools/requirements.txt "$stamp" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tools/requirements.txt
  cp tools/requirements.txt "$stamp"
fi
if [ ! -d node_modules/asl-validator ]; then
  npm ci --no-audit --no-fund --silent
fi
