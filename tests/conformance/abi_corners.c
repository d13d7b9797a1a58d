/* SPDX-License-Identifier: MIT */
/*
 * ABI corners the trace format cannot express, printed in one fixed form so
 * that the real kernel and the emulator can be compared with diff:
 *   - CHECK_EXTENSION of every id 0..12, before and after SET_IOMMU;
 *   - SET_IOMMU of every type 0..12 on a fresh container;
 *   - GET_INFO byte for byte for a range of argsz values (the buffer is
 *     pre-filled with 0xaa so untouched bytes show);
 *   - DIRTY_PAGES: START, GET_BITMAP over assorted ranges (including the
 *     overflow and bisect cases), UNMAP with GET_DIRTY_BITMAP, STOP; the
 *     bitmap words are printed;
 *   - the v1 container's DIRTY_PAGES.
 *
 * Usage: abi_corners emu [6.1|6.18] | abi_corners linux GROUP_PATH
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/dmakit.h>

static struct dmakit_container_config base_cfg;
static uint8_t *memory; /* 4 MiB of process memory for mappings */

static struct dmakit_container *open_container(uint32_t iommu_type)
{
	struct dmakit_container_config cfg = base_cfg;
	struct dmakit_container *c;
	int ret;

	cfg.iommu_type = iommu_type;
	ret = dmakit_container_open(&cfg, &c);
	if (ret < 0) {
		printf("open: %s\n", dmakit_errno_name(ret));
		exit(1);
	}
	return c;
}

static const char *rc(int ret)
{
	static char buf[32];

	if (ret < 0)
		return dmakit_errno_name(ret);
	snprintf(buf, sizeof(buf), "%d", ret);
	return buf;
}

static void map(struct dmakit_container *c, uint64_t iova, uint64_t size, uint64_t offset)
{
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)memory + offset, .iova = iova, .size = size,
	};
	printf("map 0x%" PRIx64 "+0x%" PRIx64 ": %s\n", iova, size,
	       rc(dmakit_container_map_dma(c, &m)));
}

static void extensions(void)
{
	struct dmakit_container *c = open_container(0);
	uint32_t ext;

	printf("check_extension before set_iommu:");
	for (ext = 0; ext <= 12; ext++)
		printf(" %u=%s", ext, rc(dmakit_container_check_extension(c, ext)));
	printf("\nset_iommu 3: %s\n", rc(dmakit_container_set_iommu(c, 3)));
	printf("check_extension after set_iommu:");
	for (ext = 0; ext <= 12; ext++)
		printf(" %u=%s", ext, rc(dmakit_container_check_extension(c, ext)));
	printf("\nset_iommu again: %s\n", rc(dmakit_container_set_iommu(c, 1)));
	printf("map before anything: ");
	fflush(stdout);
	dmakit_container_close(c);

	c = open_container(0);
	{
		struct dmakit_vfio_iommu_type1_dma_map m = { .argsz = sizeof(m) };

		printf("%s\n", rc(dmakit_container_map_dma(c, &m)));
	}
	dmakit_container_close(c);
	for (ext = 0; ext <= 12; ext++) {
		c = open_container(0);
		printf("set_iommu %u on a fresh container: %s\n", ext,
		       rc(dmakit_container_set_iommu(c, ext)));
		dmakit_container_close(c);
	}
}

static void info_bytes(void)
{
	static const uint32_t sizes[] = { 0, 15, 16, 17, 19, 20, 21, 23, 24, 25, 64, 103, 104,
					   115, 116, 117, 119, 120, 121, 160 };
	struct dmakit_container *c = open_container(3);
	uint8_t buf[192];
	size_t i, b;

	map(c, 0x100000, 0x1000, 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct dmakit_vfio_iommu_type1_info *info = (void *)buf;
		int ret;

		memset(buf, 0xaa, sizeof(buf));
		info->argsz = sizes[i];
		ret = dmakit_container_get_info(c, info);
		printf("get_info argsz=%u: %s:", sizes[i], rc(ret));
		for (b = 0; b < 136; b++)
			printf("%s%02x", b % 8 ? "" : " ", buf[b]);
		printf("\n");
	}
	dmakit_container_close(c);
}

static void get_bitmap(struct dmakit_container *c, uint64_t iova, uint64_t size, uint64_t pgsize,
		       uint64_t bitmap_size)
{
	uint8_t buf[sizeof(struct dmakit_vfio_iommu_type1_dirty_bitmap) +
		    sizeof(struct dmakit_vfio_iommu_type1_dirty_bitmap_get)];
	struct dmakit_vfio_iommu_type1_dirty_bitmap *d = (void *)buf;
	struct dmakit_vfio_iommu_type1_dirty_bitmap_get range;
	uint64_t words[8];
	size_t i;
	int ret;

	memset(words, 0, sizeof(words));
	d->argsz = sizeof(buf);
	d->flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	range.iova = iova;
	range.size = size;
	range.bitmap.pgsize = pgsize;
	range.bitmap.size = bitmap_size;
	range.bitmap.data = words;
	memcpy(d->data, &range, sizeof(range));
	ret = dmakit_container_dirty_pages(c, d);
	printf("get_bitmap 0x%" PRIx64 "+0x%" PRIx64 " pgsize=0x%" PRIx64 " bytes=%" PRIu64 ": %s",
	       iova, size, pgsize, bitmap_size, rc(ret));
	for (i = 0; i < 4; i++)
		printf(" %016" PRIx64, words[i]);
	printf("\n");
}

