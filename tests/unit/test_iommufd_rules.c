/* SPDX-License-Identifier: MIT */
/*
 * The emulated iommufd (src/emu_iommufd.c) and its vfio compat layer
 * against the rules of the kernel-semantics reference, section 2 (IOMMUFD),
 * one or more tests per rule, each named after it.
 *
 * Everything goes through the public API with the kernel's request structs.
 * Helpers follow the iommufd selftest style: `_map()` returns the ioctl's
 * value, `map_ok()` asserts success, `map_err(E, ...)` asserts -E AND that
 * the context (objects, areas, pages, mapped/pinned/locked bytes, and every
 * area of the IOASes under test) is exactly what it was before the call.
 * Where the spec orders two checks, a request failing both expects the
 * earlier one's errno.
 *
 * The "selftest_*" tests reproduce, from the reference's facts, the cases of
 * the kernel's tools/testing/selftests/iommu/iommufd.c that concern IOAS map,
 * unmap, copy and ranges (written here, not copied), with the same results.
 *
 * The emulated device (dmakit_iommufd_attach_device): VT-d, aperture
 * [0, 0x7fffffffff], MSI window [0xfee00000, 0xfeefffff] reserved, page
 * sizes 0x40201000, iova_alignment 4096.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/container.h>
#include <dmakit/iommufd.h>

#define UNUSED __attribute__((unused))

/* OPTS() overrides the defaults it lists first. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define PG 0x1000ull
#define MiB (1ull << 20)
#define R DMAKIT_IOMMU_IOAS_MAP_READABLE
#define W DMAKIT_IOMMU_IOAS_MAP_WRITEABLE
#define RW (R | W)
#define FIXED DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA
#define VA 0x40000000ull
#define IOVA 0x100000ull
#define MSI_START 0xfee00000ull
#define MSI_LAST 0xfeefffffull
#define APERTURE_LAST 0x7fffffffffull

/* ------------------------------------------------------------------------ */
/* Assertions                                                                 */

static void check_ret_(long got, long want, const char *what, const char *file, int line)
{
	if (got != want) {
		print_error("%s\n  returned %s (%ld), expected %s (%ld)\n", what,
			    dmakit_errno_name((int)got), got, dmakit_errno_name((int)want), want);
		_fail(file, line);
	}
}

#define ret_eq(expr, want) check_ret_((long)(expr), (long)(want), #expr, __FILE__, __LINE__)
#define ok(expr) ret_eq(expr, 0)

/* What a context holds: its counters and the areas of IOAS 1..4. */
#define SNAP_AREAS 64
struct snap {
	struct dmakit_iommufd_stats s;
	size_t n;
	struct dmakit_iommufd_area a[SNAP_AREAS];
	uint32_t ioas[SNAP_AREAS];
};

static void take_snap(struct dmakit_iommufd *ctx, struct snap *sn)
{
	uint32_t id;

	memset(sn, 0, sizeof(*sn));
	assert_int_equal(dmakit_iommufd_stats(ctx, &sn->s), 0);
	for (id = 1; id <= 4; id++) {
		uint64_t at = 0;
		struct dmakit_iommufd_area a;

		while (sn->n < SNAP_AREAS && dmakit_iommufd_seek_area(ctx, id, at, &a) == 0) {
			sn->ioas[sn->n] = id;
			sn->a[sn->n++] = a;
			at = a.iova + a.length;
			if (!at)
				break;
		}
	}
}

static void check_unchanged_(struct dmakit_iommufd *ctx, const struct snap *b, const char *what,
			     const char *file, int line)
{
	struct snap a;

	take_snap(ctx, &a);
	if (memcmp(&a.s, &b->s, sizeof(a.s)) || a.n != b->n ||
	    memcmp(a.a, b->a, sizeof(a.a[0]) * a.n) || memcmp(a.ioas, b->ioas, sizeof(a.ioas))) {
		print_error("%s\n  changed the context: objects %llu->%llu areas %llu->%llu "
			    "pages %llu->%llu mapped 0x%llx->0x%llx pinned 0x%llx->0x%llx "
			    "user 0x%llx->0x%llx mm 0x%llx->0x%llx listed %zu->%zu\n", what,
			    (unsigned long long)b->s.objects, (unsigned long long)a.s.objects,
			    (unsigned long long)b->s.areas, (unsigned long long)a.s.areas,
			    (unsigned long long)b->s.pages_objects, (unsigned long long)a.s.pages_objects,
			    (unsigned long long)b->s.mapped_bytes, (unsigned long long)a.s.mapped_bytes,
			    (unsigned long long)b->s.pinned_bytes, (unsigned long long)a.s.pinned_bytes,
			    (unsigned long long)b->s.user_locked_bytes,
			    (unsigned long long)a.s.user_locked_bytes,
			    (unsigned long long)b->s.mm_locked_bytes,
			    (unsigned long long)a.s.mm_locked_bytes, b->n, a.n);
		_fail(file, line);
	}
}

/* The call fails with -E and the context is exactly as it was. */
#define expect_err(E, ctx, expr)                                                 \
	do {                                                                     \
		struct snap before_;                                             \
		take_snap(ctx, &before_);                                        \
		check_ret_((long)(expr), -(long)(E), #expr, __FILE__, __LINE__); \
		check_unchanged_((ctx), &before_, #expr, __FILE__, __LINE__);    \
	} while (0)

static struct dmakit_iommufd_stats st(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommufd_stats s;

	assert_int_equal(dmakit_iommufd_stats(ctx, &s), 0);
	return s;
}

/* ------------------------------------------------------------------------ */
/* Contexts                                                                   */

struct opts {
	bool cap_ipc_lock;
	bool cap_sys_resource;
	uint64_t memlock;
	enum dmakit_iommufd_account mode;
	bool thp;
};

#define OPTS(...) ((struct opts){ .cap_ipc_lock = true, .cap_sys_resource = true, \
				  .memlock = UINT64_MAX, .thp = true, __VA_ARGS__ })

static struct dmakit_iommufd *open_opts(struct opts o)
{
	struct dmakit_iommufd_config cfg;
	struct dmakit_iommufd *ctx = NULL;

	dmakit_iommufd_config_init(&cfg);
	cfg.cap_ipc_lock = o.cap_ipc_lock;
	cfg.cap_sys_resource = o.cap_sys_resource;
	cfg.memlock_limit = o.memlock;
	cfg.account_mode = o.mode;
	cfg.transparent_hugepage = o.thp;
	ok(dmakit_iommufd_open(&cfg, &ctx));
	assert_non_null(ctx);
	return ctx;
}

static struct dmakit_iommufd *open_ctx(void) { return open_opts(OPTS()); }

static int _ioas_alloc(struct dmakit_iommufd *ctx, uint32_t flags, uint32_t *id)
{
	struct dmakit_iommu_ioas_alloc a = { .size = sizeof(a), .flags = flags };
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a);

	if (id)
		*id = a.out_ioas_id;
	return ret;
}

static uint32_t ioas_new(struct dmakit_iommufd *ctx)
{
	uint32_t id = 0;

	ok(_ioas_alloc(ctx, 0, &id));
	assert_true(id != 0);
	return id;
}

static uint32_t attach(struct dmakit_iommufd *ctx, uint32_t ioas)
{
	uint32_t hwpt = 0;

	ok(dmakit_iommufd_attach_device(ctx, ioas, &hwpt));
	return hwpt;
}

/* ------------------------------------------------------------------------ */
/* Op helpers                                                                 */

static int _map(struct dmakit_iommufd *ctx, uint32_t ioas, uint32_t flags, uint64_t va,
		uint64_t len, uint64_t *iova)
{
	struct dmakit_iommu_ioas_map m = {
		.size = sizeof(m), .flags = flags, .ioas_id = ioas, .user_va = va,
		.length = len, .iova = iova ? *iova : 0,
	};
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);

	if (iova && ret == 0)
		*iova = m.iova;
	return ret;
}

static int _map_fixed(struct dmakit_iommufd *ctx, uint32_t ioas, uint64_t iova, uint64_t len,
		      uint64_t va)
{
	return _map(ctx, ioas, FIXED | RW, va, len, &iova);
}

#define map_fixed_ok(ctx, ioas, iova, len, va) ok(_map_fixed(ctx, ioas, iova, len, va))
#define map_fixed_err(E, ctx, ioas, iova, len, va) \
	expect_err(E, ctx, _map_fixed(ctx, ioas, iova, len, va))

static uint64_t map_auto(struct dmakit_iommufd *ctx, uint32_t ioas, uint64_t va, uint64_t len)
{
	uint64_t iova = 0;

	ok(_map(ctx, ioas, RW, va, len, &iova));
	return iova;
}

#define map_auto_err(E, ctx, ioas, va, len) expect_err(E, ctx, _map(ctx, ioas, RW, va, len, NULL))

#define LEN_POISON 0x5a5a5a5a5a5a5000ull

