/* SPDX-License-Identifier: MIT */
/*
 * virtio-mem as a discard manager (include/dmakit/discard.h), after QEMU's
 * hw/virtio/virtio-mem.c: the block-size rules, the memslot decision, the
 * plugged-block bitmap and the guest's PLUG / UNPLUG / UNPLUG_ALL requests.
 *
 * Model: a memdev of region_size bytes (one RAM region, granularity =
 * block_size) shown at guest address `addr`. Without dynamic memslots the
 * device is one section of the whole region. With them it is nb_memslots
 * memslots of memslot_size bytes (the last one possibly shorter); memslot i
 * shows region bytes [i * memslot_size, min((i + 1) * memslot_size,
 * region_size)) at addr + i * memslot_size, and is in the address space
 * exactly while it holds a plugged block (QEMU's memslots are aliases of
 * the memdev; the flat view resolves them to sections of the memdev's
 * region, each its own VFIO section).
 *
 * Invariants, true between calls:
 *   - plugged_size == popcount(bitmap) * block_size <= requested_size at the
 *     time of the plugs;
 *   - with dynamic memslots, memslot i is active iff the device is in an AS
 *     and some block of it is plugged;
 *   - every request either completes (ACK) or changes nothing.
 *
 * Request order (virtio_mem_set_block_state()): a plug first activates the
 * memslots it needs (whose registration replays nothing of the range: its
 * bits are still clear), then notifies populate, then sets the bits; an
 * unplug notifies discard, clears the bits, then deactivates the memslots
 * left empty. A refusal at any step undoes the steps before it.
 *
 * The usable region (virtio_mem_resize_usable_region(), as I read it; the
 * reference only says the extent pads the usable region beyond the
 * requested size): MIN(region_size, requested_size + extent) rounded up to
 * the block size, 0 when nothing is requested; it never shrinks while the
 * guest runs, except on creation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <dmakit/discard.h>

#include "alloc.h"
#include "guest_memory_internal.h"

struct dmakit_virtio_mem {
	struct dmakit_discard_manager dm;
	struct dmakit_memory_region *mr;
	uint64_t region_size, block_size, addr;
	uint64_t requested_size, usable_region_size, extent;
	bool dynamic_memslots;
	uint64_t memslot_size;
	unsigned int nb_memslots;
	bool *active;                    /* per memslot: shown in the AS */
	struct dmakit_address_space *as; /* NULL: not plugged into one */
};

#define THP_SYSFS_DIR "/sys/kernel/mm/transparent_hugepage"

/* ------------------------------------------------------------------------ */
/* Block size and memslots                                                     */

DMAKIT_EXPORT uint64_t dmakit_virtio_mem_default_thp_size(enum dmakit_arch arch,
							  uint64_t host_page_size)
{
	switch (arch) {
	case DMAKIT_ARCH_X86_64:
	case DMAKIT_ARCH_ARM:
	case DMAKIT_ARCH_PPC64:
		return 2 * DMAKIT_MiB;
	case DMAKIT_ARCH_AARCH64:
		if (host_page_size == 4096)
			return 2 * DMAKIT_MiB;
		if (host_page_size == 16384)
			return 32 * DMAKIT_MiB;
		if (host_page_size == 65536)
			return 512 * DMAKIT_MiB;
		return DMAKIT_MiB;
	case DMAKIT_ARCH_S390X:
	case DMAKIT_ARCH_OTHER:
	default:
		return DMAKIT_MiB;
	}
}

