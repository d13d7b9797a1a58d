#!/bin/bash
# Debian's QEMU 7.2 as ground truth, inside the lab (real-kernel-lab.md, last
# section): record a `-S` start with edu passed through (-device vfio-pci) and
# check its boot-time map sequence; inject --limit 10 with a virtio-mem device
# and check QEMU's "possibly running out of DMA mappings" warning says 10.
# usage: record_qemu.sh DMAKIT_STATIC DMAKIT_HOST LIBINTERPOSE
# Exit 0 pass, 1 fail, 77 the lab cannot run here.
set -uo pipefail
dmakit_static=$1 dmakit=$2 interposer=$3
lab=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v qemu-system-x86_64 >/dev/null || exit 77
"$lab/qemu-payload.sh" "$T/qemu" "$interposer" 2>/dev/null || exit 77
guest='
export DMAKIT_INTERPOSE_LIB=/qemu/lib/libdmakit-interpose.so
Q="/qemu/run-qemu -accel tcg -M pc -nodefaults -display none -S -monitor stdio"
echo "=== record"
echo quit | dmakit record -o /tmp/q.trace -- $Q -m 64 -device vfio-pci,host=$DMAKIT_LAB_DEVICE >/tmp/q.out 2>&1
echo "exit $?"
echo "=== trace"
cat /tmp/q.trace
echo "=== inject"
echo quit | dmakit inject --limit 10 -- $Q -m 64,maxmem=256M -object memory-backend-ram,id=vmem0,size=64M \
	-device virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0 -device vfio-pci,host=$DMAKIT_LAB_DEVICE 2>&1
echo "=== fail-map"
echo quit | dmakit inject --fail-map 2:ENOMEM -- $Q -m 64 -device vfio-pci,host=$DMAKIT_LAB_DEVICE 2>&1
echo "exit $?"
echo "=== end"
'
rc=0
"$lab/run-in-guest.sh" --mem 1024 --timeout 400 --file "$T/qemu:/qemu" \
	--file "$dmakit_static:/usr/local/bin/dmakit" -- "$guest" >"$T/out" 2>"$T/err" || rc=$?
if [ "$rc" = 125 ]; then cat "$T/err" >&2; exit 1; fi
sect() { sed -n "/^=== $1\$/,/^=== /p" "$T/out" | sed '1d;$d'; }
fails=0
check() { local n=$1; shift; if "$@"; then echo "ok - $n"; else echo "FAIL - $n"; fails=$((fails + 1)); fi; }
sect trace >"$T/q.trace"
grep -v '^# call' "$T/q.trace"
cat >"$T/want" <<'W'
map iova=0x0 size=0xc0000 prot=rw
map iova=0xc0000 size=0x20000 prot=r
map iova=0xe0000 size=0x20000 prot=r
map iova=0x100000 size=0x3f00000 prot=rw
map iova=0xfffc0000 size=0x40000 prot=r
W
check "qemu -S, 64 MiB, vfio-pci: the boot-time maps (RAM split around the ROMs, read-only BIOS)" \
	diff <(grep '^map ' "$T/q.trace" | awk '{print $1, $2, $3, $5}') "$T/want"
check "qemu: every map succeeded" test "$(grep -c '^# result ok$' "$T/q.trace")" -ge 5
check "qemu: the trace replays on the emulator to QEMU's results" \
	diff <("$dmakit" analyze --expected "$T/q.trace") <("$dmakit" replay "$T/q.trace")
sect inject >"$T/inj"
cat "$T/inj"
check "qemu 7.2 + virtio-mem under inject --limit 10: the DMA-mapping warning with 10" \
	grep -q 'possibly running out of DMA mappings.*Maximum possible DMA mappings: 10,' "$T/inj"
sect fail-map >"$T/fm"
cat "$T/fm"
# The 2nd map of the boot sequence is the 128 KiB option ROM at 0xc0000:
# QEMU must name exactly that mapping and the injected errno, and refuse
# to start (a failed map at initialisation is fatal).
check "qemu under inject --fail-map 2:ENOMEM: QEMU reports the 2nd mapping (0xc0000, 0x20000) failing with -12" \
	grep -Eq 'dma_map\([^)]*0xc0000, 0x20000.*= -12' "$T/fm"
check "qemu under inject --fail-map 2:ENOMEM: QEMU does not start" \
	bash -c "! grep -q '^exit 0\$' '$T/fm'"
echo "$fails failure(s)"
[ "$fails" = 0 ]
