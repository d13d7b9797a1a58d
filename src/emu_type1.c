/* SPDX-License-Identifier: MIT */
/*
 * The emulated kernel: Linux's vfio_iommu_type1 driver, answered in-process.
 *
 * Model. One container, one IOMMU-backed group attached (as after
 * VFIO_GROUP_SET_CONTAINER with a passthrough PCI device), one IOMMU domain
 * of the default platform: Intel VT-d, 39-bit, page sizes 4K|2M|1G, valid
 * IOVA ranges [0, 0xfedfffff] and [0xfef00000, 0x7fffffffff] (the MSI window
 * is reserved). Each successful MAP_DMA is one `struct vfio_dma`, kept in the
 * range table; adjacent mappings are never merged.
 *
 * Every ioctl runs its checks in the kernel's order and fails with the
 * kernel's errno (docs/kernel-semantics.md in the project references the
 * rules; tests/unit/test_type1_rules.c has one test per rule). Where Linux 6.1
 * and 6.18 differ, cfg.kernel picks the behaviour.
 *
 * Invariants, true between calls:
 *   - dma_avail + count(dmas) == dma_entry_limit (every removal returns one);
 *   - locked_pages == sum over dmas of size / PAGE_SIZE (every dma is pinned
 *     and accounted once; mapping the same memory twice counts twice);
 *   - mapped_bytes == sum of dma sizes;
 *   - vaddr_invalid_count == number of dmas marked vaddr-invalid;
 *   - bitmap_bytes == sum of the dirty bitmaps' sizes while tracking is on,
 *     0 otherwise.
 * Under the limit policies that drop the count (cfg.limit_policy other than
 * COUNT, PROPOSALS: docs/profiles.md) dma_avail stays at 2^32-1 and the first
 * invariant is replaced by: under ACCOUNT_BYTES, budget_used() <= budget
 * after every call that succeeds (checked before anything is allocated).
 * A call that fails leaves all of them, and the table, as they were. The IO
 * page-table model alone may keep empty table pages after a MAP that failed
 * part-way through its runs, exactly as the kernel's iommu_unmap() unwind
 * does (it frees a table only when one call covers the table's span).
 *
 * Payload: a dma's range-table value packs its vaddr (page aligned, so the
 * low 12 bits are free) with its flags in those low bits.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <dmakit/container.h>
#include <dmakit/iopt_model.h>
#include <dmakit/profiles.h>
#include <dmakit/range_table.h>

#include "alloc.h"
#include "bitmap.h"
#include "backend.h"
#include "range_table_internal.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

/* Platform: the default emulated VT-d domain. */
#define EMU_PGSIZE_BITMAP 0x40201000ull
/* The valid IOVA ranges: below the MSI window, and above it up to the
 * address width (emu->iova_top). */
#define EMU_NR_IOVA_RANGES 2
#define EMU_MSI_FIRST 0xfee00000ull
#define EMU_MSI_LAST 0xfeefffffull

/* Highest user address access_ok() accepts on x86_64 (TASK_SIZE_MAX). */
#define USER_ADDR_LIMIT 0x00007ffffffff000ull

/* Flags in the low bits of a dma's packed value. */
#define DMA_PROT_READ     0x1ull /* IOMMU_READ */
#define DMA_PROT_WRITE    0x2ull /* IOMMU_WRITE */
#define DMA_VADDR_INVALID 0x4ull
#define DMA_LOCK_CAP      0x8ull
#define DMA_FLAG_BITS     0xfffull

struct emu_dma {
	uint64_t iova;
	uint64_t size; /* bytes */
	uint64_t vaddr;
	uint64_t flags;
};

