/* SPDX-License-Identifier: MIT */
/*
 * dmakit container: one VFIO container, emulated or real.
 *
 * A container is what a VMM opens as /dev/vfio/vfio. dmakit gives it two
 * backends behind one ops table:
 *   - "emu": the kernel emulated in-process, answering VFIO type1 exactly as
 *     Linux does (checks in the kernel's order, the same errno, the same
 *     capability chain byte for byte), with dma_entry_limit, memlock
 *     accounting, dirty tracking and an IO page-table model. Needs nothing.
 *   - "linux": the real kernel, through /dev/vfio/vfio and a group file.
 *
 * The container is driven with the kernel's own request structs
 * (include/dmakit/uapi.h): dmakit_container_ioctl() takes the same request
 * values and argument structs as ioctl(2) on the container fd, so a VMM's
 * existing code path runs against the emulator unchanged. The typed wrappers
 * below only save casts.
 *
 * Lifecycle: open (a container with one group attached, as after
 * VFIO_GROUP_SET_CONTAINER) -> SET_IOMMU (by open when config.iommu_type is
 * non-zero, or by the caller) -> MAP/UNMAP/GET_INFO/DIRTY_PAGES -> close.
 * Closing releases every mapping (the kernel's container release).
 *
 * Thread safety: calls on one container are serialised by its own lock, so
 * several threads may share a container.
 */
#ifndef DMAKIT_CONTAINER_H
#define DMAKIT_CONTAINER_H

#include <dmakit/common.h>
#include <dmakit/uapi.h>
#include <dmakit/iopt_model.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dmakit_backend_kind {
	DMAKIT_BACKEND_EMU = 0,   /* the emulated kernel (default) */
	DMAKIT_BACKEND_LINUX = 1, /* the real kernel: /dev/vfio/vfio */
	/* iommufd's vfio compat layer, emulated (include/dmakit/iommufd.h): a
	 * type1-compatible container on an iommufd context. */
	DMAKIT_BACKEND_EMU_IOMMUFD = 2,
};

/* Which kernel the emulator reproduces where versions differ. */
enum dmakit_kernel_profile {
	/* Linux 6.1 (Debian 12): an address-overflow check answers EINVAL. */
	DMAKIT_KERNEL_6_1 = 0,
	/* Linux 6.18 and later: EOVERFLOW, inclusive comparisons up to 2^64-1. */
	DMAKIT_KERNEL_6_18 = 1,
	/* Linux 6.12 (Debian 12's bookworm-security kernel), as the lab saw it:
	 * 6.1's overflow checks (EINVAL) and its type1 NESTING type, 6.18's
	 * GET_INFO (the struct zero-initialised, argsz 120). */
	DMAKIT_KERNEL_6_12 = 2,
};

/*
 * How the emulated type1 kernel bounds what one container makes the kernel
 * allocate. COUNT is Linux as it is (every version); the others are the
 * maintainers' PROPOSALS (2025 qemu-devel thread), modelled so VMMs and
 * planners can be tried against them. They are NOT kernel facts: no Linux
 * release reports DMA_AVAIL version 2 or charges a per-container budget.
 * docs/profiles.md compares them on the examples.
 */
enum dmakit_limit_policy {
	/* Linux today: at most dma_entry_limit mappings, ENOSPC past it;
	 * DMA_AVAIL (version 1) reports how many remain. */
	DMAKIT_LIMIT_COUNT = 0,
	/* PROPOSAL "report unlimited": no count limit (MAP never fails with
	 * ENOSPC), the 96-byte vfio_dma charged to the process's memcg
	 * (GFP_KERNEL_ACCOUNT; not modelled); DMA_AVAIL is version 2 and reports
	 * DMAKIT_VFIO_DMA_AVAIL_UNLIMITED. The kernel still knows how many
	 * mappings exist (stats), it just stops limiting them. */
	DMAKIT_LIMIT_REPORT_UNLIMITED = 1,
	/* PROPOSAL "account bytes": no count limit; each mapping's bookkeeping
	 * (vfio_dma 96 bytes, the IO page-table pages the model allocates, the
	 * dirty bitmap while tracking) is charged to kernel_budget_bytes. A MAP
	 * whose worst case (96 + its bitmap + 4096 x the table pages it would
	 * need in an empty domain) does not fit what is left fails with ENOMEM
	 * before anything changes; DIRTY_PAGES START whose bitmaps do not fit
	 * fails with ENOMEM. DMA_AVAIL as REPORT_UNLIMITED. Needs
	 * model_page_tables. */
	DMAKIT_LIMIT_ACCOUNT_BYTES = 2,
	/* PROPOSAL "drop the cap" ("let QEMU fix itself"): no count limit and
	 * NO DMA_AVAIL capability; the VMM's reading of an absent capability
	 * (listener dma_limit_source) decides. */
	DMAKIT_LIMIT_DROP_CAP = 3,
};

