/* SPDX-License-Identifier: MIT */
/*
 * The listener (include/dmakit/listener.h) on the emulated type1 container,
 * one or more tests per rule of qemu-listener.md section 1 (and the parts of
 * sections 2-4 it drives): skip rules, host-page alignment, one mapping per
 * plain section, RAM devices, one mapping per granule in region offsets,
 * populate rollback with one unmap, discard as one unmap, the budget check
 * exactly at, one below and one above the limit at init and at run time
 * (hotplug, dynamic memslot), the exact and coalesce strategies with their
 * figures, vIOMMU events, and CPR.
 *
 * Every expected number is computed by hand in the comment next to it.
 * Failure-injection sweeps are in test_listener_faults.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "listener_fixture.h"
#include "listener_internal.h"

struct lfx {
	struct dmakit_container *c;
	struct dmakit_address_space *as;
	struct dmakit_listener *l;
	char err[2048];
};

static void lfx_open(struct lfx *f, uint32_t limit)
{
	memset(f, 0, sizeof(*f));
	f->c = open_emu(limit);
	ok(dmakit_as_create("sysmem", &f->as));
}

static int lfx_listen(struct lfx *f, const struct dmakit_listener_config *cfg)
{
	f->err[0] = '\0';
	return dmakit_listener_create(f->c, f->as, cfg, &f->l, f->err, sizeof(f->err));
}

static void lfx_listen_ok(struct lfx *f, const struct dmakit_listener_config *cfg)
{
	int ret = lfx_listen(f, cfg);

	if (ret) {
		print_error("listener_create: %s (%s)\n", dmakit_errno_name(ret), f->err);
		fail();
	}
}

/* Listener (or bare container) first, then the address space. */
static void lfx_close(struct lfx *f)
{
	if (f->l)
		dmakit_listener_destroy(f->l);
	else
		dmakit_container_close(f->c);
	f->l = NULL;
	f->c = NULL;
}

static enum dmakit_section_disposition disp_of(struct lfx *f, uint64_t gpa)
{
	struct dmakit_listener_section_info info;

	ok(dmakit_listener_section_info(f->l, gpa, &info));
	return info.disposition;
}

static void mapping_is(struct dmakit_container *c, size_t i, uint64_t iova, uint64_t size,
		       uint64_t vaddr, uint32_t flags)
{
	struct dmakit_mapping m = nth_mapping(c, i);

	assert_int_equal(m.iova, iova);
	assert_int_equal(m.size, size);
	assert_int_equal(m.vaddr, vaddr);
	assert_int_equal(m.flags, flags);
}

/* ------------------------------------------------------------------------ */
/* Section rules                                                              */

static void test_skip_rules(void **state)
{
	struct dmakit_mr_config cfg;
	struct dmakit_memory_region *ram, *mmio, *epc, *tpm, *rom;
	struct dmakit_listener_stats st;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	ram = new_mr("pc.ram", DMAKIT_MR_RAM, 1 * GiB, HVA_RAM);
	mmio = new_mr("mmio", DMAKIT_MR_MMIO, 1 * MiB, 0);
	rom = new_mr("rom", DMAKIT_MR_RAM, 64 * KiB, HVA_BAR);
	dmakit_mr_config_init(&cfg);
	cfg.name = "sgx.epc";
	cfg.size = 16 * MiB;
	cfg.hva = HVA_GMEM;
	cfg.protected_ram = true;
	ok(dmakit_mr_create(&cfg, &epc));
	cfg.name = "tpm-crb";
	cfg.size = 64 * KiB;
	cfg.protected_ram = false;
	cfg.known_safe_misalignment = true;
	ok(dmakit_mr_create(&cfg, &tpm));

	add_sec(f.as, ram, 0, 0, 512 * MiB);                      /* mapped */
	add_sec(f.as, mmio, 0, 0xfe000000ull, 1 * MiB);           /* not RAM */
	add_sec(f.as, epc, 0, 0x80000000ull, 16 * MiB);           /* protected */
	add_sec(f.as, ram, 512 * MiB, 1ull << 63, 4 * KiB);       /* bit 63 */
	add_sec(f.as, rom, 0, 0x40000800ull, 32 * KiB);           /* misaligned */
	add_sec(f.as, tpm, 0, 0x40100800ull, 2 * KiB);            /* misaligned, known safe */
	add_sec(f.as, ram, 0x20000800ull, 0x40200800ull, 0x400);  /* empty after alignment */
	lfx_listen_ok(&f, NULL);

	assert_int_equal(nr_mappings(f.c), 1);
	mapping_is(f.c, 0, 0, 512 * MiB, HVA_RAM, F_RW);
	assert_int_equal(disp_of(&f, 0), DMAKIT_SECTION_PLAIN);
	assert_int_equal(disp_of(&f, 0xfe000000ull), DMAKIT_SECTION_SKIP_NOT_RAM);
	assert_int_equal(disp_of(&f, 0x80000000ull), DMAKIT_SECTION_SKIP_PROTECTED);
	assert_int_equal(disp_of(&f, 1ull << 63), DMAKIT_SECTION_SKIP_BIT63);
	assert_int_equal(disp_of(&f, 0x40000800ull), DMAKIT_SECTION_SKIP_MISALIGNED);
	assert_int_equal(disp_of(&f, 0x40100800ull), DMAKIT_SECTION_SKIP_MISALIGNED_SAFE);
	assert_int_equal(disp_of(&f, 0x40200800ull), DMAKIT_SECTION_SKIP_EMPTY);
	st = lstats(f.l);
	assert_int_equal(st.skipped_sections, 6);
	assert_int_equal(st.map_calls, 1);
	/* Removing skipped sections issues nothing. */
	ok(dmakit_as_del_section(f.as, 0xfe000000ull, NULL, 0));
	ok(dmakit_as_del_section(f.as, 1ull << 63, NULL, 0));
	assert_int_equal(lstats(f.l).unmap_calls, 0);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
	ok(dmakit_mr_destroy(mmio));
	ok(dmakit_mr_destroy(epc));
	ok(dmakit_mr_destroy(tpm));
	ok(dmakit_mr_destroy(rom));
}

/* iova = REAL_HOST_PAGE_ALIGN(gpa), end = (gpa + size) & page mask. */
static void test_host_page_alignment_rounds_inwards(void **state)
{
	struct dmakit_memory_region *ram = new_mr("ram", DMAKIT_MR_RAM, 64 * MiB, HVA_RAM);
	struct dmakit_listener_section_info info;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	add_sec(f.as, ram, 0x800, 0x100800, 0x3000);
	lfx_listen_ok(&f, NULL);
	assert_int_equal(nr_mappings(f.c), 1);
	/* [0x100800, 0x103800) -> [0x101000, 0x103000), vaddr at offset 0x1000. */
	mapping_is(f.c, 0, 0x101000, 0x2000, HVA_RAM + 0x1000, F_RW);
	ok(dmakit_listener_section_info(f.l, 0x100800, &info));
	assert_int_equal(info.iova, 0x101000);
	assert_int_equal(info.size, 0x2000);
	assert_int_equal(info.mappings, 1);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
}

/* One mapping per plain section whatever its size; read-only is READ. */
static void test_plain_section_one_mapping_readonly_is_read(void **state)
{
	struct dmakit_memory_region *ram = new_mr("pc.ram", DMAKIT_MR_RAM, 3 * GiB, HVA_RAM);
	struct dmakit_memory_region *rom;
	struct dmakit_mr_config cfg;
	struct dmakit_section s;
	struct lfx f;

	(void)state;
	dmakit_mr_config_init(&cfg);
	cfg.name = "pc.bios";
	cfg.size = 256 * KiB;
	cfg.hva = HVA_BAR;
	cfg.readonly = true;
	ok(dmakit_mr_create(&cfg, &rom));
	lfx_open(&f, 65535);
	add_sec(f.as, ram, 0, 0, 2 * GiB);              /* ram-below-4g */
	add_sec(f.as, ram, 2 * GiB, 4 * GiB, 1 * GiB);  /* ram-above-4g */
	add_sec(f.as, rom, 0, 0xfffc0000ull, 256 * KiB);
	lfx_listen_ok(&f, NULL);
	assert_int_equal(nr_mappings(f.c), 3);
	mapping_is(f.c, 0, 0, 2 * GiB, HVA_RAM, F_RW);
	mapping_is(f.c, 1, 0xfffc0000ull, 256 * KiB, HVA_BAR, F_R);
	mapping_is(f.c, 2, 4 * GiB, 1 * GiB, HVA_RAM + 2 * GiB, F_RW);
	/* A read-only view of writable RAM (hotplugged): READ only. */
	s = sect(ram, 0, 8 * GiB, 4 * KiB);
	s.readonly = true;
	ok(dmakit_as_add_section(f.as, &s, NULL, 0));
	mapping_is(f.c, 3, 8 * GiB, 4 * KiB, HVA_RAM, F_R);
	assert_int_equal(lstats(f.l).map_calls, 4);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
	ok(dmakit_mr_destroy(rom));
}

