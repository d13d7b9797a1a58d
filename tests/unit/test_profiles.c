/* SPDX-License-Identifier: MIT */
/*
 * The limit profiles of the emulated type1 kernel (enum dmakit_limit_policy,
 * docs/profiles.md): COUNT (the kernel as it is) and the PROPOSALS
 * REPORT_UNLIMITED, ACCOUNT_BYTES and DROP_CAP. One test per rule; the
 * budget is tried at exactly its limit, one byte below and one above, and
 * every refusal must leave the container as it was: the same mappings,
 * DMA_AVAIL, budget used, locked and mapped bytes, and page tables (no
 * table page and no leaf more or fewer: ACCOUNT_BYTES refuses before the
 * IO page table is touched).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dmakit/dmakit.h>
#include <dmakit/profiles.h>

#define KB 1024ull
#define MB (1024ull * KB)
#define GB (1024ull * MB)
/* A 4 KiB mapping alone in its GiB: a vfio_dma and two table pages. */
#define ONE_ALONE (96ull + 2 * 4096ull)

#include "container_snapshot.h"

/* Exactly the same state, page tables included. */
static void assert_same(const struct snapshot *a, const struct snapshot *b)
{
	assert_same_mappings(a, b);
	assert_int_equal(a->stats.mappings, b->stats.mappings);
	assert_int_equal(a->stats.dma_avail, b->stats.dma_avail);
	assert_int_equal(a->stats.mapped_bytes, b->stats.mapped_bytes);
	assert_int_equal(a->stats.locked_bytes, b->stats.locked_bytes);
	assert_int_equal(a->stats.kernel_object_bytes, b->stats.kernel_object_bytes);
	assert_int_equal(a->stats.dirty_tracking, b->stats.dirty_tracking);
	assert_int_equal(a->stats.budget_used, b->stats.budget_used);
	assert_int_equal(a->stats.budget_limit, b->stats.budget_limit);
	assert_int_equal(a->stats.iopt.table_pages, b->stats.iopt.table_pages);
	assert_memory_equal(a->stats.iopt.leaves, b->stats.iopt.leaves, sizeof(a->stats.iopt.leaves));
}

static struct dmakit_container *open_policy(enum dmakit_limit_policy p, uint32_t limit,
					    uint64_t budget)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c = NULL;

	dmakit_container_config_init(&cfg);
	cfg.dma_entry_limit = limit;
	cfg.limit_policy = p;
	cfg.kernel_budget_bytes = budget;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	return c;
}

static int map(struct dmakit_container *c, uint64_t iova, uint64_t size)
{
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7f0000000000ull + iova, .iova = iova, .size = size,
	};
	return dmakit_container_map_dma(c, &m);
}

static int unmap(struct dmakit_container *c, uint64_t iova, uint64_t size)
{
	struct dmakit_vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};
	return dmakit_container_unmap_dma(c, &u);
}

static int dirty(struct dmakit_container *c, uint32_t flag)
{
	struct dmakit_vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

	return dmakit_container_dirty_pages(c, &d);
}

/* The raw DMA_AVAIL capability: its version and avail; false if absent. */
static bool raw_dma_avail(struct dmakit_container *c, uint16_t *version, uint32_t *avail)
{
	uint8_t buf[512];
	struct dmakit_vfio_iommu_type1_info *info = (void *)buf;
	uint32_t off;

	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	assert_int_equal(dmakit_container_get_info(c, info), 0);
	for (off = info->cap_offset; off; ) {
		struct dmakit_vfio_info_cap_header h;

		memcpy(&h, buf + off, sizeof(h));
		if (h.id == DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct dmakit_vfio_iommu_type1_info_dma_avail a;

			memcpy(&a, buf + off, sizeof(a));
			*version = h.version;
			*avail = a.avail;
			return true;
		}
		off = h.next;
	}
	return false;
}

/* ---- names and numbers -------------------------------------------------- */

