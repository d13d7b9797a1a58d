/* SPDX-License-Identifier: MIT */
/*
 * The trace generator. Each operation is drawn from a fixed mix; its
 * arguments are drawn from "interesting" values: the edges of the platform's
 * IOVA ranges, the first and last pages of mappings that exist, pages inside
 * them and just outside, misaligned values, zero and wrapping sizes. An
 * emulated container follows the trace so the generator knows what exists.
 *
 * Randomness: xorshift64*, seeded by splitmix64 of the seed, so traces are
 * the same on every machine.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <dmakit/container.h>
#include <dmakit/trace_gen.h>

#include "alloc.h"

#define PAGE 0x1000ull
#define GEN_BUFFER 0x100000ull      /* 1 MiB of process memory */
#define GEN_ARENA (64ull << 20)     /* most IOVAs fall in [0, 64 MiB) */
#define GEN_MAX_TRACKED 4096        /* mappings the generator remembers */

struct gen {
	uint64_t state;
	struct dmakit_container *emu;
	uint64_t buffer_base; /* a fake address: the emulator declares it */
	FILE *out;
	unsigned int line;
	bool v2;
};

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct gen *g)
{
	g->state ^= g->state >> 12;
	g->state ^= g->state << 25;
	g->state ^= g->state >> 27;
	return g->state * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n), n > 0. */
static uint64_t below(struct gen *g, uint64_t n)
{
	return rnd(g) % n;
}

static bool chance(struct gen *g, unsigned int percent)
{
	return below(g, 100) < percent;
}

/* A mapping as an inclusive range. */
struct span {
	uint64_t start, last;
};

static int seek_span(struct gen *g, uint64_t iova, struct span *out)
{
	struct dmakit_mapping m;
	int ret = dmakit_container_seek_mapping(g->emu, iova, &m);

	if (ret == 0) {
		out->start = m.iova;
		out->last = m.iova + m.size - 1;
	}
	return ret;
}

/* A random existing mapping, or false when none exists. */
static bool pick_mapping(struct gen *g, struct span *out)
{
	/* Seek from a random point of the arena; wrap to the lowest. */
	return seek_span(g, below(g, GEN_ARENA), out) == 0 || seek_span(g, 0, out) == 0;
}

static const uint64_t edge_iovas[] = {
	0x0, 0xfedff000ull, 0xfedfe000ull, 0xfee00000ull, 0xfeeff000ull, 0xfef00000ull,
	0x7ffffff000ull, 0x7fffffe000ull, 0x8000000000ull, 0xfffffffffffff000ull,
	0xffffffffffffe000ull, 0x8000000000000000ull,
};

static uint64_t pick_iova(struct gen *g)
{
	struct span r;
	uint64_t v;

	switch (below(g, 10)) {
	case 0:
		v = edge_iovas[below(g, sizeof(edge_iovas) / sizeof(edge_iovas[0]))];
		break;
	case 1:
	case 2:
	case 3:
		if (!pick_mapping(g, &r)) {
			v = below(g, GEN_ARENA / PAGE) * PAGE;
			break;
		}
		switch (below(g, 5)) {
		case 0: v = r.start; break;
		case 1: v = r.last + 1; break;                       /* just past */
		case 2: v = r.start - PAGE; break;                   /* just before */
		case 3: v = r.start + below(g, (r.last - r.start + 1) / PAGE) * PAGE; break;
		default: v = r.last + 1 - PAGE; break;               /* its last page */
		}
		break;
	default:
		v = below(g, GEN_ARENA / PAGE) * PAGE;
		break;
	}
	if (chance(g, 3))
		v += 0x800; /* misaligned */
	return v;
}

static uint64_t pick_size(struct gen *g)
{
	switch (below(g, 40)) {
	case 0:
		return 0;
	case 1:
		return 0x800;
	case 2:
		return PAGE + 0x800;
	case 3:
		return 0xfffffffffffff000ull; /* wraps */
	case 4:
		return 0x8000000000ull;
	case 5:
	case 6:
		return (1 + below(g, 1024)) * PAGE;
	default:
		return (1 + below(g, 16)) * PAGE;
	}
}

