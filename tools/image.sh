#!/usr/bin/env bash
# Build a SageMaker training/serving image from a Dockerfile with podman, without any registry.
#
#   tools/image.sh DIR TAG [--save FILE] [--build-arg NAME=VALUE]... [--base IMAGE]
#     e.g. tools/image.sh examples/prophet-trainer localhost/prophet-trainer:latest
#
# The Dockerfile must take its base as `ARG BASE` / `FROM ${BASE}` (the Prophet example's does;
# its default, python:3.12-slim, is what a build with a registry uses). Here the base is made
# once and cached in podman's store: Debian trixie by debootstrap from the mirror apt uses,
# imported, then a Python layer (tools/image/python.Containerfile) -> localhost/retrain-python.
# podman's settings are tools/image/containers.conf (runc, ulimits). The host's CA bundle is
# mounted into the build only (pip's HTTPS may go through a re-signing proxy), never baked in.
# --save FILE writes an OCI archive (`skopeo copy oci-archive:FILE docker://ECR_URI`, or
# `podman load -i FILE` then `podman push`, pushes it to ECR). Installs podman, runc and
# debootstrap with apt-get when they are missing (as root).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
usage() { echo "usage: tools/image.sh DIR TAG [--save FILE] [--build-arg NAME=VALUE]... [--base IMAGE]" >&2; exit 2; }
[ $# -ge 2 ] || usage
dir=$1 tag=$2 save= base= args=()
shift 2
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --save) save=$2 ;;
    --build-arg) args+=(--build-arg "$2") ;;
    --base) base=$2 ;;  # build on another image of this machine (one made here before)
    *) usage ;;
  esac
  shift 2
done
[ -f "$dir/Dockerfile" ] || { echo "tools/image.sh: no Dockerfile in $dir" >&2; exit 2; }
grep -q '^FROM \${BASE}' "$dir/Dockerfile" || {
  echo "tools/image.sh: $dir/Dockerfile must start from \${BASE} (ARG BASE=python:3.12-slim, FROM \${BASE})" >&2
  exit 2
}
export CONTAINERS_CONF="$root/tools/image/containers.conf"
BASE=localhost/retrain-python:3.13
DEBIAN=localhost/retrain-debian:trixie

missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Debian mirror apt already uses (deb822 or one-line sources), else Debian's.
mirror() {
  local m
  m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
      | grep -m1 -oE 'https?://[^ ]+/debian/?' || true)
  echo "${m:-http://deb.debian.org/debian}"
}

if ! podman image exists "$BASE"; then
  if ! podman image exists "$DEBIAN"; then
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/retrain-rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    echo "base: debootstrap trixie from $(mirror) (once; cached as $DEBIAN)"
    debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv \
      trixie "$rootfs" "$(mirror)" > "$rootfs.log" 2>&1 \
      || { tail -20 "$rootfs.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs.log"
    tar -C "$rootfs" -c . | podman import --quiet - "$DEBIAN" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
  fi
  echo "base: the Python layer (cached as $BASE)"
  podman build --quiet --pull=never -t "$BASE" -f "$root/tools/image/python.Containerfile" \
    "$root/tools/image" >/dev/null
fi

ca=()
for bundle in /etc/ssl/certs/ca-certificates.crt; do
  [ -f "$bundle" ] && ca=(-v "$bundle:/etc/ssl/certs/ca-certificates.crt:ro")
done
echo "image: $tag from $dir"
podman build --pull=never --build-arg "BASE=${base:-$BASE}" "${args[@]}" "${ca[@]}" -t "$tag" "$dir"
if [ -n "$save" ]; then
  mkdir -p "$(dirname "$save")" && rm -f "$save"
  podman save --format oci-archive -o "$save" "$tag"
  echo "saved: $save (OCI archive)"
fi