static void names_round_trip(void **state)
{
	enum dmakit_limit_policy p;
	unsigned int i;

	(void)state;
	for (i = 0; i <= DMAKIT_LIMIT_DROP_CAP; i++) {
		assert_int_equal(dmakit_limit_policy_parse(dmakit_limit_policy_name(i), &p), 0);
		assert_int_equal(p, i);
	}
	assert_int_equal(dmakit_limit_policy_parse("unlimited", &p), -EINVAL);
	assert_string_equal(dmakit_limit_policy_name(DMAKIT_LIMIT_ACCOUNT_BYTES), "account-bytes");
}

static void table_pages_upper_counts_spans(void **state)
{
	(void)state;
	assert_int_equal(dmakit_profile_table_pages_upper(0x40000000, 4 * KB), 2);
	assert_int_equal(dmakit_profile_table_pages_upper(0, 2 * MB), 2);
	/* straddles a 2 MiB boundary: two leaf tables, one middle */
	assert_int_equal(dmakit_profile_table_pages_upper(2 * MB - 4 * KB, 8 * KB), 3);
	/* straddles a 1 GiB boundary: two of each */
	assert_int_equal(dmakit_profile_table_pages_upper(GB - 4 * KB, 8 * KB), 4);
	assert_int_equal(dmakit_profile_table_pages_upper(GB, GB), 512 + 1);
	assert_int_equal(dmakit_profile_table_pages_upper(0, 0), 0);
}

static void worst_mapping_from_the_model(void **state)
{
	struct dmakit_profile_mapping_cost w;
	struct dmakit_profile_bound b;

	(void)state;
	assert_int_equal(dmakit_profile_mapping_worst(&w), 0);
	assert_int_equal(w.vfio_dma_bytes, 96);
	assert_int_equal(w.table_pages, 2); /* 39-bit VT-d: a level-1 and a level-0 table */
	assert_int_equal(w.bitmap_bytes, 16);
	assert_int_equal(w.total, 96 + 8192 + 16);
	assert_int_equal(dmakit_profile_force_bound(DMAKIT_LIMIT_COUNT, 65535, 0, &b), 0);
	assert_true(b.bounded);
	assert_int_equal(b.bytes, 65535ull * 8304);
	assert_int_equal(dmakit_profile_force_bound(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, 0, &b), 0);
	assert_true(b.bounded);
	assert_int_equal(b.bytes, DMAKIT_DEFAULT_KERNEL_BUDGET);
	assert_int_equal(dmakit_profile_force_bound(DMAKIT_LIMIT_REPORT_UNLIMITED, 65535, 0, &b), 0);
	assert_false(b.bounded);
	assert_true(b.bytes > 65535ull * 8304);
}

/* ---- COUNT: the kernel as it is ----------------------------------------- */

static void count_reports_version_1_and_enospc(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_COUNT, 2, 0);
	struct dmakit_container_stats s;
	uint16_t v;
	uint32_t avail;

	(void)state;
	assert_true(raw_dma_avail(c, &v, &avail));
	assert_int_equal(v, 1);
	assert_int_equal(avail, 2);
	assert_int_equal(map(c, 0, 4 * KB), 0);
	assert_int_equal(map(c, 1 * MB, 4 * KB), 0);
	assert_int_equal(map(c, 2 * MB, 4 * KB), -ENOSPC);
	assert_int_equal(dmakit_container_stats(c, &s), 0);
	assert_int_equal(s.dma_avail, 0);
	assert_int_equal(s.budget_used, 0);
	assert_int_equal(s.budget_limit, 0);
	dmakit_container_close(c);
}

/* ---- REPORT_UNLIMITED ----------------------------------------------------- */

static void report_unlimited_reports_version_2_u32_max(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_REPORT_UNLIMITED, 2, 0);
	struct dmakit_type1_info info;
	uint16_t v;
	uint32_t avail;

	(void)state;
	assert_true(raw_dma_avail(c, &v, &avail));
	assert_int_equal(v, DMAKIT_VFIO_DMA_AVAIL_VERSION_UNLIMITED);
	assert_int_equal(avail, DMAKIT_VFIO_DMA_AVAIL_UNLIMITED);
	/* a version-1 reader (the library's parser, QEMU) sees 2^32-1 */
	assert_int_equal(dmakit_container_query_info(c, &info), 0);
	assert_true(info.has_dma_avail);
	assert_int_equal(info.dma_avail, 0xffffffffu);
	dmakit_container_close(c);
}

