/* SPDX-License-Identifier: MIT */
/*
 * dmakit device: a VFIO device of a real container's group, for tests that
 * prove a mapping is live (the device reaches the memory) and an unmapped
 * range is closed (the IOMMU faults it).
 *
 * Only the real-kernel backend has devices; on the emulator every call
 * answers -EOPNOTSUPP. Regions are reached with pread/pwrite on the device fd
 * at the region's offset, or mapped with mmap where the region allows it.
 */
#ifndef DMAKIT_DEVICE_H
#define DMAKIT_DEVICE_H

#include <dmakit/common.h>
#include <dmakit/container.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dmakit_device;

/**
 * dmakit_device_open() - VFIO_GROUP_GET_DEVICE_FD for @name (a PCI address
 * such as "0000:00:03.0") in @c's group.
 * @returns 0 with *@out set; -EOPNOTSUPP on the emulator; the kernel's -errno.
 */
DMAKIT_EXPORT int dmakit_device_open(struct dmakit_container *c, const char *name,
				     struct dmakit_device **out);

/** dmakit_device_close() - close the device fd; NULL is fine. */
DMAKIT_EXPORT void dmakit_device_close(struct dmakit_device *dev);

/**
 * dmakit_device_region_info() - VFIO_DEVICE_GET_REGION_INFO of @index.
 * @returns 0 with @out filled, or the kernel's -errno.
 */
DMAKIT_EXPORT int dmakit_device_region_info(struct dmakit_device *dev, uint32_t index,
					    struct dmakit_vfio_region_info *out);

/**
 * dmakit_device_region_read() / dmakit_device_region_write() - @len bytes at
 * @offset inside region @index (pread/pwrite of the device fd).
 * @returns 0, -EINVAL past the region's end, or the kernel's -errno (a short
 * transfer is -EIO).
 */
DMAKIT_EXPORT int dmakit_device_region_read(struct dmakit_device *dev, uint32_t index,
					    uint64_t offset, void *buf, size_t len);
DMAKIT_EXPORT int dmakit_device_region_write(struct dmakit_device *dev, uint32_t index,
					     uint64_t offset, const void *buf, size_t len);

/**
 * dmakit_device_enable_bus_master() - set Bus Master Enable (bit 2 of the
 * PCI command register, config offset 4), without which a PCI device's DMA
 * goes nowhere.
 * @returns 0 or -errno.
 */
DMAKIT_EXPORT int dmakit_device_enable_bus_master(struct dmakit_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_DEVICE_H */
