/* SPDX-License-Identifier: MIT */
/* The interposer's pure parts: injection settings, GET_INFO reading, and the
 * DMA_AVAIL rewrite on a synthetic answer laid out as the 6.1 kernel does. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <dmakit/uapi.h>

#include "interpose_core.h"

/* info (24) | MIGRATION (32) @24 | DMA_AVAIL (16) @56 | IOVA_RANGE (16+32) @72 = 120 */
static size_t synth_info(uint8_t *b, uint32_t avail)
{
	struct dmakit_vfio_iommu_type1_info *i = (void *)b;
	struct dmakit_vfio_info_cap_header *h;
	struct dmakit_vfio_iommu_type1_info_cap_iova_range *r;

	memset(b, 0, 256);
	i->argsz = 120;
	i->flags = 3;
	i->iova_pgsizes = 0x40201000;
	i->cap_offset = 24;
	h = (void *)(b + 24);
	h->id = 2;
	h->version = 1;
	h->next = 56;
	h = (void *)(b + 56);
	h->id = 3;
	h->version = 1;
	h->next = 72;
	((struct dmakit_vfio_iommu_type1_info_dma_avail *)h)->avail = avail;
	r = (void *)(b + 72);
	r->header.id = 1;
	r->header.version = 1;
	r->nr_iovas = 2;
	r->iova_ranges[0].start = 0;
	r->iova_ranges[0].end = 0xfedfffff;
	r->iova_ranges[1].start = 0xfef00000;
	r->iova_ranges[1].end = 0x7fffffffff;
	return 120;
}

static void config_defaults_are_off(void **state)
{
	struct ip_inject_config c;

	(void)state;
	ip_inject_config_parse(&c, NULL, NULL, NULL);
	assert_int_equal(c.limit, -1);
	assert_int_equal(c.fail_map, 0);
	assert_int_equal(c.fail_unmap, 0);
}

static void config_parses_every_mode(void **state)
{
	struct ip_inject_config c;

	(void)state;
	ip_inject_config_parse(&c, "1000", "3:ENOSPC", "2");
	assert_int_equal(c.limit, 1000);
	assert_int_equal(c.fail_map, 3);
	assert_int_equal(c.fail_map_errno, ENOSPC);
	assert_int_equal(c.fail_unmap, 2);
	assert_int_equal(c.fail_unmap_errno, EINVAL);
	ip_inject_config_parse(&c, "0", "1", "4:14");
	assert_int_equal(c.limit, 0);
	assert_int_equal(c.fail_map_errno, EFAULT);
	assert_int_equal(c.fail_unmap_errno, EFAULT);
}

static void config_ignores_malformed_values(void **state)
{
	struct ip_inject_config c;

	(void)state;
	ip_inject_config_parse(&c, "-1", "0", "2:ENOTANERRNO");
	assert_int_equal(c.limit, -1);
	assert_int_equal(c.fail_map, 0);
	assert_int_equal(c.fail_unmap, 0);
	ip_inject_config_parse(&c, "12x", "x", "");
	assert_int_equal(c.limit, -1);
	assert_int_equal(c.fail_map, 0);
}

static void summary_reads_the_kernel_chain(void **state)
{
	uint8_t b[256];
	struct ip_info_summary s;

	(void)state;
	ip_info_summarize(b, synth_info(b, 65535), &s);
	assert_int_equal(s.avail, 65535);
	assert_int_equal(s.nr_ranges, 2);
	assert_int_equal(s.ranges[0][1], 0xfedfffff);
	assert_int_equal(s.ranges[1][0], 0xfef00000);
}

static void summary_of_a_truncated_answer_has_no_caps(void **state)
{
	uint8_t b[256];
	struct ip_info_summary s;

	(void)state;
	synth_info(b, 10);
	ip_info_summarize(b, 24, &s); /* the caller's argsz was too small */
	assert_int_equal(s.avail, -1);
	assert_int_equal(s.nr_ranges, 0);
	ip_info_summarize(b, 60, &s); /* DMA_AVAIL's header but not its value */
	assert_int_equal(s.avail, -1);
}

static void summary_survives_a_looping_chain(void **state)
{
	uint8_t b[256];
	struct ip_info_summary s;

	(void)state;
	synth_info(b, 7);
	((struct dmakit_vfio_info_cap_header *)(b + 24))->next = 24; /* loop on itself */
	ip_info_summarize(b, 120, &s);
	assert_int_equal(s.avail, -1);
}

static void rewrite_reports_what_is_left_of_the_injected_limit(void **state)
{
	uint8_t b[256];
	struct ip_info_summary s;

	(void)state;
	/* kernel: 65535 - 3 live; injected limit 5: 2 left */
	synth_info(b, 65532);
	assert_int_equal(ip_rewrite_avail(b, 120, 5, 3), 2);
	ip_info_summarize(b, 120, &s);
	assert_int_equal(s.avail, 2);
	/* over the limit: 0, never negative */
	synth_info(b, 65532);
	assert_int_equal(ip_rewrite_avail(b, 120, 2, 3), 0);
	/* the kernel has less left than the injected limit: the kernel wins */
	synth_info(b, 1);
	assert_int_equal(ip_rewrite_avail(b, 120, 100, 0), 1);
	/* no DMA_AVAIL: nothing to rewrite */
	synth_info(b, 1);
	assert_int_equal(ip_rewrite_avail(b, 24, 100, 0), -1);
}

static void errno_names_and_numbers(void **state)
{
	(void)state;
	assert_int_equal(ip_errno_parse("ENOSPC", 6), ENOSPC);
	assert_int_equal(ip_errno_parse("12", 2), 12);
	assert_int_equal(ip_errno_parse("EWHAT", 5), 0);
	assert_int_equal(ip_errno_parse("0", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_defaults_are_off),
		cmocka_unit_test(config_parses_every_mode),
		cmocka_unit_test(config_ignores_malformed_values),
		cmocka_unit_test(summary_reads_the_kernel_chain),
		cmocka_unit_test(summary_of_a_truncated_answer_has_no_caps),
		cmocka_unit_test(summary_survives_a_looping_chain),
		cmocka_unit_test(rewrite_reports_what_is_left_of_the_injected_limit),
		cmocka_unit_test(errno_names_and_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