struct emu_type1 {
	struct dmakit_container_config cfg;
	struct dmakit_range_table *dmas;   /* iova -> packed vaddr|flags */
	struct dmakit_range_table *memory; /* declared pinnable vaddr ranges */
	struct dmakit_iopt_model *iopt;    /* NULL when the model is off */
	bool iommu_set;                    /* SET_IOMMU has run */
	bool v2;
	bool dirty_tracking;
	uint32_t dma_avail;
	uint64_t pgsize_bitmap;
	uint64_t vaddr_invalid_count;
	uint64_t locked_pages;  /* this process's mm->locked_vm, pages */
	uint64_t mapped_bytes;
	uint64_t bitmap_bytes;  /* dirty bitmaps while tracking, bytes */
	struct dmakit_vfio_iova_range iova_ranges[EMU_NR_IOVA_RANGES]; /* ends inclusive */
	uint64_t budget;        /* ACCOUNT_BYTES: bytes; UINT64_MAX unlimited */
	/* While tracking: each dma's kernel-side dirty bitmap, keyed like the
	 * dma, value a uint64_t array of dma_bitmap_words() words. */
	struct dmakit_range_table *bitmaps;
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */

static inline uint64_t dma_pack(uint64_t vaddr, uint64_t flags)
{
	return (vaddr & ~DMA_FLAG_BITS) | (flags & DMA_FLAG_BITS);
}

static inline void dma_unpack(const struct dmakit_range *r, struct emu_dma *dma)
{
	dma->iova = r->start;
	dma->size = r->last - r->start + 1;
	dma->vaddr = r->value & ~DMA_FLAG_BITS;
	dma->flags = r->value & DMA_FLAG_BITS;
}

/* The address-overflow checks of 6.18-rc4 and later (EOVERFLOW, inclusive
 * ends); 6.1 and 6.12 have the older ones (EINVAL, exclusive ends). */
static bool new_overflow_checks(const struct emu_type1 *emu)
{
	return emu->cfg.kernel == DMAKIT_KERNEL_6_18;
}

/* The errno of an address-overflow check: EOVERFLOW since 6.18-rc4. */
static int overflow_errno(const struct emu_type1 *emu)
{
	return new_overflow_checks(emu) ? -EOVERFLOW : -EINVAL;
}

/* VFIO_TYPE1_NESTING_IOMMU is still a type1 type (6.1 and 6.12, seen in
 * the lab); 6.18 accepts no such type. */
static bool has_nesting_type(const struct emu_type1 *emu)
{
	return emu->cfg.kernel != DMAKIT_KERNEL_6_18;
}

/* The policy counts mappings (DMA_AVAIL is a count, ENOSPC at 0). */
static bool counted(const struct emu_type1 *emu)
{
	return emu->cfg.limit_policy == DMAKIT_LIMIT_COUNT;
}

static bool accounted(const struct emu_type1 *emu)
{
	return emu->cfg.limit_policy == DMAKIT_LIMIT_ACCOUNT_BYTES;
}

/*
 * ACCOUNT_BYTES: what the container is charged now: 96 bytes per vfio_dma,
 * every IO page-table page below the top table (tables an unmap left empty
 * included: they are still allocated), the dirty bitmaps.
 */
static uint64_t budget_used(const struct emu_type1 *emu)
{
	struct dmakit_iopt_stats st;
	uint64_t used = dmakit_range_table_count(emu->dmas) * DMAKIT_KERNEL_VFIO_DMA_BYTES +
			emu->bitmap_bytes;

	if (emu->iopt) {
		dmakit_iopt_model_stats(emu->iopt, &st);
		if (st.table_pages > 1)
			used += (st.table_pages - 1) * DMAKIT_IOPT_TABLE_PAGE_BYTES;
	}
	return used;
}

/* ACCOUNT_BYTES: 0 if @add more bytes fit the budget, else -ENOMEM. */
static int budget_fits(const struct emu_type1 *emu, uint64_t add)
{
	uint64_t total;

	if (!accounted(emu) || emu->budget == UINT64_MAX)
		return 0;
	if (__builtin_add_overflow(budget_used(emu), add, &total) || total > emu->budget)
		return -ENOMEM;
	return 0;
}

/* The smallest IOMMU page, bytes: 1 << __ffs(pgsize_bitmap). */
static uint64_t min_pgsize(const struct emu_type1 *emu)
{
	return 1ull << __builtin_ctzll(emu->pgsize_bitmap);
}

/* __ffs() of a page size the caller passed; 0 behaves as x86's shift does
 * (the count is taken mod 64), so the result is a shift of 0. */
static unsigned int user_pgshift(uint64_t pgsize)
{
	return pgsize ? (unsigned int)__builtin_ctzll(pgsize) : 0;
}

/* verify_bitmap_size(): EINVAL for an empty or oversized bitmap, or one too
 * small for @npages. */
static int verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
	if (!npages || !bitmap_size || bitmap_size > DMAKIT_VFIO_DIRTY_BITMAP_SIZE_MAX)
		return -EINVAL;
	if (bitmap_size < DMAKIT_VFIO_DIRTY_BITMAP_BYTES(npages))
		return -EINVAL;
	return 0;
}

/* access_ok() of a user range. */
static bool access_ok(const void *ptr, uint64_t size)
{
	uint64_t addr = (uint64_t)(uintptr_t)ptr, end;

	if (__builtin_add_overflow(addr, size, &end))
		return false;
	return end <= USER_ADDR_LIMIT;
}

/* Bytes of one dma's dirty bitmap: DIRTY_BITMAP_BYTES(npages) + 8. */
static uint64_t dma_bitmap_bytes(uint64_t size, uint64_t pgsize)
{
	return DMAKIT_VFIO_DIRTY_BITMAP_BYTES(size / pgsize) + sizeof(uint64_t);
}

/* Words of one dma's dirty bitmap (the kernel allocates one spare word so
 * the bitmap can be shifted into place for the user). */
static uint64_t dma_bitmap_words(uint64_t size, uint64_t pgsize)
{
	return dma_bitmap_bytes(size, pgsize) / sizeof(uint64_t);
}

/* vfio_dma_bitmap_alloc(): a zeroed bitmap for the dma at [iova, last]. */
static int dma_bitmap_alloc(struct emu_type1 *emu, uint64_t iova, uint64_t last)
{
	uint64_t *words = dmakit__calloc(dma_bitmap_words(last - iova + 1, min_pgsize(emu)),
					 sizeof(uint64_t));
	int ret;

	if (!words)
		return -ENOMEM;
	ret = dmakit_range_table_insert(emu->bitmaps, iova, last, (uint64_t)(uintptr_t)words);
	if (ret < 0) {
		dmakit__free(words);
		return ret;
	}
	return 0;
}

static uint64_t *dma_bitmap(struct emu_type1 *emu, uint64_t iova)
{
	struct dmakit_range r;

	if (dmakit_range_table_find(emu->bitmaps, iova, &r) != 0)
		return NULL;
	return (uint64_t *)(uintptr_t)r.value;
}

static void dma_bitmap_free(struct emu_type1 *emu, uint64_t iova)
{
	struct dmakit_range r;

	if (dmakit_range_table_remove(emu->bitmaps, iova, &r) == 0)
		dmakit__free((void *)(uintptr_t)r.value);
}

static void free_bitmap_cb(void *ctx, const struct dmakit_range *r)
{
	(void)ctx;
	dmakit__free((void *)(uintptr_t)r->value);
}

/* vfio_dma_bitmap_free_all(): tracking off. */
static void dma_bitmaps_free_all(struct emu_type1 *emu)
{
	dmakit_range_table_remove_inside(emu->bitmaps, 0, UINT64_MAX, free_bitmap_cb, NULL);
	emu->bitmap_bytes = 0;
}

/* vfio_iommu_iova_dma_valid(): the whole range inside one valid IOVA range. */
static bool iova_range_valid(const struct emu_type1 *emu, uint64_t iova, uint64_t last)
{
	size_t i;

	for (i = 0; i < EMU_NR_IOVA_RANGES; i++)
		if (iova >= emu->iova_ranges[i].start && last <= emu->iova_ranges[i].end)
			return true;
	return false;
}

/*
 * Pages of [vaddr, vaddr + size) that pin before the first page outside
 * declared memory. With nothing declared, every page pins.
 */
