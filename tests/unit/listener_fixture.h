/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the listener tests (test_listener.c,
 * test_listener_faults.c): an emulated container, snapshots of what it
 * holds, and assertions that name errno values. Include after <cmocka.h>.
 *
 * Addresses: guest RAM is placed in the emulator's valid IOVA ranges
 * ([0, 0xfedfffff] and [0xfef00000, 0x7fffffffff]); host addresses are
 * made-up page-aligned user addresses (nothing is declared to the
 * emulator, so every vaddr pins).
 */
#ifndef DMAKIT_TEST_LISTENER_FIXTURE_H
#define DMAKIT_TEST_LISTENER_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/container.h>
#include <dmakit/discard.h>
#include <dmakit/fault.h>
#include <dmakit/guest_memory.h>
#include <dmakit/listener.h>

#define FX_UNUSED __attribute__((unused))

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define PG 4096ull
#define F_R DMAKIT_VFIO_DMA_MAP_FLAG_READ
#define F_RW (DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE)

/* Host addresses of the test regions. */
#define HVA_RAM 0x7f0000000000ull
#define HVA_VMEM 0x7f4000000000ull
#define HVA_GMEM 0x7f6000000000ull
#define HVA_BAR 0x7f7000000000ull

static FX_UNUSED void check_ret_(long got, long want, const char *what, const char *file,
				 int line)
{
	if (got != want) {
		print_error("%s\n  returned %s (%ld), expected %s (%ld)\n", what,
			    dmakit_errno_name((int)got), got, dmakit_errno_name((int)want), want);
		_fail(file, line);
	}
}

#define ret_eq(expr, want) check_ret_((long)(expr), (long)(want), #expr, __FILE__, __LINE__)
#define ok(expr) ret_eq(expr, 0)

static FX_UNUSED void check_contains_(const char *hay, const char *needle, const char *file,
				      int line)
{
	if (!strstr(hay, needle)) {
		print_error("message \"%s\"\n  does not contain \"%s\"\n", hay, needle);
		_fail(file, line);
	}
}

#define contains(hay, needle) check_contains_((hay), (needle), __FILE__, __LINE__)

/* An emulated type1v2 container with @limit DMA entries. */
static FX_UNUSED struct dmakit_container *open_emu(uint32_t limit)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c = NULL;

	dmakit_container_config_init(&cfg);
	cfg.dma_entry_limit = limit;
	cfg.model_page_tables = false;
	ok(dmakit_container_open(&cfg, &c));
	return c;
}

/* What a container holds: its mappings in order, and DMA_AVAIL. */
#define SNAP_MAX 4096
struct snap {
	size_t n;
	bool truncated;
	struct dmakit_mapping m[SNAP_MAX];
	uint32_t dma_avail;
};

static FX_UNUSED void take_snap(struct dmakit_container *c, struct snap *s)
{
	struct dmakit_type1_info info;
	uint64_t addr = 0;

	s->n = 0;
	s->truncated = false;
	while (dmakit_container_seek_mapping(c, addr, &s->m[s->n]) == 0) {
		const struct dmakit_mapping *m = &s->m[s->n];

		addr = m->iova + m->size;
		if (++s->n == SNAP_MAX) {
			s->truncated = true;
			break;
		}
		if (!addr)
			break;
	}
	ok(dmakit_container_query_info(c, &info));
	assert_true(info.has_dma_avail);
	s->dma_avail = info.dma_avail;
}

static FX_UNUSED bool snap_equal(const struct snap *a, const struct snap *b, char *why,
				 size_t len)
{
	size_t i;

	if (a->dma_avail != b->dma_avail) {
		snprintf(why, len, "DMA_AVAIL %u != %u", a->dma_avail, b->dma_avail);
		return false;
	}
	if (a->n != b->n) {
		snprintf(why, len, "%zu mappings != %zu", a->n, b->n);
		return false;
	}
	for (i = 0; i < a->n; i++) {
		const struct dmakit_mapping *x = &a->m[i], *y = &b->m[i];

		/* An invalidated vaddr is stale and never used: not compared. */
		if (x->iova != y->iova || x->size != y->size ||
		    (x->vaddr_valid && x->vaddr != y->vaddr) ||
		    x->flags != y->flags || x->vaddr_valid != y->vaddr_valid) {
			snprintf(why, len,
				 "mapping %zu: 0x%llx+0x%llx va 0x%llx f%u v%d != "
				 "0x%llx+0x%llx va 0x%llx f%u v%d", i,
				 (unsigned long long)x->iova, (unsigned long long)x->size,
				 (unsigned long long)x->vaddr, x->flags, x->vaddr_valid,
				 (unsigned long long)y->iova, (unsigned long long)y->size,
				 (unsigned long long)y->vaddr, y->flags, y->vaddr_valid);
			return false;
		}
	}
	return true;
}