static void report_unlimited_never_enospc_and_keeps_counting(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_REPORT_UNLIMITED, 2, 0);
	struct dmakit_container_stats s;
	uint16_t v;
	uint32_t avail;
	int i;

	(void)state;
	/* dma_entry_limit is 2: not enforced */
	for (i = 0; i < 10; i++)
		assert_int_equal(map(c, (uint64_t)i * MB, 4 * KB), 0);
	assert_int_equal(dmakit_container_stats(c, &s), 0);
	assert_int_equal(s.mappings, 10);      /* still counted */
	assert_int_equal(s.dma_avail, 0xffffffffu); /* but never reported as a count */
	assert_true(raw_dma_avail(c, &v, &avail));
	assert_int_equal(avail, 0xffffffffu);
	assert_int_equal(unmap(c, 0, 10 * MB), 0);
	assert_int_equal(dmakit_container_stats(c, &s), 0);
	assert_int_equal(s.mappings, 0);
	assert_int_equal(s.dma_avail, 0xffffffffu);
	dmakit_container_close(c);
}

/* ---- DROP_CAP and the VMM's reading of an absent capability --------------- */

static struct dmakit_listener *listener_on(struct dmakit_container *c,
					   struct dmakit_address_space *as,
					   enum dmakit_dma_limit_source src)
{
	struct dmakit_listener_config lc;
	struct dmakit_listener *l = NULL;
	char err[256];

	dmakit_listener_config_init(&lc);
	lc.dma_limit_source = src;
	assert_int_equal(dmakit_listener_create(c, as, &lc, &l, err, sizeof(err)), 0);
	return l;
}

static void drop_cap_has_no_dma_avail_and_no_limit(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_DROP_CAP, 1, 0);
	struct dmakit_type1_info info;
	uint16_t v;
	uint32_t avail;

	(void)state;
	assert_false(raw_dma_avail(c, &v, &avail));
	assert_int_equal(dmakit_container_query_info(c, &info), 0);
	assert_false(info.has_dma_avail);
	assert_true(info.has_iova_ranges);
	assert_int_equal(map(c, 0, 4 * KB), 0);
	assert_int_equal(map(c, 1 * MB, 4 * KB), 0); /* past dma_entry_limit 1 */
	dmakit_container_close(c);
}

static void vmm_absent_choice_decides_under_drop_cap(void **state)
{
	struct dmakit_address_space *as;
	struct dmakit_listener *l;
	struct dmakit_listener_budget b;

	(void)state;
	assert_int_equal(dmakit_as_create("vfio", &as), 0);
	/* QEMU today: absent means 65535 */
	l = listener_on(open_policy(DMAKIT_LIMIT_DROP_CAP, 65535, 0), as, DMAKIT_DMA_LIMIT_QUERY);
	assert_int_equal(dmakit_listener_budget(l, &b), 0);
	assert_false(b.dma_avail_reported);
	assert_int_equal(b.dma_max_mappings, 65535);
	dmakit_listener_destroy(l);
	/* the maintainers' reading: absent means unlimited (unchecked) */
	l = listener_on(open_policy(DMAKIT_LIMIT_DROP_CAP, 65535, 0), as,
			DMAKIT_DMA_LIMIT_QUERY_ABSENT_UNLIMITED);
	assert_int_equal(dmakit_listener_budget(l, &b), 0);
	assert_int_equal(b.dma_max_mappings, 0);
	dmakit_listener_destroy(l);
	/* report-unlimited: the capability is there; both readings agree */
	l = listener_on(open_policy(DMAKIT_LIMIT_REPORT_UNLIMITED, 65535, 0), as,
			DMAKIT_DMA_LIMIT_QUERY);
	assert_int_equal(dmakit_listener_budget(l, &b), 0);
	assert_true(b.dma_avail_reported);
	assert_int_equal(b.dma_max_mappings, 0xffffffffu);
	dmakit_listener_destroy(l);
	dmakit_as_destroy(as);
}