/* RAM device: mapped when aligned to the minimum IOMMU page, skipped
 * otherwise; a failed map is not an error. A failed plain map is. */
static void test_ram_device_rules(void **state)
{
	struct dmakit_memory_region *ram = new_mr("pc.ram", DMAKIT_MR_RAM, 64 * MiB, HVA_RAM);
	struct dmakit_memory_region *bar = new_mr("bar0", DMAKIT_MR_RAM_DEVICE, 1 * MiB, HVA_BAR);
	struct dmakit_section s;
	struct snap *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct lfx f;

	(void)state;
	lfx_open(&f, 3);
	add_sec(f.as, ram, 0, 0, 64 * MiB);
	add_sec(f.as, bar, 0, 0x800000000ull, 64 * KiB);
	lfx_listen_ok(&f, NULL);
	assert_int_equal(disp_of(&f, 0x800000000ull), DMAKIT_SECTION_RAM_DEVICE);
	mapping_is(f.c, 1, 0x800000000ull, 64 * KiB, HVA_BAR, F_RW);

	/* With 64 KiB IOMMU pages: a 16 KiB BAR, and one at a 16 KiB offset,
	 * are skipped; a 64 KiB-aligned one is mapped. */
	dmakit__listener_set_min_iommu_page(f.l, 64 * KiB);
	add_sec(f.as, bar, 64 * KiB, 0x800100000ull, 16 * KiB);
	add_sec(f.as, bar, 128 * KiB, 0x800204000ull, 64 * KiB);
	assert_int_equal(disp_of(&f, 0x800100000ull), DMAKIT_SECTION_SKIP_RAM_DEVICE_ALIGN);
	assert_int_equal(disp_of(&f, 0x800204000ull), DMAKIT_SECTION_SKIP_RAM_DEVICE_ALIGN);
	add_sec(f.as, bar, 256 * KiB, 0x800310000ull, 64 * KiB);
	assert_int_equal(disp_of(&f, 0x800310000ull), DMAKIT_SECTION_RAM_DEVICE);
	assert_int_equal(nr_mappings(f.c), 3); /* the limit is reached */

	/* The next BAR's map fails with ENOSPC: a warning, not an error. */
	add_sec(f.as, bar, 512 * KiB, 0x800400000ull, 64 * KiB);
	assert_int_equal(disp_of(&f, 0x800400000ull), DMAKIT_SECTION_RAM_DEVICE_UNMAPPED);
	assert_int_equal(lstats(f.l).ram_device_map_failures, 1);
	/* The same failure for RAM refuses the section and changes nothing. */
	take_snap(f.c, before);
	s = sect(ram, 0, 1 * GiB, 4 * KiB);
	ret_eq(dmakit_as_add_section(f.as, &s, f.err, sizeof(f.err)), -ENOSPC);
	contains(f.err, "Region pc.ram: vfio_container_dma_map(0x40000000, 0x1000, "
			"0x7f0000000000) = -28");
	take_snap(f.c, after);
	assert_snap_equal(before, after);
	assert_int_equal(dmakit_as_section_count(f.as), 6);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
	ok(dmakit_mr_destroy(bar));
	free(before);
	free(after);
}

/* ------------------------------------------------------------------------ */
/* Discard-managed sections                                                   */

/* One mapping per granule; populate walks the granules of the run; discard
 * is one unmap over the part; registration replays the plugged blocks. */
static void test_discard_managed_granules_and_one_unmap(void **state)
{
	struct dmakit_memory_region *ram = new_mr("pc.ram", DMAKIT_MR_RAM, 512 * MiB, HVA_RAM);
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	struct dmakit_listener_stats st0, st1;
	struct dmakit_listener_section_info info;
	enum dmakit_virtio_mem_resp resp;
	struct lfx f;
	size_t i;

	(void)state;
	lfx_open(&f, 65535);
	add_sec(f.as, ram, 0, 0, 512 * MiB);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	ok(vmem_req(vm, true, 0, 2, NULL)); /* before the listener: replayed */
	lfx_listen_ok(&f, NULL);
	assert_int_equal(nr_mappings(f.c), 3);
	mapping_is(f.c, 1, 1 * GiB, 2 * MiB, HVA_VMEM, F_RW);
	mapping_is(f.c, 2, 1 * GiB + 2 * MiB, 2 * MiB, HVA_VMEM + 2 * MiB, F_RW);
	assert_int_equal(lstats(f.l).map_calls, 3);

	st0 = lstats(f.l);
	ok(vmem_req(vm, true, 5, 3, &resp));
	st1 = lstats(f.l);
	assert_int_equal(st1.map_calls - st0.map_calls, 3);
	for (i = 0; i < 3; i++)
		mapping_is(f.c, 3 + i, 1 * GiB + (5 + i) * 2 * MiB, 2 * MiB,
			   HVA_VMEM + (5 + i) * 2 * MiB, F_RW);
	ok(dmakit_listener_section_info(f.l, 1 * GiB, &info));
	assert_int_equal(info.disposition, DMAKIT_SECTION_DISCARD_MANAGED);
	assert_int_equal(info.granularity, 2 * MiB);
	assert_int_equal(info.mappings, 5);

	/* Unplug 3 blocks: one unmap, no map. */
	ok(vmem_req(vm, false, 5, 3, &resp));
	st0 = lstats(f.l);
	assert_int_equal(st0.unmap_calls - st1.unmap_calls, 1);
	assert_int_equal(st0.map_calls, st1.map_calls);
	assert_int_equal(nr_mappings(f.c), 3);
	/* UNPLUG_ALL: one unmap of the whole section. */
	ok(vmem_req(vm, true, 20, 1, &resp));
	ok(dmakit_virtio_mem_unplug_all(vm, &resp, NULL, 0));
	st1 = lstats(f.l);
	assert_int_equal(st1.unmap_calls - st0.unmap_calls, 1);
	assert_int_equal(nr_mappings(f.c), 1);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
}

/* Populate chunks are aligned in REGION offsets; the check counts granules
 * in ADDRESS-SPACE coordinates. */