static int _unmap(struct dmakit_iommufd *ctx, uint32_t ioas, uint64_t iova, uint64_t len,
		  uint64_t *out)
{
	struct dmakit_iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len,
	};
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);

	if (ret < 0)
		assert_true(u.length == len); /* nothing written back on error */
	if (out)
		*out = u.length;
	return ret;
}

static void unmap_ok_(struct dmakit_iommufd *ctx, uint32_t ioas, uint64_t iova, uint64_t len,
		      uint64_t expect, const char *file, int line)
{
	uint64_t got = LEN_POISON;

	check_ret_(_unmap(ctx, ioas, iova, len, &got), 0, "unmap", file, line);
	if (got != expect) {
		print_error("unmapped 0x%llx, expected 0x%llx\n", (unsigned long long)got,
			    (unsigned long long)expect);
		_fail(file, line);
	}
}

#define unmap_ok(ctx, ioas, iova, len, expect) \
	unmap_ok_(ctx, ioas, iova, len, expect, __FILE__, __LINE__)
#define unmap_err(E, ctx, ioas, iova, len) expect_err(E, ctx, _unmap(ctx, ioas, iova, len, NULL))

static int _copy(struct dmakit_iommufd *ctx, uint32_t flags, uint32_t dst, uint64_t *dst_iova,
		 uint32_t src, uint64_t src_iova, uint64_t len)
{
	struct dmakit_iommu_ioas_copy c = {
		.size = sizeof(c), .flags = flags, .dst_ioas_id = dst, .src_ioas_id = src,
		.length = len, .dst_iova = dst_iova ? *dst_iova : 0, .src_iova = src_iova,
	};
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_COPY, &c);

	if (ret == 0 && dst_iova)
		*dst_iova = c.dst_iova;
	return ret;
}

#define copy_fixed_err(E, ctx, dst, dst_iova, src, src_iova, len)                       \
	do {                                                                            \
		uint64_t di_ = (dst_iova);                                              \
		expect_err(E, ctx, _copy(ctx, FIXED | RW, dst, &di_, src, src_iova, len)); \
	} while (0)

static int _ranges(struct dmakit_iommufd *ctx, uint32_t ioas, uint32_t *num,
		   struct dmakit_iommu_iova_range *out, uint64_t *alignment)
{
	struct dmakit_iommu_ioas_iova_ranges r = {
		.size = sizeof(r), .ioas_id = ioas, .num_iovas = *num,
		.allowed_iovas = (uint64_t)(uintptr_t)out,
	};
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &r);

	*num = r.num_iovas;
	if (alignment)
		*alignment = r.out_iova_alignment;
	return ret;
}

static int _allow(struct dmakit_iommufd *ctx, uint32_t ioas, uint32_t n,
		  const struct dmakit_iommu_iova_range *ranges)
{
	struct dmakit_iommu_ioas_allow_iovas a = {
		.size = sizeof(a), .ioas_id = ioas, .num_iovas = n,
		.allowed_iovas = (uint64_t)(uintptr_t)ranges,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, &a);
}

static int _option(struct dmakit_iommufd *ctx, uint32_t option, uint16_t op, uint32_t obj,
		   uint64_t *val)
{
	struct dmakit_iommu_option o = {
		.size = sizeof(o), .option_id = option, .op = op, .object_id = obj,
		.val64 = val ? *val : 0,
	};
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_OPTION, &o);

	if (val)
		*val = o.val64;
	return ret;
}

static int _destroy(struct dmakit_iommufd *ctx, uint32_t id)
{
	struct dmakit_iommu_destroy d = { .size = sizeof(d), .id = id };

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d);
}

static void area_is(struct dmakit_iommufd *ctx, uint32_t ioas, uint64_t at, uint64_t iova,
		    uint64_t len, uint64_t va)
{
	struct dmakit_iommufd_area a;

	ok(dmakit_iommufd_seek_area(ctx, ioas, at, &a));
	assert_int_equal(a.iova, iova);
	assert_int_equal(a.length, len);
	assert_int_equal(a.user_va, va);
}

/* ------------------------------------------------------------------------ */
/* 2.1 Generic ioctl handling                                                 */

static void test_generic_size_below_min_size_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_ioas_map m = {
		.size = DMAKIT_IOMMU_IOAS_MAP_MINSZ - 1, .flags = FIXED | RW, .ioas_id = ioas,
		.user_va = VA, .length = PG, .iova = IOVA,
	};
	struct dmakit_iommu_ioas_alloc a = { .size = 11 };

	expect_err(EINVAL, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m));
	expect_err(EINVAL, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a));
	dmakit_iommufd_close(ctx);
}

static void test_generic_nonzero_tail_is_e2big_zero_tail_ok(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	struct {
		struct dmakit_iommu_ioas_alloc a;
		uint8_t tail[20];
	} big;

	memset(&big, 0, sizeof(big));
	big.a.size = sizeof(big);
	big.tail[7] = 1;
	expect_err(E2BIG, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &big));
	big.tail[7] = 0;
	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &big));
	assert_int_equal(big.a.out_ioas_id, 1);
	/* The response is min(user size, struct size): the tail stays. */
	assert_int_equal(big.tail[0], 0);
	dmakit_iommufd_close(ctx);
}

static void test_generic_size_checked_before_tail_and_op(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	struct dmakit_iommu_ioas_alloc a = { .size = 4, .flags = 1 };

	/* flags would be EOPNOTSUPP, but the size check comes first. */
	expect_err(EINVAL, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a));
	dmakit_iommufd_close(ctx);
}

static void test_generic_null_arg_is_efault(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();

	expect_err(EFAULT, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, NULL));
	dmakit_iommufd_close(ctx);
}

static void test_generic_unknown_ioctl_is_enotty(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint64_t buf[8] = { 64 };

	expect_err(ENOTTY, ctx, dmakit_iommufd_ioctl(ctx, 0x3B8A, buf));   /* hole */
	expect_err(ENOTTY, ctx, dmakit_iommufd_ioctl(ctx, 0x3BF0, buf));   /* past the table */
	expect_err(ENOTTY, ctx, dmakit_iommufd_ioctl(ctx, 0x3B10, buf));   /* vfio: unknown */
	expect_err(ENOTTY, ctx, dmakit_iommufd_ioctl(ctx, 0x4181, buf));   /* wrong type */
	dmakit_iommufd_close(ctx);
}

static void test_generic_response_copies_min_of_sizes(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct {
		struct dmakit_iommu_ioas_map m;
		uint64_t tail;
	} big;

	memset(&big, 0, sizeof(big));
	big.m.size = sizeof(big);
	big.m.flags = RW;
	big.m.ioas_id = ioas;
	big.m.user_va = VA;
	big.m.length = PG;
	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &big));
	assert_true(big.m.iova != 0);
	assert_int_equal(big.tail, 0);
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* Object ids                                                                 */

static void test_ids_start_at_1_and_reuse_lowest_free(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();

	assert_int_equal(ioas_new(ctx), 1);
	assert_int_equal(ioas_new(ctx), 2);
	assert_int_equal(ioas_new(ctx), 3);
	ok(_destroy(ctx, 2));
	assert_int_equal(ioas_new(ctx), 2);
	assert_int_equal(ioas_new(ctx), 4);
	dmakit_iommufd_close(ctx);
}

static void test_bad_id_or_wrong_type_is_enoent(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), hwpt = attach(ctx, ioas);
	uint64_t iova = IOVA;

	assert_int_equal(hwpt, 2);
	expect_err(ENOENT, ctx, _map(ctx, 0, FIXED | RW, VA, PG, &iova));
	expect_err(ENOENT, ctx, _map(ctx, 7, FIXED | RW, VA, PG, &iova));
	/* A HWPT id is not an IOAS. */
	expect_err(ENOENT, ctx, _map(ctx, hwpt, FIXED | RW, VA, PG, &iova));
	expect_err(ENOENT, ctx, _destroy(ctx, 9));
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.3 IOAS_ALLOC and DESTROY                                                 */

static void test_ioas_alloc_flags_is_eopnotsupp(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();

	expect_err(EOPNOTSUPP, ctx, _ioas_alloc(ctx, 1, NULL));
	dmakit_iommufd_close(ctx);
}

static void test_ioas_alloc_fresh_reports_whole_space_alignment_1(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), n = 4;
	struct dmakit_iommu_iova_range r[4];
	uint64_t align = 0;

	ok(_ranges(ctx, ioas, &n, r, &align));
	assert_int_equal(n, 1);
	assert_int_equal(r[0].start, 0);
	assert_true(r[0].last == UINT64_MAX);
	assert_int_equal(align, 1);
	dmakit_iommufd_close(ctx);
}