#define assert_snap_equal(a, b)                                                   \
	do {                                                                      \
		char why_[256];                                                   \
		if (!snap_equal((a), (b), why_, sizeof(why_))) {                  \
			print_error("container changed: %s\n", why_);             \
			fail();                                                   \
		}                                                                 \
	} while (0)

static FX_UNUSED void verify_ok(struct dmakit_listener *l)
{
	char err[512] = "";
	int ret = dmakit_listener_verify(l, err, sizeof(err));

	if (ret != 0) {
		print_error("verify: %s (%s)\n", dmakit_errno_name(ret), err);
		fail();
	}
}

/* The @i-th mapping of the container (0-based); fails the test if absent. */
static FX_UNUSED struct dmakit_mapping nth_mapping(struct dmakit_container *c, size_t i)
{
	struct dmakit_mapping m = { 0 };
	uint64_t addr = 0;
	size_t k;

	for (k = 0; k <= i; k++) {
		ok(dmakit_container_seek_mapping(c, addr, &m));
		addr = m.iova + m.size;
	}
	return m;
}

static FX_UNUSED uint64_t nr_mappings(struct dmakit_container *c)
{
	struct dmakit_container_stats st;

	ok(dmakit_container_stats(c, &st));
	return st.mappings;
}

static FX_UNUSED struct dmakit_memory_region *new_mr(const char *name, enum dmakit_mr_kind kind,
						    uint64_t size, uint64_t hva)
{
	struct dmakit_mr_config cfg;
	struct dmakit_memory_region *mr = NULL;

	dmakit_mr_config_init(&cfg);
	cfg.name = name;
	cfg.kind = kind;
	cfg.size = size;
	cfg.hva = hva;
	ok(dmakit_mr_create(&cfg, &mr));
	return mr;
}

static FX_UNUSED struct dmakit_section sect(struct dmakit_memory_region *mr, uint64_t owr,
					    uint64_t gpa, uint64_t size)
{
	struct dmakit_section s = { .mr = mr, .offset_in_region = owr, .gpa = gpa, .size = size };

	return s;
}

static FX_UNUSED void add_sec(struct dmakit_address_space *as, struct dmakit_memory_region *mr,
			      uint64_t owr, uint64_t gpa, uint64_t size)
{
	struct dmakit_section s = sect(mr, owr, gpa, size);
	char err[512] = "";
	int ret = dmakit_as_add_section(as, &s, err, sizeof(err));

	if (ret) {
		print_error("add_section: %s (%s)\n", dmakit_errno_name(ret), err);
		fail();
	}
}

/* A virtio-mem device: @size bytes of @block at @addr, @req requested. */
static FX_UNUSED struct dmakit_virtio_mem *new_vmem(uint64_t size, uint64_t block, uint64_t addr,
						   uint64_t req, bool dynamic, unsigned int limit)
{
	struct dmakit_virtio_mem_config cfg;
	struct dmakit_virtio_mem *vm = NULL;
	char err[256] = "";
	int ret;

	dmakit_virtio_mem_config_init(&cfg);
	cfg.name = "vmem0";
	cfg.region_size = size;
	cfg.block_size = block;
	cfg.addr = addr;
	cfg.hva = HVA_VMEM;
	cfg.requested_size = req;
	cfg.thp_size = 2 * MiB;
	cfg.dynamic_memslots = dynamic;
	cfg.memslot_limit = limit;
	ret = dmakit_virtio_mem_create(&cfg, &vm, NULL, 0, err, sizeof(err));
	if (ret) {
		print_error("virtio_mem_create: %s (%s)\n", dmakit_errno_name(ret), err);
		fail();
	}
	return vm;
}

/* Guest request on @vm: plug or unplug @nb blocks from block @first. */
static FX_UNUSED int vmem_req(struct dmakit_virtio_mem *vm, bool plug, uint64_t first,
			      uint64_t nb, enum dmakit_virtio_mem_resp *resp)
{
	struct dmakit_virtio_mem_info info;

	dmakit_virtio_mem_info(vm, &info);
	return dmakit_virtio_mem_request(vm, plug, info.addr + first * info.block_size, nb, resp,
					 NULL, 0);
}

static FX_UNUSED struct dmakit_listener_config lcfg(enum dmakit_listener_strategy strategy,
						    uint32_t max_memslots)
{
	struct dmakit_listener_config cfg;

	dmakit_listener_config_init(&cfg);
	cfg.strategy = strategy;
	cfg.max_memslots = max_memslots;
	return cfg;
}

static FX_UNUSED struct dmakit_listener_stats lstats(struct dmakit_listener *l)
{
	struct dmakit_listener_stats st;

	ok(dmakit_listener_stats(l, &st));
	return st;
}

#endif /* DMAKIT_TEST_LISTENER_FIXTURE_H */
