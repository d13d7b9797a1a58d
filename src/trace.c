/* SPDX-License-Identifier: MIT */
/*
 * Traces: parse the whole text first (so a malformed line runs nothing), then
 * replay step by step on a fresh container, printing one line per step.
 *
 * The buffer: a trace's `vaddr=` values are offsets into `buffer` bytes of
 * process memory. Replay reserves that memory with mmap (no pages are touched
 * on the emulator; the real kernel faults them in when it pins), passes
 * base + offset for an offset inside the buffer and the raw offset for one at
 * or past its end, so that both backends see an address they cannot pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dmakit/profiles.h>
#include <dmakit/trace.h>

#include "alloc.h"
#include "info_internal.h"
#include "trace_internal.h"

/* Bounds on input, so a hostile file cannot make us allocate without limit. */
#define TRACE_MAX_BYTES (256ull << 20) /* a trace file, bytes */
#define TRACE_MAX_WORDS 16             /* words on one line */

/* An inaccessible page after a replay buffer, bytes. */
#define GUARD_BYTES 4096ull
/* Alignment of a replay buffer's base, bytes (see trace_internal.h). */
#define BUFFER_ALIGN (2ull << 20)

#define DMA_ENTRY_LIMIT_PATH "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

/* ------------------------------------------------------------------------ */
/* Parsing                                                                    */

struct parser {
	const char *name;
	unsigned int line;
	char *err;
	size_t errlen;
};

static int parse_error(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err && p->errlen) {
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
		if (n >= 0 && (size_t)n < p->errlen) {
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

/* Decimal or 0x-hexadecimal, unsigned 64-bit, the whole word. */
bool dmakit__trace_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10, digit;
	const char *c = s;

	if (c[0] == '0' && (c[1] == 'x' || c[1] == 'X')) {
		base = 16;
		c += 2;
	}
	if (!*c)
		return false;
	for (; *c; c++) {
		if (*c >= '0' && *c <= '9')
			digit = (unsigned int)(*c - '0');
		else if (base == 16 && *c >= 'a' && *c <= 'f')
			digit = (unsigned int)(*c - 'a' + 10);
		else if (base == 16 && *c >= 'A' && *c <= 'F')
			digit = (unsigned int)(*c - 'A' + 10);
		else
			return false;
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, digit, &v))
			return false;
	}
	*out = v;
	return true;
}

struct op_desc {
	const char *word;
	enum dmakit_trace_op op;
	unsigned int keys; /* KEY_* the operation takes; all are required */
};

enum {
	KEY_IOVA = 1u << 0,
	KEY_SIZE = 1u << 1,
	KEY_VADDR = 1u << 2,
	KEY_PROT = 1u << 3,
};

static const struct op_desc op_table[] = {
	{ "setup", DMAKIT_TRACE_SETUP, 0 },
	{ "map", DMAKIT_TRACE_MAP, KEY_IOVA | KEY_SIZE | KEY_VADDR | KEY_PROT },
	{ "remap", DMAKIT_TRACE_REMAP, KEY_IOVA | KEY_SIZE | KEY_VADDR },
	{ "unmap", DMAKIT_TRACE_UNMAP, KEY_IOVA | KEY_SIZE },
	{ "unmap-all", DMAKIT_TRACE_UNMAP_ALL, 0 },
	{ "invalidate", DMAKIT_TRACE_INVALIDATE, KEY_IOVA | KEY_SIZE },
	{ "invalidate-all", DMAKIT_TRACE_INVALIDATE_ALL, 0 },
	{ "info", DMAKIT_TRACE_INFO, 0 },
};

static const char *const key_names[] = { "iova", "size", "vaddr", "prot" };

