#!/usr/bin/env bash
# The project on Debian 13, built and tested inside the trixie root of
# tests/hosts/trixie.sh: configured with trixie's GCC, GLib and libvirt
# 11.3's own headers and library, warnings as errors, then its unit, xml,
# libvirt (11.3's schema and parser, its error codes, check-host on its
# host) and lifecycle tiers, the embedded driver's boot tier in each kind
# of KVM host, and the rootless tier (an ordinary user over
# qemu:///session and qemu:///embed, with a passt port forward, which
# Debian 13 has). A libvirtd and virtlogd of the root run for the tiers
# that need a daemon; everything ends with the root's PID namespace, and
# nothing is written into the cached root. Run as root, after
# tests/guest/build-guest.sh.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# Inside the root, /src is this clone; the build goes to the overlay.
exec bash "$here/trixie.sh" run /bin/bash -ec '
  # The caller s TMPDIR is not in there (its /var/tmp is the root s own).
  export TMPDIR=/var/tmp
  echo "trixie-tiers: $(libvirtd --version), $(qemu-system-x86_64 --version | head -n 1), gcc $(gcc -dumpfullversion)"
  virtlogd -d
  libvirtd -d
  for _ in $(seq 100); do
    [ -S /run/libvirt/libvirt-sock ] && break
    sleep 0.1
  done
  [ -S /run/libvirt/libvirt-sock ] || { echo "trixie-tiers: libvirtd made no socket" >&2; exit 1; }
  build=/var/tmp/build
  t0=$(date +%s)
  meson setup "$build" /src -Dwerror=true -Dboot_tests=enabled >/var/tmp/setup.log 2>&1 ||
    { cat /var/tmp/setup.log >&2; exit 1; }
  meson compile -C "$build" >/var/tmp/compile.log 2>&1 ||
    { tail -n 80 /var/tmp/compile.log >&2; exit 1; }
  t1=$(date +%s)
  echo "trixie-tiers: built with -Dwerror=true in $((t1 - t0)) s"
  export VMC_TEST_EXPECT_PASST=1
  meson test -C "$build" --print-errorlogs --suite unit --suite xml --suite libvirt --suite lifecycle
  meson test -C "$build" --print-errorlogs test-boot-embed-kvm-none test-boot-embed-kvm-useless \
    test-boot-embed-kvm-working test-rootless
  echo "trixie-tiers: tested in $(( $(date +%s) - t1 )) s"
'
