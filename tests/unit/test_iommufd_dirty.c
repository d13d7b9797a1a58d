/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_HWPT_ALLOC and dirty tracking on the emulated iommufd
 * (kernel-semantics.md 2.10, docs/iommufd.md "Dirty tracking"): the checks
 * of each ioctl in the kernel's order, bits relative to the requested iova,
 * NO_CLEAR, whole IOPTEs, the walk that stops at the first gap, tracking
 * per domain, DMA faults, unmapping dropping dirty bits, and rollback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <dmakit/fault.h>
#include <dmakit/iommufd.h>

#define PG 0x1000ull
#define MB2 0x200000ull
#define RW (DMAKIT_IOMMU_IOAS_MAP_READABLE | DMAKIT_IOMMU_IOAS_MAP_WRITEABLE)
#define RO DMAKIT_IOMMU_IOAS_MAP_READABLE
#define FIXED DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA
#define DIRTY DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING
#define NO_CLEAR DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR

/* Object ids of the fixture: IOAS 1, device 2, then HWPTs from 3. */
#define IOAS 1u
#define DEV 2u

static struct dmakit_iommufd *open_ctx(bool dirty_cap)
{
	struct dmakit_iommufd_config cfg;
	struct dmakit_iommufd *ctx = NULL;
	struct dmakit_iommu_ioas_alloc a = { .size = sizeof(a) };
	uint32_t dev = 0;

	dmakit_iommufd_config_init(&cfg);
	cfg.dirty_tracking = dirty_cap;
	assert_int_equal(dmakit_iommufd_open(&cfg, &ctx), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a), 0);
	assert_int_equal(a.out_ioas_id, IOAS);
	assert_int_equal(dmakit_iommufd_bind_device(ctx, &dev), 0);
	assert_int_equal(dev, DEV);
	return ctx;
}

static int hwpt_alloc(struct dmakit_iommufd *ctx, uint32_t dev, uint32_t pt, uint32_t flags,
		      uint32_t *out)
{
	struct dmakit_iommu_hwpt_alloc h = {
		.size = sizeof(h), .flags = flags, .dev_id = dev, .pt_id = pt,
	};
	int ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h);

	if (out)
		*out = h.out_hwpt_id;
	return ret;
}

/* A dirty-tracking HWPT on IOAS 1 with the device attached to it (a DMA
 * write needs a device behind the domain). */
static uint32_t tracking_hwpt(struct dmakit_iommufd *ctx)
{
	uint32_t h = 0, got = 0;

	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &h), 0);
	assert_int_equal(dmakit_iommufd_attach_device(ctx, h, &got), 0);
	assert_int_equal(got, h);
	return h;
}

static int map(struct dmakit_iommufd *ctx, uint64_t iova, uint64_t len, uint64_t va,
	       uint32_t prot)
{
	struct dmakit_iommu_ioas_map m = {
		.size = sizeof(m), .flags = FIXED | prot, .ioas_id = IOAS,
		.user_va = va, .length = len, .iova = iova,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
}

static int unmap(struct dmakit_iommufd *ctx, uint64_t iova, uint64_t len)
{
	struct dmakit_iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = IOAS, .iova = iova, .length = len,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);
}

static int set_tracking(struct dmakit_iommufd *ctx, uint32_t hwpt, uint32_t flags)
{
	struct dmakit_iommu_hwpt_set_dirty_tracking t = {
		.size = sizeof(t), .flags = flags, .hwpt_id = hwpt,
	};

	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, &t);
}

/* GET_DIRTY_BITMAP into @map (zeroed first, @words long). */
static int get_bitmap(struct dmakit_iommufd *ctx, uint32_t hwpt, uint64_t iova, uint64_t len,
		      uint64_t page, uint32_t flags, uint64_t *bits, size_t words)
{
	struct dmakit_iommu_hwpt_get_dirty_bitmap g = {
		.size = sizeof(g), .hwpt_id = hwpt, .flags = flags, .iova = iova,
		.length = len, .page_size = page, .data = (uint64_t)(uintptr_t)bits,
	};

	if (bits)
		memset(bits, 0, words * sizeof(*bits));
	return dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
}

