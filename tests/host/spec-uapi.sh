#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The netlink spec (docs/netlink/numabuf.yaml) and the uapi header agree:
# every attribute of every set and every operation has the constant the
# spec's order gives it (NUMABUF_A_<SET>_<ATTR>, NUMABUF_CMD_<OP>), each
# set's _MAX is its last attribute, the header has no attribute or command
# the spec lacks, and the family, version and group names match.  The
# values are read by compiling the header, not by parsing it.
#
# Exit status: 0 pass, 77 skip (no compiler or python3 with yaml), 1 fail.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-cc}

command -v "$CC" >/dev/null 2>&1 || { echo "SKIP spec-uapi: no $CC"; exit 77; }
# The first python3 with yaml: the one on PATH, else Debian's.
py=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import yaml' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "SKIP spec-uapi: no python3 with yaml (python3-yaml)"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/numabuf-spec.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

"$py" - "$top" "$tmp" "$CC" <<'EOF'
import re, subprocess, sys, yaml

top, tmp, cc = sys.argv[1:4]
spec = yaml.safe_load(open(f"{top}/docs/netlink/numabuf.yaml"))
header = open(f"{top}/kmod/uapi/linux/numabuf.h").read()

def c(name):
    return name.upper().replace("-", "_")

expect = {}          # constant -> value or string
for aset in spec["attribute-sets"]:
    s = c(aset["name"])
    for i, a in enumerate(aset["attributes"], 1):
        expect[f"NUMABUF_A_{s}_{c(a['name'])}"] = i
    expect[f"NUMABUF_A_{s}_MAX"] = len(aset["attributes"])
value = 0
for op in spec["operations"]["list"]:
    value = op.get("value", value + 1)
    expect[f"NUMABUF_CMD_{c(op['name'])}"] = value
expect["NUMABUF_CMD_MAX"] = value
consts = {d["name"]: d["value"] for d in spec["definitions"]
          if d["type"] == "const"}
strings = {
    "NUMABUF_FAMILY_NAME": spec["name"],
    "NUMABUF_MCGRP_EVENTS": spec["mcast-groups"]["list"][0]["name"],
}
expect["NUMABUF_FAMILY_VERSION"] = spec["version"]
errors = []
if consts.get("family-name") != spec["name"]:
    errors.append("definitions: family-name is not the family's name")
if consts.get("mcgrp-events") != strings["NUMABUF_MCGRP_EVENTS"]:
    errors.append("definitions: mcgrp-events is not the group's name")

# Everything the header names that the spec should cover.
named = set(re.findall(r"\b(NUMABUF_(?:A|CMD)_[A-Z0-9_]+)\b", header))
for n in sorted(named - set(expect)):
    errors.append(f"{n}: in the header, not in the spec")

prog = ["#include <stdio.h>", "#include <linux/numabuf.h>", "int main(void) {"]
for n in sorted(expect):
    prog.append(f'  printf("%s %lld\\n", "{n}", (long long)({n}));')
for n in sorted(strings):
    prog.append(f'  printf("%s %s\\n", "{n}", {n});')
prog.append("  return 0; }")
open(f"{tmp}/p.c", "w").write("\n".join(prog) + "\n")
r = subprocess.run([cc, "-Wall", "-I", f"{top}/kmod/uapi", "-o", f"{tmp}/p",
                    f"{tmp}/p.c"], capture_output=True, text=True)
if r.returncode:
    # A constant the spec implies is missing from the header.
    for m in sorted(set(re.findall(r"[‘'](NUMABUF_[A-Z0-9_]+)[’'] undeclared",
                                   r.stderr))):
        errors.append(f"{m}: in the spec, not in the header")
    if not errors:
        errors.append("cannot compile the header: " + r.stderr[:500])
else:
    got = dict(line.split(" ", 1) for line in
               subprocess.run([f"{tmp}/p"], capture_output=True,
                              text=True).stdout.splitlines())
    for n, v in sorted(expect.items()):
        if str(v) != got.get(n):
            errors.append(f"{n} is {got.get(n)}, the spec says {v}")
    for n, v in sorted(strings.items()):
        if v != got.get(n):
            errors.append(f"{n} is {got.get(n)!r}, the spec says {v!r}")

for e in errors:
    print(f"# {e}")
print(f"# {len(expect) + len(strings)} constants checked")
sys.exit(1 if errors else 0)
EOF
rc=$?
if [ $rc -eq 0 ]; then echo "PASS spec-uapi"; else echo "FAIL spec-uapi"; fi
exit $rc