static const char *op_word(enum dmakit_trace_op op)
{
	size_t i;

	for (i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (op_table[i].op == op)
			return op_table[i].word;
	return dmakit__trace_iommufd_op_word(op);
}

/* Split @line in place into words; returns the count or -1 for too many. */
static int split_words(char *line, char **words)
{
	int n = 0;
	char *c = line;

	for (;;) {
		while (*c == ' ' || *c == '\t' || *c == '\r')
			c++;
		if (!*c)
			return n;
		if (n == TRACE_MAX_WORDS)
			return -1;
		words[n++] = c;
		while (*c && *c != ' ' && *c != '\t' && *c != '\r')
			c++;
		if (*c)
			*c++ = '\0';
	}
}

static int parse_setup(struct parser *p, char **words, int nwords,
		       struct dmakit_trace_setup *setup)
{
	unsigned int seen = 0;
	int i;

	setup->line = p->line;
	setup->iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
	setup->limit = 65535;
	setup->buffer = 0x1000000;
	setup->kernel = DMAKIT_KERNEL_6_1;
	setup->iommu_kind = DMAKIT_TRACE_IOMMU_TYPE1;
	setup->memlock = UINT64_MAX;

	for (i = 1; i < nwords; i++) {
		char *eq = strchr(words[i], '=');
		const char *key = words[i], *val;
		uint64_t v;
		unsigned int bit;

		if (!eq)
			return parse_error(p, "setup: expected key=value, got '%s'", words[i]);
		*eq = '\0';
		val = eq + 1;
		if (strcmp(key, "iommu") == 0) {
			bit = 1;
			if (strcmp(val, "type1v2") == 0)
				setup->iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
			else if (strcmp(val, "type1") == 0)
				setup->iommu_type = DMAKIT_VFIO_TYPE1_IOMMU;
			else if (dmakit__trace_setup_iommufd(val, setup))
				;
			else
				return parse_error(p, "setup: bad value '%s' for iommu (expected type1 or type1v2)", val);
		} else if (strcmp(key, "limit") == 0) {
			bit = 2;
			if (!dmakit__trace_parse_u64(val, &v))
				return parse_error(p, "setup: bad number '%s' for limit", val);
			if (v > UINT32_MAX)
				return parse_error(p, "setup: limit %s is larger than the kernel's parameter can be (4294967295)", val);
			setup->limit = (uint32_t)v;
		} else if (strcmp(key, "buffer") == 0) {
			bit = 4;
			if (!dmakit__trace_parse_u64(val, &v))
				return parse_error(p, "setup: bad number '%s' for buffer", val);
			if (v == 0 || v > DMAKIT_TRACE_MAX_BUFFER)
				return parse_error(p, "setup: buffer %s out of range (1 to 0x%llx bytes)", val,
						   (unsigned long long)DMAKIT_TRACE_MAX_BUFFER);
			setup->buffer = v;
		} else if (strcmp(key, "kernel") == 0) {
			bit = 8;
			if (strcmp(val, "6.1") == 0)
				setup->kernel = DMAKIT_KERNEL_6_1;
			else if (strcmp(val, "6.12") == 0)
				setup->kernel = DMAKIT_KERNEL_6_12;
			else if (strcmp(val, "6.18") == 0)
				setup->kernel = DMAKIT_KERNEL_6_18;
			else
				return parse_error(p, "setup: bad value '%s' for kernel (expected 6.1, 6.12 or 6.18)", val);
		} else if (strcmp(key, "profile") == 0) {
			bit = 1u << 20;
			if (dmakit_limit_policy_parse(val, &setup->limit_policy) < 0)
				return parse_error(p, "setup: bad value '%s' for profile (expected count, report-unlimited, account-bytes or drop-cap)", val);
		} else if (strcmp(key, "budget") == 0) {
			bit = 1u << 21;
			if (!dmakit__trace_parse_u64(val, &v) || v == 0)
				return parse_error(p, "setup: bad number '%s' for budget", val);
			setup->kernel_budget = v;
		} else {
			char msg[160];
			int r = dmakit__trace_setup_key(key, val, setup, msg, sizeof(msg));

			if (r < 0)
				return parse_error(p, "setup: %s", msg);
			if (r == 0)
				return parse_error(p, "setup: unknown key '%s'", key);
			bit = (unsigned int)r;
		}
		if (seen & bit)
			return parse_error(p, "setup: key '%s' given twice", key);
		seen |= bit;
	}
	if (setup->kernel_budget && setup->limit_policy != DMAKIT_LIMIT_ACCOUNT_BYTES)
		return parse_error(p, "setup: budget needs profile=account-bytes");
	return 0;
}

static int parse_step(struct parser *p, const struct op_desc *desc, char **words, int nwords,
		      struct dmakit_trace_step *step)
{
	unsigned int seen = 0, k;
	int i;

	memset(step, 0, sizeof(*step));
	step->op = desc->op;
	step->line = p->line;
	for (i = 1; i < nwords; i++) {
		char *eq = strchr(words[i], '=');
		const char *key = words[i], *val;
		uint64_t v;

		if (!eq)
			return parse_error(p, "%s: expected key=value, got '%s'", desc->word, words[i]);
		*eq = '\0';
		val = eq + 1;
		for (k = 0; k < 4; k++)
			if (strcmp(key, key_names[k]) == 0)
				break;
		if (k == 4 || !(desc->keys & (1u << k)))
			return parse_error(p, "%s: unknown key '%s'", desc->word, key);
		if (seen & (1u << k))
			return parse_error(p, "%s: key '%s' given twice", desc->word, key);
		seen |= 1u << k;
		if (k == 3) {
			if (strcmp(val, "r") == 0)
				step->prot = DMAKIT_TRACE_PROT_READ;
			else if (strcmp(val, "w") == 0)
				step->prot = DMAKIT_TRACE_PROT_WRITE;
			else if (strcmp(val, "rw") == 0)
				step->prot = DMAKIT_TRACE_PROT_READ | DMAKIT_TRACE_PROT_WRITE;
			else
				return parse_error(p, "%s: bad value '%s' for prot (expected r, w or rw)",
						   desc->word, val);
			continue;
		}
		if (!dmakit__trace_parse_u64(val, &v))
			return parse_error(p, "%s: bad number '%s' for %s", desc->word, val, key);
		if (k == 0)
			step->iova = v;
		else if (k == 1)
			step->size = v;
		else
			step->vaddr = v;
	}
	for (k = 0; k < 4; k++)
		if ((desc->keys & (1u << k)) && !(seen & (1u << k)))
			return parse_error(p, "%s: missing key '%s'", desc->word, key_names[k]);
	return 0;
}

DMAKIT_EXPORT void dmakit_trace_free(struct dmakit_trace *trace)
{
	if (!trace)
		return;
	dmakit__free(trace->name);
	dmakit__free(trace->steps);
	dmakit__free(trace);
}

DMAKIT_EXPORT int dmakit_trace_parse(const char *text, size_t len, const char *name,
				     struct dmakit_trace **out, char *err, size_t errlen)
{
	struct parser p = { .name = name ? name : "<trace>", .err = err, .errlen = errlen };
	struct dmakit_trace *t;
	size_t cap = 0, pos = 0;
	bool have_setup = false;
	char *line = NULL;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (len > TRACE_MAX_BYTES) {
		p.line = 1;
		return parse_error(&p, "trace is larger than %llu MiB",
				   (unsigned long long)(TRACE_MAX_BYTES >> 20));
	}
	t = dmakit__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->name = strdup(p.name);
	line = dmakit__malloc(len + 1);
	if (!t->name || !line) {
		ret = -ENOMEM;
		goto fail;
	}

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *words[TRACE_MAX_WORDS], *hash;
		const struct op_desc *desc = NULL;
		int nwords;
		size_t i;

		p.line++;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n)) {
			ret = parse_error(&p, "NUL byte in line");
			goto fail;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		nwords = split_words(line, words);
		if (nwords < 0) {
			ret = parse_error(&p, "too many words (at most %d)", TRACE_MAX_WORDS);
			goto fail;
		}
		if (nwords == 0)
			continue;
		for (i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
			if (strcmp(words[0], op_table[i].word) == 0)
				desc = &op_table[i];
		if (!desc && !dmakit__trace_is_iommufd_op(words[0])) {
			ret = parse_error(&p, "unknown operation '%s'", words[0]);
			goto fail;
		}
		if (desc && desc->op == DMAKIT_TRACE_SETUP) {
			if (have_setup) {
				ret = parse_error(&p, "setup given twice (first on line %u)", t->setup.line);
				goto fail;
			}
			ret = parse_setup(&p, words, nwords, &t->setup);
			if (ret < 0)
				goto fail;
			have_setup = true;
			continue;
		}
		if (!have_setup) {
			ret = parse_error(&p, "the first operation must be setup, not '%s'", words[0]);
			goto fail;
		}
		if (t->nr_steps == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct dmakit_trace_step *grown =
				dmakit__realloc(t->steps, ncap * sizeof(*grown));

			if (!grown) {
				ret = -ENOMEM;
				goto fail;
			}
			t->steps = grown;
			cap = ncap;
		}
		if (desc) {
			ret = parse_step(&p, desc, words, nwords, &t->steps[t->nr_steps]);
		} else {
			char msg[160];

			ret = dmakit__trace_parse_iommufd_step(words, nwords, &t->steps[t->nr_steps],
							       msg, sizeof(msg));
			if (ret < 0)
				ret = parse_error(&p, "%s", msg);
			else if (t->setup.iommu_kind != DMAKIT_TRACE_IOMMU_IOMMUFD)
				ret = parse_error(&p, "%s needs 'setup iommu=iommufd'", words[0]);
			else
				t->steps[t->nr_steps].line = p.line;
		}
		if (ret < 0)
			goto fail;
		t->nr_steps++;
	}
	if (!have_setup) {
		p.line = p.line ? p.line : 1;
		ret = parse_error(&p, "no setup line: a trace starts with 'setup iommu=...'");
		goto fail;
	}
	dmakit__free(line);
	*out = t;
	return 0;

fail:
	dmakit__free(line);
	dmakit_trace_free(t);
	return ret;
}

