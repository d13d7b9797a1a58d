/* SPDX-License-Identifier: MIT */
/*
 * The discard managers (include/dmakit/discard.h) on their own, heard through
 * a recording discard listener: virtio-mem's block-size rules and defaults,
 * THP detection, memslot decisions, guest requests (ACK/NACK/ERROR/BUSY),
 * dynamic memslots; guest_memfd conversions (nothing / whole / mixed, 4 KiB
 * granularity); replay and is-populated; one manager per region; and the
 * transactional notifications (a refusal changes nothing, other listeners
 * get the reverse).
 *
 * Each test is named after the rule of qemu-listener.md section 2 it checks.
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
#include <sys/stat.h>
#include <unistd.h>

#include "listener_fixture.h"

/* ------------------------------------------------------------------------ */
/* A recording discard listener                                               */

struct call {
	char op; /* 'p' populate, 'd' discard */
	uint64_t offset, gpa, size;
};

struct rec {
	struct dmakit_discard_listener dl;
	struct call calls[256];
	size_t n;
	int refuse_op;       /* 'p' or 'd': refuse the refuse_nth call of it */
	size_t refuse_nth;   /* 1-based; 0: never */
	size_t seen_p, seen_d;
};

static int rec_populate(struct dmakit_discard_listener *dl, const struct dmakit_section *part,
			char *err, size_t errlen)
{
	struct rec *r = dl->opaque;

	r->seen_p++;
	if (r->refuse_op == 'p' && r->seen_p == r->refuse_nth) {
		snprintf(err, errlen, "refused");
		return -ENOSPC;
	}
	assert_true(r->n < 256);
	r->calls[r->n++] = (struct call){ 'p', part->offset_in_region, part->gpa, part->size };
	return 0;
}

static int rec_discard(struct dmakit_discard_listener *dl, const struct dmakit_section *part,
		       char *err, size_t errlen)
{
	struct rec *r = dl->opaque;

	r->seen_d++;
	if (r->refuse_op == 'd' && r->seen_d == r->refuse_nth) {
		snprintf(err, errlen, "refused");
		return -EIO;
	}
	assert_true(r->n < 256);
	r->calls[r->n++] = (struct call){ 'd', part->offset_in_region, part->gpa, part->size };
	return 0;
}

static void rec_init(struct rec *r, struct dmakit_memory_region *mr, uint64_t owr, uint64_t gpa,
		     uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->dl.populate = rec_populate;
	r->dl.discard = rec_discard;
	r->dl.section = sect(mr, owr, gpa, size);
	r->dl.opaque = r;
}

#define call_eq(r, i, o, off, sz)                                              \
	do {                                                                   \
		assert_true((i) < (r)->n);                                     \
		assert_int_equal((r)->calls[i].op, (o));                       \
		assert_int_equal((r)->calls[i].offset, (off));                 \
		assert_int_equal((r)->calls[i].size, (sz));                    \
	} while (0)

/* ------------------------------------------------------------------------ */
/* virtio-mem: block size                                                     */

static void test_vmem_default_thp_size_per_arch(void **state)
{
	(void)state;
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_X86_64, 4096), 2 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_ARM, 4096), 2 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_PPC64, 65536), 2 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_AARCH64, 4096), 2 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_AARCH64, 16384), 32 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_AARCH64, 65536), 512 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_S390X, 4096), 1 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_thp_size(DMAKIT_ARCH_OTHER, 4096), 1 * MiB);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_vmem_thp_size_from_sysfs(void **state)
{
	char dir[] = "/tmp/dmakit-thp-XXXXXX", file[64], missing[80];
	bool fb = true;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/hpage_pmd_size", dir);
	snprintf(missing, sizeof(missing), "%s/nonexistent", dir);

	/* No THP directory: 1 MiB, "no restrictions", no warning. */
	assert_int_equal(dmakit_virtio_mem_thp_size(missing, DMAKIT_ARCH_X86_64, 4096, &fb), MiB);
	assert_false(fb);
	/* A directory without the file: the architecture's fallback, warned. */
	assert_int_equal(dmakit_virtio_mem_thp_size(dir, DMAKIT_ARCH_X86_64, 4096, &fb), 2 * MiB);
	assert_true(fb);
	write_file(file, "2097152\n");
	assert_int_equal(dmakit_virtio_mem_thp_size(dir, DMAKIT_ARCH_S390X, 4096, &fb), 2 * MiB);
	assert_false(fb);
	/* Any power of two is taken (older versions capped it at 16 MiB). */
	write_file(file, "33554432\n");
	assert_int_equal(dmakit_virtio_mem_thp_size(dir, DMAKIT_ARCH_X86_64, 4096, &fb), 32 * MiB);
	assert_false(fb);
	write_file(file, "3000000\n");
	assert_int_equal(dmakit_virtio_mem_thp_size(dir, DMAKIT_ARCH_X86_64, 4096, &fb), 2 * MiB);
	assert_true(fb);
	write_file(file, "garbage\n");
	assert_int_equal(dmakit_virtio_mem_thp_size(dir, DMAKIT_ARCH_AARCH64, 65536, &fb),
			 512 * MiB);
	assert_true(fb);
	unlink(file);
	rmdir(dir);
}

