/* SPDX-License-Identifier: MIT */
/*
 * dmakit discard managers: who says which parts of a RAM region are
 * populated (QEMU's RamDiscardManager), and the two that exist.
 *
 * A discard manager is attached to one RAM memory region (at most one per
 * region: a second gets -EBUSY, as memory_region_set_ram_discard_manager()
 * answers). It divides the region into *granules* (its granularity, a power
 * of two) and knows for each whether it is populated. Listeners of a section
 * of that region (a VFIO listener, include/dmakit/listener.h) register with
 * the manager and are told of every populate and discard that touches their
 * section, with the part of their section it covers.
 *
 * Notifications are transactions, which QEMU's are only partly:
 *   - populate is told BEFORE the manager marks the granules populated; the
 *     first listener that refuses makes the manager discard the listeners
 *     already told (virtio-mem's rule) and the state stays as it was;
 *   - discard is told before the manager marks them discarded (QEMU: after,
 *     and a discard cannot fail there); a listener whose unmap fails refuses,
 *     the listeners already told get the populate back, and the state stays.
 * So a failed plug, unplug or conversion leaves every listener's mappings,
 * and the manager's bitmap, exactly as before.
 *
 * The two managers:
 *
 * virtio-mem (struct dmakit_virtio_mem): a device of region_size bytes at a
 * guest address, made of blocks of block_size bytes (the granularity), each
 * plugged or not (a bitmap, all unplugged at start). The guest plugs and
 * unplugs blocks up to requested_size. Block-size rules (QEMU virtio-mem.c):
 * a power of two, at least 1 MiB (VIRTIO_MEM_MIN_BLOCK_SIZE), at least the
 * backend's page size; region size, address and requested size multiples
 * of it; the default is MAX(backend page, THP size) for ordinary memory and
 * MAX(backend page, 1 MiB) for huge-page backends, where the THP size is
 * read from sysfs (1 MiB without THP; an unparsable value falls back to the
 * architecture's: 2 MiB on x86_64). The device is one section of its whole
 * region, or with dynamic memslots nb_memslots sections (memslots) of
 * memslot_size bytes each (the last may be smaller), each shown only while
 * it holds plugged blocks:
 *   memslot_size = ALIGN_UP(region_size / limit, block_size), raised to at
 *                  least MAX(block_size, 1 GiB);
 *   nb_memslots  = ALIGN_UP(region_size, memslot_size) / memslot_size.
 *
 * guest_memfd attributes (struct dmakit_guest_memfd; QEMU 10.1's
 * RamBlockAttributes): for a confidential guest (SEV-SNP, TDX) each 4 KiB
 * page of a RAM region (one bit per host page) is private (the initial state)
 * or shared; only shared pages are populated for DMA. A conversion of a
 * range behaves as QEMU 10.1's ram_block_attributes_state_change(): nothing
 * to do if the range is already in the target state; one notification for
 * the whole range if it is wholly in the other state; one per page that
 * changes if it is mixed.
 */
#ifndef DMAKIT_DISCARD_H
#define DMAKIT_DISCARD_H

#include <dmakit/common.h>
#include <dmakit/guest_memory.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The common interface                                                       */

enum dmakit_discard_kind {
	DMAKIT_DISCARD_VIRTIO_MEM = 1,
	DMAKIT_DISCARD_GUEST_MEMFD = 2,
};

/** dmakit_discard_kind() - @returns what kind of manager @dm is. */
DMAKIT_EXPORT enum dmakit_discard_kind
dmakit_discard_kind(const struct dmakit_discard_manager *dm);

/** dmakit_discard_region() - @returns the region @dm manages. */
DMAKIT_EXPORT struct dmakit_memory_region *
dmakit_discard_region(const struct dmakit_discard_manager *dm);

/** dmakit_discard_granularity() - @returns the granularity, bytes (a power of
 * two): the smallest unit that is populated or discarded. */
DMAKIT_EXPORT uint64_t dmakit_discard_granularity(const struct dmakit_discard_manager *dm);

/**
 * dmakit_discard_is_populated() - whether every granule that [offset,
 * offset + size) touches is populated (the range is widened to whole
 * granules; no alignment needed). Offsets are region offsets.
 * @returns false for size 0 or a range outside the region.
 */
