#!/bin/bash
# The emulator's 6.12 profile against Debian's real 6.12 kernel (the
# linux-image-6.12-amd64 of bookworm-security), in one boot of the lab:
#   1. every conformance trace of tests/conformance/ (not spec/) replays on
#      the real type1 driver to exactly its .expected output (6.12 answers
#      those as 6.1 does);
#   2. spec/overflow-6.12.trace replays to its .expected (EINVAL, as 6.1,
#      where 6.18 says EOVERFLOW);
#   3. differential: seeded random traces give the same output line for
#      line on the real kernel and on the emulator with kernel=6.12;
#   4. the ABI corners: the real kernel's answer equals
#      abi-corners-6.12.expected byte for byte (the emulator's 6.12 answer
#      is checked against the same file by conformance/abi-corners-6.12).
#
# Usage: kernel_612.sh DMAKIT_STATIC ABI_CORNERS_STATIC SOURCE_ROOT
# Exit 0 pass, 1 fail, 77 QEMU cannot run here or the 6.12 kernel package
# cannot be had (said on stdout).
set -euo pipefail

dmakit=$1
abi_corners=$2
root=$3
lab=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab_common.sh
. "$lab/lab_common.sh"
seeds=${SEEDS:-1 2 3 4}
ops=${OPS:-1000}

# A cache of its own: a cache folder keeps one kernel.
export DMAKIT_LAB_KERNEL_PACKAGE=linux-image-6.12-amd64
export DMAKIT_LAB_CACHE=${DMAKIT_LAB_CACHE_612:-$lab/cache-6.12}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/in/random"

known() { apt-cache show "$DMAKIT_LAB_KERNEL_PACKAGE" > /dev/null 2>&1; }
if ! known && [ ! -e "$DMAKIT_LAB_CACHE/current" ]; then
	apt-get update -qq > /dev/null 2>&1 || true
	if ! known; then
		echo "SKIP: apt knows no $DMAKIT_LAB_KERNEL_PACKAGE and nothing is cached"
		exit 77
	fi
fi

cp "$root"/tests/conformance/*.trace "$tmp/in/"
cp "$root"/tests/conformance/spec/overflow-6.12.trace "$tmp/in/spec-overflow-6.12.trace"
for s in $seeds; do
	"$dmakit" trace-gen --seed "$s" --ops "$ops" -o "$tmp/in/random/seed-$s.trace"
done

guest_script='
cd /lab-in
for t in *.trace random/*.trace; do
	echo "=== $t"
	dmakit replay --backend linux --group "$DMAKIT_LAB_GROUP" "$t" 2>&1 || echo "exit $?"
done
echo "=== abi-corners"
abi_corners linux "$DMAKIT_LAB_GROUP" 2>&1 || echo "exit $?"
echo "=== uname"
uname -r
echo "=== end"
'

rc=0
"$lab/run-in-guest.sh" --timeout 600 \
	--file "$dmakit:/usr/local/bin/dmakit" \
	--file "$abi_corners:/usr/local/bin/abi_corners" \
	--file "$tmp/in:/lab-in" \
	-- "$guest_script" > "$tmp/guest.out" || rc=$?
[ "$rc" = 125 ] && lab_did_not_run "$tmp"
lab_split "$tmp/guest.out" "$tmp/out"

fails=0
case "$(cat "$tmp/out/uname" 2>/dev/null)" in
6.12.*) echo "ok kernel: $(cat "$tmp/out/uname")" ;;
*)
	echo "FAIL kernel: the guest ran '$(cat "$tmp/out/uname" 2>/dev/null)', not 6.12"
	fails=$((fails + 1))
	;;
esac

check() { # NAME EXPECTED ACTUAL
	if diff -u "$2" "$3" > "$tmp/d"; then
		echo "ok $1: $(wc -l < "$3") lines as expected"
	else
		echo "FAIL $1: the real 6.12 kernel differs from $(basename "$2"):"
		head -40 "$tmp/d"
		fails=$((fails + 1))
	fi
}
for t in "$root"/tests/conformance/*.trace; do
	check "conformance $(basename "$t")" "${t%.trace}.expected" "$tmp/out/$(basename "$t")"
done
check "spec/overflow-6.12" "$root/tests/conformance/spec/overflow-6.12.expected" \
	"$tmp/out/spec-overflow-6.12.trace"
check "abi-corners" "$root/tests/conformance/abi-corners-6.12.expected" "$tmp/out/abi-corners"

lab_differential "$dmakit" "$tmp" "$seeds" 6.12

if [ "$fails" != 0 ]; then
	echo "FAIL: $fails check(s) failed"
	exit 1
fi
echo "PASS: the emulator's 6.12 profile answers as Debian's real 6.12"
