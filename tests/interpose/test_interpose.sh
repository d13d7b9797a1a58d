#!/bin/bash
# Real processes under libdmakit-interpose.so, on a machine without VFIO:
# test paths stand in for /dev/vfio/vfio and /dev/vfio/N
# (DMAKIT_INTERPOSE_VFIO_PATHS); libfakevfio.so, preloaded after the
# interposer, answers their ioctls with dmakit's emulated type1 container.
# Without it the same paths are plain files whose ioctls fail with ENOTTY.
#
# usage: test_interpose.sh DMAKIT VICTIM LIBFAKEVFIO LIBINTERPOSE
set -u
dmakit=$1 victim=$2 fake=$3
export DMAKIT_INTERPOSE_LIB=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
touch "$T/vfio" "$T/7"
export DMAKIT_INTERPOSE_VFIO_PATHS="$T/vfio:$T/7" FAKEVFIO_CONTAINER=$T/vfio FAKEVFIO_GROUP=$T/7
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # name, command...
	local name=$1; shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
fakerun() { LD_PRELOAD=$fake "$@"; }
ops() { grep -Ev '^(#|setup|$)' "$1"; }
nev() { grep -c "^ev op=$2 " "$1"; }

# 1. record: the trace holds exactly what the program did, with results that
#    replay on the emulator to the same output.
fakerun "$dmakit" record -o "$T/a.trace" --raw "$T/a.raw" -- "$victim" "$T/vfio" "$T/7" \
	setup map 3 0x1000 0x100000 info unmap 1 0x1000 0x100000 info unmap-all >"$T/a.out" 2>"$T/a.err"
check "record exits with the command's status" test $? = 0
cat >"$T/a.want" <<'W'
map iova=0x100000 size=0x1000 vaddr=0x0 prot=rw
map iova=0x101000 size=0x1000 vaddr=0x1000 prot=rw
map iova=0x102000 size=0x1000 vaddr=0x2000 prot=rw
info
unmap iova=0x100000 size=0x1000
info
unmap-all
W
check "record: the map/unmap sequence, vaddrs packed into the buffer" diff <(ops "$T/a.trace") "$T/a.want"
check "record: setup line from SET_IOMMU and DMA_AVAIL at open" grep -qx 'setup iommu=type1v2 limit=65535 buffer=0x3000' "$T/a.trace"
"$dmakit" analyze --expected "$T/a.trace" >"$T/a.exp"
"$dmakit" replay "$T/a.trace" >"$T/a.rep"
check "record: the trace replays on the emulator to the recorded results" diff "$T/a.exp" "$T/a.rep"
check "record: recorded results are what the program saw" \
	test "$(grep -c ' ok$' "$T/a.out")" = 7
check "record: the real vaddr is kept in a comment" grep -q '^# call ns=[0-9]* t=[0-9]* pid=[0-9]* tid=[0-9]* vaddr=0x7' "$T/a.trace"
"$dmakit" analyze "$T/a.trace" >"$T/a.ana"
check "analyze: peak and headroom" grep -q '^mappings: peak 3 ' "$T/a.ana"
check "analyze: headroom line" grep -q '^headroom: 65532 of 65535' "$T/a.ana"
check "analyze: map latency histogram" grep -q '^latency of real MAP_DMA calls: 3 calls' "$T/a.ana"
check "record --analyze is analyze" diff <("$dmakit" record --analyze "$T/a.trace") "$T/a.ana"

# 2. fd tracking: dup, dup2, dup3, F_DUPFD_CLOEXEC, then fork; close + reuse of
#    the number by /dev/null is no longer followed.
fakerun "$dmakit" record -o "$T/b.trace" --raw "$T/b.raw" -- "$victim" "$T/vfio" "$T/7" \
	setup map 1 0x1000 0x100000 dup map 1 0x1000 0x200000 dup2 map 1 0x1000 0x300000 \
	dup3 map 1 0x1000 0x400000 fcntl map 1 0x1000 0x500000 fork map 1 0x1000 0x600000 \
	null map 1 0x1000 0x700000 >"$T/b.out" 2>&1
check "fd tracking: the program ran" grep -q '^map iova=0x700000 size=0x1000 ENOTTY$' "$T/b.out"
check "fd tracking: 6 maps followed through dup/dup2/dup3/fcntl/fork" test "$(nev "$T/b.raw" map)" = 6
check "fd tracking: the map on the reused fd (/dev/null) is not followed" \
	bash -c "! grep -q 'iova=0x700000' '$T/b.raw'"
check "fd tracking: new fds 100 (dup2), 101 (dup3), >=200 (fcntl)" \
	bash -c "grep -q 'op=map .* fd=100 .*iova=0x300000' '$T/b.raw' && grep -q 'op=map .* fd=101 .*iova=0x400000' '$T/b.raw' && grep -Eq 'op=map .* fd=2[0-9][0-9] .*iova=0x500000' '$T/b.raw'"
ppid=$(sed -n 's/^ev op=open-container pid=\([0-9]*\) .*/\1/p' "$T/b.raw")
check "fd tracking: the child's map is logged with its own pid, same container" \
	bash -c "grep 'iova=0x600000' '$T/b.raw' | grep -v 'pid=$ppid ' | grep -q 'ct=$ppid-1'"