DMAKIT_EXPORT bool dmakit_discard_is_populated(const struct dmakit_discard_manager *dm,
					       uint64_t offset, uint64_t size);

/* A replay callback: one run [offset, offset + size) of region offsets in the
 * same state, clipped to the range asked for. Return 0 to go on, or -errno
 * to stop the replay with it. */
typedef int (*dmakit_discard_replay_fn)(void *opaque, uint64_t offset, uint64_t size);

/**
 * dmakit_discard_replay_populated() - call @fn once per maximal run of
 * populated granules inside [offset, offset + size), ascending.
 * @returns 0, -EINVAL (the range leaves the region), or @fn's first error.
 */
DMAKIT_EXPORT int dmakit_discard_replay_populated(const struct dmakit_discard_manager *dm,
						  uint64_t offset, uint64_t size,
						  dmakit_discard_replay_fn fn, void *opaque);

/** dmakit_discard_replay_discarded() - the same for the discarded runs. */
DMAKIT_EXPORT int dmakit_discard_replay_discarded(const struct dmakit_discard_manager *dm,
						  uint64_t offset, uint64_t size,
						  dmakit_discard_replay_fn fn, void *opaque);

/* A listener of one section of the manager's region. */
struct dmakit_discard_listener {
	/* Told before granules become populated, with the part of @section
	 * they cover (granule-aligned in region offsets, clipped to the
	 * section). Return 0, or -errno to refuse; a refusing listener must
	 * keep nothing of @part. */
	int (*populate)(struct dmakit_discard_listener *dl, const struct dmakit_section *part,
			char *err, size_t errlen);
	/* Told before granules are discarded; may cover parts already
	 * discarded (QEMU's double_discard_supported). Return 0, or -errno to
	 * refuse, keeping everything as it was. */
	int (*discard)(struct dmakit_discard_listener *dl, const struct dmakit_section *part,
		       char *err, size_t errlen);
	struct dmakit_section section; /* the section listened to; set before registering */
	void *opaque;
	/* private */
	struct dmakit_discard_manager *dm_;
	struct dmakit_discard_listener *next_;
};

/**
 * dmakit_discard_register_listener() - add @dl (its section must show @dm's
 * region) and replay the populated runs of its section through populate.
 * @returns 0; -EINVAL (the section is not of @dm's region); or the replay's
 * refusal: then the section is discarded once whole (so @dl keeps nothing)
 * and @dl is not registered.
 */
DMAKIT_EXPORT int dmakit_discard_register_listener(struct dmakit_discard_manager *dm,
						   struct dmakit_discard_listener *dl,
						   char *err, size_t errlen);

/**
 * dmakit_discard_unregister_listener() - discard @dl's whole section once
 * (double discard: one notification, whatever is populated), then drop it.
 * @returns 0, or the discard's refusal: then @dl stays registered.
 */
