/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace_parse: dmakit_trace_parse() on arbitrary bytes.
 *
 * Properties checked on every input:
 *   - it never crashes or leaks (ASan/LSan/UBSan);
 *   - it accepts exactly what a second, deliberately plain parser written
 *     from docs/trace-format.md accepts, with the same setup and steps (op,
 *     line, iova, size, vaddr, prot): nothing malformed is accepted silently;
 *   - a rejection returns -EINVAL with a message "NAME:LINE: ..." whose LINE
 *     is the line the plain parser finds malformed;
 *   - an accepted trace, written out again (the same operations on the same
 *     lines, numbers in decimal or hex), parses to the same steps (a round
 *     trip);
 *   - with one of its allocations failed, it answers -ENOMEM (or, when it
 *     needed fewer allocations, exactly what it answered before) and leaks
 *     nothing.
 *
 * Where the implementation is more lenient than the format's text, the
 * plain parser follows it and says so (tabs and CR as spaces, "0X").
 * The format grows (docs/trace-format.md): a line refused here only for a
 * word this parser does not know (an operation, a key, a value of iommu= or
 * kernel=) may be accepted by the implementation; such traces are only
 * checked for crashes, leaks and the message format.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/fault.h>
#include <dmakit/trace.h>

#include "fuzz_common.h"

#define NAME "fz.trace"
#define REF_MAX_STEPS 4096
/* Words on a line: the implementation takes at most 16 (no version-1 line
 * has more than 5). */
#define REF_MAX_WORDS 16

/* ---- the plain parser ------------------------------------------------------ */

struct ref {
	bool ok;
	unsigned int err_line;
	bool no_setup; /* the error is "no setup line" */
	/* The error is a word of the format's vocabulary this parser does not
	 * know (an operation, a key, an iommu or kernel value): the format may
	 * have grown since (docs/trace-format.md); the implementation may
	 * accept it, or fail at this line or a later one. */
	bool vocab;
	struct dmakit_trace_setup setup;
	size_t n;
	struct dmakit_trace_step steps[REF_MAX_STEPS];
	bool too_many; /* more steps than this parser keeps: not compared */
};

static struct ref R;

/* Separators: the format says spaces; the implementation also takes tabs and
 * carriage returns (CRLF files), and so does this. */
static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* "Decimal or 0x hexadecimal, unsigned 64-bit. No suffixes." ("0X" too.) */
static bool ref_number(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10;
	size_t i = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		unsigned int d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a') + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A') + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

struct word {
	const char *s;
	size_t len;
};

static bool word_is(const struct word *w, const char *lit)
{
	return w->len == strlen(lit) && memcmp(w->s, lit, w->len) == 0;
}

/* key=value: split at the first '='. */
static bool split_kv(const struct word *w, struct word *k, struct word *v)
{
	const char *eq = memchr(w->s, '=', w->len);

	if (!eq)
		return false;
	k->s = w->s;
	k->len = (size_t)(eq - w->s);
	v->s = eq + 1;
	v->len = w->len - k->len - 1;
	return true;
}

/* 0, or REF_SYNTAX / REF_VOCAB: why the line is refused. */
enum { REF_OK = 0, REF_SYNTAX = 1, REF_VOCAB = 2 };

/* An unknown word is "vocabulary" the format may have gained only if it
 * looks like one: lower case, digits, '.', '-', '_', at most 32 bytes.
 * Anything else is malformed whatever the format has become. */
static int unknown_word(const struct word *w)
{
	size_t i;

	if (w->len == 0 || w->len > 32)
		return REF_SYNTAX;
	for (i = 0; i < w->len; i++) {
		char c = w->s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return REF_SYNTAX;
	}
	return REF_VOCAB;
}