static uint64_t pinnable_prefix_pages(struct emu_type1 *emu, uint64_t vaddr,
				      uint64_t size)
{
	uint64_t pages = size >> PAGE_SHIFT, done = 0;
	struct dmakit_range r;

	if (dmakit_range_table_count(emu->memory) == 0)
		return pages;
	while (done < pages) {
		uint64_t addr = vaddr + (done << PAGE_SHIFT);
		uint64_t run;

		if (dmakit_range_table_find(emu->memory, addr, &r) != 0)
			break;
		run = ((r.last - addr) >> PAGE_SHIFT) + 1;
		done += run < pages - done ? run : pages - done;
	}
	return done;
}

/*
 * The IO page-table side of one dma: iommu_map() once per physically
 * contiguous run. Process memory is contiguous within each backing page
 * (cfg.backing_page_size, or 4 KiB with disable_hugepages), and the model
 * uses the vaddr as the physical address, which has the same alignment
 * within a backing page.
 */
static uint64_t run_bytes(const struct emu_type1 *emu, uint64_t vaddr, uint64_t remaining)
{
	uint64_t backing = emu->cfg.disable_hugepages ? PAGE_SIZE : emu->cfg.backing_page_size;
	uint64_t to_boundary = backing - (vaddr & (backing - 1));

	return to_boundary < remaining ? to_boundary : remaining;
}

static void iopt_unmap_dma(struct emu_type1 *emu, const struct emu_dma *dma, uint64_t upto)
{
	uint64_t done = 0;

	while (done < upto) {
		uint64_t len = run_bytes(emu, dma->vaddr + done, upto - done);

		dmakit_iopt_model_unmap(emu->iopt, dma->iova + done, len);
		done += len;
	}
}

static int iopt_map_dma(struct emu_type1 *emu, const struct emu_dma *dma)
{
	uint64_t done = 0;
	int ret;

	if (!emu->iopt)
		return 0;
	while (done < dma->size) {
		uint64_t len = run_bytes(emu, dma->vaddr + done, dma->size - done);

		ret = dmakit_iopt_model_map(emu->iopt, dma->iova + done, dma->vaddr + done, len);
		if (ret < 0) {
			iopt_unmap_dma(emu, dma, done);
			return ret;
		}
		done += len;
	}
	return 0;
}

/* vfio_remove_dma(): unmap, unpin, unaccount, free, and give the entry back. */
static void remove_dma_accounting(struct emu_type1 *emu, const struct emu_dma *dma)
{
	if (emu->iopt)
		iopt_unmap_dma(emu, dma, dma->size);
	emu->locked_pages -= dma->size >> PAGE_SHIFT;
	emu->mapped_bytes -= dma->size;
	if (dma->flags & DMA_VADDR_INVALID)
		emu->vaddr_invalid_count--;
	if (emu->dirty_tracking) {
		dma_bitmap_free(emu, dma->iova);
		emu->bitmap_bytes -= dma_bitmap_bytes(dma->size, min_pgsize(emu));
	}
	if (counted(emu))
		emu->dma_avail++;
}

/* ------------------------------------------------------------------------ */
/* VFIO_IOMMU_MAP_DMA                                                         */

/* -ENOMEM when one more mapping of @size bytes would pass the library's caps
 * on mappings or estimated bookkeeping bytes (0 in a cap: none). */
static int library_caps_fit(const struct emu_type1 *emu, uint64_t size)
{
	uint64_t bitmaps = 0;

	/* Saturated: past any byte cap, and no matter without one. */
	if (emu->dirty_tracking &&
	    __builtin_add_overflow(emu->bitmap_bytes, dma_bitmap_bytes(size, min_pgsize(emu)),
				   &bitmaps))
		bitmaps = UINT64_MAX;
	return dmakit__caps_exceeded(emu->cfg.max_mappings, emu->cfg.max_bookkeeping_bytes,
				     dmakit_range_table_count(emu->dmas) + 1, bitmaps) ?
		       -ENOMEM : 0;
}

static int emu_map_vaddr(struct emu_type1 *emu, uint64_t iova, uint64_t size,
			 uint64_t vaddr)
{
	struct dmakit_range r;
	struct emu_dma dma;
	uint64_t last = iova + size - 1;

	if (dmakit_range_table_first_overlap(emu->dmas, iova, last, &r) != 0)
		return -ENOENT;
	dma_unpack(&r, &dma);
	if (!(dma.flags & DMA_VADDR_INVALID) || dma.iova != iova || dma.size != size)
		return -EINVAL;
	/* vfio_change_dma_owner(): the same process keeps the accounting. */
	dma.flags &= ~DMA_VADDR_INVALID;
	dmakit_range_table_set_value(emu->dmas, iova, dma_pack(vaddr, dma.flags));
	emu->vaddr_invalid_count--;
	return 0;
}

