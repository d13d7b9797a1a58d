#!/bin/sh
# `dmakit bench` in a few seconds: the quick run at N=1K only, as JSON. The
# output must parse and hold every benchmark with a positive time, the bytes
# per mapping and the machine; a bad option must be refused with status 2.
# It checks the harness, not the speed: no target has to be met here.
# Usage: test_bench.sh DMAKIT
set -u
dmakit=${1:-build/dmakit}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

"$dmakit" bench --quick --json --only small > "$tmp/out.json" 2> "$tmp/err"
rc=$?
if [ "$rc" != 0 ]; then
	fail "bench --quick --json --only small: exit $rc; stderr: $(cat "$tmp/err")"
else
	python3 - "$tmp/out.json" <<'PY' || fails=$((fails + 1))
import json, math, sys

with open(sys.argv[1]) as f:
    doc = json.load(f)

names = [
    "insert_random", "insert_sequential", "remove_random", "remove_sequential",
    "find_random", "find_sequential", "translate_random", "translate_sequential",
    "insert_remove_random", "find_random_batched", "translate_random_batched",
]
for model in ("off", "on"):
    for op in ("map_random", "unmap_random", "map_unmap_random",
               "map_sequential", "unmap_sequential"):
        names.append("emu_%s_model_%s" % (op, model))

errors = []
rows = {(b["name"], b["n"]): b for b in doc["benchmarks"]}
if {b["n"] for b in doc["benchmarks"]} != {1024}:
    errors.append("--only small ran other sizes: %s" % sorted({b["n"] for b in doc["benchmarks"]}))
baselines = "not built" not in doc["baselines"]
for name in names:
    b = rows.get((name, 1024))
    if b is None:
        errors.append("missing benchmark %s at n=1024" % name)
        continue
    for key in ("name", "n", "dmakit_ns", "gtree_ns", "rbtree_ns", "ratio_gtree",
                "ratio_rbtree", "target_met"):
        if key not in b:
            errors.append("%s: no %s" % (name, key))
    ns = b.get("dmakit_ns")
    if not isinstance(ns, (int, float)) or not ns > 0:
        errors.append("%s: dmakit_ns %r" % (name, ns))
    if baselines and not name.startswith("emu_"):
        for base in ("gtree", "rbtree"):
            bns, r = b.get(base + "_ns"), b.get("ratio_" + base)
            if not isinstance(bns, (int, float)) or not bns > 0:
                errors.append("%s: %s_ns %r" % (name, base, bns))
            elif not isinstance(r, (int, float)) or abs(r - bns / ns) > 0.01 * r + 0.002:
                errors.append("%s: ratio_%s %r is not %s_ns / dmakit_ns" % (name, base, r, base))
    if "target_ns" in b and b["target_met"] != (ns <= b["target_ns"]) and "target_ratio" not in b:
        errors.append("%s: target_met %r for %r ns against %r" % (name, b["target_met"], ns, b["target_ns"]))

if len(doc.get("bytes_per_mapping", [])) != 2:
    errors.append("bytes_per_mapping: %r" % doc.get("bytes_per_mapping"))
for m in doc.get("bytes_per_mapping", []):
    # Heap figures come from mallinfo2(): 0 under a sanitizer's allocator.
    if not m["dmakit_own"] > 0 or not isinstance(m["dmakit_heap"], (int, float)):
        errors.append("bytes_per_mapping: %r" % m)
    if baselines and not all(isinstance(m[k], (int, float)) for k in ("gtree_heap", "rbtree_heap")):
        errors.append("bytes_per_mapping without baselines: %r" % m)
machine = doc.get("machine", {})
for key in ("cpu_model", "compiler", "cpus"):
    if not machine.get(key):
        errors.append("machine: no %s" % key)
if not isinstance(doc.get("targets"), list):
    errors.append("no targets list")

for e in errors:
    print("FAIL " + e)
sys.exit(1 if errors else 0)
PY
fi

# Bad usage: status 2 and a message, nothing run.
for args in "--only 3M" "--reps 0" "--seed x" "stray"; do
	# shellcheck disable=SC2086
	"$dmakit" bench $args > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ "$rc" != 2 ] || ! grep -q "dmakit: bench" "$tmp/err"; then
		fail "bench $args: exit $rc (expected 2); stderr: $(cat "$tmp/err")"
	fi
done

if [ "$fails" != 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "bench: all checks passed"
