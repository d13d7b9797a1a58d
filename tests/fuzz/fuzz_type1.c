/* SPDX-License-Identifier: MIT */
/*
 * fuzz_type1: the emulated type1 kernel (backend "emu", src/emu_type1.c)
 * against a reference model written from the kernel's rules
 * (shared/reference/kernel-semantics.md section 1, Linux 6.19) with the 6.1
 * corners of docs/emulator.md ("Kernel profiles"), and nothing else: a sorted
 * array of mappings searched with linear scans, every check in the order the
 * reference lists it.
 *
 * The input picks a configuration (v1 or v2 or SET_IOMMU later, kernel 6.1 or
 * 6.18, dma_entry_limit, CAP_IPC_LOCK and RLIMIT_MEMLOCK, declared process
 * memory, the page-table model) and then a stream of ioctls: MAP (normal and
 * VADDR remap), UNMAP (ranges, ALL, VADDR invalidate, GET_DIRTY_BITMAP),
 * GET_INFO at any argsz, DIRTY_PAGES (START, STOP, GET_BITMAP), CHECK_EXTENSION,
 * SET_IOMMU, unknown ioctls; any of them may run with its k-th allocation
 * failed (include/dmakit/fault.h).
 *
 * After every call: the return value equals the model's; what the kernel
 * writes back (unmap size on success only, nothing on MAP, GET_INFO's struct
 * and chain, the user's dirty bitmap bit for bit, with the kernel's
 * update_user_bitmap() quirks) is checked; the whole
 * mapping list (dmakit_container_seek_mapping) and the container's counters
 * (DMA_AVAIL = limit - count, locked and mapped bytes, invalidated count,
 * dirty tracking, kernel-object bytes) equal the model's. A call whose
 * allocation failed must answer -ENOMEM with nothing changed, or succeed.
 *
 * Addresses are drawn so that edges are the rule: the starts and ends of
 * mappings held (+- a page), both edges of the reserved MSI window
 * 0xfee00000-0xfeefffff, the top of the usable space 0x7fffffffff, the top of
 * the 64-bit space; sizes that end exactly at 2^64 - 1 or wrap past it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/container.h>
#include <dmakit/fault.h>
#include <dmakit/uapi.h>

#include "fuzz_common.h"

#define PG 4096ull
#define MAX_MAPS 1024
#define MAX_DECL 32
#define MAX_OPS 300

/* The emulated platform (docs/trace-format.md, "The emulator's platform"). */
#define PLAT_PGSIZES 0x40201000ull
static const uint64_t plat_ranges[2][2] = {
	{ 0x0ull, 0xfedfffffull },
	{ 0xfef00000ull, 0x7fffffffffull },
};
/* access_ok(): the highest user address on x86_64 (TASK_SIZE_MAX). */
#define USER_LIMIT 0x00007ffffffff000ull
/* A pointer access_ok() refuses whatever the size. */
#define BAD_USER_PTR ((uint64_t *)(uintptr_t)(USER_LIMIT - 8))
/* Bitmaps larger than this are passed with BAD_USER_PTR, not allocated. */
#define BITMAP_ALLOC_MAX (1u << 20)

struct mmap {
	uint64_t iova, size, vaddr;
	uint32_t flags; /* READ | WRITE */
	bool valid;     /* vaddr valid (false between invalidate and remap) */
	/*
	 * While dirty tracking is on, the kernel's bitmap of this dma is all
	 * zero below nbits = size / 4K between reports (each report sets those
	 * bits, every page of an iommu-mapped dma being dirty, and clears them
	 * after), but bits at and above nbits, up to the end of its allocation
	 * of DIRTY_BITMAP_BYTES(nbits) + 8 bytes, survive a report: stale[]
	 * holds those, bit i being bit nbits + i.
	 */
	uint64_t stale[2];
};

struct model {
	/* configuration */
	bool v2_at_open;
	unsigned int open_type; /* 0: SET_IOMMU left to an operation */
	bool k618;
	uint32_t limit;
	bool cap_ipc_lock;
	uint64_t memlock;
	/* state */
	bool set;
	bool v2;
	bool tracking;
	size_t n;
	struct mmap m[MAX_MAPS];
	size_t ndecl;
	uint64_t decl[MAX_DECL][2]; /* declared memory: [start, last], page aligned */
};

static struct model M, SNAP;

/* ---- helpers --------------------------------------------------------------- */

static int ovf_errno(void)
{
	return M.k618 ? -EOVERFLOW : -EINVAL;
}

static uint64_t mlast(const struct mmap *m)
{
	return m->iova + m->size - 1;
}

FZ_MODEL static bool holds(const struct mmap *m, uint64_t addr)
{
	return m->iova <= addr && addr <= mlast(m);
}

FZ_MODEL static bool overlaps(const struct mmap *m, uint64_t start, uint64_t last)
{
	return m->iova <= last && start <= mlast(m);
}

static uint64_t bitmap_bytes(uint64_t npages)
{
	/* DIRTY_BITMAP_BYTES(n) = ALIGN(n, 64) / 8, wrapping as the kernel's does. */
	return ((npages + 63) / 64) * 8;
}

static unsigned int user_pgshift(uint64_t pgsize)
{
	/* __ffs(0): x86's shift count is taken mod 64, so 0 (docs/emulator.md). */
	return pgsize ? (unsigned int)__builtin_ctzll(pgsize) : 0;
}

static bool access_ok(const void *p, uint64_t size)
{
	uint64_t end;

	if (__builtin_add_overflow((uint64_t)(uintptr_t)p, size, &end))
		return false;
	return end <= USER_LIMIT;
}

static int verify_bitmap_size(uint64_t npages, uint64_t bsize)
{
	if (!npages || !bsize || bsize > DMAKIT_VFIO_DIRTY_BITMAP_SIZE_MAX)
		return -EINVAL;
	if (bsize < bitmap_bytes(npages))
		return -EINVAL;
	return 0;
}

FZ_MODEL static uint64_t locked_pages(void)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < M.n; i++)
		s += M.m[i].size / PG;
	return s;
}

/* Pages of [vaddr, vaddr + pages * 4K) that pin before the first one that
 * cannot: with nothing declared, every page pins. */
FZ_MODEL static uint64_t pinnable_pages(uint64_t vaddr, uint64_t pages)
{
	uint64_t addr = vaddr;

	if (!M.ndecl)
		return pages;
	for (;;) {
		size_t i;
		bool found = false;

		if ((addr - vaddr) / PG >= pages)
			return pages;
		for (i = 0; i < M.ndecl; i++) {
			if (M.decl[i][0] <= addr && addr <= M.decl[i][1]) {
				found = true;
				if (M.decl[i][1] == UINT64_MAX)
					return pages;
				addr = M.decl[i][1] + 1;
				break;
			}
		}
		if (!found)
			return (addr - vaddr) / PG;
	}
}

static bool iova_valid(uint64_t iova, uint64_t last)
{
	return (iova >= plat_ranges[0][0] && last <= plat_ranges[0][1]) ||
	       (iova >= plat_ranges[1][0] && last <= plat_ranges[1][1]);
}