static void test_destroy_ioas_unmaps_and_unpins(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false));
	uint32_t a = ioas_new(ctx), b = ioas_new(ctx), hwpt = attach(ctx, b);

	map_fixed_ok(ctx, a, IOVA, 4 * PG, VA);
	map_fixed_ok(ctx, b, IOVA, 4 * PG, VA + 0x100000);
	assert_int_equal(st(ctx).user_locked_bytes, 4 * PG);
	/* An IOAS with a device attached is busy, and so is its HWPT. */
	expect_err(EBUSY, ctx, _destroy(ctx, b));
	expect_err(EBUSY, ctx, _destroy(ctx, hwpt));
	ok(_destroy(ctx, a));
	assert_int_equal(st(ctx).areas, 1);
	ok(dmakit_iommufd_detach_device(ctx, hwpt));
	assert_int_equal(st(ctx).user_locked_bytes, 0);
	ok(_destroy(ctx, b));
	assert_int_equal(st(ctx).objects, 0);
	assert_int_equal(st(ctx).pages_objects, 0);
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.4 IOAS_MAP                                                               */

static void test_map_unknown_flag_or_reserved_is_eopnotsupp(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_ioas_map m = {
		.size = sizeof(m), .flags = FIXED | RW, .ioas_id = ioas, .__reserved = 1,
		.user_va = VA, .length = PG, .iova = IOVA,
	};
	uint64_t iova = UINT64_MAX;

	/* Before EOVERFLOW (iova = ULONG_MAX) and ENOENT. */
	expect_err(EOPNOTSUPP, ctx, _map(ctx, 99, FIXED | RW | 8, VA, PG, &iova));
	expect_err(EOPNOTSUPP, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m));
	dmakit_iommufd_close(ctx);
}

static void test_map_iova_or_length_ulong_max_is_eoverflow(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	uint64_t iova = UINT64_MAX;

	/* Before the R/W check and the id lookup. */
	expect_err(EOVERFLOW, ctx, _map(ctx, 99, FIXED, VA, PG, &iova));
	iova = IOVA;
	expect_err(EOVERFLOW, ctx, _map(ctx, ioas, FIXED | RW, VA, UINT64_MAX, &iova));
	dmakit_iommufd_close(ctx);
}

static void test_map_without_read_or_write_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint64_t iova = IOVA;

	ioas_new(ctx);
	/* Before the id lookup. */
	expect_err(EINVAL, ctx, _map(ctx, 99, FIXED, VA, PG, &iova));
	dmakit_iommufd_close(ctx);
}

static void test_map_user_va_plus_length_overflow_is_eoverflow(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	/* `+ length`, not `+ length - 1`: ending exactly at 2^64 overflows. */
	map_fixed_err(EOVERFLOW, ctx, ioas, IOVA, PG, 0xfffffffffffff000ull);
	dmakit_iommufd_close(ctx);
}

static void test_map_length_0_or_huge_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_err(EINVAL, ctx, ioas, IOVA, 0, VA);
	map_fixed_err(EINVAL, ctx, ioas, 0, UINT64_MAX - PG + 1, 0);
	dmakit_iommufd_close(ctx);
}

static void test_map_length_not_aligned_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_err(EINVAL, ctx, ioas, IOVA, PG + 1, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_without_domain_alignment_is_1(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_ok(ctx, ioas, IOVA + 1, 3, VA + 1);
	area_is(ctx, ioas, 0, IOVA + 1, 3, VA + 1);
	dmakit_iommufd_close(ctx);
}

static void test_map_fixed_misaligned_iova_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_err(EINVAL, ctx, ioas, IOVA + 0x800, PG, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_fixed_iova_wrap_is_eoverflow(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_err(EOVERFLOW, ctx, ioas, 0xfffffffffffff000ull, 0x2000, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_fixed_reserved_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_err(EINVAL, ctx, ioas, MSI_START - PG, 2 * PG, VA);
	map_fixed_err(EINVAL, ctx, ioas, APERTURE_LAST + 1, PG, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_fixed_overlap_is_eexist(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_ok(ctx, ioas, IOVA, 4 * PG, VA);
	map_fixed_err(EEXIST, ctx, ioas, IOVA + 3 * PG, 2 * PG, VA);
	map_fixed_err(EEXIST, ctx, ioas, IOVA - PG, 2 * PG, VA);
	map_fixed_ok(ctx, ioas, IOVA + 4 * PG, PG, VA); /* touching is fine */
	dmakit_iommufd_close(ctx);
}

static void test_map_fixed_ignores_allowed_list(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_iova_range allow = { 0x10000000, 0x1fffffff };

	ok(_allow(ctx, ioas, 1, &allow));
	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_va_page_offset_with_domain_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	/* iova and length aligned, the user address is not: iopt_insert_area. */
	map_fixed_err(EINVAL, ctx, ioas, IOVA, PG, VA + 0x10);
	dmakit_iommufd_close(ctx);
}

static void test_map_without_domain_pins_nothing(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false, .memlock = 0));
	uint32_t ioas = ioas_new(ctx);

	/* memlock 0 would refuse any pin: nothing is pinned without a domain. */
	map_fixed_ok(ctx, ioas, IOVA, 16 * PG, VA);
	assert_int_equal(st(ctx).pinned_bytes, 0);
	assert_int_equal(st(ctx).user_locked_bytes, 0);
	/* Attaching pins, and fails whole past the limit. */
	expect_err(ENOMEM, ctx, dmakit_iommufd_attach_device(ctx, ioas, NULL));
	dmakit_iommufd_close(ctx);
}

static void test_map_with_domain_pins_and_accounts(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false));
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_ok(ctx, ioas, IOVA, 16 * PG, VA);
	assert_int_equal(st(ctx).pinned_bytes, 16 * PG);
	assert_int_equal(st(ctx).user_locked_bytes, 16 * PG);
	assert_int_equal(st(ctx).mm_locked_bytes, 0);
	dmakit_iommufd_close(ctx);
}

static void test_map_over_rlimit_is_enomem_and_unwinds(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false, .memlock = 8 * PG));
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_ok(ctx, ioas, IOVA, 6 * PG, VA);
	map_fixed_err(ENOMEM, ctx, ioas, IOVA + 0x100000, 3 * PG, VA + 0x100000);
	map_fixed_ok(ctx, ioas, IOVA + 0x100000, 2 * PG, VA + 0x100000);
	dmakit_iommufd_close(ctx);
}

static void test_map_cap_ipc_lock_pins_without_accounting(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = true, .memlock = 0));
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_ok(ctx, ioas, IOVA, 16 * PG, VA);
	assert_int_equal(st(ctx).pinned_bytes, 16 * PG);
	assert_int_equal(st(ctx).user_locked_bytes, 0);
	assert_int_equal(st(ctx).mm_locked_bytes, 0);
	dmakit_iommufd_close(ctx);
}

static void test_map_user_mode_counts_uid_base(void **state UNUSED)
{
	struct dmakit_iommufd_config cfg;
	struct dmakit_iommufd *ctx = NULL;
	uint32_t ioas;

	dmakit_iommufd_config_init(&cfg);
	cfg.cap_ipc_lock = false;
	cfg.memlock_limit = 8 * PG;
	cfg.user_locked_base = 6 * PG; /* io_uring or another process of the uid */
	ok(dmakit_iommufd_open(&cfg, &ctx));
	ioas = ioas_new(ctx);
	attach(ctx, ioas);
	map_fixed_err(ENOMEM, ctx, ioas, IOVA, 3 * PG, VA);
	map_fixed_ok(ctx, ioas, IOVA, 2 * PG, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_unpinnable_memory_is_efault(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false));
	uint32_t ioas = ioas_new(ctx);

	ok(dmakit_iommufd_declare_memory(ctx, VA, 4 * PG));
	/* No domain: nothing is pinned, so it succeeds. */
	map_fixed_ok(ctx, ioas, IOVA, 8 * PG, VA);
	/* Attaching pins it: EFAULT, nothing changed. */
	expect_err(EFAULT, ctx, dmakit_iommufd_attach_device(ctx, ioas, NULL));
	unmap_ok(ctx, ioas, IOVA, 8 * PG, 8 * PG);
	attach(ctx, ioas);
	map_fixed_err(EFAULT, ctx, ioas, IOVA, 8 * PG, VA);
	map_fixed_ok(ctx, ioas, IOVA, 4 * PG, VA);
	dmakit_iommufd_close(ctx);
}

