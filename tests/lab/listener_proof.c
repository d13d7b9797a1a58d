/* SPDX-License-Identifier: MIT */
/*
 * The listener on the real kernel, proven with edu's DMA (run in the lab).
 *
 * Part A, virtio-mem: a 64 MiB device of 2 MiB blocks at guest address
 * 64 MiB (edu reaches IOVAs below 256 MiB) goes through plug and unplug
 * requests; after each step edu's DMA must succeed in every plugged block
 * and be stopped in every unplugged one (memory untouched; the IOMMU logs a
 * fault), and DMA_AVAIL must equal the limit minus the listener's mappings.
 *
 * Part B, the budget: with dma_entry_limit 500 the registration fails with
 * QEMU's check and leaves no mapping; with 560 a hotplugged second device is
 * refused at run time and nothing changes; with 10 and the check off, a plug
 * past the kernel's limit is refused (ENOSPC) and nothing changes.
 *
 * Part C, guest_memfd: an 8 MiB confidential region at 32 MiB: 4 KiB pages
 * converted to shared are DMA-able, private ones are not, one mapping per
 * shared page.
 *
 * Usage: listener_proof GROUP_PATH DEVICE_ADDRESS. One line per check; the
 * IOVAs expected to fault are printed as "expect-fault 0x..."; the last line
 * is "listener-proof: PASS" or the first failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/dmakit.h>

#include "edu.h"

#define LIMIT_PATH "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define MiB ((uint64_t)1 << 20)
#define PAGE ((uint64_t)4096)

#define VMEM_GPA (64 * MiB)
#define VMEM_SIZE (64 * MiB)
#define VMEM_BLOCK (2 * MiB)
#define VMEM_BLOCKS (VMEM_SIZE / VMEM_BLOCK)
#define VMEM2_GPA (128 * MiB)
#define GMFD_GPA (32 * MiB)
#define GMFD_SIZE (8 * MiB)

static const char *group_path, *device_address;
static int failures;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void die(const char *what, int err, const char *msg)
{
	printf("FAIL %s: %s%s%s\nlistener-proof: FAIL\n", what, dmakit_errno_name(err),
	       msg && *msg ? ": " : "", msg ? msg : "");
	exit(1);
}

static void set_limit(unsigned int limit)
{
	FILE *f = fopen(LIMIT_PATH, "we");

	if (!f || fprintf(f, "%u\n", limit) < 0 || fclose(f) != 0)
		die("set dma_entry_limit", -errno, LIMIT_PATH);
}

static struct dmakit_container *open_container(void)
{
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	int ret;

	dmakit_container_config_init(&cfg);
	cfg.backend = DMAKIT_BACKEND_LINUX;
	cfg.group_path = group_path;
	ret = dmakit_container_open(&cfg, &c);
	if (ret < 0)
		die("open container", ret, group_path);
	return c;
}

static uint32_t dma_avail(struct dmakit_container *c)
{
	struct dmakit_type1_info info;
	int ret = dmakit_container_query_info(c, &info);

	if (ret < 0 || !info.has_dma_avail)
		die("GET_INFO", ret, "no DMA_AVAIL");
	return info.dma_avail;
}

static void *host_memory(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", -errno, NULL);
	return p;
}

/*
 * edu reads the page at @iova and writes it back one page further; @host is
 * the host view of @iova. Mapped: the copy arrives. Unmapped: the second
 * page keeps its marker.
 */
static bool dma_works(struct dmakit_device *dev, uint64_t iova, uint8_t *host, unsigned int seed)
{
	unsigned int i;
	int ret;

	for (i = 0; i < EDU_DMA_BYTES; i++)
		host[i] = (uint8_t)(i * 13 + seed);
	memset(host + PAGE, 0, EDU_DMA_BYTES);
	ret = edu_read_from(dev, iova);
	if (ret == 0)
		ret = edu_write_to(dev, iova + PAGE);
	return ret == 0 && memcmp(host, host + PAGE, EDU_DMA_BYTES) == 0;
}

