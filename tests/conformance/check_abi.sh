#!/bin/sh
# The emulator's answers to the ABI corners against the real kernel's
# recorded ones. Usage: check_abi.sh ABI_CORNERS EXPECTED [PROFILE (6.1)]
set -eu
# DMAKIT_TEST_WRAPPER (e.g. valgrind ...) runs the program under a checker.
wrap=${DMAKIT_TEST_WRAPPER:-}
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
$wrap "$1" emu "${3:-6.1}" > "$actual"
if ! diff -u "$2" "$actual"; then
	echo "FAIL: the emulator differs from the real kernel's answers ($2)" >&2
	exit 1
fi
echo "ok: $(wc -l < "$actual") lines as the real kernel answered"
