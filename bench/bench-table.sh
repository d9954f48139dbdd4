#!/usr/bin/env bash
# Functions run from traps and through run_to/time_to look unreachable to shellcheck:
# shellcheck disable=SC2317
# bench-table.sh: one table, ours beside the usual tools, measured in the same run
#
#   bench/bench-table.sh [--quick] [--no-boot] [-n N] [--uri URI] [--build-dir DIR]
#                        [--virt-vmconfig PATH] [--poll-ms MS] [--lock FILE | --no-lock]
#
# Rows (see bench/README.md): render in process (µs and callgrind instructions per
# render), `xml` against `virt-install --print-xml`, `up` against `virsh create`
# (to running and to Ready), the ready delay, stop latency, listing 1,000 domains,
# the memory of a watch over 1,000 VMs, and N concurrent TCG boots to Ready.
#
# A benchmark, not a test: no figure is ever pass or fail. The exit status is 1
# only when a measurement cannot run (a command fails, a VM does not boot or get
# ready, a tool the row needs is missing from the build), 2 on bad arguments.
# Every domain and file it makes is removed at the end, also when it is
# interrupted (SIGINT, SIGTERM, SIGHUP).
#
# No shell is ever started with text from the command line: every command is
# run from an argument list; the only text given to another interpreter is
# virsh's batch input (define/undefine/destroy of the names and files this
# script made) and awk programs fixed here.
#
# The rows that boot real guests (3, 5, 8) run while this script holds an
# exclusive flock(1) on /run/vmc-boot.lock (--lock FILE), taken only for them:
# do not wrap the script in `flock` on the same file (it would wait for
# itself), or pass --no-lock when the caller holds the lock.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

set -u
export LC_ALL=C

usage() {
  cat <<'EOF'
Usage: bench/bench-table.sh [OPTION]...

Print one markdown table: each measurement of virt-vmconfig beside the usual
tool doing the same (virt-install, virsh), measured in the same run, with the
ratio peer / ours (above 1: ours is faster or smaller).

  --quick              fewer runs of everything (a rough table in a few minutes)
  --no-boot            skip the rows that boot real guests (3, 5 and 8)
  -n, --concurrent N   guests booted at once in row 8 (default 4)
  --uri URI            libvirt URI (default qemu:///system; libvirtd must run)
  --build-dir DIR      the meson build directory (default: build/ of this tree)
  --virt-vmconfig PATH the CLI to measure (default: DIR/src/cli/virt-vmconfig)
  --only LIST          only these rows, e.g. --only 1,2,7 (row 1's peer figure comes from row 2)
  --poll-ms MS         period of the peers' polling loops (default 200)
  --lock FILE          lock held while guests boot (default /run/vmc-boot.lock)
  --no-lock            take no lock (the caller holds it)
  -h, --help           this help

Guests are the test guest ($VMC_GUEST_DIR, default /var/tmp/virt-vmconfig-guest;
tests/guest/build-guest.sh builds it), booted with TCG (--accel qemu).
EOF
}

# ---------------------------------------------------------------------------
# Options

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 1
BUILD_DIR=$SRC_DIR/build
VMC=
URI=qemu:///system
QUICK=false
BOOT=true
CONCURRENT=4
POLL_MS=200
LOCK_FILE=/run/vmc-boot.lock
USE_LOCK=true
GUEST_DIR=${VMC_GUEST_DIR:-/var/tmp/virt-vmconfig-guest}
ONLY=1,2,3,4,5,6,7,8

bad_usage() {
  echo "bench-table: $*" >&2
  echo "Try 'bench/bench-table.sh --help'." >&2
  exit 2
}

need_arg() {
  [ "$#" -ge 2 ] || bad_usage "option '$1' needs an argument"
}

while [ "$#" -gt 0 ]; do
  case $1 in
    --quick) QUICK=true ;;
    --no-boot) BOOT=false ;;
    -n|--concurrent) need_arg "$@"; CONCURRENT=$2; shift ;;
    --concurrent=*) CONCURRENT=${1#*=} ;;
    --uri) need_arg "$@"; URI=$2; shift ;;
    --uri=*) URI=${1#*=} ;;
    --build-dir) need_arg "$@"; BUILD_DIR=$2; shift ;;
    --build-dir=*) BUILD_DIR=${1#*=} ;;
    --virt-vmconfig) need_arg "$@"; VMC=$2; shift ;;
    --virt-vmconfig=*) VMC=${1#*=} ;;
    --poll-ms) need_arg "$@"; POLL_MS=$2; shift ;;
    --poll-ms=*) POLL_MS=${1#*=} ;;
    --lock) need_arg "$@"; LOCK_FILE=$2; shift ;;
    --lock=*) LOCK_FILE=${1#*=} ;;
    --no-lock) USE_LOCK=false ;;
    --only) need_arg "$@"; ONLY=$2; shift ;;
    --only=*) ONLY=${1#*=} ;;
    -h|--help) usage; exit 0 ;;
    *) bad_usage "unknown argument '$1'" ;;
  esac
  shift
done

if ! [[ $CONCURRENT =~ ^[0-9]{1,2}$ ]] || (( CONCURRENT < 1 || CONCURRENT > 64 )); then
  bad_usage "-n must be a number from 1 to 64"
fi
if ! [[ $POLL_MS =~ ^[0-9]{1,5}$ ]] || (( POLL_MS < 10 || POLL_MS > 10000 )); then
  bad_usage "--poll-ms must be a number from 10 to 10000"
fi
if ! [[ $ONLY =~ ^[1-8](,[1-8])*$ ]]; then
  bad_usage "--only takes row numbers from 1 to 8, separated by commas"
fi
[ -n "$URI" ] || bad_usage "--uri must not be empty"
[ -n "$VMC" ] || VMC=$BUILD_DIR/src/cli/virt-vmconfig
BENCH_RENDER=$BUILD_DIR/bench/bench-render
BENCH_READY=$BUILD_DIR/bench/bench-ready
BENCH_LIST=$BUILD_DIR/bench/bench-list
BENCH_VM=$SRC_DIR/bench/data/bench-vm.json
POLL_US=$(( POLL_MS * 1000 ))

