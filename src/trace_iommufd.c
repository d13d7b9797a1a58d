/* SPDX-License-Identifier: MIT */
/*
 * The trace format's iommufd additions (docs/trace-format.md, "iommufd
 * operations"): `setup iommu=iommufd|iommufd-compat|iommufd-compat-v1`, the
 * setup keys memlock=, ipc-lock=, sys-resource=, and the operations
 * ioas-alloc, ioas-destroy, ioas-map, ioas-unmap, ioas-copy, ioas-ranges,
 * ioas-allow, option, attach, detach, and for HWPTs and dirty tracking bind,
 * hwpt-alloc, dirty-tracking, dma-write and dirty-bitmap. Version-1 lines keep their meaning;
 * in an `iommu=iommufd` trace they are sent to the same context, where
 * iommufd's vfio compat layer answers them (ENODEV until a compat IOAS
 * exists: this format has no line that sets one, so they show that rule).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <dmakit/iommufd.h>
#include <dmakit/trace.h>

#include "alloc.h"
#include "trace_internal.h"

#define RANGES_DEFAULT 16u
#define RANGES_MAX 64u

bool dmakit__trace_setup_iommufd(const char *val, struct dmakit_trace_setup *setup)
{
	if (strcmp(val, "iommufd") == 0) {
		setup->iommu_kind = DMAKIT_TRACE_IOMMU_IOMMUFD;
		setup->iommu_type = 0;
	} else if (strcmp(val, "iommufd-compat") == 0) {
		setup->iommu_kind = DMAKIT_TRACE_IOMMU_IOMMUFD_COMPAT;
		setup->iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
	} else if (strcmp(val, "iommufd-compat-v1") == 0) {
		setup->iommu_kind = DMAKIT_TRACE_IOMMU_IOMMUFD_COMPAT;
		setup->iommu_type = DMAKIT_VFIO_TYPE1_IOMMU;
	} else {
		return false;
	}
	return true;
}

static int yes_no(const char *val, bool *out)
{
	if (strcmp(val, "yes") == 0)
		*out = true;
	else if (strcmp(val, "no") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int dmakit__trace_setup_key(const char *key, const char *val, struct dmakit_trace_setup *setup,
			    char *msg, size_t msglen)
{
	bool yes;

	if (strcmp(key, "memlock") == 0) {
		if (!dmakit__trace_parse_u64(val, &setup->memlock)) {
			snprintf(msg, msglen, "bad number '%s' for memlock", val);
			return -EINVAL;
		}
		return 16;
	}
	if (strcmp(key, "ipc-lock") == 0 || strcmp(key, "sys-resource") == 0) {
		if (yes_no(val, &yes) < 0) {
			snprintf(msg, msglen, "bad value '%s' for %s (expected yes or no)", val, key);
			return -EINVAL;
		}
		if (key[0] == 'i') {
			setup->no_ipc_lock = !yes;
			return 32;
		}
		setup->no_sys_resource = !yes;
		return 64;
	}
	return 0;
}

/* Keys of the iommufd operations. */
enum {
	K_IOAS = 1u << 0, K_IOVA = 1u << 1, K_SIZE = 1u << 2, K_VADDR = 1u << 3,
	K_PROT = 1u << 4, K_ID = 1u << 5, K_DST = 1u << 6, K_SRC = 1u << 7,
	K_DST_IOVA = 1u << 8, K_SRC_IOVA = 1u << 9, K_NUM = 1u << 10, K_RANGES = 1u << 11,
	K_NAME = 1u << 12, K_OP = 1u << 13, K_VAL = 1u << 14, K_HWPT = 1u << 15,
	K_DEV = 1u << 16, K_PT = 1u << 17, K_FLAGS = 1u << 18, K_ENABLE = 1u << 19,
	K_PAGE = 1u << 20, K_CLEAR = 1u << 21,
};
static const char *const knames[] = {
	"ioas", "iova", "size", "vaddr", "prot", "id", "dst", "src", "dst-iova", "src-iova",
	"num", "ranges", "name", "op", "val", "hwpt", "dev", "pt", "flags", "enable",
	"page", "clear",
};
#define NR_KEYS (sizeof(knames) / sizeof(knames[0]))

struct ifd_op_desc {
	const char *word;
	enum dmakit_trace_op op;
	unsigned int required, optional;
};