DMAKIT_EXPORT int dmakit_discard_unregister_listener(struct dmakit_discard_listener *dl,
						     char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* virtio-mem                                                                 */

/* The most granules a discard manager tracks (its bitmap is allocated whole:
 * 512 MiB at this bound): 8 PiB of virtio-mem at 2 MiB blocks, 16 TiB of
 * guest_memfd at 4 KiB. A larger device is refused with -EINVAL. */
#define DMAKIT_DISCARD_MAX_GRANULES (1ull << 32)

#define DMAKIT_MiB (1ull << 20)
#define DMAKIT_GiB (1ull << 30)
#define DMAKIT_VIRTIO_MEM_MIN_BLOCK_SIZE DMAKIT_MiB       /* 1 MiB */
#define DMAKIT_VIRTIO_MEM_MIN_MEMSLOT_SIZE DMAKIT_GiB     /* 1 GiB */
/* VIRTIO_MEM_USABLE_EXTENT on x86_64 and s390x: 2 x 128 MiB. */
#define DMAKIT_VIRTIO_MEM_USABLE_EXTENT_X86 (256ull * DMAKIT_MiB)

/* The architectures whose THP fallback QEMU knows. */
enum dmakit_arch {
	DMAKIT_ARCH_X86_64 = 0,
	DMAKIT_ARCH_ARM = 1,
	DMAKIT_ARCH_PPC64 = 2,
	DMAKIT_ARCH_AARCH64 = 3, /* THP size follows the base page: 4K/16K/64K */
	DMAKIT_ARCH_S390X = 4,
	DMAKIT_ARCH_OTHER = 5,
};

/**
 * dmakit_virtio_mem_default_thp_size() - the THP size QEMU assumes when it
 * cannot read it (virtio_mem_default_thp_size()): 2 MiB on x86_64, arm and
 * ppc64; on aarch64 2 MiB, 32 MiB or 512 MiB for base pages of 4, 16 or
 * 64 KiB (1 MiB for any other); 1 MiB on s390x and elsewhere.
 * @host_page_size: the base page size, bytes (aarch64 only).
 */
DMAKIT_EXPORT uint64_t dmakit_virtio_mem_default_thp_size(enum dmakit_arch arch,
							  uint64_t host_page_size);

/**
 * dmakit_virtio_mem_thp_size() - the THP size as QEMU finds it
 * (virtio_mem_thp_size()): if @sysfs_dir (NULL:
 * "/sys/kernel/mm/transparent_hugepage") does not exist, 1 MiB (no THP);
 * else the value in its hpage_pmd_size if that parses as a power of two;
 * else the architecture's default, with *@fell_back set (QEMU warns).
 * @fell_back: may be NULL.
 * @returns bytes.
 */
DMAKIT_EXPORT uint64_t dmakit_virtio_mem_thp_size(const char *sysfs_dir, enum dmakit_arch arch,
						  uint64_t host_page_size, bool *fell_back);

/**
 * dmakit_virtio_mem_default_block_size() - virtio_mem_default_block_size():
 * MAX(@backend_page_size, @thp_size) when the backend page is the host's
 * base page, MAX(@backend_page_size, 1 MiB) otherwise (hugetlbfs).
 * @returns bytes.
 */
DMAKIT_EXPORT uint64_t dmakit_virtio_mem_default_block_size(uint64_t backend_page_size,
							    uint64_t host_page_size,
							    uint64_t thp_size);

/**
 * dmakit_virtio_mem_decide_memslots() - virtio_mem_decide_memslots():
 * @limit: the memslot decision limit (memory_device_memslot_decision_limit();
 * 0 is taken as 1).
 * @memslot_size, @nb_memslots: the decision (see the file header).
 * @returns 0, or -EINVAL (region or block size 0, block size not a power of
 * two).
 */
DMAKIT_EXPORT int dmakit_virtio_mem_decide_memslots(uint64_t region_size, uint64_t block_size,
						    unsigned int limit, uint64_t *memslot_size,
						    unsigned int *nb_memslots);

struct dmakit_virtio_mem_config {
	const char *name;          /* the region's name; NULL: "virtio-mem" */
	uint64_t region_size;      /* the memdev's size, bytes */
	uint64_t hva;              /* host address of the memdev's offset 0 */
	uint64_t addr;             /* guest address of the device region */
	uint64_t requested_size;   /* bytes the guest is asked to plug */
	uint64_t block_size;       /* 0: the default rule */
	uint64_t backend_page_size; /* 0: host_page_size */
	uint64_t host_page_size;    /* 0: 4096 */
	/* THP size for the default; 0: dmakit_virtio_mem_thp_size(thp_sysfs_dir,
	 * arch, host_page_size). */
	uint64_t thp_size;
	const char *thp_sysfs_dir; /* NULL: the real sysfs path */
	enum dmakit_arch arch;     /* default x86_64 */
	bool dynamic_memslots;     /* needs unplugged_inaccessible */
	bool unplugged_inaccessible; /* default true */
	unsigned int memslot_limit; /* the decision limit; 0: 1 */
	uint64_t usable_extent;    /* 0: 256 MiB (x86_64) */
};

/** dmakit_virtio_mem_config_init() - zero @cfg, then the defaults above. */
DMAKIT_EXPORT void dmakit_virtio_mem_config_init(struct dmakit_virtio_mem_config *cfg);

struct dmakit_virtio_mem;

/**
 * dmakit_virtio_mem_create() - realize a device: check the block size and
 * sizes, decide the memslots, and make its RAM region with this device as
 * its discard manager. It is not in any address space yet.
 * @warn, @warnlen: receives a warning that QEMU would print (a block size
 * below the default; the THP fallback), or "" (may be NULL).
 * @err, @errlen: the reason for -EINVAL.
 * @returns 0 with *@out set; -EINVAL; -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_virtio_mem_create(const struct dmakit_virtio_mem_config *cfg,
					   struct dmakit_virtio_mem **out,
					   char *warn, size_t warnlen, char *err, size_t errlen);

/**
 * dmakit_virtio_mem_destroy() - unplug from its address space if needed
 * (failures ignored), free the region and the device. NULL is fine.
 */
DMAKIT_EXPORT void dmakit_virtio_mem_destroy(struct dmakit_virtio_mem *vm);

/**
 * dmakit_virtio_mem_plug_device() - put the device in @as (hotplug or
 * boot): without dynamic memslots its one section now; with them, the
 * memslots that hold plugged blocks.
 * @returns 0; -EBUSY (already in an AS); or the section add's error (all
 * sections added by this call are removed again).
 */
DMAKIT_EXPORT int dmakit_virtio_mem_plug_device(struct dmakit_virtio_mem *vm,
						struct dmakit_address_space *as,
						char *err, size_t errlen);

/**
 * dmakit_virtio_mem_unplug_device() - take every section of the device out
 * of its address space (blocks stay plugged).
 * @returns 0, -ENOENT (not in an AS), or a section removal's error (the
 * sections already removed come back).
 */
DMAKIT_EXPORT int dmakit_virtio_mem_unplug_device(struct dmakit_virtio_mem *vm,
						  char *err, size_t errlen);

/* The device's answers to a guest request (VIRTIO_MEM_RESP_*). */
enum dmakit_virtio_mem_resp {
	DMAKIT_VIRTIO_MEM_RESP_ACK = 0,
	DMAKIT_VIRTIO_MEM_RESP_NACK = 1,  /* plug beyond requested_size */
	DMAKIT_VIRTIO_MEM_RESP_BUSY = 2,  /* a listener refused (mapping, budget) */
	DMAKIT_VIRTIO_MEM_RESP_ERROR = 3, /* invalid range or block states */
};

/**
 * dmakit_virtio_mem_request() - a guest PLUG (@plug) or UNPLUG request of
 * @nb_blocks blocks from guest address @gpa.
 * Plug: the range must be block-aligned, inside the usable region and wholly
 * unplugged (ERROR), within requested_size (NACK); the memslots it needs are
 * made active first (runtime section adds: a listener's budget check may
 * refuse them), then listeners populate, then the bitmap is set.
 * Unplug: wholly plugged (ERROR); listeners discard, the bitmap is cleared,
 * memslots left empty go inactive.
 * @resp: the answer (may be NULL).
 * @returns 0 for ACK; -EINVAL for ERROR; -ENOSPC for NACK; for BUSY the
 * listener's -errno. On anything but ACK nothing changed.
 */
DMAKIT_EXPORT int dmakit_virtio_mem_request(struct dmakit_virtio_mem *vm, bool plug,
					    uint64_t gpa, uint64_t nb_blocks,
					    enum dmakit_virtio_mem_resp *resp,
					    char *err, size_t errlen);

/**
 * dmakit_virtio_mem_unplug_all() - the guest's UNPLUG_ALL: one discard of
 * each listener's whole section, clear the bitmap, every memslot inactive.
 * @returns 0, or the listener's -errno (BUSY; nothing changed).
 */
DMAKIT_EXPORT int dmakit_virtio_mem_unplug_all(struct dmakit_virtio_mem *vm,
					       enum dmakit_virtio_mem_resp *resp,
					       char *err, size_t errlen);

/**
 * dmakit_virtio_mem_set_requested_size() - the host asks for @size bytes
 * (a multiple of the block size, at most the region size); also resizes
 * the usable region as QEMU does. @returns 0 or -EINVAL.
 */
DMAKIT_EXPORT int dmakit_virtio_mem_set_requested_size(struct dmakit_virtio_mem *vm,
						       uint64_t size);

struct dmakit_virtio_mem_info {
	uint64_t region_size, block_size, addr;
	uint64_t requested_size;
	uint64_t plugged_size;      /* bytes plugged */
	uint64_t usable_region_size;
	bool dynamic_memslots;
	uint64_t memslot_size;      /* = region_size without dynamic memslots */
	unsigned int nb_memslots;   /* 1 without dynamic memslots */
	unsigned int active_memslots; /* sections in the AS now */
};

/** dmakit_virtio_mem_info() - fill @out with the device's sizes and state. */
DMAKIT_EXPORT void dmakit_virtio_mem_info(const struct dmakit_virtio_mem *vm,
					  struct dmakit_virtio_mem_info *out);

/** dmakit_virtio_mem_block_plugged() - @returns whether block @index (0-based;
 * block i is region bytes [i * block_size, (i + 1) * block_size)) is plugged. */
DMAKIT_EXPORT bool dmakit_virtio_mem_block_plugged(const struct dmakit_virtio_mem *vm,
						   uint64_t index);

/** dmakit_virtio_mem_manager() - @returns the device as a discard manager. */
DMAKIT_EXPORT struct dmakit_discard_manager *
dmakit_virtio_mem_manager(struct dmakit_virtio_mem *vm);
/** dmakit_virtio_mem_region() - @returns the device's memdev region (owned by
 * the device; sections of it may be added by hand, e.g. at another gpa). */
DMAKIT_EXPORT struct dmakit_memory_region *dmakit_virtio_mem_region(struct dmakit_virtio_mem *vm);

/* ------------------------------------------------------------------------ */
/* guest_memfd attributes (RamBlockAttributes)                                */

struct dmakit_guest_memfd;

/**
 * dmakit_guest_memfd_create() - attach shared/private attributes to RAM
 * region @mr: one bit per @host_page_size bytes (0: 4096), all private.
 * @returns 0 with *@out set; -EINVAL (not RAM, page size not a power of two
 * of at least 4096); -EBUSY (@mr already has a discard manager, or a
 * section shows it: the manager may only be set while it is not mapped);
 * -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_guest_memfd_create(struct dmakit_memory_region *mr,
					    uint64_t host_page_size,
					    struct dmakit_guest_memfd **out);

/** dmakit_guest_memfd_destroy() - detach from the region; its sections must be
 * gone. @returns 0 or -EBUSY. NULL is 0. */
DMAKIT_EXPORT int dmakit_guest_memfd_destroy(struct dmakit_guest_memfd *gm);

/* How a conversion went (for tests and traces). */
enum dmakit_gmfd_case {
	DMAKIT_GMFD_NOTHING = 0, /* already in the target state */
	DMAKIT_GMFD_WHOLE = 1,   /* wholly in the other state: one notification */
	DMAKIT_GMFD_MIXED = 2,   /* one notification per page that changes */
};

struct dmakit_gmfd_result {
	enum dmakit_gmfd_case which;
	uint64_t notifications; /* populate/discard notifications sent */
	uint64_t pages_changed;
};

/**
 * dmakit_guest_memfd_convert() - convert [offset, offset + size) of the
 * region to private (@to_private) or shared (kvm_convert_memory()).
 * @offset, @size: multiples of the page size, no wrap, inside the region.
 * @res: may be NULL.
 * @returns 0; -EINVAL; or a listener's refusal: the pages this call changed
 * are changed back (mixed case: the listeners get the reverse notification
 * per page) and nothing differs from before. (QEMU 10.1 leaves the bitmap
 * half-converted there.)
 */
DMAKIT_EXPORT int dmakit_guest_memfd_convert(struct dmakit_guest_memfd *gm, uint64_t offset,
					     uint64_t size, bool to_private,
					     struct dmakit_gmfd_result *res,
					     char *err, size_t errlen);

/** dmakit_guest_memfd_is_shared() - @returns whether every page [offset,
 * offset + size) touches is shared (region offsets, bytes). */
DMAKIT_EXPORT bool dmakit_guest_memfd_is_shared(const struct dmakit_guest_memfd *gm,
						uint64_t offset, uint64_t size);

/** dmakit_guest_memfd_shared_bytes() - @returns bytes shared now. */
DMAKIT_EXPORT uint64_t dmakit_guest_memfd_shared_bytes(const struct dmakit_guest_memfd *gm);

/** dmakit_guest_memfd_manager() - @returns the attributes as a discard manager. */
DMAKIT_EXPORT struct dmakit_discard_manager *
dmakit_guest_memfd_manager(struct dmakit_guest_memfd *gm);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_DISCARD_H */