if $QUICK; then
  RENDER_N=5000 RENDER_R=3
  WHOLE_K=5 WHOLE_W=1
  READY_N=20 READY_P=20
  LIST_RUNS=2
  UP_RUNS=2 READY_RUNS=1 STOP_RUNS=1 CONC_RUNS=1
else
  RENDER_N=20000 RENDER_R=5
  WHOLE_K=20 WHOLE_W=2
  READY_N=50 READY_P=50
  LIST_RUNS=5
  UP_RUNS=5 READY_RUNS=3 STOP_RUNS=3 CONC_RUNS=3
fi
# 1,000 renders apart in both modes: fewer, and glibc's malloc (a heap not yet
# fragmented) costs about 30,000 instructions less per render.
CG_N=1000 CG_R1=1 CG_R2=2
WATCH_COUNT=1000
BOOT_TIMEOUT=300      # s: the longest any boot may take to be Ready
STOP_TIMEOUT=60       # s: the longest a guest may take to power off

# ---------------------------------------------------------------------------
# State, clean-up and signals

PREFIX=vmc-bench-table-$$-
TMP=
CHILD=                # the foreground child, run in the background and waited for
PIDS=()               # background children
LIST_CHILD=           # bench-list's pid while it runs
READY_CHILD=          # bench-ready's pid while it runs
LOCK_FD=
FAILED=0
CLEANED=false

note() { echo "bench-table: $*" >&2; }

virsh_q() { virsh -q -c "$URI" "$@"; }

# Destroys and undefines every domain of @uri whose name starts with one of the
# prefixes given, through one virsh reading its batch from a file.
remove_domains() {
  local batch names name p
  names=$(virsh_q list --all --name 2>/dev/null) || return 0
  batch=$TMP/cleanup.virsh
  : >"$batch" || return 1
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    for p in "$@"; do
      if [[ $name == "$p"* ]]; then
        printf 'destroy %s\nundefine %s\n' "$name" "$name" >>"$batch"
        break
      fi
    done
  done <<<"$names"
  [ -s "$batch" ] || return 0
  virsh_q <"$batch" >/dev/null 2>&1
  return 0
}

left_domains() {
  local names
  names=$(virsh_q list --all --name 2>/dev/null) || return 0
  grep -c "^$PREFIX" <<<"$names"
}

cleanup() {
  $CLEANED && return
  CLEANED=true
  local pid prefixes=("$PREFIX") left stopped=false

  for pid in "$CHILD" "${PIDS[@]}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && stopped=true
  done
  for pid in "$CHILD" "${PIDS[@]}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
  # Children that were killed may have left what they made.
  [ -n "$LIST_CHILD" ] && prefixes+=(vmc-bench-list-)
  [ -n "$READY_CHILD" ] && prefixes+=("vmc-bench-ready-$READY_CHILD")
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    wait_daemon
    remove_domains "${prefixes[@]}"
    if $stopped; then
      # A virsh create whose loop was stopped may still be starting its domain.
      sleep 2
      remove_domains "${prefixes[@]}"
    fi
    left=$(left_domains)
    if [ "${left:-0}" -gt 0 ]; then
      note "could not remove $left domains named $PREFIX* on $URI"
      FAILED=1
    fi
    # libvirt's own log of each domain booted here.
    if [ "$URI" = qemu:///system ]; then
      rm -f /var/log/libvirt/qemu/"$PREFIX"*.log
    fi
    case $TMP in
      /var/tmp/vmc-bench-table.*) rm -rf -- "$TMP" ;;
    esac
  fi
  if [ -n "$LOCK_FD" ]; then
    flock -u "$LOCK_FD"
    exec {LOCK_FD}>&-
    LOCK_FD=
  fi
}

on_signal() {
  trap '' INT TERM HUP
  note "interrupted ($1): cleaning up"
  cleanup
  case $1 in
    INT) exit 130 ;;
    TERM) exit 143 ;;
    *) exit 129 ;;
  esac
}

# The status of the run, or 1 when the clean-up left something behind.
trap 'rc=$?; cleanup; [ "$rc" -eq 0 ] && rc=$FAILED; exit "$rc"' EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# Runs a command (argv) with stdout and stderr to files, in the background and
# waited for, so that a signal reaches the traps at once; its status.
run_to() {
  local out=$1 err=$2 rc
  shift 2
  "$@" >"$out" 2>"$err" </dev/null &
  CHILD=$!
  wait "$CHILD"
  rc=$?
  CHILD=
  return "$rc"
}

# Runs one virsh on @uri reading its commands from the file @1 (output to @2, @3),
# in the background and waited for.
virsh_batch() {
  local rc
  virsh -q -c "$URI" <"$1" >"$2" 2>"$3" &
  CHILD=$!
  wait "$CHILD"
  rc=$?
  CHILD=''
  return "$rc"
}

want() { [[ ,$ONLY, == *,$1,* ]]; }

