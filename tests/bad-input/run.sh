#!/bin/sh
# Every row of docs/bad-input.md: each kind of bad input to each subcommand
# and input format gets the documented exit status (never a crash: a signal
# would give 128+N) and a message on stderr naming the file, line and field,
# or the argument. Case names are the table's row names.
# Usage: run.sh DMAKIT SOURCE_ROOT
set -u
dmakit=$1
root=$2
case $dmakit in /*) ;; *) dmakit=$PWD/$dmakit ;; esac
case $root in /*) ;; *) root=$PWD/$root ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0
cd "$tmp" || exit 1

# expect NAME STATUS STDERR_PATTERN -- ARGS...
expect() {
	name=$1 status=$2 pattern=$3
	shift 4
	"$dmakit" "$@" > out 2> err < /dev/null
	rc=$?
	if [ "$rc" != "$status" ]; then
		echo "FAIL $name: exit $rc, expected $status; stderr: $(head -c 400 err)"
		fails=$((fails + 1))
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" err; then
		echo "FAIL $name: stderr does not match /$pattern/: $(head -c 400 err)"
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}

qemu_ok="$root/examples/plan/tdx-16g-gpu-type1.qemu"
scen_ok="$root/examples/sim/viommu-pmd.scenario"
printf 'setup\nmap iova=0x1000 size=0x1000 vaddr=0 prot=rw\n' > good.trace

# --- trace files (replay, analyze, record --analyze) ---
printf 'setup\nfrobnicate iova=1\n' > t_op.trace
expect trace-unknown-operation 2 "t_op.trace:2: unknown operation 'frobnicate'" -- replay t_op.trace
printf 'setup\nmap iova=0x1000 size=0x1000 vaddr=0 prot=rw color=red\n' > t_key.trace
expect trace-unknown-key 2 "t_key.trace:2: map: unknown key 'color'" -- replay t_key.trace
printf 'setup\nmap iova=0x1000 vaddr=0 prot=rw\n' > t_miss.trace
expect trace-missing-key 2 "t_miss.trace:2: map: missing key 'size'" -- replay t_miss.trace
printf 'setup\nunmap iova=0x10000000000000000 size=1\n' > t_num.trace
expect trace-bad-number 2 "t_num.trace:2: unmap: bad number '0x10000000000000000' for iova" -- replay t_num.trace
printf 'setup limit=4294967296\n' > t_lim.trace
expect trace-number-out-of-range 2 "t_lim.trace:1: setup: limit" -- replay t_lim.trace
printf 'setup\nunmap iova=0 iova=0 size=0x1000\n' > t_dup.trace
expect trace-duplicate-key 2 "t_dup.trace:2: unmap: key 'iova' given twice" -- replay t_dup.trace
printf 'setup\nmap a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11 l=12 m=13 n=14 o=15 p=16\n' > t_words.trace
expect trace-too-many-words 2 "t_words.trace:2: too many words \(at most 16\)" -- replay t_words.trace
printf 'map iova=0 size=0x1000 vaddr=0 prot=rw\n' > t_nosetup.trace
expect trace-no-setup 2 "t_nosetup.trace:1: the first operation must be setup" -- replay t_nosetup.trace
truncate -s 300M t_big.trace
expect trace-too-large 2 "t_big.trace: trace file too large" -- replay t_big.trace
expect trace-missing-file 2 "nope.trace: No such file or directory" -- replay nope.trace
expect trace-is-directory 2 "$tmp: Is a directory" -- replay "$tmp"
expect analyze-bad-trace 2 "t_op.trace:2: unknown operation 'frobnicate'" -- analyze t_op.trace
expect analyze-missing-file 2 "nope.trace: No such file or directory" -- analyze nope.trace
expect analyze-too-large 2 "t_big.trace: trace file too large" -- analyze t_big.trace
rm -f t_big.trace

# --- QEMU command lines (plan FILE, plan -- ARGS) ---
printf 'qemu-system-x86_64 -m 4G \\\n  -frobnicate on\n' > q_opt.qemu
expect qemu-unknown-option 2 "q_opt.qemu:2: unknown option '-frobnicate'" -- plan q_opt.qemu
expect qemu-unknown-option-argv 2 "argument 4 \('-bogus'\): unknown option '-bogus'" -- plan -- qemu -m 4G -bogus
printf 'qemu-system-x86_64\n  -m 4X\n' > q_size.qemu
expect qemu-bad-size 2 "q_size.qemu:2: -m: bad size '4X'" -- plan q_size.qemu
printf 'qemu-system-x86_64\n  -m "4\nG"\n' > q_ctl.qemu
expect qemu-control-character 2 "q_ctl.qemu:2: -m: bad size '4\\\\nG'" -- plan q_ctl.qemu
expect qemu-size-overflow 2 "argument 2 \('99999999999T'\): -m: bad size '99999999999T'" -- plan -- -m 99999999999T
printf 'qemu-system-x86_64 -m 4G\n -object memory-backend-memfd,id=m1,size=81048576G\n' > q_gpa.qemu
expect qemu-size-past-address-space 2 "q_gpa.qemu:2: memory backend 'm1': the size \(79149 TiB\) is larger than the guest physical address space \(52 bits: 4 PiB\)" -- plan q_gpa.qemu
printf 'qemu-system-x86_64 -m 4G\n -object memory-backend-memfd,id=m1,size=4P\n -device virtio-mem-pci,id=vm0,memdev=m1\n' > q_end.qemu
expect qemu-layout-past-address-space 2 "q_end.qemu:3: virtio-mem 'vm0': placed at 0x180000000 .*ends at 0x10000180000000, past the guest physical address space" -- plan q_end.qemu
printf 'qemu-system-x86_64 -m 4G\n -device virtio-mem-pci,id=vm0\n' > q_key.qemu
expect qemu-missing-key 2 "q_key.qemu:2: -device virtio-mem-pci: missing memdev=" -- plan q_key.qemu
printf 'qemu-system-x86_64 -m 4G\n -device virtio-mem-pci,id=vm0,memdev=nope\n' > q_ref.qemu
expect qemu-dangling-reference 2 "q_ref.qemu:2: virtio-mem 'vm0': memdev 'nope' does not exist" -- plan q_ref.qemu
printf 'qemu -m 4G "abc\n' > q_quote.qemu
expect qemu-unterminated-quote 2 "q_quote.qemu:1: unterminated quote" -- plan q_quote.qemu
printf '# only a comment\n' > q_empty.qemu
expect qemu-empty 2 "q_empty.qemu:1: empty command line" -- plan q_empty.qemu
python3 -c "print('qemu ' + 'x ' * 70000)" > q_words.qemu
expect qemu-too-many-words 2 "q_words.qemu:1: too many words \(at most 65536\)" -- plan q_words.qemu
head -c 17000000 /dev/zero | tr '\0' 'a' > q_big.qemu
expect qemu-too-large 2 "q_big.qemu: too large \(17000000 bytes; at most 16 MiB\)" -- plan q_big.qemu
rm -f q_big.qemu
expect plan-missing-file 2 "nope.qemu: No such file or directory" -- plan nope.qemu

# --- libvirt domain XML (plan FILE.xml) ---
printf '<domain type="kvm">\n  <memory unit="GiB">4</memory>\n  <devices>\n</domain>\n' > x_bad.xml
expect xml-malformed 2 "x_bad.xml:4: malformed XML" -- plan x_bad.xml
printf '<foo/>\n' > x_root.xml
expect xml-not-a-domain 2 "x_root.xml:1: not a libvirt domain \(root element <foo>\)" -- plan x_root.xml
printf '<domain type="kvm">\n</domain>\n' > x_nomem.xml
expect xml-missing-element 2 "x_nomem.xml:1: <domain>: missing <memory>" -- plan x_nomem.xml
printf '<domain type="kvm">\n  <memory unit="GiB">4x</memory>\n</domain>\n' > x_size.xml
expect xml-bad-size 2 "x_size.xml:2: <memory>: bad size '4x'" -- plan x_size.xml
printf '<domain type="kvm">\n  <memory unit="furlong">4</memory>\n</domain>\n' > x_unit.xml
expect xml-unknown-unit 2 "x_unit.xml:2: <memory>: unknown unit 'furlong'" -- plan x_unit.xml
printf '<domain type="kvm">\n<memory unit="GiB">4</memory>\n<maxMemory slots="x" unit="GiB">8</maxMemory>\n</domain>\n' > x_slots.xml
expect xml-bad-number 2 "x_slots.xml:3: <maxMemory slots='x'>: bad number" -- plan x_slots.xml
{ printf '<domain>'; head -c 17000000 /dev/zero | tr '\0' ' '; printf '</domain>\n'; } > x_big.xml
expect xml-too-large 2 "x_big.xml: too large \([0-9]+ bytes; at most 16 MiB\)" -- plan x_big.xml
rm -f x_big.xml

# --- scenario files (sim FILE, plan FILE) ---
printf 'machine type=q35 ram=4G\nwobble x=1\n' > s_line.scenario
expect scenario-unknown-line 2 "s_line.scenario:2: unknown line 'wobble'" -- sim s_line.scenario
printf 'machine type=q35 ram=4G\nshare gpa=0x100000 size=12k3\n' > s_size.scenario
expect scenario-bad-size 2 "s_size.scenario:2: share: bad size '12k3' for size" -- sim s_size.scenario
printf 'machine type=q35 ram=4G\nplug dev=vm9 size=1G\n' > s_ref.scenario
expect scenario-dangling-reference 2 "s_ref.scenario:2: plug: no virtio-mem device 'vm9'" -- sim s_ref.scenario
printf 'share gpa=0 size=4K\n' > s_first.scenario
expect scenario-no-machine-first 2 "s_first.scenario:1: the first line must be 'machine'" -- sim s_first.scenario
printf 'machine type=q35 ram=4G\nmachine type=q35 ram=4G\n' > s_twice.scenario
expect scenario-machine-twice 2 "s_twice.scenario:2: machine given twice" -- sim s_twice.scenario
printf 'machine type=q35 ram=4G\nshare gpa=0x100000 size=4K size=8K\n' > s_dup.scenario
expect scenario-duplicate-key 2 "s_dup.scenario:2: share: key 'size' given twice" -- sim s_dup.scenario
printf 'machine type=q35 ram=4G\nshare gpa size=4K\n' > s_eq.scenario
expect scenario-expected-key-value 2 "s_eq.scenario:2: share: expected key=value, got 'gpa'" -- sim s_eq.scenario
printf 'machine type=q35 ram=4G viommu=intel\nviommu-map count=99999999999\n' > s_count.scenario
expect scenario-count-too-large 2 "s_count.scenario:2: viommu-map: count x repeat too large \(at most 16777216\)" -- sim s_count.scenario
printf 'machine type=q35 ram=4G viommu=intel\nviommu-map count=1 repeat=0\n' > s_rep.scenario
expect scenario-bad-repeat 2 "s_rep.scenario:2: viommu-map: bad number for repeat" -- sim s_rep.scenario
printf 'machine type=q35 ram=4G cvm=tdx\nshare gpa=0x100000 size=0x7ffffffffffff000 repeat=3\n' > s_wrap.scenario
expect scenario-address-wraps 2 "s_wrap.scenario:2: share: gpa 0x100000 size 0x7ffffffffffff000 is not 4 KiB-aligned guest RAM of one section" -- sim s_wrap.scenario
printf 'machine type=q35 ram=4G\nshare gpa=0x100000 size=4K\n' > s_cvm.scenario
expect scenario-not-applicable 2 "s_cvm.scenario:2: share: not a confidential guest" -- sim s_cvm.scenario
expect sim-missing-file 2 "nope.scenario: No such file or directory" -- sim nope.scenario

# --- probe JSON (plan/sim --host FILE) ---
printf '{"x": 1}\n' > h_not.json
expect host-not-probe-json 2 "h_not.json:1: not the output of 'dmakit probe --json'" -- plan --host h_not.json "$qemu_ok"
printf '{"dev_iommu": true, "dma_entry_limit": 99999999999}\n' > h_lim.json
expect host-limit-out-of-range 2 "h_lim.json:1: dma_entry_limit: bad number \(at most 4294967295\)" -- plan --host h_lim.json "$qemu_ok"
printf '{"dev_iommu": true,\n "soft": 999999999999999999999999}\n' > h_soft.json
expect host-memlock-out-of-range 2 "h_soft.json:2: soft: bad number \(at most 2\^64-1\)" -- sim --host h_soft.json "$scen_ok"
expect host-missing-file 2 "nope.json: No such file or directory" -- plan --host nope.json "$qemu_ok"

# --- options and usage, every subcommand ---
expect usage-unknown-command 2 "unknown command 'frob'" -- frob
expect usage-no-command 2 "usage: dmakit COMMAND" --
expect replay-unknown-option 2 "unrecognized option '--frob'" -- replay --frob good.trace
expect replay-missing-argument 2 "option '--group' requires an argument" -- replay --group
expect replay-bad-backend 2 "unknown backend 'xen'" -- replay --backend xen good.trace
expect replay-no-trace 2 "no trace given" -- replay
expect probe-extra-argument 2 "probe: unexpected argument 'x'" -- probe x
expect probe-missing-argument 2 "option '--root' requires an argument" -- probe --root
expect trace-gen-bad-number 2 "trace-gen: bad number 'x' for --seed" -- trace-gen --seed x
expect trace-gen-bad-value 2 "trace-gen: unknown iommu 'type9'" -- trace-gen --iommu type9
expect trace-gen-unwritable 2 "trace-gen: cannot write /nonexistent/x" -- trace-gen -o /nonexistent/x
expect record-no-command 2 "record: no command given" -- record
expect record-analyze-missing 2 "nope.trace: No such file or directory" -- record --analyze nope.trace
expect inject-no-command 2 "inject: no command given" -- inject
expect inject-bad-number 2 "inject: --limit wants a number from 0 to 4294967295, not 'abc'" -- inject --limit abc -- true
expect inject-bad-fail-spec 2 "inject: --fail-unmap wants K or K:ERRNO \(K >= 1\), not '0'" -- inject --fail-unmap 0 -- true
expect analyze-no-trace 2 "analyze: expected one TRACE" -- analyze
expect bench-bad-number 2 "bench: bad number 'x' for --reps \(1 to 32\)" -- bench --reps x
expect bench-unknown-option 2 "unrecognized option '--frob'" -- bench --frob
expect plan-unknown-option 2 "plan: unknown option '--frob'" -- plan --frob "$qemu_ok"
expect plan-no-input 2 "plan: expected one FILE" -- plan
expect plan-limit-out-of-range 2 "--dma-entry-limit: bad number '5000000000'" -- plan --dma-entry-limit 5000000000 "$qemu_ok"
expect plan-bad-size-option 2 "--memlock: bad size '4Q'" -- plan --memlock 4Q "$qemu_ok"
expect plan-bad-value-option 2 "--kernel: bad value '5' \(6.1, 6.12, 6.18\)" -- plan --kernel 5 "$qemu_ok"
expect sim-no-input 2 "sim: expected one SCENARIO file" -- sim
expect sim-bad-strategy 2 "--strategy: bad value 'fast'" -- sim --strategy fast "$scen_ok"
expect sim-bad-number-option 2 "--dma-entry-limit: bad number 'x'" -- sim --dma-entry-limit x "$scen_ok"

echo "bad-input: $passes passed, $fails failed"
[ "$fails" = 0 ]