DMAKIT_EXPORT uint64_t dmakit_virtio_mem_thp_size(const char *sysfs_dir, enum dmakit_arch arch,
						  uint64_t host_page_size, bool *fell_back)
{
	const char *dir = sysfs_dir ? sysfs_dir : THP_SYSFS_DIR;
	char path[4096], buf[64], *end;
	unsigned long long val;
	struct stat st;
	size_t n;
	FILE *f;

	if (fell_back)
		*fell_back = false;
	if (stat(dir, &st) != 0)
		return DMAKIT_MiB; /* no THP, no restrictions */
	snprintf(path, sizeof(path), "%s/hpage_pmd_size", dir);
	f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		errno = 0;
		val = strtoull(buf, &end, 0);
		if (!errno && end != buf && (*end == '\0' || *end == '\n') &&
		    dmakit__is_pow2(val))
			return val;
	}
	if (fell_back)
		*fell_back = true;
	return dmakit_virtio_mem_default_thp_size(arch, host_page_size);
}

DMAKIT_EXPORT uint64_t dmakit_virtio_mem_default_block_size(uint64_t backend_page_size,
							    uint64_t host_page_size,
							    uint64_t thp_size)
{
	if (backend_page_size == host_page_size)
		return backend_page_size > thp_size ? backend_page_size : thp_size;
	return backend_page_size > DMAKIT_VIRTIO_MEM_MIN_BLOCK_SIZE ?
		       backend_page_size : DMAKIT_VIRTIO_MEM_MIN_BLOCK_SIZE;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

DMAKIT_EXPORT int dmakit_virtio_mem_decide_memslots(uint64_t region_size, uint64_t block_size,
						    unsigned int limit, uint64_t *memslot_size,
						    unsigned int *nb_memslots)
{
	uint64_t ms, floor_size, nb;

	if (!region_size || !dmakit__is_pow2(block_size) || region_size > UINT64_MAX / 2)
		return -EINVAL;
	if (!limit)
		limit = 1;
	ms = align_up(region_size / limit, block_size);
	floor_size = block_size > DMAKIT_VIRTIO_MEM_MIN_MEMSLOT_SIZE ?
			     block_size : DMAKIT_VIRTIO_MEM_MIN_MEMSLOT_SIZE;
	if (ms < floor_size)
		ms = floor_size;
	nb = align_up(region_size, ms) / ms;
	if (nb > UINT32_MAX)
		return -EINVAL;
	*memslot_size = ms;
	*nb_memslots = (unsigned int)nb;
	return 0;
}

DMAKIT_EXPORT void dmakit_virtio_mem_config_init(struct dmakit_virtio_mem_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->arch = DMAKIT_ARCH_X86_64;
	cfg->unplugged_inaccessible = true;
}

static void resize_usable(struct dmakit_virtio_mem *vm, uint64_t requested, bool can_shrink)
{
	uint64_t size = vm->region_size;

	if (requested < size && vm->extent < size - requested)
		size = requested + vm->extent;
	size = align_up(size, vm->block_size);
	if (!requested)
		size = 0;
	if (size < vm->usable_region_size && !can_shrink)
		return;
	vm->usable_region_size = size;
}

static const char *human(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= DMAKIT_GiB && !(bytes % DMAKIT_GiB))
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes / DMAKIT_GiB));
	else if (bytes >= DMAKIT_MiB && !(bytes % DMAKIT_MiB))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes / DMAKIT_MiB));
	else if (bytes >= 1024 && !(bytes % 1024))
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes / 1024));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

