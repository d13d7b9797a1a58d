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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <dmakit/dmakit.h>

/* edu's BAR0 registers and its internal buffer (QEMU's edu device). */
#define EDU_ID          0x00
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_COUNT   0x90
#define EDU_DMA_CMD     0x98
#define EDU_CMD_START   0x1
#define EDU_CMD_TO_RAM  0x2
#define EDU_BUFFER      0x40000ull
#define EDU_ID_VALUE    0x010000edu

/* edu's DMA mask is 28 bits: IOVAs below 256 MiB. */
#define IOVA_SRC 0x100000ull
#define IOVA_DST 0x101000ull
#define PAGE     4096u
/* Bytes per edu DMA: QEMU 7.2's edu rejects a transfer that ends exactly at
 * the end of its 4 KiB buffer (its range check treats the end as inside),
 * so the proof moves half a page. */
#define DMA_BYTES 2048u

static int fail(const char *what, int err)
{
	printf("dma-proof: FAIL %s: %s\n", what, err ? dmakit_strerror(err) : "mismatch");
	return 1;
}

static int reg_write64(struct dmakit_device *dev, uint64_t reg, uint64_t value)
{
	return dmakit_device_region_write(dev, DMAKIT_VFIO_PCI_BAR0_REGION_INDEX, reg, &value,
					  sizeof(value));
}

static int reg_read32(struct dmakit_device *dev, uint64_t reg, uint32_t *value)
{
	return dmakit_device_region_read(dev, DMAKIT_VFIO_PCI_BAR0_REGION_INDEX, reg, value,
					 sizeof(*value));
}

/* Start one edu DMA and wait (up to 10 s of guest time) until it is done. */
static int edu_dma(struct dmakit_device *dev, uint64_t src, uint64_t dst, uint64_t cmd)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	uint32_t status;
	int ret, i;

	if ((ret = reg_write64(dev, EDU_DMA_SRC, src)) < 0 ||
	    (ret = reg_write64(dev, EDU_DMA_DST, dst)) < 0 ||
	    (ret = reg_write64(dev, EDU_DMA_COUNT, DMA_BYTES)) < 0 ||
	    (ret = reg_write64(dev, EDU_DMA_CMD, cmd | EDU_CMD_START)) < 0)
		return ret;
	for (i = 0; i < 1000; i++) {
		ret = reg_read32(dev, EDU_DMA_CMD, &status);
		if (ret < 0)
			return ret;
		if (!(status & EDU_CMD_START))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	struct dmakit_device *dev;
	struct dmakit_container_stats st;
	uint8_t *a, *b;
	uint32_t id;
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
	ret = dmakit_device_open(c, argv[2], &dev);
	if (ret < 0)
		return fail("open device", ret);
	ret = reg_read32(dev, EDU_ID, &id);
	if (ret < 0)
		return fail("read edu id", ret);
	if (id != EDU_ID_VALUE)
		return fail("edu id", 0);
	printf("dma-proof: edu id 0x%08x\n", id);
	ret = dmakit_device_enable_bus_master(dev);
	if (ret < 0)
		return fail("bus master", ret);

	struct dmakit_vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
	};
	map.vaddr = (uintptr_t)a;
	map.iova = IOVA_SRC;
	map.size = PAGE;
	if ((ret = dmakit_container_map_dma(c, &map)) < 0)
		return fail("map source", ret);
	map.vaddr = (uintptr_t)b;
	map.iova = IOVA_DST;
	if ((ret = dmakit_container_map_dma(c, &map)) < 0)
		return fail("map destination", ret);
	ret = dmakit_container_stats(c, &st);
	if (ret < 0)
		return fail("stats", ret);
	printf("dma-proof: mapped 2 pages, DMA_AVAIL %u\n", st.dma_avail);

	if ((ret = edu_dma(dev, IOVA_SRC, EDU_BUFFER, 0)) < 0)
		return fail("dma RAM to device", ret);
	if ((ret = edu_dma(dev, EDU_BUFFER, IOVA_DST, EDU_CMD_TO_RAM)) < 0)
		return fail("dma device to RAM", ret);
	if (memcmp(a, b, DMA_BYTES) != 0)
		return fail("copy through the IOMMU", 0);
	printf("dma-proof: mapped: device copied %u bytes through the IOMMU\n", DMA_BYTES);

	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA_DST, .size = PAGE,
	};
	if ((ret = dmakit_container_unmap_dma(c, &unmap)) < 0)
		return fail("unmap destination", ret);
	memset(b, 0x5a, PAGE);
	if ((ret = edu_dma(dev, EDU_BUFFER, IOVA_DST, EDU_CMD_TO_RAM)) < 0)
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