DMAKIT_EXPORT int dmakit_trace_parse_file(const char *path, struct dmakit_trace **out,
					  char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > TRACE_MAX_BYTES) {
		ret = errno ? -errno : -EINVAL;
		if (S_ISDIR(st.st_mode))
			ret = -EISDIR;
		else if ((uint64_t)st.st_size > TRACE_MAX_BYTES)
			ret = -EFBIG;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
				 ret == -EFBIG ? "trace file too large" : strerror(-ret));
		close(fd);
		return ret;
	}
	text = dmakit__malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	ret = dmakit_trace_parse(text, len, path, out, err, errlen);
	dmakit__free(text);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Replay                                                                     */

static void print_info(FILE *out, unsigned int line, const struct dmakit_type1_info *info)
{
	uint32_t i, n;

	fprintf(out, "L%u info", line);
	if (info->has_dma_avail)
		fprintf(out, " avail=%" PRIu32, info->dma_avail);
	else
		fprintf(out, " avail=none");
	fprintf(out, " pgsizes=0x%" PRIx64, info->pgsizes);
	if (!info->has_iova_ranges || info->nr_iova_ranges == 0) {
		fprintf(out, " ranges=none\n");
		return;
	}
	n = info->nr_iova_ranges < DMAKIT_INFO_MAX_RANGES ? info->nr_iova_ranges
							  : DMAKIT_INFO_MAX_RANGES;
	fprintf(out, " ranges=");
	for (i = 0; i < n; i++)
		fprintf(out, "%s0x%" PRIx64 "-0x%" PRIx64, i ? "," : "",
			info->iova_ranges[i].start, info->iova_ranges[i].end);
	fprintf(out, "\n");
}

