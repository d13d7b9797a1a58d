#!/bin/sh
# Print one closing line for all the meson test runs of the build directories
# named on the command line: "N passed, N failed, N skipped", counted from
# every test log they hold (plain, valgrind, ...).
set -eu
passed=0; failed=0; skipped=0
for log in $(for dir in "$@"; do ls "$dir"/meson-logs/*.json 2>/dev/null; done); do
	[ -f "$log" ] || continue
	p=$(grep -c '"result": "OK"' "$log" || true)
	x=$(grep -c '"result": "EXPECTEDFAIL"' "$log" || true)
	f=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	s=$(grep -c '"result": "SKIP"' "$log" || true)
	passed=$((passed + p + x)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