# A local daemon under ptrace (a `strace -f` someone left running) makes every
# QEMU it starts traced too, and slows both: said on stderr and in the header.
TRACED_NOTE=
check_traced() {
  local pid tracer
  [[ $URI == qemu:///system ]] || return 0
  for pid in $(pgrep -x libvirtd; pgrep -x virtqemud); do
    tracer=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$pid/status" 2>/dev/null)
    if [ -n "$tracer" ] && [ "$tracer" != 0 ]; then
      note "warning: the daemon (PID $pid) is being traced by PID $tracer: its figures and its guests' are slowed"
      TRACED_NOTE="; WARNING: the daemon was traced by PID $tracer during the run"
    fi
  done
}

# Up to 60 s for the daemon to answer: another user of this host (a test
# suite) may be restarting it.
wait_daemon() {
  local i
  for (( i = 0; i < 120; i++ )); do
    virsh -q -c "$URI" uri >/dev/null 2>&1 && return 0
    (( i == 0 )) && note "waiting for $URI to answer"
    sleep 0.5
  done
  return 1
}

# Microseconds now (wall clock, without a process).
now_us() { NOW=${EPOCHREALTIME/./}; }

# Sleeps @1 microseconds.
sleep_us() {
  local s
  printf -v s '%d.%06d' $(( $1 / 1000000 )) $(( $1 % 1000000 ))
  sleep "$s"
}

# Prints the median of the numbers given.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) exit 1
          if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

minimum() { printf '%s\n' "$@" | sort -g | head -n 1; }

# A figure in ms (@1) with a precision that fits its size.
fmt_ms() {
  awk -v v="$1" 'BEGIN { if (v < 10) printf "%.2f ms", v; else if (v < 100) printf "%.1f ms", v;
                         else if (v < 1000) printf "%.0f ms", v; else printf "%.2f s", v / 1000 }'
}

fmt_ratio() {
  awk -v p="$1" -v o="$2" 'BEGIN { if (o <= 0) { print "n/a"; exit }
    r = p / o; if (r < 10) printf "%.2fx", r; else if (r < 100) printf "%.1fx", r;
    else printf "%.0fx", r }'
}

# 262205 -> 262,205
commas() { sed ':a; s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta' <<<"$1"; }

us_to_ms() { awk -v v="$1" 'BEGIN { printf "%.3f", v / 1000 }'; }

# ---------------------------------------------------------------------------
# The table

ROWS=()
declare -A R_NAME R_OURS R_PEER R_RATIO R_NOTE

row() { # key measurement ours peer ratio note
  ROWS+=("$1")
  R_NAME[$1]=$2 R_OURS[$1]=$3 R_PEER[$1]=$4 R_RATIO[$1]=$5 R_NOTE[$1]=$6
}

# A measurement that could not run: the run fails, the table says why.
row_failed() { # key measurement reason
  FAILED=1
  note "$2: $3"
  row "$1" "$2" "FAILED" "" "" "could not run: ${3//|/\\|}"
}

print_table() {
  local k
  echo "| measurement | ours | peer | ratio (peer / ours) | note |"
  echo "|---|---|---|---|---|"
  for k in "${ROWS[@]}"; do
    printf '| %s | %s | %s | %s | %s |\n' "${R_NAME[$k]}" "${R_OURS[$k]}" "${R_PEER[$k]}" \
      "${R_RATIO[$k]}" "${R_NOTE[$k]}"
  done
}

# The first line of a file's text, for an error message.
first_err() { head -c 300 "$1" 2>/dev/null | tr '\n|' '  '; }

# ---------------------------------------------------------------------------
# Rows 1 and 2: rendering

VIRT_INSTALL_MS=

row_render_whole() {
  local out=$TMP/whole.out err=$TMP/whole.err ours peer
  note "row 2: virt-vmconfig xml vs virt-install --print-xml ($WHOLE_K runs each)"
  if ! run_to "$out" "$err" "$BENCH_RENDER" --whole-process -k "$WHOLE_K" -w "$WHOLE_W" \
         --virt-vmconfig "$VMC" --vm-config "$BENCH_VM"; then
    row_failed whole "xml, whole process" "bench-render --whole-process: $(first_err "$err")"
    return
  fi
  ours=$(sed -n 's/^whole process: virt-vmconfig xml \([0-9.]*\) ms.*/\1/p' "$out")
  peer=$(sed -n 's/.*virt-install --print-xml \([0-9.]*\) ms, ratio.*/\1/p' "$out")
  if [ -z "$ours" ]; then
    row_failed whole "xml, whole process" "no figure in bench-render's output"
    return
  fi
  if [ -z "$peer" ]; then
    row whole "\`virt-vmconfig xml\` vs \`virt-install --print-xml\`, whole process" \
      "$(fmt_ms "$ours")" "n/a" "n/a" "virt-install not in PATH; median of $WHOLE_K runs"
    return
  fi
  VIRT_INSTALL_MS=$peer
  row whole "\`virt-vmconfig xml\` vs \`virt-install --print-xml\`, whole process" \
    "$(fmt_ms "$ours")" "$(fmt_ms "$peer")" "$(fmt_ratio "$peer" "$ours")" \
    "medians of $WHOLE_K runs after $WHOLE_W warm-up (bench-render --whole-process, bench/data/bench-vm.json; virt-install on test:///default)"
}

row_render_in_process() {
  local out=$TMP/render.out err=$TMP/render.err us peer_us ratio peer
  note "row 1: render in process ($RENDER_R rounds of $RENDER_N)"
  if ! run_to "$out" "$err" "$BENCH_RENDER" --in-process -n "$RENDER_N" -r "$RENDER_R" \
         "$BENCH_VM"; then
    row_failed render "render in-process, per VM" "bench-render --in-process: $(first_err "$err")"
    return
  fi
  us=$(sed -n 's/^render in-process: median \([0-9.]*\) .*/\1/p' "$out")
  if [ -z "$us" ]; then
    row_failed render "render in-process, per VM" "no figure in bench-render's output"
    return
  fi
  if [ -n "$VIRT_INSTALL_MS" ]; then
    peer_us=$(awk -v v="$VIRT_INSTALL_MS" 'BEGIN { printf "%.0f", v * 1000 }')
    peer="$peer_us µs (virt-install --print-xml, a process per VM)"
    ratio=$(fmt_ratio "$peer_us" "$us")
  else
    peer="n/a"
    ratio="n/a"
  fi
  row render "render in-process, µs per VM" "$us µs" "$peer" "$ratio" \
    "ours: vmc_config_to_domain_xml(), median of $RENDER_R rounds of $RENDER_N (bench-render --in-process, bench-vm.json); peer: row 2's virt-install median"
}