static void test_vmem_default_block_size_rule(void **state)
{
	(void)state;
	/* Ordinary memory: MAX(page, THP). */
	assert_int_equal(dmakit_virtio_mem_default_block_size(4096, 4096, 2 * MiB), 2 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_block_size(4096, 4096, 1 * MiB), 1 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_block_size(65536, 65536, 512 * MiB), 512 * MiB);
	/* hugetlbfs: MAX(page, 1 MiB) whatever the THP size. */
	assert_int_equal(dmakit_virtio_mem_default_block_size(2 * MiB, 4096, 32 * MiB), 2 * MiB);
	assert_int_equal(dmakit_virtio_mem_default_block_size(1 * GiB, 4096, 2 * MiB), 1 * GiB);
	assert_int_equal(dmakit_virtio_mem_default_block_size(64 * KiB, 4096, 2 * MiB), 1 * MiB);
}

static int try_create(uint64_t size, uint64_t block, uint64_t bps, uint64_t addr, uint64_t req,
		      char *warn, char *err, struct dmakit_virtio_mem **out)
{
	struct dmakit_virtio_mem_config cfg;
	struct dmakit_virtio_mem *vm = NULL;
	int ret;

	dmakit_virtio_mem_config_init(&cfg);
	cfg.region_size = size;
	cfg.block_size = block;
	cfg.backend_page_size = bps;
	cfg.addr = addr;
	cfg.requested_size = req;
	cfg.thp_size = 2 * MiB;
	ret = dmakit_virtio_mem_create(&cfg, &vm, warn, 256, err, 256);
	if (out)
		*out = vm;
	else
		dmakit_virtio_mem_destroy(vm);
	return ret;
}

static void test_vmem_block_size_rules(void **state)
{
	char warn[256], err[256];
	struct dmakit_virtio_mem *vm;
	struct dmakit_virtio_mem_info info;

	(void)state;
	/* A power of two ... */
	ret_eq(try_create(64 * MiB, 3 * MiB, 0, 0, 0, warn, err, NULL), -EINVAL);
	contains(err, "power of two");
	/* ... of at least 1 MiB ... */
	ret_eq(try_create(64 * MiB, 512 * KiB, 0, 0, 0, warn, err, NULL), -EINVAL);
	contains(err, "at least 1 MiB");
	/* ... and at least the backend's page (a 2 MiB hugetlbfs page). */
	ret_eq(try_create(64 * MiB, 1 * MiB, 2 * MiB, 0, 0, warn, err, NULL), -EINVAL);
	contains(err, "page size of the memory backend (2 MiB)");
	/* Sizes and address multiples of it. */
	ret_eq(try_create(64 * MiB, 4 * MiB, 0, 0, 2 * MiB, warn, err, NULL), -EINVAL);
	contains(err, "'requested-size'");
	ret_eq(try_create(64 * MiB, 4 * MiB, 0, 2 * MiB, 0, warn, err, NULL), -EINVAL);
	contains(err, "'addr'");
	ret_eq(try_create(66 * MiB, 4 * MiB, 0, 0, 0, warn, err, NULL), -EINVAL);
	contains(err, "'memdev' size");
	/* Below the default: accepted with a warning. */
	ok(try_create(64 * MiB, 1 * MiB, 0, 0, 0, warn, err, NULL));
	contains(warn, "below the recommended minimum of 2 MiB");
	/* The default: MAX(4 KiB page, 2 MiB THP). */
	ok(try_create(64 * MiB, 0, 0, 0, 0, warn, err, &vm));
	assert_string_equal(warn, "");
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.block_size, 2 * MiB);
	assert_int_equal(info.nb_memslots, 1);
	assert_int_equal(info.memslot_size, 64 * MiB);
	dmakit_virtio_mem_destroy(vm);
	/* hugetlbfs 1 GiB backend: default MAX(1 GiB, 1 MiB). */
	ok(try_create(4 * GiB, 0, 1 * GiB, 0, 0, warn, err, &vm));
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.block_size, 1 * GiB);
	dmakit_virtio_mem_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* virtio-mem: memslots                                                       */

