#!/bin/bash
# `dmakit plan` against Debian's real QEMU 7.2 in the lab (docs/plan.md).
#
# For a set of q35 and pc command lines (with and without default devices,
# below and above the 4 GiB RAM split, one with a virtio-mem device), run
# `dmakit plan --boot-mappings --json` on the host and the same QEMU command
# line (-S, `echo quit |`, edu passed through with -device vfio-pci) under
# `dmakit record` inside the lab guest, then check that plan's boot mappings
# are QEMU's, range for range and flag for flag (iova, size, r vs rw).
# For the virtio-mem line, check QEMU's "possibly running out of DMA mappings"
# warning against plan's qemu_check.estimate: `dmakit inject --limit` with
# estimate - 1 warns, with estimate (= required_dma_entry_limit) it does not.
# All QEMU runs share one boot of the lab.
#
# usage: plan_qemu.sh DMAKIT_STATIC DMAKIT_HOST LIBINTERPOSE
# Exit 0 pass, 1 fail, 77 QEMU cannot run here at all.
# PLAN_QEMU_KEEP=DIR keeps the guest output, traces and plans in DIR.
set -uo pipefail
dmakit_static=$1 dmakit=$2 interposer=$3
lab=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v qemu-system-x86_64 >/dev/null || { echo "skip: no qemu-system-x86_64" >&2; exit 77; }
command -v jq >/dev/null || { echo "skip: no jq" >&2; exit 77; }
"$lab/qemu-payload.sh" "$T/qemu" "$interposer" 2>/dev/null || { echo "skip: qemu-payload.sh failed" >&2; exit 77; }
# The q35/pc default NICs (e1000e/e1000) load their option ROMs at realize.
for f in efi-e1000e.rom efi-e1000.rom; do
	[ -e "$T/qemu/share/$f" ] || cp -L "/usr/lib/ipxe/qemu/$f" "$T/qemu/share/" 2>/dev/null || true
done

# name | QEMU words (after the binary; -device vfio-pci is appended to each)
common="-accel tcg -display none -S -monitor stdio"
cases=(
	"q35-nodef-1g|-M q35 -nodefaults -m 1G"
	"q35-def-1g|-M q35 -m 1G"
	"pc-nodef-1g|-M pc -nodefaults -m 1G"
	"pc-def-1g|-M pc -m 1G"
	"q35-nodef-3g|-M q35 -nodefaults -m 3G"
	"q35-def-3g|-M q35 -m 3G"
	"pc-nodef-3.5g|-M pc -nodefaults -m 3584M"
	"q35-nodef-vmem|-M q35 -nodefaults -m 512M,maxmem=2G -object memory-backend-ram,id=vmem0,size=1G -device virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0"
)
vmem_case=q35-nodef-vmem
dev=vfio-pci,host=0000:00:01.0

# plan on the host
for c in "${cases[@]}"; do
	n=${c%%|*} w=${c#*|}
	# shellcheck disable=SC2086
	"$dmakit" plan --json --boot-mappings -- qemu-system-x86_64 $common $w -device $dev >"$T/$n.plan.json" 2>"$T/$n.plan.err"
	echo "$?" >"$T/$n.plan.rc"
done
est=$(jq -r '.qemu_check.estimate' "$T/$vmem_case.plan.json")
req=$(jq -r '.required_dma_entry_limit' "$T/$vmem_case.plan.json")
case "$est" in '' | null | *[!0-9]*) est=0 ;; esac

# one boot of the lab for all QEMU runs
g='export DMAKIT_INTERPOSE_LIB=/qemu/lib/libdmakit-interpose.so
up() { cut -d" " -f1 /proc/uptime; }
run() { # name mode(limit|"") words...
	n=$1 lim=$2; shift 2
	t0=$(up)
	if [ -z "$lim" ]; then
		echo quit | dmakit record -o /tmp/$n.trace -- /qemu/run-qemu '"$common"' "$@" -device vfio-pci,host=$DMAKIT_LAB_DEVICE >/tmp/$n.out 2>&1
	else
		echo quit | dmakit inject --limit $lim -o /tmp/$n.trace -- /qemu/run-qemu '"$common"' "$@" -device vfio-pci,host=$DMAKIT_LAB_DEVICE >/tmp/$n.out 2>&1
	fi
	rc=$?
	t1=$(up)
	echo "=== run $n rc=$rc t0=$t0 t1=$t1"
	echo "=== trace $n"; grep -v "^# call" /tmp/$n.trace 2>/dev/null
	echo "=== out $n"; cat /tmp/$n.out
	echo "=== end $n"
	rm -f /tmp/$n.trace /tmp/$n.out
}
'
for c in "${cases[@]}"; do
	n=${c%%|*} w=${c#*|}
	g+="run $n '' $w"$'\n'
done
g+="run vmem-limit-est-1 $((est - 1)) ${cases[-1]#*|}"$'\n'
g+="run vmem-limit-est $est ${cases[-1]#*|}"$'\n'
g+='echo "=== done"'$'\n'

rc=0
t_start=$(date +%s.%N)
DMAKIT_LAB_TIMING=1 "$lab/run-in-guest.sh" --mem 5120 --timeout 500 --file "$T/qemu:/qemu" \
	--file "$dmakit_static:/usr/local/bin/dmakit" -- "$g" >"$T/out" 2>"$T/err" || rc=$?
t_end=$(date +%s.%N)
[ -n "${PLAN_QEMU_KEEP:-}" ] && { mkdir -p "$PLAN_QEMU_KEEP"; cp -r "$T"/*.json "$T/out" "$T/err" "$PLAN_QEMU_KEEP"/ 2>/dev/null; }
if [ "$rc" = 125 ]; then
	cat "$T/err" >&2
	echo "FAIL - the lab did not run (run-in-guest.sh exit 125)"
	echo "0 passed, 1 failed"
	exit 1
fi
cat "$T/out"
cat "$T/err"
echo "wall $(echo "$t_end - $t_start" | bc)"
