/* SPDX-License-Identifier: MIT */
/*
 * Failure atomicity of the listener: for every k, fail the k-th backend call
 * (with ENOSPC, then ENOMEM) and the k-th allocation of one operation --
 * registration, populate, discard, conversion, hotplug, hot-unplug, dynamic
 * memslot activation, UNPLUG_ALL, vIOMMU map, CPR restore -- and check that
 * the container holds exactly the mappings (iova, size, vaddr, flags, vaddr
 * validity) and the DMA_AVAIL it held before, that the model (plugged
 * blocks, shared pages, sections, memslots, translations) did not change,
 * that the listener's record still matches the container, and that the same
 * operation then succeeds and ends exactly where a run without faults ends.
 *
 * k runs from 1 until the operation completes without reaching the armed
 * point, so every failure point of the operation's call chain is visited.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "listener_fixture.h"

#define HVA_VMEM_C 0x7f5000000000ull
#define HVA_VMEM_D 0x7f5800000000ull
#define HVA_DIMM 0x7f7800000000ull

struct world {
	enum dmakit_listener_strategy strategy;
	struct dmakit_container *c;
	struct dmakit_address_space *as;   /* the listener's */
	struct dmakit_address_space *sys;  /* vIOMMU world: the target */
	struct dmakit_listener *l;
	struct dmakit_memory_region *ram, *rom, *gmr, *dimm, *iommu;
	struct dmakit_virtio_mem *vma, *vmc, *vmd;
	struct dmakit_guest_memfd *gm;
	bool viommu;
	char err[1024];
};

static struct dmakit_virtio_mem *mk_vmem(const char *name, uint64_t size, uint64_t addr,
					 uint64_t hva, bool dynamic)
{
	struct dmakit_virtio_mem_config cfg;
	struct dmakit_virtio_mem *vm = NULL;

	dmakit_virtio_mem_config_init(&cfg);
	cfg.name = name;
	cfg.region_size = size;
	cfg.block_size = 2 * MiB;
	cfg.addr = addr;
	cfg.hva = hva;
	cfg.requested_size = size;
	cfg.thp_size = 2 * MiB;
	cfg.dynamic_memslots = dynamic;
	cfg.memslot_limit = 4;
	ok(dmakit_virtio_mem_create(&cfg, &vm, NULL, 0, NULL, 0));
	return vm;
}

static int do_listen(struct world *w)
{
	struct dmakit_listener_config cfg = lcfg(w->strategy, DMAKIT_TCG_MAX_MEMSLOTS);

	return dmakit_listener_create(w->c, w->as, &cfg, &w->l, w->err, sizeof(w->err));
}

/*
 * sysmem: pc.ram 256 MiB at 0; a ROM; virtio-mem A (64 MiB, blocks 0-2, 5,
 * 9-10 plugged) at 1 GiB; guest_memfd RAM 16 MiB at 4 GiB (pages 0-3, 6,
 * 8-15 shared); virtio-mem D (4 GiB, dynamic memslots of 1 GiB, blocks 0-1
 * plugged) at 8 GiB. Not yet in: a DIMM and virtio-mem C (32 MiB, blocks
 * 0-3 plugged) for the hotplug cases.
 */
