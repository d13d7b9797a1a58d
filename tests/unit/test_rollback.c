/* SPDX-License-Identifier: MIT */
/*
 * Every failure path rolls back: for each operation of the emulated type1
 * container, fail its k-th allocation for every k (include/dmakit/fault.h)
 * until the operation no longer reaches a k-th allocation, and check after
 * each failure that the container is exactly as before the call: the same
 * mappings (iova, size, vaddr, flags, validity), the same DMA_AVAIL, locked
 * memory, mapped bytes, invalidated count and kernel-object bytes. The
 * sanitizer build of this test also proves nothing leaks on those paths.
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

#include "container_snapshot.h"

static void assert_same(const struct snapshot *a, const struct snapshot *b)
{
	assert_same_mappings(a, b);
	assert_int_equal(a->stats.mappings, b->stats.mappings);
	assert_int_equal(a->stats.dma_avail, b->stats.dma_avail);
	assert_int_equal(a->stats.mapped_bytes, b->stats.mapped_bytes);
	assert_int_equal(a->stats.locked_bytes, b->stats.locked_bytes);
	assert_int_equal(a->stats.invalid_vaddr_mappings, b->stats.invalid_vaddr_mappings);
	assert_int_equal(a->stats.kernel_object_bytes, b->stats.kernel_object_bytes);
	/*
	 * Page-table pages are the one exception, as in the kernel: a MAP that
	 * fails after some of its runs went into the IO page table unmaps them
	 * with iommu_unmap(), which frees a table only when one call covers
	 * it, so empty tables may stay until the domain goes. Never fewer.
	 */
	assert_true(b->stats.iopt.table_pages >= a->stats.iopt.table_pages);
	assert_memory_equal(a->stats.iopt.leaves, b->stats.iopt.leaves, sizeof(a->stats.iopt.leaves));
}

/* A container with a few mappings, dirty tracking optionally on. */
static struct dmakit_container *populated(bool dirty)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	uint64_t i;

	dmakit_container_config_init(&cfg);
	cfg.dma_entry_limit = 100;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	for (i = 0; i < 40; i++) {
		struct dmakit_vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = 0x7f0000000000ull + i * 0x200000, .iova = i * 0x200000,
			.size = 0x1000 * (1 + i % 5),
		};
		assert_int_equal(dmakit_container_map_dma(c, &map), 0);
	}
	if (dirty) {
		struct dmakit_vfio_iommu_type1_dirty_bitmap d = {
			.argsz = sizeof(d), .flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
		};
		assert_int_equal(dmakit_container_dirty_pages(c, &d), 0);
	}
	return c;
}

typedef int (*operation)(struct dmakit_container *c);

static int op_map_new(struct dmakit_container *c)
{
	struct dmakit_vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ,
		.vaddr = 0x7f1000000000ull, .iova = 0x40000000, .size = 0x600000,
	};
	return dmakit_container_map_dma(c, &map);
}

/* A map between existing ones, which lands in a full leaf and splits it. */
static int op_map_between(struct dmakit_container *c)
{
	struct dmakit_vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = 0x7f1000000000ull, .iova = 0x100000 + 0x200000 * 7, .size = 0x1000,
	};
	return dmakit_container_map_dma(c, &map);
}

static int op_unmap_some(struct dmakit_container *c)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = 0x200000 * 3, .size = 0x200000 * 10,
	};
	return dmakit_container_unmap_dma(c, &unmap);
}

static int op_unmap_all(struct dmakit_container *c)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL,
	};
	return dmakit_container_unmap_dma(c, &unmap);
}

static int op_invalidate_all(struct dmakit_container *c)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL | DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR,
	};
	return dmakit_container_unmap_dma(c, &unmap);
}

static int op_query_info(struct dmakit_container *c)
{
	struct dmakit_type1_info info;

	return dmakit_container_query_info(c, &info);
}

static int op_declare_memory(struct dmakit_container *c)
{
	return dmakit_container_declare_memory(c, 0x7f0000000000ull, 0x100000000ull);
}

/*
 * Run @op on a fresh container failing allocation k = 1, 2, ... until a run
 * completes with no injected failure. @return the number of points covered.
 */
static unsigned int sweep(operation op, bool dirty)
{
	unsigned int k;

	for (k = 1; k < 10000; k++) {
		struct dmakit_container *c = populated(dirty);
		struct snapshot before, after;
		int ret;

		take(c, &before);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, k, 0);
		ret = op(c);
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		if (!dmakit_fault_fired(DMAKIT_FAULT_ALLOC)) {
			assert_true(ret >= 0);
			dmakit_container_close(c);
			return k - 1;
		}
		/* The injected failure surfaced as -ENOMEM, nothing changed. */
		assert_int_equal(ret, -ENOMEM);
		take(c, &after);
		assert_same(&before, &after);
		dmakit_container_close(c);
	}
	fail_msg("the operation never completed");
	return 0;
}

static void test_map_rolls_back_on_every_allocation_failure(void **state)
{
	(void)state;
	sweep(op_map_new, false);
	sweep(op_map_new, true);
	sweep(op_map_between, false);
}

static void test_unmap_and_invalidate_roll_back(void **state)
{
	(void)state;
	sweep(op_unmap_some, true);
	sweep(op_unmap_all, false);
	sweep(op_invalidate_all, false);
}

static void test_query_and_declare_roll_back(void **state)
{
	(void)state;
	assert_true(sweep(op_query_info, false) >= 1); /* the info buffer itself */
	sweep(op_declare_memory, false);
}

/* Opening a container fails cleanly at each of its allocations. */
static void test_open_fails_cleanly_at_every_allocation(void **state)
{
	unsigned int k;

	(void)state;
	for (k = 1; k < 1000; k++) {
		struct dmakit_container_config cfg;
		struct dmakit_container *c = NULL;
		int ret;

		dmakit_container_config_init(&cfg);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, k, 0);
		ret = dmakit_container_open(&cfg, &c);
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		if (!dmakit_fault_fired(DMAKIT_FAULT_ALLOC)) {
			assert_int_equal(ret, 0);
			dmakit_container_close(c);
			assert_true(k > 1);
			return;
		}
		assert_int_equal(ret, -ENOMEM);
	}
	fail_msg("open never completed");
}

/* A failing backend call is one the kernel never saw. */
static void test_failed_backend_call_changes_nothing(void **state)
{
	struct dmakit_container *c = populated(false);
	struct snapshot before, after;

	(void)state;
	take(c, &before);
	dmakit_fault_arm(DMAKIT_FAULT_BACKEND_CALL, 1, ENOSPC);
	assert_int_equal(op_map_new(c), -ENOSPC);
	dmakit_fault_disarm(DMAKIT_FAULT_BACKEND_CALL);
	assert_true(dmakit_fault_fired(DMAKIT_FAULT_BACKEND_CALL));
	take(c, &after);
	assert_same(&before, &after);
	assert_int_equal(op_map_new(c), 0);
	dmakit_container_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_rolls_back_on_every_allocation_failure),
		cmocka_unit_test(test_unmap_and_invalidate_roll_back),
		cmocka_unit_test(test_query_and_declare_roll_back),
		cmocka_unit_test(test_open_fails_cleanly_at_every_allocation),
		cmocka_unit_test(test_failed_backend_call_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
