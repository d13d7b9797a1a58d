#!/bin/bash
# tests/lab/run-in-guest.sh: run a shell script inside Debian's real kernel, booted by QEMU on a
# q35 machine with an emulated Intel VT-d IOMMU and QEMU's edu PCI device bound to vfio-pci.
#
# Usage:
#   run-in-guest.sh [options] -- 'shell script text'      (script text '-' = read it from stdin)
#
# Options:
#   --mem MiB               guest memory (default 2048)
#   --dma-entry-limit N     load vfio_iommu_type1 with dma_entry_limit=N (default: kernel default)
#   --file HOST[:GUEST]     copy a host file or folder into the guest (default GUEST path:
#                           /usr/local/bin/<basename>, which is first on PATH); repeatable.
#                           Binaries must be static: the guest has no libraries.
#   --timeout SEC           wall-clock limit for the whole boot + script (default 300)
#   --accel auto|tcg|kvm    QEMU accelerator (default auto: kvm only if it really boots, else tcg;
#                           also settable with DMAKIT_LAB_ACCEL)
#   --console FILE          keep the whole serial console log in FILE
#   -h, --help              this text
#
# In the guest the script runs under /bin/sh (busybox), cwd /root, stdin /dev/null, with:
#   DMAKIT_LAB_GROUP   /dev/vfio/<n>, the edu device's VFIO group file
#   DMAKIT_LAB_DEVICE  the edu device's PCI address, e.g. 0000:00:03.0
#   DMAKIT_LAB_KERNEL  uname -r of the guest kernel
#
# The script's stdout and stderr (merged, byte for byte) become this command's stdout, and its
# exit status becomes this command's exit status.  Exit 125 means the lab itself failed (bad usage,
# prepare failed, guest did not boot, module load or edu binding failed, timeout, lost output);
# a diagnostic goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
LAB_FAIL=125

die() { printf 'run-in-guest: error: %s\n' "$*" >&2; exit "$LAB_FAIL"; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

mem=2048
dma_limit=
timeout_s=300
accel=${DMAKIT_LAB_ACCEL:-auto}
console_keep=
files=()
script=
have_script=0

while [ $# -gt 0 ]; do
	case "$1" in
	--mem) [ $# -ge 2 ] || die "--mem needs a value"; mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--dma-entry-limit) [ $# -ge 2 ] || die "--dma-entry-limit needs a value"; dma_limit=$2; shift 2 ;;
	--dma-entry-limit=*) dma_limit=${1#*=}; shift ;;
	--file) [ $# -ge 2 ] || die "--file needs a value"; files+=("$2"); shift 2 ;;
	--file=*) files+=("${1#*=}"); shift ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--accel) [ $# -ge 2 ] || die "--accel needs a value"; accel=$2; shift 2 ;;
	--accel=*) accel=${1#*=}; shift ;;
	--console) [ $# -ge 2 ] || die "--console needs a value"; console_keep=$2; shift 2 ;;
	--console=*) console_keep=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	--)
		shift
		[ $# -eq 1 ] || die "expected exactly one script argument after -- (got $#); quote the script"
		script=$1; have_script=1; shift ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[ "$have_script" = 1 ] || die "no script given: run-in-guest.sh [options] -- 'script'"
if [ "$script" = - ]; then script=$(cat; echo x); script=${script%x}; fi
case "$mem" in '' | *[!0-9]*) die "--mem must be a number of MiB" ;; esac
case "$timeout_s" in '' | *[!0-9]*) die "--timeout must be a number of seconds" ;; esac
[ -z "$dma_limit" ] || case "$dma_limit" in *[!0-9]*) die "--dma-entry-limit must be a number" ;; esac
case "$accel" in auto | tcg | kvm) ;; *) die "--accel must be auto, tcg or kvm" ;; esac