row_render_instructions() {
  local t1 t2 per f
  note "row 1: instructions per render under callgrind"
  if ! command -v valgrind >/dev/null; then
    row instr "render, instructions per render (callgrind)" "n/a" "n/a" "n/a" \
      "valgrind not in PATH (apt-get install valgrind)"
    return
  fi
  for f in 1 2; do
    local r=$CG_R1
    [ "$f" = 2 ] && r=$CG_R2
    if ! run_to "$TMP/cg.$f.out" "$TMP/cg.$f.err" valgrind --tool=callgrind \
           --callgrind-out-file="$TMP/callgrind.$f" "$BENCH_RENDER" --in-process \
           -n "$CG_N" -r "$r" "$BENCH_VM"; then
      row_failed instr "render, instructions per render (callgrind)" \
        "valgrind bench-render: $(first_err "$TMP/cg.$f.err")"
      return
    fi
  done
  t1=$(sed -n 's/^totals: \([0-9]*\)$/\1/p' "$TMP/callgrind.1")
  t2=$(sed -n 's/^totals: \([0-9]*\)$/\1/p' "$TMP/callgrind.2")
  if [ -z "$t1" ] || [ -z "$t2" ]; then
    row_failed instr "render, instructions per render (callgrind)" "no totals in callgrind's output"
    return
  fi
  per=$(( (t2 - t1) / (CG_N * (CG_R2 - CG_R1)) ))
  row instr "render, instructions per render (callgrind)" \
    "$(commas "$per")" "n/a" "n/a" \
    "(instructions of bench-render -n $CG_N -r $CG_R2 − of -r $CG_R1) / $(( CG_N * (CG_R2 - CG_R1) )) renders: start-up, warm-up and name set-up cancel; no peer runs in process"
}

# ---------------------------------------------------------------------------
# Row 4: the ready delay (bench-ready)

row_ready_delay() {
  local out=$TMP/ready.out err=$TMP/ready.err ours peer call rc
  note "row 4: ready delay (bench-ready, $READY_N + $READY_P rounds)"
  TMPDIR=$TMP "$BENCH_READY" -n "$READY_N" -p "$READY_P" >"$out" 2>"$err" </dev/null &
  CHILD=$! READY_CHILD=$!
  wait "$CHILD"
  rc=$?
  CHILD=''
  if [ "$rc" -ne 0 ]; then
    # It could not undefine its baseline domain if the daemon went away.
    wait_daemon
    remove_domains "vmc-bench-ready-$READY_CHILD"
  fi
  READY_CHILD=''
  if [ "$rc" -ne 0 ]; then
    row_failed ready "ready delay" "$(first_err "$err")"
    return
  fi
  ours=$(sed -n 's/^ready via inotify: median \([0-9.]*\) ms.*/\1/p' "$out")
  peer=$(sed -n 's/^ready via [0-9]* ms polling of virsh domstate + log: median \([0-9.]*\) ms.*/\1/p' "$out")
  call=$(sed -n 's/^  virsh -c \([^ ]*\) domstate .*: median \([0-9.]*\) ms per call.*/\1, \2 ms per call/p' "$out")
  if [ -z "$ours" ] || [ -z "$peer" ]; then
    row_failed ready "ready delay" "no figures in bench-ready's output (is virsh in PATH?)"
    return
  fi
  row ready "ready delay: marker written → wait returns" "$(fmt_ms "$ours")" \
    "$(fmt_ms "$peer")" "$(fmt_ratio "$peer" "$ours")" \
    "medians of $READY_N / $READY_P rounds (bench-ready): ours vmc_driver_wait_ready() (inotify); peer a check every 200 ms of virsh domstate ($call) + reading the log"
}

# ---------------------------------------------------------------------------
# Row 6: listing 1,000 domains (bench-list)

row_list() {
  local out=$TMP/list.out err=$TMP/list.err ours all peer rc
  note "row 6: list of 1,000 domains (bench-list, $LIST_RUNS runs)"
  TMPDIR=$TMP "$BENCH_LIST" --virt-vmconfig "$VMC" --uri "$URI" --count 1000 \
    --runs "$LIST_RUNS" >"$out" 2>"$err" </dev/null &
  CHILD=$! LIST_CHILD=$!
  wait "$CHILD"
  rc=$?
  CHILD=''
  if [ "$rc" -ne 0 ]; then
    # Its domains stay if the daemon went away before it undefined them.
    wait_daemon
    remove_domains vmc-bench-list-
  fi
  LIST_CHILD=''
  if [ "$rc" -ne 0 ]; then
    row_failed list "list of 1,000 domains" "bench-list: $(first_err "$err") $(first_err "$out")"
    return
  fi
  ours=$(sed -n 's/^  virt-vmconfig list  *\([0-9.]*\) ms$/\1/p' "$out")
  all=$(sed -n 's/^  virt-vmconfig list --all  *\([0-9.]*\) ms$/\1/p' "$out")
  peer=$(sed -n 's/^  virsh list --all  *\([0-9.]*\) ms$/\1/p' "$out")
  if [ -z "$ours" ] || [ -z "$all" ] || [ -z "$peer" ]; then
    row_failed list "list of 1,000 domains" "no figures in bench-list's output"
    return
  fi
  row list "list of 1,000 stopped domains: \`virt-vmconfig list\` vs \`virsh list --all\`" \
    "$(fmt_ms "$ours")" "$(fmt_ms "$peer")" "$(fmt_ratio "$peer" "$ours")" \
    "whole processes, medians of $LIST_RUNS runs after 1 (bench-list on $URI); ours lists its own VMs"
  row listall "list of 1,000 stopped domains: \`virt-vmconfig list --all\` vs \`virsh list --all\`" \
    "$(fmt_ms "$all")" "$(fmt_ms "$peer")" "$(fmt_ratio "$peer" "$all")" \
    "the same runs; --all lists every domain of the host, as virsh does"
  ours=$(sed -n 's/^  virt-vmconfig state NAME  *\([0-9.]*\) ms$/\1/p' "$out")
  peer=$(sed -n 's/^  virsh domstate NAME  *\([0-9.]*\) ms$/\1/p' "$out")
  if [ -n "$ours" ] && [ -n "$peer" ]; then
    row state "state of one VM among 1,000: \`virt-vmconfig state\` vs \`virsh domstate\`" \
      "$(fmt_ms "$ours")" "$(fmt_ms "$peer")" "$(fmt_ratio "$peer" "$ours")" \
      "the same domains, whole processes, medians of $LIST_RUNS runs after 1"
  fi
}

