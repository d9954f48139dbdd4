#!/usr/bin/env bash
# bench-generations.sh: bench-boot.sh on both Debian generations: on this
# Debian 12 host (libvirt 9.0, QEMU 7.2, qemu:///system) and inside the
# Debian 13 root of tests/hosts/trixie.sh (libvirt 11.3, QEMU 10: the
# project built there, its own libvirtd, qemu:///system of that root), each
# against bare QEMU of its own generation; prints both lines, each with its
# ratio. Run as root, with this host's libvirtd running and the test guest
# built. A benchmark, not a test: no figure is pass or fail.
#
#   bench/bench-generations.sh [-k K]
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
k=5
if [ "${1:-}" = -k ]; then k=$2; fi
[[ $k =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench-generations.sh [-k K]" >&2; exit 2; }

bash "$here/bench-boot.sh" -k "$k" --label "Debian 12"
bash "$here/../tests/hosts/trixie.sh" run /bin/bash -ec '
  k=$1
  export TMPDIR=/var/tmp
  virtlogd -d
  libvirtd -d
  for _ in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.1; done
  meson setup /var/tmp/build /src >/var/tmp/setup.log 2>&1 || { cat /var/tmp/setup.log >&2; exit 1; }
  meson compile -C /var/tmp/build >/var/tmp/compile.log 2>&1 || { tail -n 40 /var/tmp/compile.log >&2; exit 1; }
  bash /src/bench/bench-boot.sh -k "$k" --virt-vmconfig /var/tmp/build/src/cli/virt-vmconfig \
    --label "Debian 13"
' sh "$k"
