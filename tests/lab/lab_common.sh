# shellcheck shell=bash
# Shared by the lab's test scripts that boot once and read sectioned output
# (real_kernel.sh, kernel_612.sh); source it. The caller keeps a `fails`
# count, which these functions add to.

# run-in-guest.sh answered 125 (the lab did not run): exit 77 (skip) when
# QEMU cannot start on this machine at all, else exit 1. $1: a scratch
# directory for QEMU's pid file.
lab_did_not_run() {
	if ! qemu-system-x86_64 -accel tcg -M q35 -S -display none -monitor none -serial none \
		-daemonize -pidfile "$1/q.pid" 2>/dev/null; then
		echo "SKIP: QEMU cannot run on this machine"
		exit 77
	fi
	kill "$(cat "$1/q.pid")" 2>/dev/null || true
	echo "FAIL: the lab did not run (see the diagnostic above)"
	exit 1
}

# Split the guest's output ($1) into one file per '=== NAME' section in
# directory $2 ('/' in NAME becomes '__').
lab_split() {
	awk -v dir="$2" 'BEGIN { system("mkdir -p " dir) }
		/^=== / { name = substr($0, 5); gsub("/", "__", name); file = dir "/" name; next }
		file { print > file }' "$1"
}

# Differential: each seed's random trace ($tmp/in/random/seed-S.trace), as
# the real kernel answered it (section random/seed-S.trace, split into
# $tmp/out), must equal the emulator's answer line for line.
# $1: dmakit; $2: $tmp; $3: the seeds; $4: the emulator's profile (kernel=),
# empty for the trace's own (6.1). Prints the total; sets lab_total_ops and
# lab_differing; adds one to `fails` per differing seed.
lab_differential() {
	local dmakit=$1 tmp=$2 seeds=$3 kernel=${4:-} s t real n d
	lab_total_ops=0
	lab_differing=0
	for s in $seeds; do
		t=$tmp/in/random/seed-$s.trace
		real=$tmp/out/random__seed-$s.trace
		if [ -n "$kernel" ]; then
			sed "0,/^setup/s/^setup\(.*\)\$/setup\1 kernel=$kernel/" "$t" > "$tmp/emu-$s.trace"
			t=$tmp/emu-$s.trace
		fi
		"$dmakit" replay "$t" > "$tmp/emu-$s.out"
		n=$(grep -vc '^\s*\(#\|$\)' "$t")
		lab_total_ops=$((lab_total_ops + n - 1)) # not the setup line
		d=$(diff "$real" "$tmp/emu-$s.out" | grep -c '^[<>]' || true)
		if [ "$d" != 0 ]; then
			echo "FAIL differential seed $s: $d differing lines (< real kernel, > emulator${kernel:+ kernel=$kernel}):"
			diff "$real" "$tmp/emu-$s.out" | head -20
			lab_differing=$((lab_differing + d))
			fails=$((fails + 1))
		fi
	done
	echo "differential: $lab_total_ops operations over seeds [$seeds], $lab_differing differing lines"
}
