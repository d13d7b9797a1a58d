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
command -v jq >/dev/null || { echo "FAIL - jq is needed to read dmakit plan --json"; echo "0 passed, 1 failed"; exit 1; }
"$lab/qemu-payload.sh" "$T/qemu" "$interposer" 2>/dev/null || { echo "skip: qemu-payload.sh failed" >&2; exit 77; }
# The q35/pc default NICs (e1000e/e1000) load their option ROMs at realize.
for f in efi-e1000e.rom efi-e1000.rom; do
	[ -e "$T/qemu/share/$f" ] || cp -L "/usr/lib/ipxe/qemu/$f" "$T/qemu/share/" 2>/dev/null || true
done

# name | QEMU words (after the binary; "-device vfio-pci,host=..." is appended).
# Above the split: q35 2.75 GiB (the smallest that splits: 2 GiB below 4 GiB,
# 768 MiB above) and pc 3.5 GiB (3 GiB + 512 MiB); VFIO pins all of the nested
# RAM, so the lab guest gets 5 GiB. They run first: the lab guest's memory is
# touched for the first time by the first big pin (the slow part under TCG).
# Below it: 512 MiB. Two small lines separate "default devices" from "a VGA is
# present" (-vga none; -nodefaults -device VGA). Then two virtio-mem lines.
common="-accel tcg -display none -S -monitor stdio"
cases=(
	"pc-nodef-3.5g|-M pc -nodefaults -m 3584M"
	"pc-def-3.5g|-M pc -m 3584M"
	"q35-nodef-2.75g|-M q35 -nodefaults -m 2816M"
	"q35-def-2.75g|-M q35 -m 2816M"
	"q35-nodef-512m|-M q35 -nodefaults -m 512M"
	"q35-def-512m|-M q35 -m 512M"
	"pc-nodef-512m|-M pc -nodefaults -m 512M"
	"pc-def-512m|-M pc -m 512M"
	"q35-vganone-256m|-M q35 -vga none -m 256M"
	"pc-nodef-vga-256m|-M pc -nodefaults -device VGA -m 256M"
	"q35-nodef-vmem|-M q35 -nodefaults -m 512M,maxmem=2G -object memory-backend-ram,id=vmem0,size=1G -device virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0"
	"pc-def-vmem|-M pc -m 256M,maxmem=4G -object memory-backend-ram,id=vmem0,size=2G -device virtio-mem-pci,id=vm0,memdev=vmem0,requested-size=0"
)
vmem_cases="q35-nodef-vmem pc-def-vmem"
words() { local c; for c in "${cases[@]}"; do [ "${c%%|*}" = "$1" ] && echo "${c#*|}"; done; }

# plan on the host: the expected lists and the vmem lines' estimates
declare -A est req
for c in "${cases[@]}"; do
	n=${c%%|*} w=${c#*|}
	# shellcheck disable=SC2086
	"$dmakit" plan --json --boot-mappings -- qemu-system-x86_64 $common $w -device vfio-pci,host=0000:00:01.0 \
		>"$T/$n.plan.json" 2>"$T/$n.plan.err"
	echo "$?" >"$T/$n.plan.rc"
done
for n in $vmem_cases; do
	est[$n]=$(jq -r '.qemu_check.estimate // 0' "$T/$n.plan.json" 2>/dev/null)
	req[$n]=$(jq -r '.required_dma_entry_limit // 0' "$T/$n.plan.json" 2>/dev/null)
	case "${est[$n]}" in '' | *[!0-9]*) est[$n]=0 ;; esac
done

