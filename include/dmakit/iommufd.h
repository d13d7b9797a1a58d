/* SPDX-License-Identifier: MIT */
/*
 * dmakit iommufd: one iommufd context (what a VMM opens as /dev/iommu),
 * emulated in-process or the real kernel's.
 *
 * The emulator answers the IOMMUFD ioctls as Linux 6.19 does (the project's
 * kernel-semantics reference, section 2): objects by id (first id 1; a bad id
 * or an id of the wrong type is ENOENT), IOAS alloc/destroy, MAP with a fixed
 * or an automatic IOVA (the kernel's allocation policy exactly), UNMAP (never
 * splits; ENOENT for nothing mapped or a partly covered area; the non-atomic
 * partial failure), COPY (the pages are shared and pinned and accounted once),
 * IOVA_RANGES, ALLOW_IOVAS, OPTION (RLIMIT_MODE, HUGE_PAGES), HWPT_ALLOC
 * with dirty tracking (SET_DIRTY_TRACKING, GET_DIRTY_BITMAP) and the vfio
 * compat layer (type1 ioctls below 0x80 on the same fd, on the compat IOAS).
 *
 * Pinning is lazy, as in the kernel: while no device (no domain) is attached
 * to an IOAS, MAP only records the area; dmakit_iommufd_attach_device() adds
 * an emulated VT-d domain (aperture 39 bits, the MSI window reserved, page
 * sizes 4K|2M|1G, iova_alignment 4096) and then pins and accounts everything
 * already mapped, failing whole (ENOMEM past the limit, EFAULT for memory the
 * process cannot pin, EADDRINUSE when a reserved range hits an area or an
 * allowed range).
 *
 * Requests are the kernel's values and structs (include/dmakit/uapi.h,
 * DMAKIT_IOMMU_*): dmakit_iommufd_ioctl() is ioctl(2) on the fd, returning
 * >= 0 or -errno, writing back exactly what the kernel writes back.
 *
 * Thread safety: calls on one context are serialised by its own lock.
 */
#ifndef DMAKIT_IOMMUFD_H
#define DMAKIT_IOMMUFD_H

#include <dmakit/common.h>
#include <dmakit/uapi.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dmakit_iommufd_backend {
	DMAKIT_IOMMUFD_EMU = 0,   /* the emulated kernel (default) */
	DMAKIT_IOMMUFD_LINUX = 1, /* the real kernel: /dev/iommu */
};

/* How pinned pages are charged (the kernel's iopt_pages account_mode). */
enum dmakit_iommufd_account {
	DMAKIT_IOMMUFD_ACCOUNT_USER = 0, /* user_struct->locked_vm, per uid (default) */
	DMAKIT_IOMMUFD_ACCOUNT_MM = 1,   /* mm->locked_vm, as type1 ("vfio compatible") */
};

struct dmakit_iommufd_config {
	enum dmakit_iommufd_backend backend;

	/* --- emulator only --- */
	/* The context's account mode at open: USER for /dev/iommu, MM when the
	 * fd was opened as the iommufd-provided /dev/vfio/vfio. */
	enum dmakit_iommufd_account account_mode;
	/* RLIMIT_MEMLOCK of the process, bytes; UINT64_MAX: unlimited. */
	uint64_t memlock_limit;
	/* CAP_IPC_LOCK: pages are pinned but never accounted (mode NONE).
	 * Default true (root, as in the lab). */
	bool cap_ipc_lock;
	/* CAP_SYS_RESOURCE: needed by OPTION RLIMIT_MODE SET. Default true. */
	bool cap_sys_resource;
	/* CONFIG_TRANSPARENT_HUGEPAGE=y: automatic IOVAs may be aligned up to
	 * 2 MiB (else PAGE_SIZE). Default true. */
	bool transparent_hugepage;
	/* locked_vm the uid already holds (io_uring, other processes), bytes;
	 * counted against the limit in USER mode. Default 0. */
	uint64_t user_locked_base;
	/* IOMMU_CAP_DIRTY_TRACKING of the emulated IOMMU: IOMMU_HWPT_ALLOC
	 * with DIRTY_TRACKING is EOPNOTSUPP without it. Default true. */
	bool dirty_tracking;