static void decide(uint64_t region, uint64_t block, unsigned int limit, uint64_t want_size,
		   unsigned int want_nb)
{
	uint64_t ms = 0;
	unsigned int nb = 0;

	ok(dmakit_virtio_mem_decide_memslots(region, block, limit, &ms, &nb));
	assert_int_equal(ms, want_size);
	assert_int_equal(nb, want_nb);
}

static void test_vmem_memslot_decision(void **state)
{
	(void)state;
	/* 64 GiB / 256 = 256 MiB, raised to the 1 GiB minimum: 64 memslots. */
	decide(64 * GiB, 2 * MiB, 256, 1 * GiB, 64);
	/* 1 TiB / 256 = 4 GiB. */
	decide(1024 * GiB, 2 * MiB, 256, 4 * GiB, 256);
	/* A limit of 1 (fewer than 509 memslots): one memslot of everything. */
	decide(1024 * GiB, 2 * MiB, 1, 1024 * GiB, 1);
	decide(1024 * GiB, 2 * MiB, 0, 1024 * GiB, 1);
	/* 3.5 GiB: 1 GiB memslots, the last one half-size. */
	decide(3584 * MiB, 2 * MiB, 256, 1 * GiB, 4);
	/* A block above 1 GiB is the floor. */
	decide(8 * GiB, 2 * GiB, 256, 2 * GiB, 4);
	/* 1000 GiB / 300 = 3579139413, aligned up to 2 MiB = 3579838464; 300. */
	decide(1000 * GiB, 2 * MiB, 300, 3579838464ull, 300);
	/* Block not a power of two. */
	ret_eq(dmakit_virtio_mem_decide_memslots(GiB, 3 * MiB, 1, &(uint64_t){ 0 },
						 &(unsigned int){ 0 }), -EINVAL);
}

static void test_vmem_dynamic_memslots_need_unplugged_inaccessible(void **state)
{
	struct dmakit_virtio_mem_config cfg;
	struct dmakit_virtio_mem *vm = NULL;
	char err[256];

	(void)state;
	dmakit_virtio_mem_config_init(&cfg);
	cfg.region_size = 4 * GiB;
	cfg.thp_size = 2 * MiB;
	cfg.dynamic_memslots = true;
	cfg.unplugged_inaccessible = false;
	ret_eq(dmakit_virtio_mem_create(&cfg, &vm, NULL, 0, err, sizeof(err)), -EINVAL);
	contains(err, "unplugged-inaccessible");
}

/* Each active memslot is its own section, shown only while it holds a
 * plugged block. */