static uint64_t pick_vaddr(struct gen *g, uint64_t size)
{
	uint64_t pages = GEN_BUFFER / PAGE;

	switch (below(g, 30)) {
	case 0:
		return GEN_BUFFER; /* at the end: a raw, unmapped address */
	case 1:
		/* past the end, below 4 MiB: unmapped in a static binary */
		return GEN_BUFFER + below(g, 0x2ff) * PAGE;
	case 2:
		return 0xfffffffffffff000ull; /* kernel half; wraps with size > 1 page */
	case 3:
		return PAGE * below(g, pages) + 0x800; /* misaligned */
	case 4:
		/* runs past the end of the buffer into the guard page */
		return GEN_BUFFER - PAGE;
	default:
		if (size < GEN_BUFFER && size % PAGE == 0)
			return below(g, (GEN_BUFFER - size) / PAGE + 1) * PAGE;
		return below(g, pages) * PAGE;
	}
}

static void emit(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(g->out, fmt, ap);
	va_end(ap);
	fputc('\n', g->out);
	g->line++;
}

static uint64_t emu_vaddr(const struct gen *g, uint64_t offset)
{
	return offset < GEN_BUFFER ? g->buffer_base + offset : offset;
}

static void gen_map(struct gen *g)
{
	static const char *const prots[] = { "r", "w", "rw", "rw" };
	struct dmakit_vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	uint64_t iova = pick_iova(g), size = pick_size(g), vaddr = pick_vaddr(g, size);
	unsigned int p = (unsigned int)below(g, 4);

	emit(g, "map iova=0x%" PRIx64 " size=0x%" PRIx64 " vaddr=0x%" PRIx64 " prot=%s",
	     iova, size, vaddr, prots[p]);
	map.iova = iova;
	map.size = size;
	map.vaddr = emu_vaddr(g, vaddr);
	map.flags = (p == 0 ? DMAKIT_VFIO_DMA_MAP_FLAG_READ : p == 1 ? DMAKIT_VFIO_DMA_MAP_FLAG_WRITE
			    : DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE);
	dmakit_container_map_dma(g->emu, &map);
}

/* An unmap or invalidate range: mostly aimed at what exists. */
static void pick_unmap_range(struct gen *g, uint64_t *iova, uint64_t *size)
{
	struct span r, r2;

	if (chance(g, 70) && pick_mapping(g, &r)) {
		uint64_t len = r.last - r.start + 1;

		switch (below(g, 6)) {
		case 0: /* exactly one mapping */
			*iova = r.start;
			*size = len;
			return;
		case 1: /* from a gap before it, over it */
			*iova = r.start >= 4 * PAGE ? r.start - 4 * PAGE : 0;
			*size = r.last + 1 - *iova + below(g, 8) * PAGE;
			return;
		case 2: /* bisects its end */
			*iova = r.start;
			*size = len > PAGE ? len - PAGE : 2 * PAGE;
			return;
		case 3: /* starts inside it */
			*iova = r.start + PAGE;
			*size = len + below(g, 16) * PAGE;
			return;
		case 4: /* it and the next one, if any */
			*iova = r.start;
			if (r.last != UINT64_MAX && seek_span(g, r.last + 1, &r2) == 0 && r2.start > r.last)
				*size = r2.last + 1 - r.start;
			else
				*size = len;
			return;
		default: /* a large sweep from it */
			*iova = r.start;
			*size = (1 + below(g, 8)) << 20;
			return;
		}
	}
	*iova = pick_iova(g);
	*size = pick_size(g);
}