static int container_ioctl_fn(void *ctx, unsigned long request, void *arg)
{
	return dmakit_container_ioctl(ctx, request, arg);
}

void dmakit__trace_run_v1(const struct dmakit_trace_step *s, uint64_t vaddr,
			  dmakit__ioctl_fn ioctl_fn, void *ctx, FILE *out)
{
	struct dmakit_vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct dmakit_type1_info info;
	bool reports_size = false;
	int r;

	switch (s->op) {
	case DMAKIT_TRACE_MAP:
	case DMAKIT_TRACE_REMAP:
		map.iova = s->iova;
		map.size = s->size;
		map.vaddr = vaddr;
		if (s->op == DMAKIT_TRACE_REMAP)
			map.flags = DMAKIT_VFIO_DMA_MAP_FLAG_VADDR;
		if (s->prot & DMAKIT_TRACE_PROT_READ)
			map.flags |= DMAKIT_VFIO_DMA_MAP_FLAG_READ;
		if (s->prot & DMAKIT_TRACE_PROT_WRITE)
			map.flags |= DMAKIT_VFIO_DMA_MAP_FLAG_WRITE;
		r = ioctl_fn(ctx, DMAKIT_VFIO_IOMMU_MAP_DMA, &map);
		break;
	case DMAKIT_TRACE_UNMAP:
	case DMAKIT_TRACE_INVALIDATE:
	case DMAKIT_TRACE_UNMAP_ALL:
	case DMAKIT_TRACE_INVALIDATE_ALL:
		if (s->op == DMAKIT_TRACE_UNMAP || s->op == DMAKIT_TRACE_INVALIDATE) {
			unmap.iova = s->iova;
			unmap.size = s->size;
		} else {
			unmap.flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL;
		}
		if (s->op == DMAKIT_TRACE_INVALIDATE || s->op == DMAKIT_TRACE_INVALIDATE_ALL)
			unmap.flags |= DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR;
		r = ioctl_fn(ctx, DMAKIT_VFIO_IOMMU_UNMAP_DMA, &unmap);
		reports_size = true;
		break;
	case DMAKIT_TRACE_INFO:
		r = dmakit__type1_query_info(ioctl_fn, ctx, &info);
		if (r == 0) {
			print_info(out, s->line, &info);
			return;
		}
		break;
	default:
		r = -EINVAL;
		break;
	}
	fprintf(out, "L%u %s ", s->line, op_word(s->op));
	if (r < 0)
		fprintf(out, "%s\n", dmakit_errno_name(r));
	else if (reports_size)
		fprintf(out, "ok size=0x%" PRIx64 "\n", (uint64_t)unmap.size);
	else
		fprintf(out, "ok\n");
}