static void test_vmem_dynamic_memslots_are_sections(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(4 * GiB, 2 * MiB, 8 * GiB, 4 * GiB, true, 4);
	struct dmakit_address_space *as;
	struct dmakit_virtio_mem_info info;
	struct dmakit_section s;
	enum dmakit_virtio_mem_resp resp;

	(void)state;
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.memslot_size, 1 * GiB);
	assert_int_equal(info.nb_memslots, 4);
	ok(dmakit_as_create("sysmem", &as));
	ok(dmakit_virtio_mem_plug_device(vm, as, NULL, 0));
	assert_int_equal(dmakit_as_section_count(as), 0);

	/* Block 1024 is the first of memslot 2. */
	ok(vmem_req(vm, true, 1024, 2, &resp));
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ACK);
	assert_int_equal(dmakit_as_section_count(as), 1);
	ok(dmakit_as_section(as, 0, &s));
	assert_int_equal(s.gpa, 10 * GiB);
	assert_int_equal(s.offset_in_region, 2 * GiB);
	assert_int_equal(s.size, 1 * GiB);
	/* Spanning memslots 0 and 1 activates both. */
	ok(vmem_req(vm, true, 511, 2, &resp));
	assert_int_equal(dmakit_as_section_count(as), 3);
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.active_memslots, 3);
	assert_int_equal(info.plugged_size, 8 * MiB);
	/* Unplugging a memslot's last block takes it away. */
	ok(vmem_req(vm, false, 1024, 2, &resp));
	assert_int_equal(dmakit_as_section_count(as), 2);
	ok(dmakit_virtio_mem_unplug_all(vm, &resp, NULL, 0));
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ACK);
	assert_int_equal(dmakit_as_section_count(as), 0);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(as);
}

/* ------------------------------------------------------------------------ */
/* virtio-mem: requests                                                       */

static void test_vmem_request_responses(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(1 * GiB, 2 * MiB, 4 * GiB, 8 * MiB, false, 0);
	struct dmakit_virtio_mem_info info;
	enum dmakit_virtio_mem_resp resp;
	struct rec r;

	(void)state;
	rec_init(&r, dmakit_virtio_mem_region(vm), 0, 4 * GiB, 1 * GiB);
	ok(dmakit_discard_register_listener(dmakit_virtio_mem_manager(vm), &r.dl, NULL, 0));
	assert_int_equal(r.n, 0);

	ok(vmem_req(vm, true, 2, 3, &resp));
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ACK);
	assert_int_equal(r.n, 1);
	call_eq(&r, 0, 'p', 4 * MiB, 6 * MiB);
	assert_int_equal(r.calls[0].gpa, 4 * GiB + 4 * MiB);
	/* 6 MiB plugged, 8 requested: 2 more blocks is NACK (before range checks). */
	ret_eq(vmem_req(vm, true, 10, 2, &resp), -ENOSPC);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_NACK);
	/* Plugging a plugged block, unplugging an unplugged one: ERROR. */
	ret_eq(vmem_req(vm, true, 4, 1, &resp), -EINVAL);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ERROR);
	ret_eq(vmem_req(vm, false, 0, 1, &resp), -EINVAL);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ERROR);
	/* Misaligned address. */
	ret_eq(dmakit_virtio_mem_request(vm, true, 4 * GiB + 4096, 1, &resp, NULL, 0), -EINVAL);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ERROR);
	/* Usable region: MIN(1 GiB, 8 MiB + 256 MiB) = 264 MiB; block 132 is
	 * its first byte past. */
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.usable_region_size, 264 * MiB);
	ret_eq(vmem_req(vm, true, 132, 1, &resp), -EINVAL);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ERROR);
	ok(vmem_req(vm, true, 131, 1, &resp));
	assert_int_equal(r.n, 2);
	/* Unplug: one discard of the range. */
	ok(vmem_req(vm, false, 2, 3, &resp));
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_ACK);
	assert_int_equal(r.n, 3);
	call_eq(&r, 2, 'd', 4 * MiB, 6 * MiB);
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.plugged_size, 2 * MiB);
	assert_true(dmakit_virtio_mem_block_plugged(vm, 131));
	assert_false(dmakit_virtio_mem_block_plugged(vm, 2));

	ok(dmakit_discard_unregister_listener(&r.dl, NULL, 0));
	/* Unregistering: one discard of the whole section (double discard). */
	call_eq(&r, 3, 'd', 0, 1 * GiB);
	dmakit_virtio_mem_destroy(vm);
}

