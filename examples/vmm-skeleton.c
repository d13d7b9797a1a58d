/* SPDX-License-Identifier: MIT */
/*
 * vmm-skeleton: the smallest VMM-shaped program built on dmakit's public
 * API only (<dmakit/dmakit.h>, linked with `pkg-config --cflags --libs
 * dmakit`). It does what a VMM's VFIO code does with guest memory:
 *
 *   1. open a container (the emulated kernel: needs no device, no root) and
 *      set the type1v2 IOMMU;
 *   2. build the guest's memory: 256 MiB of boot RAM at gpa 0 and a
 *      virtio-mem device of 64 MiB in 2 MiB blocks at 4 GiB, backed by real
 *      memory of this process (mmap, declared to the emulator);
 *   3. create the VFIO listener, which maps what every section needs;
 *   4. let the "guest" plug and unplug virtio-mem blocks, printing the
 *      container's mappings and DMA_AVAIL after each step;
 *   5. hotplug the same device into a second VM whose container allows too
 *      few DMA mappings: the listener's budget check refuses it (ENOSPC),
 *      the VMM reports it, and nothing has changed.
 *
 * Build against an installed dmakit:
 *   cc -o vmm-skeleton vmm-skeleton.c $(pkg-config --cflags --libs dmakit)
 * Exit status: 0 when every step behaved as described, 1 otherwise.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE under -std=c11 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/dmakit.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define RAM_SIZE (256 * MiB)
#define VMEM_SIZE (64 * MiB)
#define VMEM_BLOCK (2 * MiB)
#define VMEM_GPA (4 * GiB)

/* One guest: its memory model, its devices and the listener. */
struct vm {
	const char *name;
	struct dmakit_address_space *sysmem;
	struct dmakit_memory_region *ram;
	struct dmakit_virtio_mem *vmem;
	struct dmakit_listener *listener;
	void *ram_host, *vmem_host;
};

static int failures;

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "vmm-skeleton: unexpected: %s\n", what);
		failures++;
	}
}

static void *host_memory(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The container a VMM opens as /dev/vfio/vfio, here emulated with a given
 * vfio_iommu_type1.dma_entry_limit. */
static int open_container(uint32_t dma_entry_limit, struct vm *vm,
			  struct dmakit_container **out)
{
	struct dmakit_container_config cfg;
	int ret;

	dmakit_container_config_init(&cfg);
	cfg.backend = DMAKIT_BACKEND_EMU;
	cfg.iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
	cfg.dma_entry_limit = dma_entry_limit;
	ret = dmakit_container_open(&cfg, out);
	if (ret < 0) {
		fprintf(stderr, "%s: cannot open the container: %s\n", vm->name,
			dmakit_strerror(ret));
		return ret;
	}
	/* Pinning checks the memory is really ours, as the kernel does. */
	if ((ret = dmakit_container_declare_memory(*out, (uintptr_t)vm->ram_host, RAM_SIZE)) < 0 ||
	    (ret = dmakit_container_declare_memory(*out, (uintptr_t)vm->vmem_host, VMEM_SIZE)) < 0) {
		dmakit_container_close(*out);
		return ret;
	}
	return 0;
}

/* Boot RAM and a virtio-mem device, none of its blocks plugged yet. */
static int build_guest_memory(struct vm *vm)
{
	struct dmakit_mr_config mrc;
	struct dmakit_virtio_mem_config vmc;
	struct dmakit_section sec = { 0 };
	char err[512], warn[512];
	int ret;

	vm->ram_host = host_memory(RAM_SIZE);
	vm->vmem_host = host_memory(VMEM_SIZE);
	if (!vm->ram_host || !vm->vmem_host)
		return -ENOMEM;

	ret = dmakit_as_create("system-memory", &vm->sysmem);
	if (ret < 0)
		return ret;

	dmakit_mr_config_init(&mrc);
	mrc.name = "pc.ram";
	mrc.kind = DMAKIT_MR_RAM;
	mrc.size = RAM_SIZE;
	mrc.hva = (uintptr_t)vm->ram_host;
	ret = dmakit_mr_create(&mrc, &vm->ram);
	if (ret < 0)
		return ret;
	sec.mr = vm->ram;
	sec.gpa = 0;
	sec.offset_in_region = 0;
	sec.size = RAM_SIZE;
	ret = dmakit_as_add_section(vm->sysmem, &sec, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "%s: pc.ram: %s\n", vm->name, err);
		return ret;
	}

	dmakit_virtio_mem_config_init(&vmc);
	vmc.name = "vmem0";
	vmc.region_size = VMEM_SIZE;
	vmc.hva = (uintptr_t)vm->vmem_host;
	vmc.addr = VMEM_GPA;
	vmc.requested_size = VMEM_SIZE;
	vmc.block_size = VMEM_BLOCK;
	warn[0] = err[0] = '\0';
	ret = dmakit_virtio_mem_create(&vmc, &vm->vmem, warn, sizeof(warn), err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "%s: virtio-mem: %s\n", vm->name, err);
		return ret;
	}
	if (warn[0])
		printf("%s: virtio-mem: warning: %s\n", vm->name, warn);
	return 0;
}