static void test_chunks_region_offsets_check_as_coordinates(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(8 * MiB, 2 * MiB, 0x40000000ull, 8 * MiB, false, 0);
	struct dmakit_memory_region *mr = dmakit_virtio_mem_region(vm);
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_QEMU, 512);
	struct dmakit_listener_budget b;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	/* All of the region at gpa 0x40100000: 1 MiB off the granule. */
	add_sec(f.as, mr, 0, 0x40100000ull, 8 * MiB);
	/* Region bytes [1, 5) MiB at a granule-aligned gpa. */
	add_sec(f.as, mr, 1 * MiB, 0x40a00000ull, 4 * MiB);
	ok(vmem_req(vm, true, 0, 4, NULL));
	lfx_listen_ok(&f, &cfg);
	/* First section: 4 chunks of 2 MiB, 1 MiB off in iova. */
	mapping_is(f.c, 0, 0x40100000ull, 2 * MiB, HVA_VMEM, F_RW);
	mapping_is(f.c, 3, 0x40700000ull, 2 * MiB, HVA_VMEM + 6 * MiB, F_RW);
	/* Second: region [1,2) [2,4) [4,5) MiB -> 1, 2, 1 MiB chunks. */
	mapping_is(f.c, 4, 0x40a00000ull, 1 * MiB, HVA_VMEM + 1 * MiB, F_RW);
	mapping_is(f.c, 5, 0x40b00000ull, 2 * MiB, HVA_VMEM + 2 * MiB, F_RW);
	mapping_is(f.c, 6, 0x40d00000ull, 1 * MiB, HVA_VMEM + 4 * MiB, F_RW);
	assert_int_equal(nr_mappings(f.c), 7);
	ok(dmakit_listener_budget(f.l, &b));
	/* AS coordinates: [0x40000000, 0x40a00000) = 5 granules, and
	 * [0x40a00000, 0x40e00000) = 2; region coordinates: 4 and 3. */
	assert_int_equal(b.rdm_sections, 2);
	assert_int_equal(b.rdm_granules_as, 7);
	assert_int_equal(b.rdm_chunks, 7);
	assert_int_equal(b.qemu_estimate, 7 + 512 - 2);
	/* Unplug block 1 (region [2, 4) MiB): one unmap per section, over
	 * [0x40300000, +2M) and [0x40b00000, +2M). */
	ok(vmem_req(vm, false, 1, 1, NULL));
	assert_int_equal(nr_mappings(f.c), 5);
	assert_int_equal(lstats(f.l).unmap_calls, 2);
	verify_ok(f.l);
	/* The two sections' differences cancel out; alone, the first one counts
	 * 5 granules in the address space where it has 4 chunks. */
	ok(dmakit_as_del_section(f.as, 0x40a00000ull, NULL, 0));
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.rdm_sections, 1);
	assert_int_equal(b.rdm_granules_as, 5);
	assert_int_equal(b.rdm_chunks, 4);
	assert_int_equal(b.qemu_estimate, 5 + 512 - 1);
	assert_int_equal(b.exact_peak, 4);
	lfx_close(&f);
	/* The sections were added by hand: the AS goes first. */
	dmakit_as_destroy(f.as);
	dmakit_virtio_mem_destroy(vm);
}

/* A populate that fails part-way: ONE unmap over the section range, and
 * the guest gets BUSY with nothing changed. */
static void test_populate_failure_one_unmap_rollback(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	struct snap *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct dmakit_listener_stats st0, st1;
	struct dmakit_virtio_mem_info info;
	enum dmakit_virtio_mem_resp resp;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	lfx_listen_ok(&f, NULL);
	take_snap(f.c, before);
	st0 = lstats(f.l);
	dmakit_fault_arm(DMAKIT_FAULT_BACKEND_CALL, 3, ENOSPC);
	ret_eq(vmem_req(vm, true, 4, 4, &resp), -ENOSPC);
	dmakit_fault_disarm(DMAKIT_FAULT_BACKEND_CALL);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
	st1 = lstats(f.l);
	assert_int_equal(st1.map_calls - st0.map_calls, 3);   /* 2 good, the 3rd failed */
	assert_int_equal(st1.unmap_calls - st0.unmap_calls, 1);
	assert_int_equal(st1.failed_calls - st0.failed_calls, 1);
	assert_int_equal(st1.rollbacks - st0.rollbacks, 1);
	take_snap(f.c, after);
	assert_snap_equal(before, after);
	dmakit_virtio_mem_info(vm, &info);
	assert_int_equal(info.plugged_size, 0);
	/* And the retry goes through. */
	ok(vmem_req(vm, true, 4, 4, &resp));
	assert_int_equal(nr_mappings(f.c), 4);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(f.as);
	free(before);
	free(after);
}

/* vfio_ram_discard_register_listener()'s asserts, as refusals: the section
 * aligned to the target page, the granularity at least the minimum IOMMU
 * page. */
static void test_discard_section_preconditions(void **state)
{
	struct dmakit_memory_region *mr = new_mr("cvm.ram", DMAKIT_MR_RAM, 16 * MiB, HVA_GMEM);
	struct dmakit_guest_memfd *gm;
	struct dmakit_section s;
	struct lfx f;

	(void)state;
	ok(dmakit_guest_memfd_create(mr, 0, &gm));
	lfx_open(&f, 65535);
	lfx_listen_ok(&f, NULL);
	/* Same offset in the page (passes the misalignment rule), not aligned. */
	s = sect(mr, 0x800, 0x100800, 64 * KiB);
	ret_eq(dmakit_as_add_section(f.as, &s, f.err, sizeof(f.err)), -EINVAL);
	contains(f.err, "Region cvm.ram: discard-managed section [0x100800, +0x10000) at offset "
			"0x800 is not aligned to the target page (0x1000)");
	/* 4 KiB granules under 64 KiB IOMMU pages. */
	dmakit__listener_set_min_iommu_page(f.l, 64 * KiB);
	s = sect(mr, 0, 4 * GiB, 16 * MiB);
	ret_eq(dmakit_as_add_section(f.as, &s, f.err, sizeof(f.err)), -EINVAL);
	contains(f.err, "granularity 0x1000 is below the minimum IOMMU page 0x10000");
	assert_int_equal(dmakit_as_section_count(f.as), 0);
	assert_int_equal(lstats(f.l).map_calls + lstats(f.l).unmap_calls, 0);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_guest_memfd_destroy(gm));
	ok(dmakit_mr_destroy(mr));
}

/* ------------------------------------------------------------------------ */
/* The check                                                                  */

/*
 * pc.ram (plain) + virtio-mem 64 MiB in 2 MiB blocks (32 granules, one
 * section) with TCG's 512 memslots: 32 + 512 - 1 = 543. DMA_AVAIL = the
 * container's dma_entry_limit.
 */
static int boundary_layout(struct lfx *f, uint32_t limit, bool vmem_first,
			   struct dmakit_memory_region **ram, struct dmakit_virtio_mem **vm)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_QEMU, DMAKIT_TCG_MAX_MEMSLOTS);

	lfx_open(f, limit);
	*ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	*vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	add_sec(f->as, *ram, 0, 0, 256 * MiB);
	ok(vmem_req(*vm, true, 0, 2, NULL));
	if (vmem_first)
		ok(dmakit_virtio_mem_plug_device(*vm, f->as, NULL, 0));
	return lfx_listen(f, &cfg);
}

static void boundary_teardown(struct lfx *f, struct dmakit_memory_region *ram,
			      struct dmakit_virtio_mem *vm)
{
	lfx_close(f);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(f->as);
	ok(dmakit_mr_destroy(ram));
}

static void test_check_boundary_at_init(void **state)
{
	struct dmakit_memory_region *ram;
	struct dmakit_virtio_mem *vm;
	struct dmakit_listener_budget b;
	struct lfx f;

	(void)state;
	/* One below: 543 <= 544. */
	ok(boundary_layout(&f, 544, true, &ram, &vm));
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.dma_max_mappings, 544);
	assert_true(b.dma_avail_reported);
	assert_int_equal(b.qemu_estimate, 543);
	assert_false(b.qemu_check_fails);
	assert_int_equal(nr_mappings(f.c), 3);
	boundary_teardown(&f, ram, vm);

	/* Exactly at the limit: 543 > 543 is false, accepted. */
	ok(boundary_layout(&f, 543, true, &ram, &vm));
	assert_int_equal(nr_mappings(f.c), 3);
	boundary_teardown(&f, ram, vm);

	/* One above: 543 > 542: the set-up fails, pc.ram's mapping goes too. */
	ret_eq(boundary_layout(&f, 542, true, &ram, &vm), -ENOSPC);
	assert_null(f.l);
	contains(f.err, "memory listener initialization failed: Region vmem0: "
			"vfio_ram_discard_register_listener: possibly running out of DMA "
			"mappings. E.g., try increasing the 'block-size' of virtio-mem devies. "
			"Maximum possible DMA mappings: 542, Maximum possible memslots: 512");
	contains(f.err, "(32 granules in 1 discard-managed sections + 512 memslots - 1 = 543 > 542)");
	/* 4 MiB blocks: 16 + 511 = 527 fits; 2 MiB does not. */
	contains(f.err, "virtio-mem block-size=4M (the smallest power of two that fits)");
	contains(f.err, "dma_entry_limit=543");
	contains(f.err, "iommufd");
	assert_int_equal(nr_mappings(f.c), 0);
	{
		struct snap *s = malloc(sizeof(*s));

		take_snap(f.c, s);
		assert_int_equal(s->dma_avail, 542);
		free(s);
	}
	boundary_teardown(&f, ram, vm);
}

