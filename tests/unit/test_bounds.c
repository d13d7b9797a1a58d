/* SPDX-License-Identifier: MIT */
/*
 * The library's own safety caps (include/dmakit/container.h: max_mappings,
 * max_bookkeeping_bytes): checked before the backend allocates, -ENOMEM past
 * them (never the kernel's ENOSPC), nothing changed by a refused MAP, a
 * VADDR remap never refused, the defaults never in the way of
 * dma_entry_limit, and the same on the emulated iommufd compat backend.
 * A request the kernel refuses on its own (EINVAL, EOVERFLOW, EEXIST,
 * ENOSPC) gets the kernel's errno, not the cap's ENOMEM
 * (tests/fuzz/regressions/type1/map-cap-enomem-before-*).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <dmakit/dmakit.h>

static int map(struct dmakit_container *c, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = iova, .iova = iova, .size = size,
	};

	return dmakit_container_map_dma(c, &m);
}

#define RW (DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE)

static struct dmakit_container *open_with(enum dmakit_backend_kind backend, uint64_t max_mappings,
					  uint64_t max_bytes)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c = NULL;

	dmakit_container_config_init(&cfg);
	cfg.backend = backend;
	cfg.max_mappings = max_mappings;
	cfg.max_bookkeeping_bytes = max_bytes;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	return c;
}

static void defaults_are_generous(void **state)
{
	struct dmakit_container_config cfg;

	(void)state;
	dmakit_container_config_init(&cfg);
	assert_int_equal(cfg.max_mappings, DMAKIT_DEFAULT_MAX_MAPPINGS);
	assert_int_equal(cfg.max_bookkeeping_bytes, DMAKIT_DEFAULT_MAX_BOOKKEEPING_BYTES);
	/* Far above the emulated kernel's default limit. */
	assert_true(cfg.max_mappings > 1000 * (uint64_t)cfg.dma_entry_limit);
}

static void map_past_max_mappings_is_enomem_and_changes_nothing(void **state)
{
	struct dmakit_container *c = open_with(DMAKIT_BACKEND_EMU, 3, 0);
	struct dmakit_container_stats before, after;

	(void)state;
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x200000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x300000, 0x1000, RW), 0);
	assert_int_equal(dmakit_container_stats(c, &before), 0);
	assert_int_equal(map(c, 0x400000, 0x1000, RW), -ENOMEM);
	assert_int_equal(dmakit_container_stats(c, &after), 0);
	assert_int_equal(after.mappings, 3);
	assert_int_equal(after.dma_avail, before.dma_avail);
	assert_int_equal(after.mapped_bytes, before.mapped_bytes);
	/* Freeing one makes room again. */
	struct dmakit_vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = 0x100000, .size = 0x1000,
	};
	assert_int_equal(dmakit_container_unmap_dma(c, &u), 0);
	assert_int_equal(map(c, 0x400000, 0x1000, RW), 0);
	dmakit_container_close(c);
}

static void vaddr_remap_is_never_refused(void **state)
{
	struct dmakit_container *c = open_with(DMAKIT_BACKEND_EMU, 1, 0);
	struct dmakit_vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR,
		.iova = 0x100000, .size = 0x1000,
	};

	(void)state;
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(dmakit_container_unmap_dma(c, &u), 0);
	assert_int_equal(map(c, 0x100000, 0x1000, DMAKIT_VFIO_DMA_MAP_FLAG_VADDR), 0);
	dmakit_container_close(c);
}

static void kernel_limit_still_answers_enospc(void **state)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;

	(void)state;
	dmakit_container_config_init(&cfg);
	cfg.dma_entry_limit = 2;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x200000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x300000, 0x1000, RW), -ENOSPC);
	dmakit_container_close(c);
}

static void bookkeeping_cap_counts_the_new_mapping(void **state)
{
	struct dmakit_container *c =
		open_with(DMAKIT_BACKEND_EMU, 0, 2 * DMAKIT_BOOKKEEPING_BYTES_PER_MAPPING);

	(void)state;
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x200000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x300000, 0x1000, RW), -ENOMEM);
	dmakit_container_close(c);
}

static void bookkeeping_cap_counts_dirty_bitmaps(void **state)
{
	/* 1 GiB at 4 KiB pages: a 32 KiB bitmap while tracking. */
	struct dmakit_container *c = open_with(DMAKIT_BACKEND_EMU, 0, 40000);
	struct dmakit_vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d), .flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};

	(void)state;
	assert_int_equal(map(c, 0x40000000, 0x40000000, RW), 0);
	assert_int_equal(dmakit_container_dirty_pages(c, &d), 0);
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x80000000, 0x40000000, RW), -ENOMEM);
	dmakit_container_close(c);
}

static void iommufd_compat_has_the_same_cap(void **state)
{
	struct dmakit_container *c = open_with(DMAKIT_BACKEND_EMU_IOMMUFD, 2, 0);

	(void)state;
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x200000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x300000, 0x1000, RW), -ENOMEM);
	dmakit_container_close(c);
}

static void start_dirty_tracking(struct dmakit_container *c)
{
	struct dmakit_vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d), .flags = DMAKIT_VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};

	assert_int_equal(dmakit_container_dirty_pages(c, &d), 0);
}

