#!/bin/sh
# Install the Debian packages dmakit needs to build and test, when missing.
# The one place the project installs anything; `make run` and `make check`
# call it first. Safe to run again: it installs only what is absent.
set -eu

PACKAGES="build-essential meson ninja-build pkg-config libcmocka-dev clang valgrind"
# The real-kernel lab (tests/lab): QEMU, a static busybox, cpio for the initramfs.
PACKAGES="$PACKAGES qemu-system-x86 busybox-static cpio"

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
