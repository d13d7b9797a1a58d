/* SPDX-License-Identifier: MIT */
/*
 * dmakit plan / sim: the VM's memory layout built in the library (public
 * API only): the x86 PC memory map (docs/plan.md), guest_memfd attributes
 * for a confidential guest, virtio-mem devices, a vIOMMU region, and one
 * listener per container over the emulated type1 kernel. plan reads its
 * numbers from the listeners; sim drives the same layout step by step.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define HVA_RAM   0x100000000000ull
#define HVA_ROM   0x180000000000ull
#define HVA_BIOS  0x180100000000ull
#define HVA_VMEM  0x200000000000ull /* + i * HVA_STRIDE */
#define HVA_STRIDE 0x100000000000ull
#define FOUR_G    0x100000000ull
#define VIOMMU_AS_SIZE (1ull << 48)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* @v rounded up to a multiple of @a (> 0), UINT64_MAX if that wraps. */
static uint64_t align_up_sat(uint64_t v, uint64_t a)
{
	uint64_t r;

	if (__builtin_add_overflow(v, a - 1, &r))
		return UINT64_MAX;
	return r / a * a;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static const struct plan_backend *backend_of(const struct plan_vm *vm, const char *id);

void plan_layout_place(const struct plan_vm *vm, struct plan_placement *p)
{
	uint64_t lowmem, devbase;
	size_t i;

	memset(p, 0, sizeof(*p));
	/* The RAM split (hw/i386/pc_q35.c, pc_piix.c). */
	if (vm->machine == PLAN_Q35)
		lowmem = vm->ram >= 0xb0000000ull ? 0x80000000ull : 0xb0000000ull;
	else
		lowmem = vm->ram >= 0xe0000000ull ? 0xc0000000ull : 0xe0000000ull;
	p->below_4g = vm->ram < lowmem ? vm->ram : lowmem;
	p->above_4g = vm->ram - p->below_4g;
	p->ram_end = p->above_4g ? add_sat(FOUR_G, p->above_4g) : p->below_4g;
	/* Device memory (memory hotplug area): from ALIGN_UP(4 GiB + above,
	 * 1 GiB), each device at its block size's alignment. */
	devbase = align_up_sat(add_sat(FOUR_G, p->above_4g), DMAKIT_GiB);
	for (i = 0; i < vm->nr_vmems && i < PLAN_MAX_VMEMS; i++) {
		const struct plan_vmem *m = &vm->vmems[i];
		const struct plan_backend *b = backend_of(vm, m->memdev);
		uint64_t bps = b && b->page_size ? b->page_size : 4096;
		uint64_t bs = m->block_size ? m->block_size
					    : dmakit_virtio_mem_default_block_size(bps, 4096,
										   2ull << 20);

		p->vmem_addr[i] = align_up_sat(devbase, bs ? bs : 1);
		devbase = add_sat(p->vmem_addr[i], m->size);
		p->vmem_end[i] = devbase;
	}
}

/* Put "PREFIX: " (printf-style) before the message already in @err. */
static void __attribute__((format(printf, 3, 4)))
err_prefix(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256], prefix[256];
	va_list ap;

	snprintf(msg, sizeof(msg), "%s", err);
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", prefix, msg);
}

static int add_sec(struct dmakit_address_space *as, struct dmakit_memory_region *mr,
		   uint64_t off, uint64_t gpa, uint64_t size, bool ro, char *err, size_t errlen)
{
	struct dmakit_section s = { .mr = mr, .offset_in_region = off, .gpa = gpa, .size = size,
				    .readonly = ro };

	return dmakit_as_add_section(as, &s, err, errlen);
}

static int mk_mr(const char *name, enum dmakit_mr_kind kind, uint64_t size, uint64_t hva,
		 bool ro, struct dmakit_memory_region **out)
{
	struct dmakit_mr_config c;

	dmakit_mr_config_init(&c);
	c.name = name;
	c.kind = kind;
	c.size = size;
	c.hva = hva;
	c.readonly = ro;
	return dmakit_mr_create(&c, out);
}