/* At run time (hotplug of the device) the refusal refuses that change only. */
static void test_check_boundary_at_runtime_hotplug(void **state)
{
	struct snap *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct dmakit_memory_region *ram;
	struct dmakit_virtio_mem *vm;
	struct dmakit_virtio_mem_info info;
	uint32_t limit;
	struct lfx f;

	(void)state;
	for (limit = 542; limit <= 544; limit++) {
		ok(boundary_layout(&f, limit, false, &ram, &vm));
		assert_int_equal(nr_mappings(f.c), 1);
		take_snap(f.c, before);
		f.err[0] = '\0';
		if (limit == 542) {
			ret_eq(dmakit_virtio_mem_plug_device(vm, f.as, f.err, sizeof(f.err)),
			       -ENOSPC);
			contains(f.err, "Region vmem0: vfio_ram_discard_register_listener: "
					"possibly running out of DMA mappings");
			assert_null(strstr(f.err, "initialization"));
			take_snap(f.c, after);
			assert_snap_equal(before, after);
			assert_int_equal(dmakit_as_section_count(f.as), 1);
			dmakit_virtio_mem_info(vm, &info);
			assert_int_equal(info.active_memslots, 0);
			assert_int_equal(lstats(f.l).check_refusals, 1);
			assert_int_equal(lstats(f.l).map_calls, 1); /* nothing tried */
		} else {
			ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
			assert_int_equal(nr_mappings(f.c), 3);
		}
		verify_ok(f.l);
		boundary_teardown(&f, ram, vm);
	}
	free(before);
	free(after);
}

/*
 * The reference's worked CVM numbers (x86 KVM: 32764 memslots, 65535):
 * one guest_memfd section passes up to 32772 pages (32772 + 32763 = 65535)
 * and fails at 32773 (128 MiB + 20 KiB). Split in two sections, the same
 * 32773 pages pass (32773 + 32762 = 65535): vrdl_count counts sections.
 */
static int cvm_layout(struct lfx *f, uint64_t pages, bool split,
		      struct dmakit_memory_region **mr, struct dmakit_guest_memfd **gm)
{
	lfx_open(f, 65535);
	*mr = new_mr("cvm.ram", DMAKIT_MR_RAM, pages * PG, HVA_GMEM);
	ok(dmakit_guest_memfd_create(*mr, 0, gm));
	if (split) {
		add_sec(f->as, *mr, 0, 0, 64 * MiB);
		add_sec(f->as, *mr, 64 * MiB, 4 * GiB, pages * PG - 64 * MiB);
	} else {
		add_sec(f->as, *mr, 0, 4 * GiB, pages * PG);
	}
	return lfx_listen(f, NULL);
}

static void cvm_teardown(struct lfx *f, struct dmakit_memory_region *mr,
			 struct dmakit_guest_memfd *gm)
{
	lfx_close(f);
	dmakit_as_destroy(f->as);
	ok(dmakit_guest_memfd_destroy(gm));
	ok(dmakit_mr_destroy(mr));
}

static void test_check_cvm_4k_granules_x86_defaults(void **state)
{
	struct dmakit_memory_region *mr;
	struct dmakit_guest_memfd *gm;
	struct dmakit_listener_budget b;
	struct lfx f;

	(void)state;
	ok(cvm_layout(&f, 32772, false, &mr, &gm));
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.max_memslots, 32764);
	assert_int_equal(b.qemu_estimate, 65535);
	assert_int_equal(nr_mappings(f.c), 0); /* all private: nothing mapped */
	cvm_teardown(&f, mr, gm);

	ret_eq(cvm_layout(&f, 32773, false, &mr, &gm), -ENOSPC);
	contains(f.err, "Maximum possible DMA mappings: 65535, Maximum possible memslots: 32764 "
			"(32773 granules in 1 discard-managed sections + 32764 memslots - 1 = "
			"65536 > 65535)");
	/* guest_memfd's granularity is the host page: no block size helps. */
	contains(f.err, "no virtio-mem block-size fits");
	contains(f.err, "dma_entry_limit=65536");
	cvm_teardown(&f, mr, gm);

	ok(cvm_layout(&f, 32773, true, &mr, &gm));
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.rdm_sections, 2);
	assert_int_equal(b.qemu_estimate, 65535);
	cvm_teardown(&f, mr, gm);

	ret_eq(cvm_layout(&f, 32774, true, &mr, &gm), -ENOSPC);
	contains(f.err, "(32774 granules in 2 discard-managed sections + 32764 memslots - 2 = "
			"65536 > 65535)");
	cvm_teardown(&f, mr, gm);
}

/*
 * The reference's worked thresholds with x86 defaults (32764 memslots,
 * DMA_AVAIL 65535): virtio-mem of 256 GiB needs 8 MiB blocks (32768 +
 * 32763 = 65531; 4 MiB gives 65536 + 32763), 1 TiB needs 32 MiB. And a
 * 16 GiB confidential guest with dma_entry_limit=4194304 (16 GiB / 4 KiB,
 * the advice in the shared-device-assignment cover letter) still fails the
 * check: 4194304 + 32763 = 4227067 > 4194304.
 */
static void test_check_reference_thresholds(void **state)
{
	static const struct { uint64_t size; const char *fit; } cases[] = {
		{ 256 * GiB, "block-size=8M (the smallest" },
		{ 1024 * GiB, "block-size=32M (the smallest" },
	};
	struct dmakit_memory_region *mr;
	struct dmakit_guest_memfd *gm;
	struct dmakit_virtio_mem *vm;
	struct lfx f;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		lfx_open(&f, 65535);
		vm = new_vmem(cases[i].size, 2 * MiB, 4 * GiB, 0, false, 0);
		ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
		ret_eq(lfx_listen(&f, NULL), -ENOSPC);
		contains(f.err, cases[i].fit);
		lfx_close(&f);
		dmakit_virtio_mem_destroy(vm);
		dmakit_as_destroy(f.as);
	}
	lfx_open(&f, 4194304);
	mr = new_mr("td.ram", DMAKIT_MR_RAM, 16 * GiB, HVA_GMEM);
	ok(dmakit_guest_memfd_create(mr, 0, &gm));
	add_sec(f.as, mr, 0, 4 * GiB, 16 * GiB);
	ret_eq(lfx_listen(&f, NULL), -ENOSPC);
	contains(f.err, "(4194304 granules in 1 discard-managed sections + 32764 memslots - 1 = "
			"4227067 > 4194304)");
	contains(f.err, "dma_entry_limit=4227067");
	cvm_teardown(&f, mr, gm);
}

/*
 * A new dynamic memslot at run time: 4 GiB in 2 MiB blocks, memslot limit 4
 * -> 4 memslots of 1 GiB = 512 granules; max_memslots 8. One active memslot:
 * 512 + 8 - 1 = 519; two: 1024 + 8 - 2 = 1030.
 */
static void test_check_new_dynamic_memslot_at_runtime(void **state)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_QEMU, 8);
	struct snap *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct dmakit_virtio_mem_info info;
	enum dmakit_virtio_mem_resp resp;
	struct dmakit_virtio_mem *vm;
	struct dmakit_listener_budget b;
	uint32_t limit;
	struct lfx f;

	(void)state;
	for (limit = 1029; limit <= 1031; limit++) {
		lfx_open(&f, limit);
		vm = new_vmem(4 * GiB, 2 * MiB, 8 * GiB, 4 * GiB, true, 4);
		ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
		lfx_listen_ok(&f, &cfg);
		ok(vmem_req(vm, true, 0, 1, &resp)); /* memslot 0 goes active */
		ok(dmakit_listener_budget(f.l, &b));
		assert_int_equal(b.qemu_estimate, 519);
		take_snap(f.c, before);
		f.err[0] = '\0';
		if (limit == 1029) {
			ret_eq(dmakit_virtio_mem_request(vm, true, 8 * GiB + 1 * GiB, 1, &resp,
							 f.err, sizeof(f.err)), -ENOSPC);
			assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
			contains(f.err, "(1024 granules in 2 discard-managed sections + 8 memslots "
					"- 2 = 1030 > 1029)");
			take_snap(f.c, after);
			assert_snap_equal(before, after);
			dmakit_virtio_mem_info(vm, &info);
			assert_int_equal(info.active_memslots, 1);
			assert_int_equal(info.plugged_size, 2 * MiB);
			assert_false(dmakit_virtio_mem_block_plugged(vm, 512));
		} else {
			ok(vmem_req(vm, true, 512, 1, &resp));
			dmakit_virtio_mem_info(vm, &info);
			assert_int_equal(info.active_memslots, 2);
			assert_int_equal(nr_mappings(f.c), 2);
			ok(dmakit_listener_budget(f.l, &b));
			assert_int_equal(b.qemu_estimate, 1030);
		}
		verify_ok(f.l);
		lfx_close(&f);
		dmakit_virtio_mem_destroy(vm);
		dmakit_as_destroy(f.as);
	}
	free(before);
	free(after);
}

