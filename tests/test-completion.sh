#!/usr/bin/env bash
# test-completion.sh CLI COMPLETION: the bash completion of virt-vmconfig,
# sourced into this shell and asked as bash would ask it. TAP output.
set -u
cli=$1
completion=$2

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$cli" "$dir/virt-vmconfig"
PATH=$dir:$PATH
# shellcheck source=/dev/null
source "$completion"

# The words of a command line, the last being completed.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMPREPLY=()
    _virt_vmconfig
    printf '%s\n' "${COMPREPLY[@]}"
}

n=0
failed=0
check() {
    local what=$1 got=$2 want=$3
    n=$((n + 1))
    if grep -qx -- "$want" <<<"$got"; then
        echo "ok $n $what"
    else
        echo "not ok $n $what: wanted '$want' among:"
        sed 's/^/# /' <<<"$got"
        failed=1
    fi
}

got=$(complete_words virt-vmconfig st)
check "'st' completes to state" "$got" state
n=$((n + 1))
if [ "$(wc -l <<<"$got")" -eq 1 ]; then echo "ok $n 'st' is state only"; else
    echo "not ok $n 'st' gave: $got"; failed=1; fi

got=$(complete_words virt-vmconfig "")
for c in validate xml import up run wait console down kill pause resume state list export gc adopt \
    watch delete check-host; do
    check "every command is offered: $c" "$got" "$c"
done
got=$(complete_words virt-vmconfig up --)
check "options of up: --wait-ready" "$got" --wait-ready
check "options of up: --stage" "$got" --stage
got=$(complete_words virt-vmconfig console --)
for o in --force --follow --json --since-boot; do
    check "options of console: $o" "$got" "$o"
done
got=$(complete_words virt-vmconfig -c test:///default console "")
n=$((n + 1))
if [ -z "$got" ]; then echo "ok $n console completes VM names: none of ours"; else
    echo "not ok $n console NAME on test:///default: $got"; failed=1; fi
got=$(complete_words virt-vmconfig --accel "")
check "--accel takes kvm" "$got" kvm
check "--accel takes qemu" "$got" qemu
: >"$dir/web-1.json"
got=$(complete_words virt-vmconfig validate "$dir/web")
check "FILE arguments complete as files" "$got" "$dir/web-1.json"
got=$(complete_words virt-vmconfig -c test:///default --accel qemu up "$dir/web")
check "the command is found after global options" "$got" "$dir/web-1.json"
got=$(complete_words virt-vmconfig -c test:///default state "")
n=$((n + 1))
if [ -z "$got" ]; then echo "ok $n VM names: none of ours on test:///default"; else
    echo "not ok $n VM names on test:///default: $got"; failed=1; fi

echo "1..$n"
exit $failed
