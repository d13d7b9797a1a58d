/* SPDX-License-Identifier: MIT */
/*
 * The DMA proof, run inside the real-kernel lab: a mapping made through
 * dmakit lets QEMU's edu device really DMA, and an unmapped range really
 * stops it.
 *
 *   1. map buffer A (a pattern) at IOVA_SRC and buffer B (zeros) at IOVA_DST;
 *   2. edu copies A into its internal buffer, then back out to B: B == A;
 *   3. unmap IOVA_DST, fill B with a marker, make edu write to IOVA_DST
 *      again: B keeps its marker (the kernel logs a DMAR fault, which the
 *      lab script checks in the kernel log).
 *
 * Usage: dma_proof GROUP_PATH DEVICE_ADDRESS. Prints one line per check and
 * "dma-proof: PASS" at the end; exits non-zero on the first failure.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/dmakit.h>

#include "edu.h"

#define IOVA_SRC 0x100000ull
#define IOVA_DST 0x101000ull
#define PAGE     4096u

static int fail(const char *what, int err)
{
	printf("dma-proof: FAIL %s: %s\n", what, err ? dmakit_strerror(err) : "mismatch");
	return 1;
}

static int map_page(struct dmakit_container *c, uint64_t iova, void *buf)
{
	struct dmakit_vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = iova, .size = PAGE,
	};

	return dmakit_container_map_dma(c, &map);
}

int main(int argc, char **argv)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	struct dmakit_device *dev;
	struct dmakit_container_stats st;
	uint8_t *a, *b;
	int ret;
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: dma_proof GROUP_PATH DEVICE_ADDRESS\n");
		return 2;
	}
	a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return fail("mmap", errno);
	b = a + PAGE;
	for (i = 0; i < PAGE; i++)
		a[i] = (uint8_t)(i * 7 + 3);
	memset(b, 0, PAGE);

	dmakit_container_config_init(&cfg);
	cfg.backend = DMAKIT_BACKEND_LINUX;
	cfg.group_path = argv[1];
	ret = dmakit_container_open(&cfg, &c);
	if (ret < 0)
		return fail("open container", ret);
	ret = edu_open(c, argv[2], &dev);
	if (ret < 0)
		return fail("open edu", ret);
	printf("dma-proof: edu ready\n");

	if ((ret = map_page(c, IOVA_SRC, a)) < 0)
		return fail("map source", ret);
	if ((ret = map_page(c, IOVA_DST, b)) < 0)
		return fail("map destination", ret);
	ret = dmakit_container_stats(c, &st);
	if (ret < 0)
		return fail("stats", ret);
	printf("dma-proof: mapped 2 pages, DMA_AVAIL %u\n", st.dma_avail);

	if ((ret = edu_read_from(dev, IOVA_SRC)) < 0)
		return fail("dma RAM to device", ret);
	if ((ret = edu_write_to(dev, IOVA_DST)) < 0)
		return fail("dma device to RAM", ret);
	if (memcmp(a, b, EDU_DMA_BYTES) != 0)
		return fail("copy through the IOMMU", 0);
	printf("dma-proof: mapped: device copied %u bytes through the IOMMU\n", EDU_DMA_BYTES);

	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA_DST, .size = PAGE,
	};
	if ((ret = dmakit_container_unmap_dma(c, &unmap)) < 0)
		return fail("unmap destination", ret);
	memset(b, 0x5a, PAGE);
	if ((ret = edu_write_to(dev, IOVA_DST)) < 0)
		return fail("dma to unmapped IOVA", ret);
	for (i = 0; i < PAGE; i++)
		if (b[i] != 0x5a)
			return fail("unmapped range was written", 0);
	printf("dma-proof: unmapped: buffer untouched after DMA to IOVA 0x%llx\n",
	       (unsigned long long)IOVA_DST);

	dmakit_device_close(dev);
	dmakit_container_close(c);
	printf("dma-proof: PASS\n");
	return 0;
}
