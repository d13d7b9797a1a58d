#!/bin/sh
# The comparison table of docs/profiles.md, made by the project's own command.
# Usage: table.sh DMAKIT SOURCE_ROOT            print the table
#        table.sh DMAKIT SOURCE_ROOT --check    exit 1 if the document's table differs
#        table.sh DMAKIT SOURCE_ROOT --update   rewrite the document's table
set -u
dmakit=$1
root=$2
mode=${3:-}
cd "$root" || exit 2
doc=docs/profiles.md
begin='<!-- profiles-table: begin (tests/profiles/table.sh --update) -->'
end='<!-- profiles-table: end -->'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C
export LC_ALL
# shellcheck disable=SC2046
"$dmakit" plan --compare-profiles $(ls examples/plan/* | sort) > "$tmp/table" || exit 2
case "$mode" in
'') cat "$tmp/table" ;;
--check|--update)
	awk -v b="$begin" -v e="$end" '$0 == e { inside = 0 } inside { print } $0 == b { inside = 1 }' "$doc" > "$tmp/doc"
	if [ "$mode" = --check ] && [ ! -s "$tmp/doc" ]; then
		echo "FAIL: $doc has no table between the markers"
		exit 1
	fi
	if [ "$mode" = --update ]; then
		awk -v b="$begin" -v e="$end" -v t="$tmp/table" '
			$0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next }
			$0 == e { skip = 0 }
			!skip { print }' "$doc" > "$tmp/new" && cp "$tmp/new" "$doc"
		exit 0
	fi
	if diff -u "$tmp/doc" "$tmp/table"; then
		echo "ok: $doc's table equals 'dmakit plan --compare-profiles examples/plan/*'"
	else
		echo "FAIL: $doc's table differs from the command's output (run tests/profiles/table.sh build/dmakit . --update)"
		exit 1
	fi ;;
*) echo "usage: table.sh DMAKIT SOURCE_ROOT [--check|--update]" >&2; exit 2 ;;
esac
