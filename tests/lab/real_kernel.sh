#!/bin/bash
# The real kernel as the judge, in one boot of the lab:
#   1. every conformance trace of tests/conformance/ (not spec/) replays on
#      the real type1 driver to exactly its .expected output;
#   2. differential: seeded random traces (dmakit trace-gen) give the same
#      output line for line on the real kernel and on the emulator (kernel=6.1);
#   3. the DMA proof: edu copies through a mapping made with dmakit, and a DMA
#      to an unmapped IOVA leaves memory untouched and logs a DMAR fault.
#
#   4. the ABI corners (tests/conformance/abi_corners.c): the real kernel's
#      answer equals the recorded abi-corners-6.1.expected, byte for byte;
#   5. dmakit probe --json reports what the lab set up;
#   6. the listener (tests/lab/listener_proof.c): virtio-mem plug/unplug and
#      guest_memfd conversions with edu DMA in every plugged/shared block and
#      none in the others, DMA_AVAIL equal to the mappings, the budget check
#      refusing at init and at run time with nothing left changed.
#
# Usage: real_kernel.sh DMAKIT_STATIC DMA_PROOF_STATIC ABI_CORNERS_STATIC
#                       LISTENER_PROOF_STATIC SOURCE_ROOT [SEED...]
# The seeds default to 1..8 at 1000 operations each (SEEDS and OPS in the
# environment override them). Exit 0 pass, 1 fail, 77 QEMU cannot run here.
set -euo pipefail

dmakit=$1
dma_proof=$2
abi_corners=$3
listener_proof=$4
root=$5
shift 5
lab=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lab/lab_common.sh
. "$lab/lab_common.sh"
seeds=${SEEDS:-$*}
seeds=${seeds:-1 2 3 4 5 6 7 8}
ops=${OPS:-1000}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/in/conformance" "$tmp/in/random"

cp "$root"/tests/conformance/*.trace "$tmp/in/conformance/"
for s in $seeds; do
	"$dmakit" trace-gen --seed "$s" --ops "$ops" -o "$tmp/in/random/seed-$s.trace"
done

guest_script='
cd /lab-in
for t in conformance/*.trace random/*.trace; do
	echo "=== $t"
	dmakit replay --backend linux --group "$DMAKIT_LAB_GROUP" "$t" 2>&1 || echo "exit $?"
done
echo "=== dma-proof"
dma_proof "$DMAKIT_LAB_GROUP" "$DMAKIT_LAB_DEVICE" 2>&1 || echo "exit $?"
echo "=== abi-corners"
abi_corners linux "$DMAKIT_LAB_GROUP" 2>&1 || echo "exit $?"
echo "=== probe-default"
echo "env group=$DMAKIT_LAB_GROUP device=$DMAKIT_LAB_DEVICE kernel=$DMAKIT_LAB_KERNEL"
dmakit probe --json; echo "exit $?"
echo "=== probe-1000"
echo 1000 > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit
echo "env group=$DMAKIT_LAB_GROUP device=$DMAKIT_LAB_DEVICE kernel=$DMAKIT_LAB_KERNEL"
dmakit probe --json; echo "exit $?"
echo 65535 > /sys/module/vfio_iommu_type1/parameters/dma_entry_limit
echo "=== dmesg"
dmesg | grep -i "dmar" | tail -n 20
echo "=== listener-proof"
dmesg -c > /dev/null
listener_proof "$DMAKIT_LAB_GROUP" "$DMAKIT_LAB_DEVICE" 2>&1 || echo "exit $?"
echo "=== listener-faults"
dmesg | grep "fault addr" | sed "s/.*fault addr \(0x[0-9a-f]*\).*/\1/"

echo "=== end"
'

rc=0
"$lab/run-in-guest.sh" --timeout 600 \
	--file "$dmakit:/usr/local/bin/dmakit" \
	--file "$dma_proof:/usr/local/bin/dma_proof" \
	--file "$abi_corners:/usr/local/bin/abi_corners" \
	--file "$listener_proof:/usr/local/bin/listener_proof" \
	--file "$tmp/in:/lab-in" \
	-- "$guest_script" > "$tmp/guest.out" || rc=$?
[ "$rc" = 125 ] && lab_did_not_run "$tmp"
lab_split "$tmp/guest.out" "$tmp/out"

