#!/usr/bin/env bash
# test-rootless.sh CLI: virt-vmconfig as an ordinary user, made by this
# test (in no group of its own but its own: not kvm, not libvirt), on
# this machine's libvirt: over qemu:///session (the session daemon that
# libvirt starts for the user), over qemu:///embed named with no root (the
# user's own root under ~/.local/share), and with no -c at all. Each boots
# the test guest to Ready (`up -w`, no --accel), then `state`, `list`,
# `down` (the guest powers off on ACPI's button) and `delete`, every one
# asserted on its JSON; and a port forward (`up --forward`), which reaches
# the guest where check-host says the host has passt and is refused
# before anything is defined where it has not. TAP output; run as root, it removes the user and
# everything the user started at the end.
#
# The user reaches the build tree (CLI) through the directories above it,
# which must be world-searchable, and gets its own copy of the guest's
# kernel and initramfs, and its serial log, in its home.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u -o pipefail

cli=${1:?usage: test-rootless.sh CLI}
guest=${VMC_GUEST_DIR:-/var/tmp/virt-vmconfig-guest}
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
# A failure's details go to stderr too, which meson prints.
not_ok() {
  n=$((n + 1))
  failed=1
  echo "not ok $n - $1"
  echo "test-rootless: not ok $n - $1" >&2
  shift
  local line
  for line in "$@"; do
    while IFS= read -r l; do echo "# $l"; echo "  $l" >&2; done <<<"$line"
  done
}

# As vmc_test_require(): 'enabled' fails what 'auto' skips.
need() {
  if [ "${VMC_BOOT_TESTS:-auto}" = enabled ]; then
    echo "$1 (boot_tests is not 'auto': a missing prerequisite fails)" >&2
    echo "Bail out! $1"
    exit 1
  fi
  echo "1..0 # SKIP $1"
  exit 0
}
[ "${VMC_BOOT_TESTS:-auto}" = disabled ] && { echo "1..0 # SKIP not run: meson's boot_tests option is 'disabled'"; exit 0; }
[ "$(id -u)" = 0 ] || need "needs root (to make a user); runs as uid $(id -u)"
for f in vmlinuz initramfs.img; do
  [ -r "$guest/$f" ] || need "the test guest's $guest/$f is missing (tests/guest/build-guest.sh)"
done
dir=$(dirname "$(readlink -f "$cli")")
while [ "$dir" != / ]; do
  perms=$(stat -c %A "$dir")
  [ "${perms:9:1}" = x ] || [ "${perms:9:1}" = t ] ||
    need "$dir ($perms) is not searchable by other users: the test's user cannot run $cli"
  dir=$(dirname "$dir")
done

user=vmc-rl-$$
uid=

cleanup() {
  if [ -n "$uid" ]; then
    # The session daemon, virtlogd, QEMU: whatever runs as the user.
    pkill -KILL -U "$uid" 2>/dev/null
    for _ in $(seq 50); do pgrep -U "$uid" >/dev/null || break; sleep 0.1; done
    rm -rf "/run/user/$uid"
  fi
  userdel --remove "$user" 2>/dev/null
}
trap cleanup EXIT

# A home under /home, as useradd makes it: its length counts, since
# libvirt's sockets live under the embedded root in it (108 bytes at most).
useradd --create-home --shell /bin/sh --user-group "$user" ||
  { echo "Bail out! useradd $user failed"; exit 1; }
home=$(getent passwd "$user" | cut -d: -f6)
uid=$(id -u "$user")
gid=$(id -g "$user")
# What logind makes at login.
install -d -m 0700 -o "$uid" -g "$gid" "/run/user/$uid"

# CMD... as the user, in a login's environment (setpriv resets it to the
# user's HOME, USER, SHELL and PATH), never through a shell.
as_user() {
  setpriv --reuid="$uid" --regid="$gid" --init-groups --reset-env -- \
    env XDG_RUNTIME_DIR="/run/user/$uid" LC_ALL=C.UTF-8 \
    ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
    "$@"
}

# The user's guest, config and serial log, in its home.
install -d -o "$uid" -g "$gid" "$home/guest"
install -m 0644 -o "$uid" -g "$gid" "$guest/vmlinuz" "$guest/initramfs.img" "$home/guest/"

# config NAME: a VM of the test guest on a user NIC that stays up until
# its power button is pressed, answering TCP connections on port 7777.
config() {
  local name=$1 file=$home/$1.json
  cat >"$file" <<EOF
{
  "name": "$name",
  "namespace": "vmc-rootless",
  "kernel": "$home/guest/vmlinuz",
  "initramfs": "$home/guest/initramfs.img",
  "cpus": 1,
  "memory_mb": 256,
  "networks": [ { "type": "user" } ],
  "serial_log": "$home/$name.serial",
  "cmdline": "console=ttyS0 vmc.listen=7777"
}
EOF
  chown "$uid:$gid" "$file"
  echo "$file"
}

# jget EXPR: EXPR (Python, over the JSON document d) of the JSON on stdin;
# nothing when it is not JSON.
jget() {
  python3 -c 'import json, sys
try:
    d = json.loads(sys.stdin.read())
    v = eval(sys.argv[1], {"d": d})
except Exception:
    sys.exit(1)
print("" if v is None else v)' "$1"
}