# ---------------------------------------------------------------------------
# Row 7: the memory of a watch over 1,000 VMs

# VmHWM (peak RSS) of @1 in kB.
hwm_kb() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status" 2>/dev/null; }

fmt_mib() { awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }'; }

# Waits up to @2 s until the command @3... succeeds, every 100 ms; @1 the pid that
# must stay alive meanwhile (or empty).
wait_until() {
  local pid=$1 deadline
  now_us
  deadline=$(( NOW + $2 * 1000000 ))
  shift 2
  while ! "$@"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    now_us
    (( NOW > deadline )) && return 1
    sleep 0.1
  done
  return 0
}

count_at_least() { # file pattern n
  [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ]
}

row_watch() {
  local dir=$TMP/watch i name batch wpid vpid ours1 peer1 ours2 peer2 n ok=true
  local measure="memory of a watch over 1,000 stopped VMs (VmHWM)"
  local measure2="memory of the same watches after 2,000 lifecycle events (VmHWM)"
  note "row 7: defining $WATCH_COUNT stopped domains of ours for the watches"
  mkdir -p "$dir" || { row_failed watch "$measure" "cannot make $dir"; return; }
  batch=$dir/define.virsh
  : >"$batch"
  for (( i = 0; i < WATCH_COUNT; i++ )); do
    printf -v name '%sw%04d' "$PREFIX" "$i"
    printf '{"name": "%s", "namespace": "bench-table", "kernel": "%s/vmlinuz", "initramfs": "%s/initramfs.img", "cpus": 1, "memory_mb": 128, "networks": [{"type": "user"}], "serial_log": "%s/%s.serial"}\n' \
      "$name" "$GUEST_DIR" "$GUEST_DIR" "$dir" "$name" >"$dir/$name.json"
    if ! "$VMC" --accel qemu xml "$dir/$name.json" >"$dir/$name.xml" 2>"$dir/xml.err"; then
      row_failed watch "$measure" "virt-vmconfig xml: $(first_err "$dir/xml.err")"
      return
    fi
    printf 'define %s\n' "$dir/$name.xml" >>"$batch"
  done
  virsh_batch "$batch" "$dir/define.out" "$dir/define.err"
  n=$(virsh_q list --all --name 2>/dev/null | grep -c "^${PREFIX}w")
  if [ "$n" -ne "$WATCH_COUNT" ]; then
    row_failed watch "$measure" "defined $n of $WATCH_COUNT domains: $(first_err "$dir/define.err")"
    return
  fi

  note "row 7: virt-vmconfig watch and virsh event --all --loop over them"
  "$VMC" -c "$URI" watch >"$dir/ours.out" 2>"$dir/ours.err" </dev/null &
  wpid=$!
  PIDS+=("$wpid")
  virsh -c "$URI" event --all --loop >"$dir/virsh.out" 2>"$dir/virsh.err" </dev/null &
  vpid=$!
  PIDS+=("$vpid")
  if ! wait_until "$wpid" 60 grep -q "watching" "$dir/ours.err"; then
    row_failed watch "$measure" "virt-vmconfig watch did not start: $(first_err "$dir/ours.err")"
    ok=false
  fi
  # Both are settled by then; virsh subscribes within milliseconds.
  $ok && sleep 2
  if $ok && ! kill -0 "$vpid" 2>/dev/null; then
    row_failed watch "$measure" "virsh event exited: $(first_err "$dir/virsh.err")"
    ok=false
  fi
  if $ok; then
    ours1=$(hwm_kb "$wpid") peer1=$(hwm_kb "$vpid")
    row watch "$measure" "$(fmt_mib "$ours1")" "$(fmt_mib "$peer1")" \
      "$(fmt_ratio "$peer1" "$ours1")" \
      "peak RSS 2 s after start: \`virt-vmconfig watch\` (all our VMs, no --namespace) vs \`virsh event --all --loop\`, both on $URI with $WATCH_COUNT defined stopped domains of ours"
    # 2,000 events for each watch: the domains undefined, then defined again.
    local names ours_undef
    mapfile -t names < <(virsh_q list --all --name | grep "^${PREFIX}w")
    printf 'undefine %s\n' "${names[@]}" >"$dir/undefine.virsh"
    virsh_batch "$dir/undefine.virsh" "$dir/undefine.out" "$dir/undefine.err"
    if ! wait_until "$vpid" 120 count_at_least "$dir/virsh.out" "'${PREFIX}w[0-9]*': Undefined" "$WATCH_COUNT"; then
      row_failed watch2 "$measure2" \
        "virsh event saw $(grep -c "Undefined" "$dir/virsh.out") of $WATCH_COUNT undefine events"
    else
      sleep 1
      ours_undef=$(grep -c "^${PREFIX}w.* \[undefined/" "$dir/ours.out")
      virsh_batch "$batch" "$dir/define2.out" "$dir/define2.err"
      if wait_until "$wpid" 120 count_at_least "$dir/ours.out" "^${PREFIX}w.* \[defined/" "$WATCH_COUNT" &&
         wait_until "$vpid" 120 count_at_least "$dir/virsh.out" "'${PREFIX}w[0-9]*': Defined" "$WATCH_COUNT"; then
        sleep 0.5
        ours2=$(hwm_kb "$wpid") peer2=$(hwm_kb "$vpid")
        row watch2 "$measure2" "$(fmt_mib "$ours2")" "$(fmt_mib "$peer2")" \
          "$(fmt_ratio "$peer2" "$ours2")" \
          "the same processes after the $WATCH_COUNT domains were undefined and defined again; virsh printed all 2,000 events, ours the $WATCH_COUNT defines and $ours_undef of the $WATCH_COUNT undefines"
      else
        row_failed watch2 "$measure2" \
          "the watches saw $(grep -c "^${PREFIX}w.* \[defined/" "$dir/ours.out") (ours) and $(grep -c "Defined" "$dir/virsh.out") (virsh) of $WATCH_COUNT define events"
      fi
    fi
  fi
  kill -TERM "$wpid" "$vpid" 2>/dev/null
  wait "$wpid" "$vpid" 2>/dev/null
  PIDS=()
  remove_domains "${PREFIX}w"
}

# ---------------------------------------------------------------------------
# Boots: rows 3, 5 and 8

# Writes the config @2.json and its domain XML @2.xml for the guest named @1 in
# $TMP/boot; the serial log is @2.serial.
make_guest() {
  local name=$1 base=$2
  printf '{"name": "%s", "namespace": "bench-table", "kernel": "%s/vmlinuz", "initramfs": "%s/initramfs.img", "cpus": 1, "memory_mb": 256, "networks": [{"type": "user"}], "serial_log": "%s.serial", "cmdline": "console=ttyS0"}\n' \
    "$name" "$GUEST_DIR" "$GUEST_DIR" "$base" >"$base.json" &&
  rm -f "$base.serial" &&
  "$VMC" --accel qemu xml "$base.json" >"$base.xml" 2>"$base.xml.err"
}

# Until the serial log @1 has the ready line (the console ends lines with CR LF): a check every $POLL_US, each
# started on time (a late one at once), as a loop of other tools would.
poll_log_ready() {
  local log=$1 deadline next
  now_us
  deadline=$(( NOW + BOOT_TIMEOUT * 1000000 ))
  next=$NOW
  while :; do
    now_us
    (( next > NOW )) && sleep_us $(( next - NOW ))
    next=$(( next + POLL_US ))
    now_us
    (( next < NOW )) && next=$NOW
    grep -qs '^VMRS_READY [0-9]' "$log" && return 0
    (( NOW > deadline )) && return 1
  done
}

# Until `virsh domstate @1` says shut off, a check every $POLL_US.
poll_shut_off() {
  local name=$1 deadline next state
  now_us
  deadline=$(( NOW + STOP_TIMEOUT * 1000000 ))
  next=$NOW
  while :; do
    now_us
    (( next > NOW )) && sleep_us $(( next - NOW ))
    next=$(( next + POLL_US ))
    now_us
    (( next < NOW )) && next=$NOW
    state=$(virsh_q domstate "$name" 2>/dev/null) || return 1
    [ "$state" = "shut off" ] && return 0
    (( NOW > deadline )) && return 1
  done
}

# The peer's boot to Ready: virsh create, then polling the log.
peer_create_ready() { # xml log
  virsh_q create "$1" >/dev/null || return 1
  poll_log_ready "$2"
}

ours_teardown() { # name
  "$VMC" -c "$URI" kill "$1" >/dev/null 2>&1
  "$VMC" -c "$URI" delete "$1" >/dev/null 2>&1
}

peer_teardown() { # name (transient or persistent)
  virsh_q destroy "$1" >/dev/null 2>&1
  virsh_q undefine "$1" >/dev/null 2>&1
  return 0
}

# Times the command @3... (to $ELAPSED_US); stdout/stderr to @1/@2.
time_to() {
  local out=$1 err=$2 t0 rc
  shift 2
  now_us
  t0=$NOW
  run_to "$out" "$err" "$@"
  rc=$?
  now_us
  ELAPSED_US=$(( NOW - t0 ))
  return "$rc"
}

BOOT_DIR=

boot_warmup() {
  local base=$BOOT_DIR/warmup name=${PREFIX}warmup
  note "boot warm-up (untimed): one guest to Ready"
  make_guest "$name" "$base" || return 1
  time_to "$base.out" "$base.err" peer_create_ready "$base.xml" "$base.serial"
  local rc=$?
  peer_teardown "$name"
  return "$rc"
}

row_up() {
  local i name base ours=() peer=() oursr=() peerr=() m1 m2
  local measure="boot to running: \`virt-vmconfig up\` vs \`virsh create\`"
  local measure2="boot to Ready: \`up --wait-ready\` vs \`virsh create\` + log polling"
  note "row 3: boot to running ($UP_RUNS runs each, interleaved)"
  for (( i = 1; i <= UP_RUNS; i++ )); do
    name=${PREFIX}up-o$i base=$BOOT_DIR/up-o$i
    make_guest "$name" "$base" || { row_failed up "$measure" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
    if ! time_to "$base.out" "$base.err" "$VMC" -c "$URI" --accel qemu up "$base.json"; then
      ours_teardown "$name"
      row_failed up "$measure" "virt-vmconfig up: $(first_err "$base.err")"
      return
    fi
    ours+=("$(us_to_ms "$ELAPSED_US")")
    ours_teardown "$name"

    name=${PREFIX}up-p$i base=$BOOT_DIR/up-p$i
    make_guest "$name" "$base" || { row_failed up "$measure" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
    if ! time_to "$base.out" "$base.err" virsh -q -c "$URI" create "$base.xml"; then
      peer_teardown "$name"
      row_failed up "$measure" "virsh create: $(first_err "$base.err")"
      return
    fi
    peer+=("$(us_to_ms "$ELAPSED_US")")
    peer_teardown "$name"
  done
  m1=$(median "${ours[@]}") m2=$(median "${peer[@]}")
  row up "$measure" "$(fmt_ms "$m1")" "$(fmt_ms "$m2")" "$(fmt_ratio "$m2" "$m1")" \
    "whole processes until the domain runs, medians of $UP_RUNS (min $(fmt_ms "$(minimum "${ours[@]}")") / $(fmt_ms "$(minimum "${peer[@]}")")); ours defines and starts (persistent), virsh create starts the same XML transient; each VM destroyed and removed after"

  note "row 3: boot to Ready ($READY_RUNS runs each, interleaved)"
  for (( i = 1; i <= READY_RUNS; i++ )); do
    name=${PREFIX}rd-o$i base=$BOOT_DIR/rd-o$i
    make_guest "$name" "$base" || { row_failed upready "$measure2" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
    if ! time_to "$base.out" "$base.err" "$VMC" -c "$URI" --accel qemu up \
           --wait-ready="$BOOT_TIMEOUT" "$base.json"; then
      ours_teardown "$name"
      row_failed upready "$measure2" "virt-vmconfig up --wait-ready: $(first_err "$base.err")"
      return
    fi
    oursr+=("$(us_to_ms "$ELAPSED_US")")
    ours_teardown "$name"

    name=${PREFIX}rd-p$i base=$BOOT_DIR/rd-p$i
    make_guest "$name" "$base" || { row_failed upready "$measure2" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
    if ! time_to "$base.out" "$base.err" peer_create_ready "$base.xml" "$base.serial"; then
      peer_teardown "$name"
      row_failed upready "$measure2" "virsh create + polling: no ready line: $(first_err "$base.err")"
      return
    fi
    peerr+=("$(us_to_ms "$ELAPSED_US")")
    peer_teardown "$name"
  done
  m1=$(median "${oursr[@]}") m2=$(median "${peerr[@]}")
  row upready "$measure2" "$(fmt_ms "$m1")" "$(fmt_ms "$m2")" "$(fmt_ratio "$m2" "$m1")" \
    "until the guest's VMRS_READY line is seen, medians of $READY_RUNS (min $(fmt_ms "$(minimum "${oursr[@]}")") / $(fmt_ms "$(minimum "${peerr[@]}")")); peer reads the serial log every $POLL_MS ms; TCG, 1 vCPU, 256 MiB, user NIC"
}

row_stop() {
  local i name base ours=() peer=() m1 m2
  local measure="stop latency of a Ready guest: \`virt-vmconfig down\` vs \`virsh shutdown\` + polling"
  note "row 5: stop latency ($STOP_RUNS runs each, interleaved)"
  for (( i = 1; i <= STOP_RUNS; i++ )); do
    name=${PREFIX}st-o$i base=$BOOT_DIR/st-o$i
    make_guest "$name" "$base" || { row_failed stop "$measure" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
    if ! run_to "$base.up.out" "$base.up.err" "$VMC" -c "$URI" --accel qemu up \
           --wait-ready="$BOOT_TIMEOUT" "$base.json"; then
      ours_teardown "$name"
      row_failed stop "$measure" "virt-vmconfig up --wait-ready: $(first_err "$base.up.err")"
      return
    fi
    if ! time_to "$base.out" "$base.err" "$VMC" -c "$URI" down --timeout "$STOP_TIMEOUT" "$name"; then
      ours_teardown "$name"
      row_failed stop "$measure" "virt-vmconfig down: $(first_err "$base.err")"
      return
    fi
    ours+=("$(us_to_ms "$ELAPSED_US")")
    ours_teardown "$name"

    name=${PREFIX}st-p$i base=$BOOT_DIR/st-p$i
    make_guest "$name" "$base" || { row_failed stop "$measure" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
    if ! run_to "$base.def.out" "$base.def.err" virsh -q -c "$URI" define "$base.xml" ||
       ! run_to "$base.start.out" "$base.start.err" virsh -q -c "$URI" start "$name" ||
       ! run_to "$base.poll.out" "$base.poll.err" poll_log_ready "$base.serial"; then
      peer_teardown "$name"
      row_failed stop "$measure" "virsh define + start to Ready: $(first_err "$base.def.err") $(first_err "$base.start.err")"
      return
    fi
    if ! time_to "$base.out" "$base.err" stop_peer "$name"; then
      peer_teardown "$name"
      row_failed stop "$measure" "virsh shutdown + domstate: not shut off within $STOP_TIMEOUT s: $(first_err "$base.err")"
      return
    fi
    peer+=("$(us_to_ms "$ELAPSED_US")")
    peer_teardown "$name"
  done
  m1=$(median "${ours[@]}") m2=$(median "${peer[@]}")
  row stop "$measure" "$(fmt_ms "$m1")" "$(fmt_ms "$m2")" "$(fmt_ratio "$m2" "$m1")" \
    "ACPI power button to shut off, medians of $STOP_RUNS (min $(fmt_ms "$(minimum "${ours[@]}")") / $(fmt_ms "$(minimum "${peer[@]}")")); both guests persistent and Ready first; peer runs virsh domstate every $POLL_MS ms"
}

stop_peer() { # name
  virsh_q shutdown "$1" >/dev/null || return 1
  poll_shut_off "$1"
}

row_concurrent() {
  local r i name base pids rc ours=() peer=() m1 m2 t0 bad
  local measure="$CONCURRENT concurrent boots to Ready, wall time"
  note "row 8: $CONCURRENT concurrent boots to Ready ($CONC_RUNS runs each, interleaved)"
  for (( r = 1; r <= CONC_RUNS; r++ )); do
    for side in o p; do
      for (( i = 1; i <= CONCURRENT; i++ )); do
        base=$BOOT_DIR/c$r$side$i
        make_guest "${PREFIX}c$r$side$i" "$base" ||
          { row_failed conc "$measure" "virt-vmconfig xml: $(first_err "$base.xml.err")"; return; }
      done
      pids=()
      now_us
      t0=$NOW
      for (( i = 1; i <= CONCURRENT; i++ )); do
        base=$BOOT_DIR/c$r$side$i
        if [ "$side" = o ]; then
          "$VMC" -c "$URI" --accel qemu up --wait-ready="$BOOT_TIMEOUT" "$base.json" \
            >"$base.out" 2>"$base.err" </dev/null &
        else
          peer_create_ready "$base.xml" "$base.serial" >"$base.out" 2>"$base.err" </dev/null &
        fi
        pids+=("$!")
        PIDS+=("$!")
      done
      bad=
      for (( i = 1; i <= CONCURRENT; i++ )); do
        wait "${pids[$((i - 1))]}"
        rc=$?
        [ "$rc" -ne 0 ] && bad="$bad $i:$(first_err "$BOOT_DIR/c$r$side$i.err")"
      done
      now_us
      PIDS=()
      for (( i = 1; i <= CONCURRENT; i++ )); do
        if [ "$side" = o ]; then
          ours_teardown "${PREFIX}c$r$side$i"
        else
          peer_teardown "${PREFIX}c$r$side$i"
        fi
      done
      if [ -n "$bad" ]; then
        row_failed conc "$measure" "$([ "$side" = o ] && echo "virt-vmconfig up --wait-ready" || echo "virsh create + polling") failed for guest$bad"
        return
      fi
      if [ "$side" = o ]; then
        ours+=("$(us_to_ms $(( NOW - t0 )))")
      else
        peer+=("$(us_to_ms $(( NOW - t0 )))")
      fi
    done
  done
  m1=$(median "${ours[@]}") m2=$(median "${peer[@]}")
  row conc "$measure" "$(fmt_ms "$m1")" "$(fmt_ms "$m2")" "$(fmt_ratio "$m2" "$m1")" \
    "all $CONCURRENT started at once until the last is Ready, medians of $CONC_RUNS (min $(fmt_ms "$(minimum "${ours[@]}")") / $(fmt_ms "$(minimum "${peer[@]}")")): ours $CONCURRENT \`up --wait-ready\` processes; peer $CONCURRENT \`virsh create\` each followed by reading its log every $POLL_MS ms; TCG on $(nproc) cores"
}

take_lock() {
  $USE_LOCK || return 0
  exec {LOCK_FD}>>"$LOCK_FILE" || { LOCK_FD=; return 1; }
  if ! flock -n "$LOCK_FD"; then
    note "waiting for $LOCK_FILE (another process boots guests)"
    flock "$LOCK_FD" || return 1
  fi
  note "holding $LOCK_FILE while guests boot"
}

release_lock() {
  [ -n "$LOCK_FD" ] || return 0
  flock -u "$LOCK_FD"
  exec {LOCK_FD}>&-
  LOCK_FD=
  note "released $LOCK_FILE"
}

boot_rows() {
  local missing
  if [ ! -r "$GUEST_DIR/vmlinuz" ] || [ ! -r "$GUEST_DIR/initramfs.img" ]; then
    missing="no test guest in $GUEST_DIR (bash tests/guest/build-guest.sh)"
    row_failed up "boot to running" "$missing"
    row_failed stop "stop latency" "$missing"
    row_failed conc "$CONCURRENT concurrent boots to Ready" "$missing"
    return
  fi
  if [[ ! $GUEST_DIR =~ ^/[A-Za-z0-9._/+-]*$ ]]; then
    missing="the guest directory '$GUEST_DIR' must be an absolute path of A-Z a-z 0-9 . _ / + -"
    row_failed up "boot to running" "$missing"
    return
  fi
  BOOT_DIR=$TMP/boot
  mkdir -p "$BOOT_DIR"
  if ! take_lock; then
    row_failed up "boot to running" "cannot lock $LOCK_FILE"
    return
  fi
  check_traced
  if ! wait_daemon; then
    release_lock
    row_failed up "boot to running" "$URI does not answer"
    return
  fi
  if ! boot_warmup; then
    release_lock
    row_failed up "boot to running" "the warm-up guest did not get Ready: $(first_err "$BOOT_DIR/warmup.err")"
    return
  fi
  want 3 && row_up
  want 5 && row_stop
  want 8 && row_concurrent
  release_lock
}

# ---------------------------------------------------------------------------
# Main

for f in "$VMC" "$BENCH_RENDER" "$BENCH_READY" "$BENCH_LIST"; do
  [ -x "$f" ] || { note "no $f: build first (meson compile -C $BUILD_DIR)"; exit 1; }
done
command -v virsh >/dev/null || { note "virsh not in PATH (apt-get install libvirt-clients)"; exit 1; }
if ! wait_daemon; then
  note "cannot connect to $URI (is libvirtd running?)"
  exit 1
fi
TMP=$(mktemp -d /var/tmp/vmc-bench-table.XXXXXX) || exit 1
# QEMU runs as libvirt-qemu under qemu:///system: it must reach the logs.
chmod 0755 "$TMP"

START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
START_LOAD=$(cut -d' ' -f1 /proc/loadavg)
check_traced
note "$( $QUICK && echo quick || echo full ) run on $URI, temporary files in $TMP"

# Without guests first, so that no QEMU of ours runs beside them.
want 2 && row_render_whole
want 1 && row_render_in_process
want 1 && row_render_instructions
# A row on the daemon: fails, with why, when the daemon does not answer.
daemon_row() { # key measurement function
  if wait_daemon; then
    "$3"
  else
    row_failed "$1" "$2" "$URI does not answer"
  fi
}

want 4 && daemon_row ready "ready delay" row_ready_delay
want 6 && daemon_row list "list of 1,000 domains" row_list
want 7 && daemon_row watch "memory of a watch over 1,000 VMs" row_watch
if $BOOT && { want 3 || want 5 || want 8; }; then
  boot_rows
fi

# The rows in the order of the table.
declare -a ORDER=(render instr whole up upready ready stop list listall watch watch2 conc)
SORTED=()
for k in "${ORDER[@]}"; do
  for j in "${ROWS[@]}"; do
    [ "$j" = "$k" ] && SORTED+=("$k")
  done
done
$BOOT || {
  row skipped "rows 3, 5 and 8 (boots)" "skipped" "" "" "--no-boot"
  SORTED+=(skipped)
}
ROWS=("${SORTED[@]}")

echo "virt-vmconfig vs peers, $START_DATE, $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), guests TCG, $URI, $(virsh -q -c "$URI" version 2>/dev/null | awk '/^Using library/ { l = $NF } /^Running hypervisor/ { h = $(NF - 1) " " $NF } END { print "libvirt " l ", " h }')$($QUICK && echo ', --quick'); load average $START_LOAD at the start, $(cut -d' ' -f1 /proc/loadavg) at the end$TRACED_NOTE"
echo
print_table
exit "$FAILED"
