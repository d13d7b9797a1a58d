/* SPDX-License-Identifier: MIT */
/*
 * The real kernel: a VFIO container through /dev/vfio/vfio with one group.
 *
 * open() does what every VMM does before its first SET_IOMMU: open the
 * container, open the group file, check the group is viable, and attach it
 * (VFIO_GROUP_SET_CONTAINER). After that every ioctl goes to the container
 * fd as it is; the kernel's answer is returned as -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dmakit/container.h>

#include "alloc.h"
#include "backend.h"

struct linux_container {
	int container_fd;
	int group_fd;
};

static void linux_close(void *state)
{
	struct linux_container *lc = state;
	int saved = errno;

	if (!lc)
		return;
	/* Closing the group detaches it; the container's release unmaps all. */
	if (lc->group_fd >= 0)
		close(lc->group_fd);
	if (lc->container_fd >= 0)
		close(lc->container_fd);
	dmakit__free(lc);
	errno = saved;
}

static int linux_open(const struct dmakit_container_config *cfg, void **state)
{
	struct dmakit_vfio_group_status status = { .argsz = sizeof(status) };
	const char *container_path = cfg->container_path ? cfg->container_path : "/dev/vfio/vfio";
	struct linux_container *lc;
	int ret;

	if (!cfg->group_path)
		return -EINVAL;
	lc = dmakit__calloc(1, sizeof(*lc));
	if (!lc)
		return -ENOMEM;
	lc->container_fd = -1;
	lc->group_fd = -1;

	lc->container_fd = open(container_path, O_RDWR | O_CLOEXEC);
	if (lc->container_fd < 0)
		goto fail_errno;
	ret = ioctl(lc->container_fd, DMAKIT_VFIO_GET_API_VERSION);
	if (ret != DMAKIT_VFIO_API_VERSION) {
		ret = ret < 0 ? -errno : -EPROTO;
		goto fail;
	}
	lc->group_fd = open(cfg->group_path, O_RDWR | O_CLOEXEC);
	if (lc->group_fd < 0)
		goto fail_errno;
	if (ioctl(lc->group_fd, DMAKIT_VFIO_GROUP_GET_STATUS, &status) < 0)
		goto fail_errno;
	if (!(status.flags & DMAKIT_VFIO_GROUP_FLAGS_VIABLE)) {
		/* Another device of the group is bound to a host driver. */
		ret = -EPERM;
		goto fail;
	}
	if (ioctl(lc->group_fd, DMAKIT_VFIO_GROUP_SET_CONTAINER, &lc->container_fd) < 0)
		goto fail_errno;
	*state = lc;
	return 0;

fail_errno:
	ret = -errno;
fail:
	linux_close(lc);
	return ret;
}

static int linux_ioctl(void *state, unsigned long request, void *arg)
{
	struct linux_container *lc = state;
	int ret = ioctl(lc->container_fd, request, arg);

	return ret < 0 ? -errno : ret;
}

static int linux_stats(void *state, struct dmakit_container_stats *out)
{
	uint8_t buf[512];
	struct dmakit_vfio_iommu_type1_info *info = (void *)buf;
	struct dmakit_type1_info parsed;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	ret = linux_ioctl(state, DMAKIT_VFIO_IOMMU_GET_INFO, info);
	if (ret < 0)
		return ret;
	ret = dmakit_type1_info_parse(buf, sizeof(buf), &parsed);
	if (ret < 0)
		return ret;
	out->exact = false;
	out->dma_avail = parsed.has_dma_avail ? parsed.dma_avail : 0;
	return 0;
}

static int linux_device_fd(void *state, const char *name)
{
	struct linux_container *lc = state;
	int fd = ioctl(lc->group_fd, DMAKIT_VFIO_GROUP_GET_DEVICE_FD, name);

	return fd < 0 ? -errno : fd;
}

const struct dmakit_backend_ops dmakit__linux_ops = {
	.name = "linux",
	.open = linux_open,
	.close = linux_close,
	.ioctl = linux_ioctl,
	.declare_memory = NULL,
	.stats = linux_stats,
	.seek_mapping = NULL,
	.device_fd = linux_device_fd,
};