static void test_vmem_register_replays_plugged_runs(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 0, 64 * MiB, false, 0);
	struct rec r;

	(void)state;
	ok(vmem_req(vm, true, 0, 2, NULL));
	ok(vmem_req(vm, true, 3, 1, NULL));
	ok(vmem_req(vm, true, 5, 3, NULL));
	/* A section showing region bytes [2 MiB, 14 MiB): runs clipped to it. */
	rec_init(&r, dmakit_virtio_mem_region(vm), 2 * MiB, 1 * GiB, 12 * MiB);
	ok(dmakit_discard_register_listener(dmakit_virtio_mem_manager(vm), &r.dl, NULL, 0));
	assert_int_equal(r.n, 3);
	call_eq(&r, 0, 'p', 2 * MiB, 2 * MiB);
	assert_int_equal(r.calls[0].gpa, 1 * GiB);
	call_eq(&r, 1, 'p', 6 * MiB, 2 * MiB);
	call_eq(&r, 2, 'p', 10 * MiB, 4 * MiB);
	assert_int_equal(r.calls[2].gpa, 1 * GiB + 8 * MiB);
	ok(dmakit_discard_unregister_listener(&r.dl, NULL, 0));
	dmakit_virtio_mem_destroy(vm);
}

/* A refused replay: one discard of the whole section, not registered. */
static void test_vmem_register_refused_discards_whole_section(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 0, 64 * MiB, false, 0);
	struct rec r;

	(void)state;
	ok(vmem_req(vm, true, 0, 1, NULL));
	ok(vmem_req(vm, true, 4, 1, NULL));
	rec_init(&r, dmakit_virtio_mem_region(vm), 0, 0, 64 * MiB);
	r.refuse_op = 'p';
	r.refuse_nth = 2;
	ret_eq(dmakit_discard_register_listener(dmakit_virtio_mem_manager(vm), &r.dl, NULL, 0),
	       -ENOSPC);
	assert_int_equal(r.n, 2);
	call_eq(&r, 0, 'p', 0, 2 * MiB);
	call_eq(&r, 1, 'd', 0, 64 * MiB);
	dmakit_virtio_mem_destroy(vm);
}

/* virtio_mem_notify_plug(): a refusal makes the listeners already told
 * discard, the guest gets BUSY, nothing changes. */
static void test_vmem_refused_plug_changes_nothing(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 0, 64 * MiB, false, 0);
	struct dmakit_virtio_mem_info info;
	enum dmakit_virtio_mem_resp resp;
	struct rec a, b;

	(void)state;
	rec_init(&a, dmakit_virtio_mem_region(vm), 0, 0, 32 * MiB);
	rec_init(&b, dmakit_virtio_mem_region(vm), 32 * MiB, 32 * MiB, 32 * MiB);
	ok(dmakit_discard_register_listener(dmakit_virtio_mem_manager(vm), &a.dl, NULL, 0));
	ok(dmakit_discard_register_listener(dmakit_virtio_mem_manager(vm), &b.dl, NULL, 0));
	b.refuse_op = 'p';
	b.refuse_nth = 1;
	/* Blocks 14..17 straddle both sections. */
	ret_eq(vmem_req(vm, true, 14, 4, &resp), -ENOSPC);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
	assert_int_equal(a.n, 2);
	call_eq(&a, 0, 'p', 28 * MiB, 4 * MiB);
	call_eq(&a, 1, 'd', 28 * MiB, 4 * MiB);
	assert_int_equal(b.n, 0);
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.plugged_size, 0);
	/* Next time it goes through. */
	ok(vmem_req(vm, true, 14, 4, &resp));
	assert_int_equal(b.n, 1);
	call_eq(&b, 0, 'p', 32 * MiB, 4 * MiB);

	/* A refused unplug: the first listener gets the plugged part back. */
	b.refuse_op = 'd';
	b.refuse_nth = 1;
	ret_eq(vmem_req(vm, false, 14, 4, &resp), -EIO);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
	call_eq(&a, 3, 'd', 28 * MiB, 4 * MiB);
	call_eq(&a, 4, 'p', 28 * MiB, 4 * MiB);
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.plugged_size, 8 * MiB);

	/* UNPLUG_ALL: one whole-section discard each; refused on b: a gets
	 * its plugged runs back. */
	b.refuse_nth = 2;
	ret_eq(dmakit_virtio_mem_unplug_all(vm, &resp, NULL, 0), -EIO);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
	call_eq(&a, 5, 'd', 0, 32 * MiB);
	call_eq(&a, 6, 'p', 28 * MiB, 4 * MiB);
	b.refuse_op = 0;
	ok(dmakit_virtio_mem_unplug_all(vm, &resp, NULL, 0));
	call_eq(&a, 7, 'd', 0, 32 * MiB);
	call_eq(&b, b.n - 1, 'd', 32 * MiB, 32 * MiB);
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.plugged_size, 0);
	ok(dmakit_discard_unregister_listener(&a.dl, NULL, 0));
	ok(dmakit_discard_unregister_listener(&b.dl, NULL, 0));
	dmakit_virtio_mem_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* Common interface                                                           */

