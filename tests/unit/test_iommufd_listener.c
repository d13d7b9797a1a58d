/* SPDX-License-Identifier: MIT */
/*
 * The same VM run by the listener (include/dmakit/listener.h) over the two
 * kernels a VMM may meet: VFIO type1 (backend "emu") and iommufd's vfio
 * compat layer (backend "emu-iommufd"). The figures side by side:
 *
 *                       type1                     iommufd-compat
 *   mappings            one per map               the same areas
 *   DMA_AVAIL           65535 - mappings          U32_MAX, constant
 *   listener's limit    65535 (QUERY)             U32_MAX (QUERY): in effect
 *                                                 unchecked; QEMU's native
 *                                                 iommufd backend leaves
 *                                                 dma_max_mappings 0 (FIXED 0)
 *   locked (no CAP_IPC_LOCK)  pages per mapping   pages per pinned page,
 *                                                 mm->locked_vm (compat is MM)
 *   locked (CAP_IPC_LOCK)     counted, not limited  not counted (mode NONE)
 *   kernel objects      96 B per vfio_dma         144 B per iopt_area
 *
 * and a layout that QEMU's budget check refuses on type1 (virtio-mem with
 * 65536 granules) is accepted on iommufd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dmakit/iommufd.h>

#include "listener_fixture.h"

struct vm {
	struct dmakit_address_space *as;
	struct dmakit_memory_region *ram, *high;
	struct dmakit_virtio_mem *vmem;
	struct dmakit_listener *l;
	struct dmakit_container *c;
};

static struct dmakit_container *open_backend(enum dmakit_backend_kind kind, bool ipc_lock)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c = NULL;

	dmakit_container_config_init(&cfg);
	cfg.backend = kind;
	cfg.cap_ipc_lock = ipc_lock;
	cfg.model_page_tables = false;
	ok(dmakit_container_open(&cfg, &c));
	return c;
}

/* 2 GiB below the MSI window, 1 GiB above 4 GiB, virtio-mem of @vmem_size at
 * 8 GiB with 2 MiB blocks and @plugged blocks plugged. */
static int vm_start(struct vm *v, enum dmakit_backend_kind kind, bool ipc_lock,
		    uint64_t vmem_size, uint64_t plugged, const struct dmakit_listener_config *cfg,
		    char *err, size_t errlen)
{
	int ret;

	memset(v, 0, sizeof(*v));
	ok(dmakit_as_create("sysmem", &v->as));
	v->ram = new_mr("pc.ram", DMAKIT_MR_RAM, 2 * GiB, HVA_RAM);
	v->high = new_mr("pc.ram.high", DMAKIT_MR_RAM, 1 * GiB, HVA_RAM + 2 * GiB);
	add_sec(v->as, v->ram, 0, 0, 2 * GiB);
	add_sec(v->as, v->high, 0, 4 * GiB, 1 * GiB);
	v->vmem = new_vmem(vmem_size, 2 * MiB, 8 * GiB, vmem_size, false, 0);
	ok(dmakit_virtio_mem_plug_device(v->vmem, v->as, NULL, 0));
	if (plugged)
		ok(vmem_req(v->vmem, true, 0, plugged, NULL));
	v->c = open_backend(kind, ipc_lock);
	ret = dmakit_listener_create(v->c, v->as, cfg, &v->l, err, errlen);
	if (ret < 0) {
		dmakit_container_close(v->c);
		v->c = NULL;
	}
	return ret;
}

static void vm_stop(struct vm *v)
{
	if (v->l)
		dmakit_listener_destroy(v->l);
	dmakit_virtio_mem_destroy(v->vmem);
	dmakit_as_destroy(v->as);
	ok(dmakit_mr_destroy(v->ram));
	ok(dmakit_mr_destroy(v->high));
}

static struct dmakit_container_stats cstats(struct dmakit_container *c)
{
	struct dmakit_container_stats s;

	ok(dmakit_container_stats(c, &s));
	return s;
}

