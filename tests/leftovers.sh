#!/usr/bin/env bash
# What a test run may have left on this host: domains of the test
# namespaces on qemu:///system, QEMU processes of test VMs, TAP devices,
# bridges, libvirt networks, network namespaces, share views and work
# directories of the tests.
#
#   leftovers.sh           list them, remove them, exit 1 if there were any
#   leftovers.sh --clean   remove them quietly (before a run, or after one
#                          that failed anyway)
#
# Test names are ours alone: vmc-boot-*, vmc-watch-* (domains), vmct*
# (TAPs), vmcb* (bridges), vmc-test-* (namespaces, libvirt networks),
# read-only share views under /run/virt-vmconfig/views, /var/tmp/vmc-{boot,embed,cli-watch}-*,
# users vmc-rl-* (tests/test-rootless.sh),
# /run/vmc-kvm-variant.*
# and the run's own TMPDIR; and what examples/ names, which the examples
# tier boots: domains hello-{initramfs,cloud-init,netns,uefi}, namespace
# vmc-example, TAP vmcex0, and the share and NVRAM file it makes in the
# test guest's directory.
set -uo pipefail

quiet=false
[ "${1:-}" = --clean ] && quiet=true
found=0

report() {
  found=1
  $quiet || echo "leftover: $*" >&2
}

if [ -S /run/libvirt/libvirt-sock ]; then
  while read -r dom; do
    [ -n "$dom" ] || continue
    report "domain '$dom' on qemu:///system"
    virsh -q -c qemu:///system destroy "$dom" >/dev/null 2>&1
    virsh -q -c qemu:///system undefine --nvram "$dom" >/dev/null 2>&1 ||
      virsh -q -c qemu:///system undefine "$dom" >/dev/null 2>&1
  done < <(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep -E '^(vmc-(boot|watch)-|hello-(initramfs|cloud-init|netns|uefi)$)')
fi

# A Debian 13 libvirtd of tests/hosts/trixie.sh (in a mount namespace of
# its own), and what it started, when its test program ended early.
self_ns=$(readlink /proc/self/ns/mnt)
while read -r pid; do
  [ -n "$pid" ] || continue
  ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || continue
  [ "$ns" = "$self_ns" ] && continue
  report "libvirtd $pid in a mount namespace of its own (tests/hosts/trixie.sh)"
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -9 "${p#/proc/}" 2>/dev/null
  done
done < <(pgrep -x libvirtd 2>/dev/null)
for dir in /var/lib/libvirt/vmc-trixie-*; do
  [ -e "$dir" ] || continue
  report "decoy directory $dir"
  rm -rf "$dir"
done

# QEMU started for test VMs under an embedded driver outlives its process.
while read -r pid; do
  [ -n "$pid" ] || continue
  report "QEMU process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" | grep -o 'guest=[^, ]*'))"
  kill -9 "$pid" 2>/dev/null
done < <(pgrep -f 'qemu-system.*-name guest=(vmc-boot-|vmc-watch-|hello,|hello-(initramfs|cloud-init|netns|uefi),)' 2>/dev/null)

while read -r ns; do
  [ -n "$ns" ] || continue
  report "network namespace '$ns'"
  ip netns del "$ns" 2>/dev/null
done < <(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(vmc-test-|vmc-example$)')

while read -r tap; do
  [ -n "$tap" ] || continue
  report "TAP device '$tap'"
  ip link del "$tap" 2>/dev/null
done < <(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E '^(vmct[0-9]+|vmcex[0-9]+)$')

while read -r bridge; do
  [ -n "$bridge" ] || continue
  report "bridge '$bridge'"
  ip link del "$bridge" 2>/dev/null
done < <(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^vmcb[0-9]+$')

if [ -S /run/libvirt/libvirt-sock ]; then
  while read -r net; do
    [ -n "$net" ] || continue
    report "libvirt network '$net'"
    virsh -q -c qemu:///system net-destroy "$net" >/dev/null 2>&1
    virsh -q -c qemu:///system net-undefine "$net" >/dev/null 2>&1
  done < <(virsh -q -c qemu:///system net-list --all --name 2>/dev/null | grep -E '^vmc-test-')
fi

# Read-only share views: a mount each, in a directory per VM.
while read -r view; do
  [ -n "$view" ] || continue
  report "read-only view mount $view"
  umount -l "$view" 2>/dev/null
done < <(awk '$5 ~ "^/run/virt-vmconfig/views/" { print $5 }' /proc/self/mountinfo)
for dir in /run/virt-vmconfig/views/*; do
  [ -e "$dir" ] || continue
  report "read-only view directory $dir"
  rm -rf "$dir"
done

# The remote tests' sshd, and libvirtd restarted listening on TCP.
while read -r pid; do
  [ -n "$pid" ] || continue
  report "sshd of a test (pid $pid)"
  kill "$pid" 2>/dev/null
done < <(pgrep -f 'sshd -f /var/tmp/vmc-boot-' 2>/dev/null)
if pgrep -f 'libvirtd -d --listen' >/dev/null 2>&1; then
  report "libvirtd listening on TCP (restarted plain)"
  pkill -f 'libvirtd -d --listen'
  for _ in $(seq 100); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
  libvirtd -d
fi

guest_dir=${VMC_GUEST_DIR:-/var/tmp/virt-vmconfig-guest}
for file in "$guest_dir/examples-share" "$guest_dir/hello-uefi_VARS.fd"; do
  [ -e "$file" ] || continue
  report "example file $file"
  rm -rf "$file"
done

# The rootless tier's user (tests/test-rootless.sh), and whatever runs as
# it: its session daemon, virtlogd, QEMU.
while read -r user; do
  [ -n "$user" ] || continue
  report "user '$user' (test-rootless)"
  pkill -KILL -U "$user" 2>/dev/null
  for _ in $(seq 50); do pgrep -U "$user" >/dev/null || break; sleep 0.1; done
  rm -rf "/run/user/$(id -u "$user")"
  userdel --remove "$user" 2>/dev/null
done < <(awk -F: '$1 ~ /^vmc-rl-[0-9]+$/ { print $1 }' /etc/passwd)

for dir in /var/tmp/vmc-boot-* /var/tmp/vmc-embed-* /var/tmp/vmc-cli-watch-*; do
  [ -e "$dir" ] || continue
  report "directory $dir"
  rm -rf "$dir"
done

# The stage of a KVM variant's private /dev (tests/vmc-kvm-variant.c): it
# removes its own once the overlay is mounted. Mounted in the variant's
# namespace only, so here it is an empty directory at most.
for dir in /run/vmc-kvm-variant.*; do
  [ -e "$dir" ] || continue
  report "directory $dir"
  rmdir "$dir" 2>/dev/null || rm -rf "$dir"
done

# Boot lock files: a boot removes its own when it is done.
for lock in /run/virt-vmconfig/locks/*.lock; do
  [ -e "$lock" ] || continue
  report "boot lock file $lock"
  rm -f "$lock"
done

# The run's TMPDIR (run-all.sh makes one) must be empty again.
if [ -n "${VMC_RUN_TMPDIR:-}" ] && [ -d "$VMC_RUN_TMPDIR" ]; then
  for entry in "$VMC_RUN_TMPDIR"/*; do
    [ -e "$entry" ] || continue
    report "temporary $(basename "$entry") in $VMC_RUN_TMPDIR"
    rm -rf "$entry"
  done
fi

$quiet && exit 0
exit $found