static int count_cb(void *opaque, uint64_t offset, uint64_t size)
{
	uint64_t *acc = opaque;

	acc[0]++;
	acc[1] += size;
	(void)offset;
	return 0;
}

static void test_is_populated_widens_to_granules(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 0, 64 * MiB, false, 0);
	struct dmakit_discard_manager *dm = dmakit_virtio_mem_manager(vm);
	uint64_t acc[2] = { 0, 0 };

	(void)state;
	ok(vmem_req(vm, true, 1, 1, NULL));
	assert_int_equal(dmakit_discard_granularity(dm), 2 * MiB);
	assert_int_equal(dmakit_discard_kind(dm), DMAKIT_DISCARD_VIRTIO_MEM);
	assert_true(dmakit_discard_is_populated(dm, 2 * MiB + 4096, 4096));
	assert_true(dmakit_discard_is_populated(dm, 2 * MiB, 2 * MiB));
	assert_false(dmakit_discard_is_populated(dm, 2 * MiB - 4096, 8192));
	assert_false(dmakit_discard_is_populated(dm, 4 * MiB - 1, 2));
	assert_false(dmakit_discard_is_populated(dm, 64 * MiB, 4096));
	/* Discarded runs of [0, 64 MiB): [0, 2) and [4, 64) MiB. */
	ok(dmakit_discard_replay_discarded(dm, 0, 64 * MiB, count_cb, acc));
	assert_int_equal(acc[0], 2);
	assert_int_equal(acc[1], 62 * MiB);
	ret_eq(dmakit_discard_replay_populated(dm, 60 * MiB, 8 * MiB, count_cb, acc), -EINVAL);
	dmakit_virtio_mem_destroy(vm);
}

/* memory_region_set_ram_discard_manager(): one manager per region, and only
 * while the region is not mapped. */
static void test_one_discard_manager_per_region(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 0, 0, false, 0);
	struct dmakit_memory_region *ram = new_mr("ram", DMAKIT_MR_RAM, 64 * MiB, HVA_RAM);
	struct dmakit_address_space *as;
	struct dmakit_guest_memfd *gm = NULL, *gm2 = NULL;

	(void)state;
	ret_eq(dmakit_guest_memfd_create(dmakit_virtio_mem_region(vm), 0, &gm), -EBUSY);
	ok(dmakit_as_create("sysmem", &as));
	add_sec(as, ram, 0, 0, 64 * MiB);
	ret_eq(dmakit_guest_memfd_create(ram, 0, &gm), -EBUSY);
	ok(dmakit_as_del_section(as, 0, NULL, 0));
	ok(dmakit_guest_memfd_create(ram, 0, &gm));
	ret_eq(dmakit_guest_memfd_create(ram, 0, &gm2), -EBUSY);
	ret_eq(dmakit_mr_destroy(ram), -EBUSY);
	ok(dmakit_guest_memfd_destroy(gm));
	ok(dmakit_mr_destroy(ram));
	dmakit_as_destroy(as);
	dmakit_virtio_mem_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* guest_memfd                                                                */

struct gmfx {
	struct dmakit_memory_region *mr;
	struct dmakit_guest_memfd *gm;
	struct rec r;
};

static void gm_setup(struct gmfx *f, uint64_t size)
{
	f->mr = new_mr("cvm.ram", DMAKIT_MR_RAM, size, HVA_GMEM);
	ok(dmakit_guest_memfd_create(f->mr, 0, &f->gm));
	rec_init(&f->r, f->mr, 0, 0x100000000ull, size);
	ok(dmakit_discard_register_listener(dmakit_guest_memfd_manager(f->gm), &f->r.dl, NULL, 0));
}

static void gm_teardown(struct gmfx *f)
{
	ok(dmakit_discard_unregister_listener(&f->r.dl, NULL, 0));
	ok(dmakit_guest_memfd_destroy(f->gm));
	ok(dmakit_mr_destroy(f->mr));
}