static void world_build(struct world *w, enum dmakit_listener_strategy strategy, bool listen)
{
	struct dmakit_mr_config cfg;

	memset(w, 0, sizeof(*w));
	w->strategy = strategy;
	w->c = open_emu(65535);
	ok(dmakit_as_create("sysmem", &w->as));
	w->ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	add_sec(w->as, w->ram, 0, 0, 256 * MiB);
	dmakit_mr_config_init(&cfg);
	cfg.name = "pc.bios";
	cfg.size = 256 * KiB;
	cfg.hva = HVA_BAR;
	cfg.readonly = true;
	ok(dmakit_mr_create(&cfg, &w->rom));
	add_sec(w->as, w->rom, 0, 0xfffc0000ull, 256 * KiB);

	w->vma = mk_vmem("vmem-a", 64 * MiB, 1 * GiB, HVA_VMEM, false);
	ok(vmem_req(w->vma, true, 0, 3, NULL));
	ok(vmem_req(w->vma, true, 5, 1, NULL));
	ok(vmem_req(w->vma, true, 9, 2, NULL));
	ok(dmakit_virtio_mem_plug_device(w->vma, w->as, NULL, 0));

	w->gmr = new_mr("cvm.ram", DMAKIT_MR_RAM, 16 * MiB, HVA_GMEM);
	ok(dmakit_guest_memfd_create(w->gmr, 0, &w->gm));
	add_sec(w->as, w->gmr, 0, 4 * GiB, 16 * MiB);
	ok(dmakit_guest_memfd_convert(w->gm, 0, 16 * KiB, false, NULL, NULL, 0));
	ok(dmakit_guest_memfd_convert(w->gm, 24 * KiB, 4 * KiB, false, NULL, NULL, 0));
	ok(dmakit_guest_memfd_convert(w->gm, 32 * KiB, 32 * KiB, false, NULL, NULL, 0));

	w->vmd = mk_vmem("vmem-d", 4 * GiB, 8 * GiB, HVA_VMEM_D, true);
	ok(dmakit_virtio_mem_plug_device(w->vmd, w->as, NULL, 0));
	ok(vmem_req(w->vmd, true, 0, 2, NULL));

	w->dimm = new_mr("dimm0", DMAKIT_MR_RAM, 128 * MiB, HVA_DIMM);
	w->vmc = mk_vmem("vmem-c", 32 * MiB, 16 * GiB, HVA_VMEM_C, false);
	ok(vmem_req(w->vmc, true, 0, 4, NULL));
	if (listen)
		ok(do_listen(w));
}

/* The vIOMMU world: the device AS holds a vIOMMU region over sysmem. */
static void viommu_build(struct world *w, enum dmakit_listener_strategy strategy, bool listen)
{
	struct dmakit_mr_config cfg;
	struct dmakit_iotlb_entry e = { .iova = 0x5000, .translated_addr = 0x200000,
					.addr_mask = PG - 1, .perm = DMAKIT_IOMMU_RW };

	memset(w, 0, sizeof(*w));
	w->strategy = strategy;
	w->viommu = true;
	w->c = open_emu(65535);
	ok(dmakit_as_create("sysmem", &w->sys));
	ok(dmakit_as_create("vfio-dma", &w->as));
	w->ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	add_sec(w->sys, w->ram, 0, 0, 256 * MiB);
	dmakit_mr_config_init(&cfg);
	cfg.name = "vtd";
	cfg.kind = DMAKIT_MR_IOMMU;
	cfg.size = 1ull << 39;
	cfg.iommu_target = w->sys;
	ok(dmakit_mr_create(&cfg, &w->iommu));
	add_sec(w->as, w->iommu, 0, 0, 2 * GiB);
	ok(dmakit_iommu_notify_map(w->iommu, &e, NULL, 0));
	e.iova = 0x200000;
	e.translated_addr = 0x400000;
	e.addr_mask = 2 * MiB - 1;
	e.perm = DMAKIT_IOMMU_RO;
	ok(dmakit_iommu_notify_map(w->iommu, &e, NULL, 0));
	if (listen)
		ok(do_listen(w));
}

static void world_destroy(struct world *w)
{
	if (w->l)
		dmakit_listener_destroy(w->l);
	else
		dmakit_container_close(w->c);
	if (w->viommu) {
		dmakit_as_destroy(w->as);
		dmakit_as_destroy(w->sys);
		ok(dmakit_mr_destroy(w->iommu));
		ok(dmakit_mr_destroy(w->ram));
		return;
	}
	dmakit_virtio_mem_destroy(w->vma);
	dmakit_virtio_mem_destroy(w->vmc);
	dmakit_virtio_mem_destroy(w->vmd);
	dmakit_as_destroy(w->as);
	ok(dmakit_guest_memfd_destroy(w->gm));
	ok(dmakit_mr_destroy(w->gmr));
	ok(dmakit_mr_destroy(w->ram));
	ok(dmakit_mr_destroy(w->rom));
	ok(dmakit_mr_destroy(w->dimm));
}

/* The model's state, as a few numbers and bitmaps. */
struct model {
	size_t sections;
	uint64_t vma_bits, vmc_bits, vmd_plugged;
	unsigned int vmd_active, vmc_active;
	uint8_t shared[4096 / 8];
	size_t translations;
	struct dmakit_iotlb_entry tlb0;
};