static void test_map_writes_back_chosen_iova(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	uint64_t iova = 0x12345000;

	ok(_map(ctx, ioas, RW, VA, PG, &iova));
	assert_int_equal(iova, PG); /* the lowest candidate: IOVA 0 is never used */
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.5 IOVA allocation policy                                                 */

static void test_alloc_length_zero_or_half_space_is_eoverflow(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	/* length 0 in automatic mode: iopt_alloc_user_pages says EINVAL first. */
	map_auto_err(EINVAL, ctx, ioas, VA, 0);
	map_auto_err(EOVERFLOW, ctx, ioas, 0, UINT64_MAX / 2);
	dmakit_iommufd_close(ctx);
}

static void test_alloc_never_returns_iova_0_first_fit(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	assert_int_equal(map_auto(ctx, ioas, VA, PG), PG);
	assert_int_equal(map_auto(ctx, ioas, VA, PG), 2 * PG);
	assert_int_equal(map_auto(ctx, ioas, VA, 2 * PG), 4 * PG); /* aligned to 8K */
	assert_int_equal(map_auto(ctx, ioas, VA, PG), 3 * PG);     /* the hole below */
	dmakit_iommufd_close(ctx);
}

static void test_alloc_keeps_sub_page_offset(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	uint64_t iova = map_auto(ctx, ioas, VA + 0x234, 0x100);

	assert_int_equal(iova & 0xfff, 0x234);
	dmakit_iommufd_close(ctx);
}

static void test_alloc_alignment_is_min_of_length_and_va(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	/* length 64K, va aligned to 16K only: 16K alignment. */
	map_fixed_ok(ctx, ioas, PG, PG, VA);
	assert_int_equal(map_auto(ctx, ioas, VA + 0x4000, 0x10000), 0x4000);
	/* va 0: the length alone (64K, rounded up from 40K). */
	assert_int_equal(map_auto(ctx, ioas, 0, 0xa000), 0x20000);
	dmakit_iommufd_close(ctx);
}

static void test_alloc_alignment_capped_at_hpage_or_page(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	struct dmakit_iommufd *nothp = open_opts(OPTS(.thp = false));
	uint32_t a = ioas_new(ctx), b = ioas_new(nothp);

	map_fixed_ok(ctx, a, PG, PG, VA);
	map_fixed_ok(nothp, b, PG, PG, VA);
	/* 8 MiB at a 1 GiB-aligned va: 2 MiB with THP, 4 KiB without. */
	assert_int_equal(map_auto(ctx, a, 0x40000000, 8 * MiB), 2 * MiB);
	assert_int_equal(map_auto(nothp, b, 0x40000000, 8 * MiB), 2 * PG);
	dmakit_iommufd_close(ctx);
	dmakit_iommufd_close(nothp);
}

static void test_alloc_alignment_below_iova_alignment_is_einval(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	/* length 4K (aligned), va only 2K-aligned: alignment 2K < 4K. But
	 * iopt_alloc_iova runs before iopt_insert_area: EINVAL either way. */
	map_auto_err(EINVAL, ctx, ioas, VA + 0x800, PG);
	dmakit_iommufd_close(ctx);
}

static void test_alloc_uses_allowed_ranges_only(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_iova_range allow[2] = {
		{ 0x200000, 0x201fff }, { 0x800000, 0x8fffff },
	};

	ok(_allow(ctx, ioas, 2, allow));
	assert_int_equal(map_auto(ctx, ioas, VA, 2 * PG), 0x200000);
	assert_int_equal(map_auto(ctx, ioas, VA, 2 * PG), 0x800000);
	map_auto_err(ENOSPC, ctx, ioas, VA, 2 * MiB);
	dmakit_iommufd_close(ctx);
}

static void test_alloc_skips_reserved_and_top_page(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_iova_range allow = { 0xfed00000, 0xffffffffffffffffull };

	attach(ctx, ioas);
	/* Allowed ranges may not touch reserved ones. */
	ret_eq(_allow(ctx, ioas, 1, &allow), -EADDRINUSE);
	allow.last = MSI_START - 1;
	ok(_allow(ctx, ioas, 1, &allow));
	assert_int_equal(map_auto(ctx, ioas, VA, MiB), 0xfed00000);
	map_auto_err(ENOSPC, ctx, ioas, VA, PG);
	dmakit_iommufd_close(ctx);
}

static void test_alloc_no_fit_is_enospc(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_iova_range allow = { 0x10000, 0x1ffff };

	ok(_allow(ctx, ioas, 1, &allow));
	map_auto_err(ENOSPC, ctx, ioas, VA, 0x20000);
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.6 IOAS_UNMAP                                                             */

static void test_unmap_bad_id_checked_first(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();

	ioas_new(ctx);
	unmap_err(ENOENT, ctx, 5, UINT64_MAX, UINT64_MAX); /* not EOVERFLOW */
	dmakit_iommufd_close(ctx);
}

static void test_unmap_all_succeeds_when_empty(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	unmap_ok(ctx, ioas, 0, UINT64_MAX, 0);
	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	map_fixed_ok(ctx, ioas, 0xfffffffffffff000ull - PG, PG, VA);
	unmap_ok(ctx, ioas, 0, UINT64_MAX, 2 * PG);
	assert_int_equal(st(ctx).areas, 0);
	dmakit_iommufd_close(ctx);
}

static void test_unmap_overflow_and_length_0(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	unmap_err(EOVERFLOW, ctx, ioas, UINT64_MAX, PG);
	unmap_err(EOVERFLOW, ctx, ioas, PG, UINT64_MAX);
	unmap_err(EINVAL, ctx, ioas, IOVA, 0);
	unmap_err(EOVERFLOW, ctx, ioas, 0xfffffffffffff000ull, 0x2000);
	dmakit_iommufd_close(ctx);
}

static void test_unmap_nothing_mapped_is_enoent(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	unmap_err(ENOENT, ctx, ioas, IOVA, PG);
	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	unmap_err(ENOENT, ctx, ioas, IOVA + PG, PG);
	dmakit_iommufd_close(ctx);
}

static void test_unmap_partial_area_is_enoent_never_splits(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_ok(ctx, ioas, IOVA, 4 * PG, VA);
	unmap_err(ENOENT, ctx, ioas, IOVA, PG);
	unmap_err(ENOENT, ctx, ioas, IOVA + PG, 4 * PG);
	unmap_ok(ctx, ioas, IOVA - PG, 6 * PG, 4 * PG);
	dmakit_iommufd_close(ctx);
}

static void test_unmap_start_bisects_removes_nothing(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_ok(ctx, ioas, IOVA, 2 * PG, VA);
	map_fixed_ok(ctx, ioas, IOVA + 2 * PG, 2 * PG, VA);
	unmap_err(ENOENT, ctx, ioas, IOVA + PG, 3 * PG);
	dmakit_iommufd_close(ctx);
}

static void test_unmap_end_bisects_is_non_atomic(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	uint64_t got = LEN_POISON;

	map_fixed_ok(ctx, ioas, IOVA, 2 * PG, VA);
	map_fixed_ok(ctx, ioas, IOVA + 2 * PG, 2 * PG, VA);
	map_fixed_ok(ctx, ioas, IOVA + 4 * PG, 2 * PG, VA);
	ret_eq(_unmap(ctx, ioas, IOVA, 5 * PG, &got), -ENOENT);
	assert_true(got == 5 * PG); /* nothing written back */
	/* The two areas below the bisected one are gone. */
	assert_int_equal(st(ctx).areas, 1);
	area_is(ctx, ioas, 0, IOVA + 4 * PG, 2 * PG, VA);
	dmakit_iommufd_close(ctx);
}

static void test_unmap_unpins_and_unaccounts(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false));
	uint32_t ioas = ioas_new(ctx);

	attach(ctx, ioas);
	map_fixed_ok(ctx, ioas, IOVA, 4 * PG, VA);
	unmap_ok(ctx, ioas, IOVA, 4 * PG, 4 * PG);
	assert_int_equal(st(ctx).pinned_bytes, 0);
	assert_int_equal(st(ctx).user_locked_bytes, 0);
	assert_int_equal(st(ctx).pages_objects, 0);
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.7 IOAS_COPY                                                              */

static void test_copy_check_order(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t di = IOVA;

	map_fixed_ok(ctx, src, IOVA, 4 * PG, VA);
	/* 1. flags, before overflow */
	expect_err(EOPNOTSUPP, ctx, _copy(ctx, FIXED | RW | 8, dst, &di, src, UINT64_MAX, PG));
	/* 2. overflow, before R/W */
	expect_err(EOVERFLOW, ctx, _copy(ctx, FIXED, dst, &di, src, UINT64_MAX, PG));
	expect_err(EOVERFLOW, ctx, _copy(ctx, FIXED | RW, dst, &di, src, IOVA, UINT64_MAX));
	di = UINT64_MAX;
	expect_err(EOVERFLOW, ctx, _copy(ctx, FIXED | RW, dst, &di, src, IOVA, PG));
	di = IOVA;
	/* 3. R/W, before the ids */
	expect_err(EINVAL, ctx, _copy(ctx, FIXED, 77, &di, 78, IOVA, PG));
	/* 4. bad src, before length 0 */
	copy_fixed_err(ENOENT, ctx, dst, IOVA, 78, IOVA, 0);
	/* 5. length 0, range wrap, not covered */
	copy_fixed_err(EINVAL, ctx, dst, IOVA, src, IOVA, 0);
	copy_fixed_err(EOVERFLOW, ctx, dst, IOVA, src, 0xfffffffffffff000ull, 0x2000);
	copy_fixed_err(ENOENT, ctx, dst, IOVA, src, IOVA + 2 * PG, 4 * PG);
	/* 6. bad dst, after the source is found */
	copy_fixed_err(ENOENT, ctx, 78, IOVA, src, IOVA, PG);
	dmakit_iommufd_close(ctx);
}

static void test_copy_needs_contiguous_areas(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t di = IOVA;

	map_fixed_ok(ctx, src, IOVA, 2 * PG, VA);
	map_fixed_ok(ctx, src, IOVA + 3 * PG, 2 * PG, VA);
	copy_fixed_err(ENOENT, ctx, dst, IOVA, src, IOVA, 5 * PG);
	map_fixed_ok(ctx, src, IOVA + 2 * PG, PG, VA + 0x10000);
	ok(_copy(ctx, FIXED | RW, dst, &di, src, IOVA, 5 * PG));
	/* One destination area per source area. */
	assert_int_equal(st(ctx).areas, 6);
	area_is(ctx, dst, IOVA + 2 * PG, IOVA + 2 * PG, PG, VA + 0x10000);
	dmakit_iommufd_close(ctx);
}

static void test_copy_sub_range_of_area_is_accepted(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t di = 0x500000;

	map_fixed_ok(ctx, src, IOVA, 8 * PG, VA);
	ok(_copy(ctx, FIXED | RW, dst, &di, src, IOVA + 2 * PG, 3 * PG));
	area_is(ctx, dst, 0, 0x500000, 3 * PG, VA + 2 * PG);
	dmakit_iommufd_close(ctx);
}

static void test_copy_placement_rules_as_map(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	struct dmakit_iommu_iova_range allow = { 0x10000, 0x10fff };
	uint64_t di = 0;

	map_fixed_ok(ctx, src, IOVA, 2 * PG, VA);
	map_fixed_ok(ctx, dst, IOVA, PG, VA);
	copy_fixed_err(EEXIST, ctx, dst, IOVA, src, IOVA, 2 * PG);
	attach(ctx, dst);
	copy_fixed_err(EINVAL, ctx, dst, MSI_START, src, IOVA, 2 * PG);
	ok(_allow(ctx, dst, 1, &allow));
	expect_err(ENOSPC, ctx, _copy(ctx, RW, dst, &di, src, IOVA, 2 * PG));
	dmakit_iommufd_close(ctx);
}

static void test_copy_write_from_readonly_pages_is_eperm(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t iova = IOVA, di = IOVA;

	ok(_map(ctx, src, FIXED | R, VA, 2 * PG, &iova));
	expect_err(EPERM, ctx, _copy(ctx, FIXED | RW, dst, &di, src, IOVA, 2 * PG));
	ok(_copy(ctx, FIXED | R, dst, &di, src, IOVA, 2 * PG));
	dmakit_iommufd_close(ctx);
}

static void test_copy_shares_pages_accounted_once(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false));
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t di = 0x800000;

	attach(ctx, src);
	attach(ctx, dst);
	map_fixed_ok(ctx, src, IOVA, 8 * PG, VA);
	ok(_copy(ctx, FIXED | RW, dst, &di, src, IOVA, 8 * PG));
	assert_int_equal(st(ctx).pages_objects, 1);
	assert_int_equal(st(ctx).pinned_bytes, 8 * PG);
	assert_int_equal(st(ctx).user_locked_bytes, 8 * PG);
	/* Unmapping the source keeps the copy pinned. */
	unmap_ok(ctx, src, IOVA, 8 * PG, 8 * PG);
	assert_int_equal(st(ctx).user_locked_bytes, 8 * PG);
	unmap_ok(ctx, dst, 0, UINT64_MAX, 8 * PG);
	assert_int_equal(st(ctx).user_locked_bytes, 0);
	assert_int_equal(st(ctx).pages_objects, 0);
	dmakit_iommufd_close(ctx);
}

