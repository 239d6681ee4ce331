#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The manual pages name everything the code defines, so that they cannot
# fall behind it unnoticed:
#   - every ioctl (#define NUMABUF_IOC_* _IO...()) of the uapi header is
#     named in the IOCTLS section of numabuf(4), and every flag
#     (#define NUMABUF_F_*) anywhere in numabuf(4);
#   - every module parameter (module_param*() in kmod/*.c) is named in the
#     MODULE PARAMETERS section of numabuf(4);
#   - every symbol exported by lib/libnumabuf.map is declared in the
#     SYNOPSIS section of numabuf(3).
# The names are read from the code, and looked for in the text groff
# renders (not in the roff source, so a comment does not count).  Then the
# check proves it can fail: for the last name of each list it renders a
# copy of the page without the lines naming it and must find it missing.
# Rendering without warnings is another test's job.
#
# Exit status: 0 pass, 77 skip (no groff), 1 fail.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
man=${NB_MAN_DIR:-$top/docs/man}
header=$top/kmod/uapi/linux/numabuf.h
map=$top/lib/libnumabuf.map

command -v groff >/dev/null 2>&1 || {
	echo "SKIP man-pages: no groff (apt-get install groff-base)"
	exit 77
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

fail=0
err() {
	echo "# $*"
	fail=1
}

# ---- the names, from the code ----------------------------------------------

mapfile -t ioctls < <(sed -nE \
	's/^#define[[:space:]]+(NUMABUF_IOC_[A-Z0-9_]+)[[:space:]]+_IO(R|W|WR)?\(.*/\1/p' \
	"$header")
mapfile -t flags < <(sed -nE \
	's/^#define[[:space:]]+(NUMABUF_F_[A-Z0-9_]+)[[:space:]].*/\1/p' "$header")
# The first argument of module_param(), _named(), _cb(), _array(), _string()
# is the name the user sees.
mapfile -t params < <(cat "$top"/kmod/*.c | tr '\n' ' ' |
	grep -oE '\bmodule_param(_named|_cb|_array|_string|_unsafe)?[[:space:]]*\([[:space:]]*[A-Za-z_][A-Za-z0-9_]*' |
	sed -E 's/.*\([[:space:]]*//' | sort -u)
# Names listed under "global:" in each version node.
mapfile -t symbols < <(awk '
	/global:/ { g = 1; next }
	/local:/ || /}/ { g = 0; next }
	g && match($0, /^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*[[:space:]]*;/) {
		s = $0; gsub(/[[:space:];]/, "", s); print s
	}' "$map")

for list in ioctls flags params symbols; do
	declare -n l=$list
	if [[ ${#l[@]} -eq 0 ]]; then
		err "found no $list in the code: has its form changed? Update this script's extraction."
	fi
	unset -n l
done
[[ $fail -eq 0 ]] || { echo "FAIL man-pages"; exit 1; }

# ---- the pages, rendered ---------------------------------------------------

# render FILE: plain text, no hyphenation, wide lines.
render() {
	groff -t -man -Tutf8 -P-cbou -rLL=200n -rHY=0 "$1" 2>/dev/null
}

# section TEXTFILE NAME: the lines of section NAME (up to the next
# unindented heading).
section() {
	awk -v name="$2" '
		/^[A-Z]/ { on = ($0 == name); next }
		on' "$1"
}

for page in numabuf.3 numabuf.4; do
	[[ -f $man/$page ]] || { err "$man/$page is missing: write it"; continue; }
	render "$man/$page" > "$tmp/$page.txt"
done
[[ $fail -eq 0 ]] || { echo "FAIL man-pages"; exit 1; }

section "$tmp/numabuf.4.txt" IOCTLS > "$tmp/ioctls.txt"
section "$tmp/numabuf.4.txt" "MODULE PARAMETERS" > "$tmp/params.txt"
section "$tmp/numabuf.3.txt" SYNOPSIS > "$tmp/synopsis.txt"

# missing TEXTFILE NAME...: print the names the text does not contain as
# words.
missing() {
	local text=$1 n
	shift
	for n in "$@"; do
		grep -qw -- "$n" "$text" || echo "$n"
	done
}

check() {
	local what=$1 where=$2 text=$3 n
	shift 3
	while read -r n; do
		[[ -n $n ]] && err "$n ($what, from the code) is not in $where: document it there"
	done < <(missing "$text" "$@")
	echo "# ${#@} $what checked in $where"
}

check ioctls "the IOCTLS section of docs/man/numabuf.4" "$tmp/ioctls.txt" "${ioctls[@]}"
check flags "docs/man/numabuf.4" "$tmp/numabuf.4.txt" "${flags[@]}"
check "module parameters" "the MODULE PARAMETERS section of docs/man/numabuf.4" \
	"$tmp/params.txt" "${params[@]}"
check "exported symbols" "the SYNOPSIS section of docs/man/numabuf.3" \
	"$tmp/synopsis.txt" "${symbols[@]}"

# ---- the check can fail ----------------------------------------------------

# mutant PAGE NAME SECTION: render PAGE without the lines naming NAME and
# confirm that NAME is then missing from SECTION ("" for the whole page).
mutant() {
	local page=$1 name=$2 sec=$3
	grep -vw -- "$name" "$man/$page" > "$tmp/mutant.$page" || true
	render "$tmp/mutant.$page" > "$tmp/mutant.txt"
	if [[ -n $sec ]]; then
		section "$tmp/mutant.txt" "$sec" > "$tmp/mutant.sec"
	else
		cp "$tmp/mutant.txt" "$tmp/mutant.sec"
	fi
	if [[ -z $(missing "$tmp/mutant.sec" "$name") ]]; then
		err "self-check: $page without $name still passes: the check cannot see a removal"
	fi
}

mutant numabuf.4 "${ioctls[-1]}" IOCTLS
mutant numabuf.4 "${flags[-1]}" ""
mutant numabuf.4 "${params[-1]}" "MODULE PARAMETERS"
mutant numabuf.3 "${symbols[-1]}" SYNOPSIS
echo "# self-check: a page without ${ioctls[-1]}, ${flags[-1]}, ${params[-1]} or ${symbols[-1]} fails"

if [[ $fail -eq 0 ]]; then echo "PASS man-pages"; else echo "FAIL man-pages"; fi
exit $fail
