#!/usr/bin/env bash
# Builds virt-vmconfig with warnings as errors and runs every test tier,
# then the whole suite again under valgrind. Needs the packages that
# .ci/install-deps installs.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${VMC_BUILD_DIR:-build}

if [ -d "$build" ]; then
  meson setup --reconfigure "$build" -Dwerror=true
else
  meson setup "$build" -Dwerror=true
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs
meson test -C "$build" --setup valgrind --print-errorlogs