/* Where dma_max_mappings comes from. */
static void test_check_limit_sources(void **state)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_QEMU, DMAKIT_TCG_MAX_MEMSLOTS);
	struct dmakit_memory_region *ram;
	struct dmakit_virtio_mem *vm;
	struct dmakit_listener_budget b;
	struct lfx f;

	(void)state;
	/* FIXED 0: unchecked (iommufd); the 542 layout is accepted. */
	lfx_open(&f, 542);
	ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	add_sec(f.as, ram, 0, 0, 256 * MiB);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	cfg.dma_limit_source = DMAKIT_DMA_LIMIT_FIXED;
	cfg.dma_max_mappings = 0;
	lfx_listen_ok(&f, &cfg);
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.dma_max_mappings, 0);
	assert_int_equal(b.qemu_estimate, 543);
	assert_false(b.qemu_check_fails);
	dmakit_listener_destroy(f.l);
	f.l = NULL;
	/* FIXED 600 on a container that says 542: 600 is used. */
	f.c = open_emu(542);
	cfg.dma_max_mappings = 600;
	lfx_listen_ok(&f, &cfg);
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.dma_max_mappings, 600);
	assert_int_equal(b.dma_avail_at_start, 542);
	dmakit_listener_destroy(f.l);
	f.l = NULL;
	/* QUERY_ABSENT_UNLIMITED with the capability present: DMA_AVAIL. */
	f.c = open_emu(542);
	cfg.dma_limit_source = DMAKIT_DMA_LIMIT_QUERY_ABSENT_UNLIMITED;
	ret_eq(lfx_listen(&f, &cfg), -ENOSPC);
	boundary_teardown(&f, ram, vm);
}

/* ------------------------------------------------------------------------ */
/* exact and coalesce                                                         */

static void test_exact_uses_true_peak_and_reports_both(void **state)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_EXACT, DMAKIT_TCG_MAX_MEMSLOTS);
	struct dmakit_memory_region *ram, *ram2;
	struct dmakit_virtio_mem *vm;
	struct dmakit_listener_budget b;
	struct dmakit_section s;
	struct lfx f;

	(void)state;
	/* pc.ram + ram2 (2 plain) + 32 granules: exact 34; qemu 543. */
	lfx_open(&f, 100);
	ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	ram2 = new_mr("ram2", DMAKIT_MR_RAM, 64 * MiB, HVA_BAR);
	vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	add_sec(f.as, ram, 0, 0, 256 * MiB);
	add_sec(f.as, ram2, 0, 2 * GiB, 64 * MiB);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	ok(vmem_req(vm, true, 0, 32, NULL));
	/* qemu refuses what exact accepts. */
	ret_eq(lfx_listen(&f, &(struct dmakit_listener_config){
		       .strategy = DMAKIT_LISTENER_QEMU, .max_memslots = 512,
		       .host_page_size = 4096 }), -ENOSPC);
	lfx_listen_ok(&f, &cfg);
	ok(dmakit_listener_budget(f.l, &b));
	assert_int_equal(b.plain_mappings, 2);
	assert_int_equal(b.rdm_chunks, 32);
	assert_int_equal(b.exact_peak, 34);
	assert_int_equal(b.qemu_estimate, 543);
	assert_int_equal(b.coalesce_peak, 2 + 16);
	assert_int_equal(b.live_mappings, 34);
	assert_true(b.qemu_check_fails);
	assert_false(b.exact_check_fails);
	/* Same mappings as qemu: one per granule. */
	assert_int_equal(nr_mappings(f.c), 34);
	verify_ok(f.l);
	dmakit_listener_destroy(f.l);
	f.l = NULL;

	/* At 33 the exact peak (34) is one above: refused, with both numbers. */
	f.c = open_emu(33);
	ret_eq(lfx_listen(&f, &cfg), -ENOSPC);
	contains(f.err, "this layout can need 34 mappings at once (2 plain sections + 32 granules "
			"of 1 discard-managed sections + 0 x 0 vIOMMU) > 33 available; QEMU's "
			"estimate would be 543");
	assert_int_equal(nr_mappings(f.c), 0);
	dmakit_container_close(f.c);

	/* At 34 it passes, and a plain hotplug (35) is refused before any map. */
	f.c = open_emu(34);
	lfx_listen_ok(&f, &cfg);
	s = sect(ram2, 0, 3 * GiB, 4 * KiB);
	ret_eq(dmakit_as_add_section(f.as, &s, f.err, sizeof(f.err)), -ENOSPC);
	contains(f.err, "can need 35 mappings");
	assert_int_equal(lstats(f.l).map_calls, 34);
	boundary_teardown(&f, ram, vm);
	ok(dmakit_mr_destroy(ram2));
}

/*
 * coalesce: one mapping per populated run. Splitting a run on type1 means
 * unmapping it whole and mapping back what stays: the window.
 */
static void test_coalesce_window_figures(void **state)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_COALESCE, DMAKIT_TCG_MAX_MEMSLOTS);
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	struct dmakit_listener_stats st;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	ok(vmem_req(vm, true, 0, 8, NULL));
	ok(vmem_req(vm, true, 20, 2, NULL));
	lfx_listen_ok(&f, &cfg);
	/* Replay: two runs, two mappings. */
	assert_int_equal(nr_mappings(f.c), 2);
	mapping_is(f.c, 0, 1 * GiB, 16 * MiB, HVA_VMEM, F_RW);
	mapping_is(f.c, 1, 1 * GiB + 40 * MiB, 4 * MiB, HVA_VMEM + 40 * MiB, F_RW);

	/* Unplug block 3 inside the 16 MiB run: unmap 16 MiB, map 6 + 8 MiB.
	 * Window: 14 MiB = 3584 pages left unmapped, 3 calls. */
	ok(vmem_req(vm, false, 3, 1, NULL));
	st = lstats(f.l);
	assert_int_equal(st.window_events, 1);
	assert_int_equal(st.window_split_events, 1);
	assert_int_equal(st.last_window_pages, 3584);
	assert_int_equal(st.last_window_ops, 3);
	mapping_is(f.c, 0, 1 * GiB, 6 * MiB, HVA_VMEM, F_RW);
	mapping_is(f.c, 1, 1 * GiB + 8 * MiB, 8 * MiB, HVA_VMEM + 8 * MiB, F_RW);
	assert_int_equal(nr_mappings(f.c), 3);

	/* Plug it back: the neighbours merge (one unmap over both, one map).
	 * Window: 14 MiB again, 2 calls. */
	ok(vmem_req(vm, true, 3, 1, NULL));
	st = lstats(f.l);
	assert_int_equal(st.window_merge_events, 1);
	assert_int_equal(st.last_window_pages, 3584);
	assert_int_equal(st.last_window_ops, 2);
	mapping_is(f.c, 0, 1 * GiB, 16 * MiB, HVA_VMEM, F_RW);
	assert_int_equal(nr_mappings(f.c), 2);

	/* Unplug at the run's edge (block 0): one piece of 14 MiB, 2 calls. */
	ok(vmem_req(vm, false, 0, 1, NULL));
	st = lstats(f.l);
	assert_int_equal(st.last_window_pages, 3584);
	assert_int_equal(st.last_window_ops, 2);
	/* Unplugging a whole run (blocks 20-21): no window. */
	ok(vmem_req(vm, false, 20, 2, NULL));
	/* A lone block away from any run: no window. */
	ok(vmem_req(vm, true, 30, 1, NULL));
	st = lstats(f.l);
	assert_int_equal(st.window_events, 3);
	assert_int_equal(st.window_pages_total, 3 * 3584);
	assert_int_equal(st.window_pages_max, 3584);
	assert_int_equal(st.window_ops_total, 3 + 2 + 2);
	assert_int_equal(st.window_ops_max, 3);
	assert_int_equal(nr_mappings(f.c), 2);
	verify_ok(f.l);

	/* The same steps under qemu: no window ever. */
	lfx_close(&f);
	f.c = open_emu(65535);
	lfx_listen_ok(&f, NULL);
	ok(vmem_req(vm, false, 5, 1, NULL));
	ok(vmem_req(vm, true, 5, 1, NULL));
	st = lstats(f.l);
	assert_int_equal(st.window_events, 0);
	assert_int_equal(nr_mappings(f.c), 8);
	lfx_close(&f);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(f.as);
}

