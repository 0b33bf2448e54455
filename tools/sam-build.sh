#!/usr/bin/env bash
# Prove a user's first `sam build` of template.yaml: every function's bootstrap built by the SAM CLI
# itself (BuildMethod rust-cargolambda), then checked: one bootstrap per function, of the template's
# architecture (arm64).
#
#   bash tools/sam-build.sh          SAM_VENV (.venv, tools/setup.sh's), SAM_BUILD_DIR (target/sam-build),
#                                    CARGO_TARGET_DIR (target/lambda-ci) may be overridden
#
# What the SAM CLI does here (aws-sam-cli 1.170.0, aws_lambda_builders 1.67.0, read in its
# workflows/rust_cargo/): for each function, in the function's own CodeUri (workers/<name>; Rust
# builds in the source, nothing is copied to a scratch directory) it runs
#     cargo lambda build --release --arm64 --bin <BuildProperties.Binary>
# (`--target aarch64-unknown-linux-gnu.2.26` instead on provided.al2; SAM_BUILD_MODE=debug drops
# --release), then copies $CARGO_TARGET_DIR/lambda/<Binary>/bootstrap to <build-dir>/<LogicalId>/.
# - CARGO_TARGET_DIR is honoured when set; unset, SAM points every function at the workspace's
#   target/ (from `cargo metadata`), so the per-function builds share their dependencies.
# - rust-cargolambda is no longer a beta build method: no --beta-features and no
#   SAM_CLI_BETA_RUST_CARGO_LAMBDA (that variable is not read any more). No prompt, no stdin.
# - --build-dir only says where the artifacts (and the built template.yaml) go; SAM empties it
#   first and writes build.toml into its parent. Not --cached: its cache key hashes only the
#   CodeUri folder, so a change in a shared crate (retrain-core, run-report) or Cargo.lock would
#   reuse a stale bootstrap. cargo's own fingerprints in the shared target directory are the cache.
# - The functions are built one after another (no --parallel: they would queue on cargo's lock
#   of the target directory anyway).
#
# Sharing the target directory with tools/lambda-build.sh: cargo-lambda sets the aarch64 linker
# to a zig wrapper under ~/.cache/cargo-zigbuild/<version>/wrappers/<hash>/, the hash taken from
# the path of the cargo-lambda binary; the linker is part of cargo's fingerprint. So only the SAME
# cargo-lambda (the same venv, .venv/bin as lambda-build.sh uses) reuses that build: a
# cargo-lambda from another venv recompiles everything (the AWS SDK: ~15-20 min here).
set -euo pipefail
cd "$(dirname "$0")/.."
SAM_VENV=${SAM_VENV:-.venv}
SAM_BUILD_DIR=${SAM_BUILD_DIR:-target/sam-build}
# Absolute: SAM runs cargo in each function's folder, where a relative path would mean another place.
CARGO_TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-target/lambda-ci}")
export CARGO_TARGET_DIR
export SAM_CLI_TELEMETRY=0
# One place for the pins: tools/requirements.txt (what tools/setup.sh puts into .venv).
pin() { grep -E "^$1==" tools/requirements.txt || { echo "no $1 pin in tools/requirements.txt" >&2; exit 1; }; }

# The SAM CLI, in a venv of its own unless it is there already (~2 min, ~340 MB from PyPI).
if [ ! -x "$SAM_VENV/bin/sam" ]; then
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check "$(pin aws-sam-cli)"
fi
"$SAM_VENV/bin/sam" --version

# cargo-lambda and zig as tools/lambda-build.sh finds them (.venv/bin first on PATH: its
# python3 -m ziglang is the zig cargo-lambda uses); else the same pins into the SAM venv.
export PATH="$PWD/.venv/bin:$PATH"
if ! command -v cargo-lambda >/dev/null; then
  "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check "$(pin cargo-lambda)" "$(pin ziglang)"
  export PATH="$PWD/$SAM_VENV/bin:$PATH"
fi
echo "cargo-lambda: $(command -v cargo-lambda); CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' \
  || rustup target add aarch64-unknown-linux-gnu

# cargo's stderr (the Compiling lines) is only shown when a build fails.
"$SAM_VENV/bin/sam" build --template-file template.yaml --build-dir "$SAM_BUILD_DIR" </dev/null

# Every function of the template: <build-dir>/<LogicalId>/bootstrap, an ELF of the function's
# architecture (its own Architectures, else Globals, else x86_64). Read with SAM's YAML loader
# (it knows !Ref and the other short forms).
"$SAM_VENV/bin/python" - template.yaml "$SAM_BUILD_DIR" <<'EOF'
import os, sys
from samcli.yamlhelper import yaml_parse
template, build_dir = sys.argv[1], sys.argv[2]
with open(template) as f:
    t = yaml_parse(f.read())
default = ((t.get("Globals") or {}).get("Function") or {}).get("Architectures", ["x86_64"])
machines = {183: "arm64", 62: "x86_64"}  # ELF e_machine: EM_AARCH64, EM_X86_64
functions = {k: r for k, r in t["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"}
bad = []
for name, r in sorted(functions.items()):
    want = ((r.get("Properties") or {}).get("Architectures") or default)[0]
    path = os.path.join(build_dir, name, "bootstrap")
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        bad.append(f"{name}: no {path}")
        continue
    got = machines.get(int.from_bytes(head[18:20], "little"), "unknown") if head[:4] == b"\x7fELF" else "not an ELF"
    if got != want:
        bad.append(f"{name}: {path} is {got}, the template says {want}")
    else:
        print(f"{name:24} {want:7} {os.path.getsize(path):>10} bytes  {path}")
if not functions or bad:
    sys.exit("sam build did not give every function its bootstrap:\n  " + "\n  ".join(bad or ["no functions in " + template]))
print(f"sam build: {len(functions)} functions, each with its bootstrap of the template's architecture")
EOF
