#!/usr/bin/env bash
# Builds virt-vmconfig with warnings as errors and runs every test tier
# (unit, XML, libvirt, real boots); then the suites that valgrind can carry
# under valgrind, and every tier again in an ASan/UBSan build. Needs the
# packages that .ci/install-deps installs; run as root (real boots use
# qemu:///system).
set -euo pipefail

cd "$(dirname "$0")/.."
build=${VMC_BUILD_DIR:-build}

# The test guest (Debian cloud kernel + busybox initramfs), built once.
bash tests/guest/build-guest.sh

# No init system starts libvirt's daemons on a bare machine.
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 50); do
  [ -S /run/libvirt/libvirt-sock ] && break
  sleep 0.1
done

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