static const struct ifd_op_desc ifd_ops[] = {
	{ "ioas-alloc", DMAKIT_TRACE_IOAS_ALLOC, 0, 0 },
	{ "ioas-destroy", DMAKIT_TRACE_IOAS_DESTROY, K_ID, 0 },
	{ "ioas-map", DMAKIT_TRACE_IOAS_MAP, K_IOAS | K_SIZE | K_VADDR | K_PROT, K_IOVA },
	{ "ioas-unmap", DMAKIT_TRACE_IOAS_UNMAP, K_IOAS | K_IOVA | K_SIZE, 0 },
	{ "ioas-copy", DMAKIT_TRACE_IOAS_COPY, K_DST | K_SRC | K_SRC_IOVA | K_SIZE | K_PROT,
	  K_DST_IOVA },
	{ "ioas-ranges", DMAKIT_TRACE_IOAS_RANGES, K_IOAS, K_NUM },
	{ "ioas-allow", DMAKIT_TRACE_IOAS_ALLOW, K_IOAS | K_RANGES, 0 },
	{ "option", DMAKIT_TRACE_IOMMU_OPTION, K_NAME | K_OP, K_IOAS | K_VAL },
	{ "attach", DMAKIT_TRACE_ATTACH, 0, K_IOAS | K_HWPT }, /* exactly one */
	{ "detach", DMAKIT_TRACE_DETACH, K_HWPT, 0 },
	{ "bind", DMAKIT_TRACE_BIND, 0, 0 },
	{ "hwpt-alloc", DMAKIT_TRACE_HWPT_ALLOC, K_DEV | K_PT, K_FLAGS },
	{ "dirty-tracking", DMAKIT_TRACE_DIRTY_TRACKING, K_HWPT | K_ENABLE, 0 },
	{ "dma-write", DMAKIT_TRACE_DMA_WRITE, K_HWPT | K_IOVA | K_SIZE, 0 },
	{ "dirty-bitmap", DMAKIT_TRACE_DIRTY_BITMAP, K_HWPT | K_IOVA | K_SIZE | K_PAGE, K_CLEAR },
};
#define NR_IFD_OPS (sizeof(ifd_ops) / sizeof(ifd_ops[0]))

static const struct ifd_op_desc *find_op(const char *word)
{
	size_t i;

	for (i = 0; i < NR_IFD_OPS; i++)
		if (strcmp(word, ifd_ops[i].word) == 0)
			return &ifd_ops[i];
	return NULL;
}

bool dmakit__trace_is_iommufd_op(const char *word)
{
	return find_op(word) != NULL;
}

const char *dmakit__trace_iommufd_op_word(enum dmakit_trace_op op)
{
	size_t i;

	for (i = 0; i < NR_IFD_OPS; i++)
		if (ifd_ops[i].op == op)
			return ifd_ops[i].word;
	return "?";
}

/* The bitmap a dirty-bitmap line may ask for: 2^24 bits (2 MiB). */
#define DIRTY_BITS_MAX (1ull << 24)

/* hwpt-alloc flags=: none, or names joined by '+' (dirty, nest-parent,
 * fault-id, pasid), or a number. */
static bool parse_hwpt_flags(const char *val, uint32_t *out)
{
	static const struct { const char *name; uint32_t flag; } names[] = {
		{ "nest-parent", DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT },
		{ "dirty", DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING },
		{ "fault-id", DMAKIT_IOMMU_HWPT_FAULT_ID_VALID },
		{ "pasid", DMAKIT_IOMMU_HWPT_ALLOC_PASID },
	};
	const char *p = val;
	uint64_t v;

	*out = 0;
	if (strcmp(val, "none") == 0)
		return true;
	if (dmakit__trace_parse_u64(val, &v))
		return v <= UINT32_MAX && ((*out = (uint32_t)v), true);
	while (*p) {
		size_t len = strcspn(p, "+"), i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return false;
		*out |= names[i].flag;
		p += len;
		if (*p == '+' && *++p == '\0')
			return false;
	}
	return true;
}

static int parse_ranges(const char *val, struct dmakit_trace_step *step, char *msg,
			size_t msglen)
{
	char buf[512], *save = NULL, *tok;

	step->nr_ranges = 0;
	if (strcmp(val, "none") == 0)
		return 0;
	if (strlen(val) >= sizeof(buf))
		goto bad;
	strcpy(buf, val);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');

		if (!dash || step->nr_ranges == DMAKIT_TRACE_MAX_RANGES)
			goto bad;
		*dash = '\0';
		if (!dmakit__trace_parse_u64(tok, &step->ranges[step->nr_ranges].start) ||
		    !dmakit__trace_parse_u64(dash + 1, &step->ranges[step->nr_ranges].last))
			goto bad;
		step->nr_ranges++;
	}
	return 0;