static bool dma_blocked(struct dmakit_device *dev, uint64_t iova, uint8_t *host)
{
	unsigned int i;

	memset(host + PAGE, 0x5a, EDU_DMA_BYTES);
	if (edu_write_to(dev, iova + PAGE) != 0)
		return false;
	printf("expect-fault 0x%" PRIx64 "\n", iova + PAGE);
	for (i = 0; i < EDU_DMA_BYTES; i++)
		if (host[PAGE + i] != 0x5a)
			return false;
	return true;
}

static struct dmakit_virtio_mem *make_vmem(uint64_t gpa, uint8_t *hva, const char *name)
{
	struct dmakit_virtio_mem_config vcfg;
	struct dmakit_virtio_mem *vm;
	char err[256];
	int ret;

	dmakit_virtio_mem_config_init(&vcfg);
	vcfg.name = name;
	vcfg.region_size = VMEM_SIZE;
	vcfg.hva = (uintptr_t)hva;
	vcfg.addr = gpa;
	vcfg.requested_size = VMEM_SIZE;
	vcfg.block_size = VMEM_BLOCK;
	ret = dmakit_virtio_mem_create(&vcfg, &vm, NULL, 0, err, sizeof(err));
	if (ret < 0)
		die("virtio-mem create", ret, err);
	return vm;
}

static int request(struct dmakit_virtio_mem *vm, bool plug, uint64_t first, uint64_t n)
{
	char err[512];

	return dmakit_virtio_mem_request(vm, plug, VMEM_GPA + first * VMEM_BLOCK, n, NULL, err,
					 sizeof(err));
}

static void listener_config(struct dmakit_listener_config *cfg)
{
	dmakit_listener_config_init(cfg);
	cfg->max_memslots = DMAKIT_TCG_MAX_MEMSLOTS; /* the lab runs QEMU without KVM */
}

/* Every block: plugged ones DMA, unplugged ones do not; DMA_AVAIL adds up. */
static void check_blocks(struct dmakit_listener *l, struct dmakit_device *dev,
			 struct dmakit_virtio_mem *vm, uint8_t *hva, uint32_t limit,
			 const char *step)
{
	struct dmakit_listener_stats st;
	uint64_t i, plugged = 0;
	bool all_ok = true;

	for (i = 0; i < VMEM_BLOCKS; i++) {
		uint64_t iova = VMEM_GPA + i * VMEM_BLOCK;
		uint8_t *host = hva + i * VMEM_BLOCK;
		bool ok;

		if (dmakit_virtio_mem_block_plugged(vm, i)) {
			plugged++;
			ok = dma_works(dev, iova, host, (unsigned int)i);
		} else {
			ok = dma_blocked(dev, iova, host);
		}
		if (!ok) {
			check(false, "%s: block %" PRIu64 " (%s)", step, i,
			      dmakit_virtio_mem_block_plugged(vm, i) ? "plugged, DMA failed"
								     : "unplugged, DMA got through");
			all_ok = false;
		}
	}
	dmakit_listener_stats(l, &st);
	check(all_ok, "%s: edu DMA works in all %" PRIu64 " plugged blocks and is stopped in the "
		      "%" PRIu64 " unplugged ones", step, plugged, VMEM_BLOCKS - plugged);
	check(st.live_mappings == plugged && dma_avail(dmakit_listener_container(l)) ==
	      limit - plugged, "%s: %" PRIu64 " mappings, DMA_AVAIL %u = %u - %" PRIu64, step,
	      st.live_mappings, dma_avail(dmakit_listener_container(l)), limit, plugged);
}