static void test_gmfd_granularity_is_host_page_all_private(void **state)
{
	struct gmfx f;

	(void)state;
	gm_setup(&f, 16 * MiB);
	assert_int_equal(dmakit_discard_granularity(dmakit_guest_memfd_manager(f.gm)), 4096);
	assert_int_equal(dmakit_discard_kind(dmakit_guest_memfd_manager(f.gm)),
			 DMAKIT_DISCARD_GUEST_MEMFD);
	assert_int_equal(dmakit_guest_memfd_shared_bytes(f.gm), 0);
	assert_int_equal(f.r.n, 0); /* nothing shared: the replay is empty */
	gm_teardown(&f);
}

static void convert(struct gmfx *f, uint64_t off, uint64_t size, bool to_private,
		    enum dmakit_gmfd_case which, uint64_t notes, uint64_t pages)
{
	struct dmakit_gmfd_result res;

	ok(dmakit_guest_memfd_convert(f->gm, off, size, to_private, &res, NULL, 0));
	assert_int_equal(res.which, which);
	assert_int_equal(res.notifications, notes);
	assert_int_equal(res.pages_changed, pages);
}

static void test_gmfd_conversions_whole_nothing_mixed(void **state)
{
	struct gmfx f;
	size_t i;

	(void)state;
	gm_setup(&f, 16 * MiB);
	/* All private -> shared: one populate for the whole range. */
	convert(&f, 0, 64 * KiB, false, DMAKIT_GMFD_WHOLE, 1, 16);
	call_eq(&f.r, 0, 'p', 0, 64 * KiB);
	assert_int_equal(f.r.calls[0].gpa, 0x100000000ull);
	/* Already shared: nothing. */
	convert(&f, 0, 64 * KiB, false, DMAKIT_GMFD_NOTHING, 0, 0);
	assert_int_equal(f.r.n, 1);
	/* All shared -> private: one discard for the whole range. */
	convert(&f, 16 * KiB, 16 * KiB, true, DMAKIT_GMFD_WHOLE, 1, 4);
	call_eq(&f.r, 1, 'd', 16 * KiB, 16 * KiB);
	/* Mixed -> shared: one populate per private page, ascending. */
	convert(&f, 0, 64 * KiB, false, DMAKIT_GMFD_MIXED, 4, 4);
	assert_int_equal(f.r.n, 6);
	for (i = 0; i < 4; i++)
		call_eq(&f.r, 2 + i, 'p', 16 * KiB + i * 4096, 4096);
	assert_true(dmakit_guest_memfd_is_shared(f.gm, 0, 64 * KiB));
	/* Mixed -> private: one discard per shared page. */
	convert(&f, 56 * KiB, 16 * KiB, true, DMAKIT_GMFD_MIXED, 2, 2);
	call_eq(&f.r, 6, 'd', 56 * KiB, 4096);
	call_eq(&f.r, 7, 'd', 60 * KiB, 4096);
	assert_int_equal(dmakit_guest_memfd_shared_bytes(f.gm), 56 * KiB);
	/* Already private: nothing. */
	convert(&f, 1 * MiB, 4096, true, DMAKIT_GMFD_NOTHING, 0, 0);
	/* A single 4 KiB page. */
	convert(&f, 8 * MiB, 4096, false, DMAKIT_GMFD_WHOLE, 1, 1);
	call_eq(&f.r, 8, 'p', 8 * MiB, 4096);
	assert_int_equal(dmakit_guest_memfd_shared_bytes(f.gm), 60 * KiB);
	gm_teardown(&f);
}

static void test_gmfd_invalid_ranges(void **state)
{
	struct gmfx f;

	(void)state;
	gm_setup(&f, 16 * MiB);
	ret_eq(dmakit_guest_memfd_convert(f.gm, 2048, 4096, false, NULL, NULL, 0), -EINVAL);
	ret_eq(dmakit_guest_memfd_convert(f.gm, 0, 6144, false, NULL, NULL, 0), -EINVAL);
	ret_eq(dmakit_guest_memfd_convert(f.gm, 0, 0, false, NULL, NULL, 0), -EINVAL);
	ret_eq(dmakit_guest_memfd_convert(f.gm, 16 * MiB - 4096, 8192, false, NULL, NULL, 0),
	       -EINVAL);
	ret_eq(dmakit_guest_memfd_convert(f.gm, UINT64_MAX - 4095, 8192, false, NULL, NULL, 0),
	       -EINVAL);
	assert_int_equal(f.r.n, 0);
	gm_teardown(&f);
}