static void test_copy_writes_back_dst_iova(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t di = 0xdead000;

	map_fixed_ok(ctx, src, IOVA, 2 * PG, VA);
	ok(_copy(ctx, RW, dst, &di, src, IOVA, 2 * PG));
	assert_int_equal(di, 2 * PG); /* 8K aligned, first fit above IOVA 0 */
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.8 IOVA_RANGES and ALLOW_IOVAS                                            */

static void test_iova_ranges_reserved_is_eopnotsupp(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = 99, .__reserved = 1 };

	(void)ioas;
	expect_err(EOPNOTSUPP, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &r));
	r.__reserved = 0;
	expect_err(ENOENT, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &r));
	dmakit_iommufd_close(ctx);
}

static void test_iova_ranges_with_domain_are_holes_of_reserved(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), n = 4;
	struct dmakit_iommu_iova_range r[4];
	uint64_t align = 0;

	attach(ctx, ioas);
	ok(_ranges(ctx, ioas, &n, r, &align));
	assert_int_equal(n, 2);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].last, MSI_START - 1);
	assert_int_equal(r[1].start, MSI_LAST + 1);
	assert_int_equal(r[1].last, APERTURE_LAST);
	assert_int_equal(align, PG);
	dmakit_iommufd_close(ctx);
}

static void test_iova_ranges_too_small_is_emsgsize_after_counts(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), n = 1;
	struct dmakit_iommu_iova_range r[2] = { { 7, 7 }, { 7, 7 } };
	uint64_t align = 0;

	attach(ctx, ioas);
	ret_eq(_ranges(ctx, ioas, &n, r, &align), -EMSGSIZE);
	assert_int_equal(n, 2);
	assert_int_equal(align, PG);
	assert_int_equal(r[0].start, 0); /* the first was written */
	assert_int_equal(r[1].start, 7); /* not the second */
	n = 0;
	ret_eq(_ranges(ctx, ioas, &n, NULL, NULL), -EMSGSIZE);
	assert_int_equal(n, 2);
	dmakit_iommufd_close(ctx);
}

static void test_iova_ranges_ignore_allowed_list(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), n = 4;
	struct dmakit_iommu_iova_range r[4], allow = { 0x1000, 0x1fff };

	ok(_allow(ctx, ioas, 1, &allow));
	ok(_ranges(ctx, ioas, &n, r, NULL));
	assert_int_equal(n, 1);
	assert_true(r[0].last == UINT64_MAX);
	dmakit_iommufd_close(ctx);
}

static void test_allow_iovas_rules(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_ioas_allow_iovas a = { .size = sizeof(a), .ioas_id = ioas, .__reserved = 1 };
	struct dmakit_iommu_iova_range one_byte = { 0x1000, 0x1000 };
	struct dmakit_iommu_iova_range overlap[2] = { { 0x1000, 0x2fff }, { 0x2000, 0x3fff } };
	struct dmakit_iommu_iova_range good[2] = { { 0x100000, 0x1fffff }, { 0x400000, 0x4fffff } };
	struct dmakit_iommu_iova_range msi = { MSI_START, MSI_LAST };

	expect_err(EOPNOTSUPP, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, &a));
	ret_eq(_allow(ctx, ioas, 1, &one_byte), -EINVAL);
	ret_eq(_allow(ctx, ioas, 2, overlap), -EINVAL);
	ret_eq(_allow(ctx, 9, 1, good), -ENOENT);
	ok(_allow(ctx, ioas, 2, good));
	assert_int_equal(map_auto(ctx, ioas, VA, PG), 0x100000);
	/* A failed set keeps the old one. */
	attach(ctx, ioas);
	ret_eq(_allow(ctx, ioas, 1, &msi), -EADDRINUSE);
	assert_int_equal(map_auto(ctx, ioas, VA, PG), 0x101000);
	/* 0 ranges clears it. */
	ok(_allow(ctx, ioas, 0, NULL));
	assert_int_equal(map_auto(ctx, ioas, VA, PG), PG);
	dmakit_iommufd_close(ctx);
}

static void test_allow_then_attach_reserved_hit_is_eaddrinuse(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_iova_range msi = { MSI_START - PG, MSI_START + PG };

	ok(_allow(ctx, ioas, 1, &msi));
	expect_err(EADDRINUSE, ctx, dmakit_iommufd_attach_device(ctx, ioas, NULL));
	ok(_allow(ctx, ioas, 0, NULL));
	map_fixed_ok(ctx, ioas, APERTURE_LAST + 1, PG, VA);
	expect_err(EADDRINUSE, ctx, dmakit_iommufd_attach_device(ctx, ioas, NULL));
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.9 Accounting and IOMMU_OPTION                                            */

static void test_option_check_order(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	struct dmakit_iommu_option o = { .size = sizeof(o), .option_id = 0, .op = 1, .__reserved = 1 };
	uint64_t v = 0;

	expect_err(EOPNOTSUPP, ctx, dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_OPTION, &o));
	expect_err(EOPNOTSUPP, ctx, _option(ctx, 7, DMAKIT_IOMMU_OPTION_OP_GET, 0, &v));
	expect_err(EOPNOTSUPP, ctx, _option(ctx, 0, 2, 0, &v));
	expect_err(EOPNOTSUPP, ctx, _option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_GET, 1, &v));
	expect_err(ENOENT, ctx, _option(ctx, 1, 2, 5, &v)); /* id before op */
	dmakit_iommufd_close(ctx);
}