static int map_at(struct dmakit_container *c, uint64_t iova, uint64_t size, uint64_t vaddr)
{
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = RW, .vaddr = vaddr, .iova = iova, .size = size,
	};

	return dmakit_container_map_dma(c, &m);
}

/* type1/map-cap-enomem-before-eoverflow: 6.18, tracking, vaddr + size - 1
 * wraps; the dirty-bitmap estimate of that size is far past 16 GiB. */
static void kernel_eoverflow_wins_over_the_cap(void **state)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;

	(void)state;
	dmakit_container_config_init(&cfg);
	cfg.kernel = DMAKIT_KERNEL_6_18;
	cfg.cap_ipc_lock = false;
	cfg.memlock_limit = 0x2e000;
	cfg.disable_hugepages = true;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	start_dirty_tracking(c);
	assert_int_equal(map_at(c, 0x5000, 0xffffffffffffb000ull, 0x10000000), -EOVERFLOW);
	dmakit_container_close(c);
}

/* type1/map-cap-enomem-before-einval: the defaults (6.1, CAP_IPC_LOCK),
 * tracking, a size outside the IOVA ranges (no wrap): EINVAL. */
static void kernel_einval_wins_over_the_cap(void **state)
{
	struct dmakit_container *c =
		open_with(DMAKIT_BACKEND_EMU, DMAKIT_DEFAULT_MAX_MAPPINGS,
			  DMAKIT_DEFAULT_MAX_BOOKKEEPING_BYTES);

	(void)state;
	start_dirty_tracking(c);
	assert_int_equal(map_at(c, 0, 0xffff000000000000ull, 0x10000000), -EINVAL);
	dmakit_container_close(c);
}

/* At the cap, the kernel's other answers still come first: EEXIST over a
 * held mapping, ENOSPC at dma_entry_limit, EINVAL for size 0. */
static void kernel_errnos_win_at_the_cap(void **state)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;

	(void)state;
	dmakit_container_config_init(&cfg);
	cfg.max_mappings = 1;
	cfg.dma_entry_limit = 1;
	assert_int_equal(dmakit_container_open(&cfg, &c), 0);
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(map(c, 0x100000, 0x1000, RW), -EEXIST);
	assert_int_equal(map(c, 0x200000, 0x1000, RW), -ENOSPC);
	assert_int_equal(map(c, 0x200000, 0, RW), -EINVAL);
	assert_int_equal(map_at(c, 0x5000, 0xffffffffffffb000ull, 0x10000000), -EINVAL);
	dmakit_container_close(c);
}

/* The compat backend checks the cap after the compat layer's own checks:
 * every errno the kernel would give (EEXIST for an overlap, EINVAL for the
 * reserved MSI window or size 0, EOVERFLOW for a wrapping vaddr) comes
 * first, and a MAP refused by the cap leaves nothing changed. */
static void iommufd_compat_cap_lets_bad_requests_through(void **state)
{
	struct dmakit_container *c = open_with(DMAKIT_BACKEND_EMU_IOMMUFD, 1, 0);
	struct dmakit_container_stats before, after;

	(void)state;
	assert_int_equal(map(c, 0x100000, 0x1000, RW), 0);
	assert_int_equal(dmakit_container_stats(c, &before), 0);
	assert_int_equal(map(c, 0x200000, 0x1000, RW), -ENOMEM);
	assert_int_equal(dmakit_container_stats(c, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(map(c, 0x100000, 0x1000, RW), -EEXIST);
	assert_int_equal(map(c, 0xfee00000, 0x1000, RW), -EINVAL);
	assert_int_equal(map(c, 0x200000, 0, RW), -EINVAL);
	assert_int_equal(map_at(c, 0x5000, 0xffffffffffffb000ull, 0x10000000), -EOVERFLOW);
	/* the room is still there once a mapping goes */
	{
		struct dmakit_vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = 0x100000, .size = 0x1000,
		};

		assert_int_equal(dmakit_container_unmap_dma(c, &u), 0);
	}
	assert_int_equal(map(c, 0x200000, 0x1000, RW), 0);
	dmakit_container_close(c);
}

static void zero_means_no_cap(void **state)
{
	struct dmakit_container *c = open_with(DMAKIT_BACKEND_EMU, 0, 0);
	uint64_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		assert_int_equal(map(c, 0x100000 + i * 0x2000, 0x1000, RW), 0);
	dmakit_container_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_generous),
		cmocka_unit_test(map_past_max_mappings_is_enomem_and_changes_nothing),
		cmocka_unit_test(vaddr_remap_is_never_refused),
		cmocka_unit_test(kernel_limit_still_answers_enospc),
		cmocka_unit_test(bookkeeping_cap_counts_the_new_mapping),
		cmocka_unit_test(bookkeeping_cap_counts_dirty_bitmaps),
		cmocka_unit_test(iommufd_compat_has_the_same_cap),
		cmocka_unit_test(zero_means_no_cap),
		cmocka_unit_test(kernel_eoverflow_wins_over_the_cap),
		cmocka_unit_test(kernel_einval_wins_over_the_cap),
		cmocka_unit_test(kernel_errnos_win_at_the_cap),
		cmocka_unit_test(iommufd_compat_cap_lets_bad_requests_through),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