static int ref_setup(struct word *w, int nw, struct dmakit_trace_setup *s)
{
	bool seen[4] = { false };
	int i;

	s->iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
	s->limit = 65535;
	s->buffer = 0x1000000;
	s->kernel = DMAKIT_KERNEL_6_1;
	for (i = 1; i < nw; i++) {
		struct word k, v;
		uint64_t n;
		int key;

		if (!split_kv(&w[i], &k, &v))
			return REF_SYNTAX;
		if (word_is(&k, "iommu"))
			key = 0;
		else if (word_is(&k, "limit"))
			key = 1;
		else if (word_is(&k, "buffer"))
			key = 2;
		else if (word_is(&k, "kernel"))
			key = 3;
		else
			return unknown_word(&k);
		if (seen[key])
			return REF_SYNTAX;
		seen[key] = true;
		switch (key) {
		case 0:
			if (word_is(&v, "type1v2"))
				s->iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
			else if (word_is(&v, "type1"))
				s->iommu_type = DMAKIT_VFIO_TYPE1_IOMMU;
			else
				return unknown_word(&v);
			break;
		case 1:
			/* dma_entry_limit is a uint module parameter */
			if (!ref_number(v.s, v.len, &n) || n > UINT32_MAX)
				return REF_SYNTAX;
			s->limit = (uint32_t)n;
			break;
		case 2:
			if (!ref_number(v.s, v.len, &n) || n == 0 || n > DMAKIT_TRACE_MAX_BUFFER)
				return REF_SYNTAX;
			s->buffer = n;
			break;
		default:
			if (word_is(&v, "6.1"))
				s->kernel = DMAKIT_KERNEL_6_1;
			else if (word_is(&v, "6.12"))
				s->kernel = DMAKIT_KERNEL_6_12;
			else if (word_is(&v, "6.18"))
				s->kernel = DMAKIT_KERNEL_6_18;
			else
				return unknown_word(&v);
			break;
		}
	}
	return REF_OK;
}

static const struct {
	const char *word;
	enum dmakit_trace_op op;
	bool iova, size, vaddr, prot;
} ref_ops[] = {
	{ "map", DMAKIT_TRACE_MAP, true, true, true, true },
	{ "remap", DMAKIT_TRACE_REMAP, true, true, true, false },
	{ "unmap", DMAKIT_TRACE_UNMAP, true, true, false, false },
	{ "unmap-all", DMAKIT_TRACE_UNMAP_ALL, false, false, false, false },
	{ "invalidate", DMAKIT_TRACE_INVALIDATE, true, true, false, false },
	{ "invalidate-all", DMAKIT_TRACE_INVALIDATE_ALL, false, false, false, false },
	{ "info", DMAKIT_TRACE_INFO, false, false, false, false },
};

static int ref_step(size_t op, struct word *w, int nw, struct dmakit_trace_step *st)
{
	bool seen_iova = false, seen_size = false, seen_vaddr = false, seen_prot = false;
	int i;

	memset(st, 0, sizeof(*st));
	st->op = ref_ops[op].op;
	for (i = 1; i < nw; i++) {
		struct word k, v;

		if (!split_kv(&w[i], &k, &v))
			return REF_SYNTAX;
		if (word_is(&k, "iova") && ref_ops[op].iova) {
			if (seen_iova)
				return REF_SYNTAX;
			seen_iova = true;
			if (!ref_number(v.s, v.len, &st->iova))
				return REF_SYNTAX;
		} else if (word_is(&k, "size") && ref_ops[op].size) {
			if (seen_size)
				return REF_SYNTAX;
			seen_size = true;
			if (!ref_number(v.s, v.len, &st->size))
				return REF_SYNTAX;
		} else if (word_is(&k, "vaddr") && ref_ops[op].vaddr) {
			if (seen_vaddr)
				return REF_SYNTAX;
			seen_vaddr = true;
			if (!ref_number(v.s, v.len, &st->vaddr))
				return REF_SYNTAX;
		} else if (word_is(&k, "prot") && ref_ops[op].prot) {
			if (seen_prot)
				return REF_SYNTAX;
			seen_prot = true;
			if (word_is(&v, "r"))
				st->prot = DMAKIT_TRACE_PROT_READ;
			else if (word_is(&v, "w"))
				st->prot = DMAKIT_TRACE_PROT_WRITE;
			else if (word_is(&v, "rw"))
				st->prot = DMAKIT_TRACE_PROT_READ | DMAKIT_TRACE_PROT_WRITE;
			else
				return REF_SYNTAX;
		} else {
			return unknown_word(&k); /* a key this op does not take (here) */
		}
	}
	if (seen_iova == ref_ops[op].iova && seen_size == ref_ops[op].size &&
	    seen_vaddr == ref_ops[op].vaddr && seen_prot == ref_ops[op].prot)
		return REF_OK;
	return REF_SYNTAX; /* a key missing */
}

