#!/bin/bash
# dmakit record / inject around a real dynamically linked program on the real
# 6.1 type1 driver (one boot of the lab):
#   1. record gives exactly the map/unmap sequence the program issued, with
#      the kernel's results, and the trace replays on the emulator (host) and
#      on the real kernel (guest) to those same results;
#   2. inject --limit N: the N+1-th map fails with ENOSPC and GET_INFO's
#      DMA_AVAIL reports what is left of N;
#   3. inject --fail-map K:ERR fails exactly the K-th map.
# The program (tests/interpose/victim.c) is dynamic, so it goes into the guest
# with its libraries (ldd) and the loader; `dmakit` itself is the static one:
# record only preloads the interposer into the command it runs.
#
# usage: record_lab.sh DMAKIT_STATIC DMAKIT_HOST VICTIM LIBINTERPOSE
# Exit 0 pass, 1 fail, 77 the lab cannot run here.
set -uo pipefail
dmakit_static=$1 dmakit=$2 victim=$3 interposer=$4
lab=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

files=(--file "$dmakit_static:/usr/local/bin/dmakit" --file "$victim:/usr/local/bin/victim"
	--file "$interposer:/usr/local/lib/libdmakit-interpose.so")
# The dynamic program's libraries, at the paths the loader looks in.
for lib in $(ldd "$victim" "$interposer" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u); do
	files+=(--file "$lib:$lib")
	case "$lib" in /lib64/*) files+=(--file "$(readlink -f "$lib"):$(readlink -f "$lib")") ;; esac
done

guest='
export DMAKIT_INTERPOSE_LIB=/usr/local/lib/libdmakit-interpose.so
G=$DMAKIT_LAB_GROUP
V="victim /dev/vfio/vfio $G"
echo "=== record"
dmakit record -o /tmp/r.trace -- $V setup info map 4 0x1000 0x100000 map 1 0x200000 0x400000 \
	map 1 0x1000 0x101000 unmap 2 0x1000 0x100000 unmap 1 0x800 0x102000 info unmap-all info
echo "exit $?"
echo "=== trace"
cat /tmp/r.trace
echo "=== replay-linux"
dmakit replay --backend linux --group $G /tmp/r.trace
echo "=== limit"
dmakit inject --limit 3 -o /tmp/l.trace -- $V setup info map 4 0x1000 0x100000 info \
	unmap 1 0x1000 0x100000 info map 1 0x1000 0x100000 info
echo "exit $?"
echo "=== limit-trace"
cat /tmp/l.trace
echo "=== failmap"
dmakit inject --fail-map 3:ENOMEM --fail-unmap 2:EBUSY -- $V setup map 5 0x1000 0x100000 unmap 3 0x1000 0x100000 info
echo "exit $?"
echo "=== end"
'
rc=0
"$lab/run-in-guest.sh" --timeout 300 "${files[@]}" -- "$guest" >"$T/out" 2>"$T/err" || rc=$?
if [ "$rc" = 125 ]; then
	cat "$T/err" >&2
	if grep -q "qemu-system-x86_64 not found\|prepare.sh failed" "$T/err"; then exit 77; fi
	echo "record_lab: the lab failed" >&2
	exit 1
fi
sect() { sed -n "/^=== $1\$/,/^=== /p" "$T/out" | sed '1d;$d'; }
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }

sect record >"$T/rec.out"
sect trace >"$T/r.trace"
echo "--- the program's output under record"; cat "$T/rec.out"
echo "--- the recorded trace"; cat "$T/r.trace"
check "lab record: the program ran (exit 0)" grep -qx 'exit 0' "$T/rec.out"
# What the program says it did, in trace words, against the trace's ops + results.
grep -E '^(map|unmap|unmap-all|info)' "$T/rec.out" | grep -v '^dmakit' \
	| sed -E 's/^map (iova=[^ ]* size=[^ ]*) (.*)/map \1 \2/; s/^unmap (iova=[^ ]* size=[^ ]*) (.*)/unmap \1 \2/' \
	| sed -E 's/^(unmap[^ ]*.*) ok$/\1 ok/' | awk '{print $1, $2, $3}' | sed 's/ *$//' >"$T/prog.seq"
awk '/^(map|unmap|unmap-all|info)( |$)/{op=$1; a=$2; s=$3; next} /^# result /{ if (op!="") { if (op=="map") print op, a, s; else if (op=="unmap") print op, a, s; else print op; op="" } }' \
	"$T/r.trace" >"$T/trace.seq"
grep -E '^(map|unmap|unmap-all|info)' "$T/rec.out" | awk '{ if ($1=="map"||$1=="unmap") print $1, $2, $3; else print $1 }' >"$T/prog.seq"
check "lab record: exactly the program's map/unmap/info sequence" diff "$T/prog.seq" "$T/trace.seq"
# And the results: the program's verdicts against the recorded ones.
grep -E '^(map|unmap) ' "$T/rec.out" | awk '{print $NF}' >"$T/prog.res"
awk '/^(map|unmap) /{want=1; next} /^# result /{ if (want) { print $3; want=0 } }' "$T/r.trace" >"$T/trace.res"
check "lab record: the recorded results are what the kernel answered" diff "$T/prog.res" "$T/trace.res"
check "lab record: the kernel refused the misaligned unmap (EINVAL)" grep -qx '# result EINVAL' "$T/r.trace"
check "lab record: DMA_AVAIL at open is the kernel default" grep -q '^setup iommu=type1v2 limit=65535 ' "$T/r.trace"
"$dmakit" analyze --expected "$T/r.trace" >"$T/r.exp"
"$dmakit" replay "$T/r.trace" >"$T/r.emu"
check "lab record: the trace replays on the emulator to the real results" diff "$T/r.exp" "$T/r.emu"
sect replay-linux >"$T/r.lin"
check "lab record: the trace replays on the real kernel to the same results" diff "$T/r.exp" "$T/r.lin"
"$dmakit" analyze "$T/r.trace" | sed 's/^/  | /'

sect limit >"$T/lim.out"
echo "--- inject --limit 3"; cat "$T/lim.out"
cat >"$T/lim.want" <<'W'
set-container ok
set-iommu ok
info avail=3
map iova=0x100000 size=0x1000 ok
map iova=0x101000 size=0x1000 ok
map iova=0x102000 size=0x1000 ok
map iova=0x103000 size=0x1000 ENOSPC
info avail=0
unmap iova=0x100000 size=0x1000 ok
info avail=1
map iova=0x100000 size=0x1000 ok
info avail=0
exit 0
W
check "lab inject --limit 3: the 4th map ENOSPC, DMA_AVAIL 3/0/1/0" diff <(grep -v '^dmakit ' "$T/lim.out") "$T/lim.want"
sect limit-trace >"$T/l.trace"
check "lab inject --limit: the ENOSPC never reached the kernel" grep -q 'injected=limit' "$T/l.trace"
check "lab inject --limit: its trace replays on the emulator to the same results" \
	diff <("$dmakit" analyze --expected "$T/l.trace") <("$dmakit" replay "$T/l.trace")

sect failmap >"$T/fm.out"
echo "--- inject --fail-map 3:ENOMEM --fail-unmap 2:EBUSY"; cat "$T/fm.out"
cat >"$T/fm.want" <<'W'
set-container ok
set-iommu ok
map iova=0x100000 size=0x1000 ok
map iova=0x101000 size=0x1000 ok
map iova=0x102000 size=0x1000 ENOMEM
map iova=0x103000 size=0x1000 ok
map iova=0x104000 size=0x1000 ok
unmap iova=0x100000 size=0x1000 ok
unmap iova=0x101000 size=0x1000 EBUSY
unmap iova=0x102000 size=0x1000 ok
info avail=65532
exit 0
W
check "lab inject --fail-map 3 / --fail-unmap 2: exactly those calls fail" diff <(grep -v '^dmakit ' "$T/fm.out") "$T/fm.want"

echo "$fails failure(s)"
[ "$fails" = 0 ]