static const struct plan_backend *backend_of(const struct plan_vm *vm, const char *id)
{
	size_t i;

	for (i = 0; i < vm->nr_backends; i++)
		if (!strcmp(vm->backends[i].id, id))
			return &vm->backends[i];
	return NULL;
}

int plan_layout_build(const struct plan_vm *vm, const struct plan_host *host,
		      const struct plan_build_opts *o, struct plan_layout *L,
		      char *err, size_t errlen)
{
	struct plan_placement place;
	uint64_t below, above, low_end;
	bool located = false; /* err already names where it comes from */
	size_t i, k;
	int r;

	memset(L, 0, sizeof(*L));
	L->max_memslots = vm->kvm ? DMAKIT_KVM_X86_MAX_MEMSLOTS : DMAKIT_TCG_MAX_MEMSLOTS;
	plan_layout_place(vm, &place);
	below = place.below_4g;
	above = place.above_4g;
	L->below_4g = below;
	L->above_4g = above;

	if ((r = dmakit_as_create("memory", &L->sysmem)) < 0)
		goto fail_msg;
	if ((r = mk_mr("pc.ram", DMAKIT_MR_RAM, vm->ram, HVA_RAM, false, &L->ram_mr)) < 0)
		goto fail_msg;
	if (vm->cvm != PLAN_CVM_NONE &&
	    (r = dmakit_guest_memfd_create(L->ram_mr, 4096, &L->gmfd)) < 0) {
		if (r != -EINVAL)
			goto fail_msg;
		/* Past DMAKIT_DISCARD_MAX_GRANULES 4 KiB pages (16 TiB). */
		snprintf(err, errlen, "%s: a confidential guest's RAM is tracked per 4 KiB page: "
			 "at most %llu GiB (the RAM is %llu GiB)",
			 plan_vm_where(vm, vm->ram_where),
			 (unsigned long long)((DMAKIT_DISCARD_MAX_GRANULES * 4096) >> 30),
			 (unsigned long long)(vm->ram >> 30));
		located = true;
		goto fail;
	}
	/* pc.ram below 640 KiB (below 768 KiB without a VGA, whose window
	 * 0xa0000-0xbffff is otherwise RAM), the legacy hole (option ROMs, BIOS
	 * shadow), pc.ram from 1 MiB to the split, the rest above 4 GiB. */
	low_end = plan_vm_has_vga(vm) ? 0xa0000 : 0xc0000;
	if ((r = add_sec(L->sysmem, L->ram_mr, 0, 0, below < low_end ? below : low_end, false,
			 err, errlen)) < 0)
		goto fail;
	if (below > 0x100000 &&
	    (r = add_sec(L->sysmem, L->ram_mr, 0x100000, 0x100000, below - 0x100000, false,
			 err, errlen)) < 0)
		goto fail;
	if (above && (r = add_sec(L->sysmem, L->ram_mr, below, FOUR_G, above, false, err,
				  errlen)) < 0)
		goto fail;
	if (vm->cvm == PLAN_CVM_NONE) {
		/* Firmware: pc.rom (option ROM area) and the BIOS, seen at the top
		 * of 4 GiB and its last 128 KiB again at 0xe0000 (isa-bios). A
		 * confidential guest's firmware is private memory: not mapped. */
		if ((r = mk_mr("pc.rom", DMAKIT_MR_RAM, 0x20000, HVA_ROM, true, &L->rom_mr)) < 0 ||
		    (r = mk_mr("pc.bios", DMAKIT_MR_RAM, 0x40000, HVA_BIOS, true, &L->bios_mr)) < 0)
			goto fail_msg;
		if ((r = add_sec(L->sysmem, L->rom_mr, 0, 0xc0000, 0x20000, true, err, errlen)) < 0 ||
		    (r = add_sec(L->sysmem, L->bios_mr, 0x20000, 0xe0000, 0x20000, true, err, errlen)) < 0 ||
		    (r = add_sec(L->sysmem, L->bios_mr, 0, FOUR_G - 0x40000, 0x40000, true, err, errlen)) < 0)
			goto fail;
	}
	/* Device memory (memory hotplug area): plan_layout_place(). */
	for (i = 0; i < vm->nr_vmems; i++) {
		const struct plan_vmem *m = &vm->vmems[i];
		const struct plan_backend *b = backend_of(vm, m->memdev);
		struct dmakit_virtio_mem_config c;
		char warn[256];

		dmakit_virtio_mem_config_init(&c);
		c.name = m->id;
		c.region_size = m->size;
		c.hva = HVA_VMEM + i * HVA_STRIDE;
		c.requested_size = 0; /* the guest plugs at run time */
		c.block_size = m->block_size;
		c.backend_page_size = b && b->page_size ? b->page_size : 4096;
		c.host_page_size = 4096;
		c.thp_size = 2ull << 20; /* x86_64 */
		c.arch = DMAKIT_ARCH_X86_64;
		c.dynamic_memslots = m->dynamic_memslots;
		c.unplugged_inaccessible = true;
		c.memslot_limit = 256; /* memory_device's soft limit with KVM's 32764 */
		c.addr = place.vmem_addr[i];
		r = dmakit_virtio_mem_create(&c, &L->vmem[i], warn, sizeof(warn), err, errlen);
		if (r < 0) {
			err_prefix(err, errlen, "%s: virtio-mem '%s'", m->where, m->id);
			located = true;
			goto fail;
		}
		L->vmem_addr[i] = c.addr;
		if (!m->hotplug &&
		    (r = dmakit_virtio_mem_plug_device(L->vmem[i], L->sysmem, err, errlen)) < 0) {
			err_prefix(err, errlen, "%s: virtio-mem '%s'", m->where, m->id);
			located = true;
			goto fail;
		}
	}
	L->as = L->sysmem;
	if (vm->viommu != PLAN_VIOMMU_NONE) {
		struct dmakit_mr_config c;

		dmakit_mr_config_init(&c);
		c.name = vm->viommu == PLAN_VIOMMU_INTEL ? "intel-iommu" : "virtio-iommu";
		c.kind = DMAKIT_MR_IOMMU;
		c.size = VIOMMU_AS_SIZE;
		c.iommu_target = L->sysmem;
		c.iommu_refuses_map_notifiers = vm->viommu == PLAN_VIOMMU_INTEL && !vm->caching_mode;
		if ((r = dmakit_mr_create(&c, &L->iommu_mr)) < 0)
			goto fail_msg;
		if ((r = dmakit_as_create("vfio-pci", &L->as)) < 0) {
			L->as = NULL;
			goto fail_msg;
		}
		if ((r = add_sec(L->as, L->iommu_mr, 0, 0, VIOMMU_AS_SIZE, false, err, errlen)) < 0)
			goto fail;
	}
	/* Containers: the type1 devices share one, the iommufd devices one IOAS. */
	for (k = 0; k < 2; k++) {
		bool fd = k == 1;
		struct dmakit_container_config cc;
		struct dmakit_listener_config lc;
		struct dmakit_container *c;
		struct plan_container *pc = &L->containers[L->nr_containers];
		size_t n = 0;

		for (i = 0; i < vm->nr_vfios; i++)
			if (vm->vfios[i].iommufd == fd)
				pc->devices[n++] = vm->vfios[i].id;
		if (!n)
			continue;
		pc->nr_devices = n;
		pc->iommufd = fd;
		dmakit_container_config_init(&cc);
		cc.backend = DMAKIT_BACKEND_EMU;
		cc.iommu_type = 3;
		cc.kernel = host->kernel;
		/* iommufd has no entry limit: the emulator with UINT32_MAX. */
		cc.dma_entry_limit = (o->enforce && !fd) ? host->dma_entry_limit : UINT32_MAX;
		cc.memlock_limit = o->enforce ? host->memlock : UINT64_MAX;
		cc.cap_ipc_lock = cc.memlock_limit == UINT64_MAX;
		cc.model_page_tables = o->model_page_tables;
		cc.iova_bits = host->iova_bits ? host->iova_bits : 39;
		if (o->enforce && !fd) {
			/* The limit profile (docs/profiles.md); account-bytes
			 * charges the page-table model's pages. */
			cc.limit_policy = host->profile;
			cc.kernel_budget_bytes = host->budget;
			cc.model_page_tables = o->model_page_tables ||
					       host->profile == DMAKIT_LIMIT_ACCOUNT_BYTES;
		}
		if ((r = dmakit_container_open(&cc, &c)) < 0)
			goto fail_msg;
		dmakit_listener_config_init(&lc);
		lc.strategy = o->strategy;
		lc.max_memslots = L->max_memslots;
		lc.host_page_size = 4096;
		lc.viommu_bound = vm->viommu_bound;
		if (fd || !o->enforce) {
			lc.dma_limit_source = DMAKIT_DMA_LIMIT_FIXED;
			lc.dma_max_mappings = 0;
		} else {
			lc.dma_limit_source = host->absent_unlimited ?
				DMAKIT_DMA_LIMIT_QUERY_ABSENT_UNLIMITED : DMAKIT_DMA_LIMIT_QUERY;
		}
		r = dmakit_listener_create(c, L->as, &lc, &pc->listener, err, errlen);
		if (r < 0) {
			/* QEMU's own refusal, as it prints it: an outcome of the
			 * VM on this host, not a place in the input. */
			dmakit_container_close(c);
			pc->listener = NULL;
			plan_escape_message(err, errlen); /* region names are ids */
			return r; /* the caller destroys L */
		}
		L->nr_containers++;
	}
	return 0;
fail_msg:
	snprintf(err, errlen, "building the layout: %s", dmakit_strerror(r));
fail:
	if (!located)
		err_prefix(err, errlen, "%s", vm->source);
	plan_escape_message(err, errlen); /* the ids are echoed */
	if (r >= 0)
		r = -EINVAL;
	return r == -ENOSPC || r == -ENOMEM ? r : (r == 0 ? -EINVAL : r);
}

