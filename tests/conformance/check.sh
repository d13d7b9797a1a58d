#!/bin/sh
# Replay one conformance trace on the emulator and compare with the expected
# output (recorded from the real kernel). Usage: check.sh DMAKIT TRACE
set -eu
# DMAKIT_TEST_WRAPPER (e.g. valgrind ...) runs the program under a checker.
wrap=${DMAKIT_TEST_WRAPPER:-}
dmakit=$1
trace=$2
expected=${trace%.trace}.expected
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
$wrap "$dmakit" replay "$trace" > "$actual"
if ! diff -u "$expected" "$actual"; then
	echo "FAIL: $trace differs from $expected" >&2
	exit 1
fi
echo "ok: $(wc -l < "$actual") lines match $expected"