bad:
	snprintf(msg, msglen, "bad value for ranges (expected none or up to %d START-LAST,...)",
		 DMAKIT_TRACE_MAX_RANGES);
	return -EINVAL;
}

int dmakit__trace_parse_iommufd_step(char **words, int nwords, struct dmakit_trace_step *step,
				     char *msg, size_t msglen)
{
	const struct ifd_op_desc *d = find_op(words[0]);
	unsigned int seen = 0, k;
	int i;

	memset(step, 0, sizeof(*step));
	step->op = d->op;
	step->num = RANGES_DEFAULT;
	for (i = 1; i < nwords; i++) {
		char *eq = strchr(words[i], '=');
		const char *key = words[i], *val;
		uint64_t v = 0;

		if (!eq) {
			snprintf(msg, msglen, "%s: expected key=value, got '%s'", d->word, words[i]);
			return -EINVAL;
		}
		*eq = '\0';
		val = eq + 1;
		for (k = 0; k < NR_KEYS; k++)
			if (strcmp(key, knames[k]) == 0)
				break;
		if (k == NR_KEYS || !((d->required | d->optional) & (1u << k))) {
			snprintf(msg, msglen, "%s: unknown key '%s'", d->word, key);
			return -EINVAL;
		}
		if (seen & (1u << k)) {
			snprintf(msg, msglen, "%s: key '%s' given twice", d->word, key);
			return -EINVAL;
		}
		seen |= 1u << k;
		switch (1u << k) {
		case K_PROT:
			if (strcmp(val, "r") == 0)
				step->prot = DMAKIT_TRACE_PROT_READ;
			else if (strcmp(val, "w") == 0)
				step->prot = DMAKIT_TRACE_PROT_WRITE;
			else if (strcmp(val, "rw") == 0)
				step->prot = DMAKIT_TRACE_PROT_READ | DMAKIT_TRACE_PROT_WRITE;
			else if (strcmp(val, "none") == 0)
				step->prot = 0;
			else
				goto bad_value;
			continue;
		case K_RANGES:
			if (parse_ranges(val, step, msg, msglen) < 0)
				return -EINVAL;
			continue;
		case K_FLAGS:
			if (!parse_hwpt_flags(val, &step->hwpt_flags))
				goto bad_value;
			continue;
		case K_ENABLE:
		case K_CLEAR: {
			bool yes;

			if (yes_no(val, &yes) < 0)
				goto bad_value;
			if ((1u << k) == K_ENABLE)
				step->enable = yes;
			else
				step->no_clear = !yes;
			continue;
		}
		case K_NAME:
			if (strcmp(val, "rlimit-mode") == 0)
				step->option = DMAKIT_IOMMU_OPTION_RLIMIT_MODE;
			else if (strcmp(val, "huge-pages") == 0)
				step->option = DMAKIT_IOMMU_OPTION_HUGE_PAGES;
			else if (dmakit__trace_parse_u64(val, &v) && v <= UINT32_MAX)
				step->option = (uint32_t)v;
			else
				goto bad_value;
			continue;
		case K_OP:
			if (strcmp(val, "get") == 0)
				step->option_op = DMAKIT_IOMMU_OPTION_OP_GET;
			else if (strcmp(val, "set") == 0)
				step->option_op = DMAKIT_IOMMU_OPTION_OP_SET;
			else if (dmakit__trace_parse_u64(val, &v) && v <= UINT16_MAX)
				step->option_op = (uint32_t)v;
			else
				goto bad_value;
			continue;
		default:
			break;
		}
		if (!dmakit__trace_parse_u64(val, &v))
			goto bad_value;
		switch (1u << k) {
		case K_IOAS: case K_ID: case K_DST: case K_HWPT: case K_SRC: case K_NUM:
		case K_DEV: case K_PT:
			if (v > UINT32_MAX)
				goto bad_value;
			if ((1u << k) == K_SRC || (1u << k) == K_PT)
				step->ioas2 = (uint32_t)v;
			else if ((1u << k) == K_NUM)
				step->num = (uint32_t)v;
			else
				step->ioas = (uint32_t)v;
			if ((1u << k) == K_NUM && v > RANGES_MAX) {
				snprintf(msg, msglen, "%s: num %s is more than %u", d->word, val,
					 RANGES_MAX);
				return -EINVAL;
			}
			break;
		case K_IOVA: case K_DST_IOVA:
			step->iova = v;
			step->fixed = true;
			break;
		case K_SRC_IOVA:
			step->iova2 = v;
			break;
		case K_SIZE:
			step->size = v;
			break;
		case K_VADDR:
			step->vaddr = v;
			break;
		case K_VAL:
			step->val = v;
			break;
		case K_PAGE:
			step->page_size = v;
			break;
		}
		continue;
bad_value:
		snprintf(msg, msglen, "%s: bad value '%s' for %s", d->word, val, key);
		return -EINVAL;
	}
	for (k = 0; k < NR_KEYS; k++)
		if ((d->required & (1u << k)) && !(seen & (1u << k))) {
			snprintf(msg, msglen, "%s: missing key '%s'", d->word, knames[k]);
			return -EINVAL;
		}
	if (d->op == DMAKIT_TRACE_ATTACH && !(seen & K_IOAS) == !(seen & K_HWPT)) {
		snprintf(msg, msglen, "attach: give exactly one of ioas= and hwpt=");
		return -EINVAL;
	}
	if (d->op == DMAKIT_TRACE_DIRTY_BITMAP) {
		/* The replay passes a bitmap of size / page bits; a length of 0
		 * would make the kernel walk the whole address space. */
		if (!step->size) {
			snprintf(msg, msglen, "dirty-bitmap: size must not be 0");
			return -EINVAL;
		}
		if (step->page_size &&
		    ((step->size - 1) >> __builtin_ctzll(step->page_size)) >= DIRTY_BITS_MAX) {
			snprintf(msg, msglen, "dirty-bitmap: size / page is more than %llu bits",
				 (unsigned long long)DIRTY_BITS_MAX);
			return -EINVAL;
		}
	}
	/* ioas-map's iova= is FIXED_IOVA only when given. */
	if (d->op == DMAKIT_TRACE_IOAS_MAP && !(seen & K_IOVA))
		step->fixed = false;
	if (d->op == DMAKIT_TRACE_IOAS_UNMAP)
		step->fixed = false;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Replay                                                                     */

static uint32_t map_flags(const struct dmakit_trace_step *s)
{
	uint32_t f = s->fixed ? DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA : 0;

	if (s->prot & DMAKIT_TRACE_PROT_READ)
		f |= DMAKIT_IOMMU_IOAS_MAP_READABLE;
	if (s->prot & DMAKIT_TRACE_PROT_WRITE)
		f |= DMAKIT_IOMMU_IOAS_MAP_WRITEABLE;
	return f;
}

static void print_ranges(FILE *out, const struct dmakit_iommu_iova_range *r, uint32_t n)
{
	uint32_t i;

	if (!n) {
		fprintf(out, " ranges=none");
		return;
	}
	fprintf(out, " ranges=");
	for (i = 0; i < n; i++)
		fprintf(out, "%s0x%" PRIx64 "-0x%" PRIx64, i ? "," : "", r[i].start, r[i].last);
}

/* A version-1 line on the context: the vfio compat layer. */
/* The vfio compat layer of @ctx as the ioctl the version-1 lines go to. */
static int compat_ioctl_fn(void *ctx, unsigned long request, void *arg)
{
	return dmakit_iommufd_ioctl(ctx, request, arg);
}

/* Print the set bits of @bits (@nbits long) as " bits=A-B,C,..." or
 * " bits=none"; a list that does not fit ends in "...". */
static void print_bits(char *buf, size_t len, const uint64_t *bits, uint64_t nbits)
{
	size_t used = (size_t)snprintf(buf, len, " bits=");
	bool any = false;
	uint64_t i = 0;

	while (i < nbits) {
		uint64_t first;

		if (!((bits[i / 64] >> (i % 64)) & 1)) {
			i++;
			continue;
		}
		first = i;
		while (i + 1 < nbits && ((bits[(i + 1) / 64] >> ((i + 1) % 64)) & 1))
			i++;
		if (used + 48 >= len) {
			snprintf(buf + used, len - used, "%s...", any ? "," : "");
			return;
		}
		if (first == i)
			used += (size_t)snprintf(buf + used, len - used, "%s%" PRIu64, any ? "," : "",
						 first);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%" PRIu64 "-%" PRIu64,
						 any ? "," : "", first, i);
		any = true;
		i++;
	}
	if (!any)
		snprintf(buf + used, len - used, "none");
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP into a zeroed bitmap of size / page bits. */
static int replay_dirty_bitmap(struct dmakit_iommufd *ctx, const struct dmakit_trace_step *s,
			       char *extra, size_t len)
{
	/* Bits are counted at the lowest set bit of page_size, as the kernel's
	 * iova_bitmap does (a page_size that is not a power of two still
	 * passes its checks). */
	uint64_t nbits = s->page_size ? ((s->size - 1) >> __builtin_ctzll(s->page_size)) + 1 : 1;
	uint64_t *bits = dmakit__calloc((size_t)((nbits + 63) / 64), sizeof(*bits));
	struct dmakit_iommu_hwpt_get_dirty_bitmap g = {
		.size = sizeof(g), .hwpt_id = s->ioas, .iova = s->iova, .length = s->size,
		.page_size = s->page_size, .data = (uint64_t)(uintptr_t)bits,
		.flags = s->no_clear ? DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0,
	};
	int r;

	if (!bits)
		return -ENOMEM;
	r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
	if (r == 0)
		print_bits(extra, len, bits, nbits);
	dmakit__free(bits);
	return r;
}

int dmakit__trace_replay_iommufd(const struct dmakit_trace *trace,
				 const struct dmakit_replay_options *opts, FILE *out)
{
	struct dmakit_iommufd_config cfg;
	struct dmakit_iommufd *ctx = NULL;
	uint64_t buffer = trace->setup.buffer;
	struct dmakit__trace_buffer tb;
	bool linux_backend = opts->backend == DMAKIT_BACKEND_LINUX;
	uint8_t *base;
	size_t i;
	int ret;

	ret = dmakit__trace_buffer_reserve(buffer, linux_backend, &tb);
	if (ret < 0)
		return ret;
	base = tb.base;
	dmakit_iommufd_config_init(&cfg);
	cfg.backend = linux_backend ? DMAKIT_IOMMUFD_LINUX : DMAKIT_IOMMUFD_EMU;
	cfg.memlock_limit = trace->setup.memlock;
	cfg.cap_ipc_lock = !trace->setup.no_ipc_lock;
	cfg.cap_sys_resource = !trace->setup.no_sys_resource;
	ret = dmakit_iommufd_open(&cfg, &ctx);
	if (ret < 0)
		goto out;
	ret = dmakit_iommufd_declare_memory(ctx, (uint64_t)(uintptr_t)base, tb.len);
	if (ret < 0)
		goto out;

	for (i = 0; i < trace->nr_steps; i++) {
		const struct dmakit_trace_step *s = &trace->steps[i];
		uint64_t vaddr = s->vaddr < buffer ? (uint64_t)(uintptr_t)base + s->vaddr : s->vaddr;
		struct dmakit_iommu_iova_range ranges[RANGES_MAX];
		char extra[1024] = "";
		int r;

		switch (s->op) {
		case DMAKIT_TRACE_IOAS_ALLOC: {
			struct dmakit_iommu_ioas_alloc a = { .size = sizeof(a) };

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOC, &a);
			snprintf(extra, sizeof(extra), " id=%" PRIu32, a.out_ioas_id);
			break;
		}
		case DMAKIT_TRACE_IOAS_DESTROY: {
			struct dmakit_iommu_destroy d = { .size = sizeof(d), .id = s->ioas };

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_DESTROY, &d);
			break;
		}
		case DMAKIT_TRACE_IOAS_MAP: {
			struct dmakit_iommu_ioas_map m = {
				.size = sizeof(m), .flags = map_flags(s), .ioas_id = s->ioas,
				.user_va = vaddr, .length = s->size, .iova = s->iova,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_MAP, &m);
			snprintf(extra, sizeof(extra), " iova=0x%" PRIx64, m.iova);
			break;
		}
		case DMAKIT_TRACE_IOAS_UNMAP: {
			struct dmakit_iommu_ioas_unmap u = {
				.size = sizeof(u), .ioas_id = s->ioas, .iova = s->iova,
				.length = s->size,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_UNMAP, &u);
			snprintf(extra, sizeof(extra), " size=0x%" PRIx64, u.length);
			break;
		}
		case DMAKIT_TRACE_IOAS_COPY: {
			struct dmakit_iommu_ioas_copy c = {
				.size = sizeof(c), .flags = map_flags(s), .dst_ioas_id = s->ioas,
				.src_ioas_id = s->ioas2, .length = s->size, .dst_iova = s->iova,
				.src_iova = s->iova2,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_COPY, &c);
			snprintf(extra, sizeof(extra), " iova=0x%" PRIx64, c.dst_iova);
			break;
		}
		case DMAKIT_TRACE_IOAS_RANGES: {
			struct dmakit_iommu_ioas_iova_ranges q = {
				.size = sizeof(q), .ioas_id = s->ioas, .num_iovas = s->num,
				.allowed_iovas = (uint64_t)(uintptr_t)ranges,
			};
			FILE *m;

			memset(ranges, 0, sizeof(ranges));
			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &q);
			m = fmemopen(extra, sizeof(extra), "w");
			if (m) {
				if (r == -EMSGSIZE)
					fprintf(m, " num=%" PRIu32, q.num_iovas);
				fprintf(m, " alignment=0x%" PRIx64, q.out_iova_alignment);
				if (r == 0)
					print_ranges(m, ranges, q.num_iovas);
				fclose(m);
			}
			break;
		}
		case DMAKIT_TRACE_IOAS_ALLOW: {
			struct dmakit_iommu_ioas_allow_iovas a = {
				.size = sizeof(a), .ioas_id = s->ioas, .num_iovas = s->nr_ranges,
				.allowed_iovas = (uint64_t)(uintptr_t)s->ranges,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, &a);
			break;
		}
		case DMAKIT_TRACE_IOMMU_OPTION: {
			struct dmakit_iommu_option o = {
				.size = sizeof(o), .option_id = s->option,
				.op = (uint16_t)s->option_op, .object_id = s->ioas, .val64 = s->val,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_OPTION, &o);
			snprintf(extra, sizeof(extra), " val=%" PRIu64, o.val64);
			break;
		}
		case DMAKIT_TRACE_ATTACH: {
			uint32_t hwpt = 0;

			r = dmakit_iommufd_attach_device(ctx, s->ioas, &hwpt);
			snprintf(extra, sizeof(extra), " hwpt=%" PRIu32, hwpt);
			break;
		}
		case DMAKIT_TRACE_DETACH:
			r = dmakit_iommufd_detach_device(ctx, s->ioas);
			break;
		case DMAKIT_TRACE_BIND: {
			uint32_t dev = 0;

			r = dmakit_iommufd_bind_device(ctx, &dev);
			snprintf(extra, sizeof(extra), " dev=%" PRIu32, dev);
			break;
		}
		case DMAKIT_TRACE_HWPT_ALLOC: {
			struct dmakit_iommu_hwpt_alloc h = {
				.size = sizeof(h), .flags = s->hwpt_flags, .dev_id = s->ioas,
				.pt_id = s->ioas2,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_ALLOC, &h);
			snprintf(extra, sizeof(extra), " hwpt=%" PRIu32, h.out_hwpt_id);
			break;
		}
		case DMAKIT_TRACE_DIRTY_TRACKING: {
			struct dmakit_iommu_hwpt_set_dirty_tracking t = {
				.size = sizeof(t), .hwpt_id = s->ioas,
				.flags = s->enable ? DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
			};

			r = dmakit_iommufd_ioctl(ctx, DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, &t);
			break;
		}
		case DMAKIT_TRACE_DMA_WRITE:
			r = dmakit_iommufd_dma_write(ctx, s->ioas, s->iova, s->size);
			break;
		case DMAKIT_TRACE_DIRTY_BITMAP:
			r = replay_dirty_bitmap(ctx, s, extra, sizeof(extra));
			break;
		default:
			dmakit__trace_run_v1(s, vaddr, compat_ioctl_fn, ctx, out);
			continue;
		}
		fprintf(out, "L%u %s ", s->line, dmakit__trace_iommufd_op_word(s->op));
		if (r < 0 && r != -EMSGSIZE)
			fprintf(out, "%s\n", dmakit_errno_name(r));
		else if (r < 0)
			fprintf(out, "%s%s\n", dmakit_errno_name(r), extra);
		else
			fprintf(out, "ok%s\n", extra);
	}
	ret = 0;
out:
	dmakit_iommufd_close(ctx);
	dmakit__trace_buffer_release(&tb);
	return ret;
}
