/* tests/lab/lab_selftest.c: a throwaway probe that the lab guest has a working VFIO type1 stack.
 *
 * Uses the system's <linux/vfio.h> directly (not dmakit).  Build: gcc -static -O2 -o lab_selftest
 * lab_selftest.c.  Run in the guest: lab_selftest [GROUP_FILE] (default $DMAKIT_LAB_GROUP).
 * Prints one "key value" line per check and exits 0 when all pass, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
#endif

static int fail(const char *what)
{
	fprintf(stderr, "FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	const char *group_path = argc > 1 ? argv[1] : getenv("DMAKIT_LAB_GROUP");
	if (!group_path) {
		fprintf(stderr, "FAIL usage: lab_selftest GROUP_FILE (or set DMAKIT_LAB_GROUP)\n");
		return 1;
	}

	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return fail("open /dev/vfio/vfio");

	int api = ioctl(container, VFIO_GET_API_VERSION);
	printf("api_version %d\n", api);
	if (api != VFIO_API_VERSION) {
		fprintf(stderr, "FAIL api version %d, want %d\n", api, VFIO_API_VERSION);
		return 1;
	}

	int ext = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	printf("type1v2 %d\n", ext);
	if (ext != 1) {
		fprintf(stderr, "FAIL CHECK_EXTENSION(TYPE1v2) = %d\n", ext);
		return 1;
	}

	int group = open(group_path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return fail(group_path);

	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) < 0)
		return fail("VFIO_GROUP_GET_STATUS");
	printf("group_viable %d\n", !!(gs.flags & VFIO_GROUP_FLAGS_VIABLE));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "FAIL group %s not viable\n", group_path);
		return 1;
	}

	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail("VFIO_SET_IOMMU(TYPE1v2)");
	printf("set_iommu ok\n");

	/* GET_INFO twice: once for the size, once with room for the capability chain. */
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	if (ioctl(container, VFIO_IOMMU_GET_INFO, &probe) < 0)
		return fail("VFIO_IOMMU_GET_INFO");
	uint32_t argsz = probe.argsz > sizeof(probe) ? probe.argsz : (uint32_t)sizeof(probe);
	struct vfio_iommu_type1_info *info = calloc(1, argsz);
	if (!info)
		return fail("calloc");
	info->argsz = argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info) < 0)
		return fail("VFIO_IOMMU_GET_INFO");
	printf("info_flags 0x%x\n", info->flags);
	printf("iova_pgsizes 0x%llx\n", (unsigned long long)info->iova_pgsizes);

	long long dma_avail = -1;
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
		uint32_t off = info->cap_offset;
		int guard = 0;
		while (off && off + sizeof(struct vfio_info_cap_header) <= argsz && guard++ < 32) {
			struct vfio_info_cap_header *h = (void *)((char *)info + off);
			if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
				struct vfio_iommu_type1_info_dma_avail *a = (void *)h;
				dma_avail = a->avail;
			}
			off = h->next;
		}
	}
	printf("dma_avail %lld\n", dma_avail);
	if (dma_avail < 0) {
		fprintf(stderr, "FAIL no DMA_AVAIL capability in GET_INFO\n");
		return 1;
	}

	long page = sysconf(_SC_PAGESIZE);
	void *buf = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap");
	memset(buf, 0xa5, (size_t)page);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = 0x100000,
		.size = (uint64_t)page,
	};
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
		return fail("VFIO_IOMMU_MAP_DMA");
	printf("map ok\n");

	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = 0x100000, .size = (uint64_t)page,
	};
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
		return fail("VFIO_IOMMU_UNMAP_DMA");
	printf("unmap ok %llu\n", (unsigned long long)unmap.size);
	if (unmap.size != (uint64_t)page) {
		fprintf(stderr, "FAIL unmap removed %llu bytes, want %ld\n", (unsigned long long)unmap.size, page);
		return 1;
	}
	free(info);
	close(group);
	close(container);
	return 0;
}