FZ_MODEL static void model_insert(const struct mmap *nm)
{
	size_t at = M.n, i;

	for (i = 0; i < M.n; i++)
		if (M.m[i].iova > nm->iova) {
			at = i;
			break;
		}
	memmove(&M.m[at + 1], &M.m[at], (M.n - at) * sizeof(M.m[0]));
	M.m[at] = *nm;
	M.n++;
}

FZ_MODEL static void model_remove_at(size_t i)
{
	memmove(&M.m[i], &M.m[i + 1], (M.n - i - 1) * sizeof(M.m[0]));
	M.n--;
}

/* ---- drawing values ----------------------------------------------------- */

static const uint64_t iova_bases[] = {
	0x0ull,
	0x100000ull,
	0xfedf0000ull,          /* below the MSI window 0xfee00000 */
	0xfeef0000ull,          /* its top 0xfeefffff, the next range at 0xfef00000 */
	0x7fffff0000ull,        /* the top of the usable space 0x7fffffffff */
	0xffffffffffff0000ull,  /* the top of the 64-bit space */
	0x40000000ull,          /* 1 GiB: large IOMMU pages */
	0x80000000ull,
};

static uint64_t draw_near_mapping(struct fz *f, uint8_t arg)
{
	const struct mmap *m;
	int64_t delta = (int64_t)(arg % 5) - 2;

	if (!M.n)
		return (uint64_t)arg * PG;
	m = &M.m[fz_u8(f) % M.n];
	return (arg & 0x80 ? m->iova + m->size : m->iova) + (uint64_t)(delta * (int64_t)PG);
}

static uint64_t draw_iova(struct fz *f)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 12) {
	case 0:
	case 1:
	case 2:
	case 3:
		return iova_bases[(sel >> 4) % 8] + (uint64_t)(arg % 32) * PG;
	case 4:
	case 5:
	case 6:
	case 7:
		return draw_near_mapping(f, arg);
	case 8:
		return 0;
	case 9:
		return arg;                              /* unaligned */
	case 10:
		return UINT64_MAX - (uint64_t)(arg % 4) * PG - PG + 1;
	default:
		return fz_u64(f);
	}
}

static uint64_t draw_size(struct fz *f, uint64_t iova)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 12) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		return (1 + (uint64_t)(arg % 16)) * PG;
	case 5:
		/* up to the end of a mapping held, or to the next one */
		if (M.n) {
			const struct mmap *m = &M.m[fz_u8(f) % M.n];
			uint64_t end = (arg & 1) ? m->iova + m->size : m->iova;

			return end - iova;
		}
		return PG;
	case 6:
		return 0;
	case 7:
		return 0 - iova;                   /* ends at 2^64 - 1 (0 for iova 0) */
	case 8: {
		static const uint64_t special[] = {
			1, PG - 1, PG + 1, 0x200000, 0x40000000, 0xfee00000ull, UINT64_MAX,
			0x8000000000ull, 1ull << 63, 0x7fffffffffull + 1 - 0xfef00000ull,
			0xfedfffffull + 1, UINT64_MAX - PG + 1,
		};
		return special[arg % (sizeof(special) / sizeof(special[0]))];
	}
	case 9:
		return 0 - iova + PG;              /* wraps past 2^64 */
	case 10:
		return (uint64_t)(1 + arg % 4) << 21; /* 2 MiB multiples */
	default:
		return fz_u64(f);
	}
}

#define VADDR_BASE 0x10000000ull

static uint64_t draw_vaddr(struct fz *f)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 8) {
	case 0:
	case 1:
	case 2:
	case 3:
		return VADDR_BASE + (uint64_t)arg * PG;
	case 4:
		if (M.ndecl)
			return M.decl[arg % M.ndecl][0] + (uint64_t)(fz_u8(f) % 8) * PG;
		return VADDR_BASE;
	case 5:
		return UINT64_MAX - (uint64_t)(arg % 4) * PG - PG + 1; /* overflow */
	case 6:
		return VADDR_BASE + arg;          /* unaligned */
	default:
		return fz_u64(f);
	}
}

/* ---- comparing the whole state -------------------------------------------- */

FZ_MODEL static void compare_state(struct dmakit_container *c)
{
	struct dmakit_container_stats st;
	struct dmakit_mapping got;
	uint64_t iova = 0, mapped = 0, bitmaps = 0;
	size_t i = 0, invalid = 0;
	int ret;

	for (;;) {
		ret = dmakit_container_seek_mapping(c, iova, &got);
		if (ret == -ENOENT)
			break;
		FZ_CHECK(ret == 0, "seek_mapping(0x%" PRIx64 "): %d", iova, ret);
		FZ_CHECK(i < M.n, "mapping list: more than the model's %zu (next at 0x%" PRIx64 ")",
			 M.n, got.iova);
		FZ_CHECK(got.iova == M.m[i].iova && got.size == M.m[i].size &&
				 got.vaddr == M.m[i].vaddr && got.flags == M.m[i].flags &&
				 got.vaddr_valid == M.m[i].valid,
			 "mapping %zu: iova 0x%" PRIx64 " size 0x%" PRIx64 " vaddr 0x%" PRIx64
			 " flags %u valid %d; model iova 0x%" PRIx64 " size 0x%" PRIx64
			 " vaddr 0x%" PRIx64 " flags %u valid %d",
			 i, got.iova, got.size, got.vaddr, got.flags, got.vaddr_valid, M.m[i].iova,
			 M.m[i].size, M.m[i].vaddr, M.m[i].flags, M.m[i].valid);
		mapped += M.m[i].size;
		if (!M.m[i].valid)
			invalid++;
		if (M.tracking)
			bitmaps += bitmap_bytes(M.m[i].size / PG) + 8;
		i++;
		iova = got.iova + got.size;
		if (iova == 0)
			break;
	}
	FZ_CHECK(i == M.n, "mapping list: %zu mappings, model %zu", i, M.n);

	FZ_CHECK(dmakit_container_stats(c, &st) == 0, "stats failed");
	FZ_CHECK(st.exact, "emu stats not exact");
	FZ_CHECK(st.mappings == M.n, "stats.mappings %" PRIu64 ", model %zu", st.mappings, M.n);
	FZ_CHECK(st.dma_avail == M.limit - (M.set ? M.n : 0),
		 "stats.dma_avail %u, model %" PRIu64, st.dma_avail,
		 (uint64_t)M.limit - (M.set ? M.n : 0));
	FZ_CHECK(st.mapped_bytes == mapped, "stats.mapped_bytes 0x%" PRIx64 ", model 0x%" PRIx64,
		 st.mapped_bytes, mapped);
	FZ_CHECK(st.locked_bytes == mapped, "stats.locked_bytes 0x%" PRIx64 ", model 0x%" PRIx64,
		 st.locked_bytes, mapped);
	FZ_CHECK(st.invalid_vaddr_mappings == invalid,
		 "stats.invalid_vaddr_mappings %" PRIu64 ", model %zu", st.invalid_vaddr_mappings,
		 invalid);
	FZ_CHECK(st.dirty_tracking == M.tracking, "stats.dirty_tracking %d, model %d",
		 st.dirty_tracking, M.tracking);
	FZ_CHECK(st.kernel_object_bytes == M.n * DMAKIT_KERNEL_VFIO_DMA_BYTES + bitmaps,
		 "stats.kernel_object_bytes %" PRIu64 ", model %" PRIu64, st.kernel_object_bytes,
		 (uint64_t)(M.n * DMAKIT_KERNEL_VFIO_DMA_BYTES + bitmaps));
}

