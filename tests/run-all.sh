#!/usr/bin/env bash
# Builds virt-vmconfig with warnings as errors and runs every test tier
# (unit, XML, libvirt, real boots); then the suites that valgrind can carry
# under valgrind, every tier again in an ASan/UBSan build, and each
# libFuzzer target for 60 s. Needs the
# packages that .ci/install-deps installs; run as root (real boots use
# qemu:///system). Fails if the run leaves a domain, QEMU process, TAP
# device, namespace or temporary directory behind.
set -euo pipefail

cd "$(dirname "$0")/.."
build=${VMC_BUILD_DIR:-build}

# The test guest (Debian cloud kernel + busybox initramfs), built once.
bash tests/guest/build-guest.sh
# The second host generation (Debian 13's libvirt 11.3, QEMU 10, passt),
# a root built once under /var/cache/virt-vmconfig for test-boot-trixie.
bash tests/hosts/trixie.sh root >/dev/null

# No init system starts libvirt's daemons on a bare machine.
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 100); do
  [ -S /run/libvirt/libvirt-sock ] && break
  sleep 0.1
done
if [ ! -S /run/libvirt/libvirt-sock ]; then
  echo "run-all: libvirtd made no socket in 10 s" >&2
  exit 1
fi

# What an earlier, interrupted run left; then a TMPDIR of this run's own
# (world-traversable: QEMU may run as libvirt-qemu), which must be empty
# again at the end.
bash tests/leftovers.sh --clean
VMC_RUN_TMPDIR=$(mktemp -d /var/tmp/vmc-tests.XXXXXX)
chmod 0755 "$VMC_RUN_TMPDIR"
export VMC_RUN_TMPDIR TMPDIR=$VMC_RUN_TMPDIR
cleanup() {
  bash tests/leftovers.sh --clean
  rm -rf "$VMC_RUN_TMPDIR"
}
trap cleanup EXIT

setup() {
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" -Dwerror=true "$@"
  else
    meson setup "$dir" -Dwerror=true "$@"
  fi
  meson compile -C "$dir"
}

# boot_tests=enabled: a real-boot test whose host lacks root or libvirtd
# fails here instead of skipping.
setup "$build" -Dboot_tests=enabled
meson test -C "$build" --print-errorlogs
bash tests/leftovers.sh
# Debian 13: the project built inside the trixie root against libvirt
# 11.3, and its unit, xml, libvirt, lifecycle, embedded-boot and rootless
# tiers run there.
bash tests/hosts/trixie-tiers.sh
bash tests/leftovers.sh
meson test -C "$build" --setup valgrind --print-errorlogs

setup "$build-asan" -Dboot_tests=enabled -Db_sanitize=address,undefined -Db_lundef=false
meson test -C "$build-asan" --setup sanitize --print-errorlogs
bash tests/leftovers.sh

# The libFuzzer targets (JSON loader, XML reader, serial marker scanner),
# 60 s each, seeded from tests/data/; an input that crashes one, or breaks
# its round trip, is saved under tests/data/hostile/fuzz/ and fails the run.
FUZZ_BUILD_DIR=$PWD/$build-fuzz bash tests/fuzz/run-fuzzers.sh "${VMC_FUZZ_SECONDS:-60}"

# The installed library is usable on its own: headers, pkg-config file,
# and the example program built against them (the .pc file's prefix is
# pointed at the staging directory).
destdir=$(mktemp -d)
meson install -C "$build" --destdir "$destdir" >/dev/null
pc=$(find "$destdir" -name vmconfig.pc | head -n 1)
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s|^prefix=.*|prefix=$destdir$prefix|" "$pc"
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs vmconfig)
libdir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=libdir vmconfig)
# shellcheck disable=SC2086 # flags are words
cc -Wall -Werror examples/boot-and-wait.c $flags -Wl,-rpath,"$libdir" -o "$destdir/boot-and-wait"
driverdir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=driverdir vmconfig)
# It boots an example VM under the system daemon to a real Ready. The
# staged install is not where its prefix says, so the library is told
# where its driver module is, as VMC_DRIVER_DIR lets any caller do.
if ! out=$(VMC_DRIVER_DIR=$driverdir "$destdir/boot-and-wait" examples/cloud-init-vm.json \
             qemu:///system 2>&1); then
  echo "run-all: boot-and-wait examples/cloud-init-vm.json failed: $out" >&2
  exit 1
fi
echo "$out"
if ! grep -q ' is ready at ' <<<"$out"; then
  echo "run-all: boot-and-wait printed no 'is ready at'" >&2
  exit 1
fi
rm -f /var/tmp/virt-vmconfig-guest/hello-cloud-init.serial
# A program that loads the installed driver module from driverdir with
# dlopen and uses its table of operations alone.
# shellcheck disable=SC2086 # flags are words
cc -Wall -Werror examples/dlopen-driver.c $flags -ldl -Wl,-rpath,"$libdir" -o "$destdir/dlopen-driver"
"$destdir/dlopen-driver" "$driverdir"
# libvmconfig itself never loads libvirt.
if ldd "$libdir/libvmconfig.so" | grep -q libvirt; then
  echo "run-all: libvmconfig.so links libvirt" >&2
  exit 1
fi
rm -rf "$destdir"
echo "installed library, driver module, headers and vmconfig.pc: ok"
bash tests/leftovers.sh
