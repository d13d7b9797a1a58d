#!/bin/sh
# dmakit plan / sim on the examples: each case of tests/plan/cases must exit
# with its status and print exactly tests/plan/NAME.expected; bad input must
# give one line naming where and what, and exit 2.
# Usage: run.sh DMAKIT SOURCE_ROOT [--update]
set -u
dmakit=$1
root=$2
update=${3:-}
cd "$root" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0

while read -r name status args; do
	case "$name" in ''|'#'*) continue ;; esac
	# shellcheck disable=SC2086
	"$dmakit" $args > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ "$update" = --update ]; then
		cp "$tmp/out" "tests/plan/$name.expected"
	fi
	if [ "$rc" != "$status" ]; then
		echo "FAIL $name: exit $rc, expected $status; stderr: $(head -c 300 "$tmp/err")"
		fails=$((fails + 1))
	elif ! diff -u "tests/plan/$name.expected" "$tmp/out" > "$tmp/diff"; then
		echo "FAIL $name: output differs:"
		head -40 "$tmp/diff"
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
done < tests/plan/cases

# bad NAME PATTERN ARGS...: exit 2, one stderr line matching PATTERN
bad() {
	name=$1 pattern=$2
	shift 2
	"$dmakit" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ "$rc" != 2 ] || ! grep -qE -- "$pattern" "$tmp/err" || [ "$(wc -l < "$tmp/err")" != 1 ]; then
		echo "FAIL bad/$name: exit $rc, stderr: $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}
printf 'qemu-system-x86_64 -m 4G \\\n  -frobnicate on\n' > "$tmp/unknown.qemu"
bad unknown-option "unknown.qemu:2: unknown option '-frobnicate'" plan "$tmp/unknown.qemu"
bad unknown-option-argv "argument 4 \('-bogus'\): unknown option '-bogus'" plan -- qemu -m 4G -bogus
bad unknown-cli-option "unknown option '--frob'" plan --frob examples/plan/tdx-16g-gpu-type1.qemu
printf 'qemu-system-x86_64\n  -m 4X\n' > "$tmp/badsize.qemu"
bad bad-size "badsize.qemu:2: -m: bad size '4X'" plan "$tmp/badsize.qemu"
bad bad-size-argv "argument 2 \('12Q'\): -m: bad size '12Q'" plan -- -m 12Q
printf 'qemu-system-x86_64 -m 4G\n -device virtio-mem-pci,id=vm0,memdev=nope\n' > "$tmp/nomemdev.qemu"
bad missing-memdev "nomemdev.qemu:2: virtio-mem 'vm0': memdev 'nope' does not exist" plan "$tmp/nomemdev.qemu"
printf 'qemu-system-x86_64 -m 4G\n -device virtio-mem-pci,id=vm0\n' > "$tmp/nomemdev2.qemu"
bad no-memdev-key "nomemdev2.qemu:2: -device virtio-mem-pci: missing memdev=" plan "$tmp/nomemdev2.qemu"
printf '<domain type="kvm">\n  <memory unit="GiB">4</memory>\n  <devices>\n</domain>\n' > "$tmp/bad.xml"
bad malformed-xml "bad.xml:4: malformed XML" plan "$tmp/bad.xml"
printf '<domain type="kvm">\n  <memory unit="GiB">4x</memory>\n</domain>\n' > "$tmp/badmem.xml"
bad xml-bad-size "badmem.xml:2: <memory>: bad size '4x'" plan "$tmp/badmem.xml"
printf 'machine type=q35 ram=4G\nplug dev=vm9 size=1G\n' > "$tmp/s1.scenario"
bad scenario-unknown-dev "s1.scenario:2: plug: no virtio-mem device 'vm9'" sim "$tmp/s1.scenario"
printf 'machine type=q35 ram=4G\nwobble x=1\n' > "$tmp/s2.scenario"
bad scenario-unknown-line "s2.scenario:2: unknown line 'wobble'" sim "$tmp/s2.scenario"
printf 'machine type=q35 ram=4G\nshare gpa=0x100000 size=12k3\n' > "$tmp/s3.scenario"
bad scenario-bad-size "s3.scenario:2: share: bad size '12k3' for size" sim "$tmp/s3.scenario"
printf 'machine type=q35 ram=4G\nshare gpa=0x100000 size=4K\n' > "$tmp/s4.scenario"
bad scenario-not-cvm "s4.scenario:2: share: not a confidential guest" sim "$tmp/s4.scenario"
# a layout error names its line once (not 'FILE: FILE:LINE: ...')
printf 'qemu-system-x86_64 -m 4G,maxmem=64G,slots=2\n -object memory-backend-ram,id=m0,size=1G\n -device virtio-mem-pci,id=vm0,memdev=m0,block-size=2G\n' > "$tmp/vmblock.qemu"
bad layout-error-one-location "^dmakit: [^ ]*vmblock.qemu:3: virtio-mem 'vm0': 'memdev' size has to be multiples of 'block-size'" plan "$tmp/vmblock.qemu"
bad sim-strategy "--strategy: bad value 'fast'" sim --strategy fast examples/sim/viommu-pmd.scenario
bad missing-file "nope.qemu: No such file or directory" plan nope.qemu

# --plot writes an SVG through cairo
if "$dmakit" sim --plot "$tmp/p.svg" examples/sim/virtio-mem-256g-dynamic.scenario > /dev/null 2>&1; [ $? = 1 ] &&
   grep -q '<svg' "$tmp/p.svg"; then
	passes=$((passes + 1))
else
	echo "FAIL plot: no SVG written"
	fails=$((fails + 1))
fi

echo "plan: $passes passed, $fails failed"
[ "$fails" = 0 ]
