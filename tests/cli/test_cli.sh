#!/bin/sh
# The command-line tool on bad input and usage: every case must give one
# clear message on stderr naming what and where, the documented exit status,
# and nothing run. Usage: test_cli.sh DMAKIT SOURCE_ROOT
set -u
dmakit=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0

# expect NAME STATUS STDERR_PATTERN -- ARGS...
expect() {
	name=$1 status=$2 pattern=$3
	shift 4
	"$dmakit" "$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if [ "$rc" != "$status" ]; then
		echo "FAIL $name: exit $rc, expected $status; stderr: $(cat "$tmp/err")"
		fails=$((fails + 1))
		return
	fi
	if [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/err"; then
		echo "FAIL $name: stderr does not match /$pattern/: $(cat "$tmp/err")"
		fails=$((fails + 1))
		return
	fi
	passes=$((passes + 1))
}

good="$tmp/good.trace"
printf 'setup iommu=type1v2\nmap iova=0x1000 size=0x1000 vaddr=0 prot=rw\n' > "$good"

# mktrace NAME CONTENT: a trace file with CONTENT (printf format)
mktrace() { printf "$2" > "$tmp/$1.trace"; }

mktrace unknown_op 'setup\nfrobnicate iova=1\n'
expect unknown_op 2 "unknown_op.trace:2: unknown operation 'frobnicate'" -- replay "$tmp/unknown_op.trace"
mktrace unknown_key 'setup\nmap iova=0x1000 size=0x1000 vaddr=0 prot=rw color=red\n'
expect unknown_key 2 "unknown_key.trace:2: map: unknown key 'color'" -- replay "$tmp/unknown_key.trace"
mktrace missing_key 'setup\nmap iova=0x1000 vaddr=0 prot=rw\n'
expect missing_key 2 "missing_key.trace:2: map: missing key 'size'" -- replay "$tmp/missing_key.trace"
mktrace bad_number '# comment\nsetup\nunmap iova=0x1000 size=12k\n'
expect bad_number 2 "bad_number.trace:3: unmap: bad number '12k' for size" -- replay "$tmp/bad_number.trace"
mktrace overflow_number 'setup\nunmap iova=0x10000000000000000 size=1\n'
expect overflow_number 2 "overflow_number.trace:2: unmap: bad number" -- replay "$tmp/overflow_number.trace"
mktrace bad_prot 'setup\nmap iova=0 size=0x1000 vaddr=0 prot=x\n'
expect bad_prot 2 "bad_prot.trace:2: map: bad value 'x' for prot" -- replay "$tmp/bad_prot.trace"
mktrace no_setup 'map iova=0 size=0x1000 vaddr=0 prot=rw\n'
expect no_setup 2 "no_setup.trace:1: the first operation must be setup" -- replay "$tmp/no_setup.trace"
mktrace two_setups 'setup\nsetup\n'
expect two_setups 2 "two_setups.trace:2: setup given twice" -- replay "$tmp/two_setups.trace"
mktrace empty ''
expect empty 2 "empty.trace:1: no setup line" -- replay "$tmp/empty.trace"
mktrace bad_iommu 'setup iommu=type2\n'
expect bad_iommu 2 "bad_iommu.trace:1: setup: bad value 'type2' for iommu" -- replay "$tmp/bad_iommu.trace"
mktrace bad_kernel 'setup kernel=5.4\n'
expect bad_kernel 2 "bad_kernel.trace:1: setup: bad value '5.4' for kernel" -- replay "$tmp/bad_kernel.trace"
mktrace dup_key 'setup\nunmap iova=0 iova=0 size=0x1000\n'
expect dup_key 2 "dup_key.trace:2: unmap: key 'iova' given twice" -- replay "$tmp/dup_key.trace"
mktrace no_equals 'setup\nunmap iova\n'
expect no_equals 2 "no_equals.trace:2: unmap: expected key=value" -- replay "$tmp/no_equals.trace"
mktrace big_limit 'setup limit=4294967296\n'
expect big_limit 2 "big_limit.trace:1: setup: limit" -- replay "$tmp/big_limit.trace"

# A malformed second trace stops the run before the first one runs.
"$dmakit" replay "$good" "$tmp/unknown_op.trace" > "$tmp/out" 2>/dev/null
if [ -s "$tmp/out" ]; then
	echo "FAIL nothing_run: output was printed although a later trace is malformed"
	fails=$((fails + 1))
else
	passes=$((passes + 1))
fi

expect missing_file 2 "nonexistent.trace: No such file" -- replay "$tmp/nonexistent.trace"
expect no_trace 2 "no trace given" -- replay
expect bad_backend 2 "unknown backend 'xen'" -- replay --backend xen "$good"
expect linux_no_group 2 "needs --group" -- replay --backend linux "$good"
expect linux_no_vfio 3 "cannot open the real container" -- replay --backend linux --group /nonexistent/vfio/7 --container /nonexistent/vfio "$good"
expect unknown_command 2 "unknown command 'frob'" -- frob
expect no_command 2 "" --
expect version 0 "" -- --version
expect help 0 "" -- --help
expect replay_help 0 "" -- replay --help

# probe: graceful on a host without VFIO (an empty root), never a crash here.
mkdir -p "$tmp/emptyroot"
"$dmakit" probe --root "$tmp/emptyroot" > "$tmp/probe.out" 2>&1
rc=$?
if [ "$rc" = 3 ] && grep -q "^VFIO is not loaded: load it as root with 'modprobe vfio-pci'.$" "$tmp/probe.out" &&
   grep -q "^There are no IOMMU groups" "$tmp/probe.out"; then
	passes=$((passes + 1))
else
	echo "FAIL probe_no_vfio: exit $rc: $(cat "$tmp/probe.out")"
	fails=$((fails + 1))
fi
"$dmakit" probe --json --root "$tmp/emptyroot" > "$tmp/probe.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["groups"]==[] and d["dma_entry_limit"] is None and d["problems"]' "$tmp/probe.json"; then
	passes=$((passes + 1))
else
	echo "FAIL probe_json: $(cat "$tmp/probe.json")"
	fails=$((fails + 1))
fi
"$dmakit" probe > "$tmp/probe.out" 2>&1
rc=$?
if [ "$rc" = 0 ] || [ "$rc" = 3 ]; then
	passes=$((passes + 1))
else
	echo "FAIL probe_this_host: exit $rc: $(cat "$tmp/probe.out")"
	fails=$((fails + 1))
fi
expect probe_bad_option 2 "" -- probe --frobnicate
expect probe_extra_arg 2 "probe: unexpected argument 'x'" -- probe x

# The example of docs/trace-format.md prints exactly what it shows.
"$dmakit" replay "$root/examples/traces/example.trace" > "$tmp/example.out"
cat > "$tmp/example.expected" <<'END'
L2 map ok
L3 map EEXIST
L4 unmap EINVAL
L5 info avail=2 pgsizes=0x40201000 ranges=0x0-0xfedfffff,0xfef00000-0x7fffffffff
END
if diff -u "$tmp/example.expected" "$tmp/example.out"; then
	passes=$((passes + 1))
else
	echo "FAIL example: the documented example's output differs"
	fails=$((fails + 1))
fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