/* guest_memfd under coalesce: the CVM case that motivates it. 16 shared
 * pages converted one by one become one mapping; making one private in the
 * middle is a window of 15 pages. */
static void test_coalesce_guest_memfd_pages(void **state)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_COALESCE, DMAKIT_TCG_MAX_MEMSLOTS);
	struct dmakit_memory_region *mr = new_mr("cvm.ram", DMAKIT_MR_RAM, 16 * MiB, HVA_GMEM);
	struct dmakit_guest_memfd *gm;
	struct dmakit_listener_stats st;
	struct lfx f;
	uint64_t i;

	(void)state;
	ok(dmakit_guest_memfd_create(mr, 0, &gm));
	lfx_open(&f, 65535);
	add_sec(f.as, mr, 0, 4 * GiB, 16 * MiB);
	lfx_listen_ok(&f, &cfg);
	for (i = 0; i < 16; i++)
		ok(dmakit_guest_memfd_convert(gm, i * PG, PG, false, NULL, NULL, 0));
	assert_int_equal(nr_mappings(f.c), 1);
	mapping_is(f.c, 0, 4 * GiB, 64 * KiB, HVA_GMEM, F_RW);
	st = lstats(f.l);
	/* Each page after the first merged with the run before it: 15 merges
	 * of 1..15 pages = 120 pages unmapped in all. */
	assert_int_equal(st.window_merge_events, 15);
	assert_int_equal(st.window_pages_total, 120);
	ok(dmakit_guest_memfd_convert(gm, 7 * PG, PG, true, NULL, NULL, 0));
	st = lstats(f.l);
	assert_int_equal(st.last_window_pages, 15);
	assert_int_equal(st.last_window_ops, 3);
	assert_int_equal(nr_mappings(f.c), 2);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_guest_memfd_destroy(gm));
	ok(dmakit_mr_destroy(mr));
}

/* guest_memfd under qemu: only shared pages mapped, 4 KiB each; a whole
 * conversion to private is one unmap. */
static void test_guest_memfd_shared_pages_mapped_per_page(void **state)
{
	struct dmakit_memory_region *mr = new_mr("cvm.ram", DMAKIT_MR_RAM, 16 * MiB, HVA_GMEM);
	struct dmakit_listener_stats st0, st1;
	struct dmakit_guest_memfd *gm;
	struct lfx f;

	(void)state;
	ok(dmakit_guest_memfd_create(mr, 0, &gm));
	lfx_open(&f, 65535);
	add_sec(f.as, mr, 0, 4 * GiB, 16 * MiB);
	lfx_listen_ok(&f, NULL);
	assert_int_equal(nr_mappings(f.c), 0);
	ok(dmakit_guest_memfd_convert(gm, 0, 64 * KiB, false, NULL, NULL, 0));
	assert_int_equal(nr_mappings(f.c), 16);
	mapping_is(f.c, 15, 4 * GiB + 60 * KiB, PG, HVA_GMEM + 60 * KiB, F_RW);
	st0 = lstats(f.l);
	assert_int_equal(st0.map_calls, 16);
	ok(dmakit_guest_memfd_convert(gm, 16 * KiB, 16 * KiB, true, NULL, NULL, 0));
	st1 = lstats(f.l);
	assert_int_equal(st1.unmap_calls - st0.unmap_calls, 1);
	assert_int_equal(nr_mappings(f.c), 12);
	/* Mixed back to shared: 4 populates, 4 maps. */
	ok(dmakit_guest_memfd_convert(gm, 0, 64 * KiB, false, NULL, NULL, 0));
	st0 = lstats(f.l);
	assert_int_equal(st0.map_calls - st1.map_calls, 4);
	ok(dmakit_guest_memfd_convert(gm, 0, 16 * MiB, true, NULL, NULL, 0));
	st1 = lstats(f.l);
	/* [0, 16 MiB) is mixed: one unmap per shared page. */
	assert_int_equal(st1.unmap_calls - st0.unmap_calls, 16);
	assert_int_equal(nr_mappings(f.c), 0);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_guest_memfd_destroy(gm));
	ok(dmakit_mr_destroy(mr));
}

/* ------------------------------------------------------------------------ */
/* vIOMMU                                                                     */

struct vfx {
	struct lfx f;
	struct dmakit_address_space *sys;
	struct dmakit_memory_region *ram, *iommu, *mmio;
	struct dmakit_virtio_mem *vm;
};

static void viommu_setup(struct vfx *v, bool refuse, uint64_t owr, uint64_t gpa)
{
	struct dmakit_mr_config cfg;

	lfx_open(&v->f, 65535);
	ok(dmakit_as_create("system", &v->sys));
	v->ram = new_mr("pc.ram", DMAKIT_MR_RAM, 512 * MiB, HVA_RAM);
	v->mmio = new_mr("mmio", DMAKIT_MR_MMIO, 1 * MiB, 0);
	v->vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	add_sec(v->sys, v->ram, 0, 0, 257 * MiB);
	add_sec(v->sys, v->mmio, 0, 0x80000000ull, 1 * MiB);
	ok(dmakit_virtio_mem_plug_device(v->vm, v->sys, NULL, 0));
	ok(vmem_req(v->vm, true, 0, 1, NULL));
	dmakit_mr_config_init(&cfg);
	cfg.name = "vtd-root";
	cfg.kind = DMAKIT_MR_IOMMU;
	cfg.size = 1ull << 39;
	cfg.iommu_target = v->sys;
	cfg.iommu_refuses_map_notifiers = refuse;
	ok(dmakit_mr_create(&cfg, &v->iommu));
	/* The device's DMA address space: the vIOMMU region. */
	add_sec(v->f.as, v->iommu, owr, gpa, 2 * GiB);
}

static void viommu_teardown(struct vfx *v)
{
	lfx_close(&v->f);
	dmakit_as_destroy(v->f.as);
	dmakit_virtio_mem_destroy(v->vm);
	dmakit_as_destroy(v->sys);
	ok(dmakit_mr_destroy(v->iommu));
	ok(dmakit_mr_destroy(v->ram));
	ok(dmakit_mr_destroy(v->mmio));
}

static int iomap(struct vfx *v, uint64_t iova, uint64_t target, uint64_t size, uint32_t perm)
{
	struct dmakit_iotlb_entry e = { .iova = iova, .translated_addr = target,
					.addr_mask = size - 1, .perm = perm };

	v->f.err[0] = '\0';
	return dmakit_iommu_notify_map(v->iommu, &e, v->f.err, sizeof(v->f.err));
}