DMAKIT_EXPORT int dmakit_virtio_mem_create(const struct dmakit_virtio_mem_config *cfg,
					   struct dmakit_virtio_mem **out,
					   char *warn, size_t warnlen, char *err, size_t errlen)
{
	struct dmakit_virtio_mem *vm;
	struct dmakit_mr_config mcfg;
	uint64_t hps, bps, thp, dflt, bs, ms, glast;
	unsigned int nb;
	bool fell_back = false;
	char b1[32], b2[32];
	int ret;

	dmakit__errf(warn, warnlen, "%s", "");
	if (!cfg || !out) {
		dmakit__errf(err, errlen, "invalid arguments");
		return -EINVAL;
	}
	hps = cfg->host_page_size ? cfg->host_page_size : 4096;
	bps = cfg->backend_page_size ? cfg->backend_page_size : hps;
	if (!dmakit__is_pow2(hps) || !dmakit__is_pow2(bps) || !cfg->region_size) {
		dmakit__errf(err, errlen, "invalid page or region size");
		return -EINVAL;
	}
	if (cfg->block_size) {
		/* virtio_mem_set_block_size(): the property's own checks. */
		if (!dmakit__is_pow2(cfg->block_size)) {
			dmakit__errf(err, errlen, "'block-size' property has to be a power of two");
			return -EINVAL;
		}
		if (cfg->block_size < DMAKIT_VIRTIO_MEM_MIN_BLOCK_SIZE) {
			dmakit__errf(err, errlen, "'block-size' property has to be at least %s",
				     human(DMAKIT_VIRTIO_MEM_MIN_BLOCK_SIZE, b1, sizeof(b1)));
			return -EINVAL;
		}
	}
	thp = cfg->thp_size;
	if (!thp)
		thp = dmakit_virtio_mem_thp_size(cfg->thp_sysfs_dir, cfg->arch, hps, &fell_back);
	dflt = dmakit_virtio_mem_default_block_size(bps, hps, thp);
	bs = cfg->block_size ? cfg->block_size : dflt;
	if (fell_back)
		dmakit__errf(warn, warnlen, "could not detect THP size, falling back to %s",
			     human(thp, b1, sizeof(b1)));

	/* virtio_mem_device_realize() */
	if (bs < bps) {
		dmakit__errf(err, errlen, "'block-size' property has to be at least the page "
			     "size of the memory backend (%s)", human(bps, b1, sizeof(b1)));
		return -EINVAL;
	}
	if (cfg->requested_size % bs) {
		dmakit__errf(err, errlen, "'requested-size' property has to be multiples of "
			     "'block-size' (%s)", human(bs, b1, sizeof(b1)));
		return -EINVAL;
	}
	if (cfg->addr % bs) {
		dmakit__errf(err, errlen, "'addr' property has to be multiples of 'block-size' (%s)",
			     human(bs, b1, sizeof(b1)));
		return -EINVAL;
	}
	/* The plugged-block bitmap is allocated whole: bound it (2^32 blocks,
	 * a 512 MiB bitmap; 8 PiB at 2 MiB blocks) so a size in an input file
	 * cannot make the library allocate without limit. */
	if (cfg->region_size / bs > DMAKIT_DISCARD_MAX_GRANULES) {
		dmakit__errf(err, errlen, "the memory device is too large: %llu blocks of %s "
			     "(at most %llu)", (unsigned long long)(cfg->region_size / bs),
			     human(bs, b1, sizeof(b1)), (unsigned long long)DMAKIT_DISCARD_MAX_GRANULES);
		return -EINVAL;
	}
	if (cfg->region_size % bs) {
		dmakit__errf(err, errlen, "'memdev' size has to be multiples of 'block-size' (%s)",
			     human(bs, b1, sizeof(b1)));
		return -EINVAL;
	}
	if (cfg->requested_size > cfg->region_size ||
	    __builtin_add_overflow(cfg->addr, cfg->region_size - 1, &glast)) {
		dmakit__errf(err, errlen, "'requested-size' or 'addr' out of range");
		return -EINVAL;
	}
	if (cfg->dynamic_memslots && !cfg->unplugged_inaccessible) {
		dmakit__errf(err, errlen, "'dynamic-memslots' requires 'unplugged-inaccessible=on'");
		return -EINVAL;
	}
	if (cfg->block_size && cfg->block_size < dflt && !fell_back)
		dmakit__errf(warn, warnlen, "'block-size' (%s) is below the recommended "
			     "minimum of %s", human(bs, b1, sizeof(b1)),
			     human(dflt, b2, sizeof(b2)));
	if (cfg->dynamic_memslots) {
		ret = dmakit_virtio_mem_decide_memslots(cfg->region_size, bs, cfg->memslot_limit,
							&ms, &nb);
		if (ret < 0) {
			dmakit__errf(err, errlen, "cannot decide memslots");
			return ret;
		}
	} else {
		ms = cfg->region_size;
		nb = 1;
	}

	vm = dmakit__calloc(1, sizeof(*vm));
	if (!vm)
		goto nomem;
	vm->active = dmakit__calloc(nb, sizeof(bool));
	if (!vm->active)
		goto nomem_vm;
	dmakit_mr_config_init(&mcfg);
	mcfg.name = cfg->name ? cfg->name : "virtio-mem";
	mcfg.kind = DMAKIT_MR_RAM;
	mcfg.size = cfg->region_size;
	mcfg.hva = cfg->hva;
	ret = dmakit_mr_create(&mcfg, &vm->mr);
	if (ret < 0) {
		dmakit__free(vm->active);
		dmakit__free(vm);
		dmakit__errf(err, errlen, "cannot create the memdev region");
		return ret;
	}
	ret = dmakit__dm_init(&vm->dm, DMAKIT_DISCARD_VIRTIO_MEM, vm->mr, bs);
	if (ret < 0) {
		dmakit_mr_destroy(vm->mr);
		goto nomem_vm;
	}
	vm->mr->dm = &vm->dm;
	vm->region_size = cfg->region_size;
	vm->block_size = bs;
	vm->addr = cfg->addr;
	vm->requested_size = cfg->requested_size;
	vm->extent = cfg->usable_extent ? cfg->usable_extent : DMAKIT_VIRTIO_MEM_USABLE_EXTENT_X86;
	vm->dynamic_memslots = cfg->dynamic_memslots;
	vm->memslot_size = ms;
	vm->nb_memslots = nb;
	resize_usable(vm, vm->requested_size, true);
	*out = vm;
	return 0;

nomem_vm:
	dmakit__free(vm->active);
	dmakit__free(vm);
nomem:
	dmakit__errf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Memslots                                                                    */

static void memslot_section(const struct dmakit_virtio_mem *vm, unsigned int i,
			    struct dmakit_section *s)
{
	uint64_t off = (uint64_t)i * vm->memslot_size;
	uint64_t size = vm->region_size - off;

	if (size > vm->memslot_size)
		size = vm->memslot_size;
	memset(s, 0, sizeof(*s));
	s->mr = vm->mr;
	s->offset_in_region = off;
	s->gpa = vm->addr + off;
	s->size = size;
}

/* Whether memslot @i holds a plugged block. */
static bool memslot_plugged(const struct dmakit_virtio_mem *vm, unsigned int i)
{
	struct dmakit_section s;

	memslot_section(vm, i, &s);
	return !dmakit__bits_all(&vm->dm, s.offset_in_region / vm->block_size,
				 s.size / vm->block_size, false);
}

static int activate(struct dmakit_virtio_mem *vm, unsigned int i, char *err, size_t errlen)
{
	struct dmakit_section s;
	int ret;

	memslot_section(vm, i, &s);
	ret = dmakit_as_add_section(vm->as, &s, err, errlen);
	if (ret == 0)
		vm->active[i] = true;
	return ret;
}

static int deactivate(struct dmakit_virtio_mem *vm, unsigned int i, char *err, size_t errlen)
{
	int ret = dmakit_as_del_section(vm->as, vm->addr + (uint64_t)i * vm->memslot_size,
					err, errlen);

	if (ret == 0)
		vm->active[i] = false;
	return ret;
}

DMAKIT_EXPORT int dmakit_virtio_mem_plug_device(struct dmakit_virtio_mem *vm,
						struct dmakit_address_space *as,
						char *err, size_t errlen)
{
	unsigned int i, j;
	int ret;

	if (!vm || !as)
		return -EINVAL;
	if (vm->as) {
		dmakit__errf(err, errlen, "%s is already plugged", vm->mr->name);
		return -EBUSY;
	}
	vm->as = as;
	for (i = 0; i < vm->nb_memslots; i++) {
		if (vm->dynamic_memslots && !memslot_plugged(vm, i))
			continue;
		ret = activate(vm, i, err, errlen);
		if (ret < 0) {
			for (j = i; j-- > 0;)
				if (vm->active[j])
					deactivate(vm, j, NULL, 0);
			vm->as = NULL;
			return ret;
		}
	}
	return 0;
}

DMAKIT_EXPORT int dmakit_virtio_mem_unplug_device(struct dmakit_virtio_mem *vm,
						  char *err, size_t errlen)
{
	unsigned int i, j;
	int ret;

	if (!vm || !vm->as)
		return -ENOENT;
	for (i = vm->nb_memslots; i-- > 0;) {
		if (!vm->active[i])
			continue;
		ret = deactivate(vm, i, err, errlen);
		if (ret < 0) {
			for (j = i + 1; j < vm->nb_memslots; j++)
				if ((!vm->dynamic_memslots || memslot_plugged(vm, j)) &&
				    !vm->active[j])
					activate(vm, j, NULL, 0);
			return ret;
		}
	}
	vm->as = NULL;
	return 0;
}

DMAKIT_EXPORT void dmakit_virtio_mem_destroy(struct dmakit_virtio_mem *vm)
{
	unsigned int i;

	if (!vm)
		return;
	if (vm->as) {
		if (dmakit_virtio_mem_unplug_device(vm, NULL, 0) < 0) {
			/* A listener refused; take the sections out regardless. */
			for (i = 0; i < vm->nb_memslots; i++)
				if (vm->active[i])
					deactivate(vm, i, NULL, 0);
		}
	}
	vm->mr->dm = NULL;
	dmakit__dm_fini(&vm->dm);
	dmakit_mr_destroy(vm->mr);
	dmakit__free(vm->active);
	dmakit__free(vm);
}

/* ------------------------------------------------------------------------ */
/* Guest requests                                                              */

static void set_resp(enum dmakit_virtio_mem_resp *resp, enum dmakit_virtio_mem_resp r)
{
	if (resp)
		*resp = r;
}

/* Activate the inactive memslots that [first, first + count) blocks touch;
 * on a refusal deactivate those this call activated. */
static int activate_for(struct dmakit_virtio_mem *vm, uint64_t first, uint64_t count,
			bool *newly, char *err, size_t errlen)
{
	uint64_t per = vm->memslot_size / vm->block_size;
	unsigned int lo = (unsigned int)(first / per), hi = (unsigned int)((first + count - 1) / per);
	unsigned int i, j;
	int ret;

	for (i = lo; i <= hi; i++) {
		newly[i] = false;
		if (vm->active[i])
			continue;
		ret = activate(vm, i, err, errlen);
		if (ret < 0) {
			for (j = i; j-- > lo;)
				if (newly[j])
					deactivate(vm, j, NULL, 0);
			return ret;
		}
		newly[i] = true;
	}
	return 0;
}

static int plug(struct dmakit_virtio_mem *vm, uint64_t offset, uint64_t size,
		char *err, size_t errlen)
{
	uint64_t first = offset / vm->block_size, count = size / vm->block_size;
	bool *newly = NULL;
	unsigned int i;
	int ret;

	if (vm->as && vm->dynamic_memslots) {
		newly = dmakit__calloc(vm->nb_memslots, sizeof(bool));
		if (!newly) {
			dmakit__errf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		ret = activate_for(vm, first, count, newly, err, errlen);
		if (ret < 0)
			goto out;
	}
	ret = dmakit__dm_notify_populate(&vm->dm, offset, size, err, errlen);
	if (ret < 0) {
		if (newly)
			for (i = vm->nb_memslots; i-- > 0;)
				if (newly[i])
					deactivate(vm, i, NULL, 0);
		goto out;
	}
	dmakit__bits_set(&vm->dm, first, count);
out:
	dmakit__free(newly);
	return ret;
}

static int unplug(struct dmakit_virtio_mem *vm, uint64_t offset, uint64_t size,
		  char *err, size_t errlen)
{
	uint64_t first = offset / vm->block_size, count = size / vm->block_size;
	uint64_t per = vm->memslot_size / vm->block_size;
	unsigned int lo = (unsigned int)(first / per), hi = (unsigned int)((first + count - 1) / per);
	unsigned int i, j;
	int ret;

	ret = dmakit__dm_notify_discard(&vm->dm, offset, size, err, errlen);
	if (ret < 0)
		return ret;
	dmakit__bits_clear(&vm->dm, first, count);
	if (!vm->as || !vm->dynamic_memslots)
		return 0;
	for (i = lo; i <= hi; i++) {
		if (!vm->active[i] || memslot_plugged(vm, i))
			continue;
		ret = deactivate(vm, i, err, errlen);
		if (ret < 0) {
			for (j = lo; j < i; j++)
				if (!vm->active[j] && !memslot_plugged(vm, j))
					activate(vm, j, NULL, 0);
			dmakit__bits_set(&vm->dm, first, count);
			dmakit__dm_notify_populate(&vm->dm, offset, size, NULL, 0);
			return ret;
		}
	}
	return 0;
}

DMAKIT_EXPORT int dmakit_virtio_mem_request(struct dmakit_virtio_mem *vm, bool plug_req,
					    uint64_t gpa, uint64_t nb_blocks,
					    enum dmakit_virtio_mem_resp *resp,
					    char *err, size_t errlen)
{
	uint64_t size, last, offset;
	int ret;

	set_resp(resp, DMAKIT_VIRTIO_MEM_RESP_ERROR);
	if (!vm)
		return -EINVAL;
	if (!nb_blocks || __builtin_mul_overflow(nb_blocks, vm->block_size, &size)) {
		dmakit__errf(err, errlen, "invalid number of blocks");
		return -EINVAL;
	}
	/* virtio_mem_state_change_request(): NACK before the range checks. */
	if (plug_req && (size > vm->requested_size ||
			 dmakit__bits_weight(&vm->dm) * vm->block_size >
				 vm->requested_size - size)) {
		set_resp(resp, DMAKIT_VIRTIO_MEM_RESP_NACK);
		dmakit__errf(err, errlen, "plug beyond the requested size");
		return -ENOSPC;
	}
	/* virtio_mem_valid_range() */
	if (gpa % vm->block_size || gpa < vm->addr ||
	    __builtin_add_overflow(gpa, size - 1, &last) ||
	    last - vm->addr >= vm->usable_region_size) {
		dmakit__errf(err, errlen, "range [0x%llx, +0x%llx) is not a valid block range",
			     (unsigned long long)gpa, (unsigned long long)size);
		return -EINVAL;
	}
	offset = gpa - vm->addr;
	if (!dmakit__bits_all(&vm->dm, offset / vm->block_size, nb_blocks, !plug_req)) {
		dmakit__errf(err, errlen, "range is not wholly %s", plug_req ? "unplugged" : "plugged");
		return -EINVAL;
	}
	ret = plug_req ? plug(vm, offset, size, err, errlen) : unplug(vm, offset, size, err, errlen);
	if (ret < 0) {
		set_resp(resp, DMAKIT_VIRTIO_MEM_RESP_BUSY);
		return ret;
	}
	set_resp(resp, DMAKIT_VIRTIO_MEM_RESP_ACK);
	return 0;
}

/* Populate every listener again with the plugged runs of the bitmap. */
static void repopulate_runs(struct dmakit_virtio_mem *vm)
{
	uint64_t b = 0, e;

	while (b < vm->dm.nbits) {
		if (!dmakit__bit_test(&vm->dm, b)) {
			b++;
			continue;
		}
		for (e = b; e < vm->dm.nbits && dmakit__bit_test(&vm->dm, e); e++)
			;
		dmakit__dm_notify_populate(&vm->dm, b * vm->block_size, (e - b) * vm->block_size,
					   NULL, 0);
		b = e;
	}
}

DMAKIT_EXPORT int dmakit_virtio_mem_unplug_all(struct dmakit_virtio_mem *vm,
					       enum dmakit_virtio_mem_resp *resp,
					       char *err, size_t errlen)
{
	uint64_t *saved, words;
	bool *was_active = NULL;
	unsigned int i, j;
	int ret = -ENOMEM;

	set_resp(resp, DMAKIT_VIRTIO_MEM_RESP_ERROR);
	if (!vm)
		return -EINVAL;
	if (!dmakit__bits_weight(&vm->dm)) {
		set_resp(resp, DMAKIT_VIRTIO_MEM_RESP_ACK);
		return 0;
	}
	words = (vm->dm.nbits + 63) / 64;
	saved = dmakit__malloc(words * sizeof(uint64_t));
	if (!saved)
		goto nomem;
	was_active = dmakit__calloc(vm->nb_memslots, sizeof(bool));
	if (!was_active)
		goto nomem;
	memcpy(saved, vm->dm.bitmap, words * sizeof(uint64_t));
	memcpy(was_active, vm->active, vm->nb_memslots * sizeof(bool));
	/* One discard of each listener's whole section. */
	ret = dmakit__dm_notify_discard_all(&vm->dm, err, errlen);
	if (ret < 0)
		goto out;
	memset(vm->dm.bitmap, 0, words * sizeof(uint64_t));
	if (vm->as && vm->dynamic_memslots) {
		for (i = 0; i < vm->nb_memslots; i++) {
			if (!vm->active[i])
				continue;
			ret = deactivate(vm, i, err, errlen);
			if (ret < 0) {
				/* Back as it was: the memslots come back empty (their
				 * replay maps nothing), then every listener gets the
				 * plugged runs again. */
				for (j = 0; j < i; j++)
					if (was_active[j])
						activate(vm, j, NULL, 0);
				memcpy(vm->dm.bitmap, saved, words * sizeof(uint64_t));
				repopulate_runs(vm);
				goto out;
			}
		}
	}
	resize_usable(vm, vm->requested_size, true);
	ret = 0;
out:
	dmakit__free(saved);
	dmakit__free(was_active);
	set_resp(resp, ret ? DMAKIT_VIRTIO_MEM_RESP_BUSY : DMAKIT_VIRTIO_MEM_RESP_ACK);
	return ret;
nomem:
	dmakit__errf(err, errlen, "out of memory");
	goto out;
}

DMAKIT_EXPORT int dmakit_virtio_mem_set_requested_size(struct dmakit_virtio_mem *vm,
						       uint64_t size)
{
	if (!vm || size % vm->block_size || size > vm->region_size)
		return -EINVAL;
	vm->requested_size = size;
	resize_usable(vm, size, false);
	return 0;
}

DMAKIT_EXPORT void dmakit_virtio_mem_info(const struct dmakit_virtio_mem *vm,
					  struct dmakit_virtio_mem_info *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->region_size = vm->region_size;
	out->block_size = vm->block_size;
	out->addr = vm->addr;
	out->requested_size = vm->requested_size;
	out->plugged_size = dmakit__bits_weight(&vm->dm) * vm->block_size;
	out->usable_region_size = vm->usable_region_size;
	out->dynamic_memslots = vm->dynamic_memslots;
	out->memslot_size = vm->memslot_size;
	out->nb_memslots = vm->nb_memslots;
	for (i = 0; i < vm->nb_memslots; i++)
		out->active_memslots += vm->active[i];
}

DMAKIT_EXPORT bool dmakit_virtio_mem_block_plugged(const struct dmakit_virtio_mem *vm,
						   uint64_t index)
{
	return index < vm->dm.nbits && dmakit__bit_test(&vm->dm, index);
}

DMAKIT_EXPORT struct dmakit_discard_manager *
dmakit_virtio_mem_manager(struct dmakit_virtio_mem *vm)
{
	return &vm->dm;
}

DMAKIT_EXPORT struct dmakit_memory_region *dmakit_virtio_mem_region(struct dmakit_virtio_mem *vm)
{
	return vm->mr;
}