/* The number of set bits in [first, last] of @bits. */
static unsigned int popcount_range(const uint64_t *bits, unsigned int first, unsigned int last)
{
	unsigned int i, n = 0;

	for (i = first; i <= last; i++)
		n += (unsigned int)((bits[i / 64] >> (i % 64)) & 1);
	return n;
}

static uint64_t objects(struct dmakit_iommufd *ctx)
{
	struct dmakit_iommufd_stats st;

	assert_int_equal(dmakit_iommufd_stats(ctx, &st), 0);
	return st.objects;
}

/* ---------------------------------------------------------------------- */

static void test_hwpt_alloc_checks_in_kernel_order(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	struct dmakit_iommu_hwpt_alloc h;
	uint32_t id = 0;

	(void)state;
	/* size below the 6.6 struct (up to __reserved) */
	memset(&h, 0, sizeof(h));
	h.size = 20;
	h.dev_id = DEV;
	h.pt_id = IOAS;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EINVAL);
	/* __reserved before anything else (even a bad device) */
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.__reserved = 1;
	h.dev_id = 99;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EOPNOTSUPP);
	/* data_type and data_len must agree, before the device lookup */
	h.__reserved = 0;
	h.data_len = 8;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EINVAL);
	h.data_len = 0;
	h.data_type = 1;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EINVAL);
	/* the device: a bad id, or an object that is not a device */
	assert_int_equal(hwpt_alloc(ctx, 99, IOAS, 0, NULL), -ENOENT);
	assert_int_equal(hwpt_alloc(ctx, IOAS, IOAS, 0, NULL), -ENOENT);
	/* a bad pt_id is EINVAL, not ENOENT; so is a device as pt */
	assert_int_equal(hwpt_alloc(ctx, DEV, 99, 0, NULL), -EINVAL);
	assert_int_equal(hwpt_alloc(ctx, DEV, DEV, 0, NULL), -EINVAL);
	/* the paging domain's own checks */
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, 1u << 4, NULL), -EOPNOTSUPP);
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.dev_id = DEV;
	h.pt_id = IOAS;
	h.data_type = 1;
	h.data_len = 8;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS,
				    DMAKIT_IOMMU_HWPT_FAULT_ID_VALID |
				    DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT, NULL), -EOPNOTSUPP);
	/* no fault objects: the fault id is bad, and the HWPT made first is
	 * undone (the object count and the next id are as before) */
	assert_int_equal(objects(ctx), 2);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DMAKIT_IOMMU_HWPT_FAULT_ID_VALID, NULL),
			 -ENOENT);
	assert_int_equal(objects(ctx), 2);
	/* the 6.6-sized struct still works; out_hwpt_id is written back */
	memset(&h, 0, sizeof(h));
	h.size = 24;
	h.dev_id = DEV;
	h.pt_id = IOAS;
	h.flags = DIRTY;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), 0);
	assert_int_equal(h.out_hwpt_id, 3);
	assert_int_equal(objects(ctx), 3);
	/* a second paging HWPT on the same IOAS, and a nesting parent */
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DMAKIT_IOMMU_HWPT_ALLOC_PASID, &id), 0);
	assert_int_equal(id, 4);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT, &id), 0);
	assert_int_equal(id, 5);
	/* a HWPT as pt asks for a nested domain: without driver data or with
	 * another flag than FAULT_ID_VALID EOPNOTSUPP; a parent that is not
	 * NEST_PARENT EINVAL; a good request EOPNOTSUPP (not modelled) */
	assert_int_equal(hwpt_alloc(ctx, DEV, 3, 0, NULL), -EOPNOTSUPP);
	memset(&h, 0, sizeof(h));
	h.size = sizeof(h);
	h.dev_id = DEV;
	h.pt_id = 3;
	h.data_type = 1;
	h.data_len = 8;
	h.flags = DIRTY;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EOPNOTSUPP);
	h.flags = 0;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EINVAL);
	h.pt_id = 5;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h), -EOPNOTSUPP);
	/* a struct longer than the kernel's with a non-zero tail: E2BIG */
	{
		uint8_t big[64];

		memset(big, 0, sizeof(big));
		memcpy(big, &h, sizeof(h));
		((struct dmakit_iommu_hwpt_alloc *)(void *)big)->size = sizeof(big);
		big[60] = 1;
		assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, big), -E2BIG);
	}
	dmakit_iommufd_close(ctx);

	/* Without IOMMU_CAP_DIRTY_TRACKING, only the dirty flag is refused. */
	ctx = open_ctx(false);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DIRTY, NULL), -EOPNOTSUPP);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, 0, &id), 0);
	dmakit_iommufd_close(ctx);
}