/* ---- ACCOUNT_BYTES -------------------------------------------------------- */

static void account_bytes_needs_the_page_table_model(void **state)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c = NULL;

	(void)state;
	dmakit_container_config_init(&cfg);
	cfg.limit_policy = DMAKIT_LIMIT_ACCOUNT_BYTES;
	cfg.model_page_tables = false;
	assert_int_equal(dmakit_container_open(&cfg, &c), -EINVAL);
	cfg.model_page_tables = true;
	cfg.limit_policy = (enum dmakit_limit_policy)7;
	assert_int_equal(dmakit_container_open(&cfg, &c), -EINVAL);
}

static void account_bytes_default_budget_and_version_2(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 1, 0);
	struct dmakit_container_stats s;
	uint16_t v;
	uint32_t avail;

	(void)state;
	assert_int_equal(dmakit_container_stats(c, &s), 0);
	assert_int_equal(s.budget_limit, DMAKIT_DEFAULT_KERNEL_BUDGET);
	assert_int_equal(s.budget_used, 0); /* the top table is the domain's */
	assert_true(raw_dma_avail(c, &v, &avail));
	assert_int_equal(v, 2);
	assert_int_equal(avail, 0xffffffffu);
	/* no count limit: dma_entry_limit 1 is not enforced */
	assert_int_equal(map(c, 0, 4 * KB), 0);
	assert_int_equal(map(c, 1 * MB, 4 * KB), 0);
	dmakit_container_close(c);
}

/* The first mapping, at the budget exactly, one below, one above. */
static void account_bytes_first_map_at_budget(void **state)
{
	const uint64_t budgets[] = { ONE_ALONE - 1, ONE_ALONE, ONE_ALONE + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, budgets[i]);
		struct snapshot before, after;

		take(c, &before);
		if (budgets[i] < ONE_ALONE) {
			assert_int_equal(map(c, GB, 4 * KB), -ENOMEM);
			take(c, &after);
			assert_same(&before, &after);
			assert_int_equal(after.stats.budget_used, 0);
			assert_int_equal(after.stats.iopt.table_pages, 1);
		} else {
			assert_int_equal(map(c, GB, 4 * KB), 0);
			take(c, &after);
			assert_int_equal(after.stats.mappings, 1);
			assert_int_equal(after.stats.budget_used, ONE_ALONE);
			assert_int_equal(after.stats.iopt.table_pages, 3);
			assert_true(after.stats.budget_used <= budgets[i]);
		}
		dmakit_container_close(c);
	}
}

/*
 * A second 4 KiB mapping next to the first shares its tables (it costs 96
 * bytes) but the check asks room for its worst case, 96 + 2 tables: at the
 * budget exactly it maps, one byte short it is refused with nothing changed.
 */
static void account_bytes_second_map_checks_worst_charges_actual(void **state)
{
	const uint64_t need = ONE_ALONE + ONE_ALONE;
	const uint64_t budgets[] = { need - 1, need, need + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, budgets[i]);
		struct snapshot before, after;

		assert_int_equal(map(c, GB, 4 * KB), 0);
		take(c, &before);
		if (budgets[i] < need) {
			assert_int_equal(map(c, GB + 4 * KB, 4 * KB), -ENOMEM);
			take(c, &after);
			assert_same(&before, &after);
		} else {
			assert_int_equal(map(c, GB + 4 * KB, 4 * KB), 0);
			take(c, &after);
			assert_int_equal(after.stats.mappings, 2);
			assert_int_equal(after.stats.budget_used, ONE_ALONE + 96);
			assert_int_equal(after.stats.iopt.table_pages, before.stats.iopt.table_pages);
		}
		dmakit_container_close(c);
	}
}

/* The other checks come first: EEXIST and EINVAL are answered as today. */
static void account_bytes_check_order(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, ONE_ALONE);

	(void)state;
	assert_int_equal(map(c, GB, 4 * KB), 0);
	assert_int_equal(map(c, GB, 4 * KB), -EEXIST);
	assert_int_equal(map(c, 0xfee00000ull, 4 * KB), -EINVAL); /* the MSI window */
	assert_int_equal(map(c, GB + 4 * KB, 4 * KB), -ENOMEM);
	dmakit_container_close(c);
}