static void test_viommu_one_mapping_per_event(void **state)
{
	struct dmakit_listener_stats st0, st1;
	struct vfx v;

	(void)state;
	viommu_setup(&v, false, 0, 0);
	/* A translation made before the listener: replayed. */
	ok(iomap(&v, 0x5000, 0x200000, PG, DMAKIT_IOMMU_RW));
	lfx_listen_ok(&v.f, NULL);
	assert_int_equal(disp_of(&v.f, 0), DMAKIT_SECTION_IOMMU);
	assert_int_equal(nr_mappings(v.f.c), 1);
	mapping_is(v.f.c, 0, 0x5000, PG, HVA_RAM + 0x200000, F_RW);
	/* Read-only translation: READ only. */
	ok(iomap(&v, 0x10000, 0x300000, PG, DMAKIT_IOMMU_RO));
	mapping_is(v.f.c, 1, 0x10000, PG, HVA_RAM + 0x300000, F_R);
	/* A 2 MiB IOTLB entry: one 2 MiB mapping. */
	ok(iomap(&v, 0x200000, 0x400000, 2 * MiB, DMAKIT_IOMMU_WO));
	mapping_is(v.f.c, 2, 0x200000, 2 * MiB, HVA_RAM + 0x400000, F_RW);
	/* Into plugged virtio-mem memory: fine; unplugged: refused. */
	ok(iomap(&v, 0x600000, 1 * GiB, PG, DMAKIT_IOMMU_RW));
	mapping_is(v.f.c, 3, 0x600000, PG, HVA_VMEM, F_RW);
	ret_eq(iomap(&v, 0x601000, 1 * GiB + 2 * MiB, PG, DMAKIT_IOMMU_RW), -EINVAL);
	contains(v.f.err, "iommu map to discarded memory");
	/* Into MMIO or nothing: refused. */
	ret_eq(iomap(&v, 0x602000, 0x80000000ull, PG, DMAKIT_IOMMU_RW), -EINVAL);
	contains(v.f.err, "non memory area");
	ret_eq(iomap(&v, 0x603000, 0x90000000ull, PG, DMAKIT_IOMMU_RW), -EINVAL);
	/* A target crossing the end of its section. */
	ret_eq(iomap(&v, 0x800000, 256 * MiB, 2 * MiB, DMAKIT_IOMMU_RW), -EINVAL);
	contains(v.f.err, "granularity incompatible");
	assert_int_equal(dmakit_iommu_count(v.iommu), 4);
	assert_int_equal(nr_mappings(v.f.c), 4);

	st0 = lstats(v.f.l);
	ok(dmakit_iommu_notify_unmap(v.iommu, 0x10000, PG - 1, NULL, 0));
	st1 = lstats(v.f.l);
	assert_int_equal(st1.unmap_calls - st0.unmap_calls, 1);
	assert_int_equal(nr_mappings(v.f.c), 3);
	assert_int_equal(dmakit_iommu_count(v.iommu), 3);
	verify_ok(v.f.l);

	/* Removing the section: one unmap over its range, notifier gone. */
	ok(dmakit_as_del_section(v.f.as, 0, NULL, 0));
	st0 = lstats(v.f.l);
	assert_int_equal(st0.unmap_calls - st1.unmap_calls, 1);
	assert_int_equal(nr_mappings(v.f.c), 0);
	ok(iomap(&v, 0x20000, 0x300000, PG, DMAKIT_IOMMU_RW));
	assert_int_equal(nr_mappings(v.f.c), 0);
	viommu_teardown(&v);
}

/* iova = entry iova + (gpa - offset_in_region); entries outside the
 * section are not heard. */
static void test_viommu_section_offset(void **state)
{
	struct vfx v;

	(void)state;
	viommu_setup(&v, false, 0x10000000ull, 0x20000000ull);
	lfx_listen_ok(&v.f, NULL);
	ok(iomap(&v, 0x10001000ull, 0x1000, PG, DMAKIT_IOMMU_RW));
	mapping_is(v.f.c, 0, 0x20001000ull, PG, HVA_RAM + 0x1000, F_RW);
	ok(iomap(&v, 0x1000, 0x2000, PG, DMAKIT_IOMMU_RW)); /* below the section */
	assert_int_equal(nr_mappings(v.f.c), 1);
	verify_ok(v.f.l);
	viommu_teardown(&v);
}

/* A failed map comes back to the vIOMMU, which does not record it. */
static void test_viommu_failed_map_not_recorded(void **state)
{
	struct vfx v;

	(void)state;
	viommu_setup(&v, false, 0, 0);
	lfx_listen_ok(&v.f, NULL);
	dmakit_fault_arm(DMAKIT_FAULT_BACKEND_CALL, 1, ENOSPC);
	ret_eq(iomap(&v, 0x5000, 0x200000, PG, DMAKIT_IOMMU_RW), -ENOSPC);
	dmakit_fault_disarm(DMAKIT_FAULT_BACKEND_CALL);
	assert_int_equal(dmakit_iommu_count(v.iommu), 0);
	assert_int_equal(nr_mappings(v.f.c), 0);
	viommu_teardown(&v);
}

/* intel-iommu without caching-mode: the listener cannot register. */
static void test_viommu_refusing_map_notifiers_fails_setup(void **state)
{
	struct vfx v;

	(void)state;
	viommu_setup(&v, true, 0, 0);
	ret_eq(lfx_listen(&v.f, NULL), -EPERM);
	contains(v.f.err, "memory listener initialization failed: Region vtd-root: ");
	contains(v.f.err, "caching-mode=on");
	viommu_teardown(&v);
}

/* exact counts a configured vIOMMU bound per vIOMMU section. */
static void test_exact_counts_viommu_bound(void **state)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_EXACT, 512);
	struct dmakit_listener_budget b;
	struct vfx v;

	(void)state;
	viommu_setup(&v, false, 0, 0);
	cfg.viommu_bound = 1000;
	dmakit_container_close(v.f.c);
	v.f.c = open_emu(999);
	ret_eq(lfx_listen(&v.f, &cfg), -ENOSPC);
	contains(v.f.err, "1000 mappings at once (0 plain sections + 0 granules of 0 "
			  "discard-managed sections + 1000 x 1 vIOMMU) > 999");
	dmakit_container_close(v.f.c);
	v.f.c = open_emu(1000);
	lfx_listen_ok(&v.f, &cfg);
	ok(dmakit_listener_budget(v.f.l, &b));
	assert_int_equal(b.exact_peak, 1000);
	assert_int_equal(b.iommu_sections, 1);
	assert_int_equal(b.qemu_estimate, 0); /* QEMU does not count vIOMMU mappings */
	viommu_teardown(&v);
}

/* ------------------------------------------------------------------------ */
/* CPR                                                                        */

static void test_cpr_invalidate_and_remap_identical_chunking(void **state)
{
	struct snap *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct dmakit_memory_region *ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	struct dmakit_container_stats cs;
	struct dmakit_listener_stats st;
	struct lfx f;
	size_t i;

	(void)state;
	lfx_open(&f, 65535);
	add_sec(f.as, ram, 0, 0, 256 * MiB);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	ok(vmem_req(vm, true, 2, 3, NULL));
	lfx_listen_ok(&f, NULL);
	take_snap(f.c, before);
	assert_int_equal(before->n, 4);

	ok(dmakit_listener_cpr_save(f.l, NULL, 0));
	ret_eq(dmakit_listener_cpr_save(f.l, NULL, 0), -EALREADY);
	ok(dmakit_container_stats(f.c, &cs));
	assert_int_equal(cs.invalid_vaddr_mappings, 4);
	verify_ok(f.l);
	/* While invalidated, events are refused. */
	ret_eq(vmem_req(vm, true, 10, 1, NULL), -EBUSY);

	/* The new process: memory at new addresses. */
	ok(dmakit_mr_set_hva(ram, HVA_RAM + 0x100000000ull));
	ok(dmakit_mr_set_hva(dmakit_virtio_mem_region(vm), HVA_VMEM + 0x100000000ull));
	ok(dmakit_listener_cpr_restore(f.l, NULL, 0));
	ret_eq(dmakit_listener_cpr_restore(f.l, NULL, 0), -EINVAL);
	take_snap(f.c, after);
	assert_int_equal(after->n, 4);
	assert_int_equal(after->dma_avail, before->dma_avail);
	for (i = 0; i < 4; i++) {
		assert_int_equal(after->m[i].iova, before->m[i].iova);
		assert_int_equal(after->m[i].size, before->m[i].size);
		assert_int_equal(after->m[i].flags, before->m[i].flags);
		assert_int_equal(after->m[i].vaddr, before->m[i].vaddr + 0x100000000ull);
		assert_true(after->m[i].vaddr_valid);
	}
	st = lstats(f.l);
	assert_int_equal(st.vaddr_calls, 1 + 4);
	verify_ok(f.l);
	ok(vmem_req(vm, true, 10, 1, NULL));
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
	free(before);
	free(after);
}

/* ------------------------------------------------------------------------ */
/* Two listeners, and hot-unplug                                              */

