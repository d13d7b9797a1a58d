/* SPDX-License-Identifier: MIT */
/*
 * VFIO devices of a real container's group (include/dmakit/device.h). The
 * backend hands out the device fd; everything else is plain file I/O on it.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dmakit/device.h>

#include "alloc.h"
#include "backend.h"

#define PCI_COMMAND_OFFSET 4
#define PCI_COMMAND_MASTER 0x4

struct dmakit_device {
	int fd;
};

DMAKIT_EXPORT int dmakit_device_open(struct dmakit_container *c, const char *name,
				     struct dmakit_device **out)
{
	struct dmakit_device *dev;
	int fd;

	if (!c || !name || !out)
		return -EINVAL;
	fd = dmakit__container_device_fd(c, name);
	if (fd < 0)
		return fd;
	dev = dmakit__calloc(1, sizeof(*dev));
	if (!dev) {
		close(fd);
		return -ENOMEM;
	}
	dev->fd = fd;
	*out = dev;
	return 0;
}

DMAKIT_EXPORT void dmakit_device_close(struct dmakit_device *dev)
{
	if (!dev)
		return;
	close(dev->fd);
	dmakit__free(dev);
}

DMAKIT_EXPORT int dmakit_device_region_info(struct dmakit_device *dev, uint32_t index,
					    struct dmakit_vfio_region_info *out)
{
	memset(out, 0, sizeof(*out));
	out->argsz = sizeof(*out);
	out->index = index;
	if (ioctl(dev->fd, DMAKIT_VFIO_DEVICE_GET_REGION_INFO, out) < 0)
		return -errno;
	return 0;
}

static int region_bounds(struct dmakit_device *dev, uint32_t index, uint64_t offset,
			 size_t len, uint64_t *file_offset)
{
	struct dmakit_vfio_region_info info;
	uint64_t end;
	int ret = dmakit_device_region_info(dev, index, &info);

	if (ret < 0)
		return ret;
	if (__builtin_add_overflow(offset, len, &end) || end > info.size)
		return -EINVAL;
	*file_offset = info.offset + offset;
	return 0;
}

/* pread or pwrite of @len bytes at @offset inside region @index. */
static int region_io(struct dmakit_device *dev, uint32_t index, uint64_t offset, void *buf,
		     size_t len, bool write)
{
	uint64_t at;
	ssize_t n;
	int ret = region_bounds(dev, index, offset, len, &at);

	if (ret < 0)
		return ret;
	n = write ? pwrite(dev->fd, buf, len, (off_t)at) : pread(dev->fd, buf, len, (off_t)at);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

DMAKIT_EXPORT int dmakit_device_region_read(struct dmakit_device *dev, uint32_t index,
					    uint64_t offset, void *buf, size_t len)
{
	return region_io(dev, index, offset, buf, len, false);
}

DMAKIT_EXPORT int dmakit_device_region_write(struct dmakit_device *dev, uint32_t index,
					     uint64_t offset, const void *buf, size_t len)
{
	/* pwrite() only reads @buf; the cast serves the shared helper. */
	return region_io(dev, index, offset, (void *)(uintptr_t)buf, len, true);
}

DMAKIT_EXPORT int dmakit_device_enable_bus_master(struct dmakit_device *dev)
{
	uint16_t cmd;
	int ret;

	ret = dmakit_device_region_read(dev, DMAKIT_VFIO_PCI_CONFIG_REGION_INDEX,
					PCI_COMMAND_OFFSET, &cmd, sizeof(cmd));
	if (ret < 0)
		return ret;
	cmd |= PCI_COMMAND_MASTER;
	return dmakit_device_region_write(dev, DMAKIT_VFIO_PCI_CONFIG_REGION_INDEX,
					  PCI_COMMAND_OFFSET, &cmd, sizeof(cmd));
}