static uint64_t vmem_bits(struct dmakit_virtio_mem *vm, uint64_t n)
{
	uint64_t bits = 0, i;

	for (i = 0; i < n; i++)
		if (dmakit_virtio_mem_block_plugged(vm, i))
			bits |= 1ull << i;
	return bits;
}

static void model_take(struct world *w, struct model *m)
{
	struct dmakit_virtio_mem_info info;
	uint64_t p;

	memset(m, 0, sizeof(*m));
	m->sections = dmakit_as_section_count(w->as);
	if (w->viommu) {
		m->translations = dmakit_iommu_count(w->iommu);
		dmakit_iommu_lookup(w->iommu, 0x5000, &m->tlb0);
		return;
	}
	m->vma_bits = vmem_bits(w->vma, 32);
	m->vmc_bits = vmem_bits(w->vmc, 16);
	dmakit_virtio_mem_info(w->vmd, &info);
	m->vmd_plugged = info.plugged_size;
	m->vmd_active = info.active_memslots;
	dmakit_virtio_mem_info(w->vmc, &info);
	m->vmc_active = info.active_memslots;
	for (p = 0; p < 4096; p++)
		if (dmakit_guest_memfd_is_shared(w->gm, p * PG, PG))
			m->shared[p / 8] |= (uint8_t)(1u << (p % 8));
}

/* ------------------------------------------------------------------------ */
/* The sweep                                                                  */

typedef void (*build_fn)(struct world *w, enum dmakit_listener_strategy s, bool listen);
typedef void (*prep_fn)(struct world *w);
typedef int (*op_fn)(struct world *w);

struct scenario {
	const char *name;
	build_fn build;
	bool is_create; /* the op is the listener's creation */
	prep_fn prep;   /* unarmed steps after the build; may be NULL */
	op_fn op;
};

static struct snap snap_before, snap_after, snap_ref;

static uint64_t sweep_one(const struct scenario *sc, enum dmakit_listener_strategy strategy,
			  enum dmakit_fault_point point, int err)
{
	struct model m_before, m_after;
	struct world w;
	uint64_t k;
	bool fired;
	int ret;

	/* The run without faults: the reference end state. */
	sc->build(&w, strategy, !sc->is_create);
	if (sc->prep)
		sc->prep(&w);
	ret = sc->op(&w);
	if (ret) {
		print_error("%s: the op fails without faults: %s (%s)\n", sc->name,
			    dmakit_errno_name(ret), w.err);
		fail();
	}
	take_snap(w.c, &snap_ref);
	world_destroy(&w);

	for (k = 1;; k++) {
		sc->build(&w, strategy, !sc->is_create);
		if (sc->prep)
			sc->prep(&w);
		take_snap(w.c, &snap_before);
		model_take(&w, &m_before);
		dmakit_fault_arm(point, k, err);
		ret = sc->op(&w);
		fired = dmakit_fault_fired(point);
		dmakit_fault_disarm(point);
		if (!fired) {
			ok(ret);
			world_destroy(&w);
			break;
		}
		if (ret >= 0) {
			print_error("%s (%s, k=%llu): the op succeeded through an injected "
				    "failure\n", sc->name,
				    point == DMAKIT_FAULT_ALLOC ? "alloc" : "backend",
				    (unsigned long long)k);
			fail();
		}
		if (ret == -ENOTRECOVERABLE) {
			print_error("%s: k=%llu: unrecoverable: %s\n", sc->name,
				    (unsigned long long)k, w.err);
			fail();
		}
		take_snap(w.c, &snap_after);
		if (!snap_equal(&snap_before, &snap_after, w.err, sizeof(w.err))) {
			print_error("%s (%s %s, k=%llu): container changed: %s\n", sc->name,
				    point == DMAKIT_FAULT_ALLOC ? "alloc" : "backend",
				    dmakit_errno_name(err), (unsigned long long)k, w.err);
			fail();
		}
		model_take(&w, &m_after);
		if (memcmp(&m_before, &m_after, sizeof(m_before))) {
			print_error("%s (k=%llu): the model changed\n", sc->name,
				    (unsigned long long)k);
			fail();
		}
		if (sc->is_create) {
			assert_null(w.l);
		} else {
			verify_ok(w.l);
			assert_int_equal(lstats(w.l).unrecoverable, 0);
		}
		/* The same operation, now without faults, ends where it should. */
		ok(sc->op(&w));
		take_snap(w.c, &snap_after);
		assert_snap_equal(&snap_ref, &snap_after);
		verify_ok(w.l);
		world_destroy(&w);
	}
	return k - 1;
}