void plan_layout_destroy(struct plan_layout *L)
{
	size_t i;

	for (i = 0; i < L->nr_containers; i++)
		dmakit_listener_destroy(L->containers[i].listener);
	L->nr_containers = 0;
	if (L->as && L->as != L->sysmem)
		dmakit_as_destroy(L->as);
	for (i = 0; i < PLAN_MAX_VMEMS; i++)
		if (L->vmem[i])
			dmakit_virtio_mem_destroy(L->vmem[i]);
	if (L->sysmem)
		dmakit_as_destroy(L->sysmem);
	if (L->gmfd)
		dmakit_guest_memfd_destroy(L->gmfd);
	dmakit_mr_destroy(L->iommu_mr);
	dmakit_mr_destroy(L->ram_mr);
	dmakit_mr_destroy(L->rom_mr);
	dmakit_mr_destroy(L->bios_mr);
	free(L->q_iova);
	free(L->q_size);
	memset(L, 0, sizeof(*L));
}

static int vmem_index(const struct plan_vm *vm, const char *id)
{
	size_t i;

	for (i = 0; i < vm->nr_vmems; i++)
		if (!strcmp(vm->vmems[i].id, id))
			return (int)i;
	return -1;
}

/* Linux's virtio-mem driver plugs in memory blocks (128 MiB on x86_64). */
#define GUEST_REQUEST (128ull << 20)