/* A change one listener refuses is undone on the other. */
static void test_two_listeners_all_or_nothing(void **state)
{
	struct dmakit_virtio_mem *vm = new_vmem(64 * MiB, 2 * MiB, 1 * GiB, 64 * MiB, false, 0);
	struct dmakit_container *c2 = open_emu(3);
	struct dmakit_listener *l2 = NULL;
	enum dmakit_virtio_mem_resp resp;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	ok(dmakit_virtio_mem_plug_device(vm, f.as, NULL, 0));
	lfx_listen_ok(&f, NULL);
	ok(dmakit_listener_create(c2, f.as, &(struct dmakit_listener_config){
					  .dma_limit_source = DMAKIT_DMA_LIMIT_FIXED,
					  .host_page_size = 4096 },
				  &l2, NULL, 0));
	ok(vmem_req(vm, true, 0, 2, &resp));
	/* The second container has room for 3: 4 more blocks fail there. */
	ret_eq(vmem_req(vm, true, 4, 4, &resp), -ENOSPC);
	assert_int_equal(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
	assert_int_equal(nr_mappings(f.c), 2);
	assert_int_equal(nr_mappings(c2), 2);
	verify_ok(f.l);
	verify_ok(l2);
	dmakit_listener_destroy(l2);
	lfx_close(&f);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(f.as);
}

static void test_hot_unplug_section_one_unmap_and_refusal(void **state)
{
	struct dmakit_memory_region *ram = new_mr("pc.ram", DMAKIT_MR_RAM, 256 * MiB, HVA_RAM);
	struct dmakit_memory_region *dimm = new_mr("dimm0", DMAKIT_MR_RAM, 128 * MiB, HVA_BAR);
	struct dmakit_listener_stats st0;
	struct lfx f;

	(void)state;
	lfx_open(&f, 65535);
	add_sec(f.as, ram, 0, 0, 256 * MiB);
	lfx_listen_ok(&f, NULL);
	add_sec(f.as, dimm, 0, 4 * GiB, 128 * MiB);
	assert_int_equal(nr_mappings(f.c), 2);
	st0 = lstats(f.l);
	dmakit_fault_arm(DMAKIT_FAULT_BACKEND_CALL, 1, EIO);
	ret_eq(dmakit_as_del_section(f.as, 4 * GiB, f.err, sizeof(f.err)), -EIO);
	dmakit_fault_disarm(DMAKIT_FAULT_BACKEND_CALL);
	contains(f.err, "Region dimm0: vfio_container_dma_unmap(0x100000000, 0x8000000) = -5");
	assert_int_equal(nr_mappings(f.c), 2);
	assert_int_equal(dmakit_as_section_count(f.as), 2);
	ok(dmakit_as_del_section(f.as, 4 * GiB, NULL, 0));
	assert_int_equal(lstats(f.l).unmap_calls - st0.unmap_calls, 2);
	assert_int_equal(nr_mappings(f.c), 1);
	verify_ok(f.l);
	lfx_close(&f);
	dmakit_as_destroy(f.as);
	ok(dmakit_mr_destroy(ram));
	ok(dmakit_mr_destroy(dimm));
}

/*
 * The record keeps a discard-managed section's granules as runs, split and
 * merged as pages change: random conversions (some with an allocation or a
 * backend call failing) on two sections of one guest_memfd region, the
 * first starting off a granule, keep verify() exact, the counts equal and a
 * failed conversion without any trace.
 */
static uint64_t runs_rng = 88172645463325252ull;

static uint64_t runs_rnd(void)
{
	runs_rng ^= runs_rng << 13;
	runs_rng ^= runs_rng >> 7;
	runs_rng ^= runs_rng << 17;
	return runs_rng;
}

static struct snap runs_before, runs_after;

static void runs_sweep(uint64_t gm_page, uint64_t sec_off, int iters, bool faults)
{
	struct dmakit_listener_config cfg = lcfg(DMAKIT_LISTENER_QEMU, DMAKIT_TCG_MAX_MEMSLOTS);
	struct dmakit_container *c = open_emu(65535);
	uint64_t rsize = 2 * MiB, npages = rsize / gm_page;
	struct dmakit_memory_region *mr;
	struct dmakit_address_space *as;
	struct dmakit_guest_memfd *gm;
	struct dmakit_listener *l;
	char err[512];
	int i, ret;

	ok(dmakit_as_create("sysmem", &as));
	mr = new_mr("cvm.ram", DMAKIT_MR_RAM, rsize, HVA_GMEM);
	ok(dmakit_guest_memfd_create(mr, gm_page, &gm));
	add_sec(as, mr, sec_off, 4 * GiB, 1 * MiB - sec_off);
	add_sec(as, mr, 1 * MiB, 4 * GiB + 1 * MiB + 64 * KiB, 1 * MiB);
	ok(dmakit_listener_create(c, as, &cfg, &l, err, sizeof(err)));
	for (i = 0; i < iters; i++) {
		uint64_t first = runs_rnd() % npages;
		uint64_t n = 1 + runs_rnd() % (runs_rnd() % 4 ? 8 : npages);
		bool priv = runs_rnd() & 1;
		enum dmakit_fault_point fp = DMAKIT_FAULT_ALLOC;
		uint64_t nth = 0;

		if (first + n > npages)
			n = npages - first;
		take_snap(c, &runs_before);
		if (faults && (runs_rnd() & 1)) {
			fp = (runs_rnd() & 1) ? DMAKIT_FAULT_ALLOC : DMAKIT_FAULT_BACKEND_CALL;
			nth = 1 + runs_rnd() % 6;
			dmakit_fault_arm(fp, nth, EIO);
		}
		ret = dmakit_guest_memfd_convert(gm, first * gm_page, n * gm_page, priv, NULL, err,
						 sizeof(err));
		if (nth)
			dmakit_fault_disarm(fp);
		else
			ok(ret);
		if (ret < 0 && ret != -ENOTRECOVERABLE) {
			take_snap(c, &runs_after);
			assert_snap_equal(&runs_before, &runs_after);
		}
		verify_ok(l);
		assert_int_equal(lstats(l).live_mappings, nr_mappings(c));
	}
	dmakit_listener_destroy(l);
	dmakit_as_destroy(as);
	ok(dmakit_guest_memfd_destroy(gm));
	ok(dmakit_mr_destroy(mr));
}

static void test_discard_runs_split_and_merge_exactly(void **state)
{
	(void)state;
	runs_sweep(4 * KiB, 0, 800, false);
	runs_sweep(16 * KiB, 4 * KiB, 800, false);
	runs_sweep(64 * KiB, 12 * KiB, 800, false);
	runs_sweep(4 * KiB, 0, 1500, true);
	runs_sweep(16 * KiB, 4 * KiB, 1500, true);
	runs_sweep(64 * KiB, 12 * KiB, 1500, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skip_rules),
		cmocka_unit_test(test_host_page_alignment_rounds_inwards),
		cmocka_unit_test(test_plain_section_one_mapping_readonly_is_read),
		cmocka_unit_test(test_ram_device_rules),
		cmocka_unit_test(test_discard_managed_granules_and_one_unmap),
		cmocka_unit_test(test_chunks_region_offsets_check_as_coordinates),
		cmocka_unit_test(test_populate_failure_one_unmap_rollback),
		cmocka_unit_test(test_discard_section_preconditions),
		cmocka_unit_test(test_check_boundary_at_init),
		cmocka_unit_test(test_check_boundary_at_runtime_hotplug),
		cmocka_unit_test(test_check_cvm_4k_granules_x86_defaults),
		cmocka_unit_test(test_check_reference_thresholds),
		cmocka_unit_test(test_check_new_dynamic_memslot_at_runtime),
		cmocka_unit_test(test_check_limit_sources),
		cmocka_unit_test(test_exact_uses_true_peak_and_reports_both),
		cmocka_unit_test(test_coalesce_window_figures),
		cmocka_unit_test(test_coalesce_guest_memfd_pages),
		cmocka_unit_test(test_guest_memfd_shared_pages_mapped_per_page),
		cmocka_unit_test(test_viommu_one_mapping_per_event),
		cmocka_unit_test(test_viommu_section_offset),
		cmocka_unit_test(test_viommu_failed_map_not_recorded),
		cmocka_unit_test(test_viommu_refusing_map_notifiers_fails_setup),
		cmocka_unit_test(test_exact_counts_viommu_bound),
		cmocka_unit_test(test_cpr_invalidate_and_remap_identical_chunking),
		cmocka_unit_test(test_two_listeners_all_or_nothing),
		cmocka_unit_test(test_hot_unplug_section_one_unmap_and_refusal),
		cmocka_unit_test(test_discard_runs_split_and_merge_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