/* PROPOSAL: DMA_AVAIL capability version 2 means "avail is not a count";
 * avail is then DMAKIT_VFIO_DMA_AVAIL_UNLIMITED. A version-1 reader (QEMU
 * does not check the version) sees 2^32-1 mappings available. */
#define DMAKIT_VFIO_DMA_AVAIL_VERSION_UNLIMITED 2
#define DMAKIT_VFIO_DMA_AVAIL_UNLIMITED 0xffffffffu
/* ACCOUNT_BYTES budget when kernel_budget_bytes is 0. */
#define DMAKIT_DEFAULT_KERNEL_BUDGET (1ull << 30)
/* One IO page-table page. */
#define DMAKIT_IOPT_TABLE_PAGE_BYTES 4096u

struct dmakit_container_config {
	enum dmakit_backend_kind backend;
	/* VFIO_SET_IOMMU done by open: 0 (the caller will), 1 (type1, v1
	 * unmap rules) or 3 (type1v2). */
	uint32_t iommu_type;

	/* --- emulator only --- */
	enum dmakit_kernel_profile kernel;
	/* vfio_iommu_type1.dma_entry_limit as it stands when SET_IOMMU runs;
	 * default 65535. */
	uint32_t dma_entry_limit;
	/* RLIMIT_MEMLOCK of the process, bytes; UINT64_MAX: unlimited. */
	uint64_t memlock_limit;
	/* The process has CAP_IPC_LOCK: pinned pages are counted but the limit
	 * is not enforced. Default true (root, as in the lab). */
	bool cap_ipc_lock;
	/* vfio_iommu_type1.disable_hugepages: every IOMMU page is 4 KiB. */
	bool disable_hugepages;
	/* Physical contiguity of the process memory, bytes (a power of two,
	 * >= 4096): 4096 for plain pages, 2 MiB for THP/hugetlb. Runs handed to
	 * iommu_map() end at every multiple of it. Default 4096. */
	uint64_t backing_page_size;
	/* Keep the IO page-table model (PTE and table counts). Default true. */
	bool model_page_tables;
	/* How the emulated type1 bounds a container's kernel memory
	 * (docs/profiles.md). Default DMAKIT_LIMIT_COUNT: the kernel as it is.
	 * The others are PROPOSALS, not kernel behaviour. */
	enum dmakit_limit_policy limit_policy;
	/* DMAKIT_LIMIT_ACCOUNT_BYTES: the container's budget of kernel memory,
	 * bytes; 0: DMAKIT_DEFAULT_KERNEL_BUDGET; UINT64_MAX: unlimited. */
	uint64_t kernel_budget_bytes;

	/* --- linux backend only --- */
	const char *container_path; /* default "/dev/vfio/vfio" */
	const char *group_path;     /* "/dev/vfio/N"; required */

