/* SPDX-License-Identifier: MIT */
/*
 * GET_INFO through any ioctl-shaped entry point (a container, an iommufd
 * context's vfio compat layer), for the library's own use.
 */
#ifndef DMAKIT_INFO_INTERNAL_H
#define DMAKIT_INFO_INTERNAL_H

#include <dmakit/container.h>

/* An ioctl with the kernel's request values and structs: >= 0 or -errno. */
typedef int (*dmakit__ioctl_fn)(void *ctx, unsigned long request, void *arg);

/*
 * dmakit__type1_query_info() - VFIO_IOMMU_GET_INFO with a buffer grown until
 * the chain fits (as VMMs do), then parsed. @returns 0 or -errno.
 */
int dmakit__type1_query_info(dmakit__ioctl_fn ioctl_fn, void *ctx, struct dmakit_type1_info *out);

#endif /* DMAKIT_INFO_INTERNAL_H */