static void ref_parse(const char *text, size_t len)
{
	size_t pos = 0;
	unsigned int line = 0;
	bool have_setup = false;

	memset(&R, 0, offsetof(struct ref, steps));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos, i, end;
		const char *s = text + pos;
		struct word w[REF_MAX_WORDS];
		int nw = 0, why;
		size_t op;

		line++;
		pos += n + (nl ? 1 : 0);
		R.err_line = line;
		if (memchr(s, '\0', n))
			return; /* a NUL byte is not text */
		end = n;
		for (i = 0; i < n; i++)
			if (s[i] == '#') {
				end = i;
				break;
			}
		for (i = 0; i < end;) {
			size_t st;

			while (i < end && is_sep(s[i]))
				i++;
			if (i == end)
				break;
			st = i;
			while (i < end && !is_sep(s[i]))
				i++;
			if (nw == REF_MAX_WORDS)
				return; /* the implementation's limit: at most 16 */
			w[nw].s = s + st;
			w[nw].len = i - st;
			nw++;
		}
		if (nw == 0)
			continue;
		if (word_is(&w[0], "setup")) {
			if (have_setup)
				return;
			why = ref_setup(w, nw, &R.setup);
			if (why != REF_OK) {
				R.vocab = why == REF_VOCAB;
				return;
			}
			R.setup.line = line;
			have_setup = true;
			continue;
		}
		for (op = 0; op < sizeof(ref_ops) / sizeof(ref_ops[0]); op++)
			if (word_is(&w[0], ref_ops[op].word))
				break;
		if (op == sizeof(ref_ops) / sizeof(ref_ops[0])) {
			R.vocab = unknown_word(&w[0]) == REF_VOCAB;
			return;
		}
		if (!have_setup)
			return;
		if (R.n == REF_MAX_STEPS) {
			struct dmakit_trace_step scratch;

			R.too_many = true;
			why = ref_step(op, w, nw, &scratch);
		} else {
			why = ref_step(op, w, nw, &R.steps[R.n]);
		}
		if (why != REF_OK) {
			R.vocab = why == REF_VOCAB;
			return;
		}
		if (R.too_many)
			continue;
		R.steps[R.n].line = line;
		R.n++;
	}
	if (!have_setup) {
		R.no_setup = true;
		R.err_line = line ? line : 1;
		return;
	}
	R.ok = true;
}

/* ---- writing a parsed trace out again -------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		FZ_CHECK(n >= 0, "vsnprintf");
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->p = realloc(b->p, b->cap);
		FZ_CHECK(b->p != NULL, "out of memory");
	}
}

static void sb_num(struct sbuf *b, const char *key, uint64_t v, bool hex)
{
	if (hex)
		sb_printf(b, " %s=0x%" PRIx64, key, v);
	else
		sb_printf(b, " %s=%" PRIu64, key, v);
}

static const char *op_word(enum dmakit_trace_op op)
{
	size_t i;

	for (i = 0; i < sizeof(ref_ops) / sizeof(ref_ops[0]); i++)
		if (ref_ops[i].op == op)
			return ref_ops[i].word;
	FZ_FAIL("step with op %d", (int)op);
}

/* The trace again, every operation on its own line number (blank lines in
 * between), keys in a fixed order, numbers in hex or decimal by @style. */
