#!/bin/sh
# Build the libFuzzer targets of tests/fuzz with clang and run each of them.
#
#   tests/fuzz/run.sh [SECONDS]      (default 20 seconds per target; 0: build
#                                     and replay the regression inputs only)
#
# Builds into build-fuzz/ at the top of the tree (override: FUZZ_BUILD=DIR),
# compiling the library sources each target needs straight into it with
# -fsanitize=fuzzer,address,undefined; objects are rebuilt only when a source
# or header is newer. Then, per target:
#   - replays every input of tests/fuzz/regressions/NAME/ once;
#   - fuzzes for SECONDS from a copy of tests/fuzz/corpus/NAME/ (the tree is
#     never written to);
#   - prints one line: executions, corpus size, verdict.
# A crash, leak, sanitizer report or model mismatch fails the target; its
# input is kept in build-fuzz/artifacts/ with the log, to be added to
# tests/fuzz/regressions/NAME/. Exit status 0 only when every target passed.
#
# The planner's targets (plan_qemu, plan_libvirt, plan_scenario) also
# compile the CLI's readers and layout (tools/plan_*.c) with libxml2
# (pkg-config libxml-2.0), and fuzz a third of SECONDS when SECONDS is 30 or
# less, so that `run.sh 15` (make check) stays near a minute.
#
# Environment: FUZZ_CC (default clang), FUZZ_TARGETS (default: all),
# FUZZ_JOBS (compile jobs, default 2), FUZZ_ARGS (extra libFuzzer flags).
#
# The source lists are read through eval (srcs_NAME) and the flag lists are
# split on purpose:
# shellcheck disable=SC2034,SC2086,SC2154
set -u

seconds=${1:-20}
case $seconds in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_BUILD:-$root/build-fuzz}
cc=${FUZZ_CC:-clang}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-"range_table type1 iommufd trace_parse plan_qemu plan_libvirt plan_scenario"}

# The library sources each target compiles in: the range table alone needs
# two; the others take the library's whole list from src/meson.build (the
# container front links every backend).
lib_srcs=$(sed -n '/^libdmakit_sources = files(/,/)/p' "$root/src/meson.build" |
	sed -n "s/.*'\([A-Za-z0-9_]*\)\.c'.*/\1/p" | tr '\n' ' ')
if [ -z "$lib_srcs" ]; then
	echo "fuzz: no library sources found in src/meson.build" >&2
	exit 1
fi
srcs_range_table="range_table fault"
srcs_type1=$lib_srcs
srcs_iommufd=$lib_srcs
srcs_trace_parse=$lib_srcs
# The planner's targets: the library, plus tools/NAME.c (tsrcs_NAME) and
# the libraries they link (libs_NAME).
plan_tsrcs="plan_parse plan_libvirt plan_layout"
for t in plan_qemu plan_libvirt plan_scenario; do
	eval "srcs_$t=\$lib_srcs tsrcs_$t=\$plan_tsrcs libs_$t=xml short_$t=1"
done

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -DDMAKIT_BUILDING_LIBRARY -I$root/include -I$root/src -Wall -Wextra $san"

mkdir -p "$out/obj" "$out/artifacts" || exit 1

# libxml2, for the planner's targets that read libvirt XML.
xml_cflags=""
xml_libs=""
for t in $targets; do
	eval "l=\${libs_$t:-}"
	case $l in
	*xml*)
		if ! xml_cflags=$(pkg-config --cflags libxml-2.0 2>/dev/null) ||
			! xml_libs=$(pkg-config --libs libxml-2.0 2>/dev/null); then
			echo "fuzz: libxml-2.0 not found (pkg-config); install libxml2-dev" >&2
			xml_cflags=""
			xml_libs=""
		fi
		break
		;;
	esac
done
tcflags="$cflags -I$root/tools $xml_cflags -DDMAKIT_HAVE_LIBXML2"

# One build at a time per build directory (make check and make fuzz may run
# together).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
fi

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found; run scripts/setup-deps.sh" >&2
	exit 1