	/* --- the library's own safety caps (emu and emu-iommufd backends) ---
	 * Independent of dma_entry_limit: a cap on what the library lets one
	 * container hold in its own memory, checked before anything is
	 * allocated for a MAP_DMA that would add a mapping (a VADDR remap adds
	 * none). Past a cap that MAP_DMA fails with -ENOMEM, as an allocation
	 * failure would (never -ENOSPC, which is the emulated kernel's
	 * dma_entry_limit answer), and nothing changes. The cap never
	 * pre-empts the kernel's own answer: "emu" checks it where its kernel
	 * allocates the vfio_dma, after every check the kernel makes (EINVAL,
	 * EOVERFLOW, EEXIST, ENOSPC come first); "emu-iommufd" checks it after
	 * the compat layer has accepted the MAP_DMA, undoing that one area
	 * (EEXIST, EINVAL, EOVERFLOW and memlock's ENOMEM come first). 0: no cap.
	 * The defaults are far above anything dma_entry_limit (at most 2^32-1)
	 * lets a realistic run reach, so they never change emulated semantics. */
	uint64_t max_mappings;          /* default DMAKIT_DEFAULT_MAX_MAPPINGS */
	/* Estimated bookkeeping bytes: DMAKIT_BOOKKEEPING_BYTES_PER_MAPPING per
	 * mapping plus the dirty bitmaps (with the new mapping's counted). */
	uint64_t max_bookkeeping_bytes; /* default DMAKIT_DEFAULT_MAX_BOOKKEEPING_BYTES */
	/* Emulator only: the IOMMU's address width in bits, 39 (the default:
	 * VT-d as QEMU's q35 shows it to a 6.1 guest, IOVAs up to
	 * 0x7fffffffff) or 48 (a 4-level VT-d or AMD-Vi host, IOVAs up to
	 * 0xffffffffffff, needed to map guests above 512 GiB). */
	uint32_t iova_bits;
};

/* The defaults of the safety caps: 2^28 mappings, 16 GiB of bookkeeping. */
#define DMAKIT_DEFAULT_MAX_MAPPINGS (1ull << 28)
#define DMAKIT_DEFAULT_MAX_BOOKKEEPING_BYTES (16ull << 30)
/* The estimate's cost of one mapping: a range-table slot (26.5 to about 38
 * bytes measured, docs/engine.md) with room for inner nodes and slack. */
#define DMAKIT_BOOKKEEPING_BYTES_PER_MAPPING 64u

/** Fill @cfg with the defaults named above (emu, type1v2, Linux 6.1, 65535). */
DMAKIT_EXPORT void dmakit_container_config_init(struct dmakit_container_config *cfg);

struct dmakit_container;

/**
 * dmakit_container_open() - open a container as @cfg says.
 * @returns 0 with *@out set, or -errno: -EINVAL for a bad config, -ENOMEM,
 * or what the real kernel answered (-ENOENT for a missing group file,
 * -EPERM, -EBUSY, ...). Nothing is left open on error.
 */
DMAKIT_EXPORT int dmakit_container_open(const struct dmakit_container_config *cfg,
					struct dmakit_container **out);

/** dmakit_container_close() - release every mapping and the container. NULL is fine. */
DMAKIT_EXPORT void dmakit_container_close(struct dmakit_container *c);

/** @returns the backend's name: "emu", "linux" or "emu-iommufd". */
DMAKIT_EXPORT const char *dmakit_container_backend_name(const struct dmakit_container *c);

/**
 * dmakit_container_ioctl() - one container ioctl, as ioctl(2) would run it.
 * @request: DMAKIT_VFIO_* (the kernel's values).
 * @arg: the request's struct, or for GET_API_VERSION, CHECK_EXTENSION and
 * SET_IOMMU the integer argument cast with (void *)(uintptr_t).
 * @returns what the kernel returns (>= 0), or -errno exactly as the kernel
 * fails it. Output fields are written back only where the kernel writes them.
 */
DMAKIT_EXPORT int dmakit_container_ioctl(struct dmakit_container *c, unsigned long request,
					 void *arg);

/* Typed wrappers of dmakit_container_ioctl(). */
DMAKIT_EXPORT int dmakit_container_set_iommu(struct dmakit_container *c, uint32_t type);
DMAKIT_EXPORT int dmakit_container_check_extension(struct dmakit_container *c, uint32_t ext);
DMAKIT_EXPORT int dmakit_container_map_dma(struct dmakit_container *c,
					   struct dmakit_vfio_iommu_type1_dma_map *map);
DMAKIT_EXPORT int dmakit_container_unmap_dma(struct dmakit_container *c,
					     struct dmakit_vfio_iommu_type1_dma_unmap *unmap);
/* @info points at a buffer of info->argsz bytes. */
DMAKIT_EXPORT int dmakit_container_get_info(struct dmakit_container *c,
					    struct dmakit_vfio_iommu_type1_info *info);
DMAKIT_EXPORT int dmakit_container_dirty_pages(struct dmakit_container *c,
					       struct dmakit_vfio_iommu_type1_dirty_bitmap *dirty);

