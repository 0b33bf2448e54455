#!/usr/bin/env bash
# Install the project's tools locally: a Python venv (.venv/) with cfn-lint, the SAM CLI,
# cargo-lambda, zig and parliament (from PyPI); the AWS emulator's venv (.venv-emulator/: moto
# server); checkov's venv (.venv-checkov/); the Prophet example trainer's (.venv-prophet/); and
# the npm tools (node_modules/). Idempotent: the
# main command and CI both call it.
set -euo pipefail
cd "$(dirname "$0")/.."
# venv DIR REQUIREMENTS: make DIR a venv with REQUIREMENTS installed (again only when they change).
venv() {
  local dir=$1 requirements=$2
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir"
  fi
  if ! cmp -s "$requirements" "$dir/.requirements" 2>/dev/null; then
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$dir/.requirements"
  fi
}
venv .venv tools/requirements.txt
# The AWS emulator gets its own venv: its pinned botocore must not fight the SAM CLI's.
venv .venv-emulator local/emulator/requirements.txt
# checkov too: it pins boto3 and networkx older than the SAM CLI's.
venv .venv-checkov tools/requirements-checkov.txt
# The Prophet example trainer (examples/prophet-trainer), run as a local training command.
venv .venv-prophet examples/prophet-trainer/requirements.txt
if [ ! -d node_modules/asl-validator ]; then
  npm ci --no-audit --no-fund --silent
fi
