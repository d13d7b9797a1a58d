#!/bin/sh
# `meson install` puts a usable dmakit in place: installs this build into a
# temporary DESTDIR, checks every file that should be there, builds
# examples/vmm-skeleton.c against the INSTALLED library with pkg-config (not
# the build tree), runs it and the installed command, and renders every man
# page with man(1) (groff warnings on) expecting no error nor warning.
# Usage: test_install.sh BUILD_ROOT SOURCE_ROOT
set -u
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0
pass() { passes=$((passes + 1)); }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
warn() { echo "WARN $*"; }

root=$tmp/root
if ! meson install -C "$build" --no-rebuild --destdir "$root" --quiet > "$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "FAIL meson install"
	exit 1
fi
pass

pc=$(find "$root" -name dmakit.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$pc" ]; then
	echo "FAIL no dmakit.pc installed"
	exit 1
fi
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
prefix=$(sed -n 's/^prefix=//p' "$pc")
top=$root$prefix
echo "installed: prefix $prefix, libdir ${libdir#"$root"}"

# expect_file PATH...: each exists under the installed prefix.
expect_file() {
	for f in "$@"; do
		if [ -e "$f" ]; then pass; else fail "not installed: ${f#"$root"}"; fi
	done
}
expect_file "$top/bin/dmakit" "$libdir/libdmakit.a" "$libdir/libdmakit.so" \
	"$top/share/bash-completion/completions/dmakit"
if ls "$libdir"/libdmakit.so.[0-9]* > /dev/null 2>&1; then pass; else fail "no versioned libdmakit.so.N"; fi
for h in "$src"/include/dmakit/*.h; do
	# A header being added may not be in include/meson.build yet.
	if grep -q "'dmakit/$(basename "$h")'" "$src/include/meson.build"; then
		expect_file "$top/include/dmakit/$(basename "$h")"
	else
		warn "include/dmakit/$(basename "$h") is not installed (not in include/meson.build)"
	fi
done
if [ -e "$build/src/interpose" ] && ls "$build"/src/interpose/*.so > /dev/null 2>&1; then
	for so in "$build"/src/interpose/*.so; do
		expect_file "$libdir/dmakit/$(basename "$so")"
	done
fi

# Man pages: dmakit(1), one per subcommand of `dmakit --help`, dmakit(3)
# and one per module header.
man1=$top/share/man/man1
man3=$top/share/man/man3
expect_file "$man1/dmakit.1" "$man3/dmakit.3"
export LD_LIBRARY_PATH="$libdir"
cmds=$("$top/bin/dmakit" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$cmds" ] || fail "installed dmakit --help lists no command"
for c in $cmds; do
	expect_file "$man1/dmakit-$c.1"
	# The command must be in the completion's command list.
	if sed -n 's/^[[:space:]]*local commands="\(.*\)"$/ \1 /p' \
		"$top/share/bash-completion/completions/dmakit" | grep -q " $c "; then
		pass
	else
		fail "bash completion does not know '$c'"
	fi
done
for h in common uapi range-table iopt-model container device fault probe trace \
	trace-gen guest-memory discard listener iommufd; do
	expect_file "$man3/dmakit-$h.3"
done
for page in "$man1"/*.1 "$man3"/*.3; do
	if MANWIDTH=80 man --warnings -E UTF-8 -l "$page" > "$tmp/page.txt" 2> "$tmp/man.err" &&
	   [ ! -s "$tmp/man.err" ] && [ -s "$tmp/page.txt" ]; then
		pass
	else
		fail "man -l $(basename "$page"): $(head -n 3 "$tmp/man.err")"
	fi
done
bash -n "$top/share/bash-completion/completions/dmakit" && pass || fail "completion: bash -n"

# The installed command and its subcommands' --help/--version.
version=$(sed -n 's/^Version: *//p' "$pc")
out=$("$top/bin/dmakit" --version)
[ "$out" = "dmakit $version" ] && pass || fail "installed dmakit --version: '$out', expected 'dmakit $version'"
ldd "$top/bin/dmakit" | grep -q "$libdir/libdmakit.so" && pass ||
	fail "installed dmakit does not use the installed libdmakit: $(ldd "$top/bin/dmakit" | grep dmakit)"
# Every command of `dmakit --help` takes --help and --version.
for c in $cmds; do
	"$top/bin/dmakit" "$c" --help > /dev/null 2>&1 && pass || fail "dmakit $c --help: not 0"
	out=$("$top/bin/dmakit" "$c" --version 2>&1)
	[ "$out" = "dmakit $version" ] && pass || fail "dmakit $c --version: '$out'"
done

# The example, built with pkg-config against the installed library only.
export PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR="$root"
cflags=$(pkg-config --cflags dmakit) && libs=$(pkg-config --libs dmakit) ||
	fail "pkg-config dmakit"
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror -o "$tmp/vmm-skeleton" "$src/examples/vmm-skeleton.c" \
	$cflags $libs 2> "$tmp/cc.err"; then
	pass
	ldd "$tmp/vmm-skeleton" | grep -q "$libdir/libdmakit.so" && pass ||
		fail "vmm-skeleton is not linked with the installed libdmakit"
	if "$tmp/vmm-skeleton" > "$tmp/vmm.out" 2>&1 && grep -q '^vmm-skeleton: ok$' "$tmp/vmm.out" &&
	   grep -q 'device_add virtio-mem: ENOSPC' "$tmp/vmm.out"; then
		pass
	else
		fail "vmm-skeleton run:"
		cat "$tmp/vmm.out"
	fi
else
	fail "cc vmm-skeleton against the installed library: $(cat "$tmp/cc.err")"
fi
# The static library links too (pkg-config --static).
# shellcheck disable=SC2086
cc -std=c11 -o "$tmp/vmm-static" "$src/examples/vmm-skeleton.c" $cflags \
	"$libdir/libdmakit.a" $(pkg-config --static --libs-only-other dmakit) -pthread 2> "$tmp/cc.err" &&
	LD_LIBRARY_PATH= "$tmp/vmm-static" > /dev/null 2>&1 && pass ||
	fail "vmm-skeleton against libdmakit.a: $(cat "$tmp/cc.err")"

echo "install: $passes passed, $fails failed"
[ "$fails" = 0 ]
