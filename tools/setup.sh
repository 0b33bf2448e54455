#!/usr/bin/env bash
# Install the project's tools locally: a Python venv (.venv/) with cfn-lint, the SAM CLI,
# cargo-lambda, zig and parliament (from PyPI); the AWS emulator's venv (.venv-emulator/: moto
# server); checkov's venv (.venv-checkov/); and the npm tools (node_modules/). Idempotent: the
# main command and CI both call it.
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
# The AWS emulator gets its own venv: its pinned botocore must not fight the SAM CLI's.
if [ ! -x .venv-emulator/bin/python ]; then
  python3 -m venv .venv-emulator
fi
stamp=.venv-emulator/.requirements
if ! cmp -s local/emulator/requirements.txt "$stamp" 2>/dev/null; then
  .venv-emulator/bin/pip install --quiet --disable-pip-version-check -r local/emulator/requirements.txt
  cp local/emulator/requirements.txt "$stamp"
fi
# checkov too: it pins boto3 and networkx older than the SAM CLI's.
if [ ! -x .venv-checkov/bin/python ]; then
  python3 -m venv .venv-checkov
fi
stamp=.venv-checkov/.requirements
if ! cmp -s tools/requirements-checkov.txt "$stamp" 2>/dev/null; then
  .venv-checkov/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-checkov.txt
  cp tools/requirements-checkov.txt "$stamp"
fi
if [ ! -d node_modules/asl-validator ]; then
  npm ci --no-audit --no-fund --silent
fi