/* ---- the operations: each computes the model's answer, applies it to the
 * model, and returns it; the caller compares. ---------------------------- */

/* What an operation may answer when one of its allocations was failed. */
enum enomem_rule {
	ENOMEM_NEVER,      /* the kernel allocates nothing on this path */
	ENOMEM_IF_ALLOCS,  /* -ENOMEM instead of the model's answer is fine */
};

struct call {
	int want;
	enum enomem_rule enomem;
};

FZ_MODEL static struct call model_map(const struct dmakit_vfio_iommu_type1_dma_map *map)
{
	const uint32_t known = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE |
			       DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;
	uint64_t iova = map->iova, size = map->size, vaddr = map->vaddr, last, vlast, pages,
		 pinnable;
	uint32_t prot;
	bool set_vaddr;
	struct mmap nm;
	size_t i;

	if (map->argsz < DMAKIT_VFIO_MAP_MINSZ || (map->flags & ~known))
		return (struct call){ -EINVAL, ENOMEM_NEVER };
	if (size == 0)
		return (struct call){ -EINVAL, ENOMEM_NEVER };
	if (__builtin_add_overflow(iova, size - 1, &last) ||
	    __builtin_add_overflow(vaddr, size - 1, &vlast))
		return (struct call){ ovf_errno(), ENOMEM_NEVER };
	prot = map->flags & (DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE);
	set_vaddr = map->flags & DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;
	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return (struct call){ -EINVAL, ENOMEM_NEVER };
	if ((size | iova | vaddr) & (PG - 1))
		return (struct call){ -EINVAL, ENOMEM_NEVER };

	if (set_vaddr) {
		/* vfio_find_dma(): any overlapping dma. Only an exact match of an
		 * invalidated dma succeeds, and then no other dma overlaps, so
		 * which one the tree walk finds does not matter. */
		for (i = 0; i < M.n; i++)
			if (overlaps(&M.m[i], iova, last))
				break;
		if (i == M.n)
			return (struct call){ -ENOENT, ENOMEM_NEVER };
		if (M.m[i].valid || M.m[i].iova != iova || M.m[i].size != size)
			return (struct call){ -EINVAL, ENOMEM_NEVER };
		M.m[i].vaddr = vaddr;
		M.m[i].valid = true;
		/* vfio_change_dma_owner() may fail with ENOMEM in the kernel. */
		return (struct call){ 0, ENOMEM_IF_ALLOCS };
	}

	for (i = 0; i < M.n; i++)
		if (overlaps(&M.m[i], iova, last))
			return (struct call){ -EEXIST, ENOMEM_NEVER };
	if (M.limit - M.n == 0)
		return (struct call){ -ENOSPC, ENOMEM_NEVER };
	if (!iova_valid(iova, last))
		return (struct call){ -EINVAL, ENOMEM_NEVER };

	/* kzalloc of the vfio_dma comes here: ENOMEM from now on is fine. */
	pages = size / PG;
	pinnable = pinnable_pages(vaddr, pages);
	if (!M.cap_ipc_lock) {
		uint64_t limit = M.memlock / PG, locked = locked_pages();
		uint64_t room = limit > locked ? limit - locked : 0;

		/* Each page is pinned, then accounted: the first page past the
		 * limit fails ENOMEM unless an earlier (or the same) page could
		 * not be pinned. */
		if (room < pages && room < pinnable)
			return (struct call){ -ENOMEM, ENOMEM_IF_ALLOCS };
	}
	if (pinnable < pages)
		return (struct call){ -EFAULT, ENOMEM_IF_ALLOCS };
	/* dirty tracking: npages > INT_MAX cannot happen below 2^39. */
	nm = (struct mmap){ iova, size, vaddr, prot, true, { 0, 0 } };
	model_insert(&nm);
	return (struct call){ 0, ENOMEM_IF_ALLOCS };
}

/* The dmas reported by the last unmap or GET_BITMAP, to check their bits. */
static struct mmap reported[MAX_MAPS];
static size_t nreported;

FZ_MODEL static struct call model_unmap(const struct dmakit_vfio_iommu_type1_dma_unmap *u,
			       const struct dmakit_vfio_bitmap *bm, uint64_t *unmapped)
{
	const uint32_t known = DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			       DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL | DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR;
	const struct call einval = { -EINVAL, ENOMEM_NEVER };
	bool get_dirty, all, set_vaddr;
	uint64_t iova = u->iova, size = u->size, last;
	size_t i, first, j;

	*unmapped = 0;
	nreported = 0;
	if (u->argsz < DMAKIT_VFIO_UNMAP_MINSZ || (u->flags & ~known))
		return einval;
	get_dirty = u->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	all = u->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL;
	set_vaddr = u->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR;
	if (get_dirty && (all || set_vaddr))
		return einval;
	if (get_dirty) {
		if (u->argsz < DMAKIT_VFIO_UNMAP_MINSZ + sizeof(*bm))
			return einval;
		if (!access_ok(bm->data, bm->size))
			return einval;
		if (verify_bitmap_size(size >> user_pgshift(bm->pgsize), bm->size))
			return einval;
	}
	/* vfio_dma_do_unmap() */
	if (iova & (PG - 1))
		return einval;
	if (all) {
		if (iova || size)
			return einval;
		last = UINT64_MAX;
	} else {
		if (!size || (size & (PG - 1)))
			return einval;
		if (__builtin_add_overflow(iova, size - 1, &last))
			return (struct call){ ovf_errno(), ENOMEM_NEVER };
	}
	if (get_dirty && (!M.tracking || bm->pgsize != PG))
		return einval;
	if (M.v2 && !all) {
		for (i = 0; i < M.n; i++) {
			if (holds(&M.m[i], iova) && M.m[i].iova != iova)
				return einval;
			if (holds(&M.m[i], last) && mlast(&M.m[i]) != last)
				return einval;
		}
	}
	for (first = 0; first < M.n; first++)
		if (overlaps(&M.m[first], iova, last))
			break;
	if (first == M.n)
		return (struct call){ 0, ENOMEM_NEVER };
	/* v1: a request starting inside a dma stops the walk at once. */
	if (!M.v2 && iova > M.m[first].iova)
		return (struct call){ 0, ENOMEM_NEVER };
	if (set_vaddr) {
		for (j = first; j < M.n && M.m[j].iova <= last; j++)
			if (!M.m[j].valid)
				return einval; /* rolled back: nothing changes */
		for (j = first; j < M.n && M.m[j].iova <= last; j++) {
			M.m[j].valid = false;
			*unmapped += M.m[j].size;
		}
		return (struct call){ 0, ENOMEM_NEVER };
	}
	while (first < M.n && M.m[first].iova <= last) {
		*unmapped += M.m[first].size;
		reported[nreported++] = M.m[first];
		model_remove_at(first);
	}
	return (struct call){ 0, ENOMEM_NEVER };
}

