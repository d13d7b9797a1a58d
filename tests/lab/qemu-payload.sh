#!/bin/bash
# tests/lab/qemu-payload.sh: package the host's (Debian's) QEMU so it runs
# inside the lab guest, which has no shared libraries of its own.
#
# usage: qemu-payload.sh OUTDIR [EXTRA_ELF...]
#
# OUTDIR gets a self-contained tree meant for `run-in-guest.sh --file OUTDIR:/qemu`:
#   /qemu/bin/qemu-system-x86_64          the binary
#   /qemu/lib/...                         every library ldd lists for it, for its
#                                         accelerator module and for EXTRA_ELF
#                                         (e.g. libdmakit-interpose.so), and the loader
#   /qemu/modules/accel-tcg-x86_64.so     QEMU's TCG module (QEMU_MODULE_DIR)
#   /qemu/share/                          the firmware QEMU names (symlinks resolved)
#   /qemu/run-qemu                        runs QEMU through /qemu/lib's loader with
#                                         -L /qemu/share; extra args pass through
# In the guest: `/qemu/run-qemu -accel tcg -M pc -m 64 -S ...`. The wrapper
# execs the loader, so LD_PRELOAD set by `dmakit record` reaches QEMU.
set -euo pipefail
out=${1:?usage: qemu-payload.sh OUTDIR [EXTRA_ELF...]}
shift
qemu=$(command -v qemu-system-x86_64) || { echo "qemu-payload: qemu-system-x86_64 not found" >&2; exit 1; }
moddir=/usr/lib/x86_64-linux-gnu/qemu
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/modules" "$out/share"
cp -L "$qemu" "$out/bin/qemu-system-x86_64"
elves=("$qemu" "$@")
for m in "$moddir"/accel-tcg-x86_64.so; do
	[ -e "$m" ] || continue
	cp -L "$m" "$out/modules/"
	elves+=("$m")
done
for e in "${elves[@]}"; do
	ldd "$e" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'
done | sort -u | while read -r lib; do
	cp -L "$lib" "$out/lib/$(basename "$lib")"
done
for e in "$@"; do cp -L "$e" "$out/lib/$(basename "$e")"; done
[ -e "$out/lib/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$out/lib/"
# Firmware: the BIOS and option ROMs a pc/q35 machine with vfio-pci loads.
for f in bios-256k.bin bios.bin kvmvapic.bin linuxboot.bin linuxboot_dma.bin multiboot.bin \
	multiboot_dma.bin pvh.bin vgabios-stdvga.bin efi-e1000.rom efi-virtio.rom; do
	for d in /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
		if [ -e "$d/$f" ]; then cp -L "$d/$f" "$out/share/"; break; fi
	done
done
# QEMU's keymaps are not needed with -display none.
cat >"$out/run-qemu" <<'W'
#!/bin/sh
# Runs the packaged QEMU (tests/lab/qemu-payload.sh).
export QEMU_MODULE_DIR=/qemu/modules
exec /qemu/lib/ld-linux-x86-64.so.2 --library-path /qemu/lib /qemu/bin/qemu-system-x86_64 -L /qemu/share "$@"
W
chmod 755 "$out/run-qemu"
du -sh "$out" >&2