static void test_hwpt_alloc_adds_a_domain_that_pins_and_reserves(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	struct dmakit_iommu_iova_range r[4];
	struct dmakit_iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .ioas_id = IOAS, .num_iovas = 4,
		.allowed_iovas = (uint64_t)(uintptr_t)r,
	};
	struct dmakit_iommufd_stats st;
	uint32_t hwpt = 0;

	(void)state;
	assert_int_equal(map(ctx, 0x100000, 16 * PG, 0x7f0000000000, RW), 0);
	assert_int_equal(dmakit_iommufd_stats(ctx, &st), 0);
	assert_int_equal(st.pinned_bytes, 0); /* lazy: no domain yet */
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DIRTY, &hwpt), 0);
	assert_int_equal(dmakit_iommufd_stats(ctx, &st), 0);
	assert_int_equal(st.pinned_bytes, 16 * PG);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &q), 0);
	assert_int_equal(q.out_iova_alignment, PG);
	/* the domain reserves only what lies beyond its 39-bit aperture; the
	 * MSI window is the device's, reserved when one attaches */
	assert_int_equal(q.num_iovas, 1);
	assert_int_equal(r[0].last, DMAKIT_IOMMUFD_EMU_APERTURE_LAST);
	{
		uint32_t got = 0;

		assert_int_equal(dmakit_iommufd_attach_device(ctx, hwpt, &got), 0);
		q.num_iovas = 4;
		assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &q), 0);
		assert_int_equal(q.num_iovas, 2);
		assert_int_equal(r[0].last, DMAKIT_IOMMUFD_EMU_MSI_START - 1);
		assert_int_equal(dmakit_iommufd_detach_device(ctx, hwpt), 0);
	}

	/* Destroying it with no device attached undoes all of that. */
	{
		struct dmakit_iommu_destroy d = { .size = sizeof(d), .id = hwpt };

		assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), 0);
	}
	assert_int_equal(dmakit_iommufd_stats(ctx, &st), 0);
	assert_int_equal(st.pinned_bytes, 0);
	q.num_iovas = 4;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &q), 0);
	assert_int_equal(q.num_iovas, 1);
	assert_int_equal(q.out_iova_alignment, 1);
	dmakit_iommufd_close(ctx);
}

/* The MSI window belongs to the attached devices: HWPT_ALLOC succeeds with an
 * area there, attaching fails; the last detach frees the window. */
static void test_the_msi_window_is_reserved_by_attached_devices(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	uint32_t h = 0, a = 0, got = 0;

	(void)state;
	assert_int_equal(map(ctx, DMAKIT_IOMMUFD_EMU_MSI_START, PG, 0x7f0000000000, RW), 0);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, 0, &h), 0);
	assert_int_equal(dmakit_iommufd_attach_device(ctx, h, &got), -EADDRINUSE);
	assert_int_equal(dmakit_iommufd_attach_device(ctx, IOAS, &got), -EADDRINUSE);
	assert_int_equal(objects(ctx), 3); /* no automatic HWPT was left */
	assert_int_equal(unmap(ctx, DMAKIT_IOMMUFD_EMU_MSI_START, PG), 0);
	/* two devices: one on the user HWPT, one on an automatic domain */
	assert_int_equal(dmakit_iommufd_attach_device(ctx, h, &got), 0);
	assert_int_equal(dmakit_iommufd_attach_device(ctx, IOAS, &a), 0);
	assert_int_equal(map(ctx, DMAKIT_IOMMUFD_EMU_MSI_START, PG, 0x7f0000000000, RW), -EINVAL);
	assert_int_equal(dmakit_iommufd_detach_device(ctx, h), 0);
	assert_int_equal(map(ctx, DMAKIT_IOMMUFD_EMU_MSI_START, PG, 0x7f0000000000, RW), -EINVAL);
	/* the automatic domain goes with its device */
	assert_int_equal(dmakit_iommufd_detach_device(ctx, a), 0);
	assert_int_equal(dmakit_iommufd_detach_device(ctx, a), -ENOENT);
	assert_int_equal(objects(ctx), 3);
	assert_int_equal(map(ctx, DMAKIT_IOMMUFD_EMU_MSI_START, PG, 0x7f0000000000, RW), 0);
	dmakit_iommufd_close(ctx);
}

