/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <time.h>

#include "edu.h"

/* edu's BAR0 registers and its internal buffer. */
#define EDU_ID          0x00
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_COUNT   0x90
#define EDU_DMA_CMD     0x98
#define EDU_CMD_START   0x1
#define EDU_CMD_TO_RAM  0x2
#define EDU_BUFFER      0x40000ull
#define EDU_ID_VALUE    0x010000edu

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

/* Start one DMA and wait (up to 10 s) until edu says it is done. */
static int edu_dma(struct dmakit_device *dev, uint64_t src, uint64_t dst, uint64_t cmd)
{
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	uint32_t status;
	int ret, i;

	if ((ret = reg_write64(dev, EDU_DMA_SRC, src)) < 0 ||
	    (ret = reg_write64(dev, EDU_DMA_DST, dst)) < 0 ||
	    (ret = reg_write64(dev, EDU_DMA_COUNT, EDU_DMA_BYTES)) < 0 ||
	    (ret = reg_write64(dev, EDU_DMA_CMD, cmd | EDU_CMD_START)) < 0)
		return ret;
	for (i = 0; i < 2000; i++) {
		ret = reg_read32(dev, EDU_DMA_CMD, &status);
		if (ret < 0)
			return ret;
		if (!(status & EDU_CMD_START))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

int edu_open(struct dmakit_container *c, const char *address, struct dmakit_device **out)
{
	uint32_t id;
	int ret = dmakit_device_open(c, address, out);

	if (ret < 0)
		return ret;
	ret = reg_read32(*out, EDU_ID, &id);
	if (ret == 0 && id != EDU_ID_VALUE)
		ret = -ENODEV;
	if (ret == 0)
		ret = dmakit_device_enable_bus_master(*out);
	if (ret < 0) {
		dmakit_device_close(*out);
		*out = NULL;
	}
	return ret;
}

int edu_read_from(struct dmakit_device *dev, uint64_t iova)
{
	return edu_dma(dev, iova, EDU_BUFFER, 0);
}

int edu_write_to(struct dmakit_device *dev, uint64_t iova)
{
	return edu_dma(dev, EDU_BUFFER, iova, EDU_CMD_TO_RAM);
}
