#!/usr/bin/env bash
# Install the project's tools locally. Idempotent (a venv is installed again only when its
# requirements change). What is installed depends on what it is for:
#   tools/setup.sh demo   the AWS emulator's venv (.venv-emulator/: moto server): all `make demo` needs
#   tools/setup.sh test   and the Prophet example trainer's (.venv-prophet/): all `make test` needs
#   tools/setup.sh        (all) and the benchmarks' Python baselines (.venv-bench/), the CI tools:
#                         .venv/ (cfn-lint, the SAM CLI, cargo-lambda, zig, parliament),
#                         .venv-checkov/, and the npm tools (node_modules/)
set -euo pipefail
cd "$(dirname "$0")/.."
for_what=${1:-all}
case "$for_what" in demo|test|all) ;; *) echo "usage: tools/setup.sh [demo|test|all]" >&2; exit 2 ;; esac
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
# The AWS emulator gets its own venv: its pinned botocore must not fight the SAM CLI's.
venv .venv-emulator local/emulator/requirements.txt
[ "$for_what" = demo ] && exit 0
# The Prophet example trainer (examples/prophet-trainer), run as a training command by the tests.
venv .venv-prophet examples/prophet-trainer/requirements.txt
[ "$for_what" = test ] && exit 0
# The cold-start benchmark's Python baselines (awslambdaric, boto3).
venv .venv-bench local/bench/requirements.txt
venv .venv tools/requirements.txt
# checkov too: it pins boto3 and networkx older than the SAM CLI's.
venv .venv-checkov tools/requirements-checkov.txt
if [ ! -d node_modules/asl-validator ]; then
  npm ci --no-audit --no-fund --silent
fi