static void test_destroy_rules_for_devices_and_hwpts(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	struct dmakit_iommu_destroy d = { .size = sizeof(d) };
	uint32_t hwpt = 0, got = 0;

	(void)state;
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, 0, &hwpt), 0);
	d.id = DEV;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), -EBUSY);
	d.id = IOAS;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), -EBUSY);
	/* a device attached to the HWPT holds it */
	assert_int_equal(dmakit_iommufd_attach_device(ctx, hwpt, &got), 0);
	assert_int_equal(got, hwpt);
	d.id = hwpt;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), -EBUSY);
	assert_int_equal(dmakit_iommufd_detach_device(ctx, hwpt), 0);
	assert_int_equal(dmakit_iommufd_detach_device(ctx, hwpt), -ENOENT);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), -ENOENT);
	/* the IOAS is free again */
	d.id = IOAS;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d), 0);
	dmakit_iommufd_close(ctx);
}

static void test_set_dirty_tracking_checks(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	struct dmakit_iommu_hwpt_set_dirty_tracking t = { .size = 12, .hwpt_id = 3 };
	uint32_t dirty = 0, plain = 0, autodom = 0;

	(void)state;
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DIRTY, &dirty), 0);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, 0, &plain), 0);
	assert_int_equal(dmakit_iommufd_attach_device(ctx, IOAS, &autodom), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, &t),
			 -EINVAL);
	/* unknown flags and __reserved: EOPNOTSUPP before the id */
	assert_int_equal(set_tracking(ctx, 99, 2), -EOPNOTSUPP);
	/* __reserved is not checked here (GET_DIRTY_BITMAP checks it) */
	t.size = sizeof(t);
	t.hwpt_id = 99;
	t.__reserved = 1;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, &t),
			 -ENOENT);
	t.hwpt_id = dirty;
	t.flags = 1;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, &t), 0);
	/* bad ids: none, an IOAS, a device */
	assert_int_equal(set_tracking(ctx, 99, 1), -ENOENT);
	assert_int_equal(set_tracking(ctx, IOAS, 1), -ENOENT);
	assert_int_equal(set_tracking(ctx, DEV, 1), -ENOENT);
	/* domains without dirty ops: allocated without the flag, automatic */
	assert_int_equal(set_tracking(ctx, plain, 1), -EOPNOTSUPP);
	assert_int_equal(set_tracking(ctx, autodom, 1), -EOPNOTSUPP);
	assert_int_equal(set_tracking(ctx, plain, 0), -EOPNOTSUPP);
	assert_int_equal(set_tracking(ctx, dirty, 1), 0);
	assert_int_equal(set_tracking(ctx, dirty, 1), 0);
	assert_int_equal(set_tracking(ctx, dirty, 0), 0);
	dmakit_iommufd_close(ctx);
}