static void test_option_rlimit_mode_get_set(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint64_t v = 9;

	ok(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_GET, 0, &v));
	assert_int_equal(v, 0);
	v = 2;
	ret_eq(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_SET, 0, &v), -EINVAL);
	v = 1;
	ok(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_SET, 0, &v));
	ok(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_GET, 0, &v));
	assert_int_equal(v, 1);
	assert_true(st(ctx).account_mm);
	dmakit_iommufd_close(ctx);
}

static void test_option_rlimit_mode_set_needs_cap_sys_resource(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_sys_resource = false));
	uint64_t v = 1;

	ret_eq(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_SET, 0, &v), -EPERM);
	dmakit_iommufd_close(ctx);
}

static void test_option_rlimit_mode_set_needs_empty_context(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint64_t v = 1;

	ioas_new(ctx);
	ret_eq(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_SET, 0, &v), -EBUSY);
	ok(_destroy(ctx, 1));
	ok(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_SET, 0, &v));
	dmakit_iommufd_close(ctx);
}

static void test_mm_mode_charges_mm_locked_vm(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_opts(OPTS(.cap_ipc_lock = false, .memlock = 4 * PG));
	uint64_t v = 1;
	uint32_t ioas;

	ok(_option(ctx, 0, DMAKIT_IOMMU_OPTION_OP_SET, 0, &v));
	ioas = ioas_new(ctx);
	attach(ctx, ioas);
	map_fixed_ok(ctx, ioas, IOVA, 4 * PG, VA);
	assert_int_equal(st(ctx).mm_locked_bytes, 4 * PG);
	assert_int_equal(st(ctx).user_locked_bytes, 0);
	map_fixed_err(ENOMEM, ctx, ioas, IOVA + 0x10000, PG, VA + 0x10000);
	dmakit_iommufd_close(ctx);
}

static void test_option_huge_pages(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), n = 2;
	struct dmakit_iommu_iova_range r[2];
	uint64_t v = 7, align = 0;

	ok(_option(ctx, 1, DMAKIT_IOMMU_OPTION_OP_GET, ioas, &v));
	assert_int_equal(v, 1);
	v = 2;
	ret_eq(_option(ctx, 1, DMAKIT_IOMMU_OPTION_OP_SET, ioas, &v), -EINVAL);
	v = 0;
	ok(_option(ctx, 1, DMAKIT_IOMMU_OPTION_OP_SET, ioas, &v));
	ok(_ranges(ctx, ioas, &n, r, &align));
	assert_int_equal(align, PG); /* PAGE_SIZE with large pages disabled */
	v = 1;
	ok(_option(ctx, 1, DMAKIT_IOMMU_OPTION_OP_SET, ioas, &v));
	ok(_ranges(ctx, ioas, &n, r, &align));
	assert_int_equal(align, 1);
	/* Disabling with a domain and areas: EINVAL. */
	attach(ctx, ioas);
	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	v = 0;
	ret_eq(_option(ctx, 1, DMAKIT_IOMMU_OPTION_OP_SET, ioas, &v), -EINVAL);
	dmakit_iommufd_close(ctx);
}

/* ------------------------------------------------------------------------ */
/* 2.11 VFIO compat                                                           */

static struct dmakit_container *open_compat(uint32_t type, bool cap_ipc_lock, uint64_t memlock)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c = NULL;

	dmakit_container_config_init(&cfg);
	cfg.backend = DMAKIT_BACKEND_EMU_IOMMUFD;
	cfg.iommu_type = type;
	cfg.cap_ipc_lock = cap_ipc_lock;
	cfg.memlock_limit = memlock;
	ok(dmakit_container_open(&cfg, &c));
	assert_string_equal(dmakit_container_backend_name(c), "emu-iommufd");
	return c;
}

static int _cmap(struct dmakit_container *c, uint32_t flags, uint64_t iova, uint64_t size,
		 uint64_t vaddr)
{
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .vaddr = vaddr, .iova = iova, .size = size,
	};

	return dmakit_container_map_dma(c, &m);
}

static int _cunmap(struct dmakit_container *c, uint32_t flags, uint64_t iova, uint64_t size,
		   uint64_t *out)
{
	struct dmakit_vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size,
	};
	int ret = dmakit_container_unmap_dma(c, &u);

	*out = u.size;
	return ret;
}

#define CR DMAKIT_VFIO_DMA_MAP_FLAG_READ
#define CW DMAKIT_VFIO_DMA_MAP_FLAG_WRITE

static void test_compat_without_compat_ioas_is_enodev(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	struct dmakit_vfio_iommu_type1_dma_map m = { .argsz = sizeof(m), .flags = CR, .size = PG };
	struct dmakit_iommu_vfio_ioas v = { .size = sizeof(v), .op = DMAKIT_IOMMU_VFIO_IOAS_GET };

	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_VFIO_IOMMU_MAP_DMA, &m), -ENODEV);
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_VFIO_SET_IOMMU, (void *)(uintptr_t)3), -ENODEV);
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v), -ENODEV);
	/* No compat IOAS needed for these. */
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_VFIO_GET_API_VERSION, NULL), 0);
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_VFIO_CHECK_EXTENSION, (void *)(uintptr_t)3), 1);
	dmakit_iommufd_close(ctx);
}

static void test_compat_vfio_ioas_get_set_clear(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_vfio_ioas v = { .size = sizeof(v), .op = DMAKIT_IOMMU_VFIO_IOAS_SET, .ioas_id = 5 };

	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v), -ENOENT);
	v.ioas_id = ioas;
	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v));
	v.op = DMAKIT_IOMMU_VFIO_IOAS_GET;
	v.ioas_id = 0;
	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v));
	assert_int_equal(v.ioas_id, ioas);
	v.op = 3;
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v), -EOPNOTSUPP);
	v.op = DMAKIT_IOMMU_VFIO_IOAS_GET;
	v.__reserved = 1;
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v), -EOPNOTSUPP);
	v.__reserved = 0;
	v.op = DMAKIT_IOMMU_VFIO_IOAS_CLEAR;
	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v));
	v.op = DMAKIT_IOMMU_VFIO_IOAS_GET;
	ret_eq(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v), -ENODEV);
	dmakit_iommufd_close(ctx);
}

static void test_compat_check_extension(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(3, true, UINT64_MAX);

	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_UNMAP_ALL), 1);
	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_UPDATE_VADDR), 0);
	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_TYPE1_NESTING_IOMMU), 0);
	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_NOIOMMU_IOMMU), 0);
	assert_int_equal(dmakit_container_check_extension(c, DMAKIT_VFIO_DMA_CC_IOMMU), 1);
	assert_int_equal(dmakit_container_check_extension(c, 1234), 0);
	dmakit_container_close(c);
}

static void test_compat_set_iommu_only_1_and_3(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(0, true, UINT64_MAX);

	ret_eq(dmakit_container_set_iommu(c, 2), -EINVAL);
	ret_eq(dmakit_container_set_iommu(c, 6), -EINVAL);
	ret_eq(dmakit_container_set_iommu(c, 8), -EINVAL);
	ok(dmakit_container_set_iommu(c, 3));
	dmakit_container_close(c);
}

static void test_compat_set_iommu_v1_with_areas_is_einval(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(0, true, UINT64_MAX);

	ok(_cmap(c, CR | CW, IOVA, PG, VA));
	ret_eq(dmakit_container_set_iommu(c, 1), -EINVAL);
	dmakit_container_close(c);
}

static void test_compat_map_rules(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(3, true, UINT64_MAX);
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = 31, .flags = CR, .vaddr = VA, .iova = IOVA, .size = PG,
	};
	struct dmakit_container_stats s;

	ret_eq(dmakit_container_map_dma(c, &m), -EINVAL);
	ret_eq(_cmap(c, CR | DMAKIT_VFIO_DMA_MAP_FLAG_VADDR, IOVA, PG, VA), -EINVAL);
	ret_eq(_cmap(c, CR, IOVA, 0, VA), -EINVAL);
	ret_eq(_cmap(c, CR, IOVA, PG, 0xfffffffffffff000ull), -EOVERFLOW);
	ret_eq(_cmap(c, CR, MSI_START, PG, VA), -EINVAL);
	ret_eq(_cmap(c, CR, IOVA + 1, PG, VA), -EINVAL);
	/* flags 0: the VT-d (generic_pt) domain refuses the map. */
	ret_eq(_cmap(c, 0, IOVA, PG, VA), -EINVAL);
	ok(_cmap(c, CR, IOVA, PG, VA));
	ret_eq(_cmap(c, CR, IOVA, PG, VA), -EEXIST);
	/* No dma_entry_limit. */
	ok(dmakit_container_stats(c, &s));
	assert_true(s.dma_avail == UINT32_MAX);
	dmakit_container_close(c);
}

static void test_compat_map_flags_0_without_domain_succeeds(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_vfio_ioas v = { .size = sizeof(v), .op = DMAKIT_IOMMU_VFIO_IOAS_SET, .ioas_id = ioas };
	struct dmakit_vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = 0, .vaddr = VA, .iova = IOVA, .size = PG,
	};

	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_VFIO_IOAS, &v));
	ok(dmakit_iommufd_ioctl(ctx, DMAKIT_VFIO_IOMMU_MAP_DMA, &m));
	dmakit_iommufd_close(ctx);
}