/**
 * dmakit_container_declare_memory() - tell the emulator that [vaddr, vaddr +
 * size) is memory of the process it may pin. Once any memory is declared, a
 * MAP whose vaddr range is not wholly inside declared memory fails with
 * EFAULT, as pinning fails in the kernel. Until then every vaddr pins. The
 * real kernel checks the process's real mappings and ignores this call.
 * @returns 0, -EINVAL (size 0 or wrap-around) or -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_container_declare_memory(struct dmakit_container *c,
						  uint64_t vaddr, uint64_t size);

/* One mapping (one struct vfio_dma) as the backend holds it. */
struct dmakit_mapping {
	uint64_t iova;
	uint64_t size;  /* bytes */
	uint64_t vaddr;
	uint32_t flags; /* DMAKIT_VFIO_DMA_MAP_FLAG_READ / _WRITE it was made with */
	bool vaddr_valid; /* false between an invalidate and its remap */
};

/**
 * dmakit_container_seek_mapping() - the lowest mapping that ends at or above
 * @iova (the one holding @iova, or the next one up).
 * @returns 0 with @out filled, -ENOENT when there is none, -EOPNOTSUPP on a
 * backend that cannot list its mappings (the real kernel has no such ioctl).
 */
DMAKIT_EXPORT int dmakit_container_seek_mapping(struct dmakit_container *c, uint64_t iova,
						struct dmakit_mapping *out);

/* What GET_INFO said, parsed. */
#define DMAKIT_INFO_MAX_RANGES 64
struct dmakit_type1_info {
	uint32_t flags;   /* DMAKIT_VFIO_IOMMU_INFO_* */
	uint64_t pgsizes; /* iova_pgsizes */
	bool has_dma_avail;
	uint32_t dma_avail;
	bool has_migration;
	uint32_t migration_flags;
	uint64_t migration_pgsize_bitmap;
	uint64_t migration_max_dirty_bitmap_size;
	bool has_iova_ranges;
	uint32_t nr_iova_ranges; /* as reported; at most DMAKIT_INFO_MAX_RANGES are kept */
	struct dmakit_vfio_iova_range iova_ranges[DMAKIT_INFO_MAX_RANGES];
};

/**
 * dmakit_type1_info_parse() - walk the capability chain of a GET_INFO answer.
 * @buf: the info struct as GET_INFO left it; @len: bytes of @buf.
 * @returns 0, or -EPROTO for a chain that points outside @buf or loops.
 */
DMAKIT_EXPORT int dmakit_type1_info_parse(const void *buf, size_t len,
					  struct dmakit_type1_info *out);

/**
 * dmakit_container_query_info() - GET_INFO with a buffer grown until the
 * chain fits (as VMMs do), then parsed.
 * @returns 0 or the ioctl's -errno.
 */
DMAKIT_EXPORT int dmakit_container_query_info(struct dmakit_container *c,
					      struct dmakit_type1_info *out);

/* Counters of what the container holds, for tools and tests. The emulator
 * knows all of them; the linux backend fills what user space can see
 * (mappings it made through this handle and DMA_AVAIL) and sets `exact`
 * to false. */
struct dmakit_container_stats {
	bool exact;
	uint64_t mappings;     /* live struct vfio_dma */
	uint32_t dma_avail;    /* what DMA_AVAIL would report */
	uint64_t mapped_bytes; /* bytes of IOVA mapped */
	uint64_t locked_bytes; /* bytes accounted to the process's locked_vm */
	uint64_t invalid_vaddr_mappings; /* mappings with vaddr invalidated (CPR) */
	bool dirty_tracking;
	/* Kernel memory: 96 bytes of slab per vfio_dma plus dirty bitmaps. */
	uint64_t kernel_object_bytes;
	struct dmakit_iopt_stats iopt; /* the IO page-table model (all zero if off) */
	/* DMAKIT_LIMIT_ACCOUNT_BYTES (emulator): bytes charged to the budget
	 * (96 per mapping + 4096 per IO page-table page below the top table +
	 * dirty bitmaps) and the budget; both 0 under the other policies. */
	uint64_t budget_used;
	uint64_t budget_limit;
};

DMAKIT_EXPORT int dmakit_container_stats(struct dmakit_container *c,
					 struct dmakit_container_stats *out);

/* The size of the kernel's struct vfio_dma on x86_64 (kmalloc-96). */
#define DMAKIT_KERNEL_VFIO_DMA_BYTES 96u

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_CONTAINER_H */