static void test_get_dirty_bitmap_checks_in_order(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	struct dmakit_iommu_hwpt_get_dirty_bitmap g = { .size = 40 };
	uint64_t bits[8];
	uint32_t dirty = 0, plain = 0;

	(void)state;
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, DIRTY, &dirty), 0);
	assert_int_equal(hwpt_alloc(ctx, DEV, IOAS, 0, &plain), 0);
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &g),
			 -EINVAL);
	/* flags and __reserved first */
	assert_int_equal(get_bitmap(ctx, 99, 1, 1, 0, 2, bits, 8), -EOPNOTSUPP);
	g.size = sizeof(g);
	g.hwpt_id = 99;
	g.__reserved = 1;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &g),
			 -EOPNOTSUPP);
	/* then the HWPT */
	assert_int_equal(get_bitmap(ctx, 99, 1, 1, 0, 0, bits, 8), -ENOENT);
	assert_int_equal(get_bitmap(ctx, IOAS, 0, PG, PG, 0, bits, 8), -ENOENT);
	/* iommufd_check_iova_range: wrap, the IOAS alignment (4096 with a
	 * domain), page_size 0, page_size alignment of both ends */
	assert_int_equal(get_bitmap(ctx, dirty, PG, UINT64_MAX, PG, 0, bits, 8), -EOVERFLOW);
	assert_int_equal(get_bitmap(ctx, dirty, 0x800, PG, 0x800, 0, bits, 8), -EINVAL);
	assert_int_equal(get_bitmap(ctx, dirty, 0, 0x1800, 0x800, 0, bits, 8), -EINVAL);
	assert_int_equal(get_bitmap(ctx, dirty, 0, PG, 0, 0, bits, 8), -EINVAL);
	assert_int_equal(get_bitmap(ctx, dirty, PG, MB2, MB2, 0, bits, 8), -EINVAL);
	assert_int_equal(get_bitmap(ctx, dirty, MB2, 3 * PG, MB2, 0, bits, 8), -EINVAL);
	/* the range checks come before "no dirty ops" */
	assert_int_equal(get_bitmap(ctx, plain, 0, PG, 0, 0, bits, 8), -EINVAL);
	assert_int_equal(get_bitmap(ctx, plain, 0, PG, PG, 0, bits, 8), -EOPNOTSUPP);
	/* nothing mapped: success, no bits */
	assert_int_equal(set_tracking(ctx, dirty, 1), 0);
	assert_int_equal(get_bitmap(ctx, dirty, 0, 64 * PG, PG, 0, bits, 8), 0);
	assert_int_equal(popcount_range(bits, 0, 63), 0);
	dmakit_iommufd_close(ctx);
}

static void test_dirty_bits_are_relative_to_iova_and_no_clear_keeps_them(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	uint64_t bits[4];
	uint32_t h = 0;

	(void)state;
	assert_int_equal(map(ctx, 0x100000, 16 * PG, 0x7f0000000000, RW), 0);
	h = tracking_hwpt(ctx);
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x104010, 0x10), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x10aff0, 0x20), 0); /* 2 pages */
	/* bit i is iova + i * page_size */
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, NO_CLEAR, bits, 4), 0);
	assert_int_equal(bits[0], (1ull << 4) | (1ull << 10) | (1ull << 11));
	assert_int_equal(get_bitmap(ctx, h, 0x104000, 8 * PG, PG, NO_CLEAR, bits, 4), 0);
	assert_int_equal(bits[0], (1ull << 0) | (1ull << 6) | (1ull << 7));
	/* a coarser page_size: one bit per 32 KiB */
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, 8 * PG, NO_CLEAR, bits, 4), 0);
	assert_int_equal(bits[0], 3);
	/* read and clear: only the IOPTEs walked are cleared */
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 8 * PG, PG, 0, bits, 4), 0);
	assert_int_equal(bits[0], 1ull << 4);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, 0, bits, 4), 0);
	assert_int_equal(bits[0], (1ull << 10) | (1ull << 11));
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, 0, bits, 4), 0);
	assert_int_equal(bits[0], 0);
	dmakit_iommufd_close(ctx);
}