	/* --- linux backend only --- */
	const char *path; /* default "/dev/iommu" */
};

/** Fill @cfg with the defaults named above. */
DMAKIT_EXPORT void dmakit_iommufd_config_init(struct dmakit_iommufd_config *cfg);

struct dmakit_iommufd;

/**
 * dmakit_iommufd_open() - a new, empty context.
 * @returns 0 with *@out set, -EINVAL (bad config), -ENOMEM, or what opening
 * /dev/iommu answered (-ENOENT: the kernel has no iommufd).
 */
DMAKIT_EXPORT int dmakit_iommufd_open(const struct dmakit_iommufd_config *cfg,
				      struct dmakit_iommufd **out);

/** dmakit_iommufd_close() - destroy every object (unmapping, unpinning). NULL is fine. */
DMAKIT_EXPORT void dmakit_iommufd_close(struct dmakit_iommufd *ctx);

/**
 * dmakit_iommufd_ioctl() - one ioctl on the fd, as ioctl(2) runs it.
 * @request: DMAKIT_IOMMU_* or, for the vfio compat layer, DMAKIT_VFIO_*.
 * @arg: the request's struct (the integer cast with (void *)(uintptr_t) for
 * GET_API_VERSION, CHECK_EXTENSION and SET_IOMMU).
 */
DMAKIT_EXPORT int dmakit_iommufd_ioctl(struct dmakit_iommufd *ctx, unsigned long request,
				       void *arg);

/**
 * dmakit_iommufd_attach_device() - (emulator) attach an emulated VT-d device
 * to @pt_id, as VFIO_DEVICE_ATTACH_IOMMUFD_PT does. The device reserves
 * its region, the MSI window (EADDRINUSE on an area or an allowed range).
 * - @pt_id an IOAS: an automatic domain is made for it: everything outside
 *   the 39-bit aperture becomes reserved, iova_alignment becomes 4096 and
 *   every area is pinned and accounted.
 * - @pt_id a HWPT (from IOMMU_HWPT_ALLOC, or an automatic one): the device
 *   joins that domain.
 * @hwpt_id: receives the id of the domain's HWPT object.
 * @returns 0; -ENOENT (bad id); -EADDRINUSE (a reserved range hits an area
 * or an allowed range, or an area not aligned to 4096); -EFAULT, -ENOMEM
 * (pinning, accounting). Nothing changes on error. -EOPNOTSUPP on the linux
 * backend (bind a real device through VFIO cdev instead).
 */
DMAKIT_EXPORT int dmakit_iommufd_attach_device(struct dmakit_iommufd *ctx, uint32_t pt_id,
					       uint32_t *hwpt_id);

/**
 * dmakit_iommufd_detach_device() - (emulator) detach one device from
 * @hwpt_id; the last device of the IOAS takes the MSI window's reservation
 * with it. An automatic domain is destroyed with its last device (pages
 * unpinned and unaccounted, the aperture's reservation gone with the IOAS's
 * last domain); a user-allocated HWPT stays until IOMMU_DESTROY.
 * @returns 0 or -ENOENT (no such HWPT, or no device attached to it).
 */
DMAKIT_EXPORT int dmakit_iommufd_detach_device(struct dmakit_iommufd *ctx, uint32_t hwpt_id);

/**
 * dmakit_iommufd_bind_device() - (emulator) bind an emulated VT-d device to
 * the context, as VFIO_DEVICE_BIND_IOMMUFD does: @dev_id receives its object
 * id, the dev_id IOMMU_HWPT_ALLOC takes. The device stays bound until the
 * context closes (IOMMU_DESTROY on it is EBUSY, as for a bound VFIO device).
 * @returns 0, -ENOMEM, -EOPNOTSUPP (linux backend).
 */