static int emu_map_dma(struct emu_type1 *emu, struct dmakit_vfio_iommu_type1_dma_map *map)
{
	const uint32_t known = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE |
			       DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;
	uint64_t iova, size, vaddr, last, vlast, prot = 0, pgsize, pages, pinnable;
	bool set_vaddr;
	struct emu_dma dma;
	int ret;

	if (!map)
		return -EFAULT;
	if (map->argsz < DMAKIT_VFIO_MAP_MINSZ || (map->flags & ~known))
		return -EINVAL;
	iova = map->iova;
	size = map->size;
	vaddr = map->vaddr;
	set_vaddr = map->flags & DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;

	if (size == 0)
		return -EINVAL;
	if (__builtin_add_overflow(iova, size - 1, &last) ||
	    __builtin_add_overflow(vaddr, size - 1, &vlast))
		return overflow_errno(emu);

	if (map->flags & DMAKIT_VFIO_DMA_MAP_FLAG_WRITE)
		prot |= DMA_PROT_WRITE;
	if (map->flags & DMAKIT_VFIO_DMA_MAP_FLAG_READ)
		prot |= DMA_PROT_READ;
	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return -EINVAL;

	pgsize = min_pgsize(emu);
	if ((size | iova | vaddr) & (pgsize - 1))
		return -EINVAL;

	if (set_vaddr)
		return emu_map_vaddr(emu, iova, size, vaddr);

	if (dmakit_range_table_first_overlap(emu->dmas, iova, last, NULL) == 0)
		return -EEXIST;
	if (counted(emu) && !emu->dma_avail)
		return -ENOSPC;
	if (!iova_range_valid(emu, iova, last))
		return -EINVAL;
	/*
	 * ACCOUNT_BYTES (a PROPOSAL): where the kernel allocates the vfio_dma,
	 * the most this mapping can cost must fit what is left of the budget:
	 * 96 bytes, the table pages it would need in an empty domain, its dirty
	 * bitmap while tracking. Nothing has changed yet, so a refusal leaves
	 * everything (page tables included) as it was.
	 */
	if (accounted(emu)) {
		uint64_t worst = DMAKIT_KERNEL_VFIO_DMA_BYTES +
				 dmakit_profile_table_pages_upper(iova, size) *
					 DMAKIT_IOPT_TABLE_PAGE_BYTES;

		if (emu->dirty_tracking)
			worst += dma_bitmap_bytes(size, min_pgsize(emu));
		ret = budget_fits(emu, worst);
		if (ret < 0)
			return ret;
	}

	/*
	 * The library's own safety caps (container.h: max_mappings,
	 * max_bookkeeping_bytes), checked where the kernel allocates the
	 * vfio_dma, so they answer ENOMEM like a failed kzalloc() and never
	 * pre-empt an answer the kernel gives first (found by fuzz_type1).
	 */
	ret = library_caps_fit(emu, size);
	if (ret < 0)
		return ret;

	/* kzalloc() of the vfio_dma: the table node. */
	dma.iova = iova;
	dma.size = size;
	dma.vaddr = vaddr;
	dma.flags = prot | (emu->cfg.cap_ipc_lock ? DMA_LOCK_CAP : 0);
	ret = dmakit_range_table_insert(emu->dmas, iova, last, dma_pack(vaddr, dma.flags));
	if (ret < 0)
		return ret;

	/*
	 * vfio_pin_map_dma(): pages pin in order; the first page that cannot
	 * pin gives EFAULT, the first page past RLIMIT_MEMLOCK gives ENOMEM,
	 * whichever comes first.
	 */
	pages = size >> PAGE_SHIFT;
	pinnable = pinnable_prefix_pages(emu, vaddr, size);
	if (!emu->cfg.cap_ipc_lock) {
		uint64_t limit_pages = emu->cfg.memlock_limit >> PAGE_SHIFT;
		uint64_t room = limit_pages > emu->locked_pages ? limit_pages - emu->locked_pages : 0;

		if (room < pages && room < pinnable) {
			ret = -ENOMEM;
			goto remove;
		}
	}
	if (pinnable < pages) {
		ret = -EFAULT;
		goto remove;
	}
	ret = iopt_map_dma(emu, &dma);
	if (ret < 0)
		goto remove;

	/* vfio_dma_bitmap_alloc() while dirty tracking is on. */
	if (emu->dirty_tracking) {
		ret = size / pgsize > INT_MAX ? -EINVAL : dma_bitmap_alloc(emu, iova, last);
		if (ret < 0) {
			if (emu->iopt)
				iopt_unmap_dma(emu, &dma, size);
			goto remove;
		}
	}

	if (counted(emu))
		emu->dma_avail--;
	emu->locked_pages += pages;
	emu->mapped_bytes += size;
	if (emu->dirty_tracking)
		emu->bitmap_bytes += dma_bitmap_bytes(size, pgsize);
	return 0;

remove:
	dmakit_range_table_remove(emu->dmas, iova, NULL);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* VFIO_IOMMU_UNMAP_DMA                                                       */

struct unmap_walk {
	struct emu_type1 *emu;
	uint64_t unmapped;
	uint64_t range_iova;              /* the request's iova: bit 0 of the bitmap */
	struct dmakit_vfio_bitmap *bitmap; /* GET_DIRTY_BITMAP, or NULL */
	uint64_t pgsize;
};

/* Clear bits [0, count) of a bitmap. */
static void bitmap_clear_prefix(uint64_t *data, uint64_t count)
{
	memset(data, 0, (count / 64) * sizeof(uint64_t));
	if (count & 63)
		data[count / 64] &= ~((1ull << (count & 63)) - 1);
}

/*
 * update_user_bitmap(), as the kernel does it, quirks included: with an
 * IOMMU-backed (non-pinned) group every page of an iommu-mapped dma is
 * dirty; the dma's own bitmap is shifted in place to the dma's bit offset
 * from the request's iova, the user's word there is ORed in whole, and
 * DIRTY_BITMAP_BYTES(nbits + shift) bytes are written back. Afterwards only
 * the first nbits bits are cleared, so bits shifted past them stay in the
 * dma's bitmap and come back, shifted again, in later reports: the real
 * kernel reports such stale bits (seen in the lab), and so does this.
 */
static void report_dirty(struct unmap_walk *walk, const struct emu_dma *dma)
{
	uint64_t *user = walk->bitmap->data, *bm = dma_bitmap(walk->emu, dma->iova);
	uint64_t nbits = dma->size / walk->pgsize;
	uint64_t bit_offset = (dma->iova - walk->range_iova) / walk->pgsize;
	uint64_t copy_offset = bit_offset / 64, shift = bit_offset % 64, k, words;

	if (!bm)
		return; /* cannot happen while tracking: every dma has one */
	dmakit__bitmap_set(bm, 0, nbits);
	if (shift) {
		uint64_t lim = (nbits + shift + 63) / 64;

		for (k = lim; k-- > 0;)
			bm[k] = (bm[k] << shift) | (k ? bm[k - 1] >> (64 - shift) : 0);
		bm[0] |= user[copy_offset];
	}
	words = (nbits + shift + 63) / 64;
	memcpy(user + copy_offset, bm, words * sizeof(uint64_t));
	bitmap_clear_prefix(bm, nbits);
}

static void unmap_removed_cb(void *ctx, const struct dmakit_range *range)
{
	struct unmap_walk *walk = ctx;
	struct emu_dma dma;

	dma_unpack(range, &dma);
	if (walk->bitmap)
		report_dirty(walk, &dma);
	walk->unmapped += dma.size;
	remove_dma_accounting(walk->emu, &dma);
}

/*
 * VADDR: mark every dma of the walk vaddr-invalid. A dma already invalid
 * undoes the marks made by this call and fails with EINVAL.
 */
static int invalidate_range(struct emu_type1 *emu, uint64_t first_iova, uint64_t upto,
			    uint64_t *unmapped)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	struct emu_dma dma;
	uint64_t marked_upto = 0;
	bool any = false;
	int ret;

	ret = dmakit_range_table_seek(emu->dmas, first_iova, &cur, &r);
	while (ret == 0 && r.start <= upto) {
		dma_unpack(&r, &dma);
		if (dma.flags & DMA_VADDR_INVALID)
			goto rollback;
		r.value |= DMA_VADDR_INVALID;
		/* set_value does not restructure the tree: the cursor stays valid. */
		dmakit_range_table_set_value(emu->dmas, r.start, r.value);
		emu->vaddr_invalid_count++;
		*unmapped += dma.size;
		marked_upto = r.start;
		any = true;
		ret = dmakit_range_table_next(&cur, &r);
	}
	return 0;

rollback:
	if (any) {
		ret = dmakit_range_table_seek(emu->dmas, first_iova, &cur, &r);
		while (ret == 0 && r.start <= marked_upto) {
			dmakit_range_table_set_value(emu->dmas, r.start, r.value & ~DMA_VADDR_INVALID);
			emu->vaddr_invalid_count--;
			ret = dmakit_range_table_next(&cur, &r);
		}
	}
	*unmapped = 0;
	return -EINVAL;
}