static void test_a_write_dirties_whole_ioptes(void **state)
{
	uint64_t bits[32]; /* 2048 bits: 8 MiB at 4 KiB */
	int huge;

	(void)state;
	for (huge = 0; huge < 3; huge++) {
		struct dmakit_iommufd *ctx = open_ctx(true);
		/* huge 0: va congruent to iova modulo 2 MiB: 2 MiB IOPTEs;
		 * huge 1: va off by one page: 4 KiB IOPTEs;
		 * huge 2: congruent, but large pages disabled on the IOAS. */
		uint64_t va = 0x7f0000000000 + (huge == 1 ? PG : 0);
		uint32_t h = 0;

		if (huge == 2) {
			struct dmakit_iommu_option o = {
				.size = sizeof(o), .option_id = DMAKIT_IOMMU_OPTION_HUGE_PAGES,
				.op = DMAKIT_IOMMU_OPTION_OP_SET, .object_id = IOAS, .val64 = 0,
			};

			assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_OPTION, &o), 0);
		}
		assert_int_equal(map(ctx, 0x400000, 4 * MB2, va, RW), 0);
		h = tracking_hwpt(ctx);
		assert_int_equal(set_tracking(ctx, h, 1), 0);
		assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x600010, 1), 0);
		assert_int_equal(get_bitmap(ctx, h, 0x400000, 4 * MB2, PG, 0, bits, 32), 0);
		if (huge == 0) {
			/* the IOPTE [0x600000, 0x7fffff]: bits 512..1023 */
			assert_int_equal(popcount_range(bits, 0, 2047), 512);
			assert_int_equal(popcount_range(bits, 512, 1023), 512);
		} else {
			assert_int_equal(popcount_range(bits, 0, 2047), 1);
			assert_int_equal(popcount_range(bits, 512, 512), 1);
		}
		/* A request that starts inside a dirty 2 MiB IOPTE gets the bits of
		 * the bytes it asked for, and clears the whole IOPTE. */
		assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x600010, 1), 0);
		assert_int_equal(get_bitmap(ctx, h, 0x700000, MB2, PG, 0, bits, 32), 0);
		assert_int_equal(popcount_range(bits, 0, 511), huge == 0 ? 256 : 0);
		assert_int_equal(get_bitmap(ctx, h, 0x400000, 4 * MB2, PG, 0, bits, 32), 0);
		assert_int_equal(popcount_range(bits, 0, 2047), huge == 0 ? 0 : 1);
		dmakit_iommufd_close(ctx);
	}
}

static void test_the_walk_stops_at_the_first_gap(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	uint64_t bits[4];
	uint32_t h = 0;

	(void)state;
	/* [0x100000, +8 pages) [0x108000, +8 pages) gap [0x120000, +8 pages) */
	assert_int_equal(map(ctx, 0x100000, 8 * PG, 0x7f0000000000, RW), 0);
	assert_int_equal(map(ctx, 0x108000, 8 * PG, 0x7f0000100000, RW), 0);
	assert_int_equal(map(ctx, 0x120000, 8 * PG, 0x7f0000200000, RW), 0);
	h = tracking_hwpt(ctx);
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x100000, PG), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x10f000, PG), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x121000, PG), 0);
	/* the two touching areas are walked; the one after the gap is not */
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 0x28000, PG, 0, bits, 4), 0);
	assert_int_equal(bits[0], (1ull << 0) | (1ull << 15));
	/* a request starting in the gap walks nothing, and says nothing */
	assert_int_equal(get_bitmap(ctx, h, 0x110000, 0x18000, PG, 0, bits, 4), 0);
	assert_int_equal(bits[0], 0);
	/* the third area kept its dirty page */
	assert_int_equal(get_bitmap(ctx, h, 0x120000, 8 * PG, PG, 0, bits, 4), 0);
	assert_int_equal(bits[0], 1ull << 1);
	dmakit_iommufd_close(ctx);
}

/* Enabling starts a clean snapshot; disabled tracking reports nothing;
 * dirty bits are per domain; bits are ORed into the caller's array; a
 * bitmap the kernel cannot pin loses the bits but the IOPTEs are cleared. */
static void test_enable_clears_and_bits_are_per_domain(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	uint64_t bits[1];
	uint32_t h, other;

	(void)state;
	assert_int_equal(map(ctx, 0x100000, 16 * PG, 0x7f0000000000, RW), 0);
	h = tracking_hwpt(ctx);
	other = tracking_hwpt(ctx);
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(set_tracking(ctx, other, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x100000, PG), 0);
	/* enabling again (already on) clears */
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, NO_CLEAR, bits, 1), 0);
	assert_int_equal(bits[0], 0);
	/* the other domain saw nothing of h's writes */
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x102000, PG), 0);
	assert_int_equal(get_bitmap(ctx, other, 0x100000, 16 * PG, PG, 0, bits, 1), 0);
	assert_int_equal(bits[0], 0);
	/* ORed in: bits already set in the caller's array stay set */
	bits[0] = 1ull << 9;
	{
		struct dmakit_iommu_hwpt_get_dirty_bitmap g = {
			.size = sizeof(g), .hwpt_id = h, .flags = NO_CLEAR, .iova = 0x100000,
			.length = 16 * PG, .page_size = PG, .data = (uint64_t)(uintptr_t)bits,
		};

		assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &g), 0);
		assert_int_equal(bits[0], (1ull << 9) | (1ull << 2));
	}
	/* while tracking is off the domain reports nothing */
	assert_int_equal(set_tracking(ctx, h, 0), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, NO_CLEAR, bits, 1), 0);
	assert_int_equal(bits[0], 0);
	/* a bitmap the kernel cannot pin: success, the bits are lost and the
	 * IOPTEs cleared all the same */
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x103000, PG), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, NO_CLEAR, NULL, 0), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, NO_CLEAR, bits, 1), 0);
	assert_int_equal(bits[0], 1ull << 3);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, 0, NULL, 0), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 16 * PG, PG, 0, bits, 1), 0);
	assert_int_equal(bits[0], 0);
	dmakit_iommufd_close(ctx);
}

