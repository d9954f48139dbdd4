#!/usr/bin/env bash
# Builds virt-vmconfig with warnings as errors and runs every test tier;
# then the suites again under valgrind, and all of them in an ASan/UBSan
# build. Needs the packages that .ci/install-deps installs.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${VMC_BUILD_DIR:-build}

setup() {
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" -Dwerror=true "$@"
  else
    meson setup "$dir" -Dwerror=true "$@"
  fi
  meson compile -C "$dir"
}

setup "$build"
meson test -C "$build" --print-errorlogs
meson test -C "$build" --setup valgrind --print-errorlogs

setup "$build-asan" -Db_sanitize=address,undefined -Db_lundef=false
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C "$build-asan" --print-errorlogs
