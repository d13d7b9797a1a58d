/* SPDX-License-Identifier: MIT */
/*
 * libfakevfio.so: a stand-in "kernel" for the interposer's host tests. It is
 * preloaded AFTER libdmakit-interpose.so, so the interposer's
 * dlsym(RTLD_NEXT, "ioctl") reaches it. ioctls on the file named by
 * $FAKEVFIO_CONTAINER go to dmakit's emulated type1 container (limit
 * $FAKEVFIO_LIMIT, default 65535); on $FAKEVFIO_GROUP they succeed; all
 * others go to the real ioctl.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

int ioctl(int fd, unsigned long req, ...);

static struct dmakit_container *emu;

static int is_path(int fd, const char *env)
{
	const char *want = getenv(env);
	char link[64], target[512];
	ssize_t n;

	if (!want)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	return strcmp(target, want) == 0;
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*next)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!next)
		next = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (is_path(fd, "FAKEVFIO_CONTAINER")) {
		int ret;

		if (!emu) {
			struct dmakit_container_config cfg;
			const char *l = getenv("FAKEVFIO_LIMIT");

			dmakit_container_config_init(&cfg);
			cfg.iommu_type = 0;
			if (l)
				cfg.dma_entry_limit = (uint32_t)strtoul(l, NULL, 0);
			if (dmakit_container_open(&cfg, &emu) < 0)
				abort();
		}
		ret = dmakit_container_ioctl(emu, req, arg);
		if (ret < 0) {
			errno = -ret;
			return -1;
		}
		return ret;
	}
	if (is_path(fd, "FAKEVFIO_GROUP")) {
		if (req == DMAKIT_VFIO_GROUP_GET_STATUS && arg)
			((struct dmakit_vfio_group_status *)arg)->flags = 3;
		return 0;
	}
	return next(fd, req, arg);
}