/* The bitmap's unit is the lowest set bit of page_size (iova_bitmap's
 * __ffs), so a page_size that is not a power of two counts in that unit; a
 * length of 0 at iova 0 passes the checks and covers the whole space. The
 * caller must size the array for it (docs/iommufd.md). */
static void test_bitmap_unit_and_the_length_zero_corner(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	uint64_t bits[16];
	uint32_t h;

	(void)state;
	assert_int_equal(map(ctx, 0x300000, 0x30000, 0x7f0000001000, RW), 0);
	h = tracking_hwpt(ctx);
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x306000, 1), 0);
	/* page_size 0x3000: both ends are multiples of it, bits per 4 KiB */
	assert_int_equal(get_bitmap(ctx, h, 0x300000, 0x30000, 0x3000, NO_CLEAR, bits, 16), 0);
	assert_int_equal(bits[0], 1ull << 6);
	/* iova 0, length 0: [0, UINT64_MAX]; the walk starts in the hole below
	 * the first area, so it reports nothing and clears nothing */
	assert_int_equal(get_bitmap(ctx, h, 0, 0, PG, 0, bits, 16), 0);
	assert_int_equal(popcount_range(bits, 0, 1023), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x300000, 0x30000, PG, 0, bits, 16), 0);
	assert_int_equal(bits[0], 1ull << 6);
	dmakit_iommufd_close(ctx);
}

/* IOPTE sizes are fixed when an area is first stored in a domain: turning
 * large pages back on does not remap it. A device that detaches leaves the
 * user HWPT with its dirty bits, and no device to write. */
static void test_ioptes_keep_their_size_and_detach(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	struct dmakit_iommu_option o = {
		.size = sizeof(o), .option_id = DMAKIT_IOMMU_OPTION_HUGE_PAGES,
		.op = DMAKIT_IOMMU_OPTION_OP_SET, .object_id = IOAS, .val64 = 0,
	};
	uint64_t bits[32];
	uint32_t h;

	(void)state;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_OPTION, &o), 0);
	assert_int_equal(map(ctx, 0x400000, 2 * MB2, 0x7f0000000000, RW), 0);
	h = tracking_hwpt(ctx);
	o.val64 = 1;
	assert_int_equal(dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_OPTION, &o), 0);
	/* a new area now gets 2 MiB IOPTEs; the old one keeps 4 KiB ones */
	assert_int_equal(map(ctx, 0x800000, MB2, 0x7f0000400000, RW), 0);
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x400000, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x800000, 1), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x400000, 3 * MB2, PG, NO_CLEAR, bits, 32), 0);
	assert_int_equal(popcount_range(bits, 0, 1023), 1);
	assert_int_equal(popcount_range(bits, 1024, 1535), 512);
	/* the device leaves: no more DMA, the dirty bits stay readable */
	assert_int_equal(dmakit_iommufd_detach_device(ctx, h), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x400000, 1), -ENODEV);
	assert_int_equal(get_bitmap(ctx, h, 0x400000, 3 * MB2, PG, 0, bits, 32), 0);
	assert_int_equal(popcount_range(bits, 0, 1535), 513);
	dmakit_iommufd_close(ctx);
}

