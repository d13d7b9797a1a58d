#!/bin/sh
# Print one closing line for all the meson test runs named on the command
# line: "N passed, N failed, N skipped", counted from their testlog.json.
set -eu
passed=0; failed=0; skipped=0
for dir in "$@"; do
	log="$dir/meson-logs/testlog.json"
	[ -f "$log" ] || continue
	p=$(grep -c '"result": "OK"' "$log" || true)
	x=$(grep -c '"result": "EXPECTEDFAIL"' "$log" || true)
	f=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	s=$(grep -c '"result": "SKIP"' "$log" || true)
	passed=$((passed + p + x)); failed=$((failed + f)); skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