DMAKIT_EXPORT int dmakit_iommufd_bind_device(struct dmakit_iommufd *ctx, uint32_t *dev_id);

/**
 * dmakit_iommufd_dma_write() - (emulator) a device attached to HWPT
 * @hwpt_id writes [iova, iova + length - 1] (bytes). Every byte must be
 * mapped writable in the HWPT's IOAS, else the IOMMU faults and nothing
 * happens. While the HWPT tracks dirty pages, the IOPTEs written become
 * dirty: whole IOPTEs, so a byte in a 2 MiB IOPTE dirties 2 MiB.
 * @returns 0; -EINVAL (length 0 or wrapping); -ENOENT (no such HWPT);
 * -ENODEV (no device attached to it); -EFAULT (a byte not mapped
 * writable); -ENOMEM (nothing changed); -EOPNOTSUPP (linux backend).
 */
DMAKIT_EXPORT int dmakit_iommufd_dma_write(struct dmakit_iommufd *ctx, uint32_t hwpt_id,
					   uint64_t iova, uint64_t length);

/**
 * dmakit_iommufd_declare_memory() - (emulator) [vaddr, vaddr + size) is memory
 * the process can pin. Once anything is declared, pinning anything else
 * fails with EFAULT. @returns 0, -EINVAL, -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_iommufd_declare_memory(struct dmakit_iommufd *ctx, uint64_t vaddr,
						uint64_t size);

/* What the context holds (emulator: exact). */
struct dmakit_iommufd_stats {
	bool exact;
	uint64_t objects;        /* live objects (IOAS, HWPT, device) */
	uint64_t areas;          /* iopt_area, all IOASes */
	uint64_t pages_objects;  /* iopt_pages (shared by COPY and splits) */
	uint64_t mapped_bytes;   /* IOVA bytes in areas */
	uint64_t pinned_bytes;   /* pages pinned (mm->pinned_vm), bytes */
	uint64_t user_locked_bytes; /* charged to user->locked_vm (USER mode), bytes */
	uint64_t mm_locked_bytes;   /* charged to mm->locked_vm (MM mode), bytes */
	uint64_t kernel_object_bytes; /* 144 bytes per iopt_area */
	bool account_mm;         /* the context's mode is MM */
};

DMAKIT_EXPORT int dmakit_iommufd_stats(struct dmakit_iommufd *ctx,
				       struct dmakit_iommufd_stats *out);

/* One area of an IOAS. */
struct dmakit_iommufd_area {
	uint64_t iova;
	uint64_t length;
	uint64_t user_va;   /* the process address its first byte comes from */
	uint32_t prot;      /* DMAKIT_IOMMU_IOAS_MAP_READABLE | _WRITEABLE */
	bool pinned;        /* stored in a domain */
};

/**
 * dmakit_iommufd_seek_area() - the lowest area of @ioas_id ending at or
 * above @iova. @returns 0, -ENOENT (none, or a bad id), -EOPNOTSUPP (linux).
 */
DMAKIT_EXPORT int dmakit_iommufd_seek_area(struct dmakit_iommufd *ctx, uint32_t ioas_id,
					   uint64_t iova, struct dmakit_iommufd_area *out);

/* The size of the kernel's struct iopt_area on x86_64. */
#define DMAKIT_KERNEL_IOPT_AREA_BYTES 144u

/* The emulated device's domain (the default VT-d platform). */
#define DMAKIT_IOMMUFD_EMU_PGSIZE_BITMAP 0x40201000ull
#define DMAKIT_IOMMUFD_EMU_APERTURE_LAST 0x7fffffffffull
#define DMAKIT_IOMMUFD_EMU_MSI_START 0xfee00000ull
#define DMAKIT_IOMMUFD_EMU_MSI_LAST 0xfeefffffull

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_IOMMUFD_H */
