#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The manual pages in docs/man/: every page renders with no warning, both
# through man(1) (man --warnings, UTF-8, 80 columns, as a user reads it)
# and through groff -man -ww -z; and numabufctl(8) cannot fall behind
# numabufctl: every command in `numabufctl help` (nodes, pool set, ...) has
# its entry in the page's COMMANDS section, and every long option the usage
# names appears in the page.
#
# Exit status: 0 pass, 77 skip (no man, groff or compiler), 1 fail.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
fails=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; fails=$((fails + 1)); }

for tool in man groff make "${CC:-cc}"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP man: $tool not found"
		exit 77
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

pages=("$top"/docs/man/*.[1-8])
if [ ! -e "${pages[0]}" ]; then
	fail pages "no page in docs/man"
	exit 1
fi

for page in "${pages[@]}"; do
	name=$(basename "$page")
	# Anything on stderr is a warning (or worse).
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" \
		>/dev/null 2>"$tmp/man.err" || [ -s "$tmp/man.err" ]; then
		fail "man_$name" "$(head -5 "$tmp/man.err")"
	else
		pass "man_$name"
	fi
	if ! groff -man -ww -z "$page" 2>"$tmp/groff.err" || [ -s "$tmp/groff.err" ]; then
		fail "groff_$name" "$(head -5 "$tmp/groff.err")"
	else
		pass "groff_$name"
	fi
done

# ---- numabufctl(8) against numabufctl's usage ------------------------------------
page=$top/docs/man/numabufctl.8
if [ ! -f "$page" ]; then
	fail numabufctl_page "docs/man/numabufctl.8 is missing"
	exit 1
fi
# shellcheck source=tests/host/userspace.bash
. "$top/tests/host/userspace.bash"
nb_copy_userspace "$top" "$tmp/src"
if ! make -s -C "$tmp/src/lib" >"$tmp/build.log" 2>&1 ||
	! make -s -C "$tmp/src/tools" numabufctl >>"$tmp/build.log" 2>&1; then
	fail build "$(tail -5 "$tmp/build.log")"
	exit 1
fi
"$tmp/src/tools/numabufctl" help >"$tmp/usage"

# The page as plain ASCII text, wide enough that nothing wraps.
groff -man -Tascii -rLL=250n "$page" 2>/dev/null | col -bx >"$tmp/page"
# Its COMMANDS section only.
sed -n '/^COMMANDS$/,/^[A-Z][A-Z ]*$/p' "$tmp/page" | sed '1d;$d' >"$tmp/commands"
if [ ! -s "$tmp/commands" ]; then
	fail commands_section "numabufctl.8 has no COMMANDS section"
fi

# The commands: the lines of the usage's "OBJECT and COMMAND" list.
sed -n '/^OBJECT and COMMAND:$/,/^$/p' "$tmp/usage" |
	sed -n 's/^  \([a-z]\+\)\( \(set\|show\)\b\)\?.*/\1\2/p' | sort -u >"$tmp/cmds"
if [ "$(wc -l <"$tmp/cmds")" -lt 8 ]; then
	fail usage_commands "found only: $(tr '\n' ' ' <"$tmp/cmds")"
fi
while read -r cmd; do
	# An entry of the section begins a line, indented once: "pool set NODE ...".
	if grep -Eq "^ {7}$cmd( |$)" "$tmp/commands"; then
		pass "command_${cmd// /_}"
	else
		fail "command_${cmd// /_}" "'$cmd' is in numabufctl's usage but has no entry in numabufctl.8's COMMANDS"
	fi
done <"$tmp/cmds"

# Every long option of the usage appears somewhere in the page.
grep -o -- '--[a-z][a-z0-9-]*' "$tmp/usage" | sort -u >"$tmp/opts"
while read -r opt; do
	if grep -q -- "$opt\b" "$tmp/page"; then
		pass "option_$opt"
	else
		fail "option_$opt" "'$opt' is in numabufctl's usage but not in numabufctl.8"
	fi
done <"$tmp/opts"

# The page says what the tool prints and what the exit codes are.
for s in 'EXIT STATUS' 'SEE ALSO' 'numabuf(3)' 'numabuf(4)' 'numabuf(7)' \
	'/etc/numabuf.conf' '1.5GiB'; do
	if grep -qF -- "$s" "$tmp/page"; then
		pass "page_has_${s//[^A-Za-z0-9]/_}"
	else
		fail "page_has_${s//[^A-Za-z0-9]/_}" "numabufctl.8 does not say '$s'"
	fi
done
# Each exit status of the usage's "Exit status:" sentence is in the page.
sed -n '/^Exit status:/,/^$/p' "$tmp/usage" | tr '\n' ' ' |
	grep -Eo '\b[0-9] [a-z]' | cut -c1 | sort -u >"$tmp/codes"
if [ "$(wc -l <"$tmp/codes")" -lt 3 ]; then
	fail usage_exit_codes "found only: $(tr '\n' ' ' <"$tmp/codes")"
fi
while read -r code; do
	if sed -n '/^EXIT STATUS$/,/^[A-Z][A-Z ]*$/p' "$tmp/page" | grep -Eq "^ {7}$code( |$)"; then
		pass "exit_status_$code"
	else
		fail "exit_status_$code" "exit status $code is in the usage, not in EXIT STATUS"
	fi
done <"$tmp/codes"

if [ "$fails" -ne 0 ]; then
	echo "man: $fails check(s) failed"
	exit 1
fi
echo "man: all checks passed"