/*
 * update_user_bitmap() of the kernel (vfio_iommu_type1.c), bit by bit, on
 * @exp, the model's copy of the user's bitmap whose bit 0 is @base_iova:
 *
 *   bitmap_set(dma->bitmap, 0, nbits);            every page dirty
 *   if (shift) {                                  bit offset not word aligned
 *       bitmap_shift_left(dma->bitmap, dma->bitmap, shift, nbits + shift);
 *       bitmap_or(dma->bitmap, dma->bitmap, &user_word_at_copy_offset, shift);
 *   }
 *   copy_to_user(user + copy_offset, dma->bitmap, DIRTY_BITMAP_BYTES(nbits + shift));
 *   bitmap_clear(dma->bitmap, 0, nbits);          then re-populate pinned: none
 *
 * The shift moves whole words of the in-place bitmap (words at and above
 * BITS_TO_LONGS(nbits + shift) keep their bits), the OR takes the user's
 * whole word, and only the first nbits are cleared afterwards: what lies
 * above stays for the next report (struct mmap, stale[]).
 */
FZ_MODEL static bool stale_bit(const struct mmap *m, uint64_t i)
{
	return i < 128 && (m->stale[i / 64] >> (i % 64)) & 1;
}

FZ_MODEL static bool exp_bit(const uint8_t *exp, uint64_t bit)
{
	return (exp[bit / 8] >> (bit % 8)) & 1;
}