# (a) Kernel, modules and host tools.
prep_out=$("$here/prepare.sh" --print-env) || die "prepare.sh failed"
LAB_KVER='' LAB_VMLINUZ='' LAB_MODDIR=''
eval "$(printf '%s\n' "$prep_out" | grep -E '^LAB_(KVER|ROOT|VMLINUZ|MODDIR)=')"
[ -n "$LAB_KVER" ] && [ -f "$LAB_VMLINUZ" ] || die "prepare.sh gave no kernel"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmakit-lab.XXXXXX")
qpid=
cleanup() {
	if [ -n "$qpid" ]; then kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# (b) The initramfs.
rd=$tmp/root
mkdir -p "$rd"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,root,lab/modules}
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && file -L "$b" 2>/dev/null | grep -q 'statically linked'; then busybox=$b; break; fi
done
if [ -z "$busybox" ]; then
	# 'file' may be missing: trust busybox-static's path.
	[ -x /bin/busybox ] && dpkg -L busybox-static 2>/dev/null | grep -qx '/bin/busybox' && busybox=/bin/busybox
fi
[ -n "$busybox" ] || die "no static busybox (install busybox-static)"
cp "$busybox" "$rd/bin/busybox"
while IFS= read -r applet; do
	[ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
	[ -e "$rd/$applet" ] || ln -s /bin/busybox "$rd/$applet"
done < <("$rd/bin/busybox" --list-full)

# Modules: resolve each one's dependencies from modules.dep, dependencies first.
moddep=$LAB_MODDIR/modules.dep
modorder=()
declare -A seen=()
norm() { local n=${1##*/}; n=${n%%.ko*}; printf '%s' "${n//-/_}"; }
find_mod() { # module name -> relative path in modules.dep, or nothing
	local want; want=$(norm "$1")
	awk -F: -v w="$want" '{ n=$1; sub(/.*\//,"",n); sub(/\.ko.*/,"",n); gsub(/-/,"_",n); if (n==w) { print $1; exit } }' "$moddep"
}
add_mod() { # relative path
	local rel=$1 deps
	[ -z "${seen[$rel]:-}" ] || return 0
	seen[$rel]=1
	deps=$(awk -F: -v r="$rel" '$1==r { print $2; exit }' "$moddep")
	# modprobe loads a line's dependencies from last to first.
	local arr i
	read -r -a arr <<<"$deps"
	for ((i = ${#arr[@]} - 1; i >= 0; i--)); do add_mod "${arr[$i]}"; done
	modorder+=("$rel")
}
is_builtin() { grep -qE "/$(norm "$1" | sed 's/_/[-_]/g')\.ko\$" "$LAB_MODDIR/modules.builtin" 2>/dev/null; }
for spec in irqbypass vfio vfio_iommu_type1 '?vfio_virqfd' vfio-pci-core vfio-pci; do
	optional=0
	case "$spec" in '?'*) optional=1; spec=${spec#?} ;; esac
	rel=$(find_mod "$spec")
	if [ -z "$rel" ]; then
		if is_builtin "$spec"; then continue; fi
		[ "$optional" = 1 ] && continue
		die "module $spec is neither in $moddep nor built into $LAB_KVER"
	fi
	add_mod "$rel"
done
loadlist=
for rel in "${modorder[@]}"; do
	src=$LAB_MODDIR/$rel
	[ -f "$src" ] || die "module file missing: $src"
	name=$(norm "$rel")
	dst=$rd/lab/modules/$name.ko
	case "$src" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) command -v xz >/dev/null || die "xz needed to decompress $src"; xz -dc "$src" >"$dst" ;;
	*.ko.zst) command -v zstd >/dev/null || die "zstd needed to decompress $src"; zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module format: $src" ;;
	esac
	params=
	[ "$name" = vfio_iommu_type1 ] && [ -n "$dma_limit" ] && params="dma_entry_limit=$dma_limit"
	loadlist+="$name $params"$'\n'
done
printf '%s' "$loadlist" >"$rd/lab/modules.list"

for f in ${files[@]+"${files[@]}"}; do
	hostp=${f%%:*}
	if [ "$hostp" = "$f" ]; then guestp=/usr/local/bin/$(basename "$hostp"); else guestp=${f#*:}; fi
	[ -e "$hostp" ] || die "--file: no such file: $hostp"
	case "$guestp" in /*) ;; *) die "--file: guest path must be absolute: $guestp" ;; esac
	mkdir -p "$rd$(dirname "$guestp")"
	cp -a -L "$hostp" "$rd$guestp"
done

printf '%s' "$script" >"$rd/lab/script.sh"
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mark="DMAKIT-LAB-$token"

cat >"$rd/init" <<EOF
#!/bin/sh
# dmakit lab guest init (generated by tests/lab/run-in-guest.sh)
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
M=$mark
fail() {
	dmesg -n 1
	echo "\$M-SETUP-FAILED \$*"
	echo "\$M-DMESG-BEGIN"; dmesg | tail -n 30; echo "\$M-DMESG-END"
	sync; poweroff -f; sleep 10
}
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t tmpfs tmpfs /tmp || fail "mount /tmp"
echo "\$M-BOOTED \$(uname -r)"
while read -r name params; do
	[ -n "\$name" ] || continue
	out=\$(insmod /lab/modules/\$name.ko \$params 2>&1) || fail "insmod \$name \$params failed: \$out"
done </lab/modules.list
[ -c /dev/vfio/vfio ] || fail "/dev/vfio/vfio missing after loading the vfio modules"
dev=
for d in /sys/bus/pci/devices/*; do
	if [ "\$(cat \$d/vendor)" = 0x1234 ] && [ "\$(cat \$d/device)" = 0x11e8 ]; then dev=\${d##*/}; break; fi
done
[ -n "\$dev" ] || fail "edu PCI device (1234:11e8) not found; PCI devices: \$(cd /sys/bus/pci/devices && echo *)"
[ -e /sys/bus/pci/devices/\$dev/iommu_group ] || fail "edu \$dev has no iommu_group (IOMMU not enabled? check intel_iommu=on and -device intel-iommu)"
grp=\$(readlink /sys/bus/pci/devices/\$dev/iommu_group); grp=\${grp##*/}
echo 1234 11e8 >/sys/bus/pci/drivers/vfio-pci/new_id || fail "binding edu to vfio-pci (new_id) failed"
i=0
while [ ! -c /dev/vfio/\$grp ] || [ "\$(readlink /sys/bus/pci/devices/\$dev/driver)" = "" ]; do
	i=\$((i + 1)); [ \$i -le 100 ] || fail "edu \$dev not bound to vfio-pci / no /dev/vfio/\$grp (driver: \$(readlink /sys/bus/pci/devices/\$dev/driver))"
	sleep 0.05
done
drv=\$(readlink /sys/bus/pci/devices/\$dev/driver); drv=\${drv##*/}
[ "\$drv" = vfio-pci ] || fail "edu \$dev is bound to '\$drv', not vfio-pci"
export DMAKIT_LAB_GROUP=/dev/vfio/\$grp DMAKIT_LAB_DEVICE=\$dev DMAKIT_LAB_KERNEL=\$(uname -r)
echo "\$M-READY \$DMAKIT_LAB_DEVICE \$DMAKIT_LAB_GROUP"
cd /root
/bin/sh /lab/script.sh </dev/null >/tmp/lab.out 2>&1
rc=\$?
dmesg -n 1
echo "\$M-OUT-BEGIN"
base64 </tmp/lab.out
echo "\$M-OUT-END rc=\$rc"
sync
poweroff -f
sleep 10
EOF
chmod 755 "$rd/init" "$rd/lab/script.sh"

initrd=$tmp/initrd.gz
(cd "$rd" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 >"$initrd") \
	|| die "building the initramfs failed"

# (c) Boot.
kvm_works() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	# Opening the device is not enough on some nested hosts: ask QEMU to set up a KVM vCPU.
	# (In a subshell so that bash's "Aborted" job notice goes to /dev/null too.)
	(printf 'quit\n' | timeout 10 qemu-system-x86_64 -accel kvm -M q35 -cpu host -display none \
		-nodefaults -S -monitor stdio) >/dev/null 2>&1
}
kvm_fallback=0
if [ "$accel" = auto ]; then
	if kvm_works; then accel=kvm; kvm_fallback=1; else accel=tcg; fi
fi

log=$tmp/console.log
qrc=
boot() { # $1 = accel; a second argument N: give up (return 1) if /init has not started in N s
	local accel_args=(-accel tcg) n=0
	[ "$1" = kvm ] && accel_args=(-accel kvm -cpu host)
	: >"$log"
	t0=$(date +%s.%N)
	timeout -k 5 "$timeout_s" qemu-system-x86_64 "${accel_args[@]}" -M q35 -m "$mem" -smp 1 \
		-display none -vga none -nic none -no-reboot -monitor none -serial "file:$log" \
		-kernel "$LAB_VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 intel_iommu=on quiet panic=-1" \
		-device intel-iommu -device edu </dev/null >"$tmp/qemu.out" 2>&1 &
	qpid=$!
	if [ -n "${2:-}" ]; then
		while ! grep -q "$mark-BOOTED" "$log"; do
			if ! kill -0 "$qpid" 2>/dev/null || [ "$n" -ge "$(($2 * 10))" ]; then
				kill "$qpid" 2>/dev/null || true
				wait "$qpid" 2>/dev/null || true
				qpid=
				return 1
			fi
			n=$((n + 1))
			sleep 0.1
		done
	fi
	set +e
	wait "$qpid"
	qrc=$?
	set -e
	qpid=
	t1=$(date +%s.%N)
}
if [ "$kvm_fallback" = 1 ]; then
	# (stderr to a file: bash reports a QEMU killed by a signal there, not on ours.)
	if ! boot kvm 20 2>>"$tmp/shell.err"; then
		echo "run-in-guest: warning: KVM did not boot the guest; falling back to TCG" >&2
		accel=tcg
		boot tcg 2>>"$tmp/shell.err"
	fi
else
	boot "$accel" 2>>"$tmp/shell.err"
fi
[ -z "$console_keep" ] || cp "$log" "$console_keep"

# (d) Results.
clean=$tmp/console.txt
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' -e 's/\x1b[=>c]//g' -e 's/\r//g' "$log" >"$clean"

elapsed() { awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'; }
diag() {
	set +e # a diagnostic must not die half-way (e.g. grep finding nothing under pipefail)
	printf 'run-in-guest: %s\n' "$*" >&2
	printf 'run-in-guest: kernel %s, accel %s, qemu exit %s, %s s\n' "$LAB_KVER" "$accel" "$qrc" \
		"$(elapsed)" >&2
	if [ -s "$tmp/qemu.out" ] || [ -s "$tmp/shell.err" ]; then
		echo "run-in-guest: qemu said:" >&2
		cat "$tmp/qemu.out" "$tmp/shell.err" 2>/dev/null | tail -n 20 | sed 's/^/  | /' >&2
	fi
	echo "run-in-guest: last console lines:" >&2
	if [ -s "$clean" ]; then
		grep -v "^$mark-OUT-" "$clean" | tail -n 40 | sed 's/^/  | /' >&2
	else
		echo "  | (nothing: the console stayed empty)" >&2
	fi
	exit "$LAB_FAIL"
}

if grep -q "$mark-SETUP-FAILED" "$clean"; then
	msg=$(sed -n "s/.*$mark-SETUP-FAILED //p" "$clean" | head -n1)
	printf 'run-in-guest: guest set-up failed: %s\n' "$msg" >&2
	echo "run-in-guest: guest dmesg (tail):" >&2
	sed -n "/$mark-DMESG-BEGIN/,/$mark-DMESG-END/p" "$clean" | sed '1d;$d' | sed 's/^/  | /' >&2
	exit "$LAB_FAIL"
fi
endline=$(grep -a "$mark-OUT-END rc=" "$clean" | head -n1 || true)
if [ -z "$endline" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		diag "timed out after ${timeout_s}s (no end marker)"
	elif ! grep -q "$mark-BOOTED" "$clean"; then
		diag "the guest did not boot to /init"
	elif ! grep -q "$mark-READY" "$clean"; then
		diag "the guest stopped during set-up"
	else
		diag "the script's output markers are missing (guest crashed or powered off early?)"
	fi
fi
rc=${endline##*rc=}
case "$rc" in '' | *[!0-9]*) diag "bad end marker: $endline" ;; esac
if ! sed -n "/$mark-OUT-BEGIN/,/$mark-OUT-END/p" "$clean" | sed '1d;$d' | base64 -d >"$tmp/out" 2>"$tmp/b64.err"; then
	diag "the script's output was garbled on the console ($(cat "$tmp/b64.err"))"
fi
if [ -n "${DMAKIT_LAB_TIMING:-}" ]; then
	printf 'run-in-guest: %s, accel %s, boot+run %s s\n' "$LAB_KVER" "$accel" \
		"$(elapsed)" >&2
fi
cat "$tmp/out"
exit "$rc"