static void sweep(const struct scenario *sc, enum dmakit_listener_strategy strategy)
{
	uint64_t n_spc = sweep_one(sc, strategy, DMAKIT_FAULT_BACKEND_CALL, ENOSPC);
	uint64_t n_nomem = sweep_one(sc, strategy, DMAKIT_FAULT_BACKEND_CALL, ENOMEM);
	uint64_t n_alloc = sweep_one(sc, strategy, DMAKIT_FAULT_ALLOC, 0);

	/* Every operation reaches the backend; not every one allocates (the
	 * range tables allocate only when a node splits). */
	assert_true(n_spc >= 1);
	assert_int_equal(n_spc, n_nomem);
	(void)n_alloc;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                                 */

static int op_create(struct world *w)
{
	return do_listen(w);
}

/* Populate: four free blocks away from any run. */
static int op_plug(struct world *w)
{
	return dmakit_virtio_mem_request(w->vma, true, 1 * GiB + 12 * 2 * MiB, 4, NULL,
					 w->err, sizeof(w->err));
}

static int op_plug_merge(struct world *w)
{
	/* Blocks 3-4 sit between the runs 0-2 and 5. */
	return dmakit_virtio_mem_request(w->vma, true, 1 * GiB + 3 * 2 * MiB, 2, NULL,
					 w->err, sizeof(w->err));
}

/* Discard: block 1 (inside the run 0-2: a split under coalesce). */
static int op_unplug(struct world *w)
{
	return dmakit_virtio_mem_request(w->vma, false, 1 * GiB + 2 * MiB, 1, NULL,
					 w->err, sizeof(w->err));
}

static int op_gm_mixed_shared(struct world *w)
{
	return dmakit_guest_memfd_convert(w->gm, 0, 64 * KiB, false, NULL, w->err,
					  sizeof(w->err));
}

static int op_gm_mixed_private(struct world *w)
{
	return dmakit_guest_memfd_convert(w->gm, 0, 64 * KiB, true, NULL, w->err,
					  sizeof(w->err));
}

/* 256 pages: enough records to split range-table nodes (allocations). */
static int op_gm_whole_shared(struct world *w)
{
	return dmakit_guest_memfd_convert(w->gm, 1 * MiB, 1 * MiB, false, NULL, w->err,
					  sizeof(w->err));
}

static int op_gm_whole_private(struct world *w)
{
	return dmakit_guest_memfd_convert(w->gm, 32 * KiB, 32 * KiB, true, NULL, w->err,
					  sizeof(w->err));
}

static int op_hotplug_dimm(struct world *w)
{
	struct dmakit_section s = sect(w->dimm, 0, 32 * GiB, 128 * MiB);

	return dmakit_as_add_section(w->as, &s, w->err, sizeof(w->err));
}

static int op_hotplug_vmem(struct world *w)
{
	return dmakit_virtio_mem_plug_device(w->vmc, w->as, w->err, sizeof(w->err));
}

/* A plug in memslot 1 of D: the memslot goes active, then populates. */
static int op_memslot_activate(struct world *w)
{
	return dmakit_virtio_mem_request(w->vmd, true, 9 * GiB, 2, NULL, w->err, sizeof(w->err));
}

/* The unplug that empties memslot 0 of D: discard, then deactivation. */
static int op_memslot_deactivate(struct world *w)
{
	return dmakit_virtio_mem_request(w->vmd, false, 8 * GiB, 2, NULL, w->err, sizeof(w->err));
}

static int op_unplug_section(struct world *w)
{
	return dmakit_as_del_section(w->as, 0, w->err, sizeof(w->err));
}

static int op_vmem_unplug_device(struct world *w)
{
	return dmakit_virtio_mem_unplug_device(w->vma, w->err, sizeof(w->err));
}

static void prep_vmd_two_memslots(struct world *w)
{
	ok(dmakit_virtio_mem_request(w->vmd, true, 9 * GiB, 1, NULL, NULL, 0));
}

static int op_unplug_all(struct world *w)
{
	return dmakit_virtio_mem_unplug_all(w->vmd, NULL, w->err, sizeof(w->err));
}

static void prep_cpr(struct world *w)
{
	ok(dmakit_listener_cpr_save(w->l, NULL, 0));
	ok(dmakit_mr_set_hva(w->ram, HVA_RAM + 0x1000000000ull));
}

static int op_cpr_restore(struct world *w)
{
	return dmakit_listener_cpr_restore(w->l, w->err, sizeof(w->err));
}

static int op_iommu_map(struct world *w)
{
	struct dmakit_iotlb_entry e = { .iova = 0x800000, .translated_addr = 0x800000,
					.addr_mask = 2 * MiB - 1, .perm = DMAKIT_IOMMU_RW };

	return dmakit_iommu_notify_map(w->iommu, &e, w->err, sizeof(w->err));
}

static int op_iommu_unmap(struct world *w)
{
	return dmakit_iommu_notify_unmap(w->iommu, 0, 4 * MiB - 1, w->err, sizeof(w->err));
}

static int op_iommu_section_del(struct world *w)
{
	return dmakit_as_del_section(w->as, 0, w->err, sizeof(w->err));
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                      */

#define SCEN(n, b, c, p, o) { .name = n, .build = b, .is_create = c, .prep = p, .op = o }

static const struct scenario s_create = SCEN("registration", world_build, true, NULL, op_create);
static const struct scenario s_create_viommu =
	SCEN("registration (vIOMMU replay)", viommu_build, true, NULL, op_create);
static const struct scenario s_plug = SCEN("populate", world_build, false, NULL, op_plug);
static const struct scenario s_plug_merge =
	SCEN("populate between runs", world_build, false, NULL, op_plug_merge);
static const struct scenario s_unplug = SCEN("discard", world_build, false, NULL, op_unplug);
static const struct scenario s_gm[] = {
	SCEN("guest_memfd mixed to shared", world_build, false, NULL, op_gm_mixed_shared),
	SCEN("guest_memfd mixed to private", world_build, false, NULL, op_gm_mixed_private),
	SCEN("guest_memfd whole to shared", world_build, false, NULL, op_gm_whole_shared),
	SCEN("guest_memfd whole to private", world_build, false, NULL, op_gm_whole_private),
};
static const struct scenario s_hotplug[] = {
	SCEN("hotplug DIMM", world_build, false, NULL, op_hotplug_dimm),
	SCEN("hotplug virtio-mem", world_build, false, NULL, op_hotplug_vmem),
	SCEN("dynamic memslot activation", world_build, false, NULL, op_memslot_activate),
};
static const struct scenario s_unhotplug[] = {
	SCEN("hot-unplug RAM section", world_build, false, NULL, op_unplug_section),
	SCEN("hot-unplug virtio-mem", world_build, false, NULL, op_vmem_unplug_device),
	SCEN("memslot deactivation", world_build, false, NULL, op_memslot_deactivate),
	SCEN("UNPLUG_ALL", world_build, false, prep_vmd_two_memslots, op_unplug_all),
};
static const struct scenario s_cpr = SCEN("CPR restore", world_build, false, prep_cpr,
					  op_cpr_restore);
static const struct scenario s_iommu[] = {
	SCEN("vIOMMU map", viommu_build, false, NULL, op_iommu_map),
	SCEN("vIOMMU unmap", viommu_build, false, NULL, op_iommu_unmap),
	SCEN("vIOMMU section removal", viommu_build, false, NULL, op_iommu_section_del),
};

static const enum dmakit_listener_strategy all_strategies[] = {
	DMAKIT_LISTENER_QEMU, DMAKIT_LISTENER_EXACT, DMAKIT_LISTENER_COALESCE,
};

static void test_fail_nth_registration(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		sweep(&s_create, all_strategies[i]);
		sweep(&s_create_viommu, all_strategies[i]);
	}
}

static void test_fail_nth_populate(void **state)
{
	(void)state;
	sweep(&s_plug, DMAKIT_LISTENER_QEMU);
	sweep(&s_plug, DMAKIT_LISTENER_COALESCE);
	sweep(&s_plug_merge, DMAKIT_LISTENER_QEMU);
	sweep(&s_plug_merge, DMAKIT_LISTENER_COALESCE);
}

static void test_fail_nth_discard(void **state)
{
	(void)state;
	sweep(&s_unplug, DMAKIT_LISTENER_QEMU);
	sweep(&s_unplug, DMAKIT_LISTENER_COALESCE);
}

static void test_fail_nth_guest_memfd_conversions(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(s_gm) / sizeof(s_gm[0]); i++) {
		sweep(&s_gm[i], DMAKIT_LISTENER_QEMU);
		sweep(&s_gm[i], DMAKIT_LISTENER_COALESCE);
	}
}