static void test_dma_write_faults_and_unmap_drops_dirty_bits(void **state)
{
	struct dmakit_iommufd *ctx = open_ctx(true);
	uint64_t bits[1];
	uint32_t h = 0;

	(void)state;
	assert_int_equal(map(ctx, 0x100000, 4 * PG, 0x7f0000000000, RW), 0);
	assert_int_equal(map(ctx, 0x104000, 4 * PG, 0x7f0000100000, RO), 0);
	h = tracking_hwpt(ctx);
	assert_int_equal(set_tracking(ctx, h, 1), 0);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x100000, 0), -EINVAL);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, 99, 0x100000, 1), -ENOENT);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, IOAS, 0x100000, 1), -ENOENT);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x200000, 1), -EFAULT);
	/* read-only, and a write running from a writable area into it: the
	 * fault leaves nothing dirty */
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x104000, 1), -EFAULT);
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x103000, 2 * PG), -EFAULT);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 8 * PG, PG, NO_CLEAR, bits, 1), 0);
	assert_int_equal(bits[0], 0);
	/* unmapping takes the IOPTEs and their dirty bits */
	assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x101000, PG), 0);
	assert_int_equal(unmap(ctx, 0x100000, 4 * PG), 0);
	assert_int_equal(map(ctx, 0x100000, 4 * PG, 0x7f0000000000, RW), 0);
	assert_int_equal(get_bitmap(ctx, h, 0x100000, 8 * PG, PG, 0, bits, 1), 0);
	assert_int_equal(bits[0], 0);
	dmakit_iommufd_close(ctx);
}

/* A DMA write that runs out of memory half-way leaves the dirty state as it
 * was (a page dirty before stays dirty, nothing new is). */
static void test_dma_write_rolls_back_on_enomem(void **state)
{
	uint64_t k;

	(void)state;
	for (k = 1;; k++) {
		struct dmakit_iommufd *ctx = open_ctx(true);
		uint64_t bits[1];
		uint32_t h = 0;
		int ret;

		assert_int_equal(map(ctx, 0x100000, 64 * PG, 0x7f0000000000, RW), 0);
		h = tracking_hwpt(ctx);
		assert_int_equal(set_tracking(ctx, h, 1), 0);
		assert_int_equal(dmakit_iommufd_dma_write(ctx, h, 0x120000, PG), 0);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, k, 0);
		ret = dmakit_iommufd_dma_write(ctx, h, 0x100000, 64 * PG);
		if (!dmakit_fault_fired(DMAKIT_FAULT_ALLOC)) {
			dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
			assert_int_equal(ret, 0);
			assert_true(k > 1); /* 64 IOPTEs need new leaves */
			assert_int_equal(get_bitmap(ctx, h, 0x100000, 64 * PG, PG, 0, bits, 1), 0);
			assert_int_equal(bits[0], UINT64_MAX);
			dmakit_iommufd_close(ctx);
			return;
		}
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		assert_int_equal(ret, -ENOMEM);
		assert_int_equal(get_bitmap(ctx, h, 0x100000, 64 * PG, PG, 0, bits, 1), 0);
		assert_int_equal(bits[0], 1ull << 32);
		dmakit_iommufd_close(ctx);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hwpt_alloc_checks_in_kernel_order),
		cmocka_unit_test(test_hwpt_alloc_adds_a_domain_that_pins_and_reserves),
		cmocka_unit_test(test_destroy_rules_for_devices_and_hwpts),
		cmocka_unit_test(test_set_dirty_tracking_checks),
		cmocka_unit_test(test_get_dirty_bitmap_checks_in_order),
		cmocka_unit_test(test_dirty_bits_are_relative_to_iova_and_no_clear_keeps_them),
		cmocka_unit_test(test_a_write_dirties_whole_ioptes),
		cmocka_unit_test(test_the_walk_stops_at_the_first_gap),
		cmocka_unit_test(test_enable_clears_and_bits_are_per_domain),
		cmocka_unit_test(test_bitmap_unit_and_the_length_zero_corner),
		cmocka_unit_test(test_ioptes_keep_their_size_and_detach),
		cmocka_unit_test(test_the_msi_window_is_reserved_by_attached_devices),
		cmocka_unit_test(test_dma_write_faults_and_unmap_drops_dirty_bits),
		cmocka_unit_test(test_dma_write_rolls_back_on_enomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
