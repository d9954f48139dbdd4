#!/usr/bin/env bash
# test-man.sh CLI PAGE: the manual page virt-vmconfig(1) against the
# program it describes. PAGE (the roff that scdoc made) is rendered as man
# renders it, which must give no warning; then every command that
# `CLI --help` lists must have a heading of its own under COMMANDS, every
# option of `CLI COMMAND --help` must be named in that command's section,
# every global option in GLOBAL OPTIONS and every exit status in EXIT
# STATUS. Commands and options are read from the program at run time, so
# the page is checked again whenever the program grows. TAP output.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -u
cli=$1
page=$2

n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n $1"; }
fail() {
    n=$((n + 1))
    echo "not ok $n $1"
    if [ $# -gt 1 ]; then sed 's/^/# /' <<<"$2"; fi
    failed=1
}

if ! command -v man >/dev/null; then
    echo "1..0 # SKIP man is not installed (Debian package man-db)"
    exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# As a user's terminal would show it, in UTF-8, 100 columns wide; groff's
# warnings go to stderr: every kind of them ('w'; groff's 'all' leaves out
# undefined macros, strings and registers).
export LC_ALL=C.UTF-8
unset MAN_KEEP_FORMATTING MANROFFOPT
MANWIDTH=100 man --warnings=w -l "$page" >"$dir/shown" 2>"$dir/warnings"
status=$?
if [ $status -eq 0 ] && [ -s "$dir/shown" ]; then pass "man -l renders the page"; else
    fail "man -l exited with status $status" "$(cat "$dir/warnings")"; fi
if [ ! -s "$dir/warnings" ]; then pass "rendering gives no warning"; else
    fail "rendering gives warnings:" "$(cat "$dir/warnings")"; fi
# What the page says is read from it rendered so wide that no paragraph
# wraps: an option is never split at a hyphen or hyphenated across lines.
# Hyphens and minus signs, as groff may print them in UTF-8, become ASCII.
MANWIDTH=10000 man -l "$page" 2>/dev/null |
    sed 's/\xe2\x80\x90/-/g; s/\xe2\x80\x91/-/g; s/\xe2\x88\x92/-/g' >"$dir/page"

# The lines of section $1 (a heading at column 0), without the heading.
section() {
    awk -v want="$1" '/^[^ ]/ { on = ($0 == want); next } on' "$dir/page"
}
# The lines of command $1's subsection of COMMANDS (a heading indented by
# three columns: the command, then its arguments), heading included.
command_section() {
    section COMMANDS | awk -v cmd="$1" '
        /^   [^ ]/ { split($0, w, " "); on = (w[1] == cmd) }
        on'
}
# Whether option $1 (-x or --long) is named in the text on stdin, as a
# word of its own: --json is not found in --json-lines, nor -w in --wait.
names_option() {
    grep -Eq -- "(^|[^-[:alnum:]])$1([^-[:alnum:]]|$)"
}
# The options that a --help text on stdin lists: "-x" and "--long" words
# at the start of its option lines ("  -t, --timeout=SECS   ...").
help_options() {
    sed -n 's/^  \(-[[:alnum:]], \)\{0,1\}\(--[[:alnum:]][[:alnum:]-]*\).*/\1\2/p' |
        tr -d ',' | tr ' ' '\n' | sed '/^$/d'
}

for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS "VM CONFIG FILE" "JSON OUTPUT" \
    "URI RULES" CHECK-HOST "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    if grep -qx -- "$s" "$dir/page"; then pass "section $s"; else fail "no section $s"; fi
done

if ! "$cli" --help >"$dir/help"; then
    fail "$cli --help failed"
    echo "1..$n"
    exit 1
fi

# The global options, in GLOBAL OPTIONS.
section "GLOBAL OPTIONS" >"$dir/global"
opts=$(help_options <"$dir/help")
[ -n "$opts" ] || fail "--help lists no global option" "$(cat "$dir/help")"
for o in $opts; do
    if names_option "$o" <"$dir/global"; then pass "global option $o"; else
        fail "GLOBAL OPTIONS does not name $o"; fi
done

# The exit statuses that --help gives, in EXIT STATUS.
section "EXIT STATUS" >"$dir/exit"
codes=$(sed -n '/^Exit status:/,/^$/s/^  \([0-9][0-9]*\) .*/\1/p' "$dir/help")
[ -n "$codes" ] || fail "--help gives no exit status" "$(cat "$dir/help")"
for c in $codes; do
    if grep -Eq "^ +$c\$" "$dir/exit"; then pass "exit status $c"; else
        fail "EXIT STATUS does not give status $c"; fi
done

# Every command: a heading of its own, and each of its options (but the
# --help that every command has, which the page names once) in its section.
commands=$(sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$dir/help")
[ -n "$commands" ] || fail "--help lists no command" "$(cat "$dir/help")"
for c in $commands; do
    command_section "$c" >"$dir/cmd"
    if [ -s "$dir/cmd" ]; then pass "command $c has a heading"; else
        fail "command $c has no heading under COMMANDS"
        continue
    fi
    if ! "$cli" "$c" --help >"$dir/cmd-help"; then
        fail "$cli $c --help failed"
        continue
    fi
    for o in $(help_options <"$dir/cmd-help"); do
        case $o in -h|--help) continue ;; esac
        if names_option "$o" <"$dir/cmd"; then pass "$c $o"; else
            fail "the section of $c does not name $o"; fi
    done
done
if section "GLOBAL OPTIONS" | tr '\n' ' ' | tr -s ' ' | grep -q 'Every command takes -h, --help'; then
    pass "every command's --help"
else
    fail "GLOBAL OPTIONS does not say that every command takes --help"
fi

echo "1..$n"
exit $failed