static void part_virtio_mem(void)
{
	struct dmakit_listener_config cfg;
	struct dmakit_address_space *as;
	struct dmakit_virtio_mem *vm;
	struct dmakit_listener *l;
	struct dmakit_device *dev;
	uint8_t *hva = host_memory(VMEM_SIZE);
	char err[512];
	int ret;

	set_limit(65535);
	if (dmakit_as_create("system", &as) < 0)
		die("as", -ENOMEM, NULL);
	vm = make_vmem(VMEM_GPA, hva, "vmem0");
	ret = dmakit_virtio_mem_plug_device(vm, as, err, sizeof(err));
	if (ret < 0)
		die("plug device", ret, err);
	listener_config(&cfg);
	{
		struct dmakit_container *c = open_container();

		ret = dmakit_listener_create(c, as, &cfg, &l, err, sizeof(err));
		if (ret < 0)
			die("listener", ret, err);
	}
	ret = edu_open(dmakit_listener_container(l), device_address, &dev);
	if (ret < 0)
		die("edu", ret, device_address);

	check(request(vm, true, 0, 4) == 0 && request(vm, true, 8, 2) == 0 &&
	      request(vm, true, 20, 1) == 0 && request(vm, true, 31, 1) == 0,
	      "virtio-mem: plug blocks 0-3, 8-9, 20, 31");
	check_blocks(l, dev, vm, hva, 65535, "after plugging");
	check(request(vm, false, 1, 2) == 0 && request(vm, false, 20, 1) == 0 &&
	      request(vm, true, 12, 4) == 0, "virtio-mem: unplug 1-2 and 20, plug 12-15");
	check_blocks(l, dev, vm, hva, 65535, "after unplug and replug");

	dmakit_device_close(dev);
	dmakit_listener_destroy(l);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(as);
	munmap(hva, VMEM_SIZE);
}