/* Read and write the real kernel's dma_entry_limit parameter. */
static int read_entry_limit(uint64_t *out)
{
	char buf[32];
	FILE *f = fopen(DMA_ENTRY_LIMIT_PATH, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%" SCNu64, out) != 1)
		ret = -EIO;
	fclose(f);
	return ret;
}

static int write_entry_limit(uint64_t value)
{
	FILE *f = fopen(DMA_ENTRY_LIMIT_PATH, "we");
	int ret = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%" PRIu64 "\n", value) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	return ret;
}

static int open_for_trace(const struct dmakit_trace *trace,
			  const struct dmakit_replay_options *opts,
			  struct dmakit_container **out)
{
	struct dmakit_container_config cfg;
	uint64_t saved_limit = 0;
	bool restore = false;
	int ret;

	dmakit_container_config_init(&cfg);
	cfg.backend = opts->backend;
	cfg.iommu_type = trace->setup.iommu_type;
	cfg.kernel = trace->setup.kernel;
	cfg.memlock_limit = trace->setup.memlock;
	cfg.cap_ipc_lock = !trace->setup.no_ipc_lock;
	cfg.limit_policy = trace->setup.limit_policy;
	cfg.kernel_budget_bytes = trace->setup.kernel_budget;
	if (trace->setup.iommu_kind == DMAKIT_TRACE_IOMMU_IOMMUFD_COMPAT &&
	    opts->backend == DMAKIT_BACKEND_EMU)
		cfg.backend = DMAKIT_BACKEND_EMU_IOMMUFD;
	cfg.dma_entry_limit = trace->setup.limit;
	cfg.group_path = opts->group_path;
	if (opts->container_path)
		cfg.container_path = opts->container_path;

	if (opts->backend == DMAKIT_BACKEND_LINUX) {
		/* The container copies the module parameter at SET_IOMMU. */
		ret = read_entry_limit(&saved_limit);
		if (ret < 0)
			return ret;
		if (saved_limit != trace->setup.limit) {
			ret = write_entry_limit(trace->setup.limit);
			if (ret < 0)
				return ret;
			restore = true;
		}
	}
	ret = dmakit_container_open(&cfg, out);
	if (restore)
		write_entry_limit(saved_limit);
	return ret;
}

int dmakit__trace_buffer_reserve(uint64_t buffer, bool real_memory,
				 struct dmakit__trace_buffer *tb)
{
	uint64_t len = (buffer + 4095) & ~4095ull, start;
	uint8_t *map;

	/* Reserve enough to align up, then give back nothing: simple, and the
	 * whole reservation goes at release. */
	tb->mapping_len = len + GUARD_BYTES + BUFFER_ALIGN;
	map = mmap(NULL, tb->mapping_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	start = ((uint64_t)(uintptr_t)map + BUFFER_ALIGN - 1) & ~(BUFFER_ALIGN - 1);
	tb->mapping = map;
	tb->base = (uint8_t *)(uintptr_t)start;
	tb->len = len;
	/* The guard page stays PROT_NONE, so a map that runs past the end of
	 * the buffer fails to pin on the real kernel too. */
	if (real_memory && mprotect(tb->base, len, PROT_READ | PROT_WRITE) < 0) {
		int ret = -errno;

		munmap(map, tb->mapping_len);
		return ret;
	}
	return 0;
}

void dmakit__trace_buffer_release(struct dmakit__trace_buffer *tb)
{
	munmap(tb->mapping, tb->mapping_len);
}

DMAKIT_EXPORT int dmakit_trace_replay(const struct dmakit_trace *trace,
				      const struct dmakit_replay_options *opts, FILE *out)
{
	const struct dmakit_replay_options defaults = { .backend = DMAKIT_BACKEND_EMU };
	struct dmakit_container *c = NULL;
	struct dmakit__trace_buffer tb;
	uint64_t buffer = trace->setup.buffer, mapped_len;
	uint8_t *base;
	size_t i;
	int ret;

	if (!opts)
		opts = &defaults;
	if (trace->setup.iommu_kind == DMAKIT_TRACE_IOMMU_IOMMUFD)
		return dmakit__trace_replay_iommufd(trace, opts, out);
	ret = dmakit__trace_buffer_reserve(buffer, opts->backend != DMAKIT_BACKEND_EMU, &tb);
	if (ret < 0)
		return ret;
	base = tb.base;
	mapped_len = tb.len;

	ret = open_for_trace(trace, opts, &c);
	if (ret < 0)
		goto out;
	ret = dmakit_container_declare_memory(c, (uint64_t)(uintptr_t)base, mapped_len);
	if (ret < 0)
		goto out;

	for (i = 0; i < trace->nr_steps; i++) {
		const struct dmakit_trace_step *s = &trace->steps[i];
		uint64_t vaddr = s->vaddr < buffer ? (uint64_t)(uintptr_t)base + s->vaddr : s->vaddr;

		dmakit__trace_run_v1(s, vaddr, container_ioctl_fn, c, out);
	}
	ret = 0;
out:
	dmakit_container_close(c);
	dmakit__trace_buffer_release(&tb);
	return ret;
}
