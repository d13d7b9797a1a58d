#!/bin/sh
# The Debian package: `dpkg-buildpackage -us -uc -b` in a copy of the source
# tree (so the shared tree gets no debian/tmp, obj-* or ../*.deb), without
# tests and without network; then every .deb is unpacked with `dpkg -x` into
# a temporary root (nothing is installed on this machine) and the packaged
# dmakit runs from there with LD_LIBRARY_PATH, and the example builds against
# the packaged libdmakit-dev with pkg-config.
# Usage: test_deb.sh SOURCE_ROOT
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
passes=0
pass() { passes=$((passes + 1)); }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
mkdir "$tmp/dmakit-$version"
# The tracked and new files of the tree, without build output and the lab's
# kernel cache.
(cd "$src" && tar -cf - --exclude='./build' --exclude='./build-*' --exclude='./.git' \
	--exclude='./tests/lab/cache' --exclude='./obj-*' --exclude='./debian/tmp' \
	--exclude='./debian/.debhelper' --exclude='./debian/libdmakit0' \
	--exclude='./debian/libdmakit-dev' --exclude='./debian/dmakit' \
	--exclude='./debian/files' --exclude='./debian/*.substvars' \
	--exclude='./debian/debhelper-build-stamp' .) | tar -xf - -C "$tmp/dmakit-$version"

start=$(date +%s)
if ! (cd "$tmp/dmakit-$version" &&
      DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b \
	> "$tmp/build.log" 2>&1); then
	tail -n 40 "$tmp/build.log"
	echo "FAIL dpkg-buildpackage"
	exit 1
fi
echo "dpkg-buildpackage: $(($(date +%s) - start)) s"
pass

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
root=$tmp/root
for p in libdmakit0 libdmakit-dev dmakit; do
	deb=$tmp/${p}_${version}_$arch.deb
	if [ -f "$deb" ]; then
		pass
		dpkg-deb -c "$deb" > "$tmp/$p.list"
		dpkg -x "$deb" "$root"
	else
		fail "no $(basename "$deb"); built: $(ls "$tmp"/*.deb 2>/dev/null)"
	fi
done

# contains PACKAGE PATTERN: the package holds a path matching PATTERN.
contains() {
	if grep -qE "$2" "$tmp/$1.list" 2> /dev/null; then pass; else fail "$1 lacks $2"; fi
}
contains libdmakit0 "usr/lib/$multiarch/libdmakit\.so\.0"
contains libdmakit-dev "usr/include/dmakit/dmakit\.h"
contains libdmakit-dev "usr/lib/$multiarch/libdmakit\.so( |$)"
contains libdmakit-dev "usr/lib/$multiarch/libdmakit\.a"
contains libdmakit-dev "usr/lib/$multiarch/pkgconfig/dmakit\.pc"
contains libdmakit-dev "usr/share/man/man3/dmakit-listener\.3"
contains dmakit "usr/bin/dmakit$"
contains dmakit "usr/share/man/man1/dmakit\.1"
contains dmakit "usr/share/bash-completion/completions/dmakit"
if [ -d "$src/src/interpose" ]; then
	contains dmakit "usr/lib/$multiarch/dmakit/libdmakit-interpose\.so"
fi
dpkg-deb -f "$tmp/dmakit_${version}_$arch.deb" Depends | grep -q libdmakit0 && pass ||
	fail "dmakit does not depend on libdmakit0"

# The packaged command, from the unpacked root.
export LD_LIBRARY_PATH="$root/usr/lib/$multiarch"
out=$("$root/usr/bin/dmakit" --version 2>&1)
echo "packaged: $out"
[ "$out" = "dmakit $version" ] && pass || fail "packaged dmakit --version: '$out'"
ldd "$root/usr/bin/dmakit" | grep -q "$root/usr/lib/$multiarch/libdmakit.so.0" && pass ||
	fail "packaged dmakit does not use the packaged libdmakit"
"$root/usr/bin/dmakit" replay "$src/examples/traces/example.trace" > /dev/null && pass ||
	fail "packaged dmakit replay"
MANWIDTH=80 man -l "$root/usr/share/man/man1/dmakit.1.gz" > /dev/null 2> "$tmp/man.err" &&
	[ ! -s "$tmp/man.err" ] && pass || fail "man -l dmakit.1.gz: $(cat "$tmp/man.err")"

# The example against the packaged libdmakit-dev.
export PKG_CONFIG_LIBDIR="$root/usr/lib/$multiarch/pkgconfig" PKG_CONFIG_PATH= \
	PKG_CONFIG_SYSROOT_DIR="$root"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/vmm-skeleton" "$src/examples/vmm-skeleton.c" \
	$(pkg-config --cflags --libs dmakit) 2> "$tmp/cc.err" &&
	"$tmp/vmm-skeleton" | grep -q '^vmm-skeleton: ok$' && pass ||
	fail "vmm-skeleton against the package: $(cat "$tmp/cc.err")"

echo "deb: $passes passed, $fails failed"
[ "$fails" = 0 ]