FZ_MODEL static void exp_set(uint8_t *exp, uint64_t bit, bool v)
{
	if (v)
		exp[bit / 8] |= (uint8_t)(1u << (bit % 8));
	else
		exp[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

FZ_MODEL static void model_report(struct mmap *m, uint8_t *exp, uint64_t base_iova)
{
	uint64_t nbits = m->size / PG, bit_offset = (m->iova - base_iova) / PG;
	uint64_t copy_offset = bit_offset / 64, shift = bit_offset % 64;
	uint64_t alloc_bits = ((nbits + 63) / 64 + 1) * 64;
	uint64_t lim_bits = ((nbits + shift + 63) / 64) * 64; /* bits written */
	uint64_t user_word = 0, i, new_stale[2] = { 0, 0 };

	/* From bit `ones` up to nbits every bit is a one moved from below
	 * nbits, written to the user and cleared afterwards: filled
	 * bytewise, it keeps a report of a large dma cheap. */
	uint64_t ones = shift ? shift + 64 : 0;

	for (i = 0; shift && i < 64; i++)
		user_word |= (uint64_t)exp_bit(exp, copy_offset * 64 + i) << i;
	for (i = 0; i < alloc_bits; i++) {
		uint64_t from;
		bool bit = false;

		if (i == ones && ones < nbits) {
			for (; i < nbits && (copy_offset * 64 + i) % 8; i++)
				exp_set(exp, copy_offset * 64 + i, true);
			for (; i + 8 <= nbits; i += 8)
				exp[(copy_offset * 64 + i) / 8] = 0xff;
			for (; i < nbits; i++)
				exp_set(exp, copy_offset * 64 + i, true);
			if (i == alloc_bits)
				break;
		}
		/* the bitmap before the report: ones, then the stale bits;
		 * the shift moves the words it covers, those above stay */
		from = i;
		if (shift && i < lim_bits)
			from = i < shift ? UINT64_MAX : i - shift;
		if (from != UINT64_MAX)
			bit = from < nbits ? true : stale_bit(m, from - nbits);
		if (shift && i < 64)
			bit |= (user_word >> i) & 1;
		if (i < lim_bits)
			exp_set(exp, copy_offset * 64 + i, bit);
		if (i >= nbits && bit)
			new_stale[(i - nbits) / 64] |= 1ull << ((i - nbits) % 64);
	}
	m->stale[0] = new_stale[0];
	m->stale[1] = new_stale[1];
}

/* The user's bitmap as the model expects it after the reports of the
 * dmas in reported[], compared byte for byte with what the emulator left. */
FZ_MODEL static void check_dirty_bits(const uint8_t *data, uint8_t *exp, uint64_t bsize,
			     uint64_t base_iova, const char *what)
{
	uint64_t k;
	size_t i;

	for (i = 0; i < nreported; i++)
		model_report(&reported[i], exp, base_iova);
	if (memcmp(data, exp, bsize) == 0)
		return;
	for (k = 0; k < bsize; k++)
		FZ_CHECK(data[k] == exp[k], "%s: bitmap byte %" PRIu64 " is 0x%02x, model 0x%02x",
			 what, k, data[k], exp[k]);
}

FZ_MODEL static struct call model_dirty(const struct dmakit_vfio_iommu_type1_dirty_bitmap *d,
			       const struct dmakit_vfio_iommu_type1_dirty_bitmap_get *g)
{
	const uint32_t known = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			       DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			       DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	const struct call einval = { -EINVAL, ENOMEM_NEVER };
	uint64_t last, end;
	size_t i;

	nreported = 0;
	if (!M.v2)
		return (struct call){ -EACCES, ENOMEM_NEVER };
	if (d->argsz < DMAKIT_VFIO_DIRTY_MINSZ || (d->flags & ~known))
		return einval;
	if (!d->flags || (d->flags & (d->flags - 1)))
		return einval;
	if (d->flags == DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
		if (M.tracking)
			return (struct call){ 0, ENOMEM_NEVER };
		M.tracking = true;
		for (i = 0; i < M.n; i++)
			M.m[i].stale[0] = M.m[i].stale[1] = 0; /* kvzalloc'ed */
		return (struct call){ 0, ENOMEM_IF_ALLOCS };
	}
	if (d->flags == DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
		M.tracking = false;
		return (struct call){ 0, ENOMEM_NEVER };
	}
	if (d->argsz - DMAKIT_VFIO_DIRTY_MINSZ < sizeof(*g))
		return einval;
	if (g->size == 0)
		return einval;
	/* 6.1 checks the exclusive end (docs/emulator.md). */
	if (!M.k618 && __builtin_add_overflow(g->iova, g->size, &end))
		return einval;
	if (__builtin_add_overflow(g->iova, g->size - 1, &last))
		return (struct call){ ovf_errno(), ENOMEM_NEVER };
	if (!access_ok(g->bitmap.data, g->bitmap.size))
		return einval;
	if (verify_bitmap_size(g->size >> user_pgshift(g->bitmap.pgsize), g->bitmap.size))
		return einval;
	if (g->bitmap.pgsize != PG)
		return einval;
	if ((g->iova | g->size) & (PG - 1))
		return einval;
	if (!M.tracking)
		return einval;
	for (i = 0; i < M.n; i++) {
		if (holds(&M.m[i], g->iova) && M.m[i].iova != g->iova)
			return einval;
		if (holds(&M.m[i], last) && mlast(&M.m[i]) != last)
			return einval;
	}
	for (i = 0; i < M.n; i++)
		if (M.m[i].iova >= g->iova && M.m[i].iova <= last)
			reported[nreported++] = M.m[i];
	return (struct call){ 0, ENOMEM_NEVER };
}

static int model_check_extension(unsigned long ext)
{
	switch (ext) {
	case DMAKIT_VFIO_TYPE1_IOMMU:
	case DMAKIT_VFIO_TYPE1v2_IOMMU:
	case DMAKIT_VFIO_UNMAP_ALL:
		return 1;
	case DMAKIT_VFIO_UPDATE_VADDR:
		return M.set ? 1 : 0;
	case DMAKIT_VFIO_TYPE1_NESTING_IOMMU:
		return M.k618 ? 0 : 1;
	default:
		/* DMA_CC_IOMMU: the emulated VT-d does not enforce snooping. */
		return 0;
	}
}

static int model_set_iommu(unsigned long type)
{
	if (M.set)
		return -EINVAL;
	switch (type) {
	case DMAKIT_VFIO_TYPE1_IOMMU:
	case DMAKIT_VFIO_TYPE1v2_IOMMU:
		M.set = true;
		M.v2 = type == DMAKIT_VFIO_TYPE1v2_IOMMU;
		return 0;
	case DMAKIT_VFIO_UNMAP_ALL:
		return -EINVAL;
	case DMAKIT_VFIO_TYPE1_NESTING_IOMMU:
		return M.k618 ? -ENODEV : -EINVAL;
	default:
		return -ENODEV;
	}
}

/* ---- driving one operation ------------------------------------------------ */

struct runner {
	struct dmakit_container *c;
	unsigned int fault_nth; /* 0: no allocation failed in this operation */
};

static void fault_begin(struct runner *r)
{
	if (r->fault_nth) {
		SNAP = M;
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, r->fault_nth, 0);
	}
}

/* Compare @got with the model's @call; with a failed allocation, -ENOMEM
 * with the model rolled back is also right where the kernel allocates. */
static void fault_end(struct runner *r, struct call call, int got, const char *what)
{
	bool fired = false;

	if (r->fault_nth) {
		fired = dmakit_fault_fired(DMAKIT_FAULT_ALLOC);
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		r->fault_nth = 0;
	}
	FZ_LOG("%s -> %d (model %d)%s\n", what, got, call.want, fired ? " [alloc failed]" : "");
	if (fired && got == -ENOMEM && call.want != -ENOMEM) {
		FZ_CHECK(call.enomem == ENOMEM_IF_ALLOCS,
			 "%s: -ENOMEM from a failed allocation where the model answers %d and the "
			 "kernel allocates nothing", what, call.want);
		M = SNAP; /* nothing may have changed */
		nreported = 0;
		return;
	}
	FZ_CHECK(got == call.want, "%s: %d (%s), model %d", what, got,
		 fired ? "an allocation failed" : "no allocation failed", call.want);
}

static bool pre_set_einval(struct runner *r, int got, const char *what)
{
	if (M.set)
		return false;
	fault_end(r, (struct call){ -EINVAL, ENOMEM_NEVER }, got, what);
	return true;
}

static void op_map(struct runner *r, struct fz *f, bool remap)
{
	static const uint32_t flag_choices[] = {
		DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		DMAKIT_VFIO_DMA_MAP_FLAG_READ,
		DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		0,
		DMAKIT_VFIO_DMA_MAP_FLAG_VADDR | DMAKIT_VFIO_DMA_MAP_FLAG_READ,
		DMAKIT_VFIO_DMA_MAP_FLAG_READ | 8,
		DMAKIT_VFIO_DMA_MAP_FLAG_VADDR,
	};
	struct dmakit_vfio_iommu_type1_dma_map map, copy;
	uint8_t sel = fz_u8(f);
	struct call call;
	int got;

	memset(&map, 0, sizeof(map));
	map.argsz = (sel & 0xc0) == 0xc0 ? (uint32_t[]){ 31, 0, 40, 33 }[sel % 4] : 32;
	if (remap)
		map.flags = (sel & 0x30) == 0x30 ? flag_choices[sel % 8] : DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;
	else
		map.flags = flag_choices[sel % 8 < 5 ? sel % 8 : (sel & 0x20 ? sel % 8 : 0)];
	if (remap && M.n && (fz_u8(f) & 3)) {
		const struct mmap *m = &M.m[fz_u8(f) % M.n];

		map.iova = m->iova;
		map.size = m->size;
	} else {
		map.iova = draw_iova(f);
		map.size = draw_size(f, map.iova);
	}
	map.vaddr = draw_vaddr(f);
	copy = map;

	fault_begin(r);
	got = dmakit_container_map_dma(r->c, &map);
	FZ_CHECK(memcmp(&map, &copy, sizeof(map)) == 0, "MAP wrote to its argument");
	if (pre_set_einval(r, got, "MAP"))
		return;
	call = model_map(&map);
	{
		char what[160];

		snprintf(what, sizeof(what),
			 "MAP argsz=%u flags=0x%x iova=0x%" PRIx64 " size=0x%" PRIx64
			 " vaddr=0x%" PRIx64, map.argsz, map.flags, map.iova, map.size, map.vaddr);
		fault_end(r, call, got, what);
	}
}

/* A bitmap buffer for GET_DIRTY_BITMAP / GET_BITMAP: @npages of the range,
 * its size and page size drawn around the right values. */
static void draw_bitmap(struct fz *f, uint64_t range_size, struct dmakit_vfio_bitmap *bm)
{
	uint8_t sel = fz_u8(f);
	uint64_t npages = range_size / PG;

	bm->pgsize = (sel & 0x7) < 6 ? PG : (uint64_t[]){ 0, 8192 }[sel & 1];
	switch ((sel >> 3) % 8) {
	case 0:
	case 1:
	case 2:
	case 3:
		bm->size = bitmap_bytes(npages);
		break;
	case 4:
		bm->size = bitmap_bytes(npages) + 8 + (fz_u8(f) % 9);
		break;
	case 5:
		bm->size = bitmap_bytes(npages) - 8;
		break;
	case 6:
		bm->size = fz_u8(f) & 1 ? DMAKIT_VFIO_DIRTY_BITMAP_SIZE_MAX + 8 : 0;
		break;
	default:
		bm->size = fz_u32(f) % (2 * BITMAP_ALLOC_MAX);
		break;
	}
	if (bm->size <= BITMAP_ALLOC_MAX && !(sel == 0xff)) {
		bm->data = malloc(bm->size ? bm->size : 1);
		memset(bm->data, 0xee, bm->size);
		/* The caller zeroes the bitmap of the range (the kernel ORs in). */
		memset(bm->data, 0, bm->size < bitmap_bytes(npages) ? bm->size : bitmap_bytes(npages));
	} else {
		bm->data = BAD_USER_PTR;
	}
}

/* A copy of the bitmap buffer before the call: what the model updates. */
static uint8_t *snapshot_bitmap(const struct dmakit_vfio_bitmap *bm)
{
	uint8_t *copy;

	if (!bm->data || bm->data == BAD_USER_PTR)
		return NULL;
	copy = malloc(bm->size ? bm->size : 1);
	memcpy(copy, bm->data, bm->size);
	return copy;
}

static void free_bitmap(struct dmakit_vfio_bitmap *bm)
{
	if (bm->data != BAD_USER_PTR)
		free(bm->data);
}

static void op_unmap(struct runner *r, struct fz *f, uint32_t base_flags)
{
	/* the request and the vfio_bitmap that follows it (argsz 48) */
	uint64_t raw[(sizeof(struct dmakit_vfio_iommu_type1_dma_unmap) +
		      sizeof(struct dmakit_vfio_bitmap)) / sizeof(uint64_t)];
	struct dmakit_vfio_iommu_type1_dma_unmap *u = (void *)raw;
	struct dmakit_vfio_iommu_type1_dma_unmap req;
	uint8_t sel = fz_u8(f);
	uint64_t want_size = 0;
	struct dmakit_vfio_bitmap bm = { 0 };
	uint8_t *exp;
	struct call call;
	char what[160];
	int got;

	memset(raw, 0, sizeof(raw));
	u->argsz = (sel & 0xc0) == 0xc0 ? (uint32_t[]){ 23, 47, 0, 64 }[sel % 4] : 24;
	u->flags = base_flags;
	if ((sel & 0x30) == 0x30)
		u->flags ^= (uint32_t[]){ 1, 2, 4, 8 }[(sel >> 2) % 4];
	if (base_flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL) {
		if ((sel & 0x0f) == 0x0f) {
			u->iova = draw_iova(f);
			u->size = draw_size(f, u->iova);
		}
	} else if (M.n && (fz_u8(f) % 4 == 0)) {
		/* exactly one mapping, or a span of several */
		const struct mmap *a = &M.m[fz_u8(f) % M.n], *b = &M.m[fz_u8(f) % M.n];

		if (b->iova < a->iova) {
			const struct mmap *t = a;

			a = b;
			b = t;
		}
		u->iova = a->iova;
		u->size = b->iova + b->size - a->iova;
	} else {
		u->iova = draw_iova(f);
		u->size = draw_size(f, u->iova);
	}
	if (u->flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		if (u->argsz == 24)
			u->argsz = 48;
		draw_bitmap(f, u->size, &bm);
		memcpy(u->data, &bm, sizeof(bm));
	}
	req = *u;
	exp = snapshot_bitmap(&bm);
	snprintf(what, sizeof(what), "UNMAP argsz=%u flags=0x%x iova=0x%" PRIx64 " size=0x%" PRIx64,
		 req.argsz, req.flags, req.iova, req.size);

	fault_begin(r);
	got = dmakit_container_unmap_dma(r->c, u);
	if (pre_set_einval(r, got, what)) {
		FZ_CHECK(u->size == req.size, "UNMAP before SET_IOMMU wrote size back");
		free_bitmap(&bm);
		free(exp);
		return;
	}
	call = model_unmap(&req, &bm, &want_size);
	fault_end(r, call, got, what);
	if (got == 0) {
		FZ_CHECK(u->size == want_size, "%s: size written back 0x%" PRIx64
			 ", model 0x%" PRIx64, what, u->size, want_size);
		if (req.flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
			check_dirty_bits((const uint8_t *)bm.data, exp, bm.size, req.iova, what);
	} else {
		FZ_CHECK(u->size == req.size, "%s failed with %d but wrote size 0x%" PRIx64,
			 what, got, u->size);
	}
	FZ_CHECK(u->argsz == req.argsz && u->flags == req.flags && u->iova == req.iova,
		 "%s: argsz, flags or iova written back", what);
	free_bitmap(&bm);
	free(exp);
}

static void op_get_info(struct runner *r, struct fz *f)
{
	uint8_t sel = fz_u8(f);
	uint32_t argsz, need, writeback, alloc, k;
	const uint32_t chain = M.k618 ? 96 : 92; /* 6.1: DMA_AVAIL unpadded */
	struct dmakit_vfio_iommu_type1_info info;
	struct dmakit_type1_info parsed;
	uint8_t *buf;
	int got;

	switch (sel % 6) {
	case 0:
		argsz = 24;
		break;
	case 1:
		argsz = 24 + chain;
		break;
	case 2:
		argsz = 24 + chain - 1 - fz_u8(f) % 8;
		break;
	case 3:
		argsz = 16 + fz_u8(f) % 12;
		break;
	case 4:
		argsz = fz_u8(f);
		break;
	default:
		argsz = 24 + chain + fz_u8(f) % 64;
		break;
	}
	alloc = argsz < 16 ? 16 : argsz;
	buf = malloc(alloc);
	memset(buf, 0xcc, alloc);
	memcpy(buf, &argsz, sizeof(argsz));

	fault_begin(r);
	got = dmakit_container_get_info(r->c, (struct dmakit_vfio_iommu_type1_info *)buf);
	if (pre_set_einval(r, got, "GET_INFO"))
		goto out;
	if (argsz < DMAKIT_VFIO_INFO_MINSZ) {
		fault_end(r, (struct call){ -EINVAL, ENOMEM_NEVER }, got, "GET_INFO");
		for (k = 4; k < alloc; k++)
			FZ_CHECK(buf[k] == 0xcc, "GET_INFO argsz=%u failed but wrote byte %u", argsz, k);
		goto out;
	}
	/* The kernel builds the chain in a krealloc'ed buffer. */
	fault_end(r, (struct call){ 0, ENOMEM_IF_ALLOCS }, got, "GET_INFO");
	if (got != 0)
		goto out;
	need = 24 + chain;
	writeback = M.k618 ? (argsz < 24 ? argsz : 24) : (argsz >= 20 ? 20 : 16);
	memcpy(&info, buf, sizeof(info) < alloc ? sizeof(info) : alloc);
	FZ_CHECK(info.argsz == (argsz < need ? need : argsz), "GET_INFO argsz=%u: argsz %u back",
		 argsz, info.argsz);
	FZ_CHECK(info.flags == (DMAKIT_VFIO_IOMMU_INFO_PGSIZES | DMAKIT_VFIO_IOMMU_INFO_CAPS),
		 "GET_INFO flags 0x%x", info.flags);
	FZ_CHECK(info.iova_pgsizes == PLAT_PGSIZES, "GET_INFO pgsizes 0x%" PRIx64,
		 info.iova_pgsizes);
	if (writeback >= 20)
		FZ_CHECK(info.cap_offset == (argsz >= need ? 24u : 0u),
			 "GET_INFO argsz=%u: cap_offset %u", argsz, info.cap_offset);
	for (k = writeback; k < 24 && k < alloc; k++)
		FZ_CHECK(buf[k] == 0xcc, "GET_INFO argsz=%u (write-back %u bytes) wrote byte %u",
			 argsz, writeback, k);
	if (M.k618 && writeback == 24)
		FZ_CHECK(info.pad == 0, "GET_INFO 6.18: pad 0x%x", info.pad);
	if (argsz < need) {
		for (k = 24; k < alloc; k++)
			FZ_CHECK(buf[k] == 0xcc, "GET_INFO argsz=%u (too small) wrote byte %u", argsz,
				 k);
		goto out;
	}
	for (k = need; k < alloc; k++)
		FZ_CHECK(buf[k] == 0xcc, "GET_INFO argsz=%u wrote byte %u past the chain", argsz, k);
	{
		/* The chain: MIGRATION at 24 (32 bytes), DMA_AVAIL at 56 (12, or
		 * 16 padded), IOVA_RANGE after it with two ranges. */
		struct dmakit_vfio_info_cap_header h;
		uint32_t avail_off = 56, range_off = M.k618 ? 72 : 68;

		memcpy(&h, buf + 24, sizeof(h));
		FZ_CHECK(h.id == 2 && h.version == 1 && h.next == avail_off,
			 "GET_INFO: MIGRATION header %u/%u/%u", h.id, h.version, h.next);
		memcpy(&h, buf + avail_off, sizeof(h));
		FZ_CHECK(h.id == 3 && h.version == 1 && h.next == range_off,
			 "GET_INFO: DMA_AVAIL header %u/%u/%u", h.id, h.version, h.next);
		memcpy(&h, buf + range_off, sizeof(h));
		FZ_CHECK(h.id == 1 && h.version == 1 && h.next == 0,
			 "GET_INFO: IOVA_RANGE header %u/%u/%u", h.id, h.version, h.next);
		if (M.k618)
			for (k = 68; k < 72; k++)
				FZ_CHECK(buf[k] == 0, "GET_INFO 6.18: DMA_AVAIL padding not zero");
	}
	FZ_CHECK(dmakit_type1_info_parse(buf, alloc, &parsed) == 0, "GET_INFO: chain unparsable");
	FZ_CHECK(parsed.has_dma_avail && parsed.dma_avail == M.limit - M.n,
		 "GET_INFO: DMA_AVAIL %u (present %d), model %" PRIu64, parsed.dma_avail,
		 parsed.has_dma_avail, (uint64_t)(M.limit - M.n));
	FZ_CHECK(parsed.has_migration && parsed.migration_flags == 0 &&
			 parsed.migration_pgsize_bitmap == PG &&
			 parsed.migration_max_dirty_bitmap_size == DMAKIT_VFIO_DIRTY_BITMAP_SIZE_MAX,
		 "GET_INFO: MIGRATION capability");
	FZ_CHECK(parsed.has_iova_ranges && parsed.nr_iova_ranges == 2 &&
			 parsed.iova_ranges[0].start == plat_ranges[0][0] &&
			 parsed.iova_ranges[0].end == plat_ranges[0][1] &&
			 parsed.iova_ranges[1].start == plat_ranges[1][0] &&
			 parsed.iova_ranges[1].end == plat_ranges[1][1],
		 "GET_INFO: IOVA_RANGE capability");
out:
	free(buf);
}

static void op_dirty(struct runner *r, struct fz *f)
{
	/* the request and the range that follows it (argsz 48) */
	uint64_t raw[(sizeof(struct dmakit_vfio_iommu_type1_dirty_bitmap) +
		      sizeof(struct dmakit_vfio_iommu_type1_dirty_bitmap_get)) / sizeof(uint64_t)];
	struct dmakit_vfio_iommu_type1_dirty_bitmap *d = (void *)raw;
	struct dmakit_vfio_iommu_type1_dirty_bitmap_get req = { 0 };
	uint8_t sel = fz_u8(f), *exp;
	struct call call;
	char what[160];
	int got;

	memset(raw, 0, sizeof(raw));
	d->argsz = (sel & 0xc0) == 0xc0 ? (uint32_t[]){ 7, 47, 8, 64 }[sel % 4] : 48;
	switch ((sel >> 2) % 8) {
	case 0:
	case 1:
		d->flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
		break;
	case 2:
		d->flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
		break;
	case 3:
	case 4:
	case 5:
		d->flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
		break;
	case 6:
		d->flags = (uint32_t[]){ 0, 3, 5, 8 }[sel % 4];
		break;
	default:
		d->flags = fz_u32(f);
		break;
	}
	if (d->flags == DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
		if (M.n && (fz_u8(f) % 2 == 0)) {
			const struct mmap *a = &M.m[fz_u8(f) % M.n], *b = &M.m[fz_u8(f) % M.n];

			if (b->iova < a->iova) {
				const struct mmap *t = a;

				a = b;
				b = t;
			}
			/* a span from a page or two below a to b's end */
			req.iova = a->iova - (uint64_t)(fz_u8(f) % 3) * PG;
			req.size = b->iova + b->size - req.iova;
		} else {
			req.iova = draw_iova(f);
			req.size = draw_size(f, req.iova);
		}
		draw_bitmap(f, req.size, &req.bitmap);
		memcpy(d->data, &req, sizeof(req));
	}
	exp = snapshot_bitmap(&req.bitmap);
	snprintf(what, sizeof(what), "DIRTY_PAGES argsz=%u flags=0x%x iova=0x%" PRIx64
		 " size=0x%" PRIx64 " pgsize=0x%" PRIx64 " bsize=0x%" PRIx64, d->argsz,
		 d->flags, req.iova, req.size, req.bitmap.pgsize, req.bitmap.size);

	fault_begin(r);
	got = dmakit_container_dirty_pages(r->c, d);
	if (!pre_set_einval(r, got, what)) {
		call = model_dirty(d, &req);
		fault_end(r, call, got, what);
		if (got == 0 && d->flags == DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
			size_t i, j;

			check_dirty_bits((const uint8_t *)req.bitmap.data, exp, req.bitmap.size,
					 req.iova, what);
			/* the dmas keep their stale bits */
			for (i = 0; i < nreported; i++)
				for (j = 0; j < M.n; j++)
					if (M.m[j].iova == reported[i].iova)
						memcpy(M.m[j].stale, reported[i].stale,
						       sizeof(M.m[j].stale));
		}
	}
	if (d->flags == DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP)
		free_bitmap(&req.bitmap);
	free(exp);
}

static void op_misc(struct runner *r, struct fz *f)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);
	char what[80];
	int got, want;

	switch (sel % 6) {
	case 0:
	case 1:
		got = dmakit_container_check_extension(r->c, arg % 12);
		want = model_check_extension(arg % 12);
		snprintf(what, sizeof(what), "CHECK_EXTENSION(%u)", arg % 12);
		break;
	case 2:
		got = dmakit_container_set_iommu(r->c, arg % 11);
		want = model_set_iommu(arg % 11);
		snprintf(what, sizeof(what), "SET_IOMMU(%u)", arg % 11);
		break;
	case 3:
		got = dmakit_container_ioctl(r->c, DMAKIT_VFIO_GET_API_VERSION, NULL);
		want = 0;
		snprintf(what, sizeof(what), "GET_API_VERSION");
		break;
	case 4: {
		static const unsigned long reqs[] = {
			DMAKIT_VFIO_IOMMU_ENABLE, DMAKIT_VFIO_IOMMU_DISABLE,
			DMAKIT_VFIO_IO(118), DMAKIT_VFIO_IO(0x80), DMAKIT_VFIO_GROUP_GET_STATUS,
		};
		unsigned long req = reqs[arg % 5];
		uint64_t junk[8] = { 0 };

		got = dmakit_container_ioctl(r->c, req, junk);
		want = M.set ? -ENOTTY : -EINVAL;
		snprintf(what, sizeof(what), "ioctl 0x%lx", req);
		break;
	}
	default: {
		/* declare process memory: page aligned, near VADDR_BASE */
		uint64_t vaddr = VADDR_BASE + (uint64_t)(arg % 64) * 4 * PG;
		uint64_t size = (uint64_t)(fz_u8(f) % 24) * PG;

		if (M.ndecl == MAX_DECL)
			return; /* the model is out of slots */
		got = dmakit_container_declare_memory(r->c, vaddr, size);
		want = size ? 0 : -EINVAL;
		if (size) {
			M.decl[M.ndecl][0] = vaddr;
			M.decl[M.ndecl][1] = vaddr + size - 1;
			M.ndecl++;
		}
		snprintf(what, sizeof(what), "declare 0x%" PRIx64 "+0x%" PRIx64, vaddr, size);
		FZ_LOG("%s -> %d (model %d)\n", what, got, want);
		FZ_CHECK(got == want, "%s: %d, model %d", what, got, want);
		return;
	}
	}
	FZ_LOG("%s -> %d (model %d)\n", what, got, want);
	FZ_CHECK(got == want, "%s: %d, model %d", what, got, want);
}

