#!/usr/bin/env bash
# bench-boot.sh: the test guest booted to Ready through virt-vmconfig
# (`up --wait-ready`, libvirt and all) beside the same guest run by QEMU
# alone (the same kernel, initramfs, memory, vCPU, q35 machine, TCG, user
# NIC and virtio RNG; Ready is its marker line in the serial file), on this
# host's libvirt and QEMU, each booted K times in turn; prints the medians
# and the ratio ours / bare QEMU (above 1: what libvirt and virt-vmconfig
# add). A benchmark, not a test: exit 1 only when a boot fails.
#
#   bench/bench-boot.sh [-k K] [--uri URI] [--virt-vmconfig PATH] [--label TEXT]
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u -o pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
k=5
uri=qemu:///system
cli=$here/../build/src/cli/virt-vmconfig
label="this host"
while [ $# -gt 0 ]; do
  case $1 in
    -k) k=$2; shift 2 ;;
    --uri) uri=$2; shift 2 ;;
    --virt-vmconfig) cli=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-boot: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $k =~ ^[1-9][0-9]*$ ]] || { echo "bench-boot: -k takes a whole number" >&2; exit 2; }
guest=${VMC_GUEST_DIR:-/var/tmp/virt-vmconfig-guest}
qemu=$(command -v qemu-system-x86_64) || { echo "bench-boot: no qemu-system-x86_64" >&2; exit 1; }
[ -x "$cli" ] || { echo "bench-boot: no virt-vmconfig at $cli (meson compile -C build)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/vmc-bench-boot-XXXXXX)
chmod 0755 "$work"
name=vmc-bench-boot-$$
qpid=
cleanup() {
  [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null
  "$cli" -c "$uri" delete "$name" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

cat >"$work/vm.json" <<EOF
{
  "name": "$name",
  "namespace": "vmc-bench",
  "kernel": "$guest/vmlinuz",
  "initramfs": "$guest/initramfs.img",
  "cpus": 1,
  "memory_mb": 256,
  "networks": [ { "type": "user" } ],
  "serial_log": "$work/ours.serial",
  "cmdline": "console=ttyS0"
}
EOF

ours=()
bare=()
for ((i = 0; i < k; i++)); do
  t0=$(now_ms)
  if ! out=$("$cli" -c "$uri" --accel qemu up --wait-ready=120 "$work/vm.json" 2>&1); then
    echo "bench-boot: up failed: $out" >&2
    exit 1
  fi
  ours+=($(( $(now_ms) - t0 )))
  "$cli" -c "$uri" delete "$name" >/dev/null 2>&1 || { echo "bench-boot: delete failed" >&2; exit 1; }

  rm -f "$work/bare.serial"
  t0=$(now_ms)
  "$qemu" -machine q35,accel=tcg -cpu qemu64 -m 256 -smp 1 -nodefaults -no-user-config \
    -display none -monitor none -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.img" \
    -append "console=ttyS0" -serial "file:$work/bare.serial" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 -device virtio-rng-pci &
  qpid=$!
  until grep -q 'VMRS_READY' "$work/bare.serial" 2>/dev/null; do
    kill -0 "$qpid" 2>/dev/null || { echo "bench-boot: bare QEMU ended before Ready" >&2; exit 1; }
    [ $(( $(now_ms) - t0 )) -lt 120000 ] || { echo "bench-boot: bare QEMU: no marker in 120 s" >&2; exit 1; }
    sleep 0.01
  done
  bare+=($(( $(now_ms) - t0 )))
  kill -9 "$qpid"; wait "$qpid" 2>/dev/null; qpid=
done

m_ours=$(printf '%s\n' "${ours[@]}" | median)
m_bare=$(printf '%s\n' "${bare[@]}" | median)
printf '%s: boot to Ready, median of %d: virt-vmconfig up -w %d ms, bare QEMU %d ms, ratio ours/bare %s (%s, %s)\n' \
  "$label" "$k" "$m_ours" "$m_bare" "$(awk -v a="$m_ours" -v b="$m_bare" 'BEGIN { printf "%.2f", a / b }')" \
  "$("$cli" -c "$uri" check-host 2>/dev/null | sed -n 's/^pass  libvirt reachable: \(libvirt [0-9.]*\).*/\1/p')" \
  "$("$qemu" --version | sed -n '1s/.*version \([0-9.]*\).*/QEMU \1/p')"