static void part_budget(void)
{
	struct dmakit_listener_config cfg;
	struct dmakit_address_space *as;
	struct dmakit_virtio_mem *vm, *vm2;
	struct dmakit_container *c;
	struct dmakit_listener *l;
	struct dmakit_listener_stats st;
	struct dmakit_device *dev;
	uint8_t *hva = host_memory(VMEM_SIZE), *hva2 = host_memory(VMEM_SIZE);
	char err[1024];
	int ret;

	/* B1: 32 blocks + 512 memslots - 1 section = 543 > 500: refused at init. */
	set_limit(500);
	dmakit_as_create("system", &as);
	vm = make_vmem(VMEM_GPA, hva, "vmem0");
	dmakit_virtio_mem_plug_device(vm, as, err, sizeof(err));
	listener_config(&cfg);
	c = open_container();
	ret = dmakit_listener_create(c, as, &cfg, &l, err, sizeof(err));
	check(ret == -ENOSPC, "limit 500: registration refused (%s): %s", dmakit_errno_name(ret), err);
	check(dma_avail(c) == 500, "limit 500: no mapping left behind (DMA_AVAIL %u)", dma_avail(c));
	dmakit_container_close(c);

	/* B2: 543 <= 560 passes; a second device would make 64 + 512 - 2 = 574. */
	set_limit(560);
	c = open_container();
	ret = dmakit_listener_create(c, as, &cfg, &l, err, sizeof(err));
	if (ret < 0)
		die("limit 560: listener", ret, err);
	check(request(vm, true, 0, 8) == 0, "limit 560: plug 8 blocks");
	vm2 = make_vmem(VMEM2_GPA, hva2, "vmem1");
	ret = dmakit_virtio_mem_plug_device(vm2, as, err, sizeof(err));
	dmakit_listener_stats(l, &st);
	check(ret == -ENOSPC, "limit 560: hotplug of a second device refused at run time (%s): %s",
	      dmakit_errno_name(ret), err);
	check(st.live_mappings == 8 && dma_avail(dmakit_listener_container(l)) == 552,
	      "limit 560: nothing changed (%" PRIu64 " mappings, DMA_AVAIL %u)", st.live_mappings,
	      dma_avail(dmakit_listener_container(l)));
	ret = edu_open(dmakit_listener_container(l), device_address, &dev);
	if (ret < 0)
		die("edu", ret, device_address);
	check(dma_works(dev, VMEM_GPA + 7 * VMEM_BLOCK, hva + 7 * VMEM_BLOCK, 7) &&
	      dma_blocked(dev, VMEM2_GPA, hva2),
	      "limit 560: the first device's blocks still DMA, the refused device's do not");
	dmakit_device_close(dev);
	dmakit_listener_destroy(l);
	dmakit_virtio_mem_destroy(vm2);
	check(request(vm, false, 0, 8) == 0, "unplug the 8 blocks");

	/* B3: the check off (as QEMU before 10.2 only warned); the kernel's
	 * limit of 10 refuses the plug that would need an 11th mapping. */
	set_limit(10);
	cfg.dma_limit_source = DMAKIT_DMA_LIMIT_FIXED;
	cfg.dma_max_mappings = 0;
	c = open_container();
	ret = dmakit_listener_create(c, as, &cfg, &l, err, sizeof(err));
	if (ret < 0)
		die("limit 10: listener", ret, err);
	check(request(vm, true, 0, 8) == 0, "limit 10: plug 8 blocks");
	ret = request(vm, true, 8, 4);
	dmakit_listener_stats(l, &st);
	check(ret == -ENOSPC, "limit 10: a plug of 4 more blocks is refused by the kernel (%s)",
	      dmakit_errno_name(ret));
	check(st.live_mappings == 8 && dma_avail(dmakit_listener_container(l)) == 2 &&
	      !dmakit_virtio_mem_block_plugged(vm, 8),
	      "limit 10: nothing changed (%" PRIu64 " mappings, DMA_AVAIL %u, block 8 unplugged)",
	      st.live_mappings, dma_avail(dmakit_listener_container(l)));
	ret = edu_open(dmakit_listener_container(l), device_address, &dev);
	if (ret < 0)
		die("edu", ret, device_address);
	check(dma_works(dev, VMEM_GPA, hva, 1) &&
	      dma_blocked(dev, VMEM_GPA + 8 * VMEM_BLOCK, hva + 8 * VMEM_BLOCK),
	      "limit 10: block 0 DMAs, block 8 (refused) does not");
	dmakit_device_close(dev);
	dmakit_listener_destroy(l);
	dmakit_virtio_mem_destroy(vm);
	dmakit_as_destroy(as);
	set_limit(65535);
	munmap(hva, VMEM_SIZE);
	munmap(hva2, VMEM_SIZE);
}