fi

# newer FILE PATHS...: true when FILE is missing or a path is newer than it.
newer() {
	target=$1
	shift
	[ -e "$target" ] || return 0
	[ -n "$(find "$@" -newer "$target" 2>/dev/null | head -n 1)" ]
}

headers="$root/include/dmakit $root/src/alloc.h $root/src/backend.h $root/src/fault_internal.h"
for h in "$root"/src/*.h; do
	headers="$headers $h"
done

# Compile the library objects (each once, whatever the targets share).
all_srcs=""
for t in $targets; do
	eval "s=\$srcs_$t"
	for f in $s; do
		case " $all_srcs " in
		*" $f "*) ;;
		*) all_srcs="$all_srcs $f" ;;
		esac
	done
done

# An object that fails to compile is removed, so the targets that need it
# fail to build (and are reported failed) while the others still run.
running=0
pids=""
for f in $all_srcs; do
	obj="$out/obj/$f.o"
	if newer "$obj" "$root/src/$f.c" $headers; then
		(
			if $cc $cflags -fsanitize=fuzzer-no-link -c "$root/src/$f.c" -o "$obj.tmp.$$" \
				>"$out/obj/$f.log" 2>&1; then
				mv -f "$obj.tmp.$$" "$obj"
			else
				cat "$out/obj/$f.log" >&2
				rm -f "$obj" "$obj.tmp.$$"
			fi
		) &
		pids="$pids $!"
		running=$((running + 1))
		if [ "$running" -ge "$jobs" ]; then
			for p in $pids; do
				wait "$p"
			done
			pids=""
			running=0
		fi
	fi
done
for p in $pids; do
	wait "$p"
done

# The CLI's sources the planner's targets take (tools/NAME.c -> tools_NAME.o).
all_tsrcs=""
for t in $targets; do
	eval "s=\${tsrcs_$t:-}"
	for f in $s; do
		case " $all_tsrcs " in
		*" $f "*) ;;
		*) all_tsrcs="$all_tsrcs $f" ;;
		esac
	done
done
pids=""
for f in $all_tsrcs; do
	obj="$out/obj/tools_$f.o"
	if newer "$obj" "$root/tools/$f.c" "$root/tools/plan.h" $headers; then
		(
			if $cc $tcflags -fsanitize=fuzzer-no-link -c "$root/tools/$f.c" -o "$obj.tmp.$$" \
				>"$out/obj/tools_$f.log" 2>&1; then
				mv -f "$obj.tmp.$$" "$obj"
			else
				cat "$out/obj/tools_$f.log" >&2
				rm -f "$obj" "$obj.tmp.$$"
			fi
		) &
		pids="$pids $!"
	fi
done
for p in $pids; do
	wait "$p"
done

built=""
for t in $targets; do
	eval "s=\$srcs_$t"
	objs=""
	missing=""
	for f in $s; do
		objs="$objs $out/obj/$f.o"
		[ -e "$out/obj/$f.o" ] || missing="$missing src/$f.c"
	done
	eval "s=\${tsrcs_$t:-} l=\${libs_$t:-}"
	for f in $s; do
		objs="$objs $out/obj/tools_$f.o"
		[ -e "$out/obj/tools_$f.o" ] || missing="$missing tools/$f.c"
	done
	tflags="$cflags"
	libs=""
	if [ -n "$s" ]; then
		tflags="$tcflags"
	fi
	case $l in
	*xml*)
		if [ -z "$xml_libs" ]; then
			missing="$missing (libxml-2.0)"
		fi
		libs="$xml_libs"
		;;
	esac
	bin="$out/fuzz_$t"
	if [ -n "$missing" ]; then
		echo "fuzz: fuzz_$t not built:$missing did not compile" >&2
		rm -f "$bin"
		continue
	fi
	if newer "$bin" "$here/fuzz_$t.c" "$here/fuzz_common.h" "$here/fuzz_plan.h" $objs $headers; then
		if ! $cc $tflags -fsanitize=fuzzer "$here/fuzz_$t.c" $objs $libs -pthread -o "$bin.tmp.$$" \
			>"$out/build-$t.log" 2>&1; then
			cat "$out/build-$t.log" >&2
			if grep -q "libclang_rt.fuzzer\|fsanitize=fuzzer" "$out/build-$t.log"; then
				echo "fuzz: clang cannot link -fsanitize=fuzzer: install libclang-rt-14-dev (scripts/setup-deps.sh)" >&2
			fi
			rm -f "$bin.tmp.$$" "$bin"
			continue
		fi
		mv -f "$bin.tmp.$$" "$bin"
	fi
	built="$built $t"
done

# Release the build lock: the runs below only read the binaries.
exec 9>&-

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmakit-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

for t in $targets; do
	bin="$out/fuzz_$t"
	log="$tmp/$t.log"
	verdict=ok
	case " $built " in
	*" $t "*) ;;
	*)
		echo "fuzz_$t: FAILED (does not build)"
		failed=$((failed + 1))
		continue
		;;
	esac

	# 1. The regression inputs, each once.
	nreg=0
	if [ -d "$here/regressions/$t" ]; then
		nreg=$(find "$here/regressions/$t" -type f ! -name '*.md' ! -name '.*' | wc -l)
	fi
	if [ "$nreg" -gt 0 ]; then
		# shellcheck disable=SC2046
		if ! "$bin" $(find "$here/regressions/$t" -type f ! -name '*.md' ! -name '.*' | sort) \
			>"$tmp/$t.replay.log" 2>&1; then
			verdict="FAILED (a regression input)"
			cp "$tmp/$t.replay.log" "$out/artifacts/$t.replay.log"
			echo "---- fuzz_$t: regression replay" >&2
			tail -n 40 "$tmp/$t.replay.log" >&2
		fi
	fi

	# 2. Fuzzing from a copy of the seed corpus (SECONDS=0: replay only).
	corpus="$tmp/corpus-$t"
	mkdir -p "$corpus" "$tmp/art-$t"
	if [ -d "$here/corpus/$t" ]; then
		cp "$here/corpus/$t"/* "$corpus"/ 2>/dev/null
	fi
	nseed=$(find "$corpus" -type f | wc -l)
	dict=""
	if [ -f "$here/$t.dict" ]; then
		dict="-dict=$here/$t.dict"
	fi
	secs=$seconds
	eval "short=\${short_$t:-}"
	if [ -n "$short" ] && [ "$seconds" -le 30 ]; then
		secs=$(((seconds + 2) / 3))
	fi
	if [ "$seconds" = 0 ]; then
		echo "fuzz_$t: built, $nreg regression inputs: $verdict"
		case $verdict in
		ok) passed=$((passed + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
		continue
	fi
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=30 -rss_limit_mb=2560 \
		-max_len=4096 -artifact_prefix="$tmp/art-$t/" $dict ${FUZZ_ARGS:-} "$corpus" \
		>"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ -z "$execs" ]; then
		execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	fi
	ncorpus=$(find "$corpus" -type f | wc -l)
	if [ "$rc" != 0 ] || grep -q "^MISMATCH\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$log"; then
		verdict="FAILED (exit $rc)"
		stamp=$(date +%Y%m%d-%H%M%S)
		for a in "$tmp/art-$t"/*; do
			[ -e "$a" ] || continue
			cp "$a" "$out/artifacts/$t-$stamp-$(basename "$a")"
			echo "fuzz_$t: input kept in $out/artifacts/$t-$stamp-$(basename "$a")" >&2
		done
		cp "$log" "$out/artifacts/$t-$stamp.log"
		echo "---- fuzz_$t: log (whole: $out/artifacts/$t-$stamp.log)" >&2
		grep -v '^#[0-9]' "$log" | tail -n 40 >&2
	fi
	echo "fuzz_$t: ${execs:-0} executions in ${secs} s, corpus $ncorpus (seed $nseed), $nreg regression inputs: $verdict"
	case $verdict in
	ok) passed=$((passed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