fails=0
checked=0
for t in "$root"/tests/conformance/*.trace; do
	name=conformance__$(basename "$t")
	checked=$((checked + 1))
	if ! diff -u "${t%.trace}.expected" "$tmp/out/$name" > "$tmp/d"; then
		echo "FAIL conformance $(basename "$t"): the real kernel differs from the expected output"
		cat "$tmp/d"
		fails=$((fails + 1))
	else
		echo "ok conformance $(basename "$t"): $(wc -l < "$tmp/out/$name") lines as expected"
	fi
done

lab_differential "$dmakit" "$tmp" "$seeds"
if [ "$lab_total_ops" -lt 6000 ] && [ -z "${SEEDS:-}" ] && [ $# -eq 0 ]; then
	echo "FAIL differential: fewer than 6000 operations"
	fails=$((fails + 1))
fi

if grep -q "^dma-proof: PASS" "$tmp/out/dma-proof"; then
	sed 's/^/  /' "$tmp/out/dma-proof"
	# The unmapped DMA must have faulted in the IOMMU: VT-d logs a DMAR fault
	# naming the IOVA's page (0x101000).
	if grep -q "fault addr 0x101000 " "$tmp/out/dmesg"; then
		echo "ok dma-proof: the IOMMU faulted the DMA to the unmapped IOVA:"
		grep "fault addr 0x101000 " "$tmp/out/dmesg" | head -1 | sed 's/^/  /'
	else
		echo "FAIL dma-proof: no DMAR fault for IOVA 0x101000 in the kernel log:"
		sed 's/^/  /' "$tmp/out/dmesg"
		fails=$((fails + 1))
	fi
else
	echo "FAIL dma-proof:"
	sed 's/^/  /' "$tmp/out/dma-proof"
	fails=$((fails + 1))
fi

if diff -u "$root/tests/conformance/abi-corners-6.1.expected" "$tmp/out/abi-corners" > "$tmp/d"; then
	echo "ok abi-corners: the real kernel answers exactly as recorded ($(wc -l < "$tmp/out/abi-corners") lines)"
else
	echo "FAIL abi-corners: the real kernel differs from abi-corners-6.1.expected:"
	cat "$tmp/d"
	fails=$((fails + 1))
fi

# probe: the values it reports are the ones the lab set up.
for variant in default:65535 1000:1000; do
	name=${variant%%:*}
	limit=${variant##*:}
	if python3 - "$tmp/out/probe-$name" "$limit" <<'PY'
import json, sys
text = open(sys.argv[1]).read().splitlines()
env = dict(kv.split("=", 1) for kv in text[0].split()[1:])
exit_line = text[-1]
doc = json.loads("\n".join(text[1:-1]))
limit = int(sys.argv[2])
group = int(env["group"].rsplit("/", 1)[1])
problems = []
def expect(what, got, want):
    if got != want:
        problems.append(f"{what}: {got!r}, expected {want!r}")
expect("exit", exit_line, "exit 0")
expect("kernel_release", doc["kernel_release"], env["kernel"])
expect("modules", doc["modules"], {"vfio": True, "vfio_iommu_type1": True, "vfio_pci": True, "iommufd": False})
expect("dev_vfio", doc["dev_vfio"], True)
expect("dma_entry_limit", doc["dma_entry_limit"], limit)
expect("cap_ipc_lock", doc["cap_ipc_lock"], True)
g = [x for x in doc["groups"] if x["id"] == group]
expect("edu group present", len(g), 1)
if g:
    g = g[0]
    expect("devices", g["devices"], [{"address": env["device"], "driver": "vfio-pci"}])
    expect("queried", g["queried"], True)
    expect("dma_avail", g.get("dma_avail"), limit)
    expect("iova_pgsizes", g.get("iova_pgsizes"), "0x40201000")
    expect("iova_ranges", g.get("iova_ranges"), [{"start": "0x0", "end": "0xfedfffff"},
                                                 {"start": "0xfef00000", "end": "0x7fffffffff"}])
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
PY
	then
		echo "ok probe (dma_entry_limit $limit): kernel, modules, limit, group, DMA_AVAIL, page sizes and ranges as set up"
	else
		echo "FAIL probe (dma_entry_limit $limit): the values differ from the lab's"
		fails=$((fails + 1))
	fi
done

# The listener on the real kernel: every check passed, and every DMA fault
# the kernel logged (VT-d rate-limits them) is one the proof expected.
if grep -q "^listener-proof: PASS" "$tmp/out/listener-proof"; then
	grep -v "^expect-fault" "$tmp/out/listener-proof" | sed 's/^/  /'
	sed -n 's/^expect-fault //p' "$tmp/out/listener-proof" | sort -u > "$tmp/expected-faults"
	sort -u "$tmp/out/listener-faults" > "$tmp/logged-faults"
	unexpected=$(comm -13 "$tmp/expected-faults" "$tmp/logged-faults")
	if [ -s "$tmp/logged-faults" ] && [ -z "$unexpected" ]; then
		echo "ok listener-proof: $(wc -l < "$tmp/logged-faults") DMA faults logged, all at IOVAs the proof expected to be unmapped"
	else
		echo "FAIL listener-proof: logged faults [$(tr '\n' ' ' < "$tmp/logged-faults")], unexpected [$unexpected]"
		fails=$((fails + 1))
	fi
else
	echo "FAIL listener-proof:"
	grep -v "^expect-fault" "$tmp/out/listener-proof" | sed 's/^/  /'
	fails=$((fails + 1))
fi

echo "real kernel: $checked conformance traces, $lab_total_ops random operations, $fails failures"
[ "$fails" = 0 ]