static void part_guest_memfd(void)
{
	static const uint64_t shared_pages[] = { 0, 20, 100 }, private_pages[] = { 1, 50, 200 };
	struct dmakit_listener_config cfg;
	struct dmakit_mr_config mcfg;
	struct dmakit_memory_region *mr;
	struct dmakit_address_space *as;
	struct dmakit_guest_memfd *gm;
	struct dmakit_listener *l;
	struct dmakit_listener_stats st;
	struct dmakit_device *dev;
	struct dmakit_section s = { 0 };
	uint8_t *hva = host_memory(GMFD_SIZE);
	char err[512];
	bool ok = true;
	size_t i;
	int ret;

	set_limit(65535);
	dmakit_as_create("system", &as);
	dmakit_mr_config_init(&mcfg);
	mcfg.name = "ram-cvm";
	mcfg.kind = DMAKIT_MR_RAM;
	mcfg.size = GMFD_SIZE;
	mcfg.hva = (uintptr_t)hva;
	if ((ret = dmakit_mr_create(&mcfg, &mr)) < 0)
		die("mr", ret, NULL);
	if ((ret = dmakit_guest_memfd_create(mr, PAGE, &gm)) < 0)
		die("guest_memfd", ret, NULL);
	s.mr = mr;
	s.gpa = GMFD_GPA;
	s.size = GMFD_SIZE;
	if ((ret = dmakit_as_add_section(as, &s, err, sizeof(err))) < 0)
		die("section", ret, err);
	listener_config(&cfg);
	ret = dmakit_listener_create(open_container(), as, &cfg, &l, err, sizeof(err));
	if (ret < 0)
		die("listener", ret, err);
	ret = edu_open(dmakit_listener_container(l), device_address, &dev);
	if (ret < 0)
		die("edu", ret, device_address);

	/* Shared: page 0, pages 16-31 (one 64 KiB conversion), page 100; each
	 * DMA check also touches the next page, so make those shared too. */
	check(dmakit_guest_memfd_convert(gm, 0, 2 * PAGE, false, NULL, err, sizeof(err)) == 0 &&
	      dmakit_guest_memfd_convert(gm, 16 * PAGE, 16 * PAGE, false, NULL, err, sizeof(err)) == 0 &&
	      dmakit_guest_memfd_convert(gm, 100 * PAGE, 2 * PAGE, false, NULL, err, sizeof(err)) == 0 &&
	      dmakit_guest_memfd_convert(gm, 1 * PAGE, PAGE, true, NULL, err, sizeof(err)) == 0,
	      "guest_memfd: pages 0, 16-31, 100-101 converted to shared at 4 KiB");
	dmakit_listener_stats(l, &st);
	check(st.live_mappings == 1 + 16 + 2 &&
	      dma_avail(dmakit_listener_container(l)) == 65535 - 19,
	      "guest_memfd: one mapping per shared page (%" PRIu64 "), DMA_AVAIL %u",
	      st.live_mappings, dma_avail(dmakit_listener_container(l)));
	/* A shared page whose next page is shared too: 20 (21), 100 (101); page
	 * 0's next page (1) is private, so check page 0 by reading it only. */
	for (i = 1; i < sizeof(shared_pages) / sizeof(shared_pages[0]); i++)
		ok &= dma_works(dev, GMFD_GPA + shared_pages[i] * PAGE, hva + shared_pages[i] * PAGE,
				(unsigned int)i);
	ok &= edu_read_from(dev, GMFD_GPA) == 0;
	for (i = 0; i < sizeof(private_pages) / sizeof(private_pages[0]); i++)
		ok &= dma_blocked(dev, GMFD_GPA + (private_pages[i] - 1) * PAGE,
				  hva + (private_pages[i] - 1) * PAGE);
	check(ok, "guest_memfd: edu DMA works in shared pages and is stopped in private ones");

	check(dmakit_guest_memfd_convert(gm, 21 * PAGE, PAGE, true, NULL, err, sizeof(err)) == 0,
	      "guest_memfd: page 21 converted back to private");
	dmakit_listener_stats(l, &st);
	check(st.live_mappings == 18 && dma_avail(dmakit_listener_container(l)) == 65535 - 18 &&
	      dma_blocked(dev, GMFD_GPA + 20 * PAGE, hva + 20 * PAGE) &&
	      dma_works(dev, GMFD_GPA + 22 * PAGE, hva + 22 * PAGE, 9),
	      "guest_memfd: page 21 now stops DMA, its neighbours still DMA (%" PRIu64 " mappings)",
	      st.live_mappings);

	dmakit_device_close(dev);
	dmakit_listener_destroy(l);
	dmakit_as_del_section(as, GMFD_GPA, err, sizeof(err));
	dmakit_guest_memfd_destroy(gm);
	dmakit_mr_destroy(mr);
	dmakit_as_destroy(as);
	munmap(hva, GMFD_SIZE);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: listener_proof GROUP_PATH DEVICE_ADDRESS\n");
		return 2;
	}
	group_path = argv[1];
	device_address = argv[2];
	part_virtio_mem();
	part_budget();
	part_guest_memfd();
	printf("listener-proof: %s (%d failures)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