/* A refused conversion changes nothing (QEMU 10.1 would leave the bitmap
 * half-converted): whole case, and mixed case with the pages already
 * notified notified back. */
static void test_gmfd_refused_conversion_changes_nothing(void **state)
{
	struct dmakit_gmfd_result res;
	struct gmfx f;

	(void)state;
	gm_setup(&f, 16 * MiB);
	f.r.refuse_op = 'p';
	f.r.refuse_nth = 1;
	ret_eq(dmakit_guest_memfd_convert(f.gm, 0, 32 * KiB, false, &res, NULL, 0), -ENOSPC);
	assert_int_equal(f.r.n, 0);
	assert_int_equal(dmakit_guest_memfd_shared_bytes(f.gm), 0);

	f.r.refuse_op = 0;
	convert(&f, 4 * KiB, 4 * KiB, false, DMAKIT_GMFD_WHOLE, 1, 1);
	convert(&f, 12 * KiB, 4 * KiB, false, DMAKIT_GMFD_WHOLE, 1, 1);
	/* [0, 32 KiB) is mixed: private pages 0, 2, 4, 5, 6, 7. Refuse the
	 * third populate (page 4): pages 0 and 2 are discarded back. */
	f.r.refuse_op = 'p';
	f.r.refuse_nth = f.r.seen_p + 3;
	ret_eq(dmakit_guest_memfd_convert(f.gm, 0, 32 * KiB, false, &res, NULL, 0), -ENOSPC);
	assert_int_equal(f.r.n, 6);
	call_eq(&f.r, 2, 'p', 0, 4096);
	call_eq(&f.r, 3, 'p', 8 * KiB, 4096);
	call_eq(&f.r, 4, 'd', 0, 4096);
	call_eq(&f.r, 5, 'd', 8 * KiB, 4096);
	assert_int_equal(dmakit_guest_memfd_shared_bytes(f.gm), 8 * KiB);
	assert_true(dmakit_guest_memfd_is_shared(f.gm, 4 * KiB, 4096));
	assert_false(dmakit_guest_memfd_is_shared(f.gm, 0, 4096));

	/* Mixed to private, refusing the second discard: page 1 comes back. */
	f.r.refuse_op = 'd';
	f.r.refuse_nth = f.r.seen_d + 2;
	ret_eq(dmakit_guest_memfd_convert(f.gm, 0, 32 * KiB, true, &res, NULL, 0), -EIO);
	call_eq(&f.r, 6, 'd', 4 * KiB, 4096);
	call_eq(&f.r, 7, 'p', 4 * KiB, 4096);
	assert_int_equal(dmakit_guest_memfd_shared_bytes(f.gm), 8 * KiB);
	f.r.refuse_op = 0;
	gm_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmem_default_thp_size_per_arch),
		cmocka_unit_test(test_vmem_thp_size_from_sysfs),
		cmocka_unit_test(test_vmem_default_block_size_rule),
		cmocka_unit_test(test_vmem_block_size_rules),
		cmocka_unit_test(test_vmem_memslot_decision),
		cmocka_unit_test(test_vmem_dynamic_memslots_need_unplugged_inaccessible),
		cmocka_unit_test(test_vmem_dynamic_memslots_are_sections),
		cmocka_unit_test(test_vmem_request_responses),
		cmocka_unit_test(test_vmem_register_replays_plugged_runs),
		cmocka_unit_test(test_vmem_register_refused_discards_whole_section),
		cmocka_unit_test(test_vmem_refused_plug_changes_nothing),
		cmocka_unit_test(test_is_populated_widens_to_granules),
		cmocka_unit_test(test_one_discard_manager_per_region),
		cmocka_unit_test(test_gmfd_granularity_is_host_page_all_private),
		cmocka_unit_test(test_gmfd_conversions_whole_nothing_mixed),
		cmocka_unit_test(test_gmfd_invalid_ranges),
		cmocka_unit_test(test_gmfd_refused_conversion_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