/* Unmapping gives back the vfio_dma; table pages an unmap leaves empty stay
 * allocated in the kernel's IO page table, so they stay charged. */
static void account_bytes_unmap_refunds_objects_not_empty_tables(void **state)
{
	struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, 1 * MB);
	struct dmakit_container_stats s;

	(void)state;
	assert_int_equal(map(c, GB, 4 * KB), 0);
	assert_int_equal(map(c, GB + 4 * KB, 4 * KB), 0);
	assert_int_equal(unmap(c, GB, 8 * KB), 0);
	assert_int_equal(dmakit_container_stats(c, &s), 0);
	assert_int_equal(s.mappings, 0);
	assert_int_equal(s.budget_used, (s.iopt.table_pages - 1) * 4096);
	/* the same place maps again for 96 bytes: its tables exist */
	assert_int_equal(map(c, GB, 4 * KB), 0);
	assert_int_equal(dmakit_container_stats(c, &s), 0);
	assert_int_equal(s.budget_used, (s.iopt.table_pages - 1) * 4096 + 96);
	dmakit_container_close(c);
}

/* Dirty tracking: START charges every bitmap (16 bytes for a 4 KiB
 * mapping), at the budget exactly, one below (ENOMEM, tracking stays off),
 * one above; then a map charges its own bitmap. */
