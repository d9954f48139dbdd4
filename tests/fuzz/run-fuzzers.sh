#!/bin/bash
# run-fuzzers.sh [SECONDS]: builds the libFuzzer targets of tests/fuzz/ in
# build-fuzz/ (configured with clang, ASan and UBSan; reconfigured when it
# exists) and runs each for SECONDS (default 60), one after the other.
#
# Seeds: the configs and domain XML of tests/data/ (read in place, never
# copied); for fuzz-json and fuzz-xml also the JSON and XML inputs of
# tests/data/hostile/ (its *.json and *.xml, not the .expect files nor its
# subdirectories), for fuzz-ready the serial logs of
# tests/data/hostile/serial/ (*.log) and logs written here. The hostile
# files are reached through symbolic links in a directory of the run, so
# that libFuzzer reads only those. A seed longer than the target's max_len
# (tests/data/hostile/json-nics-20000.json has 320 KB) is truncated to it
# by libFuzzer. What a run finds goes to corpus
# directories under ${TMPDIR:-/tmp} that are removed at the end. A crash
# (or a leak, timeout or out-of-memory) input is kept as
# tests/data/hostile/fuzz/<target>-<sha1 prefix>; the script then goes on
# with the other targets and exits 1.
#
# Per target it prints: executions and exec/s (libFuzzer's final stats),
# seconds, corpus size as files/units (the files of the corpus directory
# it wrote, seeds not included since they are read in place; and the units
# of libFuzzer's corpus at the end, seeds included) and findings.
#
# Environment: CC (default clang), FUZZ_BUILD_DIR (default build-fuzz in
# the source tree) and FUZZ_TARGETS (default "fuzz-json fuzz-xml fuzz-ready").
# The targets check every invariant on every input: there is no switch to
# skip a known finding class.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u -o pipefail