static int emu_unmap_dma(struct emu_type1 *emu, struct dmakit_vfio_iommu_type1_dma_unmap *unmap)
{
	const uint32_t known = DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			       DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL | DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR;
	struct dmakit_vfio_bitmap bitmap;
	struct unmap_walk walk = { .emu = emu };
	struct dmakit_range r;
	uint64_t iova, size, last, pgsize;
	bool all, get_dirty, set_vaddr;
	int ret;

	if (!unmap)
		return -EFAULT;
	if (unmap->argsz < DMAKIT_VFIO_UNMAP_MINSZ || (unmap->flags & ~known))
		return -EINVAL;
	all = unmap->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL;
	get_dirty = unmap->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	set_vaddr = unmap->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR;
	if (get_dirty && (all || set_vaddr))
		return -EINVAL;

	if (get_dirty) {
		if (unmap->argsz < DMAKIT_VFIO_UNMAP_MINSZ + sizeof(struct dmakit_vfio_bitmap))
			return -EINVAL;
		memcpy(&bitmap, unmap->data, sizeof(bitmap));
		if (!access_ok(bitmap.data, bitmap.size))
			return -EINVAL;
		ret = verify_bitmap_size(unmap->size >> user_pgshift(bitmap.pgsize), bitmap.size);
		if (ret < 0)
			return ret;
	}

	/* vfio_dma_do_unmap() */
	iova = unmap->iova;
	size = unmap->size;
	pgsize = min_pgsize(emu);
	if (iova & (pgsize - 1))
		return -EINVAL;
	if (all) {
		if (iova || size)
			return -EINVAL;
		last = UINT64_MAX;
	} else {
		if (!size || (size & (pgsize - 1)))
			return -EINVAL;
		if (__builtin_add_overflow(iova, size - 1, &last))
			return overflow_errno(emu);
	}

	if (get_dirty) {
		if (!emu->dirty_tracking || bitmap.pgsize != pgsize)
			return -EINVAL;
		walk.bitmap = &bitmap;
		walk.range_iova = iova;
		walk.pgsize = pgsize;
	}

	/* The v2 bisect rule, checked before anything changes. */
	if (emu->v2 && !all) {
		if (dmakit_range_table_find(emu->dmas, iova, &r) == 0 && r.start != iova)
			return -EINVAL;
		if (dmakit_range_table_find(emu->dmas, last, &r) == 0 && r.last != last)
			return -EINVAL;
	}

	/* The walk starts at the lowest dma overlapping [iova, last]. */
	if (dmakit_range_table_first_overlap(emu->dmas, iova, last, &r) != 0)
		goto done;
	/* v1: a request starting inside a dma removes nothing, successfully. */
	if (!emu->v2 && iova > r.start)
		goto done;
	/* copy_to_user() of the first dma's bits faults before it is removed. */
	if (walk.bitmap && !walk.bitmap->data)
		return -EFAULT;

	if (set_vaddr) {
		ret = invalidate_range(emu, r.start, last, &walk.unmapped);
		if (ret < 0)
			return ret;
		goto done;
	}

	/*
	 * Every dma that starts inside [iova, last] goes. In v2 they all end
	 * inside (the bisect rule); in v1 the last one may reach past `last`
	 * and goes whole.
	 */
	{
		uint64_t remove_last = last;

		if (!emu->v2 && dmakit_range_table_find(emu->dmas, last, &r) == 0)
			remove_last = r.last;
		dmakit_range_table_remove_inside(emu->dmas, iova, remove_last,
						 unmap_removed_cb, &walk);
	}

done:
	unmap->size = walk.unmapped;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* VFIO_IOMMU_GET_INFO                                                        */

/*
 * Append one capability of @size bytes to the chain being built in @buf at
 * *@len and link the previous one to it. Offsets are from the start of the
 * info struct, as after vfio_info_cap_shift(). Since Linux 6.6 ("vfio: align
 * capability structures") each capability is padded to a multiple of 8 with
 * zeros; before, DMA_AVAIL's 12 bytes left the next capability at an offset
 * of 4 mod 8 (checked on the lab's 6.1 kernel).
 */
static void *cap_add(uint8_t *buf, size_t *len, size_t *prev, size_t size, uint16_t id,
		     bool pad)
{
	struct dmakit_vfio_info_cap_header *hdr;
	size_t off = *len, taken = pad ? (size + 7) & ~(size_t)7 : size;

	hdr = (struct dmakit_vfio_info_cap_header *)(buf + off);
	memset(hdr, 0, taken);
	hdr->id = id;
	hdr->version = 1;
	hdr->next = 0;
	if (*prev != SIZE_MAX) {
		struct dmakit_vfio_info_cap_header *p =
			(struct dmakit_vfio_info_cap_header *)(buf + *prev);
		p->next = (uint32_t)(sizeof(struct dmakit_vfio_iommu_type1_info) + off);
	}
	*prev = off;
	*len = off + taken;
	return hdr;
}

static int emu_get_info(struct emu_type1 *emu, struct dmakit_vfio_iommu_type1_info *user)
{
	/* MIGRATION 32 + DMA_AVAIL 16 + IOVA_RANGE 16 + 16 per range, at most. */
	uint8_t caps[32 + 16 + 16 + 16 * EMU_NR_IOVA_RANGES];
	struct dmakit_vfio_iommu_type1_info info;
	struct dmakit_vfio_iommu_type1_info_cap_migration mig;
	struct dmakit_vfio_iommu_type1_info_dma_avail avail;
	struct dmakit_vfio_iommu_type1_info_cap_iova_range ranges;
	/* The zero-initialised struct and its argsz: 6.12 already (lab). */
	bool new_kernel = emu->cfg.kernel != DMAKIT_KERNEL_6_1;
	size_t len = 0, prev = SIZE_MAX, i, writeback;
	uint8_t *at;

	if (!user)
		return -EFAULT;
	memcpy(&info, user, DMAKIT_VFIO_INFO_MINSZ);
	if (info.argsz < DMAKIT_VFIO_INFO_MINSZ)
		return -EINVAL;
	if (new_kernel) {
		/* min(argsz, sizeof(info)), the struct zero-initialised. */
		writeback = info.argsz < sizeof(info) ? info.argsz : sizeof(info);
		info.pad = 0;
	} else {
		/* 6.1: 16 bytes, or 20 (up to cap_offset) once argsz reaches
		 * offsetofend(cap_offset); the pad is never written. */
		writeback = info.argsz >= 20 ? 20 : DMAKIT_VFIO_INFO_MINSZ;
	}
	info.flags = DMAKIT_VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = emu->pgsize_bitmap;
	info.cap_offset = 0;

	/* The capabilities are built in this order: MIGRATION, DMA_AVAIL,
	 * IOVA_RANGE. Fields are copied in with memcpy: without padding the
	 * later ones are not 8-byte aligned in the buffer. */
	at = cap_add(caps, &len, &prev, sizeof(mig), DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
		     new_kernel);
	memcpy(&mig, at, sizeof(mig));
	mig.flags = 0;
	mig.pgsize_bitmap = min_pgsize(emu);
	mig.max_dirty_bitmap_size = DMAKIT_VFIO_DIRTY_BITMAP_SIZE_MAX;
	memcpy(at, &mig, sizeof(mig));

	/* PROPOSALS: DROP_CAP leaves DMA_AVAIL out; REPORT_UNLIMITED and
	 * ACCOUNT_BYTES report version 2, "unlimited" (container.h). */
	if (emu->cfg.limit_policy != DMAKIT_LIMIT_DROP_CAP) {
		at = cap_add(caps, &len, &prev, sizeof(avail),
			     DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, new_kernel);
		memcpy(&avail, at, sizeof(avail));
		avail.avail = counted(emu) ? emu->dma_avail : DMAKIT_VFIO_DMA_AVAIL_UNLIMITED;
		if (!counted(emu))
			avail.header.version = DMAKIT_VFIO_DMA_AVAIL_VERSION_UNLIMITED;
		memcpy(at, &avail, sizeof(avail));
	}

	at = cap_add(caps, &len, &prev,
		     sizeof(ranges) + EMU_NR_IOVA_RANGES * sizeof(struct dmakit_vfio_iova_range),
		     DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, new_kernel);
	memcpy(&ranges, at, sizeof(ranges));
	ranges.nr_iovas = EMU_NR_IOVA_RANGES;
	memcpy(at, &ranges, sizeof(ranges));
	for (i = 0; i < EMU_NR_IOVA_RANGES; i++)
		memcpy(at + sizeof(ranges) + i * sizeof(struct dmakit_vfio_iova_range),
		       &emu->iova_ranges[i], sizeof(struct dmakit_vfio_iova_range));

	info.flags |= DMAKIT_VFIO_IOMMU_INFO_CAPS;
	if (info.argsz < sizeof(info) + len) {
		info.argsz = (uint32_t)(sizeof(info) + len);
	} else {
		memcpy((uint8_t *)user + sizeof(info), caps, len);
		info.cap_offset = sizeof(info);
	}
	memcpy(user, &info, writeback);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* VFIO_IOMMU_DIRTY_PAGES                                                     */

static int dirty_start(struct emu_type1 *emu)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	uint64_t pgsize = min_pgsize(emu), bytes = 0;
	int ret;

	if (emu->dirty_tracking)
		return 0;
	/*
	 * vfio_dma_bitmap_alloc_all(): a zeroed bitmap per dma, in order; a
	 * failure frees the ones already made. The dmas table does not change
	 * while the bitmaps table grows, so the cursor stays valid.
	 */
	for (ret = dmakit_range_table_seek(emu->dmas, 0, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		uint64_t size = r.last - r.start + 1;
		int err = size / pgsize > INT_MAX ? -EINVAL : dma_bitmap_alloc(emu, r.start, r.last);

		if (err < 0) {
			dma_bitmaps_free_all(emu);
			return err;
		}
		bytes += dma_bitmap_bytes(size, pgsize);
	}
	/* ACCOUNT_BYTES: the bitmaps are charged; past the budget START fails
	 * as a failed allocation does, with nothing left allocated. */
	ret = budget_fits(emu, bytes);
	if (ret < 0) {
		dma_bitmaps_free_all(emu);
		return ret;
	}
	emu->bitmap_bytes = bytes;
	emu->dirty_tracking = true;
	return 0;
}

static int dirty_get_bitmap(struct emu_type1 *emu, struct dmakit_vfio_iommu_type1_dirty_bitmap *d)
{
	struct dmakit_vfio_iommu_type1_dirty_bitmap_get range;
	struct unmap_walk walk = { .emu = emu };
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	uint64_t last, pgsize = min_pgsize(emu);
	int ret;

	if (d->argsz - DMAKIT_VFIO_DIRTY_MINSZ < sizeof(range))
		return -EINVAL;
	memcpy(&range, d->data, sizeof(range));
	if (range.size == 0)
		return -EINVAL;
	if (!new_overflow_checks(emu)) {
		uint64_t end;

		/* 6.1 and 6.12 check the exclusive end: iova + size may not wrap. */
		if (__builtin_add_overflow(range.iova, range.size, &end))
			return -EINVAL;
	}
	if (__builtin_add_overflow(range.iova, range.size - 1, &last))
		return overflow_errno(emu);
	if (!access_ok(range.bitmap.data, range.bitmap.size))
		return -EINVAL;
	ret = verify_bitmap_size(range.size >> user_pgshift(range.bitmap.pgsize),
				 range.bitmap.size);
	if (ret < 0)
		return ret;
	if (range.bitmap.pgsize != pgsize)
		return -EINVAL;
	if ((range.iova & (pgsize - 1)) || (range.size & (pgsize - 1)))
		return -EINVAL;
	if (!emu->dirty_tracking)
		return -EINVAL;
	/* vfio_iova_dirty_bitmap(): the range may not bisect a dma. */
	if (dmakit_range_table_find(emu->dmas, range.iova, &r) == 0 && r.start != range.iova)
		return -EINVAL;
	if (dmakit_range_table_find(emu->dmas, last, &r) == 0 && r.last != last)
		return -EINVAL;
	if (!range.bitmap.data &&
	    dmakit_range_table_first_overlap(emu->dmas, range.iova, last, NULL) == 0)
		return -EFAULT;

	walk.bitmap = &range.bitmap;
	walk.range_iova = range.iova;
	walk.pgsize = pgsize;
	for (ret = dmakit_range_table_seek(emu->dmas, range.iova, &cur, &r);
	     ret == 0 && r.start <= last; ret = dmakit_range_table_next(&cur, &r)) {
		struct emu_dma dma;

		dma_unpack(&r, &dma);
		report_dirty(&walk, &dma);
	}
	return 0;
}

static int emu_dirty_pages(struct emu_type1 *emu, struct dmakit_vfio_iommu_type1_dirty_bitmap *d)
{
	const uint32_t known = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			       DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			       DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;

	if (!emu->v2)
		return -EACCES;
	if (!d)
		return -EFAULT;
	if (d->argsz < DMAKIT_VFIO_DIRTY_MINSZ || (d->flags & ~known))
		return -EINVAL;
	/* Exactly one flag. */
	if (!d->flags || (d->flags & (d->flags - 1)))
		return -EINVAL;

	switch (d->flags) {
	case DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START:
		return dirty_start(emu);
	case DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP:
		dma_bitmaps_free_all(emu);
		emu->dirty_tracking = false;
		return 0;
	default:
		return dirty_get_bitmap(emu, d);
	}
}

/* ------------------------------------------------------------------------ */
/* Container ioctls                                                           */

static int emu_check_extension(const struct emu_type1 *emu, unsigned long ext)
{
	switch (ext) {
	case DMAKIT_VFIO_TYPE1_IOMMU:
	case DMAKIT_VFIO_TYPE1v2_IOMMU:
	case DMAKIT_VFIO_UNMAP_ALL:
		return 1;
	case DMAKIT_VFIO_UPDATE_VADDR:
		/* Needs the driver's data: 1 once set, with no emulated group. */
		return emu->iommu_set ? 1 : 0;
	case DMAKIT_VFIO_DMA_CC_IOMMU:
		/* QEMU's emulated VT-d does not enforce snooping by default. */
		return 0;
	case DMAKIT_VFIO_TYPE1_NESTING_IOMMU:
		return has_nesting_type(emu) ? 1 : 0;
	default:
		return 0;
	}
}

static int emu_set_iommu(struct emu_type1 *emu, unsigned long type)
{
	if (emu->iommu_set)
		return -EINVAL;
	/*
	 * vfio_ioctl_set_iommu() offers the type to every driver whose
	 * CHECK_EXTENSION accepts it; type1 opens 1 (v1) and 3 (v2) and fails
	 * the other types it accepts with EINVAL; no driver at all: ENODEV.
	 */
	switch (type) {
	case DMAKIT_VFIO_TYPE1_IOMMU:
	case DMAKIT_VFIO_TYPE1v2_IOMMU:
		break;
	case DMAKIT_VFIO_UNMAP_ALL:
		return -EINVAL;
	case DMAKIT_VFIO_TYPE1_NESTING_IOMMU:
		/*
		 * 6.1 and 6.12 open a nesting container, then attaching the group
		 * fails because VT-d cannot enable nesting on its domain: EINVAL,
		 * the container stays unset (seen in the lab on both). 6.18
		 * accepts no such type.
		 */
		return has_nesting_type(emu) ? -EINVAL : -ENODEV;
	default:
		return -ENODEV;
	}
	emu->iommu_set = true;
	emu->v2 = type == DMAKIT_VFIO_TYPE1v2_IOMMU;
	emu->dma_avail = counted(emu) ? emu->cfg.dma_entry_limit : DMAKIT_VFIO_DMA_AVAIL_UNLIMITED;
	return 0;
}

static int emu_ioctl(void *state, unsigned long request, void *arg)
{
	struct emu_type1 *emu = state;

	switch (request) {
	case DMAKIT_VFIO_GET_API_VERSION:
		return DMAKIT_VFIO_API_VERSION;
	case DMAKIT_VFIO_CHECK_EXTENSION:
		return emu_check_extension(emu, (unsigned long)(uintptr_t)arg);
	case DMAKIT_VFIO_SET_IOMMU:
		return emu_set_iommu(emu, (unsigned long)(uintptr_t)arg);
	default:
		break;
	}
	/* Before SET_IOMMU the container answers everything else EINVAL. */
	if (!emu->iommu_set)
		return -EINVAL;
	switch (request) {
	case DMAKIT_VFIO_IOMMU_GET_INFO:
		return emu_get_info(emu, arg);
	case DMAKIT_VFIO_IOMMU_MAP_DMA:
		return emu_map_dma(emu, arg);
	case DMAKIT_VFIO_IOMMU_UNMAP_DMA:
		return emu_unmap_dma(emu, arg);
	case DMAKIT_VFIO_IOMMU_DIRTY_PAGES:
		return emu_dirty_pages(emu, arg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                  */

static void emu_close(void *state)
{
	struct emu_type1 *emu = state;

	if (!emu)
		return;
	dmakit_iopt_model_destroy(emu->iopt);
	if (emu->bitmaps)
		dma_bitmaps_free_all(emu);
	dmakit_range_table_destroy(emu->bitmaps);
	dmakit_range_table_destroy(emu->memory);
	dmakit_range_table_destroy(emu->dmas);
	dmakit__free(emu);
}

static int emu_open(const struct dmakit_container_config *cfg, void **state)
{
	struct dmakit_iopt_config iopt_cfg = DMAKIT_IOPT_CONFIG_VTD_39;
	struct emu_type1 *emu;

	if (cfg->backing_page_size < PAGE_SIZE ||
	    (cfg->backing_page_size & (cfg->backing_page_size - 1)))
		return -EINVAL;
	/* The address width: 39 bits (3-level tables) or 48 (4-level). */
	if (cfg->iova_bits != 39 && cfg->iova_bits != 48 && cfg->iova_bits != 0)
		return -EINVAL;
	if (cfg->iova_bits == 48)
		iopt_cfg.levels = 4;
	/* The limit policies; ACCOUNT_BYTES charges the page-table model's pages. */
	if ((unsigned int)cfg->limit_policy > DMAKIT_LIMIT_DROP_CAP ||
	    (cfg->limit_policy == DMAKIT_LIMIT_ACCOUNT_BYTES && !cfg->model_page_tables))
		return -EINVAL;
	emu = dmakit__calloc(1, sizeof(*emu));
	if (!emu)
		return -ENOMEM;
	emu->cfg = *cfg;
	emu->cfg.group_path = NULL;
	emu->cfg.container_path = NULL;
	emu->pgsize_bitmap = EMU_PGSIZE_BITMAP;
	emu->iova_ranges[0].start = 0;
	emu->iova_ranges[0].end = EMU_MSI_FIRST - 1;
	emu->iova_ranges[1].start = EMU_MSI_LAST + 1;
	emu->iova_ranges[1].end = (1ull << (cfg->iova_bits == 48 ? 48 : 39)) - 1;
	emu->budget = cfg->kernel_budget_bytes ? cfg->kernel_budget_bytes : DMAKIT_DEFAULT_KERNEL_BUDGET;
	emu->dmas = dmakit_range_table_create();
	emu->memory = dmakit_range_table_create();
	emu->bitmaps = dmakit_range_table_create();
	if (cfg->model_page_tables)
		emu->iopt = dmakit_iopt_model_create(&iopt_cfg);
	if (!emu->dmas || !emu->memory || !emu->bitmaps ||
	    (cfg->model_page_tables && !emu->iopt)) {
		emu_close(emu);
		return -ENOMEM;
	}
	*state = emu;
	return 0;
}

static int emu_declare_memory(void *state, uint64_t vaddr, uint64_t size)
{
	struct emu_type1 *emu = state;
	uint64_t last;

	if (!size || __builtin_add_overflow(vaddr, size - 1, &last))
		return -EINVAL;
	/* Declaring memory that is already declared is not an error. */
	return dmakit__range_table_fill_holes(emu->memory, vaddr, last, 0);
}

static int emu_stats(void *state, struct dmakit_container_stats *out)
{
	struct emu_type1 *emu = state;

	memset(out, 0, sizeof(*out));
	out->exact = true;
	out->mappings = dmakit_range_table_count(emu->dmas);
	out->dma_avail = emu->iommu_set ? emu->dma_avail :
			 counted(emu) ? emu->cfg.dma_entry_limit : DMAKIT_VFIO_DMA_AVAIL_UNLIMITED;
	out->mapped_bytes = emu->mapped_bytes;
	out->locked_bytes = emu->locked_pages << PAGE_SHIFT;
	out->invalid_vaddr_mappings = emu->vaddr_invalid_count;
	out->dirty_tracking = emu->dirty_tracking;
	out->kernel_object_bytes = out->mappings * DMAKIT_KERNEL_VFIO_DMA_BYTES + emu->bitmap_bytes;
	if (emu->iopt)
		dmakit_iopt_model_stats(emu->iopt, &out->iopt);
	if (accounted(emu)) {
		out->budget_used = budget_used(emu);
		out->budget_limit = emu->budget;
	}
	return 0;
}

static int emu_seek_mapping(void *state, uint64_t iova, struct dmakit_mapping *out)
{
	struct emu_type1 *emu = state;
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	struct emu_dma dma;
	int ret;

	ret = dmakit_range_table_seek(emu->dmas, iova, &cur, &r);
	if (ret < 0)
		return ret;
	dma_unpack(&r, &dma);
	out->iova = dma.iova;
	out->size = dma.size;
	out->vaddr = dma.vaddr;
	out->flags = ((dma.flags & DMA_PROT_READ) ? DMAKIT_VFIO_DMA_MAP_FLAG_READ : 0) |
		     ((dma.flags & DMA_PROT_WRITE) ? DMAKIT_VFIO_DMA_MAP_FLAG_WRITE : 0);
	out->vaddr_valid = !(dma.flags & DMA_VADDR_INVALID);
	return 0;
}

const struct dmakit_backend_ops dmakit__emu_type1_ops = {
	.name = "emu",
	.open = emu_open,
	.close = emu_close,
	.ioctl = emu_ioctl,
	.declare_memory = emu_declare_memory,
	.stats = emu_stats,
	.seek_mapping = emu_seek_mapping,
};
