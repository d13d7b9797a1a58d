# shellcheck shell=bash
# Shared by the lab's test scripts that boot once and read sectioned output
# (real_kernel.sh, kernel_612.sh); source it.

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