/* The VFIO listener on the guest's memory, with TCG's 512 memslots (a KVM
 * VMM would keep the default, 32764). */
static int start_listener(struct vm *vm, struct dmakit_container *c)
{
	struct dmakit_listener_config lc;
	char err[2048];
	int ret;

	dmakit_listener_config_init(&lc);
	lc.max_memslots = DMAKIT_TCG_MAX_MEMSLOTS;
	err[0] = '\0';
	ret = dmakit_listener_create(c, vm->sysmem, &lc, &vm->listener, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", vm->name, err);
	return ret;
}

static void print_state(struct vm *vm, const char *when)
{
	struct dmakit_container *c = dmakit_listener_container(vm->listener);
	struct dmakit_type1_info info;
	struct dmakit_mapping m;
	uint64_t iova = 0;
	int n = 0;

	printf("%s: %s\n", vm->name, when);
	while (dmakit_container_seek_mapping(c, iova, &m) == 0) {
		printf("  map iova=0x%" PRIx64 " size=0x%" PRIx64 " %s%s\n", m.iova, m.size,
		       m.flags & DMAKIT_VFIO_DMA_MAP_FLAG_READ ? "r" : "",
		       m.flags & DMAKIT_VFIO_DMA_MAP_FLAG_WRITE ? "w" : "");
		n++;
		if (m.iova + m.size == 0)
			break; /* the mapping ends at the top of the space */
		iova = m.iova + m.size;
	}
	if (dmakit_container_query_info(c, &info) == 0 && info.has_dma_avail)
		printf("  %d mappings, DMA_AVAIL %" PRIu32 "\n", n, info.dma_avail);
	else
		printf("  %d mappings, DMA_AVAIL not reported\n", n);
}

static uint64_t mapping_count(struct vm *vm)
{
	struct dmakit_listener_stats st;

	dmakit_listener_stats(vm->listener, &st);
	return st.live_mappings;
}

/* A guest request to the virtio-mem device and the device's answer. */
static int guest_request(struct vm *vm, bool plug, uint64_t first_block, uint64_t nb)
{
	static const char *const resp_name[] = { "ACK", "NACK", "BUSY", "ERROR" };
	enum dmakit_virtio_mem_resp resp = DMAKIT_VIRTIO_MEM_RESP_ERROR;
	char err[512] = "";
	int ret;

	ret = dmakit_virtio_mem_request(vm->vmem, plug, VMEM_GPA + first_block * VMEM_BLOCK, nb,
					&resp, err, sizeof(err));
	printf("%s: guest %s blocks %" PRIu64 "-%" PRIu64 ": %s%s%s\n", vm->name,
	       plug ? "plugs" : "unplugs", first_block, first_block + nb - 1,
	       resp_name[resp], ret < 0 && err[0] ? ": " : "", ret < 0 ? err : "");
	return ret;
}

static void teardown(struct vm *vm, struct dmakit_container *bare)
{
	/* The listener first (it closes its container), then the devices, the
	 * address space and the regions. */
	if (vm->listener)
		dmakit_listener_destroy(vm->listener);
	else
		dmakit_container_close(bare);
	dmakit_virtio_mem_destroy(vm->vmem);
	dmakit_as_destroy(vm->sysmem);
	dmakit_mr_destroy(vm->ram);
	if (vm->ram_host)
		munmap(vm->ram_host, RAM_SIZE);
	if (vm->vmem_host)
		munmap(vm->vmem_host, VMEM_SIZE);
}

/* The first VM: boots, hotplugs virtio-mem, the guest plugs and unplugs. */
static void run_vm(void)
{
	struct vm vm = { .name = "vm1" };
	struct dmakit_container *c = NULL;
	char err[512];

	if (build_guest_memory(&vm) < 0 || open_container(65535, &vm, &c) < 0) {
		failures++;
		teardown(&vm, c);
		return;
	}
	if (start_listener(&vm, c) < 0) {
		failures++;
		teardown(&vm, c);
		return;
	}
	print_state(&vm, "booted");
	check(mapping_count(&vm) == 1, "one mapping for pc.ram");

	check(dmakit_virtio_mem_plug_device(vm.vmem, vm.sysmem, err, sizeof(err)) == 0,
	      "virtio-mem hotplug");
	check(guest_request(&vm, true, 0, 4) == 0, "plug of blocks 0-3");
	check(guest_request(&vm, true, 8, 2) == 0, "plug of blocks 8-9");
	print_state(&vm, "after the plugs");
	check(mapping_count(&vm) == 1 + 6, "one mapping per plugged block");

	check(guest_request(&vm, false, 1, 2) == 0, "unplug of blocks 1-2");
	check(guest_request(&vm, false, 1, 1) == -EINVAL, "unplug of an unplugged block: ERROR");
	print_state(&vm, "after the unplug");
	check(mapping_count(&vm) == 1 + 4, "unplugged blocks unmapped");
	check(dmakit_listener_verify(vm.listener, err, sizeof(err)) == 0,
	      "listener and container agree");
	teardown(&vm, NULL);
}

/*
 * The second VM: its container allows 542 DMA mappings. QEMU's check
 * counts 32 granules + 512 memslots - 1 = 543 > 542, so hotplugging the
 * virtio-mem device is refused; a VMM fails the device_add and the guest
 * keeps running with what it had.
 */
static void run_vm_over_budget(void)
{
	struct vm vm = { .name = "vm2" };
	struct dmakit_container *c = NULL;
	struct dmakit_listener_budget b;
	struct dmakit_virtio_mem_info vi;
	char err[2048];
	uint64_t before;
	int ret;

	if (build_guest_memory(&vm) < 0 || open_container(542, &vm, &c) < 0 ||
	    start_listener(&vm, c) < 0) {
		failures++;
		teardown(&vm, c);
		return;
	}
	print_state(&vm, "booted");
	before = mapping_count(&vm);
	err[0] = '\0';
	ret = dmakit_virtio_mem_plug_device(vm.vmem, vm.sysmem, err, sizeof(err));
	printf("%s: device_add virtio-mem: %s\n", vm.name,
	       ret == 0 ? "ok" : dmakit_errno_name(ret));
	if (ret < 0)
		printf("%s: refused: %s\n", vm.name, err);
	check(ret == -ENOSPC, "the budget check refuses the hotplug with ENOSPC");
	dmakit_virtio_mem_info(vm.vmem, &vi);
	check(vi.active_memslots == 0, "the refused device shows no section");
	check(mapping_count(&vm) == before, "the refusal changed no mapping");
	dmakit_listener_budget(vm.listener, &b);
	printf("%s: budget: dma_max_mappings %" PRIu32 ", live mappings %" PRIu64 "\n",
	       vm.name, b.dma_max_mappings, b.live_mappings);
	print_state(&vm, "after the refusal");
	teardown(&vm, NULL);
}

int main(void)
{
	printf("dmakit %s\n", dmakit_version());
	run_vm();
	run_vm_over_budget();
	if (failures) {
		fprintf(stderr, "vmm-skeleton: %d unexpected results\n", failures);
		return 1;
	}
	printf("vmm-skeleton: ok\n");
	return 0;
}
