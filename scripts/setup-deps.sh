#!/bin/sh
# Install the Debian packages dmakit needs to build and test, when missing.
# The one place the project installs anything; `make run` and `make check`
# call it first. Safe to run again: it installs only what is absent.
set -eu

PACKAGES="build-essential meson ninja-build pkg-config libcmocka-dev clang valgrind"
# -fsanitize=fuzzer (tests/fuzz): clang-14 only recommends its runtime libraries.
PACKAGES="$PACKAGES libclang-rt-14-dev"
# The real-kernel lab (tests/lab): QEMU, a static busybox, cpio for the initramfs.
PACKAGES="$PACKAGES qemu-system-x86 busybox-static cpio"
# `dmakit bench` baselines: GLib's GTree (QEMU's iova-tree) and libbsd's RB tree.
PACKAGES="$PACKAGES libglib2.0-dev libbsd-dev"
# Shipping (tests/install, tests/deb): scdoc for the man pages, man-db to check
# they render, debhelper/dpkg-dev/fakeroot for `dpkg-buildpackage -b`.
PACKAGES="$PACKAGES scdoc man-db debhelper dpkg-dev fakeroot"
# `dmakit plan` (libvirt domain XML) and `dmakit sim --plot` (SVG through cairo).
PACKAGES="$PACKAGES libxml2-dev libcairo2-dev"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "setup-deps: missing Debian packages:$missing" >&2
	echo "setup-deps: run as root, or install them: apt-get install$missing" >&2
	exit 1
fi

echo "setup-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
