/* SPDX-License-Identifier: MIT */
/*
 * The real iommufd: /dev/iommu, driven with the same request values and
 * structs as the emulator (include/dmakit/uapi.h). The kernel's answer is
 * passed through unchanged, as -errno. Kernels without CONFIG_IOMMUFD (the
 * lab's Debian 6.1) have no /dev/iommu: open answers -ENOENT and callers
 * skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommufd_internal.h"

int dmakit__linux_iommufd_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void dmakit__linux_iommufd_close(int fd)
{
	close(fd);
}

int dmakit__linux_iommufd_ioctl(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}