static void serialise(const struct dmakit_trace *t, struct sbuf *b, unsigned int style)
{
	unsigned int line = 1;
	size_t i;

	b->len = 0;
	b->p[0] = '\0';
	/* The setup line may come after blank or comment lines only. */
	for (; line < t->setup.line; line++)
		sb_printf(b, (style & 1) ? "# c\n" : "\n");
	sb_printf(b, "setup iommu=%s", t->setup.iommu_type == DMAKIT_VFIO_TYPE1_IOMMU ? "type1"
											: "type1v2");
	sb_num(b, "limit", t->setup.limit, style & 2);
	sb_num(b, "buffer", t->setup.buffer, style & 4);
	sb_printf(b, " kernel=%s\n", t->setup.kernel == DMAKIT_KERNEL_6_18 ? "6.18" :
		  t->setup.kernel == DMAKIT_KERNEL_6_12 ? "6.12" : "6.1");
	line++;
	for (i = 0; i < t->nr_steps; i++) {
		const struct dmakit_trace_step *s = &t->steps[i];
		bool hex = (style >> 3) & 1;
		size_t k;

		FZ_CHECK(s->line >= line, "step %zu on line %u, after line %u", i, s->line, line - 1);
		for (; line < s->line; line++)
			sb_printf(b, "\n");
		sb_printf(b, "%s", op_word(s->op));
		for (k = 0; k < sizeof(ref_ops) / sizeof(ref_ops[0]); k++)
			if (ref_ops[k].op == s->op)
				break;
		if (ref_ops[k].iova)
			sb_num(b, "iova", s->iova, hex);
		if (ref_ops[k].size)
			sb_num(b, "size", s->size, !hex);
		if (ref_ops[k].vaddr)
			sb_num(b, "vaddr", s->vaddr, hex);
		if (ref_ops[k].prot)
			sb_printf(b, " prot=%s", s->prot == 1 ? "r" : s->prot == 2 ? "w" : "rw");
		sb_printf(b, (style & 16) ? " # %zu\n" : "\n", i);
		line++;
	}
}

/* ---- comparisons ----------------------------------------------------------- */

static void same_setup(const struct dmakit_trace_setup *a, const struct dmakit_trace_setup *b,
		       const char *what)
{
	FZ_CHECK(a->line == b->line && a->iommu_type == b->iommu_type && a->limit == b->limit &&
			 a->buffer == b->buffer && a->kernel == b->kernel,
		 "%s: setup line %u type %u limit %u buffer 0x%" PRIx64 " kernel %d vs line %u "
		 "type %u limit %u buffer 0x%" PRIx64 " kernel %d",
		 what, a->line, a->iommu_type, a->limit, a->buffer, (int)a->kernel, b->line,
		 b->iommu_type, b->limit, b->buffer, (int)b->kernel);
}

static void same_step(const struct dmakit_trace_step *a, const struct dmakit_trace_step *b,
		      size_t i, const char *what)
{
	FZ_CHECK(a->op == b->op && a->line == b->line && a->iova == b->iova &&
			 a->size == b->size && a->vaddr == b->vaddr && a->prot == b->prot,
		 "%s: step %zu: op %d line %u iova 0x%" PRIx64 " size 0x%" PRIx64
		 " vaddr 0x%" PRIx64 " prot %u vs op %d line %u iova 0x%" PRIx64
		 " size 0x%" PRIx64 " vaddr 0x%" PRIx64 " prot %u",
		 what, i, (int)a->op, a->line, a->iova, a->size, a->vaddr, a->prot, (int)b->op,
		 b->line, b->iova, b->size, b->vaddr, b->prot);
}

enum line_rule { LINE_EXACT, LINE_AT_LEAST, LINE_AT_MOST };

