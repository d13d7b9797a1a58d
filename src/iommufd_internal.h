/* SPDX-License-Identifier: MIT */
/*
 * Internal glue of the iommufd module: the real-kernel calls (linux_iommufd.c)
 * and what the type1-compat container backend (emu_iommufd_compat.c) needs.
 */
#ifndef DMAKIT_IOMMUFD_INTERNAL_H
#define DMAKIT_IOMMUFD_INTERNAL_H

#include <dmakit/iommufd.h>

/* open(@path) for the real kernel: an fd, or -errno (-ENOENT: no iommufd). */
int dmakit__linux_iommufd_open(const char *path);
void dmakit__linux_iommufd_close(int fd);
/* ioctl(2) on the fd: >= 0 or -errno. */
int dmakit__linux_iommufd_ioctl(int fd, unsigned long request, void *arg);

/* The id of the context's vfio compat IOAS, 0 if none. */
uint32_t dmakit__iommufd_compat_ioas(struct dmakit_iommufd *ctx);

#endif /* DMAKIT_IOMMUFD_INTERNAL_H */