static void test_fail_nth_hotplug(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(s_hotplug) / sizeof(s_hotplug[0]); i++)
		for (j = 0; j < 3; j++)
			sweep(&s_hotplug[i], all_strategies[j]);
}

static void test_fail_nth_hot_unplug(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(s_unhotplug) / sizeof(s_unhotplug[0]); i++) {
		sweep(&s_unhotplug[i], DMAKIT_LISTENER_QEMU);
		sweep(&s_unhotplug[i], DMAKIT_LISTENER_COALESCE);
	}
}

static void test_fail_nth_cpr_restore(void **state)
{
	(void)state;
	sweep(&s_cpr, DMAKIT_LISTENER_QEMU);
	sweep(&s_cpr, DMAKIT_LISTENER_COALESCE);
}

static void test_fail_nth_viommu(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(s_iommu) / sizeof(s_iommu[0]); i++)
		sweep(&s_iommu[i], DMAKIT_LISTENER_QEMU);
}

/* How many failure points the sweeps visit, for the record: the numbers
 * are exact for this layout and strategy. */
static void test_fail_nth_point_counts(void **state)
{
	(void)state;
	/* qemu registration: GET_INFO twice (the first says how long the
	 * capability chain is) + pc.ram, ROM (2) + virtio-mem A's 6 blocks +
	 * 13 shared pages + virtio-mem D's 2 blocks = 25 calls. */
	assert_int_equal(sweep_one(&s_create, DMAKIT_LISTENER_QEMU, DMAKIT_FAULT_BACKEND_CALL,
				   ENOSPC), 25);
	/* coalesce: one per run: A 3 runs, shared 3 runs, D 1 run: 2+2+7. */
	assert_int_equal(sweep_one(&s_create, DMAKIT_LISTENER_COALESCE,
				   DMAKIT_FAULT_BACKEND_CALL, ENOSPC), 11);
	/* populate of 4 blocks under qemu: 4 maps. */
	assert_int_equal(sweep_one(&s_plug, DMAKIT_LISTENER_QEMU, DMAKIT_FAULT_BACKEND_CALL,
				   ENOSPC), 4);
	/* discard under coalesce: 1 unmap + 2 maps (blocks 0 and 2 stay). */
	assert_int_equal(sweep_one(&s_unplug, DMAKIT_LISTENER_COALESCE,
				   DMAKIT_FAULT_BACKEND_CALL, ENOSPC), 3);
	/* CPR restore: one MAP VADDR per mapping: 23. */
	assert_int_equal(sweep_one(&s_cpr, DMAKIT_LISTENER_QEMU, DMAKIT_FAULT_BACKEND_CALL,
				   ENOSPC), 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_nth_registration),
		cmocka_unit_test(test_fail_nth_populate),
		cmocka_unit_test(test_fail_nth_discard),
		cmocka_unit_test(test_fail_nth_guest_memfd_conversions),
		cmocka_unit_test(test_fail_nth_hotplug),
		cmocka_unit_test(test_fail_nth_hot_unplug),
		cmocka_unit_test(test_fail_nth_cpr_restore),
		cmocka_unit_test(test_fail_nth_viommu),
		cmocka_unit_test(test_fail_nth_point_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
