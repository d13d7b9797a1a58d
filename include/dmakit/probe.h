/* SPDX-License-Identifier: MIT */
/*
 * dmakit probe: what this host allows for VFIO DMA mappings.
 *
 * Reads the running kernel's facts (release, loaded VFIO modules, device
 * nodes, the type1 driver's dma_entry_limit, the process's RLIMIT_MEMLOCK and
 * CAP_IPC_LOCK, the IOMMU groups with their devices and drivers) and, for each
 * group this process can open and whose devices are all bound to vfio-pci,
 * opens a real type1v2 container to read what GET_INFO reports: DMA_AVAIL,
 * page sizes and usable IOVA ranges. Nothing is mapped.
 *
 * Missing or forbidden things are facts too: each is recorded, never an
 * error. The @root argument prefixes every path (/sys, /dev, /proc), so a
 * saved tree of another host can be read; "" or NULL is this host.
 */
#ifndef DMAKIT_PROBE_H
#define DMAKIT_PROBE_H

#include <dmakit/common.h>
#include <dmakit/container.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dmakit_probe_device {
	char address[32]; /* "0000:00:01.0" */
	char driver[64];  /* "vfio-pci", or "" when no driver is bound */
};

struct dmakit_probe_group {
	unsigned int id;
	size_t nr_devices;
	struct dmakit_probe_device *devices;
	bool vfio_node;      /* /dev/vfio/<id> exists */
	bool all_vfio_pci;   /* every device is bound to vfio-pci */
	int container_error; /* 0 when the container was opened and queried, else -errno */
	bool queried;
	struct dmakit_type1_info info; /* valid when queried */
};

struct dmakit_probe {
	char kernel_release[65];
	bool vfio_loaded;             /* /sys/module/vfio */
	bool type1_loaded;            /* /sys/module/vfio_iommu_type1 */
	bool vfio_pci_loaded;         /* /sys/module/vfio_pci */
	bool iommufd_loaded;          /* /sys/module/iommufd */
	bool dev_vfio;                /* /dev/vfio/vfio */
	bool dev_iommu;               /* /dev/iommu */
	bool has_dma_entry_limit;
	uint32_t dma_entry_limit;     /* the module parameter now */
	uint64_t memlock_soft;        /* RLIMIT_MEMLOCK, bytes; UINT64_MAX: unlimited */
	uint64_t memlock_hard;
	bool cap_ipc_lock;            /* in the effective set */
	size_t nr_groups;
	struct dmakit_probe_group *groups; /* ascending id */
};

/**
 * dmakit_probe_host() - gather the facts.
 * @returns 0 with *@out set (free it with dmakit_probe_free()), or -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_probe_host(const char *root, struct dmakit_probe **out);

DMAKIT_EXPORT void dmakit_probe_free(struct dmakit_probe *probe);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_PROBE_H */