static int step_plug(const struct plan_vm *vm, struct plan_layout *L, const struct plan_step *s,
		     uint64_t *fails, bool *bad, char *err, size_t errlen)
{
	int i = vmem_index(vm, s->dev);
	struct dmakit_virtio_mem *d;
	struct dmakit_virtio_mem_info info;
	uint64_t want, nb, blk, per, done = 0;

	if (i < 0 || !L->vmem[i]) {
		snprintf(err, errlen, "no virtio-mem device '%s'", s->dev);
		*bad = true;
		return -ENOENT;
	}
	d = L->vmem[i];
	dmakit_virtio_mem_info(d, &info);
	want = s->size;
	if (s->kind == STEP_PLUG) {
		uint64_t req = info.plugged_size + want;

		if (req > info.region_size)
			req = info.region_size;
		dmakit_virtio_mem_set_requested_size(d, req);
	}
	nb = info.region_size / info.block_size;
	per = GUEST_REQUEST > info.block_size ? GUEST_REQUEST / info.block_size : 1;
	if (s->kind == STEP_PLUG) {
		for (blk = 0; blk < nb && done < want;) {
			uint64_t run = 0, left = (want - done + info.block_size - 1) / info.block_size;
			int r;

			if (dmakit_virtio_mem_block_plugged(d, blk)) {
				blk++;
				continue;
			}
			while (blk + run < nb && run < per && run < left &&
			       !dmakit_virtio_mem_block_plugged(d, blk + run) &&
			       ((blk + run) % per || run == 0))
				run++;
			r = dmakit_virtio_mem_request(d, true, info.addr + blk * info.block_size, run,
						      NULL, err, errlen);
			if (r < 0) {
				(*fails)++;
				/* the guest gets BUSY and stops asking */
				return r;
			}
			done += run * info.block_size;
			blk += run;
		}
	} else {
		for (blk = nb; blk > 0 && done < want;) {
			uint64_t run = 0, left = (want - done + info.block_size - 1) / info.block_size;
			int r;

			if (!dmakit_virtio_mem_block_plugged(d, blk - 1)) {
				blk--;
				continue;
			}
			while (blk - run > 0 && run < per && run < left &&
			       dmakit_virtio_mem_block_plugged(d, blk - 1 - run) &&
			       ((blk - run) % per || run == 0))
				run++;
			r = dmakit_virtio_mem_request(d, false, info.addr + (blk - run) * info.block_size,
						      run, NULL, err, errlen);
			if (r < 0) {
				(*fails)++;
				return r;
			}
			done += run * info.block_size;
			blk -= run;
		}
		dmakit_virtio_mem_info(d, &info);
		dmakit_virtio_mem_set_requested_size(d, info.plugged_size);
	}
	return 0;
}