# The guest: one lab boot runs every QEMU. Times come from /proc/uptime.
g='export DMAKIT_INTERPOSE_LIB=/qemu/lib/libdmakit-interpose.so
up() { cut -d" " -f1 /proc/uptime; }
fin() { # NAME RC T0
	echo "=== run $1 rc=$2 secs=$(echo "$(up) $3" | awk "{printf \"%.2f\", \$1 - \$2}")"
	echo "=== trace $1"; grep -v "^# call" /tmp/$1.trace 2>/dev/null
	echo "=== out $1"; grep -v "host doesn.t support requested feature" /tmp/$1.out
	echo "=== end $1"
	rm -f /tmp/$1.trace /tmp/$1.out
}
V="-device vfio-pci,host=$DMAKIT_LAB_DEVICE"
echo "=== version"
/qemu/run-qemu -version 2>&1; echo "=== version rc=$?"
'
for c in "${cases[@]}"; do
	n=${c%%|*} w=${c#*|}
	g+="t0=\$(up); echo quit | dmakit record -o /tmp/$n.trace -- /qemu/run-qemu $common $w \$V >/tmp/$n.out 2>&1; fin $n \$? \$t0"$'\n'
done
for n in $vmem_cases; do
	w=$(words "$n")
	for lim in $((est[$n] - 1)) "${est[$n]}"; do
		g+="t0=\$(up); echo quit | dmakit inject --limit $lim -o /tmp/$n@$lim.trace -- /qemu/run-qemu $common $w \$V >/tmp/$n@$lim.out 2>&1; fin $n@$lim \$? \$t0"$'\n'
	done
done
g+='echo "=== done"'$'\n'

rc=0 t_start=$SECONDS
DMAKIT_LAB_TIMING=1 "$lab/run-in-guest.sh" --mem 5120 --timeout 500 --file "$T/qemu:/qemu" \
	--file "$dmakit_static:/usr/local/bin/dmakit" -- "$g" >"$T/out" 2>"$T/err" || rc=$?
t_lab=$((SECONDS - t_start))
if [ -n "${PLAN_QEMU_KEEP:-}" ]; then
	mkdir -p "$PLAN_QEMU_KEEP" && cp "$T"/*.plan.json "$T/out" "$T/err" "$PLAN_QEMU_KEEP"/
fi
if [ "$rc" = 125 ]; then
	cat "$T/err" >&2
	echo "FAIL - the lab did not run (run-in-guest.sh exit 125)"
	echo "0 passed, 1 failed"
	exit 1
fi
sect() { awk -v h="=== $1" '$0 == h {on = 1; next} /^=== / {on = 0} on' "$T/out"; }
if ! grep -q '^=== version rc=0$' "$T/out"; then
	sed -n '/^=== version$/,/^=== version rc/p' "$T/out" >&2
	echo "skip: the packed QEMU does not run in the lab guest" >&2
	exit 77
fi

pass=0 fails=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
hex() { printf '0x%x' "$(($1))"; }
# QEMU's mappings at the end of its -S start: replay the trace's successful
# maps and unmaps (QEMU maps RAM whole, then splits it when the PAM/SMRAM
# windows settle at reset), sorted by iova; "IOVA SIZE r|rw" per line.
qemu_list() {
	local op rest kv iova size prot k s pend=
	declare -A live=()
	while read -r op rest; do
		case "$op" in
		map | unmap)
			iova='' size='' prot=''
			for kv in $rest; do
				case "$kv" in iova=*) iova=${kv#*=} ;; size=*) size=${kv#*=} ;; prot=*) prot=${kv#*=} ;; esac
			done
			pend=$op ;;
		'#')
			case "$rest" in
			"result ok"*)
				if [ "$pend" = map ]; then
					live[$((iova))]="$((size)) $prot"
				elif [ "$pend" = unmap ]; then
					for k in "${!live[@]}"; do
						s=${live[$k]%% *}
						if ((k >= iova && k + s <= iova + size)); then unset "live[$k]"; fi
					done
				fi
				pend= ;;
			result*) pend= ;;
			esac ;;
		esac
	done
	for k in "${!live[@]}"; do echo "$(hex "$k") $(hex "${live[$k]%% *}") ${live[$k]#* }"; done | sort -k1,1
}
plan_list() {
	jq -r '.containers[0].boot_mapping_list[] | "\(.iova) \(.size) \(.flags)"' "$T/$1.plan.json" 2>/dev/null |
		while read -r i s p; do echo "$(hex "$i") $(hex "$s") $p"; done | sort -k1,1
}
oneline() { tr '\n' ',' | sed 's/,$//; s/,/, /g'; }
warn_re='possibly running out of DMA mappings'

for c in "${cases[@]}"; do
	n=${c%%|*} w=${c#*|}
	hdr=$(grep "^=== run $n rc=" "$T/out")
	qrc=${hdr#*rc=}; qrc=${qrc%% *}; secs=${hdr##*secs=}
	echo "# $n: qemu-system-x86_64 $common $w -device vfio-pci,host=... (QEMU ${secs:-?} s in the guest)"
	if [ "$(cat "$T/$n.plan.rc")" != 0 ]; then
		bad "$n: dmakit plan exits $(cat "$T/$n.plan.rc"): $(head -1 "$T/$n.plan.err")"
		continue
	fi
	sect "trace $n" >"$T/$n.trace"
	if [ -z "$hdr" ] || [ "$qrc" != 0 ] || ! grep -q '^map ' "$T/$n.trace"; then
		bad "$n: QEMU ran under dmakit record and mapped its RAM (exit ${qrc:-none})"
		sect "out $n" | tail -5 | sed 's/^/#   /'
		continue
	fi
	if grep -A1 '^map ' "$T/$n.trace" | grep '^# result' | grep -qv '^# result ok$'; then
		bad "$n: every map QEMU made succeeded"
	fi
	plan_list "$n" >"$T/$n.want"
	qemu_list <"$T/$n.trace" >"$T/$n.got"
	echo "#   plan: $(oneline <"$T/$n.want")"
	echo "#   qemu: $(oneline <"$T/$n.got")"
	if diff "$T/$n.want" "$T/$n.got" >"$T/$n.diff"; then
		ok "$n: plan --boot-mappings = QEMU's $(wc -l <"$T/$n.got") boot mappings (iova, size, r/rw)"
	else
		bad "$n: plan --boot-mappings = QEMU's boot mappings (< plan only, > QEMU only):"
		grep '^[<>]' "$T/$n.diff" | sed 's/^/#   /'
	fi
done

for n in $vmem_cases; do
	e=${est[$n]}
	echo "# $n: qemu_check.estimate $e, required_dma_entry_limit ${req[$n]}"
	if [ "$e" -gt 0 ] && [ "$e" = "${req[$n]}" ]; then
		ok "$n: plan's estimate $e is its required_dma_entry_limit"
	else
		bad "$n: plan's estimate ($e) is its required_dma_entry_limit (${req[$n]})"
	fi
	for lim in $((e - 1)) "$e"; do
		hdr=$(grep "^=== run $n@$lim rc=" "$T/out")
		qrc=${hdr#*rc=}; qrc=${qrc%% *}
		sect "out $n@$lim" >"$T/$n@$lim.out"
		grep "$warn_re" "$T/$n@$lim.out" | sed 's/^/#   /'
		if [ -z "$hdr" ] || [ "$qrc" != 0 ]; then
			bad "$n: QEMU under inject --limit $lim ran (exit ${qrc:-none})"
		elif [ "$lim" -lt "$e" ]; then
			if grep -q "$warn_re.*Maximum possible DMA mappings: $lim," "$T/$n@$lim.out"; then
				ok "$n: inject --limit $lim (estimate - 1): QEMU warns 'possibly running out of DMA mappings' with $lim"
			else
				bad "$n: inject --limit $lim (estimate - 1): QEMU warns 'possibly running out of DMA mappings' with $lim"
			fi
		else
			if grep -q "$warn_re" "$T/$n@$lim.out"; then
				bad "$n: inject --limit $lim (estimate): no DMA-mapping warning"
			else
				ok "$n: inject --limit $lim (estimate): no DMA-mapping warning"
			fi
		fi
	done
done

echo "# $(grep -o 'boot+run [0-9.]* s' "$T/err" || echo 'lab time ?'); ${t_lab} s wall for the lab, ${SECONDS} s in all"
echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