static void test_compat_map_mm_mode_rlimit_is_enomem(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(3, false, 4 * PG);
	struct dmakit_container_stats s;

	ok(_cmap(c, CR | CW, IOVA, 4 * PG, VA));
	ret_eq(_cmap(c, CR | CW, IOVA + 0x10000, PG, VA + 0x10000), -ENOMEM);
	ok(dmakit_container_stats(c, &s));
	assert_int_equal(s.locked_bytes, 4 * PG);
	assert_int_equal(s.mappings, 1);
	dmakit_container_close(c);
}

static void test_compat_unmap_rules(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(3, true, UINT64_MAX);
	struct dmakit_vfio_iommu_type1_dma_unmap u = { .argsz = 23, .iova = IOVA, .size = PG };
	uint64_t got;

	ret_eq(dmakit_container_unmap_dma(c, &u), -EINVAL);
	ret_eq(_cunmap(c, DMAKIT_VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, IOVA, PG, &got), -EINVAL);
	ret_eq(_cunmap(c, DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR, IOVA, PG, &got), -EINVAL);
	/* ALL with a range: EINVAL, size not rewritten. */
	ret_eq(_cunmap(c, DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL, 0, PG, &got), -EINVAL);
	assert_int_equal(got, PG);
	/* An empty range: success, size 0. */
	ret_eq(_cunmap(c, 0, IOVA, PG, &got), 0);
	assert_int_equal(got, 0);
	ok(_cmap(c, CR | CW, IOVA, 4 * PG, VA));
	ok(_cmap(c, CR | CW, IOVA + 4 * PG, 4 * PG, VA));
	/* A partly covered area: ENOENT (type1 v2: EINVAL), with the size
	 * unmapped so far copied back. */
	ret_eq(_cunmap(c, 0, IOVA, 6 * PG, &got), -ENOENT);
	assert_int_equal(got, 4 * PG);
	/* size 0: EINVAL from iopt_unmap_iova, size 0 copied back. */
	ret_eq(_cunmap(c, 0, IOVA, 0, &got), -EINVAL);
	assert_int_equal(got, 0);
	ret_eq(_cunmap(c, DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &got), 0);
	assert_int_equal(got, 4 * PG);
	dmakit_container_close(c);
}

static void test_compat_v1_unmap_splits_exactly(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(1, true, UINT64_MAX);
	struct dmakit_container_stats s;
	struct dmakit_mapping m;
	uint64_t got;

	ok(_cmap(c, CR | CW, IOVA, 8 * PG, VA));
	ret_eq(_cunmap(c, 0, IOVA + 2 * PG, 3 * PG, &got), 0);
	assert_int_equal(got, 3 * PG);
	ok(dmakit_container_stats(c, &s));
	assert_int_equal(s.mappings, 2);
	assert_int_equal(s.mapped_bytes, 5 * PG);
	ok(dmakit_container_seek_mapping(c, 0, &m));
	assert_int_equal(m.iova, IOVA);
	assert_int_equal(m.size, 2 * PG);
	ok(dmakit_container_seek_mapping(c, IOVA + 2 * PG, &m));
	assert_int_equal(m.iova, IOVA + 5 * PG);
	assert_int_equal(m.size, 3 * PG);
	assert_int_equal(m.vaddr, VA + 5 * PG);
	/* A split point that is not page aligned: EINVAL from the cut, size
	 * not copied back. */
	ret_eq(_cunmap(c, 0, IOVA + 0x800, PG, &got), -EINVAL);
	assert_int_equal(got, PG);
	dmakit_container_close(c);
}