static int step_convert(struct plan_layout *L, const struct plan_step *s, uint64_t gpa,
			uint64_t *fails, bool *bad, char *err, size_t errlen)
{
	struct dmakit_section sec;
	int r;

	if (!L->gmfd) {
		snprintf(err, errlen, "not a confidential guest (cvm=none): nothing to convert");
		*bad = true;
		return -EINVAL;
	}
	if (dmakit_as_find_section(L->sysmem, gpa, &sec) < 0 || sec.mr != L->ram_mr ||
	    s->size > sec.gpa + sec.size - gpa || gpa % 4096 || s->size % 4096) {
		snprintf(err, errlen, "gpa 0x%" PRIx64 " size 0x%" PRIx64 " is not 4 KiB-aligned guest RAM of one section",
			 gpa, s->size);
		*bad = true;
		return -EINVAL;
	}
	r = dmakit_guest_memfd_convert(L->gmfd, sec.offset_in_region + (gpa - sec.gpa), s->size,
				       s->kind == STEP_PRIVATE, NULL, err, errlen);
	if (r < 0)
		(*fails)++;
	return r;
}

static int q_push(struct plan_layout *L, uint64_t iova, uint64_t size)
{
	if (L->q_tail == L->q_cap) {
		size_t nc;
		uint64_t *a, *b;

		if (L->q_head > 0) {
			memmove(L->q_iova, L->q_iova + L->q_head, (L->q_tail - L->q_head) * sizeof(uint64_t));
			memmove(L->q_size, L->q_size + L->q_head, (L->q_tail - L->q_head) * sizeof(uint64_t));
			L->q_tail -= L->q_head;
			L->q_head = 0;
		}
		if (L->q_tail == L->q_cap) {
			nc = L->q_cap ? L->q_cap * 2 : 1024;
			a = realloc(L->q_iova, nc * sizeof(uint64_t));
			if (!a)
				return -ENOMEM;
			L->q_iova = a;
			b = realloc(L->q_size, nc * sizeof(uint64_t));
			if (!b)
				return -ENOMEM;
			L->q_size = b;
			L->q_cap = nc;
		}
	}
	L->q_iova[L->q_tail] = iova;
	L->q_size[L->q_tail++] = size;
	return 0;
}

