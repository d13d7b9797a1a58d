/* SPDX-License-Identifier: MIT */
/*
 * The trace parser (docs/trace-format.md, "Input"): what each line means, the
 * defaults of setup, numbers, comments, and the "FILE:LINE: message" answer to
 * malformed input with nothing returned.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <dmakit/trace.h>

static struct dmakit_trace *parse_ok(const char *text)
{
	struct dmakit_trace *t = NULL;
	char err[256];

	assert_int_equal(dmakit_trace_parse(text, strlen(text), "t.trace", &t, err, sizeof(err)), 0);
	assert_non_null(t);
	return t;
}

static void parse_err(const char *text, const char *message)
{
	struct dmakit_trace *t = NULL;
	char err[256];

	assert_int_equal(dmakit_trace_parse(text, strlen(text), "t.trace", &t, err, sizeof(err)),
			 -EINVAL);
	assert_null(t);
	assert_string_equal(err, message);
}

static void test_setup_defaults(void **state)
{
	struct dmakit_trace *t = parse_ok("setup\n");

	(void)state;
	assert_int_equal(t->setup.iommu_type, DMAKIT_VFIO_TYPE1v2_IOMMU);
	assert_int_equal(t->setup.limit, 65535);
	assert_int_equal(t->setup.buffer, 0x1000000);
	assert_int_equal(t->setup.kernel, DMAKIT_KERNEL_6_1);
	assert_int_equal(t->nr_steps, 0);
	dmakit_trace_free(t);
}

static void test_setup_keys(void **state)
{
	struct dmakit_trace *t = parse_ok("setup iommu=type1 limit=3 buffer=0x100000 kernel=6.18\n");

	(void)state;
	assert_int_equal(t->setup.iommu_type, DMAKIT_VFIO_TYPE1_IOMMU);
	assert_int_equal(t->setup.limit, 3);
	assert_int_equal(t->setup.buffer, 0x100000);
	assert_int_equal(t->setup.kernel, DMAKIT_KERNEL_6_18);
	dmakit_trace_free(t);
	t = parse_ok("setup kernel=6.12\n");
	assert_int_equal(t->setup.kernel, DMAKIT_KERNEL_6_12);
	dmakit_trace_free(t);
	parse_err("setup kernel=6.6\n",
		  "t.trace:1: setup: bad value '6.6' for kernel (expected 6.1, 6.12 or 6.18)");
}

static void test_operations_and_line_numbers(void **state)
{
	struct dmakit_trace *t = parse_ok(
		"# a comment\n"
		"\n"
		"setup   iommu=type1v2\t# trailing comment\n"
		"map iova=0x100000 size=4096 vaddr=0x0 prot=r\n"
		"map prot=w vaddr=0x1000 size=0x1000 iova=0x200000\n"
		"remap iova=0x100000 size=0x1000 vaddr=0x2000\n"
		"unmap iova=0x100000 size=0x1000\n"
		"unmap-all\n"
		"invalidate iova=0 size=0x1000\n"
		"invalidate-all\n"
		"info\n");

	(void)state;
	assert_int_equal(t->setup.line, 3);
	assert_int_equal(t->nr_steps, 8);
	assert_int_equal(t->steps[0].op, DMAKIT_TRACE_MAP);
	assert_int_equal(t->steps[0].line, 4);
	assert_int_equal(t->steps[0].iova, 0x100000);
	assert_int_equal(t->steps[0].size, 4096);
	assert_int_equal(t->steps[0].prot, DMAKIT_TRACE_PROT_READ);
	assert_int_equal(t->steps[1].prot, DMAKIT_TRACE_PROT_WRITE);
	assert_int_equal(t->steps[1].vaddr, 0x1000);
	assert_int_equal(t->steps[1].iova, 0x200000);
	assert_int_equal(t->steps[2].op, DMAKIT_TRACE_REMAP);
	assert_int_equal(t->steps[2].vaddr, 0x2000);
	assert_int_equal(t->steps[3].op, DMAKIT_TRACE_UNMAP);
	assert_int_equal(t->steps[4].op, DMAKIT_TRACE_UNMAP_ALL);
	assert_int_equal(t->steps[5].op, DMAKIT_TRACE_INVALIDATE);
	assert_int_equal(t->steps[6].op, DMAKIT_TRACE_INVALIDATE_ALL);
	assert_int_equal(t->steps[7].op, DMAKIT_TRACE_INFO);
	assert_int_equal(t->steps[7].line, 11);
	dmakit_trace_free(t);
}

static void test_numbers_are_u64_decimal_or_hex(void **state)
{
	struct dmakit_trace *t = parse_ok("setup\n"
					  "unmap iova=0xffffffffffffffff size=18446744073709551615\n"
					  "unmap iova=0X0 size=0xABCdef\n");

	(void)state;
	assert_true(t->steps[0].iova == UINT64_MAX);
	assert_true(t->steps[0].size == UINT64_MAX);
	assert_int_equal(t->steps[1].iova, 0);
	assert_int_equal(t->steps[1].size, 0xabcdef);
	dmakit_trace_free(t);

	parse_err("setup\nunmap iova=0x10000000000000000 size=1\n",
		  "t.trace:2: unmap: bad number '0x10000000000000000' for iova");
	parse_err("setup\nunmap iova=18446744073709551616 size=1\n",
		  "t.trace:2: unmap: bad number '18446744073709551616' for iova");
	parse_err("setup\nunmap iova=0x size=1\n", "t.trace:2: unmap: bad number '0x' for iova");
	parse_err("setup\nunmap iova=-1 size=1\n", "t.trace:2: unmap: bad number '-1' for iova");
	parse_err("setup\nunmap iova=4k size=1\n", "t.trace:2: unmap: bad number '4k' for iova");
	parse_err("setup\nunmap iova= size=1\n", "t.trace:2: unmap: bad number '' for iova");
}

static void test_malformed_lines(void **state)
{
	(void)state;
	parse_err("", "t.trace:1: no setup line: a trace starts with 'setup iommu=...'");
	parse_err("# only a comment\n", "t.trace:1: no setup line: a trace starts with 'setup iommu=...'");
	parse_err("info\n", "t.trace:1: the first operation must be setup, not 'info'");
	parse_err("setup\nsetup\n", "t.trace:2: setup given twice (first on line 1)");
	parse_err("setup\nmapp iova=0\n", "t.trace:2: unknown operation 'mapp'");
	parse_err("setup\nmap iova=0 size=0x1000 vaddr=0\n", "t.trace:2: map: missing key 'prot'");
	parse_err("setup\ninfo iova=0\n", "t.trace:2: info: unknown key 'iova'");
	parse_err("setup\nremap iova=0 size=0x1000 vaddr=0 prot=rw\n", "t.trace:2: remap: unknown key 'prot'");
	parse_err("setup\nunmap iova=0 size=1 size=2\n", "t.trace:2: unmap: key 'size' given twice");
	parse_err("setup limit=0x100000000\n",
		  "t.trace:1: setup: limit 0x100000000 is larger than the kernel's parameter can be (4294967295)");
	parse_err("setup buffer=0\n", "t.trace:1: setup: buffer 0 out of range (1 to 0x10000000000 bytes)");
	parse_err("setup turbo=1\n", "t.trace:1: setup: unknown key 'turbo'");
	parse_err("setup\nmap iova=0 size=0x1000 vaddr=0 prot=rwx\n",
		  "t.trace:2: map: bad value 'rwx' for prot (expected r, w or rw)");
	parse_err("setup\nunmap a b c d e f g h i j k l m n o p q\n", "t.trace:2: too many words (at most 16)");
}

/* The HWPT and dirty-tracking lines of iommufd traces. */
static void test_hwpt_and_dirty_lines(void **state)
{
	static const char text[] =
		"setup iommu=iommufd\n"
		"bind\n"
		"hwpt-alloc dev=2 pt=1 flags=dirty+pasid\n"
		"hwpt-alloc dev=2 pt=1 flags=0x10\n"
		"attach hwpt=3\n"
		"dirty-tracking hwpt=3 enable=no\n"
		"dma-write hwpt=3 iova=0x1000 size=0x10\n"
		"dirty-bitmap hwpt=3 iova=0 size=0x4000 page=0x1000 clear=no\n";
	struct dmakit_trace *t = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(dmakit_trace_parse(text, sizeof(text) - 1, "t.trace", &t, err, sizeof(err)), 0);
	assert_int_equal(t->nr_steps, 7);
	assert_int_equal(t->steps[0].op, DMAKIT_TRACE_BIND);
	assert_int_equal(t->steps[1].op, DMAKIT_TRACE_HWPT_ALLOC);
	assert_int_equal(t->steps[1].ioas, 2);  /* dev= */
	assert_int_equal(t->steps[1].ioas2, 1); /* pt= */
	assert_int_equal(t->steps[1].hwpt_flags,
			 DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING | DMAKIT_IOMMU_HWPT_ALLOC_PASID);
	assert_int_equal(t->steps[2].hwpt_flags, 0x10);
	assert_int_equal(t->steps[3].op, DMAKIT_TRACE_ATTACH);
	assert_int_equal(t->steps[3].ioas, 3);
	assert_false(t->steps[4].enable);
	assert_int_equal(t->steps[5].size, 0x10);
	assert_int_equal(t->steps[6].page_size, 0x1000);
	assert_true(t->steps[6].no_clear);
	dmakit_trace_free(t);

	parse_err("setup iommu=iommufd\nhwpt-alloc dev=2 pt=1 flags=dirty+\n",
		  "t.trace:2: hwpt-alloc: bad value 'dirty+' for flags");
	parse_err("setup iommu=iommufd\nhwpt-alloc dev=2 pt=1 flags=turbo\n",
		  "t.trace:2: hwpt-alloc: bad value 'turbo' for flags");
	parse_err("setup iommu=iommufd\nhwpt-alloc dev=2\n", "t.trace:2: hwpt-alloc: missing key 'pt'");
	parse_err("setup iommu=iommufd\nattach\n",
		  "t.trace:2: attach: give exactly one of ioas= and hwpt=");
	parse_err("setup iommu=iommufd\nattach ioas=1 hwpt=2\n",
		  "t.trace:2: attach: give exactly one of ioas= and hwpt=");
	parse_err("setup iommu=iommufd\ndirty-tracking hwpt=3 enable=1\n",
		  "t.trace:2: dirty-tracking: bad value '1' for enable");
	parse_err("setup iommu=iommufd\ndirty-bitmap hwpt=3 iova=0 size=0 page=0x1000\n",
		  "t.trace:2: dirty-bitmap: size must not be 0");
	parse_err("setup iommu=iommufd\ndirty-bitmap hwpt=3 iova=0 size=0x1000001000 page=0x1000\n",
		  "t.trace:2: dirty-bitmap: size / page is more than 16777216 bits");
}

static void test_nul_byte_is_rejected(void **state)
{
	static const char text[] = "setup\nin\0fo\n";
	struct dmakit_trace *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(dmakit_trace_parse(text, sizeof(text) - 1, "t.trace", &t, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.trace:2: NUL byte in line");
}

static void test_last_line_without_newline(void **state)
{
	struct dmakit_trace *t = parse_ok("setup\ninfo");

	(void)state;
	assert_int_equal(t->nr_steps, 1);
	assert_int_equal(t->steps[0].line, 2);
	dmakit_trace_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_defaults),
		cmocka_unit_test(test_setup_keys),
		cmocka_unit_test(test_operations_and_line_numbers),
		cmocka_unit_test(test_numbers_are_u64_decimal_or_hex),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_hwpt_and_dirty_lines),
		cmocka_unit_test(test_nul_byte_is_rejected),
		cmocka_unit_test(test_last_line_without_newline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
