#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real (fitsverify,
# astrometry.net with the Tycho-2 index files, SExtractor, headless
# Chromium), each only when missing.  Needs root (or sudo) and apt-get.
set -euo pipefail

need=()
command -v fitsverify >/dev/null || need+=(fitsverify)
command -v solve-field >/dev/null || need+=(astrometry.net)
ls /usr/share/astrometry/index-tycho2-*.fits >/dev/null 2>&1 || need+=(astrometry-data-tycho2-10-19)
command -v source-extractor >/dev/null || need+=(source-extractor)
command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install-system-deps: apt-get not found; install by hand: ${need[*]}" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-system-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
