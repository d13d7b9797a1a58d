/* SPDX-License-Identifier: MIT */
/*
 * Every failure path of the emulated iommufd rolls back: for each operation,
 * fail its k-th allocation for every k (include/dmakit/fault.h) until the
 * operation no longer reaches a k-th allocation, and check after each
 * failure that it answered -ENOMEM and that the context is exactly as before
 * the call: objects, areas (iova, length, user address, prot, pinned),
 * pages objects, mapped/pinned/locked bytes, each IOAS's IOVA ranges and
 * alignment, and where automatic allocation would place the next map (the
 * allowed list). The sanitizer build of this test also proves nothing leaks
 * on those paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <dmakit/container.h>
#include <dmakit/fault.h>
#include <dmakit/iommufd.h>

#define PG 0x1000ull
#define VA 0x40000000ull
#define RW (DMAKIT_IOMMU_IOAS_MAP_READABLE | DMAKIT_IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA
#define NIOAS 4
#define MAXA 64

struct snap {
	struct dmakit_iommufd_stats st;
	size_t n;
	struct dmakit_iommufd_area a[MAXA];
	uint32_t nranges[NIOAS + 1];
	struct dmakit_iommu_iova_range ranges[NIOAS + 1][4];
	uint64_t align[NIOAS + 1];
};

static void take(struct dmakit_iommufd *ctx, struct snap *s)
{
	uint32_t id;

	memset(s, 0, sizeof(*s));
	assert_int_equal(dmakit_iommufd_stats(ctx, &s->st), 0);
	for (id = 1; id <= NIOAS; id++) {
		struct dmakit_iommu_ioas_iova_ranges q = {
			.size = sizeof(q), .ioas_id = id, .num_iovas = 4,
			.allowed_iovas = (uint64_t)(uintptr_t)s->ranges[id],
		};
		uint64_t at = 0;

		if (dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &q) == 0) {
			s->nranges[id] = q.num_iovas;
			s->align[id] = q.out_iova_alignment;
		}
		while (s->n < MAXA && dmakit_iommufd_seek_area(ctx, id, at, &s->a[s->n]) == 0) {
			at = s->a[s->n].iova + s->a[s->n].length;
			s->n++;
		}
	}
}

static void assert_same(const struct snap *a, const struct snap *b)
{
	assert_memory_equal(&a->st, &b->st, sizeof(a->st));
	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->a, b->a, sizeof(a->a[0]) * a->n);
	assert_memory_equal(a->nranges, b->nranges, sizeof(a->nranges));
	assert_memory_equal(a->ranges, b->ranges, sizeof(a->ranges));
	assert_memory_equal(a->align, b->align, sizeof(a->align));
}

/* Where an automatic map of one page would go in IOAS 1 (then undone). */
static uint64_t probe_auto(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_ioas_map m = {
		.size = sizeof(m), .flags = RW, .ioas_id = 1, .user_va = VA, .length = PG,
	};
	struct dmakit_iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = 1 };

	if (dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m) < 0)
		return 0;
	u.iova = m.iova;
	u.length = PG;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u), 0);
	return m.iova;
}

typedef int (*op_fn)(struct dmakit_iommufd *ctx);

/* IOAS 1 (device attached, allowed ranges) with three areas, IOAS 2 empty,
 * accounting on. */
static struct dmakit_iommufd *populated(void)
{
	struct dmakit_iommufd_config cfg;
	struct dmakit_iommufd *ctx = NULL;
	struct dmakit_iommu_ioas_alloc a = { .size = sizeof(a) };
	struct dmakit_iommu_iova_range allow[2] = { { 0x100000, 0x1fffff }, { 0x400000, 0x4fffff } };
	struct dmakit_iommu_ioas_allow_iovas al = {
		.size = sizeof(al), .ioas_id = 1, .num_iovas = 2,
		.allowed_iovas = (uint64_t)(uintptr_t)allow,
	};
	uint64_t i;

	dmakit_iommufd_config_init(&cfg);
	cfg.cap_ipc_lock = false;
	assert_int_equal(dmakit_iommufd_open(&cfg, &ctx), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(dmakit_iommufd_attach_device(ctx, 1, NULL), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, &al), 0);
	for (i = 0; i < 3; i++) {
		struct dmakit_iommu_ioas_map m = {
			.size = sizeof(m), .flags = FIXED | RW, .ioas_id = 1,
			.user_va = VA + i * 0x10000, .length = 4 * PG, .iova = 0x100000 + i * 4 * PG,
		};

		assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m), 0);
	}
	return ctx;
}

static int op_alloc(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_ioas_alloc a = { .size = sizeof(a) };

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a);
}

