#!/bin/bash
# tests/lab/smoke.sh: one boot of the real-kernel lab, checking that it works end to end.
#
# Checks: the guest runs the kernel that prepare.sh unpacked; /dev/vfio/vfio and the edu group file
# exist; --dma-entry-limit reaches vfio_iommu_type1; a static probe (lab_selftest.c) does real VFIO
# ioctls (API version, TYPE1v2, group -> container, SET_IOMMU, GET_INFO DMA_AVAIL, MAP/UNMAP); and
# run-in-guest.sh hands back the script's output byte for byte and its exit status.
#
# Exit 0 pass, 1 fail, 77 skip (only when QEMU cannot run at all on this machine).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
limit=1000
fails=0

ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmakit-lab-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

kver=$("$here/prepare.sh" | tail -n1) || { echo "FAIL prepare.sh failed"; exit 1; }
[ -n "$kver" ] || { echo "FAIL prepare.sh reported no kernel version"; exit 1; }
echo "lab kernel (from the unpacked package): $kver"

# Skip only when QEMU itself cannot start a machine here.
if ! printf 'quit\n' | timeout 30 qemu-system-x86_64 -accel tcg -M q35 -display none -nodefaults \
	-S -monitor stdio >"$tmp/qemu-probe.log" 2>&1; then
	echo "SKIP qemu-system-x86_64 cannot run on this machine:"
	sed 's/^/  | /' "$tmp/qemu-probe.log" | tail -n 10
	exit 77
fi

command -v gcc >/dev/null || { echo "FAIL gcc not found (needed to build lab_selftest)"; exit 1; }
gcc -std=c11 -O2 -Wall -Wextra -Werror -static -o "$tmp/lab_selftest" "$here/lab_selftest.c" \
	|| { echo "FAIL could not build lab_selftest.c with gcc -static"; exit 1; }

read -r -d '' guest_script <<'EOF' || true
echo "kernel=$(uname -r)"
echo "env_kernel=$DMAKIT_LAB_KERNEL"
echo "device=$DMAKIT_LAB_DEVICE"
echo "group=$DMAKIT_LAB_GROUP"
[ -c /dev/vfio/vfio ] && echo "vfio_dev=yes" || echo "vfio_dev=no"
[ -c "$DMAKIT_LAB_GROUP" ] && echo "group_dev=yes" || echo "group_dev=no"
echo "driver=$(basename "$(readlink /sys/bus/pci/devices/$DMAKIT_LAB_DEVICE/driver)")"
echo "dma_entry_limit=$(cat /sys/module/vfio_iommu_type1/parameters/dma_entry_limit)"
lab_selftest "$DMAKIT_LAB_GROUP" >/tmp/st 2>&1
st=$?
sed 's/^/selftest: /' /tmp/st
echo "selftest_rc=$st"
printf 'raw:\r\001\377 no newline at the end'
exit 42
EOF
start=$(date +%s.%N)
set +e
"$here/run-in-guest.sh" --dma-entry-limit "$limit" --timeout 240 \
	--file "$tmp/lab_selftest" -- "$guest_script" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "run-in-guest.sh took $secs s (prepare + initramfs + boot + script), exit $rc"

if [ "$rc" = 125 ]; then
	echo "FAIL the lab itself failed:"
	sed 's/^/  | /' "$tmp/err"
	exit 1
fi
sed 's/^/  guest| /' "$tmp/out" | tr -d '\r\001\377'
echo

val() { sed -n "s/^$1=//p" "$tmp/out" | head -n1; }

[ "$rc" = 42 ] && ok "script exit status passed through (42)" || bad "exit status $rc, want 42"
[ "$(val kernel)" = "$kver" ] && ok "guest kernel is $kver" || bad "guest kernel '$(val kernel)', want '$kver'"
[ "$(val env_kernel)" = "$kver" ] && ok "DMAKIT_LAB_KERNEL=$kver" || bad "DMAKIT_LAB_KERNEL='$(val env_kernel)'"
case "$(val device)" in
[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) ok "DMAKIT_LAB_DEVICE=$(val device)" ;;
*) bad "DMAKIT_LAB_DEVICE='$(val device)' is not a PCI address" ;;
esac
case "$(val group)" in
/dev/vfio/[0-9]*) ok "DMAKIT_LAB_GROUP=$(val group)" ;;
*) bad "DMAKIT_LAB_GROUP='$(val group)'" ;;
esac
[ "$(val vfio_dev)" = yes ] && ok "/dev/vfio/vfio exists" || bad "/dev/vfio/vfio missing"
[ "$(val group_dev)" = yes ] && ok "group file $(val group) exists" || bad "group file $(val group) missing"
[ "$(val driver)" = vfio-pci ] && ok "edu bound to vfio-pci" || bad "edu driver '$(val driver)'"
[ "$(val dma_entry_limit)" = "$limit" ] && ok "dma_entry_limit parameter = $limit" \
	|| bad "dma_entry_limit parameter '$(val dma_entry_limit)', want $limit"
st() { sed -n "s/^selftest: $1 //p" "$tmp/out" | head -n1; }
[ "$(val selftest_rc)" = 0 ] && ok "lab_selftest exited 0" || bad "lab_selftest exited '$(val selftest_rc)'"
[ "$(st api_version)" = 0 ] && ok "VFIO_GET_API_VERSION = 0" || bad "api_version '$(st api_version)'"
[ "$(st type1v2)" = 1 ] && ok "CHECK_EXTENSION(TYPE1v2) = 1" || bad "type1v2 '$(st type1v2)'"
grep -qx 'selftest: set_iommu ok' "$tmp/out" && ok "GROUP_SET_CONTAINER + SET_IOMMU(TYPE1v2)" || bad "SET_IOMMU"
# A fresh container has the whole limit available.
[ "$(st dma_avail)" = "$limit" ] && ok "GET_INFO DMA_AVAIL = $limit" || bad "DMA_AVAIL '$(st dma_avail)', want $limit"
grep -qx 'selftest: map ok' "$tmp/out" && ok "MAP_DMA of 4 KiB at IOVA 0x100000: map ok" || bad "no 'map ok'"
grep -qx 'selftest: unmap ok 4096' "$tmp/out" && ok "UNMAP_DMA returned 4096 bytes" || bad "unmap"
printf 'raw:\r\001\377 no newline at the end' >"$tmp/want-tail"
n=$(wc -c <"$tmp/want-tail")
if tail -c "$n" "$tmp/out" | cmp -s - "$tmp/want-tail"; then
	ok "output is byte-exact (CR, control bytes, no trailing newline)"
else
	bad "output's last bytes differ: $(tail -c "$n" "$tmp/out" | od -An -c | tr -s ' \n' ' ')"
fi

if [ "$fails" -gt 0 ]; then
	echo "lab smoke: $fails check(s) failed; run-in-guest stderr:"
	sed 's/^/  | /' "$tmp/err"
	exit 1
fi
echo "lab smoke: all checks passed"
