#!/usr/bin/env bash
# The second host generation: Debian 13 (trixie) with libvirt 11.3, QEMU
# 10, virtiofsd 1.13 and passt, in a root of its own beside this Debian 12
# machine, built by mmdebstrap from the package source this machine already
# uses (its apt lists name it; trixie's Release verifies with Debian 12's
# keyring). The root is built once and kept outside the clone, under a key
# of the versions of what it holds: a new package version makes a new root.
# Run as root.
#
#   trixie.sh root            builds the root if needed; prints its path
#   trixie.sh start PORT DIR  runs a libvirtd of the root in a mount
#                             namespace of its own, listening on
#                             127.0.0.1:PORT (TCP, no auth), its state,
#                             config and logs under DIR; prints its pid
#   trixie.sh stop DIR        stops that libvirtd and what it started
#                             (QEMU, virtiofsd and passt outlive it)
#   trixie.sh run CMD...      runs CMD inside the root (the clone at /src,
#                             the test guest at its own path)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${VMC_TRIXIE_CACHE:-/var/cache/virt-vmconfig}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
guest_dir=/var/tmp/virt-vmconfig-guest

# What the root holds: a libvirt host (the daemon, QEMU, virtiofsd, passt),
# and what builds and runs the project's unit, XML and embed tiers.
packages=(
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 ovmf virtiofsd passt
  gcc meson ninja-build pkg-config python3
  libglib2.0-dev libjson-glib-dev libxml2-dev libvirt-dev libxml2-utils
  scdoc procps iputils-ping
)

die() { echo "trixie.sh: $*" >&2; exit 1; }

# This machine's Debian mirror, as apt has it (never written down here).
mirror() {
  local uri
  uri=$(apt-cache policy | awk '$3 ~ /^bookworm\/main$/ { print $2; exit }')
  [ -n "$uri" ] || die "apt knows no mirror of bookworm/main (run apt-get update)"
  echo "$uri"
}

# The key of the root: the trixie versions of every package it holds
# (dependencies too), read from trixie's index in an apt state of its own.
root_key() {
  local state=$1 list
  mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/etc/preferences.d"
  echo "deb [signed-by=$keyring] $(mirror) trixie main" >"$state/etc/sources.list"
  local -a opts=(
    -o "Dir::State=$state" -o "Dir::State::status=/dev/null" -o "Dir::Cache=$state"
    -o "Dir::Etc::sourcelist=$state/etc/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::Etc::preferencesparts=$state/etc/preferences.d" -o "APT::Get::List-Cleanup=0"
    -o "Debug::NoLocking=1" -o "APT::Install-Recommends=0"
  )
  apt-get "${opts[@]}" -q update >/dev/null || die "cannot read trixie's package index"
  # Every package the install would unpack, with its version, sorted.
  list=$(apt-get "${opts[@]}" -s install "${packages[@]}" 2>/dev/null |
           awk '$1 == "Inst" { print $2, $3 }' | tr -d '()[]' | sort)
  [ -n "$list" ] || die "trixie's index resolves none of: ${packages[*]}"
  { printf '%s\n' "${packages[@]}"; echo "$list"; } | sha256sum | cut -c1-16
}

build_root() {
  local state key root tmp
  state=$(mktemp -d)
  chmod 0755 "$state" # apt's _apt user downloads into it
  key=$(root_key "$state")
  rm -rf "$state"
  root=$cache/trixie-$key
  if [ -f "$root/.vmc-complete" ]; then
    echo "$root"
    return
  fi
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
  mkdir -p "$cache"
  tmp=$cache/.trixie-$key.new
  rm -rf "$tmp"
  echo "trixie.sh: building the trixie root $root (once)" >&2
  local include
  include=$(IFS=,; echo "${packages[*]}")
  mmdebstrap --variant=apt --keyring="$keyring" --include="$include" \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='chroot "$1" sh -c "test -x /usr/sbin/libvirtd && test -x /usr/libexec/virtiofsd"' \
    trixie "$tmp" "deb $(mirror) trixie main" </dev/null >&2 ||
    die "mmdebstrap could not build the trixie root"
  touch "$tmp/.vmc-complete"
  # Roots of older package versions go.
  find "$cache" -maxdepth 1 -name 'trixie-*' ! -name "trixie-$key" -exec rm -rf {} +
  mv "$tmp" "$root"
  echo "$root"
}

# A /dev/kvm node of the root's own kvm group, as DIR/kvm, where this
# machine has one: the kvm group has another number in there (and libvirt
# drops its QEMU capabilities at every call when QEMU's user may not open
# the device it probed with).
kvm_node() {
  local root=$1 dir=$2 kvm_gid
  kvm_gid=$(awk -F: '$1 == "kvm" { print $3 }' "$root/etc/group")
  rm -f "$dir/kvm"
  if [ -c /dev/kvm ] && [ -n "$kvm_gid" ]; then
    mknod -m 0660 "$dir/kvm" c 10 232
    chown "0:$kvm_gid" "$dir/kvm"
  fi
}

