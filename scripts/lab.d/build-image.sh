#!/usr/bin/env bash
# Builds the lab host image (Debian 12) from images/host-os/ into the cache, once.
#   build-image.sh CACHE_DIR HASH      -> prints the rootfs path
# The image lands in CACHE_DIR/host-os-HASH/rootfs; a half-built image is never used
# (built in a temporary directory, renamed into place when complete).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recipe="$here/../../images/host-os"
cache=$1 hash=$2
final="$cache/host-os-$hash"
mirror=${PALISADE_LAB_MIRROR:-http://deb.debian.org/debian}

mkdir -p "$cache/debs"
exec 9>"$cache/build.lock"
flock 9
if [ -f "$final/complete" ]; then echo "$final/rootfs"; exit 0; fi

tmp="$cache/.build-$hash-$$"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
include=$(grep -v '^\s*#' "$recipe/packages.txt" | grep -v '^\s*$' | paste -sd, -)
echo "lab: building host image $hash (debootstrap bookworm, ~1 min)" >&2
debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" \
  bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
  tail -30 "$tmp/debootstrap.log" >&2; exit 1; }
install -m 0755 "$recipe/setup.sh" "$tmp/rootfs/tmp/setup.sh"
chroot "$tmp/rootfs" /bin/sh /tmp/setup.sh >&2
rm -f "$tmp/rootfs/tmp/setup.sh"
cp "$tmp/debootstrap.log" "$tmp/build.log"
touch "$tmp/complete"
rm -rf "$final"
mv "$tmp" "$final"
trap - EXIT
# Older images of other recipes are left for `scripts/lab prune-images` (not removed here).
echo "$final/rootfs"