static int step_viommu(struct plan_layout *L, const struct plan_step *s, uint64_t *fails,
		       bool *bad, char *err, size_t errlen)
{
	uint64_t i, first_err = 0;
	char e[512];
	int ret = 0;

	if (!L->iommu_mr) {
		snprintf(err, errlen, "no vIOMMU in this VM (machine viommu=intel|virtio)");
		*bad = true;
		return -EINVAL;
	}
	if (s->kind == STEP_VIOMMU_MAP) {
		uint64_t base = align_up(0x100000, s->size);
		uint64_t span = L->below_4g > base + s->size ? (L->below_4g - base) / s->size : 1;

		if (s->size == 0 || (s->size & (s->size - 1)) || s->size > VIOMMU_AS_SIZE) {
			snprintf(err, errlen, "viommu-map: size must be a power of two, at most 256 TiB");
			*bad = true;
			return -EINVAL;
		}
		for (i = 0; i < s->count; i++) {
			struct dmakit_iotlb_entry en;
			int r;

			L->viommu_next_iova = align_up(L->viommu_next_iova, s->size);
			if (L->viommu_next_iova + s->size > VIOMMU_AS_SIZE)
				L->viommu_next_iova = 0;
			en.iova = L->viommu_next_iova;
			en.translated_addr = base + (L->viommu_seq++ % span) * s->size;
			en.addr_mask = s->size - 1;
			en.perm = DMAKIT_IOMMU_RW;
			r = dmakit_iommu_notify_map(L->iommu_mr, &en, e, sizeof(e));
			if (r < 0) {
				if (!first_err++) {
					snprintf(err, errlen, "%s", e);
					ret = r;
				}
				(*fails)++;
				continue;
			}
			L->viommu_next_iova += s->size;
			if ((r = q_push(L, en.iova, s->size)) < 0)
				return r;
		}
	} else {
		for (i = 0; i < s->count && L->q_head < L->q_tail; i++, L->q_head++) {
			int r = dmakit_iommu_notify_unmap(L->iommu_mr, L->q_iova[L->q_head],
							  L->q_size[L->q_head] - 1, e, sizeof(e));

			if (r < 0) {
				if (!first_err++) {
					snprintf(err, errlen, "%s", e);
					ret = r;
				}
				(*fails)++;
			}
		}
	}
	return ret;
}

int plan_layout_step(const struct plan_vm *vm, struct plan_layout *L, const struct plan_step *s,
		     uint64_t *fails, bool *bad, char *err, size_t errlen)
{
	unsigned int rep;
	int r = 0, first = 0;
	char e[512];

	err[0] = '\0';
	*bad = false;
	for (rep = 0; rep < (s->repeat ? s->repeat : 1); rep++) {
		e[0] = '\0';
		switch (s->kind) {
		case STEP_PLUG:
		case STEP_UNPLUG:
			r = step_plug(vm, L, s, fails, bad, e, sizeof(e));
			break;
		case STEP_HOTPLUG: {
			int i = vmem_index(vm, s->dev);

			r = dmakit_virtio_mem_plug_device(L->vmem[i], L->sysmem, e, sizeof(e));
			if (r < 0)
				(*fails)++;
			break;
		}
		case STEP_SHARE:
		case STEP_PRIVATE:
		{
			uint64_t gpa;

			/* gpa + rep * size, which a scenario can make wrap. */
			if (__builtin_mul_overflow((uint64_t)rep, s->size, &gpa) ||
			    __builtin_add_overflow(gpa, s->gpa, &gpa)) {
				snprintf(e, sizeof(e), "gpa 0x%" PRIx64 " + %u x size 0x%" PRIx64 " wraps",
					 s->gpa, rep, s->size);
				r = -EINVAL;
				*bad = true;
				break;
			}
			r = step_convert(L, s, gpa, fails, bad, e, sizeof(e));
		}
			break;
		case STEP_VIOMMU_MAP:
		case STEP_VIOMMU_UNMAP:
			r = step_viommu(L, s, fails, bad, e, sizeof(e));
			break;
		default:
			break;
		}
		if (r < 0 && !first) {
			first = r;
			snprintf(err, errlen, "%s", e);
			plan_escape_message(err, errlen);
		}
		if (*bad)
			break; /* the scenario is wrong, not the VM */
	}
	return first;
}
