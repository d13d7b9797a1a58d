#!/bin/bash
# tests/lab/prepare.sh: make the real-kernel lab ready (idempotent).
#
#   - installs qemu-system-x86, busybox-static and cpio when missing
#     (apt-get update only when an install is actually needed);
#   - finds the kernel package that Debian's linux-image-amd64 currently points at
#     (linux-image-<abi>-amd64; the ABI number is discovered, never hard-coded),
#     downloads its .deb into tests/lab/cache/ and unpacks it there with dpkg -x
#     (nothing is installed on the host), then runs depmod -b on that tree.
#
# Output: the last line of stdout is the kernel version (e.g. "6.1.0-NN-amd64").
# Everything else goes to stderr.  With --print-env the last lines are instead
#   LAB_KVER=...  LAB_ROOT=...  LAB_VMLINUZ=...  LAB_MODDIR=...
# (shell assignments, for run-in-guest.sh).
#
# Environment: DMAKIT_LAB_CACHE overrides the cache folder;
# DMAKIT_LAB_KERNEL_PACKAGE names another meta package to follow instead of
# linux-image-amd64 (e.g. linux-image-6.12-amd64; give it its own cache
# folder, since a cache keeps one kernel).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DMAKIT_LAB_CACHE:-$here/cache}
meta=${DMAKIT_LAB_KERNEL_PACKAGE:-linux-image-amd64}
print_env=0
[ "${1:-}" = "--print-env" ] && print_env=1

log() { printf 'lab/prepare: %s\n' "$*" >&2; }
die() { printf 'lab/prepare: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO=${SUDO:-}

apt_updated=0
apt_update_once() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		apt_updated=1
		$SUDO apt-get update -qq >&2 || { log "warning: apt-get update failed"; return 1; }
	fi
}

# One prepare at a time (tests may run in parallel): the rest wait here, then find it done.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

# 1. Host tools.
export PATH=$PATH:/usr/sbin:/sbin
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
# busybox-static provides /bin/busybox as a static binary; the dynamic 'busybox' package is no good.
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
	need+=(busybox-static)
fi
command -v cpio >/dev/null 2>&1 || need+=(cpio)
# depmod (kmod): the .deb ships no modules.dep; it is generated at install time, so we make it.
command -v depmod >/dev/null 2>&1 || [ -x /sbin/depmod ] || need+=(kmod)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
if [ "${#need[@]}" -gt 0 ]; then
	apt_update_once || die "cannot install ${need[*]}: apt-get update failed"
	log "installing: ${need[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}" >&2 \
		|| die "apt-get install ${need[*]} failed"
fi

# 2. Which kernel package does linux-image-amd64 point at?
discover() {
	apt-cache depends "$meta" 2>/dev/null \
		| sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
# apt-cache takes ~1 s here, so remember its answer for as long as the package lists are unchanged.
lists_sig=$(stat -c '%n %Y %s' /var/lib/apt/lists/*Packages* 2>/dev/null | md5sum | cut -d' ' -f1 || true)
pkg=
if [ -n "$lists_sig" ] && [ "$(cat "$cache/lists-sig" 2>/dev/null || true)" = "$lists_sig" ]; then
	pkg=$(cat "$cache/current" 2>/dev/null || true)
fi
[ -n "$pkg" ] || pkg=$(discover || true)
if [ -z "$pkg" ]; then
	apt_update_once || true
	pkg=$(discover || true)
fi
# What an earlier run left ready: used only when the mirror cannot be reached.
cached_prev() {
	local prev
	prev=$(cat "$cache/current" 2>/dev/null || true)
	[ -n "$prev" ] && [ -e "$cache/$prev/.unpacked" ] || return 1
	log "warning: $1; using the cached $prev"
	printf '%s' "$prev"
}
if [ -z "$pkg" ]; then
	pkg=$(cached_prev "apt-cache knows no $meta") \
		|| die "cannot find the kernel package behind $meta (apt-cache depends gave nothing)"
fi
set_pkg() {
	pkg=$1
	kver=${pkg#linux-image-}
	root="$cache/$pkg"
	vmlinuz="$root/boot/vmlinuz-$kver"
	moddir="$root/lib/modules/$kver"
}
ready() { [ -e "$root/.unpacked" ] && [ -f "$vmlinuz" ] && [ -f "$moddir/modules.dep" ]; }
find_deb() { ls "$cache/${pkg}_"*.deb 2>/dev/null | head -n1 || true; }
download() {
	log "downloading $pkg into $cache"
	(cd "$cache" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >&2)
}
set_pkg "$pkg"

# 3. Download and unpack (skipped when already done).
if ! ready; then
	deb=$(find_deb)
	if [ -z "$deb" ] && ! download; then
		# Stale package lists (the mirror dropped that version)? Refresh and look again.
		prev=$pkg
		apt_update_once || true
		newpkg=$(discover || true)
		[ -z "$newpkg" ] || set_pkg "$newpkg"
		[ "$pkg" = "$prev" ] || log "$meta now points at $pkg"
		if ! ready && [ -z "$(find_deb)" ] && ! download; then
			old=$(cached_prev "apt-get download $pkg failed") || die "apt-get download $pkg failed"
			set_pkg "$old"
		fi
	fi
fi
if ! ready; then
	deb=$(find_deb)
	[ -n "$deb" ] || die "apt-get download $pkg produced no .deb in $cache"
	log "unpacking $(basename "$deb")"
	rm -rf "$root.tmp"
	mkdir -p "$root.tmp"
	if ! dpkg -x "$deb" "$root.tmp"; then
		# A download cut short earlier leaves a broken .deb: fetch it again, once.
		log "$(basename "$deb") is damaged; downloading it again"
		rm -rf "$deb" "$root.tmp"
		mkdir -p "$root.tmp"
		download || die "apt-get download $pkg failed"
		deb=$(find_deb)
		[ -n "$deb" ] && dpkg -x "$deb" "$root.tmp" || die "dpkg -x $deb failed"
	fi
	[ -d "$root.tmp/lib/modules/$kver" ] || die "$(basename "$deb") has no lib/modules/$kver"
	# modules.dep is made by depmod when the package is installed; make it here.
	depmod -b "$root.tmp" "$kver" || die "depmod failed for $kver"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	touch "$root/.unpacked"
	# Drop older kernels' debs and trees: the cache keeps only the current one.
	for old in "$cache"/linux-image-*; do
		case "$old" in
		"$root" | "$cache/${pkg}_"*.deb) ;;
		*) log "removing old $(basename "$old")"; rm -rf "$old" ;;
		esac
	done
fi
echo "$pkg" >"$cache/current"
# (Signature of the lists as they are now: apt_update_once may have changed them.)
stat -c '%n %Y %s' /var/lib/apt/lists/*Packages* 2>/dev/null | md5sum | cut -d' ' -f1 >"$cache/lists-sig" || true

[ -f "$vmlinuz" ] || die "no kernel image at $vmlinuz"
[ -f "$moddir/modules.dep" ] || die "no modules.dep in $moddir"

if [ "$print_env" = 1 ]; then
	printf 'LAB_KVER=%q\nLAB_ROOT=%q\nLAB_VMLINUZ=%q\nLAB_MODDIR=%q\n' "$kver" "$root" "$vmlinuz" "$moddir"
else
	log "kernel $kver ready in $root"
	echo "$kver"
fi