static void check_message(const char *err, size_t errlen, unsigned int line, enum line_rule rule)
{
	size_t n = strlen(NAME), k;
	unsigned long got_line = 0;

	FZ_CHECK(memchr(err, '\0', errlen) != NULL, "message not NUL-terminated");
	FZ_CHECK(strncmp(err, NAME ":", n + 1) == 0, "message '%s' does not start with '%s:'",
		 err, NAME);
	for (k = n + 1; err[k] >= '0' && err[k] <= '9' && k < n + 12; k++)
		got_line = got_line * 10 + (unsigned long)(err[k] - '0');
	FZ_CHECK(k > n + 1 && err[n + 1] != '0' && err[k] == ':' && err[k + 1] == ' ',
		 "message '%s' is not 'NAME:LINE: ...'", err);
	if (rule == LINE_EXACT)
		FZ_CHECK(got_line == line, "message '%s': the plain parser fails line %u", err, line);
	else if (rule == LINE_AT_LEAST)
		FZ_CHECK(got_line >= line, "message '%s': the plain parser fails line %u, an "
			 "unknown word", err, line);
	else
		FZ_CHECK(got_line <= line, "message '%s': past the last line %u", err, line);
	FZ_CHECK(err[k + 2] != '\0', "message '%s' says nothing after the line", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct dmakit_trace *t = NULL, *t2 = NULL, *tf = NULL;
	char err[256], err2[256];
	struct sbuf b = { malloc(256), 0, 256 };
	unsigned int style, nth;
	size_t i;
	int ret, ret2, retf;

	memset(err, 'X', sizeof(err));
	ret = dmakit_trace_parse(text, size, NAME, &t, err, sizeof(err));
	ref_parse(text, size);
	FZ_LOG("parse -> %d (%s); plain parser %s line %u\n", ret, ret ? err : "",
	       R.ok ? "accepts" : "rejects", R.err_line);

	if (ret != 0) {
		FZ_CHECK(ret == -EINVAL, "parse failed with %d", ret);
		FZ_CHECK(!R.ok, "rejected ('%s') what the format accepts", err);
		check_message(err, sizeof(err), R.err_line,
			      R.no_setup ? LINE_AT_MOST : R.vocab ? LINE_AT_LEAST : LINE_EXACT);
	} else if (!R.ok && R.vocab) {
		/* Words added to the format since this parser was written:
		 * nothing to compare it with, and no round trip. */
		FZ_CHECK(t != NULL, "parse succeeded without a trace");
	} else {
		FZ_CHECK(t != NULL, "parse succeeded without a trace");
		FZ_CHECK(R.ok, "accepted what the format rejects (line %u)", R.err_line);
		FZ_CHECK(strcmp(t->name, NAME) == 0, "name '%s'", t->name);
		FZ_CHECK(err[0] == '\0', "message '%.40s' on success", err);
		same_setup(&t->setup, &R.setup, "implementation vs plain parser");
		if (!R.too_many) {
			FZ_CHECK(t->nr_steps == R.n, "%zu steps, plain parser %zu", t->nr_steps, R.n);
			for (i = 0; i < R.n; i++)
				same_step(&t->steps[i], &R.steps[i], i, "implementation vs plain parser");
		}

		/* The round trip. */
		style = size ? data[size / 2] : 0;
		serialise(t, &b, style);
		memset(err2, 'X', sizeof(err2));
		ret2 = dmakit_trace_parse(b.p, b.len, NAME, &t2, err2, sizeof(err2));
		FZ_CHECK(ret2 == 0, "the trace written out again does not parse: %s\n%s", err2, b.p);
		same_setup(&t2->setup, &t->setup, "round trip");
		FZ_CHECK(t2->nr_steps == t->nr_steps, "round trip: %zu steps, first parse %zu",
			 t2->nr_steps, t->nr_steps);
		for (i = 0; i < t->nr_steps; i++)
			same_step(&t2->steps[i], &t->steps[i], i, "round trip");
		dmakit_trace_free(t2);
	}

	/* Once more with one allocation failed. */
	nth = 1 + (size ? data[0] % 4 : 0);
	dmakit_fault_arm(DMAKIT_FAULT_ALLOC, nth, 0);
	retf = dmakit_trace_parse(text, size, NAME, &tf, err2, sizeof(err2));
	if (dmakit_fault_fired(DMAKIT_FAULT_ALLOC)) {
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		FZ_CHECK(retf == -ENOMEM || retf == ret,
			 "allocation %u failed: %d, without the failure %d", nth, retf, ret);
		if (retf == -ENOMEM)
			FZ_CHECK(tf == NULL, "-ENOMEM with a trace");
	} else {
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
		FZ_CHECK(retf == ret, "second parse: %d, first %d", retf, ret);
	}
	if (retf == 0) {
		FZ_CHECK(tf && tf->nr_steps == t->nr_steps, "second parse differs");
		dmakit_trace_free(tf);
	}
	dmakit_trace_free(t);
	free(b.p);
	return 0;
}
