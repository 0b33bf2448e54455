#!/usr/bin/env bash
# Build every function's bootstrap as template.yaml deploys it: release, arm64 (aarch64), by
# cargo-lambda with zig as the linker (the five workers: not the libraries, the local crate or the
# operator command). Prints each bootstrap's size.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
arch=--arm64
if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  if ! rustup target add aarch64-unknown-linux-gnu; then
    # Toolchain downloads are not promised everywhere: fall back to x86_64 and say so loudly.
    echo "WARNING: no aarch64 target; building x86_64 (template.yaml says arm64)" >&2
    arch=--x86-64
  fi
fi
cargo lambda build --release "$arch" --lambda-dir "${CARGO_TARGET_DIR:-target}/lambda" --workspace --exclude retraining-pipeline --exclude asl-executor --exclude retrain-contract --exclude retrain-core --exclude run-report --exclude local --exclude bench --exclude reference-trainer --exclude retrain
# The bootstraps (cargo-lambda writes them under the target directory's lambda/).
found=0
while IFS= read -r f; do
  found=1
  printf '%-22s %s bytes\n' "$(basename "$(dirname "$f")")" "$(stat -c %s "$f")"
done < <(find "${CARGO_TARGET_DIR:-target}/lambda" -name bootstrap -path '*/lambda/*/bootstrap' 2>/dev/null | sort)
[ "$found" = 1 ] || { echo "no bootstrap under ${CARGO_TARGET_DIR:-target}/lambda" >&2; exit 1; }