static int op_map_fixed(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_ioas_map m = {
		.size = sizeof(m), .flags = FIXED | RW, .ioas_id = 1, .user_va = VA + 0x100000,
		.length = 8 * PG, .iova = 0x180000,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
}

static int op_map_auto(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_ioas_map m = {
		.size = sizeof(m), .flags = RW, .ioas_id = 1, .user_va = VA + 0x100000,
		.length = 2 * PG,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
}

static int op_copy(struct dmakit_iommufd *ctx)
{
	/* Three source areas: three destination areas, shared pages. */
	struct dmakit_iommu_ioas_copy c = {
		.size = sizeof(c), .flags = FIXED | RW, .dst_ioas_id = 2, .src_ioas_id = 1,
		.length = 10 * PG, .dst_iova = 0x800000, .src_iova = 0x101000,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_COPY, &c);
}

static int op_allow(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_iova_range allow[3] = {
		{ 0x100000, 0x10ffff }, { 0x200000, 0x20ffff }, { 0x300000, 0x30ffff },
	};
	struct dmakit_iommu_ioas_allow_iovas al = {
		.size = sizeof(al), .ioas_id = 1, .num_iovas = 3,
		.allowed_iovas = (uint64_t)(uintptr_t)allow,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, &al);
}

static int op_attach(struct dmakit_iommufd *ctx)
{
	return dmakit_iommufd_attach_device(ctx, 2, NULL);
}

/* IOMMU_HWPT_ALLOC with dirty tracking on IOAS 2 (its area is pinned). The
 * device is bound outside the armed window (run_op's prepare step). */
static int op_hwpt_alloc(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_hwpt_alloc h = {
		.size = sizeof(h), .flags = DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.dev_id = 4, .pt_id = 2,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h);
}

static int op_unmap_all(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = 1, .iova = 0, .length = UINT64_MAX,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);
}

static void run_op(op_fn fn, bool prepare_attach)
{
	uint64_t k;

	for (k = 1;; k++) {
		struct dmakit_iommufd *ctx = populated();
		struct snap before, after;
		uint64_t auto_before, auto_after;
		int ret;

		if (prepare_attach) {
			/* op_attach maps into IOAS 2 first, outside the armed window. */
			struct dmakit_iommu_ioas_map m = {
				.size = sizeof(m), .flags = FIXED | RW, .ioas_id = 2, .user_va = VA,
				.length = 4 * PG, .iova = 0x100000,
			};

			assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m), 0);
			if (fn == op_hwpt_alloc) {
				uint32_t dev = 0;

				assert_int_equal(dmakit_iommufd_bind_device(ctx, &dev), 0);
				assert_int_equal(dev, 4); /* after IOAS 1, 2 and the HWPT 3 */
			}
		}
		auto_before = probe_auto(ctx);
		take(ctx, &before);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, k, 0);
		ret = fn(ctx);
		if (!dmakit_fault_fired(DMAKIT_FAULT_ALLOC)) {
			dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
			assert_true(ret >= 0);
			dmakit_iommufd_close(ctx);
			assert_true(k > 1 || fn == op_unmap_all);
			return;
		}
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		assert_int_equal(ret, -ENOMEM);
		take(ctx, &after);
		assert_same(&before, &after);
		auto_after = probe_auto(ctx);
		assert_int_equal(auto_before, auto_after);
		dmakit_iommufd_close(ctx);
	}
}

static void test_rollback_ioas_alloc(void **state) { (void)state; run_op(op_alloc, false); }
static void test_rollback_map_fixed_with_domain(void **state) { (void)state; run_op(op_map_fixed, false); }
static void test_rollback_map_auto(void **state) { (void)state; run_op(op_map_auto, false); }
static void test_rollback_copy_three_areas(void **state) { (void)state; run_op(op_copy, false); }
static void test_rollback_allow_iovas(void **state) { (void)state; run_op(op_allow, false); }
static void test_rollback_attach_device(void **state) { (void)state; run_op(op_attach, true); }
static void test_rollback_hwpt_alloc(void **state) { (void)state; run_op(op_hwpt_alloc, true); }
static void test_rollback_unmap_all_never_allocates(void **state) { (void)state; run_op(op_unmap_all, false); }

/* The compat container: MAP_DMA and the v1 split. */
static void test_rollback_compat_map_and_v1_split(void **state)
{
	uint64_t k;

	(void)state;
	for (k = 1;; k++) {
		struct dmakit_container_config cfg;
		struct dmakit_container *c = NULL;
		struct dmakit_container_stats b, a;
		struct dmakit_vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m), .flags = 3, .vaddr = VA, .iova = 0x100000, .size = 8 * PG,
		};
		struct dmakit_vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = 0x102000, .size = 2 * PG,
		};
		int ret;

		dmakit_container_config_init(&cfg);
		cfg.backend = DMAKIT_BACKEND_EMU_IOMMUFD;
		cfg.iommu_type = DMAKIT_VFIO_TYPE1_IOMMU;
		cfg.cap_ipc_lock = false;
		assert_int_equal(dmakit_container_open(&cfg, &c), 0);
		assert_int_equal(dmakit_container_stats(c, &b), 0);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, k, 0);
		ret = dmakit_container_map_dma(c, &m);
		if (ret == 0)
			ret = dmakit_container_unmap_dma(c, &u);
		if (!dmakit_fault_fired(DMAKIT_FAULT_ALLOC)) {
			dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
			assert_int_equal(ret, 0);
			assert_int_equal(dmakit_container_stats(c, &a), 0);
			assert_int_equal(a.mappings, 2);
			dmakit_container_close(c);
			return;
		}
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		assert_int_equal(ret, -ENOMEM);
		assert_int_equal(dmakit_container_stats(c, &a), 0);
		/* Failed in MAP: nothing. Failed in the cut: the map's bytes, pins
		 * and accounting unchanged; as in the kernel (iopt_cut_iova), a
		 * first split that succeeded before the second failed stays: it
		 * divides one area in two and changes no translation. */
		if (a.mappings) {
			assert_true(a.mappings == 1 || a.mappings == 2);
			assert_int_equal(a.mapped_bytes, 8 * PG);
			assert_int_equal(a.locked_bytes, 8 * PG);
		} else {
			assert_memory_equal(&a, &b, sizeof(a));
		}
		dmakit_container_close(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rollback_ioas_alloc),
		cmocka_unit_test(test_rollback_map_fixed_with_domain),
		cmocka_unit_test(test_rollback_map_auto),
		cmocka_unit_test(test_rollback_copy_three_areas),
		cmocka_unit_test(test_rollback_allow_iovas),
		cmocka_unit_test(test_rollback_attach_device),
		cmocka_unit_test(test_rollback_hwpt_alloc),
		cmocka_unit_test(test_rollback_unmap_all_never_allocates),
		cmocka_unit_test(test_rollback_compat_map_and_v1_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