# Where the VM NAME was defined: on the user's session daemon, or in the
# user's own embedded root.
on_session() { as_user virsh -q -c qemu:///session list --all --name 2>/dev/null | grep -qx "$1"; }
embed_root=$home/.local/share/virt-vmconfig/embed
in_embed_root() { [ -f "$embed_root/etc/qemu/$1.xml" ]; }

# Whether port forwards reach a guest on this host, as check-host says
# (passt under libvirt); VMC_TEST_EXPECT_PASST=1 (a host known to have it)
# makes a host that says no fail.
forwards=no
hostcheck=$(as_user "$cli" -c qemu:///session check-host --json 2>/dev/null)
[ "$(jget '[c["status"] for c in d["checks"] if c["id"] == "port-forwards"][0]' <<<"$hostcheck")" = pass ] &&
  forwards=yes

# lifecycle WHAT NAME WHERE [CLI OPTION...]: up -w, state, list, down,
# delete as the user; WHERE (on_session or in_embed_root) checks that the
# VM went where it should. With forwards, the guest listens on 7777 and a
# forward from 127.0.0.1:PORT reaches it.
lifecycle() {
  local what=$1 name=$2 where=$3; shift 3
  local conf out err rc ip marker port uuid
  port=$(( 20000 + RANDOM % 20000 ))
  conf=$(config "$name")
  local -a fwd=()
  [ $forwards = yes ] && fwd=(--forward "127.0.0.1:$port:7777")

  out=$(as_user "$cli" "$@" up --wait-ready=120 "${fwd[@]}" "$conf" 2>&1); rc=$?
  marker=$(sed -n 's/^.*VMRS_READY \([0-9a-f.:]*\).*$/\1/p' "$home/$name.serial" 2>/dev/null | head -n 1)
  # 127.0.0.1: the guest's user NIC got no address.
  if [ $rc -eq 0 ] && [ -n "$marker" ] && [ "$marker" != 127.0.0.1 ]; then
    ok "$what: up -w boots the guest to Ready on its user NIC (it printed VMRS_READY $marker to the user's serial log)"
  else
    not_ok "$what: up -w boots the guest to Ready on its user NIC" "status $rc" "$out" \
      "serial log: $(ls -l "$home/$name.serial" 2>&1)" "$(grep GUEST "$home/$name.serial" 2>&1)"
  fi

  out=$(as_user "$cli" "$@" state --json "$name" 2>&1); rc=$?
  ip=$(jget 'd["ip"]' <<<"$out")
  if [ $rc -eq 0 ] && [ "$(jget 'd["state"]' <<<"$out")" = ready ] && [ -n "$ip" ] && [ "$ip" = "$marker" ]; then
    ok "$what: state says ready at the guest's address, $ip"
  else
    not_ok "$what: state says ready at the guest's address ($marker)" "status $rc" "$out"
  fi
  uuid=$(jget 'd["uuid"]' <<<"$out")

  out=$(as_user "$cli" "$@" list --json 2>&1); rc=$?
  if [ $rc -eq 0 ] && [ "$(jget '[v["name"] for v in d["vms"]]' <<<"$out")" = "['$name']" ] &&
     "$where" "$name"; then
    ok "$what: list shows the VM, defined $where"
  else
    not_ok "$what: list shows the VM, defined $where" "status $rc" "$out"
  fi

  if [ $forwards = yes ]; then
    # The guest answers a connection with its UUID (vmc.listen).
    out=$(as_user timeout 20 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -n 1 <&3' sh "$port" 2>&1)
    if grep -q "VMC_LISTEN port=7777 uuid=$uuid" <<<"$out" && [ -n "$uuid" ]; then
      ok "$what: the forward from 127.0.0.1:$port reaches the guest's listener"
    else
      not_ok "$what: the forward from 127.0.0.1:$port reaches the guest's listener" \
        "answer: $out" "uuid: $uuid"
    fi
  else
    # No passt: the forward is refused before anything is defined.
    out=$(as_user "$cli" "$@" up --forward "127.0.0.1:$port:7777" "$(config "$name-fwd")" 2>&1); rc=$?
    err=$(as_user "$cli" "$@" state --json "$name-fwd" 2>&1)
    if [ $rc -eq 3 ] && grep -q passt <<<"$out" && [ "$(jget 'd["error"]["code"]' <<<"$err")" = NOT_FOUND ]; then
      ok "$what: a forward is refused (status 3, passt named), nothing defined"
    else
      not_ok "$what: a forward is refused (status 3, passt named), nothing defined" \
        "status $rc" "$out" "state after: $err"
    fi
  fi

  out=$(as_user "$cli" "$@" down "$name" 2>&1); rc=$?
  if [ $rc -eq 0 ] && grep -q 'GUEST acpi=power-button' "$home/$name.serial"; then
    ok "$what: down stops the guest through its power button"
  else
    not_ok "$what: down stops the guest through its power button" "status $rc" "$out"
  fi

  out=$(as_user "$cli" "$@" delete "$name" 2>&1); rc=$?
  err=$(as_user "$cli" "$@" state --json "$name" 2>&1)
  if [ $rc -eq 0 ] && [ "$(jget 'd["error"]["code"]' <<<"$err")" = NOT_FOUND ] &&
     ! "$where" "$name"; then
    ok "$what: delete removes the VM"
  else
    not_ok "$what: delete removes the VM" "status $rc" "$out" "state after: $err"
  fi
  if ! pgrep -U "$uid" -f qemu-system >/dev/null; then
    ok "$what: no QEMU of the user is left"
  else
    not_ok "$what: no QEMU of the user is left" "$(pgrep -a -U "$uid" -f qemu-system)"
  fi
}

echo "1..27"
if [ "${VMC_TEST_EXPECT_PASST:-0}" = 1 ] && [ $forwards != yes ]; then
  not_ok "check-host says port forwards work on this host, which has passt" "$hostcheck"
else
  ok "check-host says whether port forwards work here: $forwards"
fi
# check-host speaks of this user's access to /dev/kvm (as the kernel
# decides it for the user), not of QEMU's system user.
if [ -e /dev/kvm ]; then
  if as_user test -r /dev/kvm -a -w /dev/kvm; then want=pass; else want=warn; fi
  got=$(jget '[c["status"] + " " + c["detail"] for c in d["checks"] if c["id"] == "kvm-access"][0]' <<<"$hostcheck")
  if [ "${got%% *}" = $want ] && grep -q "'$user'" <<<"$got"; then
    ok "check-host: the user's own access to /dev/kvm ($got)"
  else
    not_ok "check-host: the user's own access to /dev/kvm is $want" "$got"
  fi
else
  ok "check-host: no /dev/kvm here, no access to check"
fi
# Boot's checks are the user's too: a kernel behind a directory the user
# may not enter is refused before anything is defined, naming the field.
install -d -m 0700 "$home/private"
cp "$guest/vmlinuz" "$home/private/"
conf=$(config vmc-rl-private)
sed -i "s|$home/guest/vmlinuz|$home/private/vmlinuz|" "$conf"
out=$(as_user "$cli" -c qemu:///session up "$conf" 2>&1); rc=$?
err=$(as_user "$cli" -c qemu:///session state --json vmc-rl-private 2>&1)
if [ $rc -eq 3 ] && grep -q "kernel" <<<"$out" && grep -q "$home/private" <<<"$out" &&
   [ "$(jget 'd["error"]["code"]' <<<"$err")" = NOT_FOUND ]; then
  ok "a kernel the user cannot read is refused (status 3, the field and path named), nothing defined"
else
  not_ok "a kernel the user cannot read is refused (status 3, the field and path named), nothing defined" \
    "status $rc" "$out" "state after: $err"
fi
# A host port below the first unprivileged one is refused for the user's
# passt (it runs as the user), before anything is defined.
first=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start 2>/dev/null || echo 1024)
if [ $forwards = yes ] && [ "$first" -gt 1 ]; then
  conf=$(config vmc-rl-lowport)
  out=$(as_user "$cli" -c qemu:///session up --forward "127.0.0.1:$((first - 1)):7777" "$conf" 2>&1); rc=$?
  err=$(as_user "$cli" -c qemu:///session state --json vmc-rl-lowport 2>&1)
  if [ $rc -eq 3 ] && grep -q "privileged" <<<"$out" && grep -q "'$user'" <<<"$out" &&
     [ "$(jget 'd["error"]["code"]' <<<"$err")" = NOT_FOUND ]; then
    ok "a privileged host port ($((first - 1))) is refused for the user's passt, nothing defined"
  else
    not_ok "a privileged host port ($((first - 1))) is refused for the user's passt, nothing defined" \
      "status $rc" "$out" "state after: $err"
  fi
else
  ok "a privileged host port is refused for the user's passt # SKIP no passt here, or no privileged ports (first unprivileged: $first)"
fi
lifecycle "session" vmc-rl-session on_session -c qemu:///session
# The session daemon started for the user answers on its socket now: with
# no -c, the CLI picks it. Then it goes, and the embedded driver is named
# with no root.
lifecycle "no -c, a session daemon running" vmc-rl-default on_session
pkill -KILL -U "$uid" 2>/dev/null
for _ in $(seq 50); do pgrep -U "$uid" >/dev/null || break; sleep 0.1; done
rm -rf "/run/user/$uid/libvirt"
lifecycle "embed without root" vmc-rl-embed in_embed_root -c qemu:///embed
if [ -f "$embed_root/etc/qemu.conf" ] && [ "$(stat -c %U "$embed_root")" = "$user" ]; then
  ok "embed without root: the root is the user's, under ~/.local/share"
else
  not_ok "embed without root: the root is the user's, under ~/.local/share" \
    "$(ls -la "$embed_root" 2>&1)"
fi
out=$(as_user id -G)
if [ "$out" = "$gid" ]; then
  ok "the user is in its own group alone"
else
  not_ok "the user is in its own group alone" "id -G: $out"
fi
exit $failed