# CMD inside the root, as root, in a mount and PID namespace of its own
# (every process it leaves ends with it), on an overlay of the root whose
# writes go to a tmpfs (a user added, a build, a daemon's state: nothing
# reaches the cached root). The overlay is the namespace's root
# (pivot_root, not chroot: passt sandboxes itself in a user namespace,
# which the kernel refuses to a chrooted process), with /dev, /proc, /sys, the clone at /src, the test guest at its own
# path, and a /run and /tmp of its own.
inside() {
  local root=$1 dir rc=0 kvm_gid
  shift
  dir=$(mktemp -d)
  kvm_gid=$(awk -F: '$1 == "kvm" { print $3 }' "$root/etc/group")
  unshare --mount --pid --propagation private --fork -- /bin/sh -ec '
    root=$1; src=$2; guest=$3; dir=$4; kvm_gid=$5; shift 5
    mount -t tmpfs -o mode=0755 tmpfs "$dir"
    mkdir "$dir/upper" "$dir/work" "$dir/new" "$dir/dev-upper" "$dir/dev-work"
    mount -t overlay -o "lowerdir=$root,upperdir=$dir/upper,workdir=$dir/work" overlay "$dir/new"
    new=$dir/new
    # /dev: an overlay of the host /dev (tests overlay it in turn and
    # remove nodes there, so no node may be a mount point), /dev/kvm a
    # node of the root kvm group, the mounts below the host /dev bound in.
    mount -t overlay -o "lowerdir=/dev,upperdir=$dir/dev-upper,workdir=$dir/dev-work" overlay "$new/dev"
    for m in pts shm mqueue hugepages; do
      mountpoint -q "/dev/$m" && mount --rbind "/dev/$m" "$new/dev/$m"
    done
    if [ -c /dev/kvm ] && [ -n "$kvm_gid" ]; then
      rm -f "$new/dev/kvm"
      mknod -m 0660 "$new/dev/kvm" c 10 232
      chown "0:$kvm_gid" "$new/dev/kvm"
    fi
    mount -t proc proc "$new/proc"
    mount --rbind /sys "$new/sys"
    mount -t tmpfs -o mode=0755 tmpfs "$new/run"
    mount -t tmpfs -o mode=1777 tmpfs "$new/tmp"
    mkdir -m 1777 "$new/run/lock"
    mkdir -p "$new/src" "$new$guest"
    mount --bind "$src" "$new/src"
    [ -d "$guest" ] && mount --bind "$guest" "$new$guest"
    mkdir -p "$new/run/.old"
    cd "$new"
    pivot_root . run/.old
    umount -l /run/.old
    rmdir /run/.old
    cd /
    exec "$@"
  ' sh "$root" "$src" "$guest_dir" "$dir" "$kvm_gid" "$@" || rc=$?
  rm -rf "$dir"
  return $rc
}

start() {
  local port=$1 dir=$2 root
  root=$(build_root)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # Its configuration is DIR's copy of the root's: the domains, pools
  # and networks it defines go away with DIR, never into the cached root.
  rm -rf "$dir/etc"
  cp -a "$root/etc/libvirt" "$dir/etc"
  cat >"$dir/etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$port"
auth_tcp = "none"
EOF
  # No virtlogd in there: QEMU writes its logs itself.
  echo 'stdio_handler = "file"' >"$dir/etc/qemu.conf"
  mkdir -p "$dir/lib" "$dir/cache" "$dir/log" "$dir/staged" "$root/var/lib/virt-vmconfig"
  # The daemon sees none of this machine's files but its own root: the
  # test guest is hidden from it (files reach it by staging). Its state,
  # cache, logs, staged files and configuration are DIR's (DIR/lib is its
  # /var/lib/libvirt); /run and /tmp are its own.
  # /dev/kvm is a node of the root's kvm group (kvm_node).
  kvm_node "$root" "$dir"
  # The root is the mount namespace's own, as inside() makes it.
  unshare --mount --propagation private --fork -- /bin/sh -ec '
    root=$1; dir=$2
    mount --bind "$root" "$root"
    mount --rbind /dev "$root/dev"
    [ -c "$dir/kvm" ] && mount --bind "$dir/kvm" "$root/dev/kvm"
    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
    mkdir -m 1777 "$root/run/lock" # /var/lock: libvirt locks a console pty there
    mount --bind "$dir/lib" "$root/var/lib/libvirt"
    mount --bind "$dir/cache" "$root/var/cache/libvirt"
    mount --bind "$dir/log" "$root/var/log/libvirt"
    mount --bind "$dir/staged" "$root/var/lib/virt-vmconfig"
    mount --bind "$dir/etc" "$root/etc/libvirt"
    mkdir -p "$root/run/.old"
    cd "$root"
    pivot_root . run/.old
    umount -l /run/.old
    rmdir /run/.old
    cd /
    exec /usr/sbin/libvirtd --listen -p /run/libvirtd.pid
  ' sh "$root" "$dir" >"$dir/libvirtd.out" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      cat "$dir/pid"
      return
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null ||
      die "the trixie libvirtd ended: $(tail -n 5 "$dir/libvirtd.out")"
    sleep 0.1
  done
  die "the trixie libvirtd did not listen on 127.0.0.1:$port in 30 s"
}

# The processes in the mount namespace NS: that libvirtd and what it
# started (QEMU, virtiofsd, passt), which outlive a libvirtd.
in_namespace() {
  local ns=$1 p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
  done
  return 0
}

stop() {
  local dir=$1 pid ns pids
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  ns=$(readlink "/proc/$(pgrep -P "$pid" | head -n 1)/ns/mnt" 2>/dev/null || true)
  # The unshare's child (the libvirtd), then whatever is left in its
  # namespace.
  pkill -TERM -P "$pid" 2>/dev/null || true
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/mnt)" ]; then
    pids=$(in_namespace "$ns")
    # shellcheck disable=SC2086 # one word per pid
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

case ${1:-} in
  root) build_root ;;
  start) [ $# -eq 3 ] || die "usage: trixie.sh start PORT DIR"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: trixie.sh stop DIR"; stop "$2" ;;
  run) shift; root=$(build_root); inside "$root" "$@" ;;
  *) die "usage: trixie.sh root | start PORT DIR | stop DIR | run CMD..." ;;
esac