static void gen_unmap(struct gen *g, bool invalidate)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	uint64_t iova, size;

	pick_unmap_range(g, &iova, &size);
	emit(g, "%s iova=0x%" PRIx64 " size=0x%" PRIx64, invalidate ? "invalidate" : "unmap",
	     iova, size);
	unmap.iova = iova;
	unmap.size = size;
	unmap.flags = invalidate ? DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR : 0;
	dmakit_container_unmap_dma(g->emu, &unmap);
}

static void gen_all(struct gen *g, bool invalidate)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };

	emit(g, "%s", invalidate ? "invalidate-all" : "unmap-all");
	unmap.flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL |
		      (invalidate ? DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR : 0);
	dmakit_container_unmap_dma(g->emu, &unmap);
}

static void gen_remap(struct gen *g)
{
	struct dmakit_vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct span r;
	uint64_t iova, size, vaddr;

	if (chance(g, 80) && pick_mapping(g, &r)) {
		iova = r.start;
		size = r.last - r.start + 1;
		if (chance(g, 15))
			size += PAGE; /* not the same size */
		else if (chance(g, 10))
			iova += PAGE;
	} else {
		iova = pick_iova(g);
		size = pick_size(g);
	}
	vaddr = pick_vaddr(g, size);
	emit(g, "remap iova=0x%" PRIx64 " size=0x%" PRIx64 " vaddr=0x%" PRIx64, iova, size, vaddr);
	map.flags = DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;
	map.iova = iova;
	map.size = size;
	map.vaddr = emu_vaddr(g, vaddr);
	dmakit_container_map_dma(g->emu, &map);
}

DMAKIT_EXPORT int dmakit_trace_generate(const struct dmakit_trace_gen_options *opts, FILE *out)
{
	struct dmakit_container_config cfg;
	struct gen g;
	size_t i;
	int ret;

	if (!opts || !out)
		return -EINVAL;
	if (opts->iommu_type && opts->iommu_type != DMAKIT_VFIO_TYPE1_IOMMU &&
	    opts->iommu_type != DMAKIT_VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	memset(&g, 0, sizeof(g));
	g.state = splitmix64(opts->seed) | 1;
	g.out = out;

	dmakit_container_config_init(&cfg);
	cfg.iommu_type = opts->iommu_type ? opts->iommu_type
		       : chance(&g, 25) ? DMAKIT_VFIO_TYPE1_IOMMU : DMAKIT_VFIO_TYPE1v2_IOMMU;
	cfg.dma_entry_limit = opts->limit ? opts->limit : (uint32_t)(4 + below(&g, 60));
	cfg.model_page_tables = false;
	g.v2 = cfg.iommu_type == DMAKIT_VFIO_TYPE1v2_IOMMU;
	ret = dmakit_container_open(&cfg, &g.emu);
	if (ret < 0)
		return ret;
	g.buffer_base = 0x7f0000000000ull;
	ret = dmakit_container_declare_memory(g.emu, g.buffer_base, GEN_BUFFER);
	if (ret < 0)
		goto out;

	fprintf(out, "# dmakit trace-gen seed=%" PRIu64 " ops=%zu\n", opts->seed, opts->nr_ops);
	emit(&g, "setup iommu=%s limit=%" PRIu32 " buffer=0x%llx", g.v2 ? "type1v2" : "type1",
	     cfg.dma_entry_limit, (unsigned long long)GEN_BUFFER);
	for (i = 0; i < opts->nr_ops; i++) {
		uint64_t pick = below(&g, 100);

		if (pick < 42)
			gen_map(&g);
		else if (pick < 67)
			gen_unmap(&g, false);
		else if (pick < 69)
			gen_all(&g, false);
		else if (pick < 77)
			gen_unmap(&g, true);
		else if (pick < 79)
			gen_all(&g, true);
		else if (pick < 93)
			gen_remap(&g);
		else
			emit(&g, "info");
	}
	ret = ferror(out) ? -EIO : 0;
out:
	dmakit_container_close(g.emu);
	return ret;
}