static void test_compat_get_info(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(3, true, UINT64_MAX);
	uint8_t buf[256];
	struct dmakit_vfio_iommu_type1_info *info = (void *)buf;
	struct dmakit_type1_info parsed;
	uint32_t next;

	memset(buf, 0, sizeof(buf));
	info->argsz = 15;
	ret_eq(dmakit_container_get_info(c, info), -EINVAL);
	/* Too small: argsz rewritten to the total, no cap_offset. */
	info->argsz = 24;
	ok(dmakit_container_get_info(c, info));
	assert_int_equal(info->argsz, 24 + 16 + 16 + 2 * 16);
	assert_int_equal(info->flags, DMAKIT_VFIO_IOMMU_INFO_PGSIZES | DMAKIT_VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(info->cap_offset, 0);
	assert_int_equal(info->iova_pgsizes, 0x40201000);
	/* Big enough: DMA_AVAIL (U32_MAX) at 24 padded to 16, IOVA_RANGE at 40. */
	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	ok(dmakit_container_get_info(c, info));
	assert_int_equal(info->argsz, 88);
	assert_int_equal(info->cap_offset, 24);
	assert_int_equal(*(uint16_t *)(buf + 24), DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	memcpy(&next, buf + 28, 4);
	assert_int_equal(next, 40);
	assert_int_equal(*(uint16_t *)(buf + 40), DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	ok(dmakit_type1_info_parse(buf, sizeof(buf), &parsed));
	assert_true(parsed.has_dma_avail);
	assert_true(parsed.dma_avail == UINT32_MAX);
	assert_false(parsed.has_migration);
	assert_int_equal(parsed.nr_iova_ranges, 2);
	assert_int_equal(parsed.iova_ranges[0].end, MSI_START - 1);
	assert_int_equal(parsed.iova_ranges[1].start, MSI_LAST + 1);
	assert_int_equal(parsed.iova_ranges[1].end, APERTURE_LAST);
	dmakit_container_close(c);
}

static void test_compat_dirty_pages_is_enotty(void **state UNUSED)
{
	struct dmakit_container *c = open_compat(3, true, UINT64_MAX);
	struct dmakit_vfio_iommu_type1_dirty_bitmap d = { .argsz = 8, .flags = 1 };

	ret_eq(dmakit_container_dirty_pages(c, &d), -ENOTTY);
	ret_eq(dmakit_container_ioctl(c, DMAKIT_VFIO_IOMMU_ENABLE, NULL), -ENOTTY);
	dmakit_container_close(c);
}

/* ------------------------------------------------------------------------ */
/* The kernel's iommufd selftests (ioas_area_*, ioas_unmap*, copy, ranges),    */
/* reproduced from the reference's facts                                       */

static void test_selftest_ioas_area_destroy_and_auto_destroy(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);

	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	ok(_destroy(ctx, ioas));
	assert_int_equal(st(ctx).areas, 0);
	ioas = ioas_new(ctx);
	map_fixed_ok(ctx, ioas, IOVA, PG, VA);
	dmakit_iommufd_close(ctx); /* auto-destroy with areas */
}

static void test_selftest_ioas_unmap_all_and_area_fragments(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	uint64_t i;

	attach(ctx, ioas);
	/* Sixteen one-page areas at every other page. */
	for (i = 0; i < 16; i++)
		map_fixed_ok(ctx, ioas, IOVA + 2 * i * PG, PG, VA + i * PG);
	/* Unmap a range bisecting nothing, covering three. */
	unmap_ok(ctx, ioas, IOVA + PG, 5 * PG, 2 * PG);
	/* Unmap over holes works as long as at least one area is inside. */
	unmap_ok(ctx, ioas, IOVA, 0x100000, 14 * PG);
	unmap_err(ENOENT, ctx, ioas, IOVA, 0x100000);
	unmap_ok(ctx, ioas, 0, UINT64_MAX, 0);
	dmakit_iommufd_close(ctx);
}

static void test_selftest_ioas_area_auto_iova(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	uint64_t iovas[10];
	unsigned int i;

	attach(ctx, ioas);
	for (i = 0; i != 10; i++) {
		iovas[i] = map_auto(ctx, ioas, VA, PG * (i + 1));
		assert_int_equal(iovas[i] % PG, 0);
	}
	for (i = 0; i != 10; i++)
		unmap_ok(ctx, ioas, iovas[i], PG * (i + 1), PG * (i + 1));
	assert_int_equal(st(ctx).areas, 0);
	dmakit_iommufd_close(ctx);
}

static void test_selftest_ioas_area_allowed(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx);
	struct dmakit_iommu_iova_range allow[2] = {
		{ 0x100000, 0x100000 + 16 * PG - 1 }, { 0x200000, 0x200000 + 16 * PG - 1 },
	};
	uint64_t iova;
	unsigned int i;

	ok(_allow(ctx, ioas, 2, allow));
	for (i = 0; i != 32; i++) {
		iova = map_auto(ctx, ioas, VA + i * PG, PG);
		assert_true((iova >= allow[0].start && iova <= allow[0].last) ||
			    (iova >= allow[1].start && iova <= allow[1].last));
	}
	map_auto_err(ENOSPC, ctx, ioas, VA, PG);
	dmakit_iommufd_close(ctx);
}

static void test_selftest_ioas_iova_ranges_with_allowed_and_reserved(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t ioas = ioas_new(ctx), n = 0;
	struct dmakit_iommu_iova_range r[4];

	/* No ranges wanted: EMSGSIZE with the count. */
	ret_eq(_ranges(ctx, ioas, &n, r, NULL), -EMSGSIZE);
	assert_int_equal(n, 1);
	attach(ctx, ioas);
	n = 0;
	ret_eq(_ranges(ctx, ioas, &n, r, NULL), -EMSGSIZE);
	assert_int_equal(n, 2);
	n = 4;
	ok(_ranges(ctx, ioas, &n, r, NULL));
	assert_int_equal(n, 2);
	dmakit_iommufd_close(ctx);
}

static void test_selftest_ioas_copy_sweep(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t start, last, base = 0x100000;

	/* One source area [base + 2 pages, base + 6 pages). A copy of
	 * [start, last] succeeds exactly when it lies inside the area. */
	map_fixed_ok(ctx, src, base + 2 * PG, 4 * PG, VA);
	for (start = base; start <= base + 8 * PG; start += PG) {
		for (last = start + PG - 1; last <= base + 8 * PG - 1; last += PG) {
			uint64_t di = 0x10000000, len = last - start + 1;
			bool inside = start >= base + 2 * PG && last <= base + 6 * PG - 1;
			int ret = _copy(ctx, FIXED | RW, dst, &di, src, start, len);

			if (inside) {
				assert_int_equal(ret, 0);
				unmap_ok(ctx, dst, di, len, len);
			} else {
				assert_int_equal(ret, -ENOENT);
			}
		}
	}
	dmakit_iommufd_close(ctx);
}

static void test_selftest_ioas_copy_area_destroy(void **state UNUSED)
{
	struct dmakit_iommufd *ctx = open_ctx();
	uint32_t src = ioas_new(ctx), dst = ioas_new(ctx);
	uint64_t di = IOVA;

	map_fixed_ok(ctx, src, IOVA, 4 * PG, VA);
	ok(_copy(ctx, FIXED | RW, dst, &di, src, IOVA, 4 * PG));
	ok(_destroy(ctx, src));
	area_is(ctx, dst, 0, IOVA, 4 * PG, VA);
	dmakit_iommufd_close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* 2.1 */
		cmocka_unit_test(test_generic_size_below_min_size_is_einval),
		cmocka_unit_test(test_generic_nonzero_tail_is_e2big_zero_tail_ok),
		cmocka_unit_test(test_generic_size_checked_before_tail_and_op),
		cmocka_unit_test(test_generic_null_arg_is_efault),
		cmocka_unit_test(test_generic_unknown_ioctl_is_enotty),
		cmocka_unit_test(test_generic_response_copies_min_of_sizes),
		cmocka_unit_test(test_ids_start_at_1_and_reuse_lowest_free),
		cmocka_unit_test(test_bad_id_or_wrong_type_is_enoent),
		/* 2.3 */
		cmocka_unit_test(test_ioas_alloc_flags_is_eopnotsupp),
		cmocka_unit_test(test_ioas_alloc_fresh_reports_whole_space_alignment_1),
		cmocka_unit_test(test_destroy_ioas_unmaps_and_unpins),
		/* 2.4 */
		cmocka_unit_test(test_map_unknown_flag_or_reserved_is_eopnotsupp),
		cmocka_unit_test(test_map_iova_or_length_ulong_max_is_eoverflow),
		cmocka_unit_test(test_map_without_read_or_write_is_einval),
		cmocka_unit_test(test_map_user_va_plus_length_overflow_is_eoverflow),
		cmocka_unit_test(test_map_length_0_or_huge_is_einval),
		cmocka_unit_test(test_map_length_not_aligned_is_einval),
		cmocka_unit_test(test_map_without_domain_alignment_is_1),
		cmocka_unit_test(test_map_fixed_misaligned_iova_is_einval),
		cmocka_unit_test(test_map_fixed_iova_wrap_is_eoverflow),
		cmocka_unit_test(test_map_fixed_reserved_is_einval),
		cmocka_unit_test(test_map_fixed_overlap_is_eexist),
		cmocka_unit_test(test_map_fixed_ignores_allowed_list),
		cmocka_unit_test(test_map_va_page_offset_with_domain_is_einval),
		cmocka_unit_test(test_map_without_domain_pins_nothing),
		cmocka_unit_test(test_map_with_domain_pins_and_accounts),
		cmocka_unit_test(test_map_over_rlimit_is_enomem_and_unwinds),
		cmocka_unit_test(test_map_cap_ipc_lock_pins_without_accounting),
		cmocka_unit_test(test_map_user_mode_counts_uid_base),
		cmocka_unit_test(test_map_unpinnable_memory_is_efault),
		cmocka_unit_test(test_map_writes_back_chosen_iova),
		/* 2.5 */
		cmocka_unit_test(test_alloc_length_zero_or_half_space_is_eoverflow),
		cmocka_unit_test(test_alloc_never_returns_iova_0_first_fit),
		cmocka_unit_test(test_alloc_keeps_sub_page_offset),
		cmocka_unit_test(test_alloc_alignment_is_min_of_length_and_va),
		cmocka_unit_test(test_alloc_alignment_capped_at_hpage_or_page),
		cmocka_unit_test(test_alloc_alignment_below_iova_alignment_is_einval),
		cmocka_unit_test(test_alloc_uses_allowed_ranges_only),
		cmocka_unit_test(test_alloc_skips_reserved_and_top_page),
		cmocka_unit_test(test_alloc_no_fit_is_enospc),
		/* 2.6 */
		cmocka_unit_test(test_unmap_bad_id_checked_first),
		cmocka_unit_test(test_unmap_all_succeeds_when_empty),
		cmocka_unit_test(test_unmap_overflow_and_length_0),
		cmocka_unit_test(test_unmap_nothing_mapped_is_enoent),
		cmocka_unit_test(test_unmap_partial_area_is_enoent_never_splits),
		cmocka_unit_test(test_unmap_start_bisects_removes_nothing),
		cmocka_unit_test(test_unmap_end_bisects_is_non_atomic),
		cmocka_unit_test(test_unmap_unpins_and_unaccounts),
		/* 2.7 */
		cmocka_unit_test(test_copy_check_order),
		cmocka_unit_test(test_copy_needs_contiguous_areas),
		cmocka_unit_test(test_copy_sub_range_of_area_is_accepted),
		cmocka_unit_test(test_copy_placement_rules_as_map),
		cmocka_unit_test(test_copy_write_from_readonly_pages_is_eperm),
		cmocka_unit_test(test_copy_shares_pages_accounted_once),
		cmocka_unit_test(test_copy_writes_back_dst_iova),
		/* 2.8 */
		cmocka_unit_test(test_iova_ranges_reserved_is_eopnotsupp),
		cmocka_unit_test(test_iova_ranges_with_domain_are_holes_of_reserved),
		cmocka_unit_test(test_iova_ranges_too_small_is_emsgsize_after_counts),
		cmocka_unit_test(test_iova_ranges_ignore_allowed_list),
		cmocka_unit_test(test_allow_iovas_rules),
		cmocka_unit_test(test_allow_then_attach_reserved_hit_is_eaddrinuse),
		/* 2.9 */
		cmocka_unit_test(test_option_check_order),
		cmocka_unit_test(test_option_rlimit_mode_get_set),
		cmocka_unit_test(test_option_rlimit_mode_set_needs_cap_sys_resource),
		cmocka_unit_test(test_option_rlimit_mode_set_needs_empty_context),
		cmocka_unit_test(test_mm_mode_charges_mm_locked_vm),
		cmocka_unit_test(test_option_huge_pages),
		/* 2.11 */
		cmocka_unit_test(test_compat_without_compat_ioas_is_enodev),
		cmocka_unit_test(test_compat_vfio_ioas_get_set_clear),
		cmocka_unit_test(test_compat_check_extension),
		cmocka_unit_test(test_compat_set_iommu_only_1_and_3),
		cmocka_unit_test(test_compat_set_iommu_v1_with_areas_is_einval),
		cmocka_unit_test(test_compat_map_rules),
		cmocka_unit_test(test_compat_map_flags_0_without_domain_succeeds),
		cmocka_unit_test(test_compat_map_mm_mode_rlimit_is_enomem),
		cmocka_unit_test(test_compat_unmap_rules),
		cmocka_unit_test(test_compat_v1_unmap_splits_exactly),
		cmocka_unit_test(test_compat_get_info),
		cmocka_unit_test(test_compat_dirty_pages_is_enotty),
		/* kernel selftests */
		cmocka_unit_test(test_selftest_ioas_area_destroy_and_auto_destroy),
		cmocka_unit_test(test_selftest_ioas_unmap_all_and_area_fragments),
		cmocka_unit_test(test_selftest_ioas_area_auto_iova),
		cmocka_unit_test(test_selftest_ioas_area_allowed),
		cmocka_unit_test(test_selftest_ioas_iova_ranges_with_allowed_and_reserved),
		cmocka_unit_test(test_selftest_ioas_copy_sweep),
		cmocka_unit_test(test_selftest_ioas_copy_area_destroy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