duration=${1:-60}
if ! [[ $duration =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS]   (a whole number of seconds, at least 1)" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-fuzz-json fuzz-xml fuzz-ready}
hostile=$root/tests/data/hostile/fuzz
data=$root/tests/data

export CC=${CC:-clang}
export LC_ALL=C.UTF-8
# -fno-sanitize-recover makes UBSan fatal already; say it for the runtime too.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

work=$(mktemp -d "${TMPDIR:-/tmp}/vmc-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# Build.
setup_args=(-Dfuzzing=true "-Db_sanitize=address,undefined" -Db_lundef=false)
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "$root" "${setup_args[@]}" >"$work/setup.log" 2>&1
else
    meson setup "$build" "$root" "${setup_args[@]}" >"$work/setup.log" 2>&1
fi || { cat "$work/setup.log" >&2; echo "run-fuzzers: meson setup failed" >&2; exit 1; }
# shellcheck disable=SC2086
meson compile -C "$build" $targets >"$work/build.log" 2>&1 ||
    { tail -n 60 "$work/build.log" >&2; echo "run-fuzzers: the build failed" >&2; exit 1; }

# Hand-written serial logs: with and without the ready marker.
seeds_ready=$work/seeds-ready
mkdir -p "$seeds_ready"
printf 'SeaBIOS (version 1.16.2)\nBooting from ROM...\n[    0.000000] Linux version 6.1.0\nVMRS_READY 10.0.2.15\n' \
    >"$seeds_ready/marker-ipv4"
printf '[    1.2] cloud-init[412]: Cloud-init v. 23.1 finished\r\n[    1.3] cloud-init[412]: VMRS_READY 192.168.122.45\r\nlogin: ' \
    >"$seeds_ready/marker-crlf-prefixed"
printf 'VMRS_READY fe80::5054:ff:fe12:3456\n' >"$seeds_ready/marker-ipv6"
printf 'VMRS_READY 10.0.0.1' >"$seeds_ready/marker-no-newline"
printf 'VMRS_READY \nVMRS_READY not-an-address\nVMRS_READY 10.0.0.2 10.0.0.3\nVMRS_READY\t10.0.0.4\nVMRS_READY 10.0.0.5  \n' \
    >"$seeds_ready/markers-bad-then-good"
printf 'Welcome to Debian GNU/Linux 12\nhostname login: \n\0\0\0random noise \xff\xfe\n' >"$seeds_ready/no-marker"
: >"$seeds_ready/empty"
{ head -c 5000 /dev/zero | tr '\0' x; printf '\nVMRS_READY 10.0.0.9\n'; } >"$seeds_ready/long-line-then-marker"
# A marker line one byte short of the scanner's line limit (4096 bytes).
{ head -c 4074 /dev/zero | tr '\0' x; printf ' VMRS_READY 10.0.2.15\n'; } >"$seeds_ready/marker-line-at-limit"

# The hostile inputs, linked (not copied) into directories of their own:
# libFuzzer reads a seed directory whole and recursively, and
# tests/data/hostile/ also holds the .expect files, serial/ and fuzz/.
# link_seeds DIR FILE...: links each FILE into DIR, which must get one.
link_seeds() {
    local dir=$1 f n=0
    shift
    mkdir -p "$dir"
    for f in "$@"; do
        [ -f "$f" ] || continue
        ln -s "$f" "$dir/$(basename "$f")" || return 1
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || { echo "run-fuzzers: no seed in $*" >&2; return 1; }
}
seeds_hostile=$work/seeds-hostile
seeds_hostile_serial=$work/seeds-hostile-serial
link_seeds "$seeds_hostile" "$data/hostile"/*.json "$data/hostile"/*.xml || exit 1
link_seeds "$seeds_hostile_serial" "$data/hostile/serial"/*.log || exit 1

# target: max_len and seed directories (read, never written).
declare -A max_len=([fuzz-json]=65536 [fuzz-xml]=65536 [fuzz-ready]=16384)
declare -A seeds=(
    [fuzz-json]="$data/config/good $data/config/bad $data/xml/in $data/xml/bad $data/xml/foreign $seeds_hostile"
    [fuzz-xml]="$data/xml/out $data/xml/foreign $seeds_hostile"
    [fuzz-ready]="$seeds_ready $seeds_hostile_serial"
)
declare -A dict=([fuzz-json]=$here/dict-json.dict [fuzz-xml]=$here/dict-xml.dict)
# Serial logs: no growing the inputs slowly from short ones, so that the
# seeds' lines near the scanner's 4096-byte line limit are mutated whole.
declare -A extra=([fuzz-ready]="-len_control=0")

status=0
printf '%-11s %12s %9s %8s %20s  %s\n' target executions exec/s seconds "corpus files/units" findings
for target in $targets; do
    exe=$build/tests/fuzz/$target
    corpus=$work/corpus-$target
    artifacts=$work/artifacts-$target
    log=$work/$target.log
    mkdir -p "$corpus" "$artifacts"
    args=(-max_total_time="$duration" -timeout=10 -rss_limit_mb=2048
          -max_len="${max_len[$target]:-65536}" -print_final_stats=1
          -artifact_prefix="$artifacts/")
    [ -n "${dict[$target]:-}" ] && args+=(-dict="${dict[$target]}")
    # shellcheck disable=SC2206
    [ -n "${extra[$target]:-}" ] && args+=(${extra[$target]})

    start=$(date +%s)
    # shellcheck disable=SC2086
    "$exe" "${args[@]}" "$corpus" ${seeds[$target]} >"$log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - start ))

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    total=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | sed 's/corp: //')
    new=$(find "$corpus" -type f | wc -l)

    found=()
    for f in "$artifacts"/*; do
        [ -f "$f" ] || continue
        sha=$(sha1sum "$f" | cut -c1-12)
        kind=$(basename "$f" | sed 's/-.*//')
        mkdir -p "$hostile"
        cp "$f" "$hostile/$target-$sha"
        found+=("$kind: tests/data/hostile/fuzz/$target-$sha")
    done
    if [ "$rc" -ne 0 ] && [ "${#found[@]}" -eq 0 ]; then
        found+=("exit status $rc with no input saved (see the log below)")
    fi
    summary=none
    [ "${#found[@]}" -gt 0 ] && summary=$(IFS=';'; echo "${#found[@]} (${found[*]})")
    printf '%-11s %12s %9s %8s %20s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "$elapsed" \
        "$new/${total:-?}" "$summary"
    if [ "${#found[@]}" -gt 0 ]; then
        status=1
        echo "---- $target: the end of libFuzzer's output ----" >&2
        grep -E '^fuzz: |runtime error|^==[0-9]+==ERROR|^SUMMARY|^ALARM|out-of-memory' "$log" |
            head -n 20 >&2
        echo "...(the last lines:)" >&2
        grep -v '^#[0-9]' "$log" | tail -n 25 >&2
        echo "---- end of $target ----" >&2
    fi
done
exit $status