static void account_bytes_dirty_bitmaps_at_budget(void **state)
{
	const uint64_t base = ONE_ALONE, need = base + 16;
	const uint64_t budgets[] = { need - 1, need, need + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, budgets[i]);
		struct snapshot before, after;

		assert_int_equal(map(c, GB, 4 * KB), 0);
		take(c, &before);
		if (budgets[i] < need) {
			assert_int_equal(dirty(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START), -ENOMEM);
			take(c, &after);
			assert_same(&before, &after);
			assert_false(after.stats.dirty_tracking);
		} else {
			assert_int_equal(dirty(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
			take(c, &after);
			assert_true(after.stats.dirty_tracking);
			assert_int_equal(after.stats.budget_used, need);
			/* stop gives the bitmaps back */
			assert_int_equal(dirty(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
			take(c, &after);
			assert_int_equal(after.stats.budget_used, base);
		}
		dmakit_container_close(c);
	}
}

static void account_bytes_map_while_tracking_counts_bitmap(void **state)
{
	/* first map + bitmap, then a second alone in its GiB with its bitmap */
	const uint64_t need = (ONE_ALONE + 16) * 2;
	const uint64_t budgets[] = { need - 1, need, need + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, budgets[i]);
		struct snapshot before, after;

		assert_int_equal(map(c, GB, 4 * KB), 0);
		assert_int_equal(dirty(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
		take(c, &before);
		if (budgets[i] < need) {
			assert_int_equal(map(c, 2 * GB, 4 * KB), -ENOMEM);
			take(c, &after);
			assert_same(&before, &after);
		} else {
			assert_int_equal(map(c, 2 * GB, 4 * KB), 0);
			take(c, &after);
			assert_int_equal(after.stats.budget_used, need);
		}
		dmakit_container_close(c);
	}
}

/* A large mapping: the check uses one table per 2 MiB and per GiB touched;
 * 4 KiB backing makes the model allocate exactly those. */
static void account_bytes_large_map_exact_in_empty_domain(void **state)
{
	const uint64_t need = 96 + (32 + 1) * 4096ull; /* 64 MiB: 32 leaf tables, 1 middle */
	const uint64_t budgets[] = { need - 1, need, need + 1 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, budgets[i]);
		struct snapshot before, after;

		take(c, &before);
		if (budgets[i] < need) {
			assert_int_equal(map(c, GB, 64 * MB), -ENOMEM);
			take(c, &after);
			assert_same(&before, &after);
		} else {
			assert_int_equal(map(c, GB, 64 * MB), 0);
			take(c, &after);
			assert_int_equal(after.stats.budget_used, need);
		}
		dmakit_container_close(c);
	}
}

/* Every allocation failure of a MAP under ACCOUNT_BYTES rolls back as under
 * COUNT (tests/unit/test_rollback.c), the budget used included. */
static void account_bytes_map_rollback_on_alloc_failure(void **state)
{
	uint64_t k;

	(void)state;
	for (k = 1; k < 64; k++) {
		struct dmakit_container *c = open_policy(DMAKIT_LIMIT_ACCOUNT_BYTES, 65535, 16 * MB);
		struct snapshot before, after;
		bool fired;
		int ret;

		assert_int_equal(map(c, GB, 4 * KB), 0);
		assert_int_equal(dirty(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
		take(c, &before);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, k, 0);
		ret = map(c, 2 * GB, 8 * MB);
		fired = dmakit_fault_fired(DMAKIT_FAULT_ALLOC);
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		take(c, &after);
		if (!fired) {
			assert_int_equal(ret, 0);
			dmakit_container_close(c);
			break;
		}
		assert_int_equal(ret, -ENOMEM);
		assert_int_equal(after.stats.mappings, before.stats.mappings);
		assert_int_equal(after.stats.kernel_object_bytes, before.stats.kernel_object_bytes);
		assert_int_equal(after.stats.locked_bytes, before.stats.locked_bytes);
		assert_memory_equal(after.stats.iopt.leaves, before.stats.iopt.leaves,
				    sizeof(after.stats.iopt.leaves));
		/* empty tables the unwind left stay allocated, and charged */
		assert_int_equal(after.stats.budget_used - before.stats.budget_used,
				 (after.stats.iopt.table_pages - before.stats.iopt.table_pages) * 4096);
		dmakit_container_close(c);
	}
	assert_true(k < 64);
}

/* ---- traces ----------------------------------------------------------------- */

static void trace_setup_profile_and_budget(void **state)
{
	const char *text = "setup iommu=type1v2 kernel=6.18 profile=account-bytes budget=8288\n"
			   "map iova=0x40000000 size=0x1000 vaddr=0x0 prot=rw\n";
	struct dmakit_trace *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(dmakit_trace_parse(text, strlen(text), "t", &t, err, sizeof(err)), 0);
	assert_int_equal(t->setup.limit_policy, DMAKIT_LIMIT_ACCOUNT_BYTES);
	assert_int_equal(t->setup.kernel_budget, 8288);
	assert_int_equal(t->setup.kernel, DMAKIT_KERNEL_6_18);
	dmakit_trace_free(t);
	text = "setup profile=unlimited\n";
	assert_int_equal(dmakit_trace_parse(text, strlen(text), "t", &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "profile"));
	text = "setup profile=count budget=4096\n";
	assert_int_equal(dmakit_trace_parse(text, strlen(text), "t", &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "budget"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_round_trip),
		cmocka_unit_test(table_pages_upper_counts_spans),
		cmocka_unit_test(worst_mapping_from_the_model),
		cmocka_unit_test(count_reports_version_1_and_enospc),
		cmocka_unit_test(report_unlimited_reports_version_2_u32_max),
		cmocka_unit_test(report_unlimited_never_enospc_and_keeps_counting),
		cmocka_unit_test(drop_cap_has_no_dma_avail_and_no_limit),
		cmocka_unit_test(vmm_absent_choice_decides_under_drop_cap),
		cmocka_unit_test(account_bytes_needs_the_page_table_model),
		cmocka_unit_test(account_bytes_default_budget_and_version_2),
		cmocka_unit_test(account_bytes_first_map_at_budget),
		cmocka_unit_test(account_bytes_second_map_checks_worst_charges_actual),
		cmocka_unit_test(account_bytes_check_order),
		cmocka_unit_test(account_bytes_unmap_refunds_objects_not_empty_tables),
		cmocka_unit_test(account_bytes_dirty_bitmaps_at_budget),
		cmocka_unit_test(account_bytes_map_while_tracking_counts_bitmap),
		cmocka_unit_test(account_bytes_large_map_exact_in_empty_domain),
		cmocka_unit_test(account_bytes_map_rollback_on_alloc_failure),
		cmocka_unit_test(trace_setup_profile_and_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
