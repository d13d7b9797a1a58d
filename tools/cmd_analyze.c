/* SPDX-License-Identifier: MIT */
/*
 * dmakit analyze [--expected] TRACE
 *
 * Reads a trace written by `dmakit record` (docs/trace-format.md, "Recorded
 * traces"): the operations plus the `# result` and `# call` comment lines.
 * Prints the mappings over time, the peak and the headroom against the
 * container's limit, and latency histograms of the real MAP and UNMAP calls.
 * With --expected, prints instead the output `dmakit replay` must give for
 * the trace if the emulator agrees with what the real kernel answered.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/dmakit.h>

#include "cli.h"

struct rec {
	char *result; /* the text after "# result ", or NULL */
	uint64_t ns, t;
	int has_call;
	int injected;
};

struct analysis {
	char **lines; /* 1-based */
	size_t nlines;
	struct rec *rec; /* per line number of an operation */
};

static int load(const char *path, struct analysis *a)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	size_t last_op = 0;

	if (!f)
		return -errno;
	a->lines = NULL;
	a->nlines = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = 0;
		if (a->nlines + 2 > alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			a->lines = realloc(a->lines, alloc * sizeof(char *));
			if (!a->lines)
				abort();
		}
		a->lines[++a->nlines] = strdup(line);
	}
	free(line);
	fclose(f);
	a->rec = calloc(a->nlines + 2, sizeof(*a->rec));
	if (!a->rec)
		abort();
	for (size_t i = 1; i <= a->nlines; i++) {
		const char *l = a->lines[i];

		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == 0)
			continue;
		if (*l != '#') {
			last_op = i;
			continue;
		}
		if (!last_op)
			continue;
		if (strncmp(l, "# result ", 9) == 0) {
			a->rec[last_op].result = (char *)l + 9;
		} else if (strncmp(l, "# call ", 7) == 0) {
			const char *p = strstr(l, " ns="), *q = strstr(l, " t=");

			a->rec[last_op].has_call = 1;
			a->rec[last_op].injected = strstr(l, "injected=") != NULL;
			if (p)
				a->rec[last_op].ns = strtoull(p + 4, NULL, 10);
			if (q)
				a->rec[last_op].t = strtoull(q + 3, NULL, 10);
		}
	}
	return 0;
}