check "fd tracking: one container trace" test ! -e "$T/b.trace.2"
check "fd tracking: close of the last fd logged" grep -q '^ev op=close .* kind=1$' "$T/b.raw"

# 3. Plain files: every ioctl fails with ENOTTY, and is recorded as such.
"$dmakit" record -o "$T/c.trace" --raw "$T/c.raw" -- "$victim" "$T/vfio" "$T/7" \
	setup map 2 0x1000 0x100000 unmap 1 0x1000 0x100000 >"$T/c.out" 2>&1
check "ENOTTY files: results recorded" test "$(grep -c '^# result ENOTTY$' "$T/c.trace")" = 3
check "ENOTTY files: setup without DMA_AVAIL" grep -q '^# avail0=-1 ' "$T/c.trace"

# 4. inject --limit: the N+1-th map fails with ENOSPC without reaching the
#    kernel; GET_INFO's DMA_AVAIL says what is left of N.
fakerun "$dmakit" inject --limit 2 -o "$T/d.trace" --raw "$T/d.raw" -- "$victim" "$T/vfio" "$T/7" \
	setup info map 3 0x1000 0x100000 info unmap 1 0x1000 0x100000 info map 1 0x1000 0x100000 info \
	>"$T/d.out" 2>"$T/d.err"
cat >"$T/d.want" <<'W'
set-container ok
set-iommu ok
info avail=2
map iova=0x100000 size=0x1000 ok
map iova=0x101000 size=0x1000 ok
map iova=0x102000 size=0x1000 ENOSPC
info avail=0
unmap iova=0x100000 size=0x1000 ok
info avail=1
map iova=0x100000 size=0x1000 ok
info avail=0
W
check "inject --limit 2: ENOSPC at the 3rd map, DMA_AVAIL rewritten" diff "$T/d.out" "$T/d.want"
check "inject --limit: the refused map never reached the kernel" grep -q 'iova=0x102000 .*errno=28 .* inj=2$' "$T/d.raw"
check "inject --limit: setup limit=2" grep -q '^setup iommu=type1v2 limit=2 ' "$T/d.trace"
check "inject --limit: the trace replays to the same results" \
	diff <("$dmakit" analyze --expected "$T/d.trace") <("$dmakit" replay "$T/d.trace")
check "inject --limit 0: the first map fails" bash -c \
	"LD_PRELOAD='$fake' '$dmakit' inject --limit 0 -- '$victim' '$T/vfio' '$T/7' setup map 1 0x1000 0 2>/dev/null | grep -qx 'map iova=0x0 size=0x1000 ENOSPC'"

# 5. inject --fail-map K[:ERRNO] / --fail-unmap K[:ERRNO]: exactly the K-th call.
fakerun "$dmakit" inject --fail-map 2:ENOMEM --fail-unmap 1:EBUSY -o "$T/e.trace" -- "$victim" "$T/vfio" "$T/7" \
	setup map 3 0x1000 0x100000 unmap 2 0x1000 0x100000 >"$T/e.out" 2>"$T/e.err"
cat >"$T/e.want" <<'W'
set-container ok
set-iommu ok
map iova=0x100000 size=0x1000 ok
map iova=0x101000 size=0x1000 ENOMEM
map iova=0x102000 size=0x1000 ok
unmap iova=0x100000 size=0x1000 EBUSY
unmap iova=0x101000 size=0x1000 ok
W
check "inject --fail-map 2:ENOMEM --fail-unmap 1:EBUSY" diff "$T/e.out" "$T/e.want"
check "inject --fail-*: injected calls are comments in the trace" \
	test "$(grep -c '^# injected ' "$T/e.trace")" = 2
check "inject --fail-*: the trace replays to the same results" \
	diff <("$dmakit" analyze --expected "$T/e.trace") <("$dmakit" replay "$T/e.trace")
"$dmakit" inject --fail-map 1 -- "$victim" "$T/vfio" "$T/7" setup map 2 0x1000 0 >"$T/f.out" 2>&1
check "inject --fail-map 1 (default EFAULT) on ENOTTY files" \
	diff "$T/f.out" <(printf 'set-container ENOTTY\nset-iommu ENOTTY\nmap iova=0x0 size=0x1000 E?\nmap iova=0x1000 size=0x1000 ENOTTY\n' | sed 's/E?/EFAULT/')

# 6. Usage errors, and programs without VFIO are left alone.
"$dmakit" inject --limit x -- true 2>/dev/null; check "inject: bad --limit is a usage error" test $? = 2
"$dmakit" inject --fail-map 0 -- true 2>/dev/null; check "inject: --fail-map 0 is a usage error" test $? = 2
"$dmakit" record 2>/dev/null; check "record: no command is a usage error" test $? = 2
"$dmakit" record -o "$T/g.trace" -- sh -c 'exit 3' 2>/dev/null; check "record: the command's exit status" test $? = 3
check "record: a program without VFIO gives an empty trace" grep -q '^# dmakit record: no VFIO container' "$T/g.trace"
out=$("$dmakit" record -o "$T/h.trace" -- sh -c 'ls / >/dev/null; exec 5>/dev/null; exec 5>&-; echo fine' 2>/dev/null)
check "record: an ordinary shell runs unchanged" test "$out" = fine

echo "$fails failure(s)"
[ "$fails" = 0 ]