static void test_same_vm_on_type1_and_iommufd_compat(void **state FX_UNUSED)
{
	struct vm t1, fd;
	struct dmakit_listener_budget b1, bf;
	struct dmakit_container_stats s1, sf;
	struct dmakit_type1_info i1, ifd;
	char err[512];
	uint64_t n, k, addr = 0;

	ok(vm_start(&t1, DMAKIT_BACKEND_EMU, false, 64 * MiB, 5, NULL, err, sizeof(err)));
	ok(vm_start(&fd, DMAKIT_BACKEND_EMU_IOMMUFD, false, 64 * MiB, 5, NULL, err, sizeof(err)));
	t1.c = dmakit_listener_container(t1.l);
	fd.c = dmakit_listener_container(fd.l);

	/* The same mappings, one by one. */
	n = nr_mappings(t1.c);
	assert_int_equal(n, 2 + 5);
	assert_int_equal(nr_mappings(fd.c), n);
	for (k = 0; k < n; k++) {
		struct dmakit_mapping a, b;

		ok(dmakit_container_seek_mapping(t1.c, addr, &a));
		ok(dmakit_container_seek_mapping(fd.c, addr, &b));
		assert_int_equal(a.iova, b.iova);
		assert_int_equal(a.size, b.size);
		assert_int_equal(a.vaddr, b.vaddr);
		assert_int_equal(a.flags, b.flags);
		addr = a.iova + a.size;
	}
	verify_ok(t1.l);
	verify_ok(fd.l);

	/* DMA_AVAIL: type1 counts down, compat reports U32_MAX always. */
	ok(dmakit_container_query_info(t1.c, &i1));
	ok(dmakit_container_query_info(fd.c, &ifd));
	assert_int_equal(i1.dma_avail, 65535 - n);
	assert_true(ifd.dma_avail == UINT32_MAX);
	assert_false(ifd.has_migration);
	assert_true(i1.has_migration);
	assert_int_equal(i1.pgsizes, ifd.pgsizes);
	assert_int_equal(i1.nr_iova_ranges, ifd.nr_iova_ranges);

	/* The listener's limit, read at creation. */
	ok(dmakit_listener_budget(t1.l, &b1));
	ok(dmakit_listener_budget(fd.l, &bf));
	assert_int_equal(b1.dma_max_mappings, 65535);
	assert_true(bf.dma_max_mappings == UINT32_MAX);
	assert_int_equal(b1.qemu_estimate, bf.qemu_estimate);
	assert_int_equal(b1.qemu_estimate, 32 + DMAKIT_KVM_X86_MAX_MEMSLOTS - 1);

	/* Locked memory without CAP_IPC_LOCK: the same bytes here (no memory
	 * is mapped twice); kernel objects: 96 vs 144 bytes per mapping. */
	s1 = cstats(t1.c);
	sf = cstats(fd.c);
	assert_int_equal(s1.mapped_bytes, 3 * GiB + 10 * MiB);
	assert_int_equal(sf.mapped_bytes, s1.mapped_bytes);
	assert_int_equal(s1.locked_bytes, s1.mapped_bytes);
	assert_int_equal(sf.locked_bytes, s1.mapped_bytes);
	assert_int_equal(s1.kernel_object_bytes, n * DMAKIT_KERNEL_VFIO_DMA_BYTES);
	assert_int_equal(sf.kernel_object_bytes, n * DMAKIT_KERNEL_IOPT_AREA_BYTES);

	/* Plug and unplug on both: they stay equal. */
	ok(vmem_req(t1.vmem, true, 10, 4, NULL));
	ok(vmem_req(fd.vmem, true, 10, 4, NULL));
	ok(vmem_req(t1.vmem, false, 11, 2, NULL));
	ok(vmem_req(fd.vmem, false, 11, 2, NULL));
	assert_int_equal(nr_mappings(t1.c), nr_mappings(fd.c));
	assert_int_equal(cstats(t1.c).locked_bytes, cstats(fd.c).locked_bytes);
	verify_ok(t1.l);
	verify_ok(fd.l);

	/* CPR needs VFIO_UPDATE_VADDR, which compat does not offer. */
	ret_eq(dmakit_listener_cpr_save(fd.l, err, sizeof(err)), -EOPNOTSUPP);
	ok(dmakit_listener_cpr_save(t1.l, err, sizeof(err)));
	ok(dmakit_listener_cpr_restore(t1.l, err, sizeof(err)));

	vm_stop(&t1);
	vm_stop(&fd);
}

static void test_cap_ipc_lock_type1_counts_iommufd_does_not(void **state FX_UNUSED)
{
	struct vm t1, fd;
	char err[512];

	ok(vm_start(&t1, DMAKIT_BACKEND_EMU, true, 64 * MiB, 2, NULL, err, sizeof(err)));
	ok(vm_start(&fd, DMAKIT_BACKEND_EMU_IOMMUFD, true, 64 * MiB, 2, NULL, err, sizeof(err)));
	assert_int_equal(cstats(dmakit_listener_container(t1.l)).locked_bytes, 3 * GiB + 4 * MiB);
	assert_int_equal(cstats(dmakit_listener_container(fd.l)).locked_bytes, 0);
	vm_stop(&t1);
	vm_stop(&fd);
}

static void test_budget_refused_on_type1_accepted_on_iommufd(void **state FX_UNUSED)
{
	struct dmakit_listener_config fixed0;
	struct dmakit_listener_budget b;
	struct vm t1, fd, native;
	char err[512];

	/* 128 GiB of virtio-mem in 2 MiB blocks: 65536 granules, so QEMU's
	 * estimate 65536 + 32764 - 1 exceeds type1's 65535. */
	ret_eq(vm_start(&t1, DMAKIT_BACKEND_EMU, true, 128 * GiB, 1, NULL, err, sizeof(err)),
	       -ENOSPC);
	contains(err, "memory listener initialization failed");
	ok(vm_start(&fd, DMAKIT_BACKEND_EMU_IOMMUFD, true, 128 * GiB, 1, NULL, err, sizeof(err)));
	ok(dmakit_listener_budget(fd.l, &b));
	assert_false(b.qemu_check_fails);
	/* QEMU's native iommufd backend: dma_max_mappings stays 0. */
	dmakit_listener_config_init(&fixed0);
	fixed0.dma_limit_source = DMAKIT_DMA_LIMIT_FIXED;
	fixed0.dma_max_mappings = 0;
	ok(vm_start(&native, DMAKIT_BACKEND_EMU_IOMMUFD, true, 128 * GiB, 1, &fixed0, err,
		    sizeof(err)));
	ok(dmakit_listener_budget(native.l, &b));
	assert_int_equal(b.dma_max_mappings, 0);
	assert_false(b.qemu_check_fails);
	vm_stop(&t1);
	vm_stop(&fd);
	vm_stop(&native);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_vm_on_type1_and_iommufd_compat),
		cmocka_unit_test(test_cap_ipc_lock_type1_counts_iommufd_does_not),
		cmocka_unit_test(test_budget_refused_on_type1_accepted_on_iommufd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