static void unload(struct analysis *a)
{
	for (size_t i = 1; i <= a->nlines; i++)
		free(a->lines[i]);
	free(a->lines);
	free(a->rec);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void histogram(const char *name, uint64_t *v, size_t n)
{
	unsigned long buckets[64] = { 0 };
	unsigned long maxc = 0;
	int lo = 63, hi = 0, b;

	printf("latency of real %s calls: ", name);
	if (n == 0) {
		printf("none\n");
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("%zu calls, min %" PRIu64 " ns, median %" PRIu64 " ns, p99 %" PRIu64
	       " ns, max %" PRIu64 " ns\n",
	       n, v[0], v[n / 2], v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], v[n - 1]);
	for (size_t i = 0; i < n; i++) {
		b = v[i] ? 63 - __builtin_clzll(v[i]) : 0;
		buckets[b]++;
		if (b < lo)
			lo = b;
		if (b > hi)
			hi = b;
	}
	for (b = lo; b <= hi; b++)
		if (buckets[b] > maxc)
			maxc = buckets[b];
	for (b = lo; b <= hi; b++) {
		int bar = (int)((buckets[b] * 40 + maxc - 1) / maxc);

		printf("  %10llu-%-10llu ns %8lu %.*s\n", 1ull << b, (2ull << b) - 1, buckets[b],
		       buckets[b] ? bar : 0, "########################################");
	}
}

static const char *op_word(const char *line, char *buf, size_t len)
{
	size_t n;

	while (*line == ' ' || *line == '\t')
		line++;
	n = strcspn(line, " \t");
	if (n >= len)
		n = len - 1;
	memcpy(buf, line, n);
	buf[n] = 0;
	return buf;
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expected", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmakit_trace *trace;
	struct dmakit_container_config cfg;
	struct dmakit_container *c;
	struct analysis a = { 0 };
	char err[512], word[32];
	int opt, expected = 0, rc;
	size_t i, nmap = 0, nunmap = 0, nmapfail = 0, nunmapfail = 0, ninject = 0;
	uint64_t *map_ns, *unmap_ns, peak = 0, t0 = 0, peak_t = 0;
	unsigned int peak_line = 0;
	uint64_t *live_at;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			expected = 1;
			break;
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		case 'h':
			printf("usage: dmakit analyze [--expected] TRACE\n\n"
			       "Summarise a trace written by dmakit record: mappings over time, the\n"
			       "peak and the headroom against the limit, latency histograms of the\n"
			       "real MAP and UNMAP calls. --expected prints the replay output the\n"
			       "recorded results predict (compare with dmakit replay).\n");
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("analyze: expected one TRACE (dmakit analyze [--expected] TRACE)");
		return CLI_EXIT_USAGE;
	}
	rc = dmakit_trace_parse_file(argv[optind], &trace, err, sizeof(err));
	if (rc < 0) {
		cli_error("%s", (rc == -EINVAL || err[0]) ? err : strerror(-rc));
		return CLI_EXIT_USAGE;
	}
	rc = load(argv[optind], &a);
	if (rc < 0) {
		cli_error("analyze: %s: %s", argv[optind], strerror(-rc));
		dmakit_trace_free(trace);
		return CLI_EXIT_USAGE;
	}
	if (expected) {
		for (i = 0; i < trace->nr_steps; i++) {
			const struct dmakit_trace_step *s = &trace->steps[i];

			if (s->op == DMAKIT_TRACE_SETUP || s->line > a.nlines)
				continue;
			printf("L%u %s %s\n", s->line, op_word(a.lines[s->line], word, sizeof(word)),
			       a.rec[s->line].result ? a.rec[s->line].result : "unknown");
		}
		unload(&a);
		dmakit_trace_free(trace);
		return CLI_EXIT_OK;
	}

	/* Mappings over time: apply what really succeeded to an emulated
	 * container with no limit and count its mappings. */
	dmakit_container_config_init(&cfg);
	cfg.iommu_type = trace->setup.iommu_type;
	cfg.dma_entry_limit = UINT32_MAX;
	cfg.model_page_tables = false;
	rc = dmakit_container_open(&cfg, &c);
	if (rc < 0) {
		cli_error("analyze: emulator: %s", strerror(-rc));
		unload(&a);
		dmakit_trace_free(trace);
		return CLI_EXIT_HOST;
	}
	map_ns = calloc(trace->nr_steps + 1, sizeof(*map_ns));
	unmap_ns = calloc(trace->nr_steps + 1, sizeof(*unmap_ns));
	live_at = calloc(trace->nr_steps + 1, sizeof(*live_at));
	if (!map_ns || !unmap_ns || !live_at)
		abort();
	for (i = 0; i < trace->nr_steps; i++) {
		const struct dmakit_trace_step *s = &trace->steps[i];
		const struct rec *r = s->line <= a.nlines ? &a.rec[s->line] : NULL;
		int ok = r && r->result && strncmp(r->result, "ok", 2) == 0;
		struct dmakit_container_stats st;

		if (r && r->has_call && !t0)
			t0 = r->t;
		switch (s->op) {
		case DMAKIT_TRACE_MAP:
		case DMAKIT_TRACE_REMAP:
			if (r && r->has_call) {
				if (r->injected)
					ninject++;
				else
					map_ns[nmap++] = r->ns;
			}
			if (!ok) {
				nmapfail++;
			} else {
				struct dmakit_vfio_iommu_type1_dma_map m = {
					.argsz = sizeof(m), .iova = s->iova, .size = s->size,
					.vaddr = 0x10000000000ull + s->vaddr,
					.flags = s->op == DMAKIT_TRACE_REMAP ? DMAKIT_VFIO_DMA_MAP_FLAG_VADDR
						: ((s->prot & DMAKIT_TRACE_PROT_READ) ? 1u : 0) |
						  ((s->prot & DMAKIT_TRACE_PROT_WRITE) ? 2u : 0),
				};
				(void)dmakit_container_map_dma(c, &m);
			}
			break;
		case DMAKIT_TRACE_UNMAP:
		case DMAKIT_TRACE_UNMAP_ALL:
		case DMAKIT_TRACE_INVALIDATE:
		case DMAKIT_TRACE_INVALIDATE_ALL:
			if (r && r->has_call)
				unmap_ns[nunmap++] = r->ns;
			if (!ok) {
				nunmapfail++;
			} else {
				struct dmakit_vfio_iommu_type1_dma_unmap u = {
					.argsz = sizeof(u), .iova = s->iova, .size = s->size,
				};
				if (s->op == DMAKIT_TRACE_UNMAP_ALL || s->op == DMAKIT_TRACE_INVALIDATE_ALL) {
					u.iova = 0;
					u.size = 0;
					u.flags |= DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL;
				}
				if (s->op == DMAKIT_TRACE_INVALIDATE || s->op == DMAKIT_TRACE_INVALIDATE_ALL)
					u.flags |= DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR;
				(void)dmakit_container_unmap_dma(c, &u);
			}
			break;
		default:
			break;
		}
		if (dmakit_container_stats(c, &st) == 0)
			live_at[i] = st.mappings;
		if (live_at[i] > peak) {
			peak = live_at[i];
			peak_line = s->line;
			peak_t = r && r->has_call && r->t >= t0 ? r->t - t0 : 0;
		}
	}

	printf("trace: %s\n", argv[optind]);
	printf("limit: %u (the setup line: the container's dma_entry_limit as recorded)\n",
	       trace->setup.limit);
	printf("operations: %zu maps (%zu failed, %zu injected), %zu unmaps (%zu failed)\n",
	       nmap + ninject, nmapfail, ninject, nunmap, nunmapfail);
	printf("mappings: peak %" PRIu64 " at line %u (+%.3f ms), at the end %" PRIu64 "\n", peak,
	       peak_line, (double)peak_t / 1e6, trace->nr_steps ? live_at[trace->nr_steps - 1] : 0);
	printf("headroom: %lld of %u entries left at the peak (%.1f%% used)\n",
	       (long long)trace->setup.limit - (long long)peak, trace->setup.limit,
	       trace->setup.limit ? 100.0 * (double)peak / trace->setup.limit : 0.0);
	printf("mappings over time (line, time, live mappings):\n");
	if (trace->nr_steps) {
		size_t samples = trace->nr_steps < 16 ? trace->nr_steps : 16, k;

		for (k = 0; k < samples; k++) {
			size_t idx = samples == 1 ? 0 : k * (trace->nr_steps - 1) / (samples - 1);
			const struct dmakit_trace_step *s = &trace->steps[idx];
			const struct rec *r = s->line <= a.nlines ? &a.rec[s->line] : NULL;
			double ms = r && r->has_call && r->t >= t0 ? (double)(r->t - t0) / 1e6 : 0;

			printf("  L%-8u +%10.3f ms %8" PRIu64 "\n", s->line, ms, live_at[idx]);
		}
	}
	histogram("MAP_DMA", map_ns, nmap);
	histogram("UNMAP_DMA", unmap_ns, nunmap);
	free(map_ns);
	free(unmap_ns);
	free(live_at);
	dmakit_container_close(c);
	unload(&a);
	dmakit_trace_free(trace);
	return CLI_EXIT_OK;
}
