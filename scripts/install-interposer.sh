#!/bin/sh
# meson install script: put the LD_PRELOAD interposer library ($1, a built
# target) into LIBDIR_REL ($2, relative to the prefix, e.g.
# lib/x86_64-linux-gnu/dmakit), honouring DESTDIR. The interposer is a
# plugin, not a library to link with, so it goes into dmakit's own directory.
set -eu
src=$1
dir=$MESON_INSTALL_DESTDIR_PREFIX/$2
case $src in /*) ;; *) src=$MESON_BUILD_ROOT/$src ;; esac
dest=$dir/$(basename "$src")
# The target may install itself (install : true); then there is nothing to do.
if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
	exit 0
fi
mkdir -p "$dir"
install -m 0644 "$src" "$dest"
echo "Installing $(basename "$src") to $dir"