/* ---- the entry point -------------------------------------------------------- */

static int open_container(struct fz *f, struct dmakit_container **c)
{
	struct dmakit_container_config cfg;
	uint8_t b0 = fz_u8(f), b1 = fz_u8(f), b2 = fz_u8(f), b3 = fz_u8(f);
	unsigned int i, ndecl;

	memset(&M, 0, sizeof(M));
	dmakit_container_config_init(&cfg);
	M.open_type = (uint32_t[]){ DMAKIT_VFIO_TYPE1_IOMMU, DMAKIT_VFIO_TYPE1v2_IOMMU,
				    DMAKIT_VFIO_TYPE1v2_IOMMU, 0 }[b0 & 3];
	cfg.iommu_type = M.open_type;
	M.k618 = b0 & 4;
	cfg.kernel = M.k618 ? DMAKIT_KERNEL_6_18 : DMAKIT_KERNEL_6_1;
	M.cap_ipc_lock = !(b0 & 8);
	cfg.cap_ipc_lock = M.cap_ipc_lock;
	cfg.model_page_tables = b0 & 0x10;
	cfg.disable_hugepages = b0 & 0x20;
	cfg.backing_page_size = (uint64_t[]){ PG, 2ull << 20, 1ull << 30, 2ull << 20 }[b0 >> 6];
	switch (b1 % 4) {
	case 0:
		M.limit = 65535;
		break;
	case 3:
		M.limit = (uint32_t)(b1 >> 2) * 1000;
		break;
	default:
		M.limit = (b1 >> 2) % 9;
		break;
	}
	cfg.dma_entry_limit = M.limit;
	M.memlock = b2 == 0xff ? UINT64_MAX : (uint64_t)b2 * PG + (b2 & 1 ? 123 : 0);
	cfg.memlock_limit = M.memlock;

	FZ_LOG("open type=%u kernel=%s limit=%u cap_ipc_lock=%d memlock=0x%" PRIx64
	       " page_tables=%d disable_hugepages=%d backing=0x%" PRIx64 "\n",
	       cfg.iommu_type, M.k618 ? "6.18" : "6.1", cfg.dma_entry_limit, cfg.cap_ipc_lock,
	       cfg.memlock_limit, cfg.model_page_tables, cfg.disable_hugepages,
	       cfg.backing_page_size);
	if (dmakit_container_open(&cfg, c) != 0)
		FZ_FAIL("open failed");
	M.set = M.open_type != 0;
	M.v2 = M.open_type == DMAKIT_VFIO_TYPE1v2_IOMMU;

	/* Declared memory; always some with the page-table model, whose cost
	 * grows with the bytes mapped (4 KiB runs of 512 GiB are too slow). */
	ndecl = b3 % 4;
	if (cfg.model_page_tables && !ndecl)
		ndecl = 1;
	for (i = 0; i < ndecl; i++) {
		uint64_t vaddr = VADDR_BASE + (uint64_t)(fz_u8(f) % 64) * 4 * PG;
		uint64_t size = (1 + (uint64_t)(fz_u8(f) % 32)) * PG;

		FZ_LOG("declare 0x%" PRIx64 "+0x%" PRIx64 "\n", vaddr, size);
		FZ_CHECK(dmakit_container_declare_memory(*c, vaddr, size) == 0, "declare failed");
		M.decl[M.ndecl][0] = vaddr;
		M.decl[M.ndecl][1] = vaddr + size - 1;
		M.ndecl++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct runner r = { 0 };
	unsigned int ops = 0;

	open_container(&f, &r.c);
	compare_state(r.c);
	while (!fz_empty(&f) && ops++ < MAX_OPS) {
		uint8_t op = fz_u8(&f);

		switch (op % 20) {
		case 0:
		case 1:
		case 2:
		case 3:
		case 4:
			op_map(&r, &f, false);
			break;
		case 5:
			op_map(&r, &f, true);
			break;
		case 6:
		case 7:
		case 8:
			op_unmap(&r, &f, 0);
			break;
		case 9:
			op_unmap(&r, &f, DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL);
			break;
		case 10:
		case 11:
			op_unmap(&r, &f, DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR);
			break;
		case 12:
			op_unmap(&r, &f, DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR |
						      DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL);
			break;
		case 13:
			op_get_info(&r, &f);
			break;
		case 14:
		case 15:
			op_dirty(&r, &f);
			break;
		case 16:
			op_unmap(&r, &f, DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
			break;
		case 17:
			op_misc(&r, &f);
			break;
		case 18:
			/* the next operation runs with its k-th allocation failed */
			r.fault_nth = 1 + fz_u8(&f) % 6;
			continue;
		default:
			if (op & 0x80)
				op_unmap(&r, &f, 0);
			else
				op_map(&r, &f, false);
			break;
		}
		compare_state(r.c);
	}
	dmakit_container_close(r.c);
	return 0;
}