static void dirty_flags(struct dmakit_container *c, uint32_t flags, uint32_t argsz)
{
	struct dmakit_vfio_iommu_type1_dirty_bitmap d = { .argsz = argsz, .flags = flags };

	printf("dirty_pages flags=0x%x argsz=%u: %s\n", flags, argsz,
	       rc(dmakit_container_dirty_pages(c, &d)));
}

static void dirty(void)
{
	struct dmakit_container *c = open_container(1);
	uint8_t buf[24 + 24];
	struct dmakit_vfio_iommu_type1_dma_unmap *u = (void *)buf;
	struct dmakit_vfio_bitmap bm;
	uint64_t words[8];
	size_t i;

	printf("v1 container:\n");
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 8);
	dmakit_container_close(c);

	printf("v2 container:\n");
	c = open_container(3);
	map(c, 0x100000, 0x3000, 0);
	map(c, 0x104000, 0x1000, 0x3000);
	map(c, 0x140000, 0x2000, 0x4000);
	get_bitmap(c, 0x100000, 0x5000, 0x1000, 8);
	dirty_flags(c, 0, 8);
	dirty_flags(c, 3, 8);
	dirty_flags(c, 8, 8);
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 7);
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 8);
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 8);
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 8);
	get_bitmap(c, 0x100000, 0x5000, 0x1000, 8);
	get_bitmap(c, 0x0ff000, 0x80000, 0x1000, 32);
	get_bitmap(c, 0x101000, 0x1000, 0x1000, 8);
	get_bitmap(c, 0x100000, 0x2000, 0x1000, 8);
	get_bitmap(c, 0x100000, 0x5000, 0x2000, 8);
	get_bitmap(c, 0x100000, 0x5000, 0x800, 8);
	get_bitmap(c, 0x100000, 0x5000, 0, 8);
	get_bitmap(c, 0x100000, 0x5000, 0x1000, 0);
	get_bitmap(c, 0x100000, 0x41000000, 0x1000, 8);
	get_bitmap(c, 0x100000, 0, 0x1000, 8);
	get_bitmap(c, 0x100800, 0x5000, 0x1000, 8);
	get_bitmap(c, 0x100000, 0x5800, 0x1000, 8);
	get_bitmap(c, 0xfffffffffffff000ull, 0x1000, 0x1000, 8);
	get_bitmap(c, 0xffffffffffffe000ull, 0x1000, 0x1000, 8);
	get_bitmap(c, 0xfffffffffffff000ull, 0x2000, 0x1000, 8);
	get_bitmap(c, 0x140000, 0x2000, 0x1000, 0x10000001);

	memset(buf, 0, sizeof(buf));
	memset(words, 0, sizeof(words));
	u->argsz = sizeof(buf);
	u->flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	u->iova = 0x0fe000;
	u->size = 0x10000;
	bm.pgsize = 0x1000;
	bm.size = 8;
	bm.data = words;
	memcpy(u->data, &bm, sizeof(bm));
	printf("unmap+bitmap 0xfe000+0x10000: %s size=0x%" PRIx64, rc(dmakit_container_unmap_dma(c, u)),
	       (uint64_t)u->size);
	for (i = 0; i < 2; i++)
		printf(" %016" PRIx64, words[i]);
	printf("\n");
	u->argsz = 24 + 23;
	printf("unmap+bitmap argsz=47: %s\n", rc(dmakit_container_unmap_dma(c, u)));
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 8);
	get_bitmap(c, 0x140000, 0x2000, 0x1000, 8);
	dirty_flags(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 8);
	dmakit_container_close(c);
}

int main(int argc, char **argv)
{
	dmakit_container_config_init(&base_cfg);
	if (argc >= 2 && strcmp(argv[1], "emu") == 0) {
		base_cfg.backend = DMAKIT_BACKEND_EMU;
		if (argc >= 3 && strcmp(argv[2], "6.18") == 0)
			base_cfg.kernel = DMAKIT_KERNEL_6_18;
		if (argc >= 3 && strcmp(argv[2], "6.12") == 0)
			base_cfg.kernel = DMAKIT_KERNEL_6_12;
	} else if (argc == 3 && strcmp(argv[1], "linux") == 0) {
		base_cfg.backend = DMAKIT_BACKEND_LINUX;
		base_cfg.group_path = argv[2];
	} else {
		fprintf(stderr, "usage: abi_corners emu [6.1|6.12|6.18] | abi_corners linux GROUP_PATH\n");
		return 2;
	}
	memory = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED)
		return 1;
	extensions();
	info_bytes();
	dirty();
	return 0;
}
